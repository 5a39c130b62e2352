r"""Closed forms of the linearised GAN (lGAN) of paper 004.

Khrulkov, Babenko and Oseledets (ICML 2021) linearise GAN training around the Nash
equilibrium in function space.  The discriminator perturbation u and the generator velocity
v follow the weak system (6), here with the gradient penalty γ of Section 6:

.. math::

    \langle u_t,\hat u\rangle_\mu = -\alpha\langle u,\hat u\rangle_\mu
        - \beta\langle\nabla\hat u, v\rangle_\mu
        - \gamma\langle\nabla u,\nabla\hat u\rangle_\mu,
    \qquad
    \langle v_t,\hat v\rangle_\mu = \beta\langle\nabla u,\hat v\rangle_\mu .

**Spectrum.**  Let :math:`-\Delta_\mu w = \xi w` (14).  The pair
:math:`(u, v) = (w, (\beta/\lambda)\nabla w)` (17) is an eigenfunction exactly when
:math:`\lambda w = -\alpha w - (\beta^2/\lambda)\,\xi w - \gamma\xi w`, i.e.

.. math::

    \lambda^2 + (\alpha + \gamma\xi)\,\lambda + \beta^2\xi = 0
    \qquad\text{(paper 004, (16), (19); (22) with } \gamma > 0\text{)}.

For ξ = 0 (w ≡ 1) the roots are λ = −α, the mean of u that decays like
:math:`c_0 e^{-\alpha t}` (Theorem 4, (21)), and λ = 0, the kernel of Corollary 1, (10)–(11):
u = C with Cα = 0 and a divergence-free velocity, :math:`\nabla\cdot(\rho v) = 0`, which
moves no mass (the generated measure is unchanged to second order) and never decays.

**Conventions.**  α is the coefficient of the flow (6).  Theorem 1 writes
:math:`g = \alpha\langle u,u\rangle_\mu + \beta\langle\nabla u, v\rangle_\mu` with
:math:`\alpha = \tfrac12(\phi_1''(0)+\phi_2''(0))`, whose u-gradient is 2αu; (6) and every
formula after it are the flow of :math:`\tfrac{\alpha}{2}\langle u,u\rangle_\mu + \dots`,
so the α of (6)–(29), and of this module, is :math:`\phi_1''(0)+\phi_2''(0)`; it is also
the α of the Section 7 losses :math:`\phi_1(x) = \alpha x^2/2 + \beta x`,
:math:`\phi_2(x) = -\beta x`.  α ≥ 0 and γ ≥ 0 are required (convex φ, Section 2; a
penalty weight); β may have either sign (the experiments use β = −1 and β = −0.5) since
only β² enters.

**Time stepping.**  Training with step τ applies the stability function R of the
integrator to every mode, :math:`w_{k+1} = R(\tau\mathcal L)w_k` ((26)–(28)); a mode is
stable when :math:`|R(\tau\lambda)| \le 1`.

Examples
--------
>>> from gan_pde.spectral import lgan
>>> lam_plus, lam_minus = lgan.eigenvalues(0.25, alpha=0.25, beta=-0.5)
>>> print(f"{complex(lam_plus):.4f}")
-0.1250+0.2165j
>>> print(f"{float(lgan.decay_rate(0.25, alpha=0.25, beta=-0.5)):.4f}")
-0.1250
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.optimize
from numpy.typing import ArrayLike

from gan_pde.errors import InvalidInputError

__all__ = [
    "METHODS",
    "OptimalParameters",
    "decay_rate",
    "eigenvalues",
    "euler_amplification",
    "heun_amplification",
    "is_oscillating",
    "max_euler_amplification",
    "max_stable_step",
    "optimal_parameters",
    "rk4_amplification",
]

#: Explicit Runge–Kutta methods known to :func:`max_stable_step`, with the order p of their
#: stability polynomial :math:`R(z) = \sum_{k \le p} z^k/k!`.
METHODS = {"euler": 1, "heun": 2, "rk4": 4}
#: Relative real parts |Re λ|/|λ| below this count as 0 in :func:`max_stable_step`.
_ROUND_OFF = 1e-12

_XI_REASON = "ξ is an eigenvalue of the non-negative operator −Δ_μ (paper 004, (14))"
_ALPHA_REASON = (
    "α = φ1''(0) + φ2''(0) is non-negative for the convex losses of paper 004, Section 2; "
    "with α < 0 the mean of the discriminator grows like exp(−αt)"
)
_GAMMA_REASON = (
    "γ is a gradient-penalty weight (paper 004, Section 6); γ < 0 rewards steep "
    "discriminators and makes the lGAN unstable"
)
_BETA_REASON = (
    "paper 004, Section 2 assumes β = φ2'(0) = −φ1'(0) ≠ 0; with β = 0 the generator "
    "receives no signal and nothing converges"
)


@dataclass(frozen=True)
class OptimalParameters:
    r"""Loss and penalty parameters with the fastest non-oscillating lGAN convergence.

    Attributes
    ----------
    alpha, gamma
        The optimum :math:`\alpha = |\beta|\sqrt{\xi_{\min}}`,
        :math:`\gamma = |\beta|/\sqrt{\xi_{\min}}`.
    rate
        The decay rate they achieve, :math:`\eta = -|\beta|\sqrt{\xi_{\min}}`: every mode
        except the kernel decays like :math:`e^{\eta t}` or faster.
    alpha_range, gamma_range
        The paper's family (25): :math:`\alpha + \gamma\xi_{\min} = 2|\beta|\sqrt{\xi_{\min}}`
        with γ in ``gamma_range`` and the matching α in ``alpha_range``.  Each member is
        critically damped at ξ_min and has no oscillating mode; only the end point
        ``(alpha, gamma)`` keeps the rate on the whole spectrum (see
        :func:`optimal_parameters`).
    max_euler_step
        The largest stable forward-Euler step :math:`2/(\gamma\xi_{\max})` for ``(alpha,
        gamma)``; 0.0 when ``xi_max`` is None, since on an unbounded spectrum no positive step
        is stable.
    xi_min, beta, xi_max
        The inputs, for reproducibility.
    """

    alpha: float
    gamma: float
    rate: float
    alpha_range: tuple[float, float]
    gamma_range: tuple[float, float]
    max_euler_step: float
    xi_min: float
    beta: float
    xi_max: float | None


def eigenvalues(
    xi: ArrayLike, *, alpha: ArrayLike, beta: ArrayLike, gamma: ArrayLike = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    r"""The two lGAN eigenvalues of the weighted-Laplacian eigenvalue ξ.

    .. math::

        \lambda_\pm = \frac{-(\alpha+\gamma\xi) \pm \sqrt{(\alpha+\gamma\xi)^2
            - 4\beta^2\xi}}{2}
        \qquad\text{(paper 004, (22); (16) for } \gamma = 0\text{)}

    The roots are computed without cancellation: the discriminant as
    :math:`D = (s - 2c)(s + 2c)` with :math:`s = \alpha+\gamma\xi`,
    :math:`c = |\beta|\sqrt\xi`, and :math:`\sqrt{|D|}` as
    :math:`\sqrt{|s - 2c|}\sqrt{s + 2c}`;
    for real roots :math:`\lambda_- = -(s + \sqrt{D})/2` first and
    :math:`\lambda_+ = c^2/\lambda_-` from the product of the roots, so the root near 0 keeps
    its relative accuracy when :math:`\beta^2\xi \ll (\alpha+\gamma\xi)^2`.

    Parameters
    ----------
    xi
        Eigenvalues ξ ≥ 0 of :math:`-\Delta_\mu`.  ξ = 0 gives the mean mode −α
        (``lam_minus``) and the kernel 0 (``lam_plus``, divergence-free v, Corollary 1).
    alpha, beta, gamma
        The lGAN parameters, α ≥ 0, γ ≥ 0, β of either sign.  All four arguments broadcast.

    Returns
    -------
    lam_plus, lam_minus
        Complex arrays of the broadcast shape; ``lam_plus`` has the larger real part (and
        the positive imaginary part when the pair is complex).  Both have Re λ ≤ 0.

    Examples
    --------
    >>> lam_plus, lam_minus = eigenvalues([0.0, 1.0], alpha=0.0, beta=-2.0)  # WGAN
    >>> print(lam_plus, lam_minus)
    [0.+0.j 0.+2.j] [0.+0.j 0.-2.j]
    >>> lam_plus, lam_minus = eigenvalues(0.0, alpha=0.5, beta=1.0)  # kernel and mean mode
    >>> print(lam_plus, lam_minus)
    0j (-0.5+0j)
    """
    s, c, gap = _discriminant(xi, alpha=alpha, beta=beta, gamma=gamma)
    real = gap >= 0.0
    root = np.sqrt(np.abs(gap)) * np.sqrt(s + 2.0 * c)  # √|D| without over- or underflow
    big = -0.5 * (s + root)
    small = c * np.divide(c, big, out=np.zeros_like(big), where=big != 0.0)
    lam_plus = np.empty(s.shape, dtype=complex)
    lam_minus = np.empty(s.shape, dtype=complex)
    lam_plus.real = np.where(real, small, -0.5 * s) + 0.0  # + 0.0 turns -0.0 into 0.0
    lam_minus.real = np.where(real, big, -0.5 * s) + 0.0
    lam_plus.imag = np.where(real, 0.0, 0.5 * root)
    lam_minus.imag = np.where(real, 0.0, -0.5 * root)
    return lam_plus, lam_minus


def is_oscillating(
    xi: ArrayLike, *, alpha: ArrayLike, beta: ArrayLike, gamma: ArrayLike = 0.0
) -> np.ndarray:
    r"""Whether the modes of ξ oscillate: the lGAN eigenvalues form a complex pair.

    .. math::

        (\alpha + \gamma\xi)^2 - 4\beta^2\xi < 0 \qquad\text{(paper 004, (22), (24))}

    A critically damped mode (discriminant exactly 0) does not oscillate; near it the
    answer is decided by round-off.

    Parameters
    ----------
    xi
        Eigenvalues ξ ≥ 0 of :math:`-\Delta_\mu`.
    alpha, beta, gamma
        The lGAN parameters, α ≥ 0, γ ≥ 0; all four arguments broadcast.

    Returns
    -------
    numpy.ndarray
        Boolean array of the broadcast shape.

    Examples
    --------
    >>> print(is_oscillating([0.01, 0.25, 1.0], alpha=1.0, beta=1.0))
    [False False  True]
    """
    return _discriminant(xi, alpha=alpha, beta=beta, gamma=gamma)[2] < 0.0  # D < 0 ⇔ s < 2c


def decay_rate(
    xi_min: ArrayLike,
    *,
    alpha: ArrayLike,
    beta: ArrayLike,
    gamma: ArrayLike = 0.0,
    xi: ArrayLike | None = None,
) -> np.ndarray:
    r"""The rate η: the largest real part over all modes except the kernel.

    Every solution of (6) converges to its kernel part like :math:`e^{\eta t}` (η < 0), the
    sign convention of Theorem 4, which states for γ = 0 and α > 0

    .. math::

        \eta = \operatorname{Re}\frac{-\alpha + \sqrt{\alpha^2 - 4\beta^2\xi_{\min}}}{2},
        \qquad \|u(t)\|_\mu \le 2\|u_0\|_\mu e^{\eta t}.

    The modes that count are the mean of u (λ = −α, counted when α > 0; for α = 0 the
    constants are in the kernel, Corollary 1) and :math:`\lambda_\pm(\xi)` for the non-zero
    eigenvalues ξ ≥ ξ_min.  With ``xi=None`` the spectrum is ξ_min plus an unbounded tail
    (−Δ_μ is unbounded, Section 6), and

    .. math::

        \eta = \max\Bigl(-\alpha\,[\alpha > 0],\ \operatorname{Re}\lambda_+(\xi_{\min}),\
            -\frac{\beta^2}{\gamma}\,[\gamma > 0]\Bigr).

    *Why.*  With :math:`s(\xi) = \alpha + \gamma\xi`, implicit differentiation of (22) gives
    :math:`d\lambda_+/d\xi = -(\gamma\lambda_+ + \beta^2)/(2\lambda_+ + s)`, and
    :math:`2\lambda_+ + s = \sqrt{D} > 0` on a real branch, so a real :math:`\lambda_+`
    falls while above :math:`-\beta^2/\gamma` and rises while below; it never crosses that
    level because the quadratic at :math:`\lambda = -\beta^2/\gamma` equals
    :math:`(\beta^2/\gamma)(\beta^2/\gamma - \alpha)`, whatever ξ.  On a complex pair
    :math:`\operatorname{Re}\lambda_+ = -s/2` does not increase.  Hence (i) for γ = 0 or
    αγ ≥ β², :math:`\operatorname{Re}\lambda_+` is non-increasing in ξ and the maximum is
    at ξ_min, as Theorem 4 says (Section 6 asserts it for every γ); (ii) for 0 < αγ < β²
    it falls, turns complex, and rises again towards :math:`-\beta^2/\gamma` from below,
    so the high modes can be the slowest.  Example: the paper's WGAN-GP choice α = 0,
    γ = 2|β|/√ξ_min is critically damped at ξ_min with
    :math:`\lambda = -|\beta|\sqrt{\xi_{\min}}`, but :math:`\eta = -|\beta|\sqrt{\xi_{\min}}/2`.

    Parameters
    ----------
    xi_min
        The Poincaré constant ξ_min > 0, the smallest non-zero eigenvalue of −Δ_μ (15).
    alpha, beta, gamma
        The lGAN parameters, α ≥ 0, β ≠ 0, γ ≥ 0.  ``xi_min``, ``alpha``, ``beta`` and
        ``gamma`` broadcast, so a whole parameter sweep is one call.
    xi
        Optional finite spectrum (e.g. a discretised one): the other non-zero eigenvalues,
        all ≥ ``xi_min``, any shape (flattened).  Then η is the maximum over the mean mode,
        ξ_min and ``xi``, without the unbounded tail.

    Returns
    -------
    numpy.ndarray
        η, of the broadcast shape of ``xi_min``, ``alpha``, ``beta``, ``gamma`` (0-d for
        scalars); η < 0 means convergence, η = 0 none (e.g. WGAN, α = γ = 0).

    Examples
    --------
    >>> print(decay_rate(1.0, alpha=1.0, beta=1.0))  # N(0, 1): xi_min = 1, complex pair
    -0.5
    >>> print(decay_rate(1.0, alpha=1.0, beta=1.0, xi=[2.0, 3.0, 4.0]))
    -0.5
    >>> print(decay_rate(0.25, alpha=0.0, beta=-1.0, gamma=4.0))  # WGAN-GP, tail-limited
    -0.25
    """
    xi_min_array = _validated(xi_min, "xi_min", minimum=0.0, strict=True, reason=_XI_REASON)
    beta_array = _validated(beta, "beta")
    if np.any(beta_array == 0.0):
        msg = f"beta must be non-zero: {_BETA_REASON}"
        raise InvalidInputError(msg)
    lam_plus, _ = eigenvalues(xi_min_array, alpha=alpha, beta=beta_array, gamma=gamma)
    xi_min_array, alpha_array, beta_array, gamma_array = np.broadcast_arrays(
        xi_min_array, np.asarray(alpha, dtype=float), beta_array, np.asarray(gamma, dtype=float)
    )
    eta = np.maximum(lam_plus.real, np.where(alpha_array > 0.0, -alpha_array, -np.inf))
    if xi is None:
        tail = np.divide(
            -(beta_array**2),
            gamma_array,
            out=np.full(eta.shape, -np.inf),
            where=gamma_array > 0.0,
        )
        return np.maximum(eta, tail)
    xi_array = _validated(xi, "xi", minimum=0.0, reason=_XI_REASON).ravel()
    if xi_array.size and xi_array.min() < xi_min_array.max():
        msg = (
            f"xi must hold the non-zero eigenvalues >= xi_min; got min(xi) = "
            f"{xi_array.min()} < xi_min = {xi_min_array.max()}"
        )
        raise InvalidInputError(msg)
    lam_xi, _ = eigenvalues(
        xi_array,
        alpha=alpha_array[..., np.newaxis],
        beta=beta_array[..., np.newaxis],
        gamma=gamma_array[..., np.newaxis],
    )
    return np.maximum(eta, lam_xi.real.max(axis=-1, initial=-np.inf))


def optimal_parameters(
    xi_min: float, *, beta: float, xi_max: float | None = None
) -> OptimalParameters:
    r"""The α and γ of the fastest non-oscillating convergence for given ξ_min and β.

    Section 6 maximises the decay of the slowest mode ξ_min: critical damping there (23)
    and no complex mode on :math:`[\xi_{\min}, \infty)` (24) give the family (25),

    .. math::

        \alpha + \gamma\xi_{\min} = 2|\beta|\sqrt{\xi_{\min}}, \qquad
        \frac{|\beta|}{\sqrt{\xi_{\min}}} \le \gamma \le \frac{2|\beta|}{\sqrt{\xi_{\min}}},
        \qquad 0 \le \alpha \le |\beta|\sqrt{\xi_{\min}} .

    (The text extraction of (25) reads α ≤ |β|/√ξ_min; α = 2|β|√ξ_min − γξ_min with the
    γ range gives |β|√ξ_min, which also has the units of a rate.)

    All members give :math:`\lambda_\pm(\xi_{\min}) = -|\beta|\sqrt{\xi_{\min}}`, and no
    setting does better: :math:`|\operatorname{Re}\lambda_+(\xi)| \le |\beta|\sqrt\xi`
    because :math:`\lambda_+\lambda_- = \beta^2\xi` with :math:`|\lambda_+| \le |\lambda_-|`.
    Over the whole spectrum, however, only the end point

    .. math::

        \alpha = |\beta|\sqrt{\xi_{\min}}, \qquad \gamma = \frac{|\beta|}{\sqrt{\xi_{\min}}},
        \qquad \eta = -|\beta|\sqrt{\xi_{\min}}

    keeps that rate: there αγ = β², the quadratic factors as
    :math:`(\lambda + \alpha)(\lambda + \gamma\xi)`, and every mode, the mean mode −α
    included, decays at least as fast.  Inside the family the mean mode −α (α > 0) or the
    high modes, which tend to −β²/γ, are slower (see :func:`decay_rate`).  This is what is
    returned, with the family as ``alpha_range`` and ``gamma_range``.

    The eigenvalues are then real, :math:`\{-\alpha, -\gamma\xi\}`, so forward Euler (27) is
    stable on a spectrum bounded by ξ_max iff :math:`\tau \le 2/(\gamma\xi_{\max})`.

    Parameters
    ----------
    xi_min
        The Poincaré constant ξ_min > 0 (15).
    beta
        The lGAN coupling β ≠ 0.
    xi_max
        Optional largest eigenvalue of a bounded (discretised) spectrum, ≥ ξ_min; it sets
        ``max_euler_step``.

    Returns
    -------
    OptimalParameters

    Examples
    --------
    >>> best = optimal_parameters(0.25, beta=1.0, xi_max=100.0)
    >>> print(best.alpha, best.gamma, best.rate, best.gamma_range, best.max_euler_step)
    0.5 2.0 -0.5 (2.0, 4.0) 0.01
    """
    xi_min_value = _scalar(xi_min, "xi_min", minimum=0.0, strict=True, reason=_XI_REASON)
    beta_value = _scalar(beta, "beta")
    if beta_value == 0.0:
        msg = f"beta must be non-zero: {_BETA_REASON}"
        raise InvalidInputError(msg)
    root = math.sqrt(xi_min_value)
    rate = abs(beta_value) * root
    gamma = abs(beta_value) / root
    max_euler_step = 0.0
    if xi_max is not None:
        xi_max = _scalar(xi_max, "xi_max", minimum=xi_min_value, reason="ξ_max ≥ ξ_min")
        max_euler_step = 2.0 / (gamma * xi_max)
    return OptimalParameters(
        alpha=rate,
        gamma=gamma,
        rate=-rate,
        alpha_range=(0.0, rate),
        gamma_range=(gamma, 2.0 * gamma),
        max_euler_step=max_euler_step,
        xi_min=xi_min_value,
        beta=beta_value,
        xi_max=xi_max,
    )


def euler_amplification(lam: ArrayLike, tau: ArrayLike) -> np.ndarray:
    r"""Forward-Euler amplification factor :math:`|1 + \tau\lambda|` of a mode.

    Gradient descent–ascent with step τ is forward Euler (27); it multiplies the mode λ by
    :math:`\lambda^e = 1 + \tau\lambda` (28) per step.  For a complex pair of (22)
    (:math:`|\lambda|^2 = \beta^2\xi`, :math:`2\operatorname{Re}\lambda = -(\alpha+\gamma\xi)`)

    .. math::

        |1 + \tau\lambda|^2 = 1 - \tau(\alpha + \gamma\xi) + \tau^2\beta^2\xi
        = \Bigl(1 - \frac{\tau\alpha}{2}\Bigr)^2 + \frac{\tau^2(4\beta^2\xi - \alpha^2)}{4}
        \quad (\gamma = 0)

    which is (29); its extraction lost the factor 1/4.  For γ = 0 every ξ > α/(τβ²) is
    amplified, and −Δ_μ is unbounded, so Euler is unstable for every τ > 0.  For WGAN
    (α = γ = 0) the modes :math:`\pm i|\beta|\sqrt\xi` give
    :math:`\sqrt{1 + \tau^2\beta^2\xi} > 1` at every ξ > 0 and every τ > 0, and on a
    discretisation the largest factor grows with ξ_max under refinement.

    Parameters
    ----------
    lam
        Eigenvalues (complex), any shape.
    tau
        Step size τ > 0; broadcasts with ``lam``.

    Returns
    -------
    numpy.ndarray
        The factors, of the broadcast shape.

    Examples
    --------
    >>> print(euler_amplification([-1.0, 1j], 0.5))
    [0.5        1.11803399]
    """
    return _amplification(lam, tau, order=METHODS["euler"])


def heun_amplification(lam: ArrayLike, tau: ArrayLike) -> np.ndarray:
    r"""Heun amplification factor :math:`|1 + \tau\lambda + (\tau\lambda)^2/2|`.

    Heun's method (the second-order TVD Runge–Kutta scheme of Section 6) applies
    :math:`R(z) = 1 + z + z^2/2` to every mode.  On the imaginary axis
    :math:`|R(iy)|^2 = 1 + y^4/4 > 1`: it removes the first-order growth of Euler but
    still amplifies pure oscillations, slowly.

    Parameters
    ----------
    lam
        Eigenvalues (complex), any shape.
    tau
        Step size τ > 0; broadcasts with ``lam``.

    Returns
    -------
    numpy.ndarray
        The factors, of the broadcast shape.

    Examples
    --------
    >>> print(heun_amplification([-1.0, 2j], 1.0))
    [0.5        2.23606798]
    """
    return _amplification(lam, tau, order=METHODS["heun"])


def rk4_amplification(lam: ArrayLike, tau: ArrayLike) -> np.ndarray:
    r"""Classical Runge–Kutta amplification factor :math:`|\sum_{k \le 4} (\tau\lambda)^k/k!|`.

    On the imaginary axis :math:`|R(iy)|^2 = 1 - y^6/72 + y^8/576`, so RK4 damps pure
    oscillations for :math:`|y| < 2\sqrt2` (see :func:`max_stable_step`).

    Parameters
    ----------
    lam
        Eigenvalues (complex), any shape.
    tau
        Step size τ > 0; broadcasts with ``lam``.

    Returns
    -------
    numpy.ndarray
        The factors, of the broadcast shape.

    Examples
    --------
    >>> print(f"{float(rk4_amplification(2j, 1.0)):.6f}")
    0.745356
    """
    return _amplification(lam, tau, order=METHODS["rk4"])


def max_euler_amplification(
    xi: ArrayLike,
    *,
    alpha: ArrayLike,
    beta: ArrayLike,
    gamma: ArrayLike = 0.0,
    tau: float,
) -> float:
    r"""The largest forward-Euler factor :math:`\max_\pm |1 + \tau\lambda_\pm(\xi)|`.

    .. math::

        \max_{\xi,\ \pm} |1 + \tau\lambda_\pm(\xi)|
        \qquad\text{(paper 004, (27)–(29))}

    A value above 1 means gradient descent–ascent with step τ diverges on that spectrum
    (see :func:`euler_amplification` for why this always happens for WGAN).

    Parameters
    ----------
    xi
        Eigenvalues ξ ≥ 0 of −Δ_μ, e.g. a discretised spectrum.
    alpha, beta, gamma
        The lGAN parameters, α ≥ 0, γ ≥ 0; they broadcast with ``xi``.
    tau
        Step size τ > 0.

    Returns
    -------
    float

    Examples
    --------
    >>> amplification = max_euler_amplification([1.0, 4.0], alpha=0.0, beta=1.0, tau=0.5)
    >>> print(f"{amplification**2:.12f}")  # WGAN: 1 + tau² beta² xi_max
    2.000000000000
    """
    lam_plus, lam_minus = eigenvalues(xi, alpha=alpha, beta=beta, gamma=gamma)
    tau_value = _scalar(tau, "tau", minimum=0.0, strict=True, reason="a step size")
    return float(
        max(
            euler_amplification(lam_plus, tau_value).max(initial=0.0),
            euler_amplification(lam_minus, tau_value).max(initial=0.0),
        )
    )


def max_stable_step(lams: ArrayLike, *, method: str = "euler") -> float:
    r"""The largest step τ for which an explicit Runge–Kutta method is stable on ``lams``.

    A mode λ is stable under step τ when its amplification does not exceed 1,

    .. math::

        |R(\tau\lambda)| \le 1, \qquad R(z) = \sum_{k=0}^{p} \frac{z^k}{k!},

    with p = 1 (forward Euler (27)), 2 (Heun) or 4 (classical RK4).  The result is the
    largest τ such that every step in (0, τ] is stable for every λ.  Along the ray
    :math:`z = s\lambda/|\lambda|`, :math:`|R|^2 - 1` is a real polynomial in s whose
    coefficients depend only on :math:`a = \operatorname{Re}\lambda/|\lambda|` (they are
    :math:`(2a)^n/n!` up to degree p, Chebyshev sums beyond), computed exactly on the
    imaginary axis.  Its first sign change from ≤ 0 to > 0 is located from the polynomial's
    roots and polished by Brent's bracketing method; τ is that radius over |λ|.  Relative
    real parts below 1e-12 are treated as round-off (0): a computed WGAN spectrum has
    real parts of ±1e-17.

    Reference values: real λ < 0 gives 2/|λ| (Euler, Heun) and 2.785293563405282/|λ|
    (RK4); imaginary λ gives 0 (Euler, Heun) and 2√2/|λ| (RK4); Re λ > 0 gives 0 and
    λ = 0 puts no limit (inf).

    Parameters
    ----------
    lams
        Eigenvalues (complex), any shape, at least one.
    method
        One of ``"euler"``, ``"heun"``, ``"rk4"``.

    Returns
    -------
    float
        The step, 0.0 if no positive step is stable, inf if all ``lams`` are 0.

    Examples
    --------
    >>> print(max_stable_step([-1.0, -4.0], method="heun"))
    0.5
    >>> print(f"{max_stable_step([1j], method='rk4'):.12f}")
    2.828427124746
    """
    if method not in METHODS:
        msg = f"method must be one of {sorted(METHODS)}, got {method!r}"
        raise InvalidInputError(msg)
    lam = _complex(lams, "lams").ravel()
    if lam.size == 0:
        msg = "lams must hold at least one eigenvalue"
        raise InvalidInputError(msg)
    lam = lam[lam != 0.0]
    if lam.size == 0:
        return math.inf
    modulus = np.abs(lam)
    cosines = lam.real / modulus
    # A relative real part below _ROUND_OFF is round-off of a computed spectrum (a WGAN
    # spectrum is imaginary); counting it as positive would make Euler's limit 0 for the
    # wrong reason and leave no bracket for the root finder.
    cosines[np.abs(cosines) < _ROUND_OFF] = 0.0
    cosines, inverse = np.unique(cosines, return_inverse=True)
    radii = np.array([_stability_radius(a, METHODS[method]) for a in cosines])
    return float(np.min(radii[inverse] / modulus))


def _discriminant(
    xi: ArrayLike, *, alpha: ArrayLike, beta: ArrayLike, gamma: ArrayLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated s = α + γξ, c = |β|√ξ and s − 2c, broadcast; D = (s − 2c)(s + 2c)."""
    xi_array = _validated(xi, "xi", minimum=0.0, reason=_XI_REASON)
    alpha_array = _validated(alpha, "alpha", minimum=0.0, reason=_ALPHA_REASON)
    beta_array = _validated(beta, "beta")
    gamma_array = _validated(gamma, "gamma", minimum=0.0, reason=_GAMMA_REASON)
    xi_array, alpha_array, beta_array, gamma_array = np.broadcast_arrays(
        xi_array, alpha_array, beta_array, gamma_array
    )
    s = alpha_array + gamma_array * xi_array
    c = np.abs(beta_array) * np.sqrt(xi_array)
    return s, c, s - 2.0 * c


