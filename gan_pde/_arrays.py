"""Argument checks shared across the package."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from gan_pde.errors import InvalidInputError

__all__ = ["as_flag", "as_points", "as_positive", "as_positive_int", "with_final_time"]


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
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        msg = (
            f"x must be finite; row {i} is {arr[i].tolist()} "
            f"({int(bad.sum())} non-finite row(s) in total)"
        )
        raise InvalidInputError(msg)
    return arr


def as_positive(value: float, name: str) -> float:
    """``float(value)``, or InvalidInputError unless it is positive and finite."""
    try:
        x = float(value)
    except (TypeError, ValueError) as exc:
        msg = f"{name} must be a positive finite number; got {value!r}"
        raise InvalidInputError(msg) from exc
    if not (math.isfinite(x) and x > 0.0):
        msg = f"{name} must be a positive finite number; got {value!r}"
        raise InvalidInputError(msg)
    return x


def as_positive_int(value: object, name: str) -> int:
    """``int(value)``, or InvalidInputError unless it is a positive integer (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        msg = f"{name} must be a positive integer; got {name}={value!r}"
        raise InvalidInputError(msg)
    return int(value)


def as_flag(value: object, name: str) -> bool:
    """``bool(value)``, or InvalidInputError unless it is a bool (``save_final=0`` is refused:
    a count or a time there is a mistake, not a yes/no)."""
    if not isinstance(value, (bool, np.bool_)):
        msg = f"{name} must be True or False; got {name}={value!r}"
        raise InvalidInputError(msg)
    return bool(value)


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
