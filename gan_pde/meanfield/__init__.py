"""WGAN mean-field dynamics (paper 001, Delgadino et al.): parameter laws, clipping, toy model.

* :mod:`~gan_pde.meanfield.toy` — the explicit example of Section 3 (:class:`ToyWGAN`) and
  its mean-field version with a discriminator law (:class:`ToyMeanField`);
* :mod:`~gan_pde.meanfield.transport` — conservative upwind finite volumes on a box with the
  tangent-cone projection (8) at the walls;
* :mod:`~gan_pde.meanfield.model` — :class:`WGANMeanField`, the system (7) for K = L = 1
  (parameters θ = (α, β, γ), ω = (a, b, c) in the paper's order), WGAN or WGAN-GP energy;
* :mod:`~gan_pde.meanfield.particles` — N neurons trained by clipped SGD in the mean-field
  scaling (:func:`simulate_particles`) and the exact 1D distance :func:`w2_to_cells`.

Every time loop runs on :func:`gan_pde.engine.run`: the solvers take ``checkpoint=``,
``resume=`` and ``trackers=``, and their results name their time axis ``times``.
"""

from __future__ import annotations

from gan_pde.meanfield.highres import decay_per_period, simulate_particle_flow, solve_highres
from gan_pde.meanfield.model import (
    DISCRIMINATOR_NAMES,
    GENERATOR_NAMES,
    MeanFieldTrajectory,
    NeuronGrid,
    WGANMeanField,
)
from gan_pde.meanfield.particles import (
    MeanFieldParticles,
    sample_law,
    simulate_particles,
    w2_to_cells,
)
from gan_pde.meanfield.toy import (
    BumpLaw,
    ProjectedPath,
    ToyMeanField,
    ToyMeanFieldFV,
    ToyMeanFieldPath,
    ToyPath,
    ToyWGAN,
    integrate_projected,
)
from gan_pde.meanfield.transport import BoxGrid, cfl_time_step, empirical_law, transport_rates

__all__ = [
    "DISCRIMINATOR_NAMES",
    "GENERATOR_NAMES",
    "MeanFieldParticles",
    "MeanFieldTrajectory",
    "NeuronGrid",
    "WGANMeanField",
    "sample_law",
    "simulate_particles",
    "w2_to_cells",
    "BoxGrid",
    "BumpLaw",
    "ProjectedPath",
    "ToyMeanField",
    "ToyMeanFieldFV",
    "ToyMeanFieldPath",
    "ToyPath",
    "ToyWGAN",
    "cfl_time_step",
    "decay_per_period",
    "empirical_law",
    "integrate_projected",
    "simulate_particle_flow",
    "solve_highres",
    "transport_rates",
]
