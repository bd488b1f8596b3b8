"""One place that checks arguments at the door, with one message shape.

Every message says what was wrong, what was given, and how to fix it.
"""

from __future__ import annotations

import difflib
import math
import sys
from collections.abc import Iterable
from typing import Any

import numpy as np


def fail(what: str, given: Any, fix: str, exc: type[Exception] = ValueError) -> None:
    """Raise ``exc`` with the project's message shape: problem, value given, the fix."""
    shown = repr(given)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    raise exc(f"{what} (got {shown}); {fix}")


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``; else a ValueError listing them."""
    choices = list(choices)
    if not isinstance(value, str) or value not in choices:
        close = difflib.get_close_matches(str(value), choices, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        fail(f"unknown {name}", value, f"{hint}valid names are: {', '.join(choices)}")
    return value


def check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
) -> float | int:
    """Check a scalar lies in a range; return it as float (or int when ``integer``)."""
    if not is_number(value):
        fail(f"{name} must be a number", value, f"pass a {'whole ' if integer else ''}number")
    # Python ints are unbounded, and NumPy's uint64 reaches 2**64 - 1: neither fits an int64
    if isinstance(value, (int, np.integer)) \
            and abs(int(value)) > (2**63 - 1 if integer else 1.7e308):
        fail(f"{name} is too large", value, "pass a smaller number")
    if not math.isfinite(float(value)):  # (np.isfinite costs a ufunc call)
        fail(f"{name} must be finite", value, "pass a finite number")
    if integer and int(value) != value:
        fail(f"{name} must be a whole number", value, "pass an integer")
    if low is not None and (value < low or (low_open and value == low)):
        fail(f"{name} must be {'>' if low_open else '>='} {low}", value, "pass a larger value")
    if high is not None and (value > high or (high_open and value == high)):
        fail(f"{name} must be {'<' if high_open else '<='} {high}", value, "pass a smaller value")
    return int(value) if integer else float(value)


class NonFiniteError(ValueError):
    """An input array holds NaN or infinite values."""


class TargetValueError(ValueError):
    """Targets outside the values a loss takes (e.g. log_loss outside [0, 1])."""


def check_array(
    name: str,
    value: Any,
    *,
    ndim: int | tuple[int, ...] = 2,
    n_cols: int | None = None,
    dtype: Any = np.float64,
    allow_empty: bool = False,
    finite: bool = True,
) -> np.ndarray:
    """Convert to a finite float array of the right number of dimensions and columns
    (``finite=False`` leaves the finiteness to a later ``check_finite``)."""
    if type(value) is np.ndarray and value.dtype == dtype:
        arr = value  # what asarray gives it back
    else:
        if is_sparse(value):
            fail(f"{name} is a sparse matrix, which deltanet does not take",
                 type(value).__name__, f"convert it to a dense array first: {name}.toarray()")
        try:
            arr = np.asarray(value, dtype=dtype)
        except (TypeError, ValueError) as err:
            fail(f"{name} must be numeric", type(value).__name__,
                 f"convert it to numbers first ({err})")
    ndims = (ndim,) if isinstance(ndim, int) else ndim
    if arr.ndim not in ndims:
        fail(f"{name} must have {' or '.join(map(str, ndims))} dimensions, not {arr.ndim}",
             arr.shape, "reshape it, e.g. X.reshape(-1, n_features) for a batch of rows")
    if not allow_empty and arr.size == 0:
        fail(f"{name} is empty", arr.shape, "pass at least one example")
    if n_cols is not None and arr.ndim == 2 and arr.shape[1] != n_cols:
        fail(f"{name} has {arr.shape[1]} columns but the network expects {n_cols}",
             arr.shape, f"pass an array of shape (n, {n_cols})")
    if finite:
        check_finite(name, arr)
    return arr


def is_sparse(value: Any) -> bool:
    """Whether ``value`` is a SciPy sparse matrix or array (without importing SciPy: a
    sparse value means SciPy is loaded already)."""
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and bool(sparse.issparse(value))


def is_number(value: Any) -> bool:
    """A Python or NumPy real number, not a bool (``True`` is no rate or weight)."""
    return isinstance(value, (int, float, np.integer, np.floating)) \
        and not isinstance(value, (bool, np.bool_))


_SMALL = 4096  # check_finite: below this many values a mask costs less than errstate


def check_finite(name: str, arr: np.ndarray) -> None:
    """A ``NonFiniteError`` naming the first NaN or infinity of ``arr``, if it has one."""
    if arr.size <= _SMALL:
        if np.isfinite(arr).all():  # no sum to overflow, no errstate to enter
            return
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            total = arr.sum()  # one fast pass; a non-finite sum sends us to the exact check
        if np.isfinite(total):
            return
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0].tolist()
        fail(f"{name} contains NaN or infinite values (first at index {bad})",
             float(arr[tuple(bad)]), "remove or impute them first", NonFiniteError)


#: the types of plain values (a number, name, flag or None): immutable, so equal values may
#: stand for one another (the caches of settings, optimizers and kept engines go by them)
PLAIN_TYPES = frozenset((type(None), bool, int, float, str))


def check_random_state(random_state: Any) -> np.random.Generator:
    """``None``, an int, a SeedSequence, a BitGenerator (wrapped, not copied) or a Generator
    (itself) -> a ``numpy.random.Generator``."""
    if isinstance(random_state, (bool, np.bool_)):
        fail("random_state must be None, an int or a numpy Generator", random_state,
             "pass e.g. random_state=0 (seeds are whole numbers >= 0)")
    try:
        return np.random.default_rng(random_state)
    except (TypeError, ValueError):
        fail("random_state must be None, an int or a numpy Generator", random_state,
             "pass e.g. random_state=0 (seeds are whole numbers >= 0)")
