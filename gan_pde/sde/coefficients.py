"""SDE coefficients of GAN training from a torch loss (paper 000, eqs. (7)–(11)).

For a per-sample loss :math:`J(D_\\omega(x_j), D_\\omega(G_\\theta(z_i)))` written as a torch
function ``loss(theta, omega, x, z)`` of flat parameter vectors and one data pair,
:class:`GANSDE` evaluates

.. math::
    b_0 = \\begin{pmatrix} -g_\\theta \\\\ g_\\omega \\end{pmatrix}\\ (9), \\qquad
    b_1 = \\frac12 \\begin{pmatrix} \\nabla_\\theta g_\\theta & -\\nabla_\\omega g_\\theta \\\\
          -\\nabla_\\theta g_\\omega & -\\nabla_\\omega g_\\omega \\end{pmatrix} b_0\\ (10), \\qquad
    \\sigma = \\sqrt{2/\\beta}\\,
    \\mathrm{diag}(\\Sigma_\\theta^{1/2}, \\Sigma_\\omega^{1/2})\\ (11),

with β = 2B/η.  b1 comes from two Hessian–vector products (reverse-over-reverse:
``torch.func.vjp`` of ``torch.func.grad``, using the symmetry of ∇²Φ; one linearisation
serves both products and also yields b0), never a dense Hessian: with v = b0 = (v_θ, v_ω),
p = H(v_θ, −v_ω) and q = H(v_θ, v_ω), b1 = ½(p_θ, −q_ω).  The one-step Taylor expansion of
(ALT), ω' = ω + ηg_ω, θ' = θ − ηg_θ(θ, ω'), gives E Δ = ηb0 + η²(−∇_ωg_θ g_ω, 0) + O(η³);
the SDE gives ηb + (η²/2)∇b0 b0 + O(η³); matching them gives (10), i.e.
b1 = −½∇b0 b0 − (∇_ωg_θ g_ω, 0).  The modified SML-SDE (14) uses −½∇b0 b0 = ½(q_θ, −q_ω).
The noise σ dW is sampled without forming Σ^{1/2}: with the centred per-sample gradients
C (n × d), √(2/β)·n^{-1/2}·C^T ξ, ξ ~ N(0, I_n), has covariance (2/β)Σ (θ and ω blocks
drawn independently, as in (11)).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from gan_pde._arrays import as_positive_int
from gan_pde.errors import InvalidInputError, NumericalBreakdownError
from gan_pde.sde._torch import require_torch
from gan_pde.sde.quadratic import SDE_KINDS, check_batch, check_rate

__all__ = ["GANSDE", "mlp_gan", "tanh_gan_loss"]


def tanh_gan_loss(
    theta: Any, omega: Any, x: Any, z: Any, *, weight_decay: float = 0.0, curvature: float = 0.0
) -> Any:
    """A small nonlinear GAN of Section 4.2: G_θ(z) = θ_1 + θ_2 z, D_ω(x) = tanh(ω_1 x + ω_2).

    .. math:: J = D_\\omega(x) - D_\\omega(G_\\theta(z)) + \\tfrac\\kappa2(x^2 - G_\\theta(z)^2)
              + \\tfrac\\lambda2(\\|\\theta\\|^2 - \\|\\omega\\|^2)

    (WGAN loss, bounded discriminator, weight decay λ making the drift dissipative; the
    fixed quadratic part κ keeps Σ_θ non-degenerate).  With one θ or one ω coordinate the
    missing ones are 0 (G_θ(z) = θ_1 + z, D_ω(x) = tanh(ω_1 x)).
    """
    scale = theta[1] if theta.shape[0] > 1 else 1.0
    generated = theta[0] + scale * z
    shift = omega[1] if omega.shape[0] > 1 else 0.0
    real = x
    value = (
        (real * omega[0] + shift).tanh()
        - (generated * omega[0] + shift).tanh()
        + 0.5 * curvature * (real**2 - generated**2)
    )
    return value.sum() + 0.5 * weight_decay * ((theta**2).sum() - (omega**2).sum())


class GANSDE:
    """The SML-SDE (7) and ALT-SDE (8) of a GAN loss Φ(θ, ω) = mean_{i,j} J (paper 000, (2)).

    Parameters
    ----------
    loss
        ``loss(theta, omega, x, z) -> scalar tensor``: the per-sample term J for one pair
        (x_j, z_i); ``theta``/``omega`` are flat float64 vectors.  Written with torch
        operations that ``torch.func`` can transform (no in-place updates, no ``.item()``).
    x, z
        Real data (M, ...) and latent samples (N, ...); Φ averages over all N·M pairs.
    d_theta, d_omega
        Numbers of generator and discriminator parameters.

    Examples
    --------
    >>> import torch
    >>> x = torch.linspace(0.5, 1.5, 4, dtype=torch.float64)
    >>> z = torch.linspace(-1.0, 1.0, 3, dtype=torch.float64)
    >>> sde = GANSDE(tanh_gan_loss, x, z, d_theta=2, d_omega=2)
    >>> gamma = torch.tensor([0.1, 1.0, 0.5, 0.0], dtype=torch.float64)
    >>> sde.drift(gamma, eta=0.1, kind="alt").shape
    torch.Size([4])
    """

    def __init__(
        self, loss: Callable[..., Any], x: Any, z: Any, *, d_theta: int, d_omega: int
    ) -> None:
        torch = require_torch()
        self._torch = torch
        if not callable(loss):
            msg = f"loss must be callable loss(theta, omega, x, z); got {loss!r}"
            raise InvalidInputError(msg)
        d_theta = as_positive_int(d_theta, "d_theta")
        d_omega = as_positive_int(d_omega, "d_omega")
        x = torch.as_tensor(x, dtype=torch.float64)
        z = torch.as_tensor(z, dtype=torch.float64)
        for name, data in (("x", x), ("z", z)):
            if data.ndim < 1 or data.shape[0] < 1 or not bool(torch.isfinite(data).all()):
                shape = tuple(data.shape)
                msg = f"{name} must be a non-empty finite array of samples; got shape {shape}"
                raise InvalidInputError(msg)
        self.loss = loss
        self.d_theta = d_theta
        self.d_omega = d_omega
        self.x_pairs = x.repeat((z.shape[0],) + (1,) * (x.ndim - 1))
        self.z_pairs = z.repeat_interleave(x.shape[0], dim=0)
        func = torch.func
        self._per_sample = func.vmap(self._term, in_dims=(None, 0, 0))
        self._per_sample_grad = func.vmap(func.grad(self._term), in_dims=(None, 0, 0))
        self._grad = func.grad(self.phi)

    @property
    def dimension(self) -> int:
        """d = d_θ + d_ω."""
        return self.d_theta + self.d_omega

    @property
    def n_samples(self) -> int:
        """Number of (z_i, x_j) pairs N·M."""
        return int(self.x_pairs.shape[0])

    def _term(self, gamma: Any, x: Any, z: Any) -> Any:
        return self.loss(gamma[: self.d_theta], gamma[self.d_theta :], x, z)

    def _check_gamma(self, gamma: Any) -> Any:
        gamma = self._torch.as_tensor(gamma, dtype=self._torch.float64)
        if gamma.shape[-1] != self.dimension:
            msg = (
                f"gamma must have {self.dimension} = d_theta + d_omega entries; "
                f"got shape {tuple(gamma.shape)}"
            )
            raise InvalidInputError(msg)
        return gamma

    def phi(self, gamma: Any) -> Any:
        """Φ(θ, ω) at γ = (θ, ω) (eq. (2))."""
        return self._per_sample(gamma, self.x_pairs, self.z_pairs).mean()

    def batch_phi(self, gamma: Any, x: Any, z: Any) -> Any:
        """The mini-batch mean of J over the given pairs (for the SGA gradient (4))."""
        return self._per_sample(gamma, x, z).mean()

    def gradient(self, gamma: Any) -> Any:
        """∇Φ = (g_θ, g_ω) (eq. (3))."""
        return self._grad(self._check_gamma(gamma))

    def drift0(self, gamma: Any) -> Any:
        """b0 = (−g_θ, g_ω) (eq. (9))."""
        g = self.gradient(gamma)
        return self._torch.cat([-g[: self.d_theta], g[self.d_theta :]])

    def hvp(self, gamma: Any, vector: Any) -> Any:
        """∇²Φ(γ)·v by reverse-over-reverse differentiation (no Hessian is formed)."""
        return self._torch.func.vjp(self._grad, gamma)[1](vector)[0]

    def correction(self, gamma: Any, kind: str = "alt") -> Any:
        """b1 of (ALT-SDE) (eq. (10), ``"alt"``) or −½∇b0 b0 of (14) (``"sml2"``)."""
        if kind not in ("alt", "sml2"):
            msg = f"kind must be 'alt' or 'sml2' for the correction b1; got {kind!r}"
            raise InvalidInputError(msg)
        gamma = self._check_gamma(gamma)
        p = self.d_theta
        g, product = self._torch.func.vjp(self._grad, gamma)
        v = self._torch.cat([-g[:p], g[p:]])
        q = product(v)[0]
        first = product(self._torch.cat([v[:p], -v[p:]]))[0][:p] if kind == "alt" else q[:p]
        return 0.5 * self._torch.cat([first, -q[p:]])

    def drift(self, gamma: Any, *, eta: float, kind: str = "alt") -> Any:
        """The SDE drift: b0 (``"sml"``, (7)), b0 + ηb1 (``"alt"``, (8)), or (14) (``"sml2"``)."""
        eta = check_rate(eta)
        if kind not in SDE_KINDS:
            msg = f"kind must be one of {SDE_KINDS}; got {kind!r}"
            raise InvalidInputError(msg)
        if kind == "sml":
            return self.drift0(gamma)
        return self.drift0(gamma) + eta * self.correction(gamma, kind)

    def dense_correction(self, gamma: Any, kind: str = "alt") -> Any:
        """b1 from the dense Hessian (the baseline of the benchmark and the tests)."""
        gamma = self._check_gamma(gamma)
        hessian = self._torch.func.hessian(self.phi)(gamma)
        p = self.d_theta
        v = self.drift0(gamma)
        r = -hessian.clone()
        r[:p, :p] = hessian[:p, :p]
        if kind == "sml2":
            r[:p, p:] = hessian[:p, p:]
        return 0.5 * (r @ v)

    def per_sample_gradients(self, gamma: Any) -> Any:
        """``(n, d)`` per-sample gradients g^{i,j} = ∇J at γ (the rows of (3))."""
        return self._per_sample_grad(self._check_gamma(gamma), self.x_pairs, self.z_pairs)

    def covariances(self, gamma: Any) -> tuple[Any, Any]:
        """(Σ_θ, Σ_ω), the covariances of the per-sample gradients (Section 3.1)."""
        g = self.per_sample_gradients(gamma)
        c = g - g.mean(0)
        full = c.T @ c / self.n_samples
        p = self.d_theta
        return full[:p, :p], full[p:, p:]

    def diffusion(self, gamma: Any, *, eta: float, batch_size: int) -> Any:
        """The dense σ = √(2/β) diag(Σ_θ^{1/2}, Σ_ω^{1/2}) (eq. (11)), β = 2B/η (small d)."""
        eta = check_rate(eta)
        batch = check_batch(batch_size, self.n_samples)
        torch = self._torch
        blocks = []
        for sigma in self.covariances(gamma):
            values, vectors = torch.linalg.eigh(sigma)
            blocks.append(vectors @ torch.diag(values.clamp(min=0.0).sqrt()) @ vectors.T)
        return math.sqrt(eta / batch) * torch.block_diag(*blocks)

    def noise(
        self, gamma: Any, xi_theta: Any, xi_omega: Any, *, eta: float, batch_size: int
    ) -> Any:
        """σ(γ)ζ, ζ ~ N(0, I_d), realised as √(η/B)·n^{-1/2}(C_θ^Tξ_θ, C_ω^Tξ_ω), ξ ~ N(0, I_n)."""
        g = self.per_sample_gradients(gamma)
        c = g - g.mean(0)
        p = self.d_theta
        scale = math.sqrt(eta / batch_size / self.n_samples)
        return scale * self._torch.cat([c[:, :p].T @ xi_theta, c[:, p:].T @ xi_omega])

    def fokker_planck_coefficients(
        self, kind: str, *, eta: float, batch_size: int
    ) -> tuple[Callable, Callable, Callable]:
        """(b, a, ∇·a) of the SDE ``kind`` as numpy functions of ``(P, d)`` points.

        a = σσ^T = (η/B) diag(Σ_θ, Σ_ω) and (∇·a)_i = Σ_j ∂_j a_ij by forward-mode
        differentiation of a; for :func:`~gan_pde.sde.fokker_planck.stationary_fokker_planck`.
        """
        eta = check_rate(eta)
        batch = check_batch(batch_size, self.n_samples)
        if kind not in SDE_KINDS:
            msg = f"kind must be one of {SDE_KINDS}; got {kind!r}"
            raise InvalidInputError(msg)
        torch = self._torch
        p, d = self.d_theta, self.dimension
        mask = torch.zeros(d, d, dtype=torch.float64)
        mask[:p, :p] = 1.0
        mask[p:, p:] = 1.0

        def diffusion(gamma: Any) -> Any:
            per = self._per_sample_grad(gamma, self.x_pairs, self.z_pairs)
            c = per - per.mean(0)
            return (eta / batch) * mask * (c.T @ c) / self.n_samples

        def divergence(gamma: Any) -> Any:
            return torch.func.jacfwd(diffusion)(gamma).diagonal(dim1=1, dim2=2).sum(-1)

        def numpy(function: Callable) -> Callable:
            batched = torch.func.vmap(function)

            def evaluate(points: np.ndarray) -> np.ndarray:
                return batched(torch.as_tensor(points, dtype=torch.float64)).detach().numpy()

            return evaluate

        return (
            numpy(lambda g: self.drift(g, eta=eta, kind=kind)),
            numpy(diffusion),
            numpy(divergence),
        )

    def fdr_terms(self, gamma: Any, *, eta: float, batch_size: int) -> dict[str, Any]:
        """The integrands of (FDR1) and (FDR2) at γ (Theorems 4.2, 4.3), β = 2B/η.

        ``fdr1_lhs`` = ‖g_θ‖² − ‖g_ω‖²; ``fdr1_rhs`` = β⁻¹tr(Σ_θ∇²_θΦ + Σ_ω∇²_ωΦ)
        − (η/2)(g_θ^T∇²_θΦ g_θ + g_ω^T∇²_ωΦ g_ω) (the second part only for ALT-SDE);
        ``fdr2_lhs`` = θ^Tg_θ − ω^Tg_ω; ``fdr2_rhs`` = β⁻¹tr(Σ_θ + Σ_ω).  Traces use
        per-sample HVPs: tr(Σ_θH_θθ) = mean_k c_{k,θ}^T H_θθ c_{k,θ}.
        """
        eta = check_rate(eta)
        batch = check_batch(batch_size, self.n_samples)
        torch = self._torch
        gamma = self._check_gamma(gamma)
        p = self.d_theta
        g = self.gradient(gamma)
        gt, gw = torch.cat([g[:p], 0 * g[p:]]), torch.cat([0 * g[:p], g[p:]])
        per = self.per_sample_gradients(gamma)
        c = per - per.mean(0)
        ct = torch.cat([c[:, :p], torch.zeros_like(c[:, p:])], dim=1)
        cw = torch.cat([torch.zeros_like(c[:, :p]), c[:, p:]], dim=1)
        hvps = torch.func.vmap(lambda v: self.hvp(gamma, v))
        trace = ((ct * hvps(ct)).sum(1) + (cw * hvps(cw)).sum(1)).mean()
        curvature = gt @ self.hvp(gamma, gt) + gw @ self.hvp(gamma, gw)
        inverse_beta = eta / (2 * batch)
        return {
            "fdr1_lhs": (g[:p] ** 2).sum() - (g[p:] ** 2).sum(),
            "fdr1_rhs_sml": inverse_beta * trace,
            "fdr1_rhs_alt": inverse_beta * trace - 0.5 * eta * curvature,
            "fdr2_lhs": gamma[:p] @ g[:p] - gamma[p:] @ g[p:],
            "fdr2_rhs": inverse_beta * (c**2).sum(1).mean(),
        }


def mlp_gan(x: Any, z: Any, *, hidden: int, weight_decay: float = 0.0) -> GANSDE:
    """A one-hidden-layer tanh GAN (Section 4.2) with a WGAN loss, as a :class:`GANSDE`.

    G_θ(z) = W_2 tanh(W_1 z + b_1) + b_2 and D_ω(x) = v·tanh(V x + c) + c_0, both of width
    ``hidden``; J = D(x) − D(G(z)) + (λ/2)(‖θ‖² − ‖ω‖²).  x is (M, d_x), z is (N, d_z);
    d_θ = h(d_z + 1) + d_x(h + 1), d_ω = h(d_x + 2) + 1.
    """
    torch = require_torch()
    x = torch.as_tensor(x, dtype=torch.float64)
    z = torch.as_tensor(z, dtype=torch.float64)
    if x.ndim != 2 or z.ndim != 2:
        msg = (
            f"x and z must be 2D (samples, features); got shapes {tuple(x.shape)}, {tuple(z.shape)}"
        )
        raise InvalidInputError(msg)
    hidden = as_positive_int(hidden, "hidden")
    dx, dz, h = x.shape[1], z.shape[1], hidden
    shapes_g = [(h, dz), (h,), (dx, h), (dx,)]
    shapes_d = [(h, dx), (h,), (h,), (1,)]

    def unpack(flat: Any, shapes: list[tuple[int, ...]]) -> list[Any]:
        out, start = [], 0
        for shape in shapes:
            size = math.prod(shape)
            out.append(flat[start : start + size].reshape(shape))
            start += size
        return out

    def loss(theta: Any, omega: Any, xj: Any, zi: Any) -> Any:
        w1, b1, w2, b2 = unpack(theta, shapes_g)
        v1, c1, v2, c0 = unpack(omega, shapes_d)
        generated = w2 @ (w1 @ zi + b1).tanh() + b2

        def critic(point: Any) -> Any:
            return v2 @ (v1 @ point + c1).tanh() + c0[0]

        decay = 0.5 * weight_decay * ((theta**2).sum() - (omega**2).sum())
        return critic(xj) - critic(generated) + decay

    d_theta = sum(math.prod(s) for s in shapes_g)
    d_omega = sum(math.prod(s) for s in shapes_d)
    return GANSDE(loss, x, z, d_theta=d_theta, d_omega=d_omega)


def finite_or_raise(values: Any, what: str) -> None:
    """NumericalBreakdownError if a tensor/array holds NaN or Inf."""
    array = values.detach().cpu().numpy() if hasattr(values, "detach") else np.asarray(values)
    if not np.all(np.isfinite(array)):
        msg = f"{what} became NaN/Inf"
        raise NumericalBreakdownError(msg)
