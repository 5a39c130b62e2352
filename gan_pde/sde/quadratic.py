"""Quadratic GAN losses whose SGA and SDE moment equations close (paper 000, Section 3).

For a per-sample loss :math:`J_k(\\gamma) = \\tfrac12\\gamma^T H_k\\gamma + h_k^T\\gamma`,
:math:`\\gamma = (\\theta, \\omega)`, every per-sample gradient is affine in γ, so one SGA
step is a random affine map and the SDE drift is affine with a covariance quadratic in γ.
The first two moments of γ then follow exact recursions (SGA) and exact linear ODEs (SDE):
weak errors :math:`|\\mathbb E f(\\gamma_N) - \\mathbb E f(\\Gamma_{N\\eta})|` for quadratic f
come without Monte-Carlo noise.  Everything here is numpy; torch is not needed.

Moments are carried in the augmented vector :math:`\\xi = (\\gamma, 1)`: the matrix
:math:`Q = \\mathbb E[\\xi\\xi^T]` holds the mean (last column) and the second moments.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from gan_pde._arrays import as_choice, as_finite_array, as_positive
from gan_pde.errors import InvalidInputError, NumericalBreakdownError

__all__ = [
    "SCHEMES",
    "SDE_KINDS",
    "NonDissipativeWarning",
    "QuadraticGame",
    "location_gan",
    "moments_of",
    "location_scale_wgan",
]

logger = logging.getLogger(__name__)

#: SGA schemes: alternating (ALT) and simultaneous (SML) updates.
SCHEMES = ("alt", "sml")
#: SDEs: (ALT-SDE) with b = b0 + η b1, (SML-SDE) with b0, and the modified SML-SDE (14).
SDE_KINDS = ("alt", "sml", "sml2")


class NonDissipativeWarning(UserWarning):
    """An invariant measure was asked for where Theorem 4.1's dissipativity does not hold."""


def check_rate(eta: float) -> float:
    """η as a float; InvalidInputError unless 0 < η < ∞."""
    return as_positive(eta, "eta (the learning rate)")


