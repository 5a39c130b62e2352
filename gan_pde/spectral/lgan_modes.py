r"""Eigen-solves of the lGAN operator: the spectrum, the kernel and the decay rate (paper 004).

The methods of :class:`LGANModes` are mixed into
:class:`~gan_pde.spectral.lgan_assembly.LGANSystem`; they read its log-scaled matrices
:math:`\tilde M_u`, :math:`\tilde K`, :math:`\tilde M_v`, :math:`\tilde B`, :math:`\tilde M_w`,
:math:`\tilde L` (see :mod:`gan_pde.spectral.lgan_assembly`).

**The stable pair is exact.**  For ``pair="stable"``, :math:`V_h` contains
:math:`\nabla U_h`: :math:`\nabla\phi_j = \sum_i G_{ij}\psi_i`, so :math:`B = M_vG` and
:math:`K = G^\top M_v G = B^\top M_v^{-1}B`, exactly, whatever the weight and the
quadrature, as long as all three matrices use the same quadrature.  An eigenpair with
λ ≠ 0 then has :math:`v = (\beta/\lambda)\,Gu` (the discrete (17)) and
:math:`\lambda M_u u = -\alpha M_u u - (\gamma + \beta^2/\lambda)Ku`: u is an eigenvector
of the discrete weighted Laplacian, :math:`Ku = \xi_h M_u u`, and

.. math::

    \lambda^2 + (\alpha + \gamma\xi_h)\lambda + \beta^2\xi_h = 0
    \qquad\text{(Theorems 2–3, (16), (19), (22), for every discrete } \xi_h\text{)}.

So the discrete spectrum is :func:`gan_pde.spectral.lgan.eigenvalues` of the discrete
:math:`\xi_h` of :func:`gan_pde.weighted_laplacian_spectrum` (same matrices), plus −α (the
mean of u, (21)) and the kernel.

**Kernel** (Corollary 1, (10)–(11)).  Lw = 0 forces Bu = 0, i.e. ∇u = 0: u is constant on
each of the :math:`n_c` connected components of the mesh.  Then
:math:`\alpha M_u u + \beta B^\top v = 0`, and testing with u = 1 (:math:`B\mathbf 1 = 0`)
gives αC = 0 and :math:`B^\top v = 0`, the discrete divergence-free condition
:math:`\langle\nabla\hat u, v\rangle_\mu = 0` for all :math:`\hat u\in U_h`.  As
rank B = rank G = :math:`n_u - n_c`,

.. math::

    \dim\ker L = n_v - \operatorname{rank}B + [\alpha = 0]\,n_c
               = n_v - n_u + n_c\,(1 + [\alpha = 0]).

In 1D :math:`n_v = n_u - 1` and only the constants (α = 0) remain: ρv = const = 0 by the
no-flux boundary.  On a triangle mesh with T cells and N vertices the P1/P0 kernel has
2T − N + 1 + [α = 0] divergence-free velocities, about 3N.

**The equal-order pair and its spurious modes.**  ``pair="equal-order"`` takes for
:math:`V_h` the continuous vector space of degree k, the same as u.  It does not contain
:math:`\nabla U_h`: now :math:`v = (\beta/\lambda)M_v^{-1}Bu`, the μ-projection
:math:`\Pi_h\nabla u` of the gradient, and λ solves the quadratic eigenproblem

.. math::

    \lambda^2 M_u u + \lambda(\alpha M_u + \gamma K)u + \beta^2 K_\Pi u = 0,
    \qquad K_\Pi = B^\top M_v^{-1}B \ne K .

The coupling sees projected gradients, :math:`u^\top K_\Pi u = \|\Pi_h\nabla u\|^2_\mu
\le u^\top K u`, so the eigenvalues are no longer the roots for the :math:`\xi_h` (for
γ > 0 they are not the roots for any single pencil), and the oscillating u whose gradient
the continuous space hardly sees (checkerboards, :math:`\|\Pi_h\nabla u\|_\mu \ll
\|\nabla u\|_\mu`) give slow spurious modes: the discrete inf–sup (LBB) constant
:math:`\inf_u\sup_v \langle\nabla u, v\rangle_\mu/(\|\nabla u\|_\mu\|v\|_\mu)` is not
bounded below uniformly in h, the condition the last paragraph of Section 5 asks of a
(pressure u, velocity v) pair, and the discrete divergence-free space
:math:`\ker B^\top` is not the μ-orthogonal complement of :math:`\nabla U_h`.  Such a u
gives a real mode :math:`\lambda \approx -\beta^2\zeta/(\alpha + \gamma\xi)` with
:math:`\zeta = \|\Pi_h\nabla u\|^2/\|u\|^2` small and ξ large: on N(0, 1) with
(α, β, γ) = (0.3, 1, 0.2) the equal-order P1 rate is η_h = −0.20 on 30 cells and −0.050 on
60 (→ 0 like h²), where Theorem 4 and the stable pair give −0.25.

Examples
--------
>>> import gan_pde as gp
>>> from gan_pde.spectral import LGANSystem
>>> system = LGANSystem(gp.Gaussian(mean=[0.0], cov=[[1.0]]), gp.mesh.interval(-8, 8, n=40),
...                     alpha=1.0, beta=1.0, element="P2")
>>> lam = system.eigenvalues(k=3)  # the slowest modes: -α and λ±(ξ = 1)
>>> print(", ".join(f"{z:.5f}" for z in lam))
-0.50000+0.86603j, -0.50000-0.86603j, -1.00000+0.00000j
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.csgraph
import scipy.sparse.linalg as spla

from gan_pde._arrays import as_positive_int
from gan_pde.errors import InvalidInputError, NotConvergedError, NumericalBreakdownError
from gan_pde.fem.forms import WeightedSystem
from gan_pde.fem.solvers import LinearSolver
from gan_pde.spectral import lgan
from gan_pde.spectral.weighted_laplacian import smallest_eigenvalues

__all__ = ["DENSE_MAX", "LGANModes"]

logger = logging.getLogger(__name__)

#: Largest system (u- plus v-dofs) handled by the dense eigen-solvers.
DENSE_MAX = 3000
#: Largest ratio of ARPACK's Ritz values |θ| (θ = 1/(λ − σ)) whose small members keep 8
#: digits: each carries an absolute error of about ε max|θ|.
_RITZ_SPREAD_MAX = 1e8


class LGANModes:
    r"""The eigen-solves of the lGAN pencil :math:`(\tilde L, \tilde M_w)`, a mixin of
    :class:`~gan_pde.spectral.lgan_assembly.LGANSystem`.

    It holds no data: the methods read the system's matrices (``u_mass``, ``stiffness``,
    ``v_mass``, ``coupling``, ``mass``, ``operator``), its parameters (``alpha``, ``beta``,
    ``gamma``, ``pair``) and sizes (``n_u``, ``n_v``).  Build an ``LGANSystem``, not this.
    """

    u_mass: sp.csr_matrix
    stiffness: sp.csr_matrix
    v_mass: sp.csr_matrix
    coupling: sp.csr_matrix
    mass: sp.csr_matrix
    operator: sp.csr_matrix
    u_log_scale: np.ndarray
    alpha: float
    beta: float
    gamma: float
    pair: str
    n_u: int
    n_v: int
    u_basis: Any
    _cell_log_variation: np.ndarray | None

    @property
    def n_components(self) -> int:
        """Number of connected components of the mesh (the dimension of the constants)."""
        return int(scipy.sparse.csgraph.connected_components(self.u_mass, directed=False)[0])

    def laplacian_eigenvalues(
        self, k: int | None = None, *, solver: str | LinearSolver | None = "auto"
    ) -> np.ndarray:
        r"""Eigenvalues :math:`\xi_h` of the discrete weighted Laplacian :math:`(\tilde K,
        \tilde M_u)`, the same matrices as the lGAN operator.

        .. math::

            \tilde K y = \xi_h\,\tilde M_u y \qquad\text{(paper 004, (14))}

        Parameters
        ----------
        k
            All :math:`n_u` eigenvalues (dense, ``None``) or the k smallest (shift-invert
            Lanczos).
        solver
            The factorisation of the shift-invert (k given): as in
            :func:`gan_pde.weighted_laplacian_spectrum` (``"auto"``: CHOLMOD or PARDISO
            where installed, else SuperLU).

        Returns
        -------
        numpy.ndarray
            Ascending; the first is the 0 of the constants, set to exactly 0.

        Examples
        --------
        >>> import gan_pde as gp
        >>> from gan_pde.spectral import LGANSystem
        >>> system = LGANSystem(gp.Gaussian(mean=[0.0], cov=[[1.0]]),
        ...                     gp.mesh.interval(-8, 8, n=40), alpha=1.0, beta=1.0,
        ...                     element="P2")
        >>> print(system.laplacian_eigenvalues(k=3).round(6))
        [0. 1. 2.]
        """
        self._check_resolved("laplacian_eigenvalues")
        if k is None:
            _check_dense(self.n_u, "laplacian_eigenvalues")
            try:
                xi = scipy.linalg.eigh(
                    self.stiffness.toarray(), self.u_mass.toarray(), eigvals_only=True
                )
            except np.linalg.LinAlgError as error:
                raise self._unresolved(error, "laplacian_eigenvalues") from error
        else:
            k = as_positive_int(k, "k")
            if k >= self.n_u - 1:
                return self.laplacian_eigenvalues()[:k]
            system = WeightedSystem(self.stiffness, self.u_mass, self.u_log_scale)
            xi = smallest_eigenvalues(system, k, dim=self.u_basis.mesh.dim(), solver=solver)
        xi = np.sort(xi)
        xi[: self.n_components] = 0.0  # the constants: ξ = 0 exactly, round-off removed
        return xi

    def predicted_eigenvalues(self) -> np.ndarray:
        r"""The non-kernel spectrum that Theorems 2–3 predict from the discrete :math:`\xi_h`.

        .. math::

            \{-\alpha\}_{\alpha > 0}\ \cup\ \{\lambda_\pm(\xi_h):\ \xi_h > 0\},\qquad
            \lambda^2 + (\alpha + \gamma\xi_h)\lambda + \beta^2\xi_h = 0
            \qquad\text{(paper 004, (16), (22))}.

        For the stable pair these are the non-kernel eigenvalues of the system (see the
        module docstring); for the equal-order pair they are not.

        Returns
        -------
        numpy.ndarray
            Complex, :math:`2(n_u - n_c) + n_c[\alpha > 0]` values, in the order of
            :meth:`eigenvalues`.
        """
        xi = self.laplacian_eigenvalues()
        n_c = self.n_components
        lam_plus, lam_minus = lgan.eigenvalues(
            xi[n_c:], alpha=self.alpha, beta=self.beta, gamma=self.gamma
        )
        mean_modes = np.full(n_c if self.alpha > 0 else 0, -self.alpha, dtype=complex)
        return _sorted(np.concatenate([lam_plus, lam_minus, mean_modes]))

    def eigenvalues(
        self,
        k: int | None = None,
        *,
        sigma: complex = 0.0,
        tol: float = 1e-12,
        method: str = "auto",
    ) -> np.ndarray:
        r"""Eigenvalues of the pencil :math:`(\tilde L, \tilde M_w)`: all, or the k non-kernel
        ones nearest σ.

        .. math::

            \tilde L y = \lambda\,\tilde M_w y \qquad\text{(paper 004, (8))}

        With ``k=None`` all :math:`n_u + n_v` eigenvalues are computed densely (the kernel
        included, as values of size ~1e-15).  With k given, the kernel is removed exactly:
        for λ ≠ 0 the eigenproblem is the quadratic one in u alone,
        :math:`(\lambda^2\tilde M_u + \lambda(\alpha\tilde M_u + \gamma\tilde K) +
        \beta^2\tilde B^\top\tilde M_v^{-1}\tilde B)u = 0`, which is block diagonal for the
        :math:`\tilde M_u`-orthogonal splitting into constants (roots 0 and −α) and the rest;
        ARPACK runs shift-invert on the companion linearisation of the rest, each step one
        solve with a sparse LU of the bordered saddle matrix

        .. math::

            \begin{pmatrix}\sigma^2\tilde M_u + \sigma(\alpha\tilde M_u+\gamma\tilde K) &
            \beta\tilde B^\top & \tilde M_u c\\ \beta\tilde B & -\tilde M_v & 0\\
            (\tilde M_u c)^\top & 0 & 0\end{pmatrix},

        c the scaled constants (one column per connected component), and −α (α > 0) is
        added back.  σ = 0 (the default) gives the modes of smallest modulus, the slowest
        ones.  A cluster of nearly equal eigenvalues nearest σ (the tail
        :math:`\lambda_+(\xi) \to -\beta^2/\gamma` of WGAN-GP) slows ARPACK down.

        Parameters
        ----------
        k
            ``None`` for the dense full spectrum (at most :data:`DENSE_MAX` dofs), or the
            number of eigenvalues nearest ``sigma``.
        sigma
            Target of the shift-invert mode (real or complex); it must not be an eigenvalue
            of the reduced problem (σ = 0 is one only if B has null vectors other than the
            constants, which the stable pair never has).
        tol
            ARPACK's relative accuracy of the Ritz values of the shift-inverted operator.
        method
            ``"auto"``: for the stable pair and σ = 0, the slowest modes are computed from
            the k smallest ξ_h of the same matrices through λ² + (α+γξ_h)λ + β²ξ_h = 0
            (exact for this pair, and as fast as :func:`weighted_laplacian_spectrum`),
            together with the k largest ξ_h when 0 < αγ < β² (there the real λ₊ of the high
            modes tends to −β²/γ from below, so the highest modes can be the slowest);
            otherwise, and with ``"arnoldi"``, ARPACK on the reduced operator below.

        Returns
        -------
        numpy.ndarray
            Complex eigenvalues sorted by descending real part, then descending imaginary
            part.

        Raises
        ------
        NumericalBreakdownError
            If σ is an eigenvalue (the shifted matrix is singular), or if the mesh does not
            resolve ρ: max/min of the diagonal of :math:`\tilde M_w` (a lower bound of its
            condition number) exceeds 1/(nε), so that no eigen-solver has a digit left.
        NotConvergedError
            If ARPACK does not converge.

        Examples
        --------
        >>> import gan_pde as gp
        >>> from gan_pde.spectral import LGANSystem
        >>> system = LGANSystem(gp.Gaussian(mean=[0.0], cov=[[1.0]]),
        ...                     gp.mesh.interval(-8, 8, n=30), alpha=0.0, beta=2.0)
        >>> lam = system.eigenvalues()  # WGAN: ±2i√ξ_h and the kernel of the constants
        >>> print(lam.size, bool(abs(lam.real).max() < 1e-12))
        61 True
        """
        self._check_resolved("eigenvalues")
        if k is None:
            return _sorted(np.linalg.eigvals(self._normalised_operator("eigenvalues")))
        k = as_positive_int(k, "k")
        if not (math.isfinite(tol) and tol > 0.0):
            msg = f"tol must be a positive number; got {tol!r}"
            raise InvalidInputError(msg)
        sigma = complex(sigma)
        if not np.isfinite(sigma):
            msg = f"sigma must be finite; got {sigma!r}"
            raise InvalidInputError(msg)
        if method not in ("auto", "arnoldi"):
            msg = f"method must be 'auto' or 'arnoldi'; got {method!r}"
            raise InvalidInputError(msg)
        if self.pair == "stable" and sigma == 0 and method == "auto":
            return self._slowest_from_laplacian(int(k))
        return self._eigenvalues_near(int(k), sigma, tol)

    def _slowest_from_laplacian(self, k: int) -> np.ndarray:
        r"""The k non-kernel eigenvalues of smallest modulus, from the ξ_h and Theorems 2–3.

        For the stable pair the discrete spectrum is exactly λ±(ξ_h) plus −α (tested to
        1e-14 against the full operator).  Which ξ_h hold the modes nearest 0:
        :math:`\lambda_+\lambda_- = \beta^2\xi` with :math:`|\lambda_+| \le |\lambda_-|`, so
        :math:`f(\xi) = |\lambda_+(\xi)|` is the smaller modulus of each ξ, and f is
        unimodal.  On a complex pair :math:`f = |\beta|\sqrt\xi` rises; on a real branch
        :math:`d\lambda_+/d\xi = -(\gamma\lambda_+ + \beta^2)/\sqrt D` (see
        :func:`gan_pde.spectral.lgan.decay_rate`), so λ₊ moves towards −β²/γ and never
        crosses it.  Hence f rises with ξ for γ = 0 and for αγ ≥ β² (λ₊ stays above −β²/γ),
        but for 0 < αγ < β² the real branch beyond the complex interval lies below −β²/γ
        and f *falls* from 2β²/γ (α = 0) towards β²/γ: the high modes can be the slowest.
        For a unimodal f, every ξ_h outside the k smallest and the k largest non-zero ones
        lies on a monotone side of one of these groups, which then holds k modes of modulus
        ≤ f(ξ_h) ≤ |λ±(ξ_h)|; so those two groups (the smallest alone when f rises) hold
        the k modes nearest 0.
        """
        n_c = self.n_components
        nonzero = self.n_u - n_c
        falls = self.gamma > 0.0 and self.alpha * self.gamma < self.beta**2 * (1.0 + 1e-9)
        if k + (k if falls else 0) >= nonzero - 1:
            xi = self.laplacian_eigenvalues()[n_c:]
        else:
            xi = self.laplacian_eigenvalues(k + n_c)[n_c:]
            if falls:
                xi = np.concatenate([xi, self._largest_laplacian_eigenvalues(k)])
        # ξ_h ≥ 0; a nearly disconnected domain has a second ξ_h at round-off, which the
        # eigen-solver may return as −1e-14
        xi = np.maximum(xi, 0.0)
        lam_plus, lam_minus = lgan.eigenvalues(
            xi, alpha=self.alpha, beta=self.beta, gamma=self.gamma
        )
        mean_modes = np.full(n_c if self.alpha > 0 else 0, -self.alpha, dtype=complex)
        lam = np.concatenate([lam_plus, lam_minus, mean_modes])
        return _sorted(lam[np.argsort(np.abs(lam), kind="stable")][:k])

    def _largest_laplacian_eigenvalues(self, k: int) -> np.ndarray:
        """The k largest ξ_h of (K̃, M̃_u) by Lanczos (the top of the spectrum is extreme,
        so no shift is needed)."""
        return np.sort(
            spla.eigsh(self.stiffness, k=k, M=self.u_mass, which="LA", return_eigenvectors=False)
        )

    def kernel_dimension(self) -> int:
        r"""Dimension of the kernel of the discrete operator (Corollary 1, (10)–(11)).

        .. math::

            \dim\ker L = n_v - \operatorname{rank}B + [\alpha = 0]\,n_c
                       = n_v - n_u + n_c\,(1 + [\alpha = 0])

        for the stable pair (:math:`n_c` connected components; see the module docstring).
        The equal-order pair has no formula (B has spurious null vectors); its kernel is
        the numerical rank deficiency of the dense, :math:`\tilde M_w`-normalised operator.

        Returns
        -------
        int

        Examples
        --------
        >>> import gan_pde as gp
        >>> from gan_pde.spectral import LGANSystem
        >>> rho = gp.Gaussian(mean=[0.0], cov=[[1.0]])
        >>> m = gp.mesh.interval(-6, 6, n=10)
        >>> LGANSystem(rho, m, alpha=1.0, beta=1.0).kernel_dimension()  # 1D: none
        0
        >>> LGANSystem(rho, m, alpha=0.0, beta=1.0).kernel_dimension()  # the constants
        1
        """
        n_c = self.n_components
        if self.pair == "stable":
            return self.n_v - self.n_u + n_c * (2 if self.alpha == 0.0 else 1)
        singular = scipy.linalg.svdvals(self._normalised_operator("kernel_dimension"))
        # Null singular values are ~1e-16 of the largest; the smallest non-zero ones are
        # ~h² of it (the slowest mode over the fastest), far above 1e-10 on dense sizes.
        return int(np.sum(singular <= 1e-10 * singular[0]))

    def decay_rate(self) -> float:
        r"""The rate η: the largest real part over the non-kernel discrete modes (Theorem 4).

        .. math::

            \eta_h = \max\Bigl(-\alpha\,[\alpha > 0],\
                \max_{\xi_h > 0}\operatorname{Re}\lambda_+(\xi_h)\Bigr)

        For the stable pair this is :func:`gan_pde.spectral.lgan.decay_rate` of the discrete
        spectrum; :math:`\operatorname{Re}\lambda_+` is quasi-convex in ξ (it falls, then
        may rise towards −β²/γ), so the smallest and the largest :math:`\xi_h` suffice and
        no full spectrum is needed.  For the equal-order pair it is computed from the dense
        spectrum with the :meth:`kernel_dimension` eigenvalues nearest 0 left out.

        Returns
        -------
        float
            η ≤ 0; 0 means no decay (e.g. WGAN, α = γ = 0).

        Examples
        --------
        >>> import gan_pde as gp
        >>> from gan_pde.spectral import LGANSystem
        >>> system = LGANSystem(gp.Gaussian(mean=[0.0], cov=[[1.0]]),
        ...                     gp.mesh.interval(-8, 8, n=40), alpha=3.0, beta=1.0,
        ...                     element="P2")
        >>> print(f"{system.decay_rate():.6f}")  # (−3 + √5)/2 at ξ = 1
        -0.381966
        """
        self._check_resolved("decay_rate")
        if self.pair == "equal-order":
            return float(self._nonkernel_eigenvalues().real.max())
        n_c = self.n_components
        smallest = self.laplacian_eigenvalues(k=n_c + 1)[n_c]
        # a nearly disconnected domain (two narrow components far apart) has ξ_min at the
        # round-off floor of the pencil, and round-off can make it −1e-14: the rate is then
        # Re λ₊(ξ) → 0, evaluated at the smallest positive ξ instead of refused
        smallest = max(float(smallest), np.finfo(float).tiny)
        largest = spla.eigsh(
            self.stiffness, k=1, M=self.u_mass, which="LA", return_eigenvectors=False
        )
        rate = lgan.decay_rate(
            smallest,
            alpha=self.alpha,
            beta=self.beta,
            gamma=self.gamma,
            xi=np.maximum(largest, smallest),
        )
        return float(rate)

    def _normalised_operator(self, what: str) -> np.ndarray:
        """Dense :math:`C^{-1}\tilde LC^{-\top}`, :math:`\tilde M_w = CC^\top`: same spectrum,
        and an :math:`\tilde M_w`-orthonormal basis, so singular values measure the kernel."""
        _check_dense(self.n_u + self.n_v, what)
        try:
            factor = np.linalg.cholesky(self.mass.toarray())
        except np.linalg.LinAlgError as error:
            raise self._unresolved(error, what) from error
        left = scipy.linalg.solve_triangular(factor, self.operator.toarray(), lower=True)
        return scipy.linalg.solve_triangular(factor, left.T, lower=True).T

    def _check_resolved(self, what: str) -> None:
        r"""Refuse scaled masses that are singular to working precision.

        The log scaling keeps :math:`\tilde M_w` of order one where ρ is resolved, but where
        ln ρ varies by tens inside one cell the entries grow like :math:`e^{\Delta\ln\rho}`
        and :math:`\tilde M_w` loses every digit: eigenvalues (of any solver) and time
        steps are then round-off.  For an SPD matrix cond ≥ max(diag)/min(diag), so a ratio
        above :math:`1/(n\varepsilon)` (about 1e11 for 10⁵ dofs; a resolved mesh gives a few
        hundred at most) proves it.
        """
        diagonal = np.concatenate([self.u_mass.diagonal(), self.v_mass.diagonal()])
        smallest, largest = float(diagonal.min()), float(diagonal.max())
        if smallest > 0.0 and largest <= smallest / (diagonal.size * np.finfo(float).eps):
            return
        ratio = largest / smallest if smallest > 0.0 else math.inf
        raise self._unresolved(f"cond(M̃_w) ≥ max/min of its diagonal = {ratio:.3g}", what)

    def _unresolved(self, error: Exception | str, what: str) -> NumericalBreakdownError:
        """The error for a weighted mass that is not numerically positive definite."""
        variation = self._cell_log_variation
        worst = (
            ""
            if variation is None
            else f" (ln(rho) varies by up to {float(np.max(variation)):.1f} inside one cell)"
        )
        msg = (
            f"{what}: the weighted mass matrix is singular to working precision "
            f"({error}){worst}; this happens when the mesh does not resolve the weight "
            "(refine it or shrink the domain to where rho matters)"
        )
        return NumericalBreakdownError(msg)

    def _nonkernel_eigenvalues(self) -> np.ndarray:
        """The dense spectrum without the :meth:`kernel_dimension` values nearest 0."""
        lam = self.eigenvalues()
        return lam[np.sort(np.argsort(np.abs(lam))[self.kernel_dimension() :])]

    def _eigenvalues_near(self, k: int, sigma: complex, tol: float) -> np.ndarray:
        n_c = self.n_components
        size = 2 * (self.n_u - n_c)
        if k >= size - 1:
            nonkernel = self._nonkernel_eigenvalues()
            return _sorted(nonkernel[np.argsort(np.abs(nonkernel - sigma), kind="stable")][:k])
        constants = _component_constants(self)
        weighted = np.asarray(self.u_mass @ constants)
        gram = weighted.T @ constants

        def project(x: np.ndarray) -> np.ndarray:
            return x - constants @ np.linalg.solve(gram, weighted.T @ x)

        dtype = float if sigma.imag == 0.0 else complex
        shift = sigma.real if dtype is float else sigma
        damping = self.alpha * self.u_mass + self.gamma * self.stiffness
        top = shift**2 * self.u_mass + shift * damping
        bordered = sp.bmat(
            [
                [top, self.beta * self.coupling.T, sp.csr_matrix(weighted)],
                [self.beta * self.coupling, -self.v_mass, None],
                [sp.csr_matrix(weighted.T), None, sp.csr_matrix((n_c, n_c))],
            ],
            format="csc",
        ).astype(dtype)
        try:
            # COLAMD, not a minimum-degree ordering of AᵀA + A: the dense border column
            # M̃_u c makes minimum degree fill in almost completely (2D P2 with 22 000 rows:
            # 100 s and 1e8 factor entries against 1.3 s and 7e6 with COLAMD)
            lu = spla.splu(bordered, permc_spec="COLAMD")
        except RuntimeError as error:
            msg = (
                f"sigma={sigma} is an eigenvalue of the reduced lGAN problem (the shifted "
                f"matrix is singular: {error}); choose another sigma"
            )
            raise NumericalBreakdownError(msg) from error
        n_u = self.n_u
        mass_shifted = damping + shift * self.u_mass

        def resolvent(x: np.ndarray) -> np.ndarray:
            first, second = project(x[:n_u].reshape(-1, 1)), project(x[n_u:].reshape(-1, 1))
            rhs = -(self.u_mass @ second) - mass_shifted @ first
            padded = np.concatenate([rhs.ravel(), np.zeros(self.n_v + n_c, dtype=dtype)])
            a = project(lu.solve(padded)[:n_u].reshape(-1, 1))
            return np.concatenate([a.ravel(), (first + shift * a).ravel()])

        operator = spla.LinearOperator((2 * n_u, 2 * n_u), matvec=resolvent, dtype=dtype)
        start = np.random.default_rng(0).standard_normal(2 * n_u)
        start = np.concatenate(
            [project(start[:n_u, None]).ravel(), project(start[n_u:, None]).ravel()]
        )
        # ARPACK converges slowly where the modes nearest sigma cluster (the tail regime,
        # λ₊ → −β²/γ) or nearly coincide (critical damping, near-defective pairs): a first
        # try with a small Krylov space, then a larger one
        for ncv, restarts in ((max(2 * k + 1, 20), None), (max(4 * k + 1, 80), 300)):
            try:
                theta = spla.eigs(
                    operator,
                    k=k,
                    which="LM",
                    v0=start.astype(dtype),
                    return_eigenvectors=False,
                    tol=tol,
                    ncv=min(size, ncv),
                    maxiter=restarts,
                )
                break
            except spla.ArpackNoConvergence as error:
                failure = error
        else:
            if self.n_u + self.n_v <= DENSE_MAX:
                # still no convergence (measured: critical damping, where λ₊ and λ₋ of one
                # ξ_h nearly coincide and the 2×2 block is close to a Jordan block): the
                # dense spectrum is affordable at this size and exact to round-off
                logger.warning(
                    "ARPACK did not converge for k=%d, sigma=%s (%s); using the dense spectrum",
                    k,
                    sigma,
                    failure,
                )
                nonkernel = self._nonkernel_eigenvalues()
                order = np.argsort(np.abs(nonkernel - sigma), kind="stable")
                return _sorted(nonkernel[order][:k])
            msg = f"ARPACK shift-invert did not converge for k={k}, sigma={sigma}: {failure}"
            raise NotConvergedError(msg) from failure
        magnitudes = np.abs(theta)
        if magnitudes.max() > _RITZ_SPREAD_MAX * magnitudes.min() and size <= DENSE_MAX:
            # a mode at round-off distance from sigma (e.g. ξ_h ≈ 1e-14 on a nearly
            # disconnected domain) gives a Ritz value ~1e16 beside the others; Ritz values
            # of one Krylov basis carry absolute errors ~ε max|θ|, so the small ones lose
            # their digits (measured: 3e-5 on −0.0552): the dense spectrum is affordable
            logger.warning(
                "ARPACK Ritz values span %.1e (> %.0e): using the dense spectrum",
                magnitudes.max() / magnitudes.min(),
                _RITZ_SPREAD_MAX,
            )
            nonkernel = self._nonkernel_eigenvalues()
            order = np.argsort(np.abs(nonkernel - sigma), kind="stable")
            return _sorted(nonkernel[order][:k])
        lam = sigma + 1.0 / theta
        if self.alpha > 0.0:
            copies = n_c
            if abs(self.alpha * self.gamma - self.beta**2) <= 1e-12 * self.beta**2:
                # αγ = β²: λ² + (α + γξ)λ + β²ξ = (λ + α)(λ + β²ξ/α), so −α is an eigenvalue
                # for every ξ_h, of multiplicity n_u in all; a single-vector Krylov method
                # sees one vector per eigenspace and returns too few copies (found by the
                # stress campaign): ARPACK's copies are replaced by the exact multiplicity
                lam = lam[np.abs(lam + self.alpha) > 1e-8 * self.alpha]
                copies = self.n_u
            lam = np.concatenate([lam, np.full(copies, -self.alpha, dtype=complex)])
        return _sorted(lam[np.argsort(np.abs(lam - sigma), kind="stable")][:k])


def _check_dense(size: int, what: str) -> None:
    if size > DENSE_MAX:
        msg = (
            f"{what} is dense for {size} dofs > DENSE_MAX = {DENSE_MAX}; use a coarser mesh "
            "or pass k (the k eigenvalues nearest sigma)"
        )
        raise InvalidInputError(msg)


def _sorted(lam: np.ndarray) -> np.ndarray:
    """Descending real part, then descending imaginary part."""
    return lam[np.lexsort((-lam.imag, -lam.real))]


def _component_constants(system: LGANModes) -> np.ndarray:
    """Scaled indicator functions of the connected components, shape ``(n_u, n_c)``."""
    _, labels = scipy.sparse.csgraph.connected_components(system.u_mass, directed=False)
    half = 0.5 * system.u_log_scale
    constants = np.zeros((system.n_u, labels.max() + 1))
    for label in range(constants.shape[1]):
        inside = labels == label
        constants[inside, label] = np.exp(half[inside] - half[inside].max())
    return constants
