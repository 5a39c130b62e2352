"""The checks of ``gan-pde verify`` for paper 002 (Huang & Zhang): the JSD gradient flow."""

from __future__ import annotations

from typing import Any

import numpy as np

from gan_pde.verify._common import PAPER_002, _new_figure, _png
from gan_pde.verify.registry import Outcome, cached, register


# ---------------------------------------------------------------------- paper 002: JSD flow


@cached
def _jsd_run(size: str) -> tuple[Any, Any, float]:
    """The JSD flow to ½N(−2,1) + ½N(2,1) from N(0.5, 1) (off the symmetry axis, so the
    slowest, odd mode is excited), and xi_min of the same discretisation."""
    from gan_pde.densities import Gaussian, GaussianMixture
    from gan_pde.flows import JSDFlow
    from gan_pde.mesh import interval
    from gan_pde.spectral.weighted_laplacian import weighted_laplacian_spectrum

    cells, dt = {"quick": (200, 0.1), "default": (400, 0.05), "full": (800, 0.02)}[size]
    target = GaussianMixture(means=[[-2.0], [2.0]], stds=[1.0, 1.0], weights=[0.5, 0.5])
    mesh = interval(-10.0, 10.0, n=cells)
    flow = JSDFlow(target, Gaussian(mean=[0.5], cov=[[1.0]]), mesh)
    trajectory = flow.solve(60.0, dt, save_times=np.arange(0.0, 60.0 + 0.5 * dt, 0.5))
    xi_min = weighted_laplacian_spectrum(target, mesh, k=2, element="P1").poincare_constant
    return flow, trajectory, float(xi_min)


_JSD_SETTING = "target ½N(-2,1) + ½N(2,1), start N(0.5, 1), P1 lumped, backward Euler"


@register(
    name="jsd.mass",
    paper=PAPER_002,
    reference="(6)-(7): a continuity equation",
    claim="The JSD gradient flow conserves the total mass of the generator density.",
)
def jsd_mass(size: str) -> Outcome:
    _, trajectory, _ = _jsd_run(size)
    drift = float(np.abs(trajectory.mass - trajectory.mass[0]).max())
    # Each step conserves 1ᵀMv exactly in exact arithmetic; round-off adds ~eps per step,
    # ~1e-13 over 1200 steps: 1e-12 is round-off level.
    return Outcome(
        measured=drift,
        expected=0.0,
        tolerance=1e-12,
        passed=drift <= 1e-12,
        details={"setting": _JSD_SETTING, "measured is": "max |mass(t) - mass(0)|"},
    )


@register(
    name="jsd.monotone",
    paper=PAPER_002,
    reference="JSD decrease along (5)-(7)",
    claim="The Jensen-Shannon divergence JSD(u(t), rho_d) does not increase along the flow.",
)
def jsd_monotone(size: str) -> Outcome:
    _, trajectory, _ = _jsd_run(size)
    increase = float(np.diff(trajectory.jsd).max())
    figure = _new_figure()
    axes = figure.subplots()
    axes.semilogy(trajectory.times, trajectory.jsd, label="JSD(u, rho_d)")
    axes.semilogy(trajectory.times, trajectory.l1, label="||u - rho_d||_L1")
    axes.set_xlabel("t")
    axes.legend()
    # Backward Euler on the lumped M-matrix discretisation decreases the discrete JSD
    # exactly (docs/jsd_flow.md); 1e-14 covers the round-off of sums of O(1) terms.
    return Outcome(
        measured=increase,
        expected="<= 0",
        tolerance=1e-14,
        passed=increase <= 1e-14,
        details={"setting": _JSD_SETTING, "measured is": "max JSD(t_k+1) - JSD(t_k)"},
        figure=_png(figure),
    )


@register(
    name="jsd.decay_rate",
    paper=PAPER_002,
    reference="(7) linearised at v = 1; convergence to rho_d in L1",
    claim=(
        "u converges to rho_d; linearising ½Δ_mu ln(1+v) at v = 1 gives the late-time rate "
        "xi_min/4 of ||u - rho_d||_L1."
    ),
)
def jsd_decay_rate(size: str) -> Outcome:
    _, trajectory, xi_min = _jsd_run(size)
    late = trajectory.times >= 30.0
    rate = -float(np.polyfit(trajectory.times[late], np.log(trajectory.l1[late]), 1)[0])
    # The next mode decays faster by exp(-(xi_2 - xi_1) t/4) and the nonlinear terms by
    # exp(-xi_min t/4) relative; backward Euler shifts the rate by ~dt xi/8 relative: 5 %.
    return Outcome(
        measured=rate,
        expected=xi_min / 4,
        tolerance=0.05,
        passed=abs(rate / (xi_min / 4) - 1.0) <= 0.05,
        details={
            "setting": _JSD_SETTING,
            "fit": "slope of ln ||u - rho_d||_L1 over t in [30, 60]",
            "xi_min": xi_min,
            "tolerance is": "relative",
            "final L1 distance": float(trajectory.l1[-1]),
        },
    )


@register(
    name="jsd.gradient_bound",
    paper=PAPER_002,
    reference="(19) under rho_0 <= beta rho_d (8)",
    claim="The flow satisfies int_0^inf ||grad v||^2 dt <= (1 + beta) beta^2, beta = sup v_0.",
)
def jsd_gradient_bound(size: str) -> Outcome:
    flow, trajectory, _ = _jsd_run(size)
    total = float(trajectory.grad_v_integral[-1])
    beta = float(flow.beta)
    bound = (1.0 + beta) * beta**2
    weights = flow.operator.weights
    sharper = float((1.0 + beta) * (weights @ flow.v0**2 - weights @ trajectory.v[-1] ** 2))
    return Outcome(
        measured=total,
        expected=bound,
        tolerance="measured <= expected",
        passed=total <= bound,
        details={
            "setting": _JSD_SETTING,
            "beta": beta,
            "sharper bound (1+beta)(||v0||^2 - ||v(T)||^2)": sharper,
            "integral up to": float(trajectory.times[-1]),
            "integral over the last 10 time units": float(
                total - trajectory.grad_v_integral[np.searchsorted(trajectory.times, 50.0)]
            ),
        },
    )
