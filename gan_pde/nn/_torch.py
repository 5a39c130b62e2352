"""Lazy torch import, device selection and seeded generators for :mod:`gan_pde.nn`."""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from gan_pde._arrays import as_non_negative_int
from gan_pde.errors import InvalidInputError, MissingDependencyError

__all__ = ["make_generator", "require_torch", "select_device", "torch_versions"]

_INSTALL = "pip install 'gan_pde[torch]'"
_DEVICES = ("cpu", "cuda")


def require_torch() -> ModuleType:
    """Import and return torch, or raise MissingDependencyError saying what to install.

    Examples
    --------
    >>> torch = require_torch()
    >>> torch.float64
    torch.float64
    """
    try:
        return importlib.import_module("torch")
    except ImportError as exc:
        msg = f"gan_pde.nn needs torch, which is not installed; install it with: {_INSTALL}"
        raise MissingDependencyError(msg) from exc


def select_device(device: str | Any | None = None) -> Any:
    """The torch device to train on: CUDA when available for ``None``, else as asked.

    Parameters
    ----------
    device
        ``None`` (CUDA if a GPU is visible, else CPU), ``"cpu"``, ``"cuda"``,
        ``"cuda:<index>"`` or a :class:`torch.device`.

    Raises
    ------
    InvalidInputError
        For an unknown device name, or CUDA requested on a machine without a GPU.

    Examples
    --------
    >>> select_device("cpu")
    device(type='cpu')
    """
    torch = require_torch()
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        msg = f"device must be one of {_DEVICES} (or 'cuda:<index>'); got {device!r}"
        raise InvalidInputError(msg) from exc
    if chosen.type not in _DEVICES:
        msg = f"device must be one of {_DEVICES} (or 'cuda:<index>'); got {device!r}"
        raise InvalidInputError(msg)
    if chosen.type == "cuda":
        if not torch.cuda.is_available():
            msg = (
                f"device={device!r} was requested but torch sees no CUDA GPU on this machine "
                "(torch.cuda.is_available() is False); use device='cpu' or device=None"
            )
            raise InvalidInputError(msg)
        if chosen.index is not None and chosen.index >= torch.cuda.device_count():
            msg = f"device={device!r}: there are only {torch.cuda.device_count()} CUDA device(s)"
            raise InvalidInputError(msg)
    return chosen


def make_generator(seed: int) -> Any:
    """A CPU :class:`torch.Generator` seeded with ``seed``.

    All random numbers of a run are drawn on the CPU from this generator and then moved to
    the device, so a run draws the same numbers on every device, and two CPU runs with the
    same seed are bit-identical.
    """
    torch = require_torch()
    seed = as_non_negative_int(seed, "seed")
    return torch.Generator(device="cpu").manual_seed(seed)


def torch_versions() -> dict[str, str]:
    """Versions of the packages a run depends on, torch and CUDA included."""
    from gan_pde.provenance import versions

    torch = require_torch()
    found = dict(versions())
    found["torch"] = str(torch.__version__)
    found["cuda"] = str(torch.version.cuda)
    return found
