"""gan_pde: finite-element solvers for the PDEs behind GAN training.

The top level re-exports the public API lazily (PEP 562), so ``import gan_pde`` is cheap
and never imports torch or matplotlib; a submodule (``gp.mesh``, ``gp.plotting``, ...) is
imported on first use::

    import gan_pde as gp
    rho = gp.GaussianMixture(means=[-2.0, 2.0], stds=[1.0, 1.0], weights=[0.5, 0.5])  # 1D
    spec = gp.weighted_laplacian_spectrum(rho, gp.mesh.interval((-12.0, 12.0), n=400), k=4)
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = {
    "densities",
    "errors",
    "fem",
    "flows",
    "io",
    "mesh",
    "spectral",
    "lgan",
    "config",
    "cli",
    "verify",
    "dual",
    "compare",
    "sde",
    "nn",
    "meanfield",
    "sweep",
    "checkpoint",
    "resources",
    "plotting",
    "engine",
    "provenance",
}
_ATTRIBUTES = {
    "WGANMeanField": "gan_pde.meanfield",
    "ToyWGAN": "gan_pde.meanfield",
    "TrainingRun": "gan_pde.nn.run",
    "Density": "gan_pde.densities",
    "Gaussian": "gan_pde.densities",
    "GaussianMixture": "gan_pde.densities",
    "KDE": "gan_pde.densities",
    "MeshDensity": "gan_pde.densities",
    "Uniform": "gan_pde.densities",
    "Spectrum": "gan_pde.spectral.weighted_laplacian",
    "weighted_laplacian_spectrum": "gan_pde.spectral.weighted_laplacian",
    "LGANSystem": "gan_pde.spectral.lgan_system",
    "adaptive_poincare": "gan_pde.spectral.adaptive",
    "certified_poincare": "gan_pde.spectral.adaptive",
    "kde_poincare": "gan_pde.spectral.augmentation",
    "augmentation_study": "gan_pde.spectral.augmentation",
    "JSDFlow": "gan_pde.flows",
    "Trajectory": "gan_pde.flows",
    "LogDiffusionOperator": "gan_pde.flows",
    "simulate_particles": "gan_pde.flows",
    "ParticleTrajectory": "gan_pde.flows",
    "wasserstein_1d": "gan_pde.flows",
    "GanPdeError": "gan_pde.errors",
    "Check": "gan_pde.verify.registry",
    "run_checks": "gan_pde.verify.registry",
    "write_report": "gan_pde.verify.report",
}

__all__ = sorted(_SUBMODULES | set(_ATTRIBUTES) | {"__version__"})


def __getattr__(name: str) -> Any:
    if name == "lgan":
        return importlib.import_module("gan_pde.spectral.lgan")
    if name in _SUBMODULES:
        return importlib.import_module(f"gan_pde.{name}")
    if name in _ATTRIBUTES:
        return getattr(importlib.import_module(_ATTRIBUTES[name]), name)
    msg = f"module 'gan_pde' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return __all__
