"""Independent references for the checks of paper 000 (Cao & Guo) in :mod:`checks_sde`.

Nothing here calls :mod:`gan_pde.sde`: every quantity is re-derived from the paper's
definitions and computed by another route than the package's.

* :class:`AffineGame` — per-sample gradients g_k(γ) = A_kγ + c_k of a quadratic per-sample loss,
  built from the loss formulas (:func:`location_gan_gradients`,
  :func:`location_scale_wgan_gradients`), not from :class:`~gan_pde.sde.quadratic.QuadraticGame`.
* :func:`drift_affine` — the SDE drifts from (9), the *second* line of (10)
  (b1 = −½∇b0·b0 − (∇_ωg_θ·g_ω, 0); the package uses the first line) and (14).
* :func:`sga_moments_enumerated` — exact E ξξᵀ (ξ = (γ, 1)) of (ALT)/(SML) by enumerating every
  mini-batch (all n^B index tuples; the package uses E[K^B⊗K^B] = K̄⊗K̄ + Cov/B).
* :func:`sde_moments_exact` — exact first and second moments of the SDEs from Itô's formula
  for the mean m and E γγᵀ (generator assembled by applying the moment equations to unit
  vectors, propagated by the exponential of the augmented inhomogeneous system); the tests
  check it against ``scipy.integrate.solve_ivp``.
* :func:`stationary_moments_lyapunov` — invariant mean m* = −M⁻¹v and covariance by
  ``scipy.linalg.solve_continuous_lyapunov`` (a fixed-point iteration on the multiplicative part
  of the noise; the package solves the vectorised moment generator by least squares).
* :func:`fdr_sides` — both sides of FDR1/FDR2 (and the ALT-SDE FDR2 gap ηE[γ·b1]) in closed
  form from (m, C).
* :class:`TanhGAN` — the 1+1-parameter tanh GAN of the long-run checks with closed-form
  derivatives in numpy (drift, diffusion, its divergence, FDR integrands).
* :func:`finite_volume_density` — the stationary Fokker–Planck equation in the conservative form
  ∂_i(b_i p − ½∂_j(a_ij p)) = 0 by cell-centred finite volumes (no ∇·a needed; the package uses
  P1 finite elements on the weak form with ∇·a).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg

EPS = float(np.finfo(float).eps)


# ------------------------------------------------------------------ quadratic (affine) games


@dataclass(frozen=True)
class AffineGame:
    """Per-sample gradients g_k(γ) = A_kγ + c_k of J_k, γ = (θ, ω), θ the first ``d_theta``.

    ``slopes`` is (n, d, d) (A_k = ∇²J_k, symmetric), ``offsets`` is (n, d).
    """

    slopes: np.ndarray
    offsets: np.ndarray
    d_theta: int

    @property
    def d(self) -> int:
        return self.offsets.shape[1]

    @property
    def n(self) -> int:
        return self.offsets.shape[0]

    @property
    def signs(self) -> np.ndarray:
        """(−1 on θ, +1 on ω): b0 = (−g_θ, g_ω) (9)."""
        return np.where(np.arange(self.d) < self.d_theta, -1.0, 1.0)

    @property
    def mask(self) -> np.ndarray:
        """1 on the θθ and ωω blocks: σσᵀ is block diagonal (11)."""
        theta = np.arange(self.d) < self.d_theta
        return (theta[:, None] == theta[None, :]).astype(float)

    def centred(self) -> tuple[np.ndarray, np.ndarray]:
        """(A_k − Ā, c_k − c̄): g_k − ∇Φ = (A_k − Ā)γ + (c_k − c̄)."""
        return self.slopes - self.slopes.mean(0), self.offsets - self.offsets.mean(0)


def _pairs(x, z) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float).ravel()
    z = np.asarray(z, dtype=float).ravel()
    xx, zz = np.meshgrid(x, z)
    return xx.ravel(), zz.ravel()


def location_gan_gradients(x, z, *, curvature: float, weight_decay: float) -> AffineGame:
    """G = θ + z, D = ωx + κx²/2, J = D(x) − D(G(z)) + λ(θ² − ω²)/2 over all pairs (x_j, z_i).

    g_θ = −ω − κ(θ + z) + λθ, g_ω = x − θ − z − λω.
    """
    xj, zi = _pairs(x, z)
    kappa, lam = float(curvature), float(weight_decay)
    n = xj.size
    slopes = np.zeros((n, 2, 2))
    slopes[:, 0, 0] = lam - kappa
    slopes[:, 0, 1] = slopes[:, 1, 0] = -1.0
    slopes[:, 1, 1] = -lam
    offsets = np.stack([-kappa * zi, xj - zi], axis=1)
    return AffineGame(slopes, offsets, 1)


def location_scale_wgan_gradients(x, z, *, weight_decay: float) -> AffineGame:
    """G = θ1 + θ2 z, D = ωx, J = ωx − ω(θ1 + θ2 z) + λ(θ1² + θ2² − ω²)/2.

    g_θ1 = −ω + λθ1, g_θ2 = −ωz + λθ2, g_ω = x − θ1 − θ2 z − λω.
    """
    xj, zi = _pairs(x, z)
    lam = float(weight_decay)
    n = xj.size
    slopes = np.zeros((n, 3, 3))
    slopes[:, 0, 0] = slopes[:, 1, 1] = lam
    slopes[:, 2, 2] = -lam
    slopes[:, 0, 2] = slopes[:, 2, 0] = -1.0
    slopes[:, 1, 2] = slopes[:, 2, 1] = -zi
    offsets = np.zeros((n, 3))
    offsets[:, 2] = xj
    return AffineGame(slopes, offsets, 2)


def drift_affine(game: AffineGame, kind: str, eta: float) -> tuple[np.ndarray, np.ndarray]:
    """(M, v) with b(γ) = Mγ + v: (9) for ``"sml"``, b0 + ηb1 with the second line of (10)
    for ``"alt"``, (14) for ``"sml2"``.

    ∇Φ = Āγ + c̄, b0 = S∇Φ, ∇b0 = SĀ; ∇b0·b0 = SĀ(SĀγ + Sc̄); (∇_ωg_θ·g_ω, 0) has the rows
    Ā_θω(Ā_ω·γ + c̄_ω) on θ and 0 on ω.
    """
    abar, cbar = game.slopes.mean(0), game.offsets.mean(0)
    s = game.signs
    jac, v0 = s[:, None] * abar, s * cbar
    if kind == "sml":
        return jac, v0
    if kind == "sml2":
        return jac - 0.5 * eta * jac @ jac, v0 - 0.5 * eta * jac @ v0
    if kind != "alt":
        raise ValueError(kind)
    p = game.d_theta
    game_m = np.zeros_like(abar)
    game_v = np.zeros_like(cbar)
    game_m[:p] = abar[:p, p:] @ abar[p:, :]
    game_v[:p] = abar[:p, p:] @ cbar[p:]
    b1_m = -0.5 * jac @ jac - game_m
    b1_v = -0.5 * jac @ v0 - game_v
    return jac + eta * b1_m, v0 + eta * b1_v


def expected_diffusion(
    game: AffineGame, eta: float, batch: int, mean: np.ndarray, second: np.ndarray
) -> np.ndarray:
    """E a(γ) = (η/B)·blockdiag mean_k E[c_k c_kᵀ], c_k = g_k(γ) − ∇Φ(γ), for E γ = ``mean``,
    E γγᵀ = ``second`` (β = 2B/η in (11), so σσᵀ = (η/B)·blockdiag(Σ_θ, Σ_ω))."""
    ac, cc = game.centred()
    outer = (
        np.einsum("kij,jl,kml->im", ac, second, ac)
        + np.einsum("kij,j,kl->il", ac, mean, cc)
        + np.einsum("ki,j,klj->il", cc, mean, ac)
        + np.einsum("ki,kl->il", cc, cc)
    ) / game.n
    return (eta / batch) * game.mask * outer


def _moment_rhs(game: AffineGame, kind: str, eta: float, batch: int) -> Callable:
    """y = (m, vec E γγᵀ) ↦ dy/dt from Itô: dm = Mm + v, dS = MS + SMᵀ + vmᵀ + mvᵀ + E a."""
    m_mat, v = drift_affine(game, kind, eta)
    d = game.d

    def rhs(y: np.ndarray) -> np.ndarray:
        mean, second = y[:d], y[d:].reshape(d, d)
        dmean = m_mat @ mean + v
        dsecond = (
            m_mat @ second
            + second @ m_mat.T
            + np.outer(v, mean)
            + np.outer(mean, v)
            + expected_diffusion(game, eta, batch, mean, second)
        )
        return np.concatenate([dmean, dsecond.ravel()])

    return rhs


def moment_system(game: AffineGame, kind: str, eta: float, batch: int) -> np.ndarray:
    """The (n+1)×(n+1) matrix [[L, f], [0, 0]] of dy/dt = Ly + f, y = (m, vec E γγᵀ), assembled
    column by column from :func:`_moment_rhs` (f = rhs(0), L e_j = rhs(e_j) − f)."""
    rhs = _moment_rhs(game, kind, eta, batch)
    size = game.d + game.d**2
    f = rhs(np.zeros(size))
    system = np.zeros((size + 1, size + 1))
    for j in range(size):
        e = np.zeros(size)
        e[j] = 1.0
        system[:size, j] = rhs(e) - f
    system[:size, size] = f
    return system


def _to_q(y: np.ndarray, d: int) -> np.ndarray:
    q = np.zeros((d + 1, d + 1))
    q[:d, :d] = y[d:].reshape(d, d)
    q[:d, d] = q[d, :d] = y[:d]
    q[d, d] = 1.0
    return q


def sde_moments_exact(
    game: AffineGame, gamma0, *, eta: float, batch: int, steps: int, kind: str
) -> np.ndarray:
    """Q(tη) = E ξξᵀ, ξ = (Γ, 1), t = 0..steps, of the SDE ``kind`` started at γ0: the moment
    ODE of :func:`moment_system`, propagated by expm(η·system)."""
    gamma0 = np.asarray(gamma0, dtype=float)
    d = game.d
    propagator = scipy.linalg.expm(eta * moment_system(game, kind, eta, batch))
    y = np.concatenate([gamma0, np.outer(gamma0, gamma0).ravel(), [1.0]])
    out = [_to_q(y[:-1], d)]
    for _ in range(int(steps)):
        y = propagator @ y
        out.append(_to_q(y[:-1], d))
    return np.array(out)


def sde_moments_ode(
    game: AffineGame, gamma0, *, eta: float, batch: int, t_final: float, kind: str, rtol: float
) -> np.ndarray:
    """Q(t_final) by ``solve_ivp`` (DOP853) on the same moment equations (validates the above)."""
    from scipy.integrate import solve_ivp

    gamma0 = np.asarray(gamma0, dtype=float)
    rhs = _moment_rhs(game, kind, eta, batch)
    y0 = np.concatenate([gamma0, np.outer(gamma0, gamma0).ravel()])
    sol = solve_ivp(
        lambda t, y: rhs(y), (0.0, t_final), y0, method="DOP853", rtol=rtol, atol=rtol * 1e-3
    )
    return _to_q(sol.y[:, -1], game.d)


def sga_moments_enumerated(
    game: AffineGame, gamma0, *, eta: float, batch: int, steps: int, scheme: str
) -> np.ndarray:
    """Exact Q_t = E ξ_tξ_tᵀ, t = 0..steps, of (ALT)/(SML) by enumerating the mini-batches.

    A batch is a tuple of B indices drawn i.i.d. uniformly from the n pairs (Section 2.2): all
    n^B tuples are equally likely.  The block update ω' = ω + η g_ω^β(γ) (or θ' = θ − ηg_θ^β)
    is ξ' = T_β ξ; E[ξ'ξ'ᵀ] = mean_β T_β Q T_βᵀ.  (ALT): the ω update with β, then the θ update
    at (θ, ω') with an independent β̄; (SML): both blocks with one β at (θ, ω).
    """
    gamma0 = np.asarray(gamma0, dtype=float)
    d, n = game.d, game.n
    tuples = np.array(list(itertools.product(range(n), repeat=int(batch))))
    a_b = game.slopes[tuples].mean(1)
    c_b = game.offsets[tuples].mean(1)
    affine = np.concatenate([a_b, c_b[:, :, None]], axis=2)  # (n^B, d, d+1)
    theta = np.arange(d) < game.d_theta

    def maps(rows: np.ndarray) -> np.ndarray:
        t = np.broadcast_to(np.eye(d + 1), (len(tuples), d + 1, d + 1)).copy()
        t[:, :d, :] += eta * rows[None, :, None] * affine
        return t

    if scheme == "sml":
        stages = [maps(game.signs)]
    elif scheme == "alt":
        stages = [maps(np.where(theta, 0.0, 1.0)), maps(np.where(theta, -1.0, 0.0))]
    else:
        raise ValueError(scheme)
    xi = np.append(gamma0, 1.0)
    q = np.outer(xi, xi)
    out = [q]
    for _ in range(int(steps)):
        for t in stages:
            q = np.einsum("bij,jk,blk->il", t, q, t) / len(tuples)
        out.append(q)
    return np.array(out)


def stationary_moments_lyapunov(
    game: AffineGame, kind: str, *, eta: float, batch: int, max_iter: int = 500
) -> tuple[np.ndarray, np.ndarray, int]:
    """(m*, C*, iterations) of the invariant measure of the SDE ``kind``.

    E b = 0 gives Mm* + v = 0; the covariance solves MC + CMᵀ + E a = 0 with
    E a = (η/B)·mask∘mean_k[Â_k C Â_kᵀ + u_k u_kᵀ], u_k = Â_k m* + ĉ_k (centred per-sample
    gradients at the mean).  C is found by the fixed point C ← lyap(M, −E a(C)), each step one
    Bartels–Stewart solve; it converges when the moments are stable (the multiplicative part is
    a contraction), to a relative change of 4 eps.
    """
    m_mat, v = drift_affine(game, kind, eta)
    mean = np.linalg.solve(m_mat, -v)
    ac, cc = game.centred()
    u = np.einsum("kij,j->ki", ac, mean) + cc
    additive = np.einsum("ki,kj->ij", u, u) / game.n
    scale = (eta / batch) * game.mask
    cov = np.zeros((game.d, game.d))
    for iteration in range(1, max_iter + 1):
        noise = scale * (np.einsum("kij,jl,kml->im", ac, cov, ac) / game.n + additive)
        new = scipy.linalg.solve_continuous_lyapunov(m_mat, -noise)
        new = 0.5 * (new + new.T)
        change = np.abs(new - cov).max()
        cov = new
        if change <= 4 * EPS * np.abs(cov).max():
            return mean, cov, iteration
    msg = "the Lyapunov fixed point did not converge (moments unstable?)"
    raise RuntimeError(msg)


def fdr_sides(
    game: AffineGame, mean: np.ndarray, cov: np.ndarray, *, eta: float, batch: int
) -> dict[str, float]:
    """Both sides of (FDR1) and (FDR2) under a law with mean ``mean`` and covariance ``cov``.

    With ∇Φ = Āγ + c̄ (H = Ā = ∇²Φ), ḡ = Ām + c̄, u_k = Â_k m + ĉ_k, β⁻¹ = η/(2B):
    E‖g_b‖² = tr(Ā_b C Ā_bᵀ) + ‖ḡ_b‖²; E tr(Σ_b H_bb) = mean_k tr(H_bb(Â_kb C Â_kbᵀ + u_kb u_kbᵀ));
    E g_bᵀH_bb g_b = tr(H_bb Ā_b C Ā_bᵀ) + ḡ_bᵀH_bb ḡ_b; E γ_bᵀg_b = tr(Ā_b E[γγ_bᵀ]) + m_bᵀc̄_b;
    E tr Σ_b = mean_k(tr(Â_kb C Â_kbᵀ) + ‖u_kb‖²), for the blocks b = θ, ω.
    ``alt_fdr2_gap`` = ηE[γ·b1] (Itô for ‖γ‖²/2 under the ALT-SDE), b1 = (b_alt − b0)/η.
    """
    abar, cbar = game.slopes.mean(0), game.offsets.mean(0)
    ac, cc = game.centred()
    second = cov + np.outer(mean, mean)
    gbar = abar @ mean + cbar
    u = np.einsum("kij,j->ki", ac, mean) + cc
    p = game.d_theta
    terms = {}
    for name, b in (("theta", slice(0, p)), ("omega", slice(p, game.d))):
        a_b, h_bb = abar[b], abar[b, b]
        noise_cov = np.einsum("kij,jl,kml->kim", ac[:, b], cov, ac[:, b]) + np.einsum(
            "ki,kj->kij", u[:, b], u[:, b]
        )
        terms[name] = {
            "grad2": np.trace(a_b @ cov @ a_b.T) + gbar[b] @ gbar[b],
            "trace_sigma_h": np.einsum("ij,kji->", h_bb, noise_cov) / game.n,
            "curvature": np.trace(h_bb @ a_b @ cov @ a_b.T) + gbar[b] @ h_bb @ gbar[b],
            "inner": np.trace(a_b @ second[:, b]) + mean[b] @ cbar[b],
            "trace_sigma": np.einsum("kii->", noise_cov) / game.n,
        }
    t, w = terms["theta"], terms["omega"]
    inverse_beta = eta / (2 * batch)
    m_alt, v_alt = drift_affine(game, "alt", eta)
    m_sml, v_sml = drift_affine(game, "sml", eta)
    b1_m, b1_v = (m_alt - m_sml) / eta, (v_alt - v_sml) / eta
    return {
        "fdr1_lhs": t["grad2"] - w["grad2"],
        "fdr1_rhs_sml": inverse_beta * (t["trace_sigma_h"] + w["trace_sigma_h"]),
        "fdr1_rhs_alt": inverse_beta * (t["trace_sigma_h"] + w["trace_sigma_h"])
        - 0.5 * eta * (t["curvature"] + w["curvature"]),
        "fdr2_lhs": t["inner"] - w["inner"],
        "fdr2_rhs": inverse_beta * (t["trace_sigma"] + w["trace_sigma"]),
        "alt_fdr2_gap": eta * (np.trace(b1_m @ second) + mean @ b1_v),
    }


def gaussian_density(points: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """The N(mean, cov) density at ``(P, d)`` points."""
    diff = points - mean
    inverse = np.linalg.inv(cov)
    quad = np.einsum("pi,ij,pj->p", diff, inverse, diff)
    norm = math.sqrt((2 * math.pi) ** len(mean) * np.linalg.det(cov))
    return np.exp(-0.5 * quad) / norm


# ------------------------------------------------------------ the nonlinear tanh GAN (1 + 1)


@dataclass(frozen=True)
class TanhGAN:
    """G_θ(z) = θ + z, D_ω(x) = tanh(ωx) + κx²/2, weight decay λ (the GAN of ``tanh_gan_loss``
    with one θ and one ω), with closed-form derivatives.

    J = tanh(ωx) − tanh(ωg) + κ(x² − g²)/2 + λ(θ² − ω²)/2, g = θ + z, s = sech²:
    J_θ = −ωs(ωg) − κg + λθ,  J_ω = xs(ωx) − gs(ωg) − λω,
    J_θθ = −ω²s'(ωg) − κ + λ,  J_θω = −s(ωg) − ωg s'(ωg),  J_ωω = x²s'(ωx) − g²s'(ωg) − λ,
    with s'(u) = −2 tanh(u) s(u).
    """

    x: np.ndarray
    z: np.ndarray
    curvature: float
    weight_decay: float

    def _pairs(self) -> tuple[np.ndarray, np.ndarray]:
        return _pairs(self.x, self.z)

    def per_sample(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(g (P, n, 2), ∇g (P, n, 2, 2)): per-sample gradients and Hessians at ``(P, 2)``."""
        xj, zi = self._pairs()
        kappa, lam = self.curvature, self.weight_decay
        theta, omega = points[:, 0:1], points[:, 1:2]
        g = theta + zi[None, :]
        ug, ux = omega * g, omega * xj[None, :]
        sg, sx = 1.0 / np.cosh(ug) ** 2, 1.0 / np.cosh(ux) ** 2
        dsg, dsx = -2.0 * np.tanh(ug) * sg, -2.0 * np.tanh(ux) * sx
        grad = np.stack(
            [-omega * sg - kappa * g + lam * theta, xj * sx - g * sg - lam * omega], axis=-1
        )
        h_tt = -(omega**2) * dsg - kappa + lam
        h_tw = -sg - ug * dsg
        h_ww = xj**2 * dsx - g**2 * dsg - lam
        hess = np.stack([np.stack([h_tt, h_tw], -1), np.stack([h_tw, h_ww], -1)], -2)
        return grad, hess

    def drift(self, points: np.ndarray, kind: str, eta: float) -> np.ndarray:
        """b0 = (−g_θ, g_ω) (9); ALT: + η(−½∇b0·b0 − (∇_ωg_θ·g_ω, 0)) (second line of (10))."""
        grad, hess = self.per_sample(points)
        g, h = grad.mean(1), hess.mean(1)
        b0 = np.stack([-g[:, 0], g[:, 1]], -1)
        if kind == "sml":
            return b0
        jac = np.stack([-h[:, 0], h[:, 1]], 1)  # ∇b0 = S∇²Φ
        directional = np.einsum("pij,pj->pi", jac, b0)
        b1 = -0.5 * directional
        b1[:, 0] -= h[:, 0, 1] * g[:, 1]
        return b0 + eta * b1

    def diffusion_diagonal(self, points: np.ndarray, eta: float, batch: int) -> np.ndarray:
        """(a_θθ, a_ωω) = (η/B)(Var_k J_θ, Var_k J_ω) (population variances; a is diagonal)."""
        grad, _ = self.per_sample(points)
        return (eta / batch) * grad.var(axis=1)

    def divergence(self, points: np.ndarray, eta: float, batch: int) -> np.ndarray:
        """∇·a = (∂_θ a_θθ, ∂_ω a_ωω) = (η/B)·2 Cov_k(J_i, ∂_i J_i)."""
        grad, hess = self.per_sample(points)
        diag = np.stack([hess[:, :, 0, 0], hess[:, :, 1, 1]], -1)
        centred = grad - grad.mean(1, keepdims=True)
        return (eta / batch) * 2.0 * (centred * diag).mean(1)

    def fdr_integrands(self, points: np.ndarray, eta: float, batch: int) -> dict[str, np.ndarray]:
        """The integrands of FDR1/FDR2 at ``(P, 2)`` points (d_θ = d_ω = 1, β⁻¹ = η/(2B))."""
        grad, hess = self.per_sample(points)
        g, h = grad.mean(1), hess.mean(1)
        var = grad.var(axis=1)
        inverse_beta = eta / (2 * batch)
        trace = var[:, 0] * h[:, 0, 0] + var[:, 1] * h[:, 1, 1]
        curvature = g[:, 0] ** 2 * h[:, 0, 0] + g[:, 1] ** 2 * h[:, 1, 1]
        return {
            "fdr1_lhs": g[:, 0] ** 2 - g[:, 1] ** 2,
            "fdr1_rhs_sml": inverse_beta * trace,
            "fdr1_rhs_alt": inverse_beta * trace - 0.5 * eta * curvature,
            "fdr2_lhs": points[:, 0] * g[:, 0] - points[:, 1] * g[:, 1],
            "fdr2_rhs": inverse_beta * var.sum(1),
        }


def equilibrium(model: TanhGAN, start, *, iterations: int = 60) -> np.ndarray:
    """The zero of b0 by Newton's method with the closed-form Jacobian ∇b0 = S∇²Φ."""
    gamma = np.asarray(start, dtype=float)
    for _ in range(iterations):
        b0 = model.drift(gamma[None], "sml", 1.0)[0]
        _, hess = model.per_sample(gamma[None])
        h = hess.mean(1)[0]
        jac = np.array([-h[0], h[1]])
        step = np.linalg.solve(jac, -b0)
        gamma = gamma + step
        if np.abs(step).max() <= 4 * EPS * (1 + np.abs(gamma).max()):
            break
    return gamma


# ------------------------------------------------------- stationary Fokker–Planck, finite volumes


@dataclass(frozen=True)
class GridDensity:
    """Cell values of the finite-volume density, cell centres and moments (midpoint rule)."""

    centres: tuple[np.ndarray, np.ndarray]
    values: np.ndarray
    cell_area: float
    mean: np.ndarray
    covariance: np.ndarray

    def expectation(self, function: Callable[[np.ndarray], np.ndarray]) -> float:
        """∫ f p dγ by the midpoint rule, f a function of ``(P, 2)`` points."""
        xx, yy = np.meshgrid(*self.centres, indexing="ij")
        points = np.stack([xx.ravel(), yy.ravel()], -1)
        return float(np.sum(function(points) * self.values.ravel()) * self.cell_area)


def finite_volume_density(
    drift: Callable[[np.ndarray], np.ndarray],
    diffusion_diagonal: Callable[[np.ndarray], np.ndarray],
    box: tuple[tuple[float, float], tuple[float, float]],
    cells: int,
) -> GridDensity:
    """The zero-flux stationary density of dγ = b dt + σdW, a = σσᵀ diagonal, on a 2D box.

    Conservative form: the flux F_i = b_i p − ½∂_i(a_ii p) has zero divergence and zero normal
    component on the boundary.  Cell-centred grid with ``cells`` × ``cells`` cells; the face
    flux is b(face)·(p_L + p_R)/2 − (a_R p_R − a_L p_L)/(2h) (second order); the discrete
    balances sum to zero, so the centre cell's is replaced by p = 1 there, and p is
    normalised to ∑ p h_x h_y = 1 afterwards.
    """
    (x0, x1), (y0, y1) = box
    hx, hy = (x1 - x0) / cells, (y1 - y0) / cells
    xc = x0 + hx * (np.arange(cells) + 0.5)
    yc = y0 + hy * (np.arange(cells) + 0.5)
    xx, yy = np.meshgrid(xc, yc, indexing="ij")
    centres = np.stack([xx.ravel(), yy.ravel()], -1)
    a = diffusion_diagonal(centres).reshape(cells, cells, 2)
    index = np.arange(cells * cells).reshape(cells, cells)
    rows, cols, vals = [], [], []

    def add_faces(axis: int, h: float, across: float) -> None:
        # interior faces between cell L (lower index along axis) and R
        if axis == 0:
            left, right = index[:-1, :], index[1:, :]
            fx, fy = np.meshgrid(xc[:-1] + 0.5 * hx, yc, indexing="ij")
            a_l, a_r = a[:-1, :, 0], a[1:, :, 0]
        else:
            left, right = index[:, :-1], index[:, 1:]
            fx, fy = np.meshgrid(xc, yc[:-1] + 0.5 * hy, indexing="ij")
            a_l, a_r = a[:, :-1, 1], a[:, 1:, 1]
        faces = np.stack([fx.ravel(), fy.ravel()], -1)
        b = drift(faces)[:, axis]
        # flux from L to R: coefficient of p_L and of p_R (times the face length `across`)
        c_l = (0.5 * b + 0.5 * a_l.ravel() / h) * across
        c_r = (0.5 * b - 0.5 * a_r.ravel() / h) * across
        left, right = left.ravel(), right.ravel()
        # outflow of L increases by the flux; outflow of R decreases by it
        for cell, sign in ((left, 1.0), (right, -1.0)):
            rows.extend([cell, cell])
            cols.extend([left, right])
            vals.extend([sign * c_l, sign * c_r])

    add_faces(0, hx, hy)
    add_faces(1, hy, hx)
    rows, cols, vals = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    # the balance of the centre cell is replaced by p = 1 there (a sparse row), then ∑p = 1
    pinned = index[cells // 2, cells // 2]
    keep = rows != pinned
    matrix = sp.csc_matrix(
        (
            np.append(vals[keep], 1.0),
            (np.append(rows[keep], pinned), np.append(cols[keep], pinned)),
        ),
        shape=(cells * cells, cells * cells),
    )
    rhs = np.zeros(cells * cells)
    rhs[pinned] = 1.0
    values = scipy.sparse.linalg.spsolve(matrix, rhs)
    values = values / (values.sum() * hx * hy)
    weights = values * hx * hy
    mean = weights @ centres
    centred = centres - mean
    cov = np.einsum("p,pi,pj->ij", weights, centred, centred)
    return GridDensity((xc, yc), values.reshape(cells, cells), hx * hy, mean, cov)