def _amplification(lam: ArrayLike, tau: ArrayLike, *, order: int) -> np.ndarray:
    """|R(τλ)| for the Taylor stability polynomial R of the given order."""
    z = _complex(lam, "lam") * _validated(
        tau, "tau", minimum=0.0, strict=True, reason="a step size"
    )
    term = np.ones_like(z)
    total = np.ones_like(z)
    for k in range(1, order + 1):
        term = term * z / k
        total = total + term
    return np.abs(total)


def _stability_radius(a: float, order: int) -> float:
    """Largest s with |R(s e^{iθ})| ≤ 1 on (0, s], cos θ = a, R the order-p Taylor poly."""
    coefficients = _growth_coefficients(a, order)
    growth = np.polynomial.Polynomial(coefficients)
    roots = np.roots(coefficients[::-1])  # strips the zero roots at s = 0 exactly
    knots = np.concatenate(([0.0], np.unique(roots.real[roots.real > 0.0])))
    ends = np.append(knots[1:], 2.0 * knots[-1] + 1.0)
    unstable = growth(0.5 * (knots + ends)) > 0.0
    first = int(np.argmax(unstable))  # |R|² − 1 → +inf, so some interval is unstable
    if first == 0:
        return 0.0
    left, right = 0.5 * (knots[first - 1 : first + 1] + ends[first - 1 : first + 1])
    return scipy.optimize.brentq(growth, left, right, xtol=1e-300, rtol=4.0 * np.finfo(float).eps)


