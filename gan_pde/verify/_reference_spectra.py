r"""Independent reference spectra for the verify checks of paper 004 (not the package's FEM).

The package computes the eigenvalues of the weighted Laplacian by P1/P2 Galerkin finite
elements of the weak form :math:`\int\rho\,w'\phi' = \xi\int\rho\,w\phi` on a truncated
interval with natural boundary conditions.  The references here use another formulation and
another discretisation, written separately (plain numpy, no :mod:`gan_pde` import):

**Schrödinger form.**  With :math:`\ell = \ln\rho` and :math:`\psi = \sqrt\rho\,w`,
:math:`-\Delta_\mu w = \xi w` becomes

.. math::

    -\psi'' + V\psi = \xi\psi, \qquad V = \tfrac14\ell'^2 + \tfrac12\ell'',

on the whole line (ψ ∈ L²(dx)); the ground state is :math:`\psi_0 = \sqrt\rho`, ξ₀ = 0.  For
a Gaussian mixture ℓ′ and ℓ″ are closed forms in the responsibilities of the components.

**Sinc collocation** on a uniform grid :math:`x_j = a + jh` (Stenger; Trefethen, *Spectral
Methods in MATLAB*, ch. 2): the second-derivative matrix of the sinc interpolant is the
symmetric Toeplitz matrix :math:`D^{(2)}_{jj} = -\pi^2/(3h^2)`,
:math:`D^{(2)}_{jk} = -2(-1)^{j-k}/((j-k)^2h^2)`, so :math:`H = -D^{(2)} + \mathrm{diag}(V)`
is symmetric and its smallest eigenvalues converge *exponentially*, like
:math:`e^{-\pi d/h}` with d the half-width of the strip where ψ is analytic (the complex zeros
of ρ; d ≈ π/M for two unit Gaussians M apart).  The grid stops where ψ ~ e^{-(x-m)²/(4σ²)}
is below 1e-15 (12σ beyond the outer means); the truncation error is far smaller.

**Error estimate.**  Each spectrum is computed at two steps h and 3h/4; since the error
falls exponentially, the difference bounds the error of the coarser value and far more than
that of the finer one, which is returned.  A round-off floor :math:`4\varepsilon\|H\|`,
:math:`\|H\| \le \pi^2/h^2 + \max|V|` (the eigensolver is backward stable), is added.
Measured: ½N(0,1) + ½N(M,1) with h = 0.075: relative errors 1e-13 (M ≤ 6) to 6e-10 (M = 8,
ξ₁ = 6.2e-4, at the absolute round-off floor ~4e-13).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg

__all__ = ["ReferenceSpectrum", "mixture_log_derivatives", "mixture_spectrum"]

#: Grid extends this many (largest) standard deviations beyond the outer means.
_MARGIN = 12.0
#: Default sinc step, in units of the smallest standard deviation.
_STEP = 0.075


@dataclass(frozen=True)
class ReferenceSpectrum:
    r"""The k smallest eigenvalues of :math:`-\Delta_\mu` from sinc collocation.

    Attributes
    ----------
    eigenvalues
        ξ₀ ≈ 0, ξ₁, ..., ascending (the ξ₀ computed, a measure of the discretisation error).
    error
        Absolute error estimate of each eigenvalue (two-step difference + round-off floor).
    x, step
        The finer grid and its step h.
    psi
        Eigenvectors ψ_k on the grid, shape (n, k), normalised :math:`h\sum\psi^2 = 1`, signs
        such that ψ₀ > 0.
    """

    eigenvalues: np.ndarray
    error: np.ndarray
    x: np.ndarray
    step: float
    psi: np.ndarray

    def moments(self, f: np.ndarray) -> np.ndarray:
        r""":math:`\langle f, w_k\rangle_\mu = \int f\,\psi_k\,\psi_0\,dx` for f on the grid,
        with :math:`w_k = \psi_k/\psi_0` normalised in :math:`L^2(\mu)` (μ = ψ₀² dx is the
        normalised density).  The trapezoidal sum is spectrally accurate for these rapidly
        decaying analytic integrands."""
        return self.step * ((f * self.psi[:, 0]) @ self.psi)


def mixture_log_derivatives(
    x: np.ndarray, means: np.ndarray, stds: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    r"""ℓ′ and ℓ″ of ℓ = ln Σ_i w_i N(x; m_i, σ_i²), in the responsibilities r_i (no overflow).

    With :math:`g_i = -(x - m_i)/\sigma_i^2` the log-derivative of component i,
    :math:`\ell' = \sum r_i g_i` and :math:`\ell'' = \sum r_i(g_i^2 - \sigma_i^{-2}) - \ell'^2`.
    """
    m = np.asarray(means, dtype=float)[:, None]
    s = np.asarray(stds, dtype=float)[:, None]
    w = np.asarray(weights, dtype=float)[:, None]
    z = (x[None, :] - m) / s
    logs = np.log(w) - np.log(s) - 0.5 * z**2
    r = np.exp(logs - logs.max(axis=0))
    r /= r.sum(axis=0)
    g = -z / s
    first = (r * g).sum(axis=0)
    second = (r * (g**2 - 1.0 / s**2)).sum(axis=0) - first**2
    return first, second


def _sinc_solve(
    means: np.ndarray, stds: np.ndarray, weights: np.ndarray, k: int, step: float, vectors: bool
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, float]:
    lower = float(np.min(means - _MARGIN * stds.max()))
    upper = float(np.max(means + _MARGIN * stds.max()))
    n = int(np.ceil((upper - lower) / step)) + 1
    x = lower + step * np.arange(n)
    first, second = mixture_log_derivatives(x, means, stds, weights)
    potential = 0.25 * first**2 + 0.5 * second
    offsets = np.arange(n, dtype=float)
    column = np.empty(n)
    column[0] = np.pi**2 / 3.0
    column[1:] = 2.0 * (-1.0) ** offsets[1:] / offsets[1:] ** 2
    matrix = scipy.linalg.toeplitz(column / step**2)
    matrix[np.diag_indices(n)] += potential
    result = scipy.linalg.eigh(
        matrix, eigvals_only=not vectors, subset_by_index=[0, k - 1], driver="evr"
    )
    values, psi = (result, None) if not vectors else result
    norm = np.pi**2 / step**2 + float(np.abs(potential).max())
    return values, psi, x, norm


def mixture_spectrum(
    means: np.ndarray | list[float],
    stds: np.ndarray | list[float],
    weights: np.ndarray | list[float],
    k: int = 2,
    *,
    step: float | None = None,
    vectors: bool = False,
) -> ReferenceSpectrum:
    r"""The k smallest eigenvalues (ξ₀ ≈ 0 included) of the weighted Laplacian of a 1D
    Gaussian mixture, by sinc collocation of its Schrödinger form, with an error estimate.

    Parameters
    ----------
    means, stds, weights
        The components (weights need not sum to 1).
    k
        Number of eigenvalues.
    step
        The finer sinc step (default 0.075 of the smallest standard deviation); the estimate
        uses 4/3 of it.
    vectors
        Also return the eigenvectors (for :meth:`ReferenceSpectrum.moments`).

    Examples
    --------
    >>> ref = mixture_spectrum([0.3], [0.7], [1.0], k=3)
    >>> [round(float(v * 0.49), 10) for v in ref.eigenvalues[1:]]  # k / sigma^2
    [1.0, 2.0]
    """
    weights = np.atleast_1d(np.asarray(weights, dtype=float))
    keep = weights > 0.0  # a component of weight 0 is absent
    means = np.atleast_1d(np.asarray(means, dtype=float))[keep]
    stds = np.atleast_1d(np.asarray(stds, dtype=float))[keep]
    weights = weights[keep]
    fine_step = _STEP * float(stds.min()) if step is None else float(step)
    fine, psi, x, norm = _sinc_solve(means, stds, weights, k, fine_step, vectors)
    coarse, _, _, _ = _sinc_solve(means, stds, weights, k, fine_step / 0.75, False)
    error = np.abs(fine - coarse) + 4.0 * np.finfo(float).eps * norm
    if psi is None:
        psi = np.empty((x.size, 0))
    else:
        psi = psi / np.sqrt(fine_step * np.sum(psi**2, axis=0))
        psi = psi * np.sign(psi[np.argmax(np.abs(psi[:, 0])), 0])
    return ReferenceSpectrum(eigenvalues=fine, error=error, x=x, step=fine_step, psi=psi)
