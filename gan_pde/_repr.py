"""Short reprs for objects that hold large arrays (results, FEM functions, densities).

``print(result)`` should say what the object is, not dump every array it holds: each field is
summarised (a short array in full, a long one by its length or shape and its range, a mesh
by its cell count, a basis by its element and size), and the whole repr is kept within
:data:`LIMIT` characters by summarising the last fields more tersely and, as a last resort,
leaving them out.  The arrays themselves stay one attribute access away.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import skfem

__all__ = ["LIMIT", "brief", "short_repr"]

#: Longest repr :func:`short_repr` returns, in characters.
LIMIT = 200

#: 1-D arrays with at most this many entries are shown in full (at level 0).
_SHOWN = 6


def _number(value: float) -> str:
    return f"{value:.4g}"


def _range(arr: np.ndarray) -> str:
    if arr.dtype.kind not in "iuf" or arr.size == 0:
        return ""
    finite = arr[np.isfinite(arr)] if arr.dtype.kind == "f" else arr
    if finite.size == 0:
        return ""
    return f" in [{_number(float(finite.min()))}, {_number(float(finite.max()))}]"


def _array(arr: np.ndarray, level: int) -> str:
    full = None
    if level <= 1 and arr.ndim == 1 and arr.size <= _SHOWN and arr.dtype.kind in "iuf":
        full = "[" + ", ".join(_number(float(v)) for v in arr) + "]"
    if arr.ndim == 1:
        shape = f"{arr.size} value{'s' * (arr.size != 1)}"
    else:
        shape = "array " + "×".join(map(str, arr.shape))
    summary = f"<{shape}{_range(arr) if level <= 1 else ''}>"
    if full is not None and (level == 0 or len(full) <= len(summary)):
        return full
    return summary


def brief(value: object, level: int = 0) -> str:
    """One short string for ``value``; the higher ``level`` (0, 1, 2), the terser.

    Level 0 shows 1-D arrays of up to 6 numbers in full and longer ones by their length or
    shape and range, level 1 the shorter of the two, level 2 the length or shape only.
    """
    if isinstance(value, np.ndarray):
        return _array(value, level)
    if isinstance(value, bool | np.bool_) or value is None:
        return repr(value)
    if isinstance(value, float | np.floating):
        return _number(float(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, str):
        return repr(value) if len(value) <= 24 else repr(value[:21] + "...")
    if isinstance(value, skfem.Mesh):
        return f"{type(value).__name__}({value.t.shape[1]} cells)"
    if hasattr(type(value), "__brief__"):  # objects that summarise themselves
        return value.__brief__(level)
    if isinstance(value, skfem.CellBasis):
        return (
            f"Basis({brief(value.mesh)}, {type(value.elem).__name__}, N={value.N})"
            if level <= 1
            else f"Basis(N={value.N})"
        )
    if isinstance(value, Mapping):
        keys = ", ".join(map(str, value)) if level == 0 else f"{len(value)} keys"
        return "{" + keys + "}"
    if isinstance(value, list | tuple) and len(value) <= _SHOWN and level == 0:
        return repr(type(value)(brief(v, 1) for v in value)).replace("'", "")
    if isinstance(value, list | tuple):
        return f"<{len(value)} items>"
    return type(value).__name__


def _fields(obj: Any) -> list[tuple[str, object]]:
    return [(f.name, getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.repr]


def short_repr(obj: Any, items: Iterable[tuple[str, object]] | None = None) -> str:
    """``Name(field=summary, ...)`` in at most :data:`LIMIT` characters.

    ``items`` are the ``(name, value)`` pairs to show, by default the dataclass fields that
    have ``repr=True``.  Values are summarised by :func:`brief`; while the result is too
    long, the fields are summarised more tersely, the last ones first (the first fields are
    the most telling), and then trailing fields are left out (``...``).

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Result:
    ...     times: np.ndarray
    ...     mass: np.ndarray
    >>> short_repr(Result(np.linspace(0.0, 1.0, 101), np.ones(3)))
    'Result(times=<101 values in [0, 1]>, mass=[1, 1, 1])'
    """
    pairs = list(_fields(obj) if items is None else items)
    name = type(obj).__name__
    levels = [0] * len(pairs)

    def text(parts: list[str]) -> str:
        return f"{name}(" + ", ".join(parts) + ")"

    def render() -> list[str]:
        return [f"{k}={brief(v, lv)}" for (k, v), lv in zip(pairs, levels, strict=True)]

    for i in reversed(range(len(pairs))):
        if len(text(render())) <= LIMIT:
            return text(render())
        levels[i] = 1
    for terse in (1, 2):
        levels = [terse] * len(pairs)
        rendered = render()
        for keep in reversed(range(1, len(pairs) + 1)):
            parts = rendered[:keep] + (["..."] if keep < len(pairs) else [])
            if len(text(parts)) <= LIMIT:
                return text(parts)
    return text(["..."])
