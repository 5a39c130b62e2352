"""SDE approximations of GAN training and their long-run behaviour (Cao & Guo, paper 000).

* :mod:`~gan_pde.sde.quadratic` — quadratic losses with exact SGA/SDE moment recursions
  (weak orders without Monte-Carlo noise), invariant-measure moments (numpy only);
* :mod:`~gan_pde.sde.fokker_planck` — the stationary Fokker–Planck equation by FEM;
* :mod:`~gan_pde.sde.coefficients` — drift b0 (9), correction b1 (10) by Hessian–vector
  products and diffusion (11) of any torch loss (needs torch);
* :mod:`~gan_pde.sde.simulate` — vectorised ensembles of (ALT)/(SML) and of the SDEs
  (their steps for the stepping engine: ``SGAStepper``, ``SDEStepper``);
* :mod:`~gan_pde.sde.scheduler` — the FDR2 learning-rate schedule of Remark 4.3 (the
  training it drives: ``SMLStepper``);
* :mod:`~gan_pde.sde.longrun` — the Monte-Carlo long run to the invariant measure
  (``LongRun``) and the dissipativity check of Theorem 4.1.

Names are loaded lazily, so the numpy parts work without torch; the torch parts raise
:class:`~gan_pde.errors.MissingDependencyError` when torch is missing.
"""

from __future__ import annotations

import importlib
from typing import Any

_ATTRIBUTES = {
    "NonDissipativeWarning": "quadratic",
    "QuadraticGame": "quadratic",
    "location_gan": "quadratic",
    "location_scale_wgan": "quadratic",
    "moments_of": "quadratic",
    "StationaryDensity": "fokker_planck",
    "stationary_fokker_planck": "fokker_planck",
    "GANSDE": "coefficients",
    "tanh_gan_loss": "coefficients",
    "Ensemble": "simulate",
    "SGAStepper": "simulate",
    "SDEStepper": "simulate",
    "simulate_sga": "simulate",
    "simulate_sde": "simulate",
    "FDR2Scheduler": "scheduler",
    "fdr2_statistics": "scheduler",
    "train_sml": "scheduler",
    "SMLStepper": "scheduler",
    "LongRun": "longrun",
    "long_run": "longrun",
    "check_dissipative": "longrun",
}

__all__ = sorted(_ATTRIBUTES)


def __getattr__(name: str) -> Any:
    if name in _ATTRIBUTES:
        return getattr(importlib.import_module(f"gan_pde.sde.{_ATTRIBUTES[name]}"), name)
    msg = f"module 'gan_pde.sde' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return __all__
