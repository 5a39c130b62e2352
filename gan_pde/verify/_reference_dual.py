"""Independent references for the checks of paper 003 (Turinici, dual metric flows).

Nothing here imports :mod:`gan_pde.dual`: every formula is written again from the paper and
from its derivation below, so that the checks in :mod:`gan_pde.verify.checks_dual` compare
the package with something that does not share its code.

* Bilinear games :math:`\\mathcal C^x = -x^\\top B(y - y_r)`, :math:`\\mathcal C^y =
  -\\mathcal C^x` (the oscillating example (1)-(2) is B = I): with the SVD
  :math:`B = U S V^\\top`, p = Uᵀx and q = Vᵀ(y - y_r) split into independent pairs
  :math:`(p_i, q_i)` that each scheme advances by a 2x2 matrix of h = τ s_i; its powers
  are written in closed form (rotations, scaled rotations and the Chebyshev formula for
  the det-1 alternating matrix), and the flow (7) is the exact rotation of angle s_i t.
* The tanh game :math:`\\mathcal C^x = \\sum -x_i\\tanh(y_i - x_{r,i}) + a\\log\\cosh x_i`,
  :math:`\\mathcal C^y = \\sum x_i\\tanh(y_i - x_{r,i}) + a\\log\\cosh(y_i - x_{r,i})`: its
  velocity and first derivatives, the flow (7) by :func:`scipy.integrate.solve_ivp`, and
  the *leading error constants* of the schemes from their Taylor expansions (below).
* The particle game of :mod:`gan_pde.dual.wasserstein`: tanh features, the collapse speed
  by least squares, one implicit step (8)-(9) by a brute-force global minimisation, and
  the largest :math:`-\\ell''` by a fine scan and a bounded scalar maximisation.

Leading error constants (v = (f, g) the velocity of (7), subscripts partial derivatives,
A = Dv).  A one-step scheme :math:`z_{k+1} = z_k + \\tau v + \\tau^2\\Psi + O(\\tau^3)`
has the local error :math:`\\tau^2(\\Psi - \\tfrac12 A v)` against the flow
:math:`z(t+\\tau) = z + \\tau v + \\tfrac{\\tau^2}{2}Av + O(\\tau^3)`, so its global error
is :math:`\\tau E(t) + O(\\tau^2)` with :math:`E' = AE + \\Psi - \\tfrac12 Av`, E(0) = 0.
For the alternating scheme (1), :math:`y_{k+1} = y + \\tau g(x_{k+1}, y)` gives
:math:`\\Psi^E = (0, g_x f)`; for the implicit scheme (8)-(9), :math:`x_{k+1} = x + \\tau
f(x_{k+1}, y)` and :math:`y_{k+1} = y + \\tau g(x_{k+1}, y_{k+1})` give
:math:`\\Psi^I = (f_x f, g_x f + g_y g)`.  Along the piecewise-linear interpolant of
(8)-(9), :math:`z' - v(z(k\\tau + s)) = \\tau\\Psi^I - sAv + O(\\tau^2)` on each step, so the
left-hand side of (21), :math:`\\tfrac12\\int|z' - v|^2`, is :math:`\\tau^2 K + O(\\tau^3)`
with :math:`K = \\tfrac12\\int_0^T |\\Psi^I|^2 - \\Psi^I\\cdot Av + \\tfrac13|Av|^2\\,dt`
along the flow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.integrate
import scipy.optimize

EPS = float(np.finfo(float).eps)

# ---------------------------------------------------------------- bilinear games (1)-(2)


def _pairs(coupling: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Full SVD B = U S Vᵀ: (U, singular values, V)."""
    u, s, vt = np.linalg.svd(np.asarray(coupling, dtype=float))
    return u, s, vt.T


