"""Neural networks and trainers beside the PDE limits (optional, needs torch).

Importing this subpackage is cheap: the public names are resolved lazily (PEP 562) from
their modules, and torch is imported only when a torch-backed name is first used.  Without
torch those names raise :class:`gan_pde.errors.MissingDependencyError` that says what to
install::

    pip install 'gan_pde[torch]'
"""

from __future__ import annotations

import importlib
from typing import Any

_ATTRIBUTES = {
    "TrainingRun": "gan_pde.nn.run",
    "TrainingError": "gan_pde.nn.run",
    "select_device": "gan_pde.nn._torch",
    "require_torch": "gan_pde.nn._torch",
    "MLP": "gan_pde.nn.networks",
    "MeanFieldSigmoidNet": "gan_pde.nn.networks",
    "FeatureNet": "gan_pde.nn.networks",
    "Optimizer": "gan_pde.nn.optim",
    "ParticleGenerator": "gan_pde.nn.networks",
    "train_gan": "gan_pde.nn.gan",
    "train_algorithm2": "gan_pde.nn.gan",
    "train_particles": "gan_pde.nn.gan",
    "gradient_identity": "gan_pde.nn.gan",
    "ode_velocity": "gan_pde.nn.gan",
    "train_wgan": "gan_pde.nn.wgan",
    "train_lsgan": "gan_pde.nn.lsgan",
    "train_ensemble": "gan_pde.nn.ensemble",
    "NeuralPoincareConfig": "gan_pde.nn.poincare",
    "estimate_poincare_constant": "gan_pde.nn.poincare",
    "poincare_study": "gan_pde.nn.poincare",
}

__all__ = sorted(_ATTRIBUTES)


def __getattr__(name: str) -> Any:
    if name in _ATTRIBUTES:
        return getattr(importlib.import_module(_ATTRIBUTES[name]), name)
    msg = f"module 'gan_pde.nn' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return __all__