def check_batch(batch_size: int, n_samples: int) -> int:
    """B as an int; InvalidInputError unless 1 ≤ B ≤ n_samples (the data size N·M)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        msg = f"batch_size must be an integer; got {batch_size!r}"
        raise InvalidInputError(msg)
    if not 1 <= batch_size <= n_samples:
        msg = (
            f"batch_size must lie in [1, {n_samples}] (the number of (z_i, x_j) pairs); "
            f"got {batch_size}"
        )
        raise InvalidInputError(msg)
    return int(batch_size)


@dataclass(frozen=True)
class QuadraticGame:
    """Per-sample quadratic losses :math:`J_k = \\tfrac12\\gamma^TH_k\\gamma + h_k^T\\gamma`.

    Φ(θ, ω) = mean_k J_k (paper 000, eq. (2)) with γ = (θ, ω), θ the first ``d_theta``
    coordinates.  The generator minimises Φ, the discriminator maximises it.

    Parameters
    ----------
    hessians
        ``(n, d, d)`` symmetric per-sample Hessians H_k.
    linear
        ``(n, d)`` per-sample gradients at γ = 0, h_k.
    d_theta
        Number of generator parameters (1 ≤ d_theta < d).

    Examples
    --------
    >>> game = location_gan([0.5, 1.5], [-1.0, 1.0], curvature=0.5, weight_decay=1.0)
    >>> game.dimension, game.n_samples
    (2, 4)
    """

    hessians: np.ndarray
    linear: np.ndarray
    d_theta: int

    def __post_init__(self) -> None:
        hessians = as_finite_array(self.hessians, "hessians", shape=(None, None, None))
        if hessians.shape[1] != hessians.shape[2]:
            msg = f"hessians must have shape (n, d, d); got {hessians.shape}"
            raise InvalidInputError(msg)
        linear = as_finite_array(self.linear, "linear", shape=hessians.shape[:2])
        if not np.allclose(hessians, hessians.transpose(0, 2, 1), atol=1e-12):
            msg = "hessians must be symmetric (they are Hessians of the per-sample losses)"
            raise InvalidInputError(msg)
        d = hessians.shape[1]
        if not 1 <= int(self.d_theta) < d:
            msg = f"d_theta must lie in [1, {d - 1}]; got {self.d_theta}"
            raise InvalidInputError(msg)
        object.__setattr__(self, "hessians", hessians)
        object.__setattr__(self, "linear", linear)
        object.__setattr__(self, "d_theta", int(self.d_theta))

    @property
    def dimension(self) -> int:
        """d = d_θ + d_ω."""
        return self.hessians.shape[1]

    @property
    def n_samples(self) -> int:
        """Number of per-sample terms (the N·M pairs)."""
        return self.hessians.shape[0]

    @property
    def signs(self) -> np.ndarray:
        """The diagonal of S = diag(−I_θ, I_ω): b0 = S ∇Φ (eq. (9))."""
        s = np.ones(self.dimension)
        s[: self.d_theta] = -1.0
        return s

    def _augmented(self) -> np.ndarray:
        """``(n, d+1, d+1)`` per-sample K_k = [[H_k, h_k], [0, 0]]: g_k(γ) = K_k ξ."""
        n, d = self.linear.shape
        k = np.zeros((n, d + 1, d + 1))
        k[:, :d, :d] = self.hessians
        k[:, :d, d] = self.linear
        return k

    def gradient(self, gamma: np.ndarray) -> np.ndarray:
        """∇Φ(γ) = H̄γ + h̄ for ``(..., d)`` points."""
        return gamma @ self.hessians.mean(0).T + self.linear.mean(0)

    def loss(self, gamma: np.ndarray) -> np.ndarray:
        """Φ(γ) for ``(..., d)`` points."""
        hbar = self.hessians.mean(0)
        return 0.5 * np.einsum("...i,ij,...j->...", gamma, hbar, gamma) + gamma @ self.linear.mean(
            0
        )

    def covariances(self, gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(Σ_θ(γ), Σ_ω(γ)): covariances of the per-sample gradients (Section 3.1)."""
        g = np.einsum("kij,j->ki", self.hessians, gamma) + self.linear
        centred = g - g.mean(0)
        full = centred.T @ centred / self.n_samples
        p = self.d_theta
        return full[:p, :p], full[p:, p:]

    def drift_matrix(self, kind: str, eta: float) -> tuple[np.ndarray, np.ndarray]:
        """(M, v) with the SDE drift b(γ) = Mγ + v.

        ``"sml"``: b0 = S(H̄γ + h̄) (eq. (9)).  ``"alt"``: b0 + η b1 with
        b1 = ½ R b0, R = [[H_θθ, −H_θω], [−H_ωθ, −H_ωω]] (eq. (10)).  ``"sml2"``:
        b0 − (η/2) ∇b0 b0 (eq. (14)), ∇b0 = S H̄.
        """
        as_choice(kind, "kind", SDE_KINDS)
        eta = check_rate(eta)
        s = np.diag(self.signs)
        hbar = self.hessians.mean(0)
        m0, v0 = s @ hbar, s @ self.linear.mean(0)
        eye = np.eye(self.dimension)
        if kind == "sml":
            return m0, v0
        if kind == "alt":
            r = -hbar.copy()
            p = self.d_theta
            r[:p, :p] = hbar[:p, :p]
            factor = eye + 0.5 * eta * r
        else:
            factor = eye - 0.5 * eta * m0
        return factor @ m0, factor @ v0

    def _sga_map(self, q: np.ndarray, sign: np.ndarray, eta: float, batch: int) -> np.ndarray:
        """E[(I + ηŜK^B) Q (I + ηŜK^B)^T] for one mini-batch mean K^B of B i.i.d. samples."""
        k = self._augmented()
        kbar = k.mean(0)
        s = np.append(sign, 0.0)[:, None]
        mean_part = kbar @ q @ kbar.T
        second = (
            mean_part + (np.einsum("kij,jl,kml->im", k, q, k) / self.n_samples - mean_part) / batch
        )
        first = s * (kbar @ q)
        return q + eta * (first + first.T) + eta**2 * (s * second * s.T)

    def sga_moments(
        self, gamma0: np.ndarray, *, eta: float, batch_size: int, steps: int, scheme: str = "alt"
    ) -> np.ndarray:
        """Exact Q_t = E[ξ_t ξ_t^T], t = 0..steps, of (ALT) or (SML) with i.i.d. batches.

        (SML): γ' = γ + η S g^B(γ).  (ALT): ω' = ω + η g_ω^B(θ, ω), then
        θ' = θ − η g_θ^{B̄}(θ, ω') with an independent batch B̄, so
        E[ξ'ξ'^T] = T_θ(T_ω(Q)) with T the one-batch map of :meth:`_sga_map`.
        The batch-mean second moments are E[K^B ⊗ K^B] = K̄⊗K̄ + Cov(K)/B.
        """
        eta = check_rate(eta)
        batch = check_batch(batch_size, self.n_samples)
        as_choice(scheme, "scheme", SCHEMES)
        q = self._initial(gamma0)
        out = [q]
        signs = self.signs
        theta_only = np.where(signs < 0, -1.0, 0.0)
        omega_only = np.where(signs > 0, 1.0, 0.0)
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(int(steps)):
                if scheme == "sml":
                    q = self._sga_map(q, signs, eta, batch)
                else:
                    q = self._sga_map(
                        self._sga_map(q, omega_only, eta, batch), theta_only, eta, batch
                    )
                out.append(_finite(q, "SGA moments"))
        return np.array(out)

    def _initial(self, gamma0: np.ndarray) -> np.ndarray:
        gamma0 = as_finite_array(gamma0, "gamma0", shape=(self.dimension,))
        xi = np.append(gamma0, 1.0)
        return np.outer(xi, xi)

    def moment_generator(self, kind: str, *, eta: float, batch_size: int) -> np.ndarray:
        """The matrix L with d vec(Q)/dt = L vec(Q) for the SDE ``kind``.

        dQ/dt = M̂Q + QM̂^T + (η/B)·blockdiag-part of mean_k (K_k − K̄) Q (K_k − K̄)^T,
        since σσ^T = (2/β) diag(Σ_θ, Σ_ω) with β = 2B/η (eq. (11)) and
        E Σ(γ) = mean_k (K_k − K̄) Q (K_k − K̄)^T.
        """
        batch = check_batch(batch_size, self.n_samples)
        m, v = self.drift_matrix(kind, eta)
        d = self.dimension
        mhat = np.zeros((d + 1, d + 1))
        mhat[:d, :d] = m
        mhat[:d, d] = v
        eye = np.eye(d + 1)
        generator = np.kron(mhat, eye) + np.kron(eye, mhat)
        centred = self._augmented() - self._augmented().mean(0)
        noise = np.einsum("kij,kml->imjl", centred, centred) / self.n_samples
        mask = np.zeros((d + 1, d + 1))
        p = self.d_theta
        mask[:p, :p] = 1.0
        mask[p:d, p:d] = 1.0
        noise = noise * mask[:, :, None, None]
        return generator + eta / batch * noise.reshape((d + 1) ** 2, (d + 1) ** 2)

    def sde_moments(
        self, gamma0: np.ndarray, *, eta: float, batch_size: int, steps: int, kind: str = "alt"
    ) -> np.ndarray:
        """Exact Q(tη), t = 0..steps, of the SDE ``kind`` started at γ0 (matrix exponential)."""
        eta = check_rate(eta)
        generator = self.moment_generator(kind, eta=eta, batch_size=batch_size)
        propagator = scipy.linalg.expm(eta * generator)
        q = self._initial(gamma0)
        shape = q.shape
        out = [q]
        vec = q.reshape(-1)
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(int(steps)):
                vec = _finite(propagator @ vec, "SDE moments")
                out.append(vec.reshape(shape))
        return np.array(out)

    def fokker_planck_coefficients(
        self, kind: str, *, eta: float, batch_size: int
    ) -> tuple[Callable, Callable, Callable]:
        """(b, a, ∇·a) of the SDE ``kind`` as numpy functions of ``(P, d)`` points.

        a(γ) = (η/B) blockdiag part of mean_k c_k c_k^T with c_k = (H_k − H̄)γ + (h_k − h̄);
        (∇·a)_i = (η/B) Σ_j mask_ij mean_k [(Ĥ_k)_ij c_kj + c_ki (Ĥ_k)_jj], Ĥ_k = H_k − H̄.
        """
        batch = check_batch(batch_size, self.n_samples)
        m, v = self.drift_matrix(kind, eta)
        hc = self.hessians - self.hessians.mean(0)
        lc = self.linear - self.linear.mean(0)
        p = self.d_theta
        mask = np.zeros((self.dimension, self.dimension))
        mask[:p, :p] = 1.0
        mask[p:, p:] = 1.0
        scale = eta / batch

        def drift(points: np.ndarray) -> np.ndarray:
            return points @ m.T + v

        def centred(points: np.ndarray) -> np.ndarray:
            return np.einsum("kij,Pj->Pki", hc, points) + lc

        def diffusion(points: np.ndarray) -> np.ndarray:
            c = centred(points)
            return scale * mask * np.einsum("Pki,Pkj->Pij", c, c) / self.n_samples

        def divergence(points: np.ndarray) -> np.ndarray:
            c = centred(points)
            diag = np.einsum("kjj->kj", hc)
            terms = np.einsum("kij,Pkj->Pij", hc, c) + np.einsum("Pki,kj->Pij", c, diag)
            return scale * (mask * terms).sum(-1) / self.n_samples

        return drift, diffusion, divergence

    def fdr_expectations(self, q: np.ndarray, *, eta: float, batch_size: int) -> dict[str, float]:
        """Both sides of (FDR1) and (FDR2) under a law with second-moment matrix Q.

        With g = K̄ξ and centred per-sample K̂_k: E‖g_θ‖² = tr(K̄_θQK̄_θ^T),
        E tr(Σ_θH_θθ) = mean_k tr(H_θθK̂_{k,θ}QK̂_{k,θ}^T), E θ^Tg_θ = tr(P_θ^TK̄_θQ); β = 2B/η.
        Keys as in :meth:`gan_pde.sde.coefficients.GANSDE.fdr_terms`.
        """
        eta = check_rate(eta)
        batch = check_batch(batch_size, self.n_samples)
        k = self._augmented()[:, :-1, :]
        kbar = k.mean(0)
        kc = k - kbar
        hbar = self.hessians.mean(0)
        p = self.d_theta
        blocks = {"theta": slice(0, p), "omega": slice(p, self.dimension)}
        out = {}
        for name, block in blocks.items():
            kb, h = kbar[block], hbar[block, block]
            select = np.eye(self.dimension + 1)[block]
            out[f"grad_{name}"] = np.trace(kb @ q @ kb.T)
            out[f"trace_{name}"] = np.einsum("ij,kjl,lm,kim->", h, kc[:, block], q, kc[:, block])
            out[f"curv_{name}"] = np.trace(h @ kb @ q @ kb.T)
            out[f"inner_{name}"] = np.trace(select.T @ kb @ q)
            out[f"cov_{name}"] = np.einsum("kil,lm,kim->", kc[:, block], q, kc[:, block])
        inverse_beta = eta / (2 * batch)
        n = self.n_samples
        trace = (out["trace_theta"] + out["trace_omega"]) / n
        return {
            "fdr1_lhs": out["grad_theta"] - out["grad_omega"],
            "fdr1_rhs_sml": inverse_beta * trace,
            "fdr1_rhs_alt": inverse_beta * trace
            - 0.5 * eta * (out["curv_theta"] + out["curv_omega"]),
            "fdr2_lhs": out["inner_theta"] - out["inner_omega"],
            "fdr2_rhs": inverse_beta * (out["cov_theta"] + out["cov_omega"]) / n,
        }

    def is_dissipative(self, kind: str = "alt", *, eta: float = 0.0) -> bool:
        """Theorem 4.1(b) for the affine drift Mγ + v: the symmetric part of M is negative
        definite (then γ·b(γ) ≤ −r‖γ‖ for ‖γ‖ large)."""
        m, _ = self.drift_matrix(kind, eta) if eta > 0 else self.drift_matrix("sml", 1.0)
        return bool(np.linalg.eigvalsh(0.5 * (m + m.T)).max() < 0)

    def stationary_moments(self, kind: str, *, eta: float, batch_size: int) -> np.ndarray:
        """Q* with L vec(Q*) = 0 and Q*[d, d] = 1: the invariant measure's first two moments.

        Warns :class:`NonDissipativeWarning` when the drift is not dissipative (Theorem 4.1
        does not apply; the moments may not exist) and raises NumericalBreakdownError when the
        moment equations have no stable stationary point.
        """
        if not self.is_dissipative(kind, eta=eta):
            msg = (
                f"the {kind.upper()}-SDE drift is not dissipative (symmetric part of its matrix "
                "is not negative definite): Theorem 4.1 does not guarantee an invariant measure"
            )
            warnings.warn(msg, NonDissipativeWarning, stacklevel=2)
        generator = self.moment_generator(kind, eta=eta, batch_size=batch_size)
        d1 = self.dimension + 1
        if np.linalg.eigvals(generator).real.max() > 1e-12 * np.abs(generator).max():
            msg = "the second moments grow without bound: there is no invariant measure"
            raise NumericalBreakdownError(msg)
        e = np.zeros(d1 * d1)
        e[-1] = 1.0
        system = np.vstack([generator, e])
        rhs = np.append(np.zeros(d1 * d1), 1.0)
        vec, *_ = np.linalg.lstsq(system, rhs, rcond=None)
        q = vec.reshape(d1, d1)
        return 0.5 * (q + q.T)


