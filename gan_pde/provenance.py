"""What a result needs to be reproduced: package versions recorded with it."""

from __future__ import annotations

import platform
from functools import cache
from importlib import metadata

__all__ = ["versions"]

_PACKAGES = ("gan_pde", "numpy", "scipy", "scikit-fem", "meshio", "pyamg")


@cache
def versions() -> dict[str, str]:
    """Versions of Python and of the packages a result depends on."""
    found = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found
