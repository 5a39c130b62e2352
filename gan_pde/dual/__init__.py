"""Dual metric flows of GAN training (Turinici, paper 003).

* :mod:`gan_pde.dual.games` — two-player losses (6) in Euclidean spaces: the oscillating
  example (1)–(2) and a smooth non-quadratic game;
* :mod:`gan_pde.dual.schemes` — the minimising-movement scheme (8)–(9), the alternating
  explicit scheme (1), the simultaneous explicit scheme, joint backward Euler, and an
  accurate solution of the dual flow (7);
* :mod:`gan_pde.dual.analysis` — update matrices and long-time rates, Lemma 1, EDI (21);
* :mod:`gan_pde.dual.wasserstein` — a generator law in (P(R), W2) (exact JKO steps of
  particles) against a Lipschitz feature discriminator, and the mode-collapse study.

Examples
--------
>>> from gan_pde.dual import oscillating_game, simulate
>>> path = simulate(oscillating_game([1.0]), [0.0], [2.0], tau=0.1, n_steps=10)
>>> path.x.shape, path.scheme
((11, 1), 'implicit')
"""

from __future__ import annotations

from gan_pde.dual.analysis import (
    ConvergenceStudy,
    EDIDefect,
    OscillationStudy,
    convergence_study,
    edi_defect,
    modified_energy,
    oscillation_study,
    predicted_rate,
    update_matrix,
)
from gan_pde.dual.games import EuclideanGame, oscillating_game, tanh_game
from gan_pde.dual.schemes import (
    SCHEMES,
    DualPath,
    DualStepper,
    dual_flow,
    fitted_order,
    proximal_step,
    proximal_x,
    proximal_y,
    simulate,
)
from gan_pde.dual.wasserstein import (
    CollapseStudy,
    ParticleGame,
    ParticleGameStepper,
    ParticlePath,
    bimodal_target,
    collapse_study,
    count_atoms,
    w2_distance,
)

__all__ = [
    "SCHEMES",
    "CollapseStudy",
    "ConvergenceStudy",
    "DualPath",
    "DualStepper",
    "EDIDefect",
    "EuclideanGame",
    "OscillationStudy",
    "ParticleGame",
    "ParticleGameStepper",
    "ParticlePath",
    "bimodal_target",
    "collapse_study",
    "convergence_study",
    "count_atoms",
    "dual_flow",
    "edi_defect",
    "fitted_order",
    "modified_energy",
    "oscillating_game",
    "oscillation_study",
    "predicted_rate",
    "proximal_step",
    "proximal_x",
    "proximal_y",
    "simulate",
    "tanh_game",
    "update_matrix",
    "w2_distance",
]
