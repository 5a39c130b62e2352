r"""Independent references for the checks of paper 001 (Delgadino et al.): ``meanfield.*``.

Nothing here imports :mod:`gan_pde.meanfield`: every quantity is re-derived from the paper's
equations and computed with numpy/scipy (closed forms, :func:`scipy.integrate.quad`,
:func:`scipy.optimize.brentq`, :func:`scipy.integrate.solve_ivp` on reduced ODEs), so a
check comparing the package with these numbers compares two separate computations.

**Toy of Section 3.1.**  :math:`\dot g = \Phi'(g)\,\omega`,
:math:`\dot\omega = -\tfrac{\gamma_c}{2}\tanh\tfrac g2` with :math:`\Phi` the logistic CDF,
so :math:`E = 2\cosh g + \omega^2/\gamma_c` is conserved on free arcs.  On the level set E,
:math:`\omega^2 = \gamma_c(E - 2\cosh g)` and :math:`dt = 4\cosh^2(g/2)\,dg/\omega`, hence the
period :math:`T(E) = \frac{8}{\sqrt{\gamma_c}}\int_0^{g_m}
\frac{\cosh^2(g/2)\,dg}{\sqrt{\sinh\frac{g_m+g}2\sinh\frac{g_m-g}2}}`,
:math:`\cosh g_m = E/2` (four equal quarters by the symmetries
:math:`(g,\omega,t)\mapsto(-g,-\omega,t)` and :math:`(g,-\omega,-t)`).  A start with
:math:`E_0 > E^* = 2 + w^2/\gamma_c` (wall at :math:`|\omega| = w`) first meets the wall at
:math:`\cosh g_h = (E_0 - w^2/\gamma_c)/2`, slides with :math:`\dot g = \pm w\,\Phi'(g)`, i.e.
:math:`dt = 2(1 + \cosh g)\,dg/w`, for the time :math:`(2|g_h| + 2\sinh|g_h|)/w` until
:math:`g = 0`, and then stays on :math:`E^*`, whose amplitude is
:math:`\operatorname{arccosh}(1 + w^2/(2\gamma_c))`.

**Mean-field toy (blow-up).**  Every :math:`\omega`-particle moves with
:math:`v = -\tfrac{\gamma_c}{2}\tanh\tfrac g2`; for :math:`g_0 < 0` and
:math:`\operatorname{supp}\nu_{in} = [a, b]` they translate upwards by :math:`s(t)`,
clipped at 1, and :math:`\dot g = \Phi'(g) M(s)` with
:math:`M(s) = \mathbb E\min(\omega + s, 1)`.  Since
:math:`\tfrac{d}{dt}2\cosh g = \tanh\tfrac g2\,M = -\tfrac2{\gamma_c}M\dot s`,

.. math::

    \cosh g(s) = \cosh g_0 - \frac{1}{\gamma_c}\int_0^s M, \qquad
    t(s) = \int_0^s \frac{2\,d\sigma}{\gamma_c\tanh(|g(\sigma)|/2)},

closed forms up to one quadrature; ν is a Dirac at :math:`t^* = t(1 - a)` and the wall mass
before is :math:`1 - F(1 - s(t))` (F the CDF of :math:`\nu_{in}`).  After :math:`t^*` the
Dirac slides with :math:`\dot g = \Phi'(g)` until :math:`g = 0`.

**Particles (Section 2.2, Theorem 7).**  With only the outer weights free (β = b = 1,
γ = c = 0), :math:`G(z) = \bar\alpha\sigma(z)`, :math:`D(x) = \bar a\sigma(x)`: every neuron's
velocity depends on the means only, all neurons of a network translate rigidly, and the PDE
(7) reduces to the ODE of the means
:math:`\dot{\bar\alpha} = -\bar a\,\mathbb E_z[\sigma'(\bar\alpha\sigma(z))\sigma(z)]`,
:math:`\dot{\bar a} = \gamma_c(\mathbb E_z\sigma(\bar\alpha\sigma(z)) - \mathbb E_P\sigma(x))`
(no particle at the wall).  Single-sample SGD adds to each step of size :math:`\Delta t = h/N`
a zero-mean error :math:`\Delta t\,\xi` with covariance :math:`\Delta t^2\Sigma`; linearised,
the SGD–ODE deviation has covariance :math:`C_{k+1} = A_k C_k A_k^T + \Delta t^2\Sigma_k`,
:math:`A_k = I + \Delta t J_k`, so :math:`\mathbb E|\delta|^2 = \operatorname{tr} C_n
= O(h/N)` (Theorem 7, (12)).  For 1D laws the empirical initial law adds
:math:`\mathbb E W_2^2(\mu_N, \mu) = J_2/N + O(N^{-3})` for a uniform law
(:math:`J_2 = \int F(1-F)/f = w^2/6`) and the random initial means shift the flow by
:math:`\Phi\varepsilon`, which gives (derived in :func:`particle_d2_reference`)

.. math::

    N\,\mathbb E d_2^2 \to \sum(J_2 - \operatorname{var}) + \operatorname{tr}(\Phi\Sigma_0\Phi^T)
    + N\operatorname{tr} C_n .
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.polynomial import Polynomial
from scipy.integrate import quad, solve_ivp
from scipy.optimize import brentq

EPS = float(np.finfo(float).eps)

# ------------------------------------------------------------------------ toy of Section 3.1


def logistic(u: np.ndarray | float) -> np.ndarray | float:
    """The logistic function 1/(1 + e^{-u}), written as ½(1 + tanh(u/2))."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(u, dtype=float)))


