"""How the tutorials' numbers looked when they printed them."""
from __future__ import annotations


def numpy113_str(value: float) -> str:
    """`str()` of a NumPy float32 before NumPy 1.14: 6 significant digits, always a point.

    So 89/128 prints as the tutorials show it, `0.695312`, not today's `0.6953125`.
    """
    text = "%.6g" % float(value)
    return text if any(c in text for c in ".enia") else text + ".0"
