"""Long runs of the GAN-training SDEs: invariant measure, FDR1 and FDR2 (paper 000, Section 4).

:func:`check_dissipative` tests Theorem 4.1(b), γ·b(γ) ≤ −r‖γ‖ for ‖γ‖ ≥ M0, on a sphere;
:func:`long_run` simulates many paths for a long time, warns with
:class:`~gan_pde.sde.quadratic.NonDissipativeWarning` when the drift is not dissipative, and
estimates the two sides of (FDR1) (Theorem 4.2) and (FDR2) (Theorem 4.3) over the final
states with 95 % confidence intervals.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gan_pde import engine
from gan_pde._arrays import as_positive
from gan_pde.sde._torch import require_torch
from gan_pde.sde.coefficients import GANSDE
from gan_pde.sde.quadratic import NonDissipativeWarning, check_batch, check_rate
from gan_pde.sde.simulate import simulate_sde

__all__ = ["LongRun", "check_dissipative", "long_run"]

#: Two-sided 95 % normal quantile for the confidence intervals.
Z95 = 1.959963984540054


def check_dissipative(
    sde: GANSDE,
    *,
    eta: float,
    kind: str = "alt",
    radius: float = 20.0,
    directions: int = 256,
    seed: int = 0,
) -> float:
    """max over random unit u of γ·b(γ)/‖γ‖ at γ = radius·u (negative: dissipative there)."""
    torch = require_torch()
    radius = as_positive(radius, "radius")
    generator = torch.Generator().manual_seed(seed)
    u = torch.randn(directions, sde.dimension, generator=generator, dtype=torch.float64)
    gamma = radius * u / torch.linalg.norm(u, dim=1, keepdim=True)
    b = torch.func.vmap(lambda g: sde.drift(g, eta=eta, kind=kind))(gamma)
    return float(((gamma * b).sum(1) / radius).max())


@dataclass(frozen=True)
class LongRun:
    """Samples of the (approximate) invariant measure and the FDR estimates.

    Attributes
    ----------
    samples
        ``(n_paths, d)`` states at ``t_final``.
    mean, covariance
        Richardson-extrapolated mean and covariance of the invariant measure.
    fdr
        Name → (estimate, half-width of the 95 % CI) for ``fdr1_lhs``, ``fdr1_rhs``,
        ``fdr1_gap`` (lhs − rhs), ``fdr2_lhs``, ``fdr2_rhs``, ``fdr2_gap``.
    mean_stderr, covariance_stderr
        Monte-Carlo standard errors of ``mean`` and ``covariance``.
    info
        Run parameters, the dissipativity margin, and the engine's ``n_steps``,
        ``seconds`` (wall time, resumed sessions included), ``resumed_from_step`` and
        ``stop_reason``.
    times
        ``(1,)``: the time of ``samples`` and of the estimates (``t_final`` rounded to a
        whole number of steps η); empty for a result saved before it was recorded.
    """

    samples: np.ndarray
    mean: np.ndarray
    covariance: np.ndarray
    fdr: dict[str, tuple[float, float]]
    mean_stderr: np.ndarray
    covariance_stderr: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)
    times: np.ndarray = field(default_factory=lambda: np.empty(0))

    def __repr__(self) -> str:
        from gan_pde._repr import short_repr

        return short_repr(self)


def long_run(
    sde: GANSDE,
    gamma0: Any,
    *,
    eta: float,
    batch_size: int,
    t_final: float,
    kind: str = "alt",
    n_paths: int = 2000,
    substeps: int = 4,
    seed: int = 0,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_interval: float | None = 30.0,
    checkpoint_steps: int | None = None,
    resume: bool = False,
    trackers: Sequence[engine.Tracker] = (),
) -> LongRun:
    """Simulate the SDE ``kind`` to ``t_final`` from γ0 and estimate FDR1/FDR2 at the end.

    Euler–Maruyama with h = η/``substeps`` and Richardson extrapolation: every expectation
    (moments, FDR integrands) is 2E f(X^{h/2}) − E f(X^h) over coupled paths, which removes
    the O(h) bias of the Euler invariant measure.
    FDR1 uses the (ALT-SDE) right side (with the −η/2 curvature term) for ``kind="alt"`` and
    the (SML-SDE) one otherwise; FDR2 is stated for (SML-SDE) (Theorem 4.3).

    The paths are simulated by :func:`~gan_pde.sde.simulate.simulate_sde` on the stepping
    engine (``round(t_final / eta)`` steps η), which takes the checkpoint options:

    Parameters
    ----------
    sde
        The loss and data (:class:`~gan_pde.sde.coefficients.GANSDE`).
    gamma0
        The start of every path.
    eta, batch_size, t_final, kind
        Learning rate, batch size, length of the run and the SDE (``"alt"``, ``"sml"``, …).
    n_paths, substeps, seed
        Paths, Euler–Maruyama sub-steps per η, seed of the Brownian increments.
    checkpoint
        File to write the paths and the generator to every ``checkpoint_interval`` seconds
        and/or ``checkpoint_steps`` steps, and after the last step.  None: no checkpoints.
    checkpoint_interval, checkpoint_steps
        Seconds of wall time (0: every step; None: by steps) and steps between checkpoints.
    resume
        Continue from ``checkpoint`` if it exists; the result is bit-identical to an
        uninterrupted run's.
    trackers
        More :class:`gan_pde.engine.Tracker` objects (callbacks receive
        ``(t, fine paths)``).

    Returns
    -------
    LongRun
    """
    torch = require_torch()
    eta = check_rate(eta)
    batch = check_batch(batch_size, sde.n_samples)
    t_final = as_positive(t_final, "t_final")
    margin = check_dissipative(sde, eta=eta, kind=kind)
    if margin >= 0:
        msg = (
            f"the {kind.upper()}-SDE drift is not dissipative (max γ·b(γ)/‖γ‖ = {margin:.3g} ≥ 0 "
            "on the sphere ‖γ‖ = 20): Theorem 4.1 does not guarantee an invariant measure; "
            "add weight decay"
        )
        warnings.warn(msg, NonDissipativeWarning, stacklevel=2)
    steps = max(1, round(t_final / eta))
    run = simulate_sde(
        sde,
        gamma0,
        eta=eta,
        batch_size=batch,
        steps=steps,
        kind=kind,
        substeps=substeps,
        richardson=True,
        n_paths=n_paths,
        seed=seed,
        checkpoint=checkpoint,
        checkpoint_interval=checkpoint_interval,
        checkpoint_steps=checkpoint_steps,
        resume=resume,
        trackers=trackers,
    )
    samples = run.final
    evaluate = torch.func.vmap(lambda g: sde.fdr_terms(g, eta=eta, batch_size=batch))
    fine = evaluate(torch.as_tensor(samples))
    coarse = evaluate(torch.as_tensor(run.final_coarse))
    values = {k: 2 * fine[k].numpy() - coarse[k].numpy() for k in fine}
    rhs1 = values["fdr1_rhs_alt"] if kind == "alt" else values["fdr1_rhs_sml"]
    columns = {
        "fdr1_lhs": values["fdr1_lhs"],
        "fdr1_rhs": rhs1,
        "fdr1_gap": values["fdr1_lhs"] - rhs1,
        "fdr2_lhs": values["fdr2_lhs"],
        "fdr2_rhs": values["fdr2_rhs"],
        "fdr2_gap": values["fdr2_lhs"] - values["fdr2_rhs"],
    }
    fdr = {
        k: (float(v.mean()), float(Z95 * v.std(ddof=1) / math.sqrt(v.size)))
        for k, v in columns.items()
    }
    info = {
        "eta": eta,
        "batch_size": batch,
        "kind": kind,
        "t_final": steps * eta,
        "n_paths": n_paths,
        "substeps": substeps,
        "dissipativity_margin": margin,
        **{
            key: run.info[key] for key in ("n_steps", "seconds", "resumed_from_step", "stop_reason")
        },
    }
    coarse_samples = run.final_coarse
    per_path_mean = 2 * samples - coarse_samples
    mean = per_path_mean.mean(0)
    fine_c, coarse_c = samples - mean, coarse_samples - mean
    per_path_cov = 2 * fine_c[:, :, None] * fine_c[:, None, :] - (
        coarse_c[:, :, None] * coarse_c[:, None, :]
    )
    root_n = math.sqrt(n_paths)
    return LongRun(
        samples,
        mean,
        per_path_cov.mean(0),
        fdr,
        per_path_mean.std(0, ddof=1) / root_n,
        per_path_cov.std(0, ddof=1) / root_n,
        info,
        run.times[-1:],
    )
