r"""The linearised GAN (lGAN) in space and time: a mixed finite-element method (paper 004).

The discriminator perturbation u and the generator velocity v of the lGAN follow the weak
system (6), with the gradient penalty γ of Section 6 (μ = ρ dx):

.. math::

    \langle u_t,\hat u\rangle_\mu = -\alpha\langle u,\hat u\rangle_\mu
        - \beta\langle\nabla\hat u, v\rangle_\mu
        - \gamma\langle\nabla u,\nabla\hat u\rangle_\mu,
    \qquad
    \langle v_t,\hat v\rangle_\mu = \beta\langle\nabla u,\hat v\rangle_\mu .

This module gathers the names of four modules, one per part of the method:

* :mod:`gan_pde.spectral.lgan_assembly` — :class:`LGANSystem`, the log-scaled mixed
  matrices :math:`\tilde M_w\dot y = \tilde L y` of (6)/(26) and the element :data:`PAIRS`;
* :mod:`gan_pde.spectral.lgan_modes` — the eigen-solves that ``LGANSystem`` inherits
  (spectrum, kernel, decay rate; Theorems 2–4, Corollary 1);
* :mod:`gan_pde.spectral.lgan_integrate` — :func:`integrate`, the time integrators
  :data:`SCHEMES` on the stepping engine (:mod:`gan_pde.engine`), and
  :class:`LGANTrajectory`;
* :mod:`gan_pde.spectral.lgan_experiments` — :func:`mixture_experiment`, the five settings
  of Section 7.

Every name importable from here before the split still is (private helpers included).

Examples
--------
>>> import gan_pde as gp
>>> from gan_pde.spectral.lgan_system import LGANSystem
>>> system = LGANSystem(gp.Gaussian(mean=[0.0], cov=[[1.0]]), gp.mesh.interval(-8, 8, n=40),
...                     alpha=1.0, beta=1.0, element="P2")
>>> lam = system.eigenvalues(k=3)  # the slowest modes: -α and λ±(ξ = 1)
>>> print(", ".join(f"{z:.5f}" for z in lam))
-0.50000+0.86603j, -0.50000-0.86603j, -1.00000+0.00000j
"""

from __future__ import annotations

import scipy.sparse.linalg as spla  # noqa: F401 - lgan_system.spla, as before the split

from gan_pde.spectral.lgan_assembly import _GRADIENT_SPACES as _GRADIENT_SPACES
from gan_pde.spectral.lgan_assembly import PAIRS, LGANSystem
from gan_pde.spectral.lgan_assembly import _check_density_and_mesh as _check_density_and_mesh
from gan_pde.spectral.lgan_assembly import _coupling as _coupling
from gan_pde.spectral.lgan_assembly import _norms as _norms
from gan_pde.spectral.lgan_assembly import _parameter as _parameter
from gan_pde.spectral.lgan_assembly import _scaled_matrix as _scaled_matrix
from gan_pde.spectral.lgan_assembly import _state as _state
from gan_pde.spectral.lgan_assembly import _vector_mass as _vector_mass
from gan_pde.spectral.lgan_experiments import MixtureExperiment, mixture_experiment
from gan_pde.spectral.lgan_integrate import SCHEMES, LGANStepper, LGANTrajectory, integrate
from gan_pde.spectral.lgan_integrate import _stepper as _stepper
from gan_pde.spectral.lgan_modes import _RITZ_SPREAD_MAX as _RITZ_SPREAD_MAX
from gan_pde.spectral.lgan_modes import DENSE_MAX, LGANModes
from gan_pde.spectral.lgan_modes import _check_dense as _check_dense
from gan_pde.spectral.lgan_modes import _component_constants as _component_constants
from gan_pde.spectral.lgan_modes import _sorted as _sorted

__all__ = [
    "DENSE_MAX",
    "PAIRS",
    "SCHEMES",
    "LGANModes",
    "LGANStepper",
    "LGANSystem",
    "LGANTrajectory",
    "MixtureExperiment",
    "integrate",
    "mixture_experiment",
]