def toy_energy(g: np.ndarray | float, omega: np.ndarray | float, gamma_c: float) -> np.ndarray:
    """:math:`E_{\\gamma_c} = 2\\cosh g + \\omega^2/\\gamma_c` (paper 001, Section 3.1)."""
    return 2.0 * np.cosh(np.asarray(g, dtype=float)) + np.asarray(omega, dtype=float) ** 2 / gamma_c


def toy_energy_gradient_norm(g: np.ndarray, omega: np.ndarray, gamma_c: float) -> np.ndarray:
    """:math:`|\\nabla E| = |(2\\sinh g, 2\\omega/\\gamma_c)|`."""
    return np.hypot(2.0 * np.sinh(g), 2.0 * np.asarray(omega) / gamma_c)


def toy_speed(g: np.ndarray, omega: np.ndarray, gamma_c: float) -> np.ndarray:
    """|free vector field| :math:`|(\\omega/(4\\cosh^2(g/2)), -\\tfrac{\\gamma_c}2\\tanh(g/2))|`."""
    g = np.asarray(g, dtype=float)
    return np.hypot(
        np.asarray(omega) / (4.0 * np.cosh(0.5 * g) ** 2), 0.5 * gamma_c * np.tanh(0.5 * g)
    )


def toy_amplitude(energy: float) -> float:
    """Largest |g| on the level set E: :math:`\\operatorname{arccosh}(E/2)`."""
    return math.acosh(0.5 * energy)


def toy_limit_amplitude(gamma_c: float, wall: float = 1.0) -> float:
    """Amplitude of g on the tangential level set :math:`E^* = 2 + w^2/\\gamma_c`."""
    return math.acosh(1.0 + 0.5 * wall * wall / gamma_c)


