"""Gradient flows of divergences on meshes: the JSD flow of Huang & Zhang (paper 002)."""

from __future__ import annotations

from gan_pde.flows.jsd import JSDFlow, JSDStepper, Trajectory
from gan_pde.flows.operator import (
    SCHEMES,
    LogDiffusionOperator,
    ResolventResult,
    StepResult,
)
from gan_pde.flows.particles import (
    JSDParticleStepper,
    ParticleTrajectory,
    simulate_particles,
    wasserstein_1d,
)

__all__ = [
    "SCHEMES",
    "JSDFlow",
    "JSDParticleStepper",
    "JSDStepper",
    "LogDiffusionOperator",
    "ParticleTrajectory",
    "ResolventResult",
    "StepResult",
    "Trajectory",
    "simulate_particles",
    "wasserstein_1d",
]