def moments_of(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, covariance) from an augmented second-moment matrix Q (or a stack of them)."""
    mean = q[..., :-1, -1]
    second = q[..., :-1, :-1]
    return mean, second - mean[..., :, None] * mean[..., None, :]


def _finite(values: np.ndarray, what: str) -> np.ndarray:
    if not np.all(np.isfinite(values)):
        msg = f"{what} became NaN/Inf (the step η is too large for this loss)"
        raise NumericalBreakdownError(msg)
    return values


def _data(values, name: str) -> np.ndarray:
    array = as_finite_array(values, name).reshape(-1)
    if array.size < 1:
        msg = f"{name} must be a non-empty array of samples; got {values!r}"
        raise InvalidInputError(msg)
    return array


def location_gan(x, z, *, curvature: float, weight_decay: float) -> QuadraticGame:
    """1D GAN with G_θ(z) = θ + z and D_ω(x) = ωx + (κ/2)x², WGAN loss and weight decay.

    .. math:: J(D(x_j), D(G(z_i))) = D_\\omega(x_j) - D_\\omega(G_\\theta(z_i))
              + \\tfrac\\lambda2(\\theta^2 - \\omega^2),

    so g_θ = −ω − κ(θ + z_i) + λθ and g_ω = x_j − θ − z_i − λω: the noise is additive
    (Σ_θ = κ² Var z, Σ_ω = Var x + Var z) and the drift is dissipative iff λ > κ.
    """
    x, z = _data(x, "x"), _data(z, "z")
    kappa, lam = float(curvature), float(weight_decay)
    zi = np.repeat(z, x.size)
    xj = np.tile(x, z.size)
    n = zi.size
    h = np.array([[lam - kappa, -1.0], [-1.0, -lam]])
    hessians = np.broadcast_to(h, (n, 2, 2)).copy()
    linear = np.stack([-kappa * zi, xj - zi], axis=1)
    return QuadraticGame(hessians, linear, 1)


def location_scale_wgan(x, z, *, weight_decay: float) -> QuadraticGame:
    """1D WGAN with G_θ(z) = θ_1 + θ_2 z, D_ω(x) = ωx and weight decay (multiplicative noise).

    .. math:: J = \\omega x_j - \\omega(\\theta_1 + \\theta_2 z_i)
              + \\tfrac\\lambda2(\\|\\theta\\|^2 - \\omega^2),

    g_θ = (−ω + λθ_1, −ωz_i + λθ_2), g_ω = x_j − θ_1 − θ_2 z_i − λω: Σ_θ depends on ω and
    Σ_ω on θ_2 (multiplicative noise).
    """
    x, z = _data(x, "x"), _data(z, "z")
    lam = float(weight_decay)
    zi = np.repeat(z, x.size)
    xj = np.tile(x, z.size)
    n = zi.size
    hessians = np.zeros((n, 3, 3))
    hessians[:, 0, 0] = lam
    hessians[:, 1, 1] = lam
    hessians[:, 2, 2] = -lam
    hessians[:, 0, 2] = hessians[:, 2, 0] = -1.0
    hessians[:, 1, 2] = hessians[:, 2, 1] = -zi
    linear = np.zeros((n, 3))
    linear[:, 2] = xj
    return QuadraticGame(hessians, linear, 2)
