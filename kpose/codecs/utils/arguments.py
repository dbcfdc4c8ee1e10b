"""Constructor-argument checks shared by the codecs (bad values raise ValueError)."""

import numbers
from typing import Any, Sequence, Tuple

import numpy as np


def check_size(name: str, value: Any) -> Tuple[int, int]:
    """Two positive integers `(w, h)`, or ValueError naming `name` and the value."""
    try:
        items = tuple(value)
    except TypeError:
        items = ()
    if (len(items) != 2 or any(isinstance(v, bool) for v in items) or
            not all(isinstance(v, numbers.Integral) and v > 0 for v in items)):
        raise ValueError(
            f"`{name}` must be two positive integers (w, h), received {value!r}.")
    return int(items[0]), int(items[1])


def check_positive(name: str, value: Any) -> float:
    """A finite number > 0."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Real) or
            not np.isfinite(value) or value <= 0):
        raise ValueError(f"`{name}` must be a positive number, received {value!r}.")
    return float(value)


def check_bool(name: str, value: Any) -> bool:
    """A Python or numpy bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"`{name}` must be a bool, received {value!r}.")
    return bool(value)


def check_odd_kernel(name: str, value: Any) -> int:
    """A positive odd integer (a blur kernel size)."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Integral) or
            value <= 0 or value % 2 != 1):
        raise ValueError(
            f"`{name}` must be a positive odd integer, received {value!r}.")
    return int(value)


def check_choice(name: str, value: Any, choices: Sequence[str]) -> str:
    """One of a closed set of strings."""
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {tuple(choices)}, received {value!r}.")
    return str(value)