def _pair_power(scheme: str, h: float, k: np.ndarray) -> np.ndarray:
    """``(len(k), 2, 2)``: the k-th power of the scheme's 2x2 matrix of h = τ s.

    * ``"simultaneous"``: [[1, h], [-h, 1]] = √(1+h²) R(φ), φ = atan h;
    * ``"joint-implicit"``: [[1, -h], [h, 1]]⁻¹ = R(φ)/√(1+h²);
    * ``"implicit"``/``"alternating"``: M = [[1, h], [-h, 1 - h²]], det 1, trace 2 - h²:
      eigenvalues e^{±iθ} with sin(θ/2) = h/2 (h < 2), and by Cayley–Hamilton
      Mᵏ = (sin(kθ) M - sin((k-1)θ) I)/sin θ;

    with R(φ) = [[cos φ, sin φ], [-sin φ, cos φ]].
    """
    k = np.asarray(k, dtype=float)
    if scheme in ("simultaneous", "joint-implicit"):
        phi = np.arctan(h)
        scale = np.exp((0.5 if scheme == "simultaneous" else -0.5) * k * np.log1p(h * h))
        c, s = np.cos(k * phi), np.sin(k * phi)
        return scale[:, None, None] * np.stack([np.stack([c, s], -1), np.stack([-s, c], -1)], -2)
    if scheme in ("implicit", "alternating"):
        if not h < 2.0:
            msg = f"the closed form needs h = tau s < 2; got {h}"
            raise ValueError(msg)
        theta = 2.0 * np.arcsin(0.5 * h)
        m = np.array([[1.0, h], [-h, 1.0 - h * h]])
        a = np.sin(k * theta) / np.sin(theta)
        b = np.sin((k - 1.0) * theta) / np.sin(theta)
        return a[:, None, None] * m - b[:, None, None] * np.eye(2)
    msg = f"unknown scheme {scheme!r}"
    raise ValueError(msg)


def bilinear_path(
    coupling: np.ndarray,
    target: np.ndarray,
    x0: np.ndarray,
    y0: np.ndarray,
    tau: float,
    n_steps: int,
    scheme: str,
) -> np.ndarray:
    """``(n + 1, dx + dy)``: the exact (closed-form) discrete path of a bilinear game.

    Components of p = Uᵀx and q = Vᵀw (w = y - y_r) beyond the rank of B do not move.
    """
    u, s, v = _pairs(coupling)
    p0 = u.T @ np.asarray(x0, dtype=float)
    q0 = v.T @ (np.asarray(y0, dtype=float) - target)
    k = np.arange(n_steps + 1)
    p = np.tile(p0, (k.size, 1))
    q = np.tile(q0, (k.size, 1))
    for i, sigma in enumerate(s):
        power = _pair_power(scheme, tau * sigma, k)
        p[:, i] = power[:, 0, 0] * p0[i] + power[:, 0, 1] * q0[i]
        q[:, i] = power[:, 1, 0] * p0[i] + power[:, 1, 1] * q0[i]
    return np.hstack([p @ u.T, q @ v.T + target])


def bilinear_flow(
    coupling: np.ndarray, target: np.ndarray, x0: np.ndarray, y0: np.ndarray, times: np.ndarray
) -> np.ndarray:
    """``(len(times), dx + dy)``: the exact flow (7) x' = Bw, w' = -Bᵀx: each pair turns by
    the angle s_i t, (p, q)(t) = R(s_i t)(p, q)(0)."""
    u, s, v = _pairs(coupling)
    t = np.asarray(times, dtype=float)
    p0 = u.T @ np.asarray(x0, dtype=float)
    q0 = v.T @ (np.asarray(y0, dtype=float) - target)
    p = np.tile(p0, (t.size, 1))
    q = np.tile(q0, (t.size, 1))
    for i, sigma in enumerate(s):
        c, sn = np.cos(sigma * t), np.sin(sigma * t)
        p[:, i] = c * p0[i] + sn * q0[i]
        q[:, i] = -sn * p0[i] + c * q0[i]
    return np.hstack([p @ u.T, q @ v.T + target])


def amplification(scheme: str, h: np.ndarray) -> float:
    """Bound on ‖Mʲ‖ relative to the growth of the state, for the round-off estimate.

    The alternating matrix conserves Q = [[1, h/2], [h/2, 1]] (MᵀQM = Q), whose condition
    number is (1 + h/2)/(1 - h/2): ‖Mʲ‖ ≤ √((1 + h/2)/(1 - h/2)).  The other two are scaled
    rotations: an error grows exactly as the state does (factor 1 relative to it).
    """
    h = np.asarray(h, dtype=float)
    if scheme in ("implicit", "alternating"):
        return float(np.max(np.sqrt((1.0 + h / 2.0) / (1.0 - h / 2.0))))
    return 1.0


