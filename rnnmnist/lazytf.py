"""`tf` for the variant modules: tf.compat.v1, imported through `rnnmnist.tfcompat` when first used.

A variant module is also read for its documented numbers, schedule and era by code that trains
nothing (`load_runs`, `load_ensembles`, the report): importing it must not cost a TensorFlow import.
"""
from __future__ import annotations


class _V1:
    def __getattr__(self, name: str):
        from .tfcompat import v1
        return getattr(v1, name)

    def __repr__(self) -> str:
        return "<tf.compat.v1, imported on first use>"


v1 = _V1()