def toy_period(gamma_c: float, energy: float) -> float:
    """Period of the free orbit on the level set E (2 < E, never at the wall), by quadrature.

    With :math:`g = g_m\\sin\\varphi` and :math:`B = (g_m - g)/2 = g_m\\cos^2\\varphi /
    (2(1 + \\sin\\varphi))` the integrand
    :math:`\\cosh^2(g/2)\\sqrt{2g_m(1+\\sin\\varphi)}/\\sqrt{\\sinh A\\,\\operatorname{sinhc}B}`
    is smooth on :math:`[0, \\pi/2]` (no endpoint singularity, no cancellation);
    small amplitudes give :math:`8\\pi/\\sqrt{\\gamma_c}`.
    """
    gm = toy_amplitude(energy)

    def integrand(phi: float) -> float:
        sin = math.sin(phi)
        g = gm * sin
        a = 0.5 * (gm + g)
        b = gm * math.cos(phi) ** 2 / (2.0 * (1.0 + sin))
        sinhc = math.sinh(b) / b if b > 1e-8 else 1.0 + b * b / 6.0
        return math.cosh(0.5 * g) ** 2 * math.sqrt(2.0 * gm * (1.0 + sin) / (math.sinh(a) * sinhc))

    value, _ = quad(integrand, 0.0, 0.5 * math.pi, epsabs=0.0, epsrel=1e-13, limit=200)
    return 8.0 / math.sqrt(gamma_c) * value


def toy_period_derivative(gamma_c: float, energy: float) -> float:
    """dT/dE by a central difference of :func:`toy_period` (for error propagation only)."""
    step = 1e-5 * (energy - 2.0)
    return (toy_period(gamma_c, energy + step) - toy_period(gamma_c, energy - step)) / (2 * step)


def toy_first_hit(gamma_c: float, energy: float, wall: float = 1.0) -> float:
    """|g| where the level set E meets :math:`|\\omega| = w`: arccosh((E − w²/γ_c)/2)."""
    return math.acosh(0.5 * (energy - wall * wall / gamma_c))


def toy_time_to_hit(gamma_c: float, g0: float, omega0: float, wall: float = 1.0) -> float:
    """Time from (g0 > 0, omega0) on its free arc to omega = -w, by quadrature.

    For g > 0 on the whole arc (true when E0 - w^2/gamma_c > 2) omega decreases
    monotonically, :math:`dt = d\\omega / (-\\tfrac{\\gamma_c}2\\tanh(g/2))`, with
    :math:`g(\\omega) = \\operatorname{arccosh}((E_0 - \\omega^2/\\gamma_c)/2)`.
    """
    energy = float(toy_energy(g0, omega0, gamma_c))
    if g0 <= 0 or energy - wall * wall / gamma_c <= 2.0:
        msg = "toy_time_to_hit needs g0 > 0 and a level set that meets the wall"
        raise ValueError(msg)

    def integrand(omega: float) -> float:
        g = math.acosh(0.5 * (energy - omega * omega / gamma_c))
        return 2.0 / (gamma_c * math.tanh(0.5 * g))

    value, _ = quad(integrand, -wall, omega0, epsabs=0.0, epsrel=1e-13, limit=200)
    return value


def toy_slide_time(g_hit: float, wall: float = 1.0) -> float:
    """Time to slide on :math:`|\\omega| = w` from :math:`|g| = g_h` to g = 0:
    :math:`\\int_0^{g_h} 4\\cosh^2(g/2)/w\\,dg = (2g_h + 2\\sinh g_h)/w`."""
    g_hit = abs(g_hit)
    return (2.0 * g_hit + 2.0 * math.sinh(g_hit)) / wall


# -------------------------------------------------------- error bounds of an ODE trajectory