def _growth_coefficients(a: float, order: int) -> np.ndarray:
    """Coefficients in s (ascending) of |R(s e^{iθ})|² − 1 with cos θ = a.

    With c_k = e^{ikθ}/k!, the coefficient of s^n is Σ_{j+k=n} cos((j−k)θ)/(j! k!); for
    n ≤ p it equals (2a)^n/n! (the Taylor coefficient of |e^z|² = e^{2 Re z}), beyond it is
    a sum of Chebyshev values T_|j−k|(a), exact zeros on the imaginary axis (a = 0).
    """
    chebyshev = np.polynomial.chebyshev.chebval(a, np.eye(order + 1))
    coefficients = np.zeros(2 * order + 1)
    for n in range(1, 2 * order + 1):
        if n <= order:
            coefficients[n] = (2.0 * a) ** n / math.factorial(n)
        else:
            coefficients[n] = sum(
                chebyshev[abs(2 * j - n)] / (math.factorial(j) * math.factorial(n - j))
                for j in range(n - order, order + 1)
            )
    return coefficients


def _validated(
    value: ArrayLike,
    name: str,
    *,
    minimum: float | None = None,
    strict: bool = False,
    reason: str = "",
) -> np.ndarray:
    """A finite float array, optionally bounded below (strictly if ``strict``)."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:
        msg = f"{name} must be an array of real numbers: {error}"
        raise InvalidInputError(msg) from error
    if array.dtype.kind not in "biuf":
        msg = f"{name} must be real numbers, got dtype {array.dtype}"
        raise InvalidInputError(msg)
    array = array.astype(float)
    if not np.all(np.isfinite(array)):
        msg = f"{name} must be finite, got {value!r}"
        raise InvalidInputError(msg)
    if minimum is not None:
        bad = array <= minimum if strict else array < minimum
        if np.any(bad):
            relation = ">" if strict else ">="
            msg = f"{name} must be {relation} {minimum} ({reason}); got {array[bad].min()}"
            raise InvalidInputError(msg)
    return array


def _scalar(
    value: float,
    name: str,
    *,
    minimum: float | None = None,
    strict: bool = False,
    reason: str = "",
) -> float:
    """A validated finite real scalar."""
    array = _validated(value, name, minimum=minimum, strict=strict, reason=reason)
    if array.ndim != 0:
        msg = f"{name} must be a scalar, got shape {array.shape}"
        raise InvalidInputError(msg)
    return float(array)


def _complex(value: ArrayLike, name: str) -> np.ndarray:
    """A finite complex array."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:
        msg = f"{name} must be an array of numbers: {error}"
        raise InvalidInputError(msg) from error
    if array.dtype.kind not in "biufc":
        msg = f"{name} must be numbers, got dtype {array.dtype}"
        raise InvalidInputError(msg)
    array = array.astype(complex)
    if not np.all(np.isfinite(array)):
        msg = f"{name} must be finite, got {value!r}"
        raise InvalidInputError(msg)
    return array
