"""The torch import of :mod:`gan_pde.sde`, with a clear error when torch is missing."""

from __future__ import annotations

from typing import Any

from gan_pde.errors import MissingDependencyError


def require_torch() -> Any:
    """The torch module; MissingDependencyError (with the install line) if absent."""
    try:
        import torch
    except ImportError as err:
        msg = (
            "the SDE coefficients and simulations of gan_pde.sde need torch; "
            "install it with: pip install 'gan_pde[torch]'"
        )
        raise MissingDependencyError(msg) from err
    return torch
