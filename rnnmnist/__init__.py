"""rnnmnist: the TF1 "LSTM reads MNIST row by row" tutorials, running again under tf.compat.v1.

From Python (see `rnnmnist.api`): `variants()`, `train(variant, ...) -> Run`, `load_runs(dir)`,
`load_ensembles(dir)`, `ensemble(runs)`, `plot(runs)`, `restore(run)`. Importing the package imports neither TensorFlow nor NumPy;
`rnnmnist.tfcompat` is the one place TensorFlow is imported, on the first training.
"""
import importlib.util
import sys
from pathlib import Path

__version__ = "0.1.0"


def _tutorials_from_the_source_tree() -> None:
    """The variants' modules are installed as rnnmnist/tutorials/ (not rnnmnist.variants, which is the API's
    function); in a source tree they are the folder variants/ beside this package. Map that folder here,
    whether the tree is installed editable or only on PYTHONPATH, so a tree never runs another's variants."""
    here = Path(__file__).resolve().parent
    folder = here.parent / "variants"
    if (here / "tutorials").is_dir() or not (folder / "__init__.py").is_file():
        return
    spec = importlib.util.spec_from_file_location(f"{__name__}.tutorials", folder / "__init__.py",
                                                  submodule_search_locations=[str(folder)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)


_tutorials_from_the_source_tree()

_API = ("variants", "train", "load_runs", "load_ensembles", "ensemble", "plot", "restore", "Run", "RunRequest",
        "Model")
__all__ = list(_API)


def __getattr__(name: str):
    if name in _API:
        from . import api
        return getattr(api, name)
    raise AttributeError(f"module 'rnnmnist' has no attribute {name!r}")
