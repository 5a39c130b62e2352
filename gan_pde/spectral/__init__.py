"""Spectral problems: the weighted Laplacian −Δ_μ and the linearised GAN (paper 004).

* :mod:`~gan_pde.spectral.weighted_laplacian` — the spectrum of −Δ_μ by FEM
  (:func:`weighted_laplacian_spectrum`, :class:`Spectrum`);
* :mod:`~gan_pde.spectral.adaptive` — adaptive refinement and certified bounds of the
  Poincaré constant ξ_min (:func:`adaptive_poincare`, :func:`certified_poincare`);
* :mod:`~gan_pde.spectral.augmentation` — ξ_min of kernel density estimates and of
  augmented data (:func:`kde_poincare`, :func:`augmentation_study`);
* :mod:`~gan_pde.spectral.lgan` — the closed forms of the lGAN: spectrum (22), decay rate
  (Theorem 4), optimal parameters (23)–(25), amplification factors of the integrators;
* the mixed FEM lGAN system: :mod:`~gan_pde.spectral.lgan_assembly` (:class:`LGANSystem`),
  :mod:`~gan_pde.spectral.lgan_modes` (its eigen-solves),
  :mod:`~gan_pde.spectral.lgan_integrate` (:func:`integrate` on the stepping engine) and
  :mod:`~gan_pde.spectral.lgan_experiments` (:func:`mixture_experiment`), gathered in
  :mod:`~gan_pde.spectral.lgan_system`.

``__all__`` lists the public classes and functions of every spectral module; they are
loaded on first use (PEP 562), so importing one module (e.g. the numpy-only closed forms of
:mod:`~gan_pde.spectral.lgan`) does not import the others.

Examples
--------
>>> import gan_pde as gp
>>> from gan_pde.spectral import LGANSystem, eigenvalues
>>> lam_plus, lam_minus = eigenvalues(1.0, alpha=3.0, beta=1.0, gamma=0.0)  # (22), ξ = 1
>>> print(f"{lam_plus.real:.6f}")
-0.381966
"""

from __future__ import annotations

import importlib
from typing import Any

#: Public class or function → the spectral module that defines it.
_ATTRIBUTES = {
    **dict.fromkeys(
        ("Spectrum", "smallest_eigenvalues", "weighted_laplacian_spectrum"),
        "weighted_laplacian",
    ),
    **dict.fromkeys(
        (
            "AdaptiveResult",
            "CertifiedPoincare",
            "adaptive_poincare",
            "certified_poincare",
            "crouzeix_raviart_lower_bound",
            "dorfler_mark",
            "error_indicators",
            "fitted_rate",
            "rayleigh_upper_bound",
            "truncation_box",
        ),
        "adaptive",
    ),
    **dict.fromkeys(
        (
            "AugmentationStudy",
            "BandwidthStudy",
            "augment",
            "augmentation_study",
            "bandwidth_study",
            "kde_poincare",
            "plot_augmentation_study",
            "toy_dataset",
        ),
        "augmentation",
    ),
    **dict.fromkeys(
        (
            "OptimalParameters",
            "decay_rate",
            "eigenvalues",
            "euler_amplification",
            "heun_amplification",
            "is_oscillating",
            "max_euler_amplification",
            "max_stable_step",
            "optimal_parameters",
            "rk4_amplification",
        ),
        "lgan",
    ),
    "LGANSystem": "lgan_assembly",
    "LGANModes": "lgan_modes",
    **dict.fromkeys(("LGANStepper", "LGANTrajectory", "integrate"), "lgan_integrate"),
    **dict.fromkeys(("MixtureExperiment", "mixture_experiment"), "lgan_experiments"),
}

__all__ = sorted(_ATTRIBUTES)


def __getattr__(name: str) -> Any:
    if name in _ATTRIBUTES:
        return getattr(importlib.import_module(f"gan_pde.spectral.{_ATTRIBUTES[name]}"), name)
    msg = f"module 'gan_pde.spectral' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return __all__
