"""rnnmnist: the TF1 "LSTM reads MNIST row by row" tutorials, running again under tf.compat.v1.

From Python (see `rnnmnist.api`): `variants()`, `train(variant, ...) -> Run`, `load_runs(dir)`,
`load_ensembles(dir)`, `ensemble(runs)`, `plot(runs)`, `restore(run)`. Importing the package imports neither TensorFlow nor NumPy;
`rnnmnist.tfcompat` is the one place TensorFlow is imported, on the first training.
"""
__version__ = "0.1.0"

_API = ("variants", "train", "load_runs", "load_ensembles", "ensemble", "plot", "restore", "Run", "RunRequest",
        "Model")
__all__ = list(_API)


def __getattr__(name: str):
    if name in _API:
        from . import api
        return getattr(api, name)
    raise AttributeError(f"module 'rnnmnist' has no attribute {name!r}")