def local_tolerances(states: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    """Euclidean size of the local error an adaptive step at each sample may leave.

    ``states`` has shape (dimension, samples); a solve_ivp step is accepted when the RMS of
    err_i / (atol + rtol |y_i|) is at most 1, so the Euclidean error is at most
    sqrt(dimension) × max_i (atol + rtol |y_i|).
    """
    states = np.asarray(states, dtype=float)
    return math.sqrt(states.shape[0]) * (atol + rtol * np.max(np.abs(states), axis=0))


# ------------------------------------------------------------- mean-field toy (blow-up)


@dataclass(frozen=True)
class PolynomialLaw:
    """A law on [a, b] with density :math:`\\propto(1 - y^2)^p`, :math:`y = (2x - a - b)/(b - a)`,
    as an exact numpy polynomial in x (CDF and partial moments by exact antiderivatives)."""

    a: float
    b: float
    power: int

    @cached_property
    def density(self) -> Polynomial:
        y = Polynomial([-(self.a + self.b) / (self.b - self.a), 2.0 / (self.b - self.a)])
        q = (1.0 - y * y) ** self.power
        antiderivative = q.integ()
        return q / (antiderivative(self.b) - antiderivative(self.a))

    def max_density(self) -> float:
        """The density's maximum, at the centre."""
        return float(self.density(0.5 * (self.a + self.b)))

    def cdf(self, x: float) -> float:
        if x <= self.a:
            return 0.0
        if x >= self.b:
            return 1.0
        return float(self._antiderivatives[0](x) - self._antiderivatives[0](self.a))

    @cached_property
    def _antiderivatives(self) -> tuple[Polynomial, Polynomial, Polynomial]:
        """Antiderivatives of x^k times the density, k = 0, 1, 2."""
        x = Polynomial([0.0, 1.0])
        return tuple((x**k * self.density).integ() for k in range(3))

    def upper_moment(self, c: float, k: int) -> float:
        """:math:`\\int (x - c)_+^k\\,d\\nu`."""
        lo = max(c, self.a)
        if lo >= self.b:
            return 0.0
        # (x - c)^k expanded: k <= 2, from the antiderivatives of x^j times the density
        coefficients = {1: (-c, 1.0), 2: (c * c, -2.0 * c, 1.0)}[k]
        return float(
            sum(
                coef * (self._antiderivatives[j](self.b) - self._antiderivatives[j](lo))
                for j, coef in enumerate(coefficients)
            )
        )

    def mean(self) -> float:
        """:math:`\\int x\\,d\\nu`."""
        return float(self._antiderivatives[1](self.b) - self._antiderivatives[1](self.a))


@dataclass(frozen=True)
class MeanFieldToyReference:
    """Closed-form characteristics of the mean-field toy for g0 < 0 (particles moving up).

    Attributes: the law, gamma_c, g0; ``s_star = 1 - a`` (translation at concentration),
    ``t_star`` (concentration time), ``g_star`` (g then) and ``t_release`` (when the Dirac
    reaches g = 0 and leaves the wall; the formulas hold up to there).
    """

    law: PolynomialLaw
    gamma_c: float
    g0: float

    def mean_position(self, s: float) -> float:
        """:math:`M(s) = \\mathbb E\\min(\\omega + s, 1)
        = m_0 + s - \\mathbb E(\\omega + s - 1)_+`."""
        return self.law.mean() + s - self.law.upper_moment(1.0 - s, 1)

    def work(self, s: float) -> float:
        """:math:`\\int_0^s M = m_0 s + s^2/2 - \\tfrac12\\mathbb E(\\omega + s - 1)_+^2`
        (exchange of the σ-integral and the expectation; ω ≤ 1)."""
        return self.law.mean() * s + 0.5 * s * s - 0.5 * self.law.upper_moment(1.0 - s, 2)

    def g_of_s(self, s: float) -> float:
        value = math.cosh(self.g0) - self.work(s) / self.gamma_c
        if value < 1.0:
            msg = "g reaches 0 before the translation s: outside the reference's range"
            raise ValueError(msg)
        return -math.acosh(value)

    def time_of_s(self, s: float) -> float:
        """:math:`t(s) = \\int_0^s 2/(\\gamma_c\\tanh(|g(\\sigma)|/2))\\,d\\sigma`."""

        def integrand(sigma: float) -> float:
            return 2.0 / (self.gamma_c * math.tanh(-0.5 * self.g_of_s(sigma)))

        kink = 1.0 - self.law.b  # M(s) has a kink where the first particle reaches the wall
        points = [kink] if 0.0 < kink < s else None
        value, _ = quad(integrand, 0.0, s, points=points, epsabs=0.0, epsrel=1e-13, limit=200)
        return value

    @property
    def s_star(self) -> float:
        return 1.0 - self.law.a

    @property
    def t_star(self) -> float:
        return self.time_of_s(self.s_star)

    @property
    def g_star(self) -> float:
        return self.g_of_s(self.s_star)

    @property
    def t_release(self) -> float:
        g = abs(self.g_star)
        return self.t_star + 2.0 * g + 2.0 * math.sinh(g)

    def state(self, t: float) -> tuple[float, float, float]:
        """(g, s, wall mass) at time t ≤ t_release; s is capped at s_star after t*."""
        t_star = self.t_star
        if t <= t_star:
            s = (
                0.0
                if t <= 0
                else brentq(
                    lambda x: self.time_of_s(x) - t, 0.0, self.s_star, xtol=1e-15, rtol=4 * EPS
                )
            )
            return self.g_of_s(s), s, 1.0 - self.law.cdf(1.0 - s)
        if t > self.t_release:
            msg = f"t = {t} lies after the release of the Dirac ({self.t_release}): not covered"
            raise ValueError(msg)
        g_star = abs(self.g_star)
        target = t - t_star  # = 2(|g*| - |g|) + 2(sinh|g*| - sinh|g|)

        def residual(x: float) -> float:
            return 2.0 * (g_star - x) + 2.0 * (math.sinh(g_star) - math.sinh(x)) - target

        g = brentq(residual, 0.0, g_star, xtol=1e-15, rtol=4 * EPS) if target > 0 else g_star
        return -g, self.s_star, 1.0


# ----------------------------------------------------------- particles and Theorem 7


def _gauss_hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    nodes, weights = np.polynomial.hermite_e.hermegauss(n)
    return nodes, weights / weights.sum()


@dataclass(frozen=True)
class MeanODE:
    """ODE of the means (ᾱ, ā) of the outer-weight-only WGAN (β = b = 1, γ = c = 0).

    ``data`` is a 1D Gaussian mixture (means, stds, weights); expectations use Gauss–Hermite
    rules of ``nodes`` points (exponentially accurate for these analytic integrands).
    """

    gamma_c: float
    data_means: tuple[float, ...]
    data_stds: tuple[float, ...]
    data_weights: tuple[float, ...]
    nodes: int = 80

    @cached_property
    def _quadratures(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        z, wz = _gauss_hermite(self.nodes)
        xi, wx = _gauss_hermite(self.nodes)
        means, stds = np.asarray(self.data_means), np.asarray(self.data_stds)
        x = (means[:, None] + stds[:, None] * xi[None, :]).ravel()
        w = (np.asarray(self.data_weights)[:, None] * wx[None, :]).ravel()
        return z, wz, x, w / w.sum()

    def parts(self, alpha: float, a: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Velocity f, Jacobian J and single-sample covariance Σ at the means (ᾱ, ā).

        One SGD sample (z, x) gives the velocities
        :math:`v_\\alpha = -\\bar a\\,\\sigma'(\\bar\\alpha\\sigma(z))\\sigma(z)` and
        :math:`v_a = \\gamma_c(\\sigma(\\bar\\alpha\\sigma(z)) - \\sigma(x))`; f is their mean.
        """
        z, wz, x, wx = self._quadratures
        s = logistic(z)
        p = logistic(alpha * s)
        d1 = p * (1.0 - p)
        d2 = d1 * (1.0 - 2.0 * p)
        px = logistic(x)
        mean_px = wx @ px
        big_a, big_b, big_c = wz @ (d1 * s), wz @ p, wz @ (d2 * s * s)
        f = np.array([-a * big_a, self.gamma_c * (big_b - mean_px)])
        jac = np.array([[-a * big_c, -big_a], [self.gamma_c * big_a, 0.0]])
        va = -a * d1 * s
        vb = self.gamma_c * p
        cov_aa = wz @ (va - va @ wz) ** 2
        cov_ab = wz @ ((va - va @ wz) * (vb - vb @ wz))
        cov_bb = wz @ (vb - vb @ wz) ** 2 + self.gamma_c**2 * (wx @ (px - mean_px) ** 2)
        return f, jac, np.array([[cov_aa, cov_ab], [cov_ab, cov_bb]])

    def energy(self, alpha: float, a: float) -> float:
        """E[mu, nu] (6) = ā (E_z σ(ᾱσ(z)) - E_P σ(x)): D = ā σ(x), G = ᾱ σ(z)."""
        f, _, _ = self.parts(alpha, a)
        return float(a * f[1] / self.gamma_c)

    def dissipation(self, alpha: float, a: float) -> float:
        """dE/dt = -∫|V_μ|² dμ + γ_c⁻¹ ∫|V_ν|² dν = -f_α² + f_a²/γ_c (velocities constant
        on the supports, no mass at the wall)."""
        f, _, _ = self.parts(alpha, a)
        return float(-(f[0] ** 2) + f[1] ** 2 / self.gamma_c)

    def means(self, start: Sequence[float], times: Sequence[float]) -> np.ndarray:
        """Exact means (ᾱ, ā) at ``times`` (solve_ivp, rtol 1e-12), shape (len(times), 2)."""
        times = np.asarray(times, dtype=float)

        def rhs(_t: float, y: np.ndarray) -> np.ndarray:
            return self.parts(y[0], y[1])[0]

        sol = solve_ivp(
            rhs,
            (0.0, float(times.max())),
            np.asarray(start, dtype=float),
            method="DOP853",
            rtol=1e-12,
            atol=1e-14,
            t_eval=times,
        )
        return sol.y.T

    def flow(self, start: Sequence[float], t_final: float) -> tuple[np.ndarray, np.ndarray]:
        """Exact means at t_final and the sensitivity Φ = ∂(means)/∂(start) (solve_ivp)."""

        def rhs(_t: float, y: np.ndarray) -> np.ndarray:
            f, jac, _ = self.parts(y[0], y[1])
            return np.concatenate([f, (jac @ y[2:].reshape(2, 2)).ravel()])

        y0 = np.concatenate([np.asarray(start, dtype=float), np.eye(2).ravel()])
        sol = solve_ivp(rhs, (0.0, t_final), y0, method="DOP853", rtol=1e-12, atol=1e-14)
        return sol.y[:2, -1], sol.y[2:, -1].reshape(2, 2)

    def euler(self, start: Sequence[float], dt: float, steps: int) -> tuple[np.ndarray, np.ndarray]:
        """Means after ``steps`` forward-Euler steps (the deterministic particles) and the
        linearised SGD covariance :math:`C_{k+1} = A_kC_kA_k^T + \\Delta t^2\\Sigma_k`."""
        m = np.asarray(start, dtype=float).copy()
        cov = np.zeros((2, 2))
        for _ in range(steps):
            f, jac, sigma = self.parts(m[0], m[1])
            step = np.eye(2) + dt * jac
            cov = step @ cov @ step.T + dt * dt * sigma
            m = m + dt * f
        return m, cov


def uniform_w2_squared(points: np.ndarray, lower: float, upper: float) -> float:
    """Exact :math:`W_2^2` between the empirical law of ``points`` and U[lower, upper].

    :math:`\\sum_k\\int_{(k-1)/N}^{k/N}(x_{(k)} - l - (u - l)q)^2dq`, each piece in closed form.
    """
    x = np.sort(np.asarray(points, dtype=float).ravel())
    n = x.size
    width = upper - lower
    k = np.arange(n)
    lo = x - lower - width * k / n  # the integrand's square root at the piece's ends
    hi = x - lower - width * (k + 1) / n
    # ∫ (c - w q)^2 dq over [k/N, (k+1)/N] = (lo^3 - hi^3) / (3w) = (lo^2 + lo hi + hi^2)/(3N)
    return float(np.sum(lo * lo + lo * hi + hi * hi) / (3.0 * n))
