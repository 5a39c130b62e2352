"""Argument checks shared across the package: one validator per kind of argument.

Each validator returns the value in its canonical type or raises
:class:`~gan_pde.errors.InvalidInputError` with a message that names the argument, shows
the value given and says what is expected:

=====================  ===================================================================
kind                   validator
=====================  ===================================================================
finite real number     :func:`as_finite`
positive float         :func:`as_positive`
non-negative float     :func:`as_non_negative`
probability in (0, 1)  :func:`as_probability`
positive int           :func:`as_positive_int`
non-negative int       :func:`as_non_negative_int`
flag (yes/no)          :func:`as_flag`
one of a few names     :func:`as_choice`
finite array           :func:`as_finite_array`
points ``(n, d)``      :func:`as_points`
save times             :func:`save_times_in`, :func:`with_final_time`
=====================  ===================================================================

Numbers are refused when they are bools (``dt=True`` is a slip, not 1.0) or strings
(``"0.5"``: a config value that was not parsed); numpy scalars and 0-d arrays are numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from numbers import Integral, Real

import numpy as np
from numpy.typing import ArrayLike

from gan_pde.errors import InvalidInputError

__all__ = [
    "as_choice",
    "as_finite",
    "as_finite_array",
    "as_flag",
    "as_non_negative",
    "as_non_negative_int",
    "as_points",
    "as_positive",
    "as_positive_int",
    "as_probability",
    "save_times_in",
    "with_final_time",
]


def _real(value: object, name: str, expected: str) -> float:
    """``float(value)`` for a real number (not a bool, not a string), else the error."""
    is_number = isinstance(value, Real) or (
        isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf"
    )
    if isinstance(value, (bool, np.bool_)) or not is_number:
        msg = f"{name} must be {expected}; got {value!r}"
        raise InvalidInputError(msg)
    return float(value)  # type: ignore[arg-type]


def as_finite(value: object, name: str) -> float:
    """``float(value)``, or InvalidInputError unless it is a finite real number.

    >>> as_finite(-2, "offset")
    -2.0
    """
    x = _real(value, name, "a finite real number")
    if not math.isfinite(x):
        msg = f"{name} must be a finite real number; got {value!r}"
        raise InvalidInputError(msg)
    return x


def as_positive(value: object, name: str) -> float:
    """``float(value)``, or InvalidInputError unless it is positive and finite.

    >>> as_positive(0.5, "dt")
    0.5
    """
    expected = "a positive finite number"
    x = _real(value, name, expected)
    if not (math.isfinite(x) and x > 0.0):
        msg = f"{name} must be {expected}; got {value!r}"
        raise InvalidInputError(msg)
    return x


def as_non_negative(value: object, name: str) -> float:
    """``float(value)``, or InvalidInputError unless it is finite and ``>= 0``.

    >>> as_non_negative(0, "checkpoint_interval")
    0.0
    """
    expected = "a non-negative finite number"
    x = _real(value, name, expected)
    if not (math.isfinite(x) and x >= 0.0):
        msg = f"{name} must be {expected}; got {value!r}"
        raise InvalidInputError(msg)
    return x


def as_probability(value: object, name: str) -> float:
    """``float(value)``, or InvalidInputError unless ``0 < value < 1`` (a fraction, a
    relative tolerance); give fractions (0.2), not percentages (20).

    >>> as_probability(0.2, "holdout")
    0.2
    """
    expected = "a number in the open interval (0, 1)"
    x = _real(value, name, expected)
    if not 0.0 < x < 1.0:
        msg = f"{name} must be {expected}; got {value!r}"
        raise InvalidInputError(msg)
    return x


def _integer(value: object, name: str, low: int, expected: str) -> int:
    is_integer = isinstance(value, Integral) and not isinstance(value, (bool, np.bool_))
    if not is_integer or value < low:  # type: ignore[operator]
        msg = f"{name} must be {expected}; got {name}={value!r}"
        raise InvalidInputError(msg)
    return int(value)  # type: ignore[arg-type]


def as_positive_int(value: object, name: str) -> int:
    """``int(value)``, or InvalidInputError unless it is a positive integer (not a bool).

    >>> as_positive_int(3, "k")
    3
    """
    return _integer(value, name, 1, "a positive integer")


def as_non_negative_int(value: object, name: str) -> int:
    """``int(value)``, or InvalidInputError unless it is an integer ``>= 0`` (not a bool).

    >>> as_non_negative_int(0, "seed")
    0
    """
    return _integer(value, name, 0, "a non-negative integer")


def as_flag(value: object, name: str) -> bool:
    """``bool(value)``, or InvalidInputError unless it is a bool (``save_final=0`` is refused:
    a count or a time there is a mistake, not a yes/no)."""
    if not isinstance(value, (bool, np.bool_)):
        msg = f"{name} must be True or False; got {name}={value!r}"
        raise InvalidInputError(msg)
    return bool(value)


def as_choice(value: object, name: str, choices: Sequence[str]) -> str:
    """``value``, or InvalidInputError unless it is one of ``choices`` (named in the message).

    >>> as_choice("rk4", "scheme", ("euler", "rk4"))
    'rk4'
    """
    if not isinstance(value, str) or value not in choices:
        msg = f"{name} must be one of {', '.join(map(repr, choices))}; got {name}={value!r}"
        raise InvalidInputError(msg)
    return value


def as_finite_array(
    value: ArrayLike, name: str, *, shape: tuple[int | None, ...] | None = None
) -> np.ndarray:
    """``value`` as a float64 array, or InvalidInputError unless it is real, of ``shape``
    (``None`` entries match any length) and finite everywhere (the first bad entry is
    named).

    >>> as_finite_array([1, 2], "x0", shape=(None,)).tolist()
    [1.0, 2.0]
    """
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        msg = f"{name} must be an array of real numbers; got {type(value).__name__}: {exc}"
        raise InvalidInputError(msg) from exc
    if shape is not None and (
        array.ndim != len(shape)
        or any(
            want is not None and want != got for want, got in zip(shape, array.shape, strict=True)
        )
    ):
        wanted = "(" + ", ".join("n" if s is None else str(s) for s in shape) + ")"
        msg = f"{name} must have shape {wanted}; got shape {array.shape}"
        raise InvalidInputError(msg)
    bad = ~np.isfinite(array)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        msg = (
            f"{name} must be finite; {name}[{', '.join(map(str, index))}] = "
            f"{float(array[index])!r} ({int(bad.sum())} non-finite entr"
            f"{'y' if bad.sum() == 1 else 'ies'} in total)"
        )
        raise InvalidInputError(msg)
    return array


def as_points(x: ArrayLike, dim: int) -> np.ndarray:
    """Validate evaluation points and return them as a float ``(n, dim)`` array."""
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        msg = f"x must be a real array of shape (n, {dim}); got {type(x).__name__}: {exc}"
        raise InvalidInputError(msg) from exc
    if arr.ndim == 1 and dim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != dim:
        hint = " (pass a single point as x[None, :])" if arr.ndim == 1 else ""
        msg = f"x must have shape (n, {dim}); got shape {arr.shape}{hint}"
        raise InvalidInputError(msg)
    if np.isfinite(arr).all():  # the common case, one flat pass (the row test is 2x slower)
        return arr
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        msg = (
            f"x must be finite; row {i} is {arr[i].tolist()} "
            f"({int(bad.sum())} non-finite row(s) in total)"
        )
        raise InvalidInputError(msg)
    return arr


def save_times_in(save_times: object, t_final: float) -> np.ndarray:
    """Sorted save times, InvalidInputError unless real, finite and inside [0, t_final]."""
    try:
        times = np.sort(np.atleast_1d(np.asarray(save_times, dtype=float)).ravel())
    except (TypeError, ValueError) as exc:
        msg = f"save_times must be real numbers; got {save_times!r}"
        raise InvalidInputError(msg) from exc
    if times.size == 0 or not np.all(np.isfinite(times)) or times[0] < 0 or times[-1] > t_final:
        msg = (
            f"save_times must be finite and lie in [0, t_final = {t_final:g}]; got "
            f"{times.tolist()}: drop the others or raise t_final"
        )
        raise InvalidInputError(msg)
    return times


def with_final_time(times: np.ndarray, t_final: float, save_final: bool) -> np.ndarray:
    """Sorted save times in [0, t_final] with ``t_final`` appended when ``save_final``.

    A last save time within 1e-12 (relative) of ``t_final`` is taken as ``t_final`` itself,
    so that round-off in a user's grid adds no second, almost equal final time.
    """
    if not save_final or times.size == 0:
        return times
    if times[-1] >= t_final - 1e-12 * max(1.0, t_final):
        return np.concatenate([times[:-1], [t_final]])
    return np.concatenate([times, [t_final]])
