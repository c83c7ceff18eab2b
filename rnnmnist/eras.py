"""The TensorFlow releases the tutorials ran on, and what each did that moves a curve.

Every fact here was read in that release's own Python sources, unzipped from its wheel on PyPI
(`pip download --no-deps --only-binary=:all: --python-version 3.5 --platform manylinux1_x86_64
tensorflow==X`; the wheels are never installed or committed). TensorFlow 0.11 was never published
on PyPI (its first release there is 0.12.0); 0.12.1 is the nearest release that can be read.

- `DataSet.next_batch` (tensorflow/contrib/learn/python/learn/datasets/mnist.py): in 0.12.1 and
  1.0.1 the first epoch comes in file order, and at each epoch's end the data is shuffled with
  NumPy's global generator, the epoch's tail is dropped and the next epoch starts with a whole
  batch (`start = 0; self._index_in_epoch = batch_size`). 1.1.0 also shuffles before the first
  epoch and carries the tail into the next batch (`numpy.concatenate((images_rest_part,
  images_new_part))`). From 1.2.1, `DataSet.__init__` seeds NumPy's global generator with the graph
  seed (`numpy.random.seed(seed1 if seed is None else seed2)` after `random_seed.get_seed(seed)`),
  if one was set before `read_data_sets`; 1.4.1 and 1.14.0 are the same.
- `get_variable`'s default initializer for float variables (variable_scope.py), which
  `BasicLSTMCell`'s kernel gets: `init_ops.uniform_unit_scaling_initializer()` in 0.12.1
  (`max_val = math.sqrt(3 / input_size) * factor`, input_size the product of all dimensions but
  the last: init_ops.py@0.12.1); `init_ops.glorot_uniform_initializer()` from 1.0.1
  (`_get_default_initializer`). The cell's bias starts at zero in every release.
- The cell's variable names: `Matrix`/`Bias` (rnn_cell.py `_linear`@0.12.1), `weights`/`biases`
  (contrib/rnn/python/ops/core_rnn_cell_impl.py@1.1.0), `kernel`/`bias` (rnn_cell_impl.py@1.2.1
  on). They change no number; recorded, not emulated.

An era whose shuffle drew from an unseeded generator was not reproducible in its day. Runs here stay
reproducible: the shuffle draws from a generator the run owns, seeded with the run's seed.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

UNIFORM_UNIT_SCALING, GLOROT_UNIFORM = "uniform_unit_scaling", "glorot_uniform"


@dataclass(frozen=True)
class Era:
    name: str                      # what --tf-semantics takes: "0.12"
    release: str                   # the wheel whose sources were read
    first_epoch_shuffled: bool     # next_batch shuffles before the first epoch
    tail_carried: bool             # an epoch's leftover examples start the next batch (else dropped)
    shuffle_seeded: bool           # by the graph seed; else NumPy's global generator, unseeded
    lstm_kernel_initializer: str   # get_variable's default: UNIFORM_UNIT_SCALING or GLOROT_UNIFORM
    lstm_variable_names: str       # the cell's kernel and bias, as that release named them

    @property
    def behaviour(self) -> tuple:
        """What a run here does differently under this era: eras with the same behaviour give the same bits.

        Whether the shuffle was seeded is left out: here it always is, by the run's seed.
        """
        return (self.first_epoch_shuffled, self.tail_carried, self.lstm_kernel_initializer)

    def alike(self) -> list[str]:
        """The eras that behave as this one does here, this one included."""
        return [name for name, era in ERAS.items() if era.behaviour == self.behaviour]

    @property
    def reproducible(self) -> bool:
        """Whether a run of that day, with a graph seed, gave the same data order again."""
        return self.shuffle_seeded

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


ERAS = {era.name: era for era in (
    Era("0.12", "0.12.1", False, False, False, UNIFORM_UNIT_SCALING, "Matrix, Bias"),
    Era("1.0", "1.0.1", False, False, False, GLOROT_UNIFORM, "weights, biases"),
    Era("1.1", "1.1.0", True, True, False, GLOROT_UNIFORM, "weights, biases"),
    Era("1.2", "1.2.1", True, True, True, GLOROT_UNIFORM, "kernel, bias"),
    Era("1.4", "1.4.1", True, True, True, GLOROT_UNIFORM, "kernel, bias"),
    Era("1.14", "1.14.0", True, True, True, GLOROT_UNIFORM, "kernel, bias"),
)}

# What rnnmnist did before it knew of eras, bit for bit: 1.2's behaviour (and 1.4's, 1.14's).
TODAY = "1.2"


def get(name: str) -> Era:
    if name not in ERAS:
        raise KeyError(f"unknown TensorFlow era {name!r}; known: {', '.join(ERAS)}")
    return ERAS[name]


def table() -> str:
    """The per-release behaviours, as docs/eras.md shows them."""
    from tabulate import tabulate
    rows = [[f"{e.name} ({e.release})", "shuffled" if e.first_epoch_shuffled else "file order",
             "carried into the next batch" if e.tail_carried else "dropped",
             "graph seed" if e.shuffle_seeded else "NumPy's global generator, unseeded",
             e.lstm_kernel_initializer, e.lstm_variable_names] for e in ERAS.values()]
    return tabulate(rows, headers=["TensorFlow", "first epoch", "an epoch's tail", "shuffle seeded by",
                                   "LSTM kernel initializer", "LSTM variables"], tablefmt="github")