def rate(scheme: str, tau: float) -> float:
    """Long-time rate of ln r² per unit time of the oscillating game (B = I): ±ln(1+τ²)/τ
    (|λ|² = (1 + τ²)^{±1} of the scaled rotations), 0 for the det-1 matrix of (8)-(9) = (1)."""
    if scheme == "simultaneous":
        return float(np.log1p(tau * tau) / tau)
    if scheme == "joint-implicit":
        return float(-np.log1p(tau * tau) / tau)
    return 0.0


def slope_weights(times: np.ndarray) -> np.ndarray:
    """w with Σ w_k f_k the least-squares slope of f against t (Σ|w| bounds its error)."""
    t = np.asarray(times, dtype=float)
    c = t - t.mean()
    return c / np.sum(c * c)


# ---------------------------------------------------------------------- the tanh game


@dataclass(frozen=True)
class TanhGame:
    """The tanh game of :func:`gan_pde.dual.tanh_game`, written again (state z = (x, y))."""

    target: float
    damping: float

    def parts(self, z: np.ndarray) -> tuple[float, ...]:
        """(f, g, f_x, f_y, g_x, g_y) at z for one coordinate pair (dim 1)."""
        x, y = float(z[0]), float(z[1])
        a = self.damping
        t = np.tanh(y - self.target)
        sech2 = 1.0 - t * t
        tx = np.tanh(x)
        f = t - a * tx
        g = -x * sech2 - a * t
        return f, g, -a * (1.0 - tx * tx), sech2, -sech2, (2.0 * x * t - a) * sech2

    def velocity(self, z: np.ndarray) -> np.ndarray:
        """(x', y') of the dual flow (7): (tanh(y - x_r) - a tanh x, -x sech²(y - x_r)
        - a tanh(y - x_r)), vectorised over the last axis of ``z`` (shape (2, ...))."""
        x, y = z[0], z[1]
        t = np.tanh(y - self.target)
        return np.array([t - self.damping * np.tanh(x), -x * (1.0 - t * t) - self.damping * t])

    def losses(self, z: np.ndarray) -> tuple[float, float]:
        """(C^x, C^y) at z = (x, y): (-x tanh u + a log cosh x, x tanh u + a log cosh u),
        u = y - x_r."""
        x, y = float(z[0]), float(z[1])
        u = y - self.target

        def logcosh(v: float) -> float:
            return float(np.logaddexp(v, -v) - np.log(2.0))

        return (
            -x * np.tanh(u) + self.damping * logcosh(x),
            x * np.tanh(u) + self.damping * logcosh(u),
        )

    def _expansion(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        f, g, fx, fy, gx, gy = self.parts(z)
        a = np.array([[fx, fy], [gx, gy]])
        v = np.array([f, g])
        psi_i = np.array([fx * f, gx * f + gy * g])
        psi_e = np.array([0.0, gx * f])
        return a, a @ v, psi_i, psi_e

    def _augmented(self, _t: float, w: np.ndarray) -> np.ndarray:
        z = w[:2]
        a, av, psi_i, psi_e = self._expansion(z)
        v = self.velocity(z)
        quad = psi_i @ psi_i - psi_i @ av + av @ av / 3.0
        return np.concatenate(
            [v, a @ w[2:4] + psi_i - 0.5 * av, a @ w[4:6] + psi_e - 0.5 * av, [0.5 * quad]]
        )

    def reference(self, z0: np.ndarray, times: np.ndarray, rtol: float = 1e-13) -> TanhReference:
        """The flow (7) and the error constants on ``times`` (one DOP853 solve of the
        augmented system (z, E^I, E^E, K), rtol ``rtol``, atol rtol/10)."""
        t = np.asarray(times, dtype=float)
        start = np.concatenate([np.asarray(z0, dtype=float), np.zeros(5)])
        sol = scipy.integrate.solve_ivp(
            self._augmented,
            (0.0, float(t[-1])),
            start,
            method="DOP853",
            t_eval=t,
            rtol=rtol,
            atol=0.1 * rtol,
        )
        if not sol.success:  # pragma: no cover - a smooth 7-dimensional system
            raise RuntimeError(sol.message)
        w = sol.y.T
        return TanhReference(
            times=t,
            z=w[:, :2],
            error_implicit=w[:, 2:4],
            error_alternating=w[:, 4:6],
            edi_constant=float(w[-1, 6]),
        )

    def dop853_steps(self, z0: np.ndarray, t_final: float, rtol: float) -> int:
        """Steps DOP853 takes on the flow (7) at rtol = atol = ``rtol`` (for the error bound
        of another DOP853 solve of the same system at that tolerance)."""
        sol = scipy.integrate.solve_ivp(
            lambda _t, z: self.velocity(z),
            (0.0, t_final),
            np.asarray(z0, dtype=float),
            method="DOP853",
            rtol=rtol,
            atol=rtol,
        )
        return int(sol.t.size - 1)

    def linear_interpolant_defect(self, z: np.ndarray, tau: float, nodes: int = 8) -> float:
        """½∫|z' - v(z)|² dt along the piecewise-linear interpolant of the path ``z``
        ((n + 1, 2)), Gauss–Legendre with ``nodes`` points per step: the left-hand side of
        (21) in Euclidean space (Υ = -∫v·z', so Υ + ½∫|z'|² + ½∫|v|² = ½∫|z' - v|²)."""
        gl, weights = np.polynomial.legendre.leggauss(nodes)
        gl, weights = 0.5 * (gl + 1.0), 0.5 * weights
        slope = np.diff(z, axis=0) / tau  # (n, 2)
        total = 0.0
        for node, weight in zip(gl, weights, strict=True):
            points = z[:-1] + node * tau * slope
            residual = slope - self.velocity(points.T).T
            total += weight * tau * 0.5 * float(np.sum(residual * residual))
        return total


@dataclass(frozen=True)
class TanhReference:
    """The flow (7) of the tanh game on a time grid and the leading error constants."""

    times: np.ndarray
    z: np.ndarray
    error_implicit: np.ndarray
    error_alternating: np.ndarray
    edi_constant: float


def richardson_constant(values: list[np.ndarray], ratio: float = 2.0) -> tuple[np.ndarray, float]:
    """From c(τ), c(τ/2), c(τ/4) = E + Fτ + Gτ² + …: the extrapolation r = 2c(τ/4) - c(τ/2)
    (= E + O(τ²)) and the estimate |r - r'|/3 of its error (r' = 2c(τ/2) - c(τ))."""
    c1, c2, c3 = (np.asarray(v, dtype=float) for v in values)
    r_coarse = ratio * c2 - c1
    r_fine = ratio * c3 - c2
    return r_fine, float(np.linalg.norm(r_fine - r_coarse) / (ratio * ratio - 1.0))


# -------------------------------------------------------------------- the particle game


@dataclass(frozen=True)
class Features:
    """The discriminator ℓ_y(x) = Σ_j y_j s tanh((x - c_j)/s) (no linear feature)."""

    centers: np.ndarray
    width: float

    def phi(self, x: np.ndarray, order: int = 0) -> np.ndarray:
        """φ_j^{(order)}(x), shape x.shape + (J,), for order 0..4 (φ^{(n)} = s^{1-n}
        tanh^{(n)}((x - c)/s))."""
        u = (np.asarray(x, dtype=float)[..., None] - self.centers) / self.width
        t = np.tanh(u)
        q = 1.0 - t * t  # tanh' = sech²
        derivative = {
            0: t,
            1: q,
            2: -2.0 * t * q,
            3: q * (6.0 * t * t - 2.0),
            4: q * t * (16.0 - 24.0 * t * t),
        }[order]
        return self.width ** (1 - order) * derivative

    def gap(self, particles: np.ndarray, target: np.ndarray) -> np.ndarray:
        """g(μ) = E_μ φ - E_{μ_r} φ."""
        return self.phi(particles).mean(axis=0) - self.phi(target).mean(axis=0)


def collapse_speed(features: Features, target: np.ndarray, point: float, decay: float):
    """min_y √(|ℓ_y'(p)|² + |g(δ_p) - λy|²) by linear least squares: the rows aᵀ (a = φ'(p))
    and λI against the right-hand side (0, g); returns (speed, condition number)."""
    p = np.array([float(point)])
    a = features.phi(p, 1)[0]
    g = features.gap(p, target)
    matrix = np.vstack([a[None, :], decay * np.eye(a.size)])
    rhs = np.concatenate([[0.0], g])
    y, _, _, sv = np.linalg.lstsq(matrix, rhs, rcond=None)
    residual = matrix @ y - rhs
    positive = sv[sv > sv[0] * 1e-14]
    return float(np.linalg.norm(residual)), float(positive[0] / positive[-1])


def proximal_global(
    features: Features, x: np.ndarray, y: np.ndarray, tau: float, points: int = 4001
) -> tuple[np.ndarray, float]:
    """argmin_z |z - x_i|²/(2τ) + ℓ_y(z) for each x_i, by brute force: every local minimum
    of a scan of [x_i - τΣ|y|, x_i + τΣ|y|] (``points`` points) is polished by Brent's
    method on its two neighbours and the best value is kept.  Returns the minimisers and
    the smallest gap between the best and the second-best local minimum values (a near
    tie would make the global minimiser ill-conditioned)."""
    reach = tau * float(np.sum(np.abs(y)))
    result = np.empty_like(x)
    tie = np.inf
    for i, xi in enumerate(np.asarray(x, dtype=float)):
        if reach == 0.0:
            result[i] = xi
            continue
        grid = np.linspace(xi - reach, xi + reach, points)

        def objective(z: float, xi: float = xi) -> float:
            return (z - xi) ** 2 / (2.0 * tau) + float((features.phi(np.array([z])) @ y)[0])

        values = (grid - xi) ** 2 / (2.0 * tau) + features.phi(grid) @ y
        interior = np.flatnonzero((values[1:-1] <= values[:-2]) & (values[1:-1] <= values[2:]))
        candidates = [0, grid.size - 1, *(interior + 1).tolist()]
        found = []
        for j in candidates:
            lo, hi = grid[max(j - 1, 0)], grid[min(j + 1, grid.size - 1)]
            opt = scipy.optimize.minimize_scalar(
                objective, bounds=(lo, hi), method="bounded", options={"xatol": 1e-15}
            )
            found.append((float(opt.fun), float(opt.x)))
        found.sort()
        result[i] = found[0][1]
        if len(found) > 1 and abs(found[1][1] - found[0][1]) > 4.0 * (grid[1] - grid[0]):
            tie = min(tie, found[1][0] - found[0][0])
    return result, tie


def newton_polish(features: Features, x: np.ndarray, y: np.ndarray, tau: float, z: np.ndarray):
    """Newton on (z - x)/τ + ℓ'(z) = 0 from ``z`` (a few steps: Brent's bracketing stops at
    ~√eps of the minimiser's value, Newton then reaches round-off); returns z and
    1 + τℓ''(z) (the derivative of the optimality map, > 0 at a strict minimum)."""
    for _ in range(4):
        residual = (z - x) / tau + features.phi(z, 1) @ y
        curvature = 1.0 / tau + features.phi(z, 2) @ y
        z = z - residual / curvature
    return z, tau * (1.0 / tau + features.phi(z, 2) @ y)


def max_negative_curvature(
    features: Features, y: np.ndarray, lower: float, upper: float, points: int = 2001
) -> float:
    """max of -ℓ_y'' on [lower, upper]: a scan then a bounded scalar maximisation around the
    best point (and the end points)."""
    grid = np.linspace(lower, upper, points)
    values = -(features.phi(grid, 2) @ y)
    j = int(np.argmax(values))
    lo, hi = grid[max(j - 1, 0)], grid[min(j + 1, grid.size - 1)]
    opt = scipy.optimize.minimize_scalar(
        lambda z: float((features.phi(np.array([z]), 2) @ y)[0]),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-13},
    )
    return float(max(values[j], -opt.fun))


def fourth_derivative_bound(features: Features, y: np.ndarray) -> float:
    """max |ℓ_y''''| ≤ Σ_j |y_j| s⁻³ max|tanh''''| (max|tanh''''| by a fine scan)."""
    u = np.linspace(0.0, 4.0, 40001)
    t = np.tanh(u)
    peak = float(np.max(np.abs((1.0 - t * t) * t * (16.0 - 24.0 * t * t))))
    return float(np.sum(np.abs(y))) * peak / features.width**3
