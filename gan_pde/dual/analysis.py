r"""Studies of the dual-flow schemes: update matrices, long-time rates, Lemma 1, EDI (21).

For the bilinear oscillating game (1)–(2) every scheme is linear in
:math:`u = (x, y - x_r)` (per coordinate), :math:`u_{k+1} = M(\tau) u_k`, with

=================== ============================================ ================= ===========
scheme              M(τ)                                         det M             |λ|²
=================== ============================================ ================= ===========
implicit (8)–(9)    [[1, τ], [−τ, 1 − τ²]] (= alternating)        1                 1 (τ < 2)
alternating (1)     [[1, τ], [−τ, 1 − τ²]]                        1                 1 (τ < 2)
simultaneous        [[1, τ], [−τ, 1]]                             1 + τ²            1 + τ²
joint-implicit      [[1, −τ], [τ, 1]]⁻¹                           1/(1 + τ²)        1/(1 + τ²)
=================== ============================================ ================= ===========

so :math:`r^2 = |x|^2 + |y - x_r|^2` grows like :math:`(1+\tau^2)^{t/\tau}` (rate
:math:`\ln(1+\tau^2)/\tau \approx \tau`), decays at the opposite rate, or stays bounded.
The bilinear losses are linear in each player's own variable, so the proximal steps of
(8)–(9) are explicit steps: the paper's scheme *is* the alternating scheme (1) here.  Its
matrix has det 1 and conserves the modified energy :math:`H_\tau = |x|^2 + |w|^2 + \tau\,
x\cdot w` (:math:`w = y - x_r`; :math:`M^\top Q M = Q` for :math:`Q = [[1, \tau/2],
[\tau/2, 1]]`), so :math:`r^2` oscillates within :math:`[H_\tau/(1+\tau/2),
H_\tau/(1-\tau/2)]` for ever: no growth, no decay.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from gan_pde._arrays import as_positive
from gan_pde.dual.games import EuclideanGame, oscillating_game
from gan_pde.dual.schemes import (
    SCHEMES,
    DualPath,
    dual_flow,
    fitted_order,
    proximal_x,
    proximal_y,
    simulate,
)
from gan_pde.errors import InvalidInputError

__all__ = [
    "EDIDefect",
    "OscillationStudy",
    "ConvergenceStudy",
    "convergence_study",
    "edi_defect",
    "modified_energy",
    "oscillation_study",
    "predicted_rate",
    "update_matrix",
]

#: Gauss–Legendre nodes and weights on [0, 1] for the EDI integrals (exact to degree 9).
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(5)
_NODES = 0.5 * (_NODES + 1.0)
_WEIGHTS = 0.5 * _WEIGHTS


def _as_steps(taus: ArrayLike) -> np.ndarray:
    try:
        steps = np.asarray(taus, dtype=float)
    except (TypeError, ValueError) as exc:
        msg = f"taus must be a list of positive finite steps; got {taus!r}"
        raise InvalidInputError(msg) from exc
    if steps.ndim != 1 or steps.size < 2 or not np.all(np.isfinite(steps) & (steps > 0)):
        msg = f"taus must hold >= 2 positive finite steps; got {taus!r}"
        raise InvalidInputError(msg)
    return steps


def update_matrix(scheme: str, tau: float) -> np.ndarray:
    """The 2×2 update matrix of ``scheme`` for the oscillating game in :math:`(x, y - x_r)`.

    Examples
    --------
    >>> float(np.linalg.det(update_matrix("alternating", 0.3)))
    1.0
    """
    tau = as_positive(tau, "tau")
    if scheme in ("implicit", "alternating"):
        return np.array([[1.0, tau], [-tau, 1.0 - tau * tau]])
    if scheme == "simultaneous":
        return np.array([[1.0, tau], [-tau, 1.0]])
    if scheme == "joint-implicit":
        return np.linalg.inv(np.array([[1.0, -tau], [tau, 1.0]]))
    msg = f"scheme must be one of {SCHEMES}; got scheme={scheme!r}"
    raise InvalidInputError(msg)


def modified_energy(x: np.ndarray, w: np.ndarray, tau: float) -> np.ndarray:
    r"""The invariant :math:`H_\tau = |x|^2 + |w|^2 + \tau\, x\cdot w` of the alternating /
    implicit scheme on the oscillating game (rows of ``x`` and ``w = y - x_r``)."""
    x = np.atleast_2d(x)
    w = np.atleast_2d(w)
    return np.sum(x * x + w * w + tau * x * w, axis=1)


def predicted_rate(scheme: str, tau: float) -> float:
    r"""Long-time rate of :math:`\ln r^2` per unit time, :math:`2\ln\rho(M(\tau))/\tau`.

    ρ is the spectral radius; for the alternating matrix ρ = 1 exactly (det 1, complex pair
    for τ < 2), which the formula would round to ±1e-16, so it returns 0 there.  The
    simultaneous and joint-implicit matrices are scaled rotations, ρ² = (1 + τ²)^{±1}: the
    rate is ±ln(1 + τ²)/τ, evaluated with ``log1p`` (through the eigenvalues, ρ rounds to 1
    for τ < 1e-8 and the rate to 0, and loses digits for every small τ).

    Examples
    --------
    >>> predicted_rate("simultaneous", 1e-9)   # ≈ τ for small τ
    1e-09
    """
    matrix = update_matrix(scheme, tau)
    if scheme in ("implicit", "alternating") and tau < 2.0:
        return 0.0
    if scheme == "simultaneous":
        return float(np.log1p(tau * tau) / tau)
    if scheme == "joint-implicit":
        return float(-np.log1p(tau * tau) / tau)
    radius = float(np.max(np.abs(np.linalg.eigvals(matrix))))
    return 2.0 * np.log(radius) / tau


@dataclass(frozen=True)
class OscillationStudy:
    r"""Long-time behaviour of :math:`r^2 = |x|^2 + |y - x_r|^2` for each scheme and step.

    Attributes
    ----------
    taus
        The steps.
    t_final
        The horizon of every run.
    measured, predicted
        scheme → array over ``taus`` of the fitted rate of ln r² per unit time and
        :func:`predicted_rate`.
    max_deviation
        scheme → array over ``taus`` of :math:`\max_k |r_k^2/r_0^2 - 1|`.
    paths
        scheme → the path for the largest τ (for figures).
    """

    taus: np.ndarray
    t_final: float
    measured: dict[str, np.ndarray]
    predicted: dict[str, np.ndarray]
    max_deviation: dict[str, np.ndarray]
    paths: dict[str, DualPath]

    def rate_order(self, scheme: str) -> float:
        """Fitted log–log slope of |measured rate| against τ."""
        return fitted_order(self.taus, np.abs(self.measured[scheme]))


def oscillation_study(
    *,
    x_r: ArrayLike = (1.0, -0.5),
    x0: ArrayLike = (0.0, 0.0),
    y0: ArrayLike = (2.0, 0.5),
    taus: ArrayLike = (0.2, 0.1, 0.05, 0.025),
    t_final: float = 50.0,
    schemes: tuple[str, ...] = SCHEMES,
) -> OscillationStudy:
    """Run each scheme on the oscillating game (1)–(2) to ``t_final`` for each τ.

    The rate is the least-squares slope of :math:`\\ln r^2_k` against :math:`k\\tau`.
    """
    game = oscillating_game(x_r)
    target = np.asarray(x_r, dtype=float)
    t_final = as_positive(t_final, "t_final")
    steps = _as_steps(taus)
    measured: dict[str, np.ndarray] = {}
    predicted: dict[str, np.ndarray] = {}
    deviation: dict[str, np.ndarray] = {}
    paths: dict[str, DualPath] = {}
    for scheme in schemes:
        rates, devs = [], []
        for tau in steps:
            n = round(t_final / tau)
            path = simulate(game, x0, y0, tau=float(tau), n_steps=n, scheme=scheme)
            r2 = np.sum(path.x**2, axis=1) + np.sum((path.y - target) ** 2, axis=1)
            rates.append(float(np.polyfit(path.times, np.log(r2), 1)[0]))
            devs.append(float(np.max(np.abs(r2 / r2[0] - 1.0))))
            if tau == steps.max():
                paths[scheme] = path
        measured[scheme] = np.array(rates)
        deviation[scheme] = np.array(devs)
        predicted[scheme] = np.array([predicted_rate(scheme, float(t)) for t in steps])
    return OscillationStudy(steps, t_final, measured, predicted, deviation, paths)


@dataclass(frozen=True)
class ConvergenceStudy:
    """Lemma 1 and convergence to the dual flow (7) on [0, T].

    Attributes
    ----------
    taus
        The steps.
    implicit_vs_explicit
        :math:`\\max_{k\\tau\\le T}|z_k^I - z_k^E|` (implicit (8)–(9) vs alternating (1)).
    implicit_error, explicit_error
        :math:`\\max_{k\\tau\\le T}|z_k - z(k\\tau)|` against the accurate flow.
    """

    taus: np.ndarray
    t_final: float
    implicit_vs_explicit: np.ndarray
    implicit_error: np.ndarray
    explicit_error: np.ndarray

    @property
    def orders(self) -> dict[str, float]:
        """Fitted log–log slopes of the three error columns against τ."""
        return {
            "implicit_vs_explicit": fitted_order(self.taus, self.implicit_vs_explicit),
            "implicit": fitted_order(self.taus, self.implicit_error),
            "explicit": fitted_order(self.taus, self.explicit_error),
        }


def convergence_study(
    game: EuclideanGame,
    x0: ArrayLike,
    y0: ArrayLike,
    *,
    t_final: float,
    taus: ArrayLike,
) -> ConvergenceStudy:
    """Lemma 1 (:math:`|z_N^I - z_N^E| \\le C\\tau`) and both schemes against the flow (7)."""
    t_final = as_positive(t_final, "t_final")
    steps = _as_steps(taus)
    gap, err_i, err_e = [], [], []
    for tau in steps:
        n = round(t_final / tau)
        implicit = simulate(game, x0, y0, tau=float(tau), n_steps=n, scheme="implicit")
        explicit = simulate(game, x0, y0, tau=float(tau), n_steps=n, scheme="alternating")
        exact = dual_flow(game, x0, y0, implicit.times)
        gap.append(float(np.max(np.linalg.norm(implicit.z - explicit.z, axis=1))))
        err_i.append(float(np.max(np.linalg.norm(implicit.z - exact.z, axis=1))))
        err_e.append(float(np.max(np.linalg.norm(explicit.z - exact.z, axis=1))))
    return ConvergenceStudy(steps, t_final, np.array(gap), np.array(err_i), np.array(err_e))


@dataclass(frozen=True)
class EDIDefect:
    r"""The three terms of the left-hand side of (21) at s = T along an interpolant.

    Attributes
    ----------
    upsilon
        :math:`\Upsilon(z, 0, T)` (Remark 1: :math:`\int \nabla_x\mathcal C^x\cdot x' +
        \nabla_y\mathcal C^y\cdot y'\,dt`).
    kinetic
        :math:`\tfrac12\int |x'|^2 + |y'|^2`.
    slope
        :math:`\tfrac12\int |\nabla_1\mathcal C^x|^2 + |\nabla_2\mathcal C^y|^2`.
    cumulative
        ``(n + 1,)`` the left-hand side of (21) at every :math:`s = k\tau`.
    """

    upsilon: float
    kinetic: float
    slope: float
    cumulative: np.ndarray

    @property
    def total(self) -> float:
        """The left-hand side of (21) at s = T (≤ 0 for an EDI flow, 0 for (7))."""
        return self.upsilon + self.kinetic + self.slope


def edi_defect(game: EuclideanGame, path: DualPath, *, interpolant: str = "linear") -> EDIDefect:
    r"""Evaluate the left-hand side of (21) along an interpolant of a discrete path.

    ``interpolant="linear"``: on each step :math:`z(t) = z_k + (t - k\tau)(z_{k+1} -
    z_k)/\tau`; the metric derivative is :math:`|z'| = |z_{k+1} - z_k|/\tau`, the slopes
    (23) are the gradient norms (Euclidean players) and :math:`\Upsilon` is the chain-rule
    integral of Remark 1.  In Euclidean space the sum equals :math:`\tfrac12\int|z' -
    v(z)|^2\,dt \ge 0`, zero exactly for the dual flow (7), so it measures how far the
    interpolant is from an EDI solution.

    ``interpolant="de-giorgi"`` (paths of the implicit scheme only): the variational
    interpolant (28), :math:`\tilde x_r = \mathcal M^x(x_k, y_k, r)`, :math:`\tilde y_r =
    \mathcal M^y(x_{k+1}, y_k, r)`, r ∈ (0, τ]; :math:`\Upsilon` is the sum (18) on the
    division :math:`\{k\tau\}` (the x-variation at :math:`y_k`, the y-variation at
    :math:`x_{k+1}`, as in (26)), the kinetic term :math:`\sum d(z_{k+1}, z_k)^2/(2\tau)`
    and the slope term :math:`\tfrac12\int_0^\tau |\nabla\mathcal C|^2(\tilde z_r)\,dr`.
    De Giorgi's identity for each minimising movement, :math:`\phi(x_\tau) + d^2(x_\tau,
    x)/(2\tau) + \tfrac12\int_0^\tau|\partial\phi|^2(\tilde x_r)\,dr = \phi(x)` (from
    :math:`\tfrac{d}{dr}\min_u[|u-x|^2/(2r) + \phi(u)] = -|\tilde x_r - x|^2/(2r^2)`),
    makes this sum zero up to quadrature and inner-solver tolerance: the discrete
    identity behind Theorem 1.

    The linear interpolant's integrals use 5-point Gauss–Legendre quadrature per step; the
    De Giorgi slope integral doubles its Gauss–Legendre order (5, 10, 20, …, 80) until two
    successive rules agree to 1e-13 relative.
    """
    if path.tau is None or path.x.shape[0] < 2:
        msg = "path must be a discrete path (from simulate) with at least one step"
        raise InvalidInputError(msg)
    if interpolant == "de-giorgi":
        if path.scheme != "implicit":
            msg = f"the De Giorgi interpolant (28) needs an implicit path; got {path.scheme!r}"
            raise InvalidInputError(msg)
        return _edi_de_giorgi(game, path)
    if interpolant != "linear":
        msg = f"interpolant must be 'linear' or 'de-giorgi'; got interpolant={interpolant!r}"
        raise InvalidInputError(msg)
    tau = path.tau
    dx = game.dim_x
    z = path.z
    dz = np.diff(z, axis=0) / tau
    upsilon = np.zeros(dz.shape[0])
    slope = np.zeros(dz.shape[0])
    for node, weight in zip(_NODES, _WEIGHTS, strict=True):
        for k in range(dz.shape[0]):
            point = z[k] + node * tau * dz[k]
            gx = game.gradient_x(point[:dx], point[dx:])
            gy = game.gradient_y(point[:dx], point[dx:])
            upsilon[k] += weight * tau * (gx @ dz[k, :dx] + gy @ dz[k, dx:])
            slope[k] += weight * tau * 0.5 * (gx @ gx + gy @ gy)
    kinetic = 0.5 * tau * np.sum(dz**2, axis=1)
    cumulative = np.concatenate([[0.0], np.cumsum(upsilon + kinetic + slope)])
    return EDIDefect(
        upsilon=float(upsilon.sum()),
        kinetic=float(kinetic.sum()),
        slope=float(slope.sum()),
        cumulative=cumulative,
    )


#: Gauss–Legendre orders tried in turn for the De Giorgi slope integral of one step.
_DE_GIORGI_ORDERS = (5, 10, 20, 40, 80)


def _de_giorgi_slope(game, x, y, x_new, tau, tol) -> float:
    r"""½∫_0^τ |∇_x\mathcal C^x(	ilde x_r, y)|² + |∇_y\mathcal C^y(x_{k+1}, 	ilde y_r)|² dr.

    Gauss–Legendre with 5, 10, 20, … points until two successive rules agree to
    1e-13 (1 + value): the integrand is analytic in r, but its analyticity radius shrinks
    as 1 + r∂²𝒞 nears 0 inside the step, and the 5-point rule alone then errs by up to
    1e-2 (the stress campaign of issue 16 found 5e-3 at τ·max(−∂²𝒞) ≈ 0.7).
    """
    previous = None
    value = 0.0
    for order in _DE_GIORGI_ORDERS:
        nodes, weights = np.polynomial.legendre.leggauss(order)
        value = 0.0
        for node, weight in zip(0.5 * (nodes + 1.0), 0.5 * weights, strict=True):
            r = node * tau
            gx = game.gradient_x(proximal_x(game, x, y, r, tol=tol), y)
            gy = game.gradient_y(x_new, proximal_y(game, x_new, y, r, tol=tol))
            value += weight * tau * 0.5 * (gx @ gx + gy @ gy)
        if previous is not None and abs(value - previous) <= 1e-13 * (1.0 + abs(value)):
            break
        previous = value
    return value


def _edi_de_giorgi(game: EuclideanGame, path: DualPath) -> EDIDefect:
    tau = path.tau
    tol = float(path.info.get("tol", 1e-12))
    steps = path.x.shape[0] - 1
    upsilon = np.zeros(steps)
    slope = np.zeros(steps)
    for k in range(steps):
        x, y = path.x[k], path.y[k]
        x_new, y_new = path.x[k + 1], path.y[k + 1]
        upsilon[k] = (
            game.loss_x(x_new, y)
            - game.loss_x(x, y)
            + game.loss_y(x_new, y_new)
            - game.loss_y(x_new, y)
        )
        slope[k] = _de_giorgi_slope(game, x, y, x_new, tau, tol)
    kinetic = 0.5 / tau * np.sum(np.diff(path.z, axis=0) ** 2, axis=1)
    cumulative = np.concatenate([[0.0], np.cumsum(upsilon + kinetic + slope)])
    return EDIDefect(
        upsilon=float(upsilon.sum()),
        kinetic=float(kinetic.sum()),
        slope=float(slope.sum()),
        cumulative=cumulative,
    )
