r"""The operator of the JSD gradient flow, its resolvent and the implicit time schemes.

With :math:`v = u/\rho_d` and :math:`\mu_d = \rho_d\,dx` the JSD gradient flow is
:math:`v_t + Av = 0` with :math:`Av = -\tfrac12\Delta_{\mu_d}\ln(1+v)` (paper 002, (7)–(10)).
On a mesh Ω with no-flux boundary conditions :math:`\rho_d\,\partial_n\ln(1+v) = 0` the
resolvent :math:`w = (I+\tau A)^{-1}f` of (12) is, weakly with respect to :math:`\mu_d`,

.. math::

    \int_\Omega (w - f)\,\phi\,d\mu_d
        + \frac{\tau}{2}\int_\Omega \nabla\ln(1+w)\cdot\nabla\phi\,d\mu_d = 0
    \qquad \forall\phi .

In :math:`s = \ln(1+w)` it is the Euler–Lagrange equation of the strictly convex functional

.. math::

    E(s) = \int_\Omega \bigl(e^{s} - (1+f)\,s\bigr)\,d\mu_d
        + \frac{\tau}{4}\int_\Omega |\nabla s|^2\,d\mu_d ,

coercive whenever :math:`\int_\Omega (1+f)\,d\mu_d > 0` (then a unique minimiser exists for
every τ > 0, even where f ≤ −1 locally).

**Discretisation** (s in the Lagrange space :math:`V_h`, :math:`K_{ij} = \int\nabla\phi_i
\cdot\nabla\phi_j\,d\mu_d`, :math:`M_{ij} = \int\phi_i\phi_j\,d\mu_d`):

.. math::

    N(s) + \frac{\tau}{2}\,K s = q, \qquad q = M(1 + f), \qquad
    N(s)_i = \begin{cases} m_i\,e^{s_i}, & m_i = \textstyle\sum_j M_{ij}
        \quad\text{(lumped)}\\ \int e^{s_h}\phi_i\,d\mu_d & \text{(consistent)}\end{cases}

and the new state is :math:`w = M^{-1}\bigl(q - \tfrac{\tau}{2}Ks\bigr) - 1`.  Because
:math:`\mathbf 1^\top K = 0`, the mass :math:`\int w\,d\mu_d = \mathbf 1^\top M w` equals that
of f to round-off, whatever the Newton tolerance.

**Discrete maximum principle.**  With the lumped mass and a stiffness matrix with
non-positive off-diagonal entries (an M-matrix: P1 in 1D; P1 on triangulations without
obtuse angles, such as the right triangles of :func:`gan_pde.mesh.rectangle`; P1 on
tetrahedra with non-obtuse dihedral angles — a positive weight ρ_d keeps the sign of
:math:`\nabla\phi_i\cdot\nabla\phi_j`, which is constant on each cell), the resolvent
satisfies :math:`\min f \le w \le \max f` (at a node where s is largest,
:math:`(Ks)_i \ge 0`), hence preserves :math:`0 \le v \le \beta`, and it is an
:math:`L^1(\mu_d)` contraction in the lumped norm,
:math:`\sum_i m_i|w_i - \tilde w_i| \le \sum_i m_i|f_i - \tilde f_i|` (the discrete form of
the accretivity Lemma after (12)).  :attr:`LogDiffusionOperator.monotone` reports whether
these conditions hold.

**Scaling and Newton.**  ρ_d is normalised to :math:`\int_\Omega\rho_d = 1` by quadrature.
Every equation i is divided by :math:`\rho_d(x_i)`, and the scaled matrices
:math:`\hat K = D^{-1}K`, :math:`\hat M = D^{-1}M` (:math:`D = \mathrm{diag}\,\rho_d(x_i)`)
are assembled directly in log space, element by element,
:math:`\hat K_{ij} = \sum_{e} e^{c_e - \ln\rho_d(x_i)}\int_e e^{\ln\rho_d - c_e}
\nabla\phi_i\cdot\nabla\phi_j` with :math:`c_e` the largest :math:`\ln\rho_d` on cell e.
Their rows are O(1) however small ρ_d is, so nothing under- or overflows and v is accurate
in the tails.  The scaled Jacobian :math:`\mathrm{diag}(\hat m e^s) + \tfrac{\tau}{2}\hat K`
is a diagonal similarity :math:`D^{-1/2}(\cdot)D^{1/2}` of a symmetric positive definite
matrix, factorised without pivoting on a symmetric ordering.  Newton's step is backtracked
on the norm of the scaled residual :math:`\hat F = D^{-1}\nabla E`: the values of E itself
cannot resolve decreases below :math:`10^{-16}|E|` (an energy line search stalls near the
solution) and do not see the tails of ρ_d at all, whereas :math:`\|\hat F\|` weighs every
node alike.  The Newton direction is a descent direction of both E and :math:`\|\hat F\|`.
Iteration stops when :math:`\|\hat F\|` is below :math:`100\,\epsilon` times the norm of
the terms that cancel in it (a backward-error criterion) or the step falls below
:math:`10^{-10}(1 + \|s\|_\infty)`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
import skfem
from numpy.typing import ArrayLike

from gan_pde._arrays import as_positive
from gan_pde.errors import (
    InvalidDensityError,
    InvalidInputError,
    NotConvergedError,
    NumericalBreakdownError,
)
from gan_pde.fem.basis import element_order, make_basis, quadrature_rule
from gan_pde.fem.forms import (
    AffineLagrangeValues,
    affine_interpolate,
    affine_lagrange_values,
    affine_weighted_mass_values,
    is_affine_lagrange,
    is_p1_simplex_mesh,
    log_density_at_quadrature,
    p1_simplex_triplets,
    p1_simplex_values,
    simplex_geometry,
    weighted_mass,
    weighted_stiffness,
)
from gan_pde.fem.newton import CSRPattern, NewtonResult, newton
from gan_pde.fem.solvers import Factorization, LinearSolver, as_linear_solver
from gan_pde.resources import require_solve_memory

if TYPE_CHECKING:
    from gan_pde.densities import Density

__all__ = [
    "SCHEMES",
    "LogDiffusionOperator",
    "ResolventResult",
    "StepResult",
    "check_log_density",
]

logger = logging.getLogger(__name__)

#: Time schemes of :meth:`LogDiffusionOperator.advance`.
SCHEMES = ("backward-euler", "crank-nicolson", "tr-bdf2")

#: TR-BDF2 parameter γ = 2 − √2: both stages are resolvents with the same step γΔt/2.
_GAMMA = 2.0 - math.sqrt(2.0)
#: BDF2 weight of the intermediate stage, 1/(γ(2−γ)) = (1 + √2)/2.
_BDF2_WEIGHT = 1.0 / (_GAMMA * (2.0 - _GAMMA))
#: Newton stops when ‖F̂ᵢ / termsᵢ‖₂ ≤ _BACKWARD_ERROR · √n: each equation to about 100 ε
#: of the terms that cancel in it.
_BACKWARD_ERROR = 100.0 * np.finfo(float).eps
#: Newton accepts a stagnating residual whose per-node backward error (RMS of F̂ᵢ over the
#: terms that cancel in equation i) is at most this: a relative perturbation of the load of
#: 1e-10 is far below any time-discretisation error (≥ 1e-8 for every Δt ≥ 1e-4 on a problem
#: of unit time scale) and does not touch mass conservation, which is exact for any s.
_STAGNATION = 1e-10
#: Relative size of positive off-diagonal stiffness entries still read as round-off.
_M_MATRIX_RTOL = 1e-10
#: Relative residual of a reused factorisation's solve when Newton gives no forcing term.
_LINEAR_RTOL = 1e-8
#: Refinement sweeps with a reused factorisation before the Jacobian is factorised afresh.
_REFINEMENT_MAX = 8
#: Below this size every Newton system is factorised afresh: it costs microseconds, and the
#: result then does not depend on earlier solves (bit-for-bit reproducible round-off).
_REUSE_MIN_DOFS = 1000


#: The linear solver of the operator when none is given: SuperLU on the package's
#: ordering, whose results the flow's tests and checkpoints were made with (bit for bit).
DEFAULT_SOLVER = "superlu"


def _factorize_jacobian(solver: LinearSolver, matrix: sp.spmatrix, **kwargs) -> Factorization:
    """solver.factorize, with a singular or indefinite Jacobian as a NumericalBreakdownError
    that says it is Newton's."""
    try:
        return solver.factorize(matrix, **kwargs)
    except (RuntimeError, NumericalBreakdownError) as err:
        msg = f"the Newton Jacobian is singular in floating point ({err})"
        raise NumericalBreakdownError(msg) from err


def _solve(matrix: sp.spmatrix, rhs: np.ndarray) -> np.ndarray:
    """A one-off SuperLU solve (the benchmarks' "fresh factorisation" reference)."""
    return as_linear_solver(DEFAULT_SOLVER).factorize(matrix).solve(rhs)


class _ReusedFactorization:
    r"""Newton's linear solver: iterative refinement with the LU of an earlier Jacobian.

    The scaled Jacobian :math:`J = \mathrm{diag}(\hat m e^s) + \tfrac{\tau}{2}\hat K` changes
    between Newton iterations and time steps only in its diagonal (and with τ), so the
    factorisation :math:`L U` of an earlier :math:`J_0` solves :math:`J x = b` by the
    iteration :math:`x \leftarrow x + (LU)^{-1}(b - Jx)`, which contracts by about
    :math:`\max_i |J_{ii}/J_{0,ii} - 1|` per sweep (1e-2 between steps of Δt = 0.01, 1e-4
    between late Newton iterations).  A factorisation is reused across iterations, stages
    and steps while each sweep at least halves the true residual and Newton's forcing
    term is reached within :data:`_REFINEMENT_MAX` sweeps; otherwise the current matrix
    is factorised afresh.  Systems smaller than :data:`_REUSE_MIN_DOFS` are always
    factorised afresh.  Newton with these directions is an inexact Newton method whose
    forcing term shrinks with its residual (quadratic convergence), measured in Newton's
    own node-weighted norm; it still stops only on its own residual test, and mass
    conservation does not depend on the solve (the update of the module documentation is
    exact for any s).

    The factorisations are made by a :class:`~gan_pde.fem.solvers.LinearSolver` (SuperLU
    by default; CHOLMOD, PARDISO or AMG on request).  A new Jacobian with the pattern of
    the factorised one is refactorised numerically with the symbolic analysis kept
    (:meth:`~gan_pde.fem.solvers.Factorization.refactor`).  A Cholesky backend factorises
    the symmetric :math:`B = W J W^{-1}`, :math:`W = \mathrm{diag}(e^{h})`, with
    :attr:`similarity` h (the operator sets it: :math:`h = \tfrac12(\ln\rho_d + a)`).
    """

    def __init__(
        self,
        coordinates: np.ndarray | None = None,
        solver: str | LinearSolver | None = None,
        similarity: np.ndarray | None = None,
    ) -> None:
        #: Dof coordinates, for the nested-dissection ordering of large factorisations.
        self.coordinates = coordinates
        #: The backend that factorises the Jacobians.
        self.solver = as_linear_solver(solver, default=DEFAULT_SOLVER)
        #: h of the similarity J = e^{-h} B e^{h} on all dofs (None: not known).
        self.similarity = similarity
        #: Free dofs of the current Newton system (None: all), to restrict ``similarity``.
        self.free: np.ndarray | None = None
        self._lu: Factorization | None = None
        self._factored: sp.csr_matrix | None = None
        #: Factorisations and refinement sweeps so far (for benchmarks).
        self.factorizations = 0
        self.sweeps = 0

    def _similarity(self, n: int) -> np.ndarray | None:
        h = self.similarity
        if h is None or self.solver.name == "superlu":
            return None
        if h.size != n and self.free is not None:
            h = h[self.free]
        return h if h.size == n else None

    def _factorize(self, matrix: sp.csr_matrix) -> None:
        """Factorise ``matrix`` into ``self._lu``: numerically only when the current factor
        has its pattern (same ordering, same symbolic analysis)."""
        lu = self._lu
        if lu is not None and lu.shape == matrix.shape:
            try:
                lu.refactor(matrix)
                return
            except InvalidInputError:  # another pattern (other Dirichlet dofs)
                pass
            except NumericalBreakdownError as err:
                msg = f"the Newton Jacobian is singular in floating point ({err})"
                raise NumericalBreakdownError(msg) from err
        self._lu = _factorize_jacobian(
            self.solver,
            matrix,
            coordinates=self.coordinates,
            similarity=self._similarity(matrix.shape[0]),
        )

    def describe(self) -> dict:
        """Provenance of the linear solves: backend, its last factor, counts."""
        out = self.solver.describe() if self._lu is None else {
            **self.solver.describe(), **self._lu.describe()
        }  # fmt: skip
        return {**out, "factorizations": self.factorizations, "sweeps": self.sweeps}

    def state(self) -> dict[str, np.ndarray]:
        """The factorised matrix as CSR arrays (empty when none): enough to restore the
        solver exactly, since the factorisation of a given matrix is deterministic."""
        matrix = self._factored
        if matrix is None:
            return {
                "lu_data": np.empty(0),
                "lu_indices": np.empty(0, dtype=np.int64),
                "lu_indptr": np.empty(0, dtype=np.int64),
            }
        return {"lu_data": matrix.data, "lu_indices": matrix.indices, "lu_indptr": matrix.indptr}

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Re-factorise the matrix stored by :meth:`state` (or forget the factorisation)."""
        if state["lu_indptr"].size == 0:
            self._lu = self._factored = None
            return
        n = state["lu_indptr"].size - 1
        matrix = sp.csr_matrix(
            (state["lu_data"], state["lu_indices"], state["lu_indptr"]), shape=(n, n)
        )
        self._factored = matrix
        self._factorize(matrix)

    #: Newton passes its forcing term and weights (see :func:`gan_pde.fem.newton.newton`).
    inexact = True

    def __call__(
        self,
        matrix: sp.spmatrix,
        rhs: np.ndarray,
        *,
        rtol: float = _LINEAR_RTOL,
        weights: np.ndarray | None = None,
    ) -> np.ndarray:
        if matrix.shape[0] < _REUSE_MIN_DOFS:
            return _factorize_jacobian(
                self.solver, matrix, similarity=self._similarity(matrix.shape[0])
            ).solve(rhs)
        lu = self._lu
        if lu is not None and lu.shape == matrix.shape:
            # the residual is measured in Newton's weighted norm: an unweighted norm is
            # dominated by the largest equations and leaves the small ones (the tails of
            # ρ_d) unresolved, which turned Newton's quadratic convergence into a linear one
            w = 1.0 if weights is None else weights
            target = rtol * np.linalg.norm(w * rhs)
            x = lu.solve(rhs)
            previous = np.inf
            for _ in range(_REFINEMENT_MAX):
                self.sweeps += 1
                r = rhs - matrix @ x
                norm = np.linalg.norm(w * r)
                if norm <= target:
                    return x
                if not norm <= 0.5 * previous:
                    break
                previous = norm
                x = x + lu.solve(r)
        self._factored = sp.csr_matrix(matrix, copy=True)
        self._factorize(self._factored)
        self.factorizations += 1
        return self._lu.solve(rhs)


@dataclass(frozen=True)
class ResolventResult:
    """Outcome of one resolvent solve :math:`w = (I + \\tau A)^{-1} f`.

    Attributes
    ----------
    v
        The dof vector of w.
    s
        The Newton unknown :math:`s = \\ln(1 + w)` at the dofs.
    newton
        The Newton solver's record (iterations, residual norms, step lengths).
    """

    v: np.ndarray
    s: np.ndarray
    newton: NewtonResult


@dataclass(frozen=True)
class StepResult:
    """Outcome of one time step of :meth:`LogDiffusionOperator.advance`.

    Attributes
    ----------
    v
        The dof vector of v at the end of the step.
    s
        :math:`\\ln(1+w)` of the last resolvent stage (a warm start for the next step).
    newton_iterations
        Newton iterations summed over the stages.
    grad_v_integral
        :math:`\\int_t^{t+\\Delta t}\\|\\nabla v\\|^2_{L^2(\\mu_d)}\\,dt` by the quadrature
        rule of the scheme (right end point, midpoint, TR-BDF2 weights) applied to the
        stage values :math:`e^{s} - 1` (+inf where v leaves the double range).
    newton_residual
        The attained accuracy: the largest over the stages of the final per-node backward
        error of Newton, :math:`\\|\\hat F_i/\\text{terms}_i\\|_2/\\sqrt n` (about 1e-16 when
        converged to round-off; at most 1e-10 when Newton stopped on stagnation).
    """

    v: np.ndarray
    s: np.ndarray
    newton_iterations: int
    grad_v_integral: float
    newton_residual: float = 0.0


@dataclass(frozen=True)
class _Dirichlet:
    """Dofs with prescribed values and the complementary free dofs."""

    dofs: np.ndarray
    free: np.ndarray
    values: Callable[[float], np.ndarray]


class LogDiffusionOperator:
    r"""The discrete operator :math:`Av = -\tfrac12\Delta_{\mu_d}\ln(1+v)` (paper 002, (9)).

    Holds the weighted matrices of a target ρ_d on a mesh and provides the resolvent
    :math:`(I+\tau A)^{-1}` (12) and one step of the time schemes in :data:`SCHEMES` (see
    the module documentation for the discrete equations and their properties).  It is the
    physics shared by :class:`gan_pde.flows.JSDFlow` and by verification problems with
    Dirichlet data.

    Parameters
    ----------
    target
        The data density ρ_d (anything with ``log_pdf`` and ``dim``: analytic, a KDE, a
        :class:`~gan_pde.densities.MeshDensity`).  It must be positive on the whole mesh; it
        is normalised to mass 1 on the mesh by quadrature.
    mesh
        A scikit-fem mesh (see :mod:`gan_pde.mesh`); its boundary carries no-flux conditions.
    element
        ``"P1"`` or ``"P2"``.
    lumped
        Lumped (diagonal) mass for the :math:`e^s` and f terms.  Default: True for P1 (it
        gives the maximum principle), False for P2 (whose lumped mass has zero or negative
        weights on triangles and tetrahedra).
    solver
        The sparse solver of the Newton systems and of the consistent mass: a name of
        :data:`~gan_pde.fem.solvers.SOLVER_NAMES` or a
        :class:`~gan_pde.fem.solvers.LinearSolver`.  Default :data:`DEFAULT_SOLVER`
        (SuperLU, the reference the flow's results are reproduced with bit for bit);
        ``"auto"`` takes CHOLMOD or PARDISO where installed (same results to round-off,
        faster from ~1e5 dofs).  :meth:`set_solver` changes it later.
    assembly
        ``"scikit-fem"`` (the forms through scikit-fem's ``coo_data``: the reference, bit
        for bit) or ``"p1-kernel"`` (P1 on simplices only: the package's vectorised P1
        kernel, the same matrices to round-off, with the scikit-fem basis built on the
        second core meanwhile: the set-up of a 1e6-dof flow several times faster).  None
        (default): ``"p1-kernel"`` where it applies and a solver other than the reference
        :data:`DEFAULT_SOLVER` is given, else ``"scikit-fem"``.

    Attributes
    ----------
    weights
        :math:`m_i = \int\phi_i\,d\mu_d`, the lumped masses (sum 1; they may underflow to 0
        in the far tails, where they only enter integrals).
    stiffness
        K, symmetric (for :math:`\|\nabla v\|^2_{L^2(\mu_d)} = v^\top Kv` and other integrals).
    monotone
        True when the lumped P1 stiffness is an M-matrix: then the backward-Euler step keeps
        the maximum principle and the :math:`L^1(\mu_d)` contraction.

    Raises
    ------
    InvalidInputError
        For a wrong mesh, element or dimension, or a lumped mass with non-positive weights
        (always the case for P2 on triangles and tetrahedra).
    InvalidDensityError
        If ρ_d vanishes at a quadrature point or dof of the mesh (the message names it) or
        is NaN there.

    Examples
    --------
    >>> import gan_pde as gp
    >>> op = LogDiffusionOperator(gp.Gaussian(mean=[0.0], cov=[[1.0]]),
    ...                           gp.mesh.interval(-8.0, 8.0, n=64))
    >>> op.monotone, round(float(op.weights.sum()), 12)
    (True, 1.0)
    >>> w = op.resolvent(np.full(op.n_dofs, 0.5), 1.0).v   # constants are steady states
    >>> bool(np.allclose(w, 0.5, atol=1e-14))
    True
    """

    def __init__(
        self,
        target: Density,
        mesh: skfem.Mesh,
        *,
        element: str = "P1",
        lumped: bool | None = None,
        solver: str | LinearSolver | None = None,
        assembly: str | None = None,
    ) -> None:
        linear = as_linear_solver(solver, default=DEFAULT_SOLVER)
        if not isinstance(mesh, skfem.Mesh):
            msg = f"mesh must be a scikit-fem mesh (see gan_pde.mesh); got {type(mesh).__name__}"
            raise InvalidInputError(msg)
        if not hasattr(target, "log_pdf") or not hasattr(target, "dim"):
            msg = f"target must be a gan_pde Density (with log_pdf and dim); got {type(target)}"
            raise InvalidInputError(msg)
        if target.dim != mesh.dim():
            msg = f"the target has dimension {target.dim} but the mesh has dimension {mesh.dim()}"
            raise InvalidInputError(msg)
        order = element_order(element)
        self.element = element.upper()
        self.lumped = order == 1 if lumped is None else bool(lumped)
        if self.lumped and order == 2 and isinstance(mesh, (skfem.MeshTri1, skfem.MeshTet1)):
            msg = (
                "the lumped P2 mass on triangles and tetrahedra has zero or negative vertex "
                "weights (the vertex basis functions integrate to <= 0); use lumped=False"
            )
            raise InvalidInputError(msg)
        require_solve_memory(mesh, element, "a JSD flow")
        self.target = target
        self._mesh = mesh
        #: How the matrices were assembled: ``"p1-kernel"`` or ``"scikit-fem"``.
        self.assembly = _assembly(assembly, order, mesh, linear)
        fast = self.assembly == "p1-kernel"
        if fast:
            # the basis is needed only after the set-up (functionals, P2 terms): build it on
            # the second core while this one assembles (numpy releases the GIL)
            # and the sparsity pattern, which needs only the cells, before it (a counting
            # sort of 1.8e7 entries at 1e6 dofs, ~1.8 s, beside the quadrature here)
            pool = ThreadPoolExecutor(max_workers=1)
            pending_pattern = pool.submit(_p1_pattern, mesh)
            self._basis_future = pool.submit(make_basis, mesh, element)
            pool.shutdown(wait=False)
            geometry = simplex_geometry(mesh, quadrature_rule(mesh, element))
            nqp = geometry.weights.size
            dof_points = np.ascontiguousarray(mesh.p.T)
            log_qp = np.asarray(target.log_pdf(geometry.points), dtype=float)
            check_log_density(log_qp, geometry.points, "target")
            log_qp = log_qp.reshape(nqp, -1).T  # (nelems, nqp), as scikit-fem's forms
            dx = geometry.volume[:, None] * geometry.weights[None, :]
        else:
            self._basis_future = None
            self._basis = make_basis(mesh, element)
            log_qp = log_density_at_quadrature(target, self._basis)
            dof_points = np.ascontiguousarray(self._basis.doflocs.T)
            dx = self._basis.dx
        #: The dof coordinates, (n, d).
        self.dof_points = dof_points
        log_dofs = np.asarray(target.log_pdf(dof_points), dtype=float)
        check_log_density(log_dofs, dof_points, "target")
        top = float(log_qp.max())
        log_norm = top + math.log(float(np.sum(np.exp(log_qp - top) * dx)))
        #: ρ_d's mass on the mesh before normalisation (quadrature).
        self.target_mass_on_mesh = math.exp(log_norm)
        #: ln ρ_d (normalised) at the quadrature points, shape (nelems, nqp).
        self.log_target_at_quadrature = log_qp - log_norm
        #: ln ρ_d (normalised) at the dofs.
        self.log_target_at_dofs = log_dofs - log_norm

        shift = self.log_target_at_quadrature.max(axis=1)
        relative = np.exp(self.log_target_at_quadrature - shift[:, None])
        if fast:
            # the P1 simplex kernel: the raw entries of scikit-fem's coo_data, in its order
            # (equal to round-off), one weighted sum per cell instead of one form per point
            n = mesh.nvertices
            nelems = mesh.nelements
            k_data, m_data = _p1_values(geometry, np.ascontiguousarray(relative.T))
            nbfun = geometry.dofs.shape[0]
            rows, self.pattern, pattern_rows, diagonal_slots = pending_pattern.result()
        else:
            k_coo = weighted_stiffness.coo_data(self._basis, rho=relative)
            m_coo = weighted_mass.coo_data(self._basis, rho=relative)
            rows, cols = k_coo.indices
            k_data, m_data = k_coo.data, m_coo.data
            n, nelems, nbfun = self._basis.N, self._basis.nelems, self._basis.Nbfun
        #: (nbfun, nelems) dofs of the cells: raw entry (j, i, e) lies in row dofs[i, e]
        self._element_dofs = geometry.dofs if fast else self._basis.element_dofs
        # scikit-fem orders raw COO entries with the element index fastest
        self._cell = np.tile(np.arange(nelems), nbfun**2)
        if not fast:
            self.pattern = _pattern_from_triplets(rows, cols, (n, n))
        row_scale = self._row_scale(shift)
        self._stiffness_hat = _zero_row_sums(self.pattern.matrix(k_data * row_scale))
        self._mass_hat = self.pattern.matrix(m_data * row_scale)
        self._weights_hat = np.asarray(self._mass_hat.sum(axis=1)).ravel()
        factor = np.exp(shift)[self._cell]
        self.stiffness = _zero_row_sums(self.pattern.matrix(k_data * factor))
        hat = self._stiffness_hat.tocoo()
        off = hat.row != hat.col
        self._pairs = (hat.row[off], hat.col[off])
        # the pairs in CSR order (rows ascending): sums over a row's pairs are a CSR
        # product with ones, the same sums in the same order as np.bincount (bit-identical)
        # at 1.5x its speed (0.076 against 0.115 s for 6e6 pairs)
        self._pair_counts = np.bincount(self._pairs[0], minlength=n)
        self._pair_indptr = np.concatenate([[0], np.cumsum(self._pair_counts)]).astype(
            self._pairs[1].dtype
        )
        self._pair_hat = hat.data[off]
        self._pair_weights = self.stiffness.tocoo().data[off]
        self.weights = np.exp(self.log_target_at_dofs) * self._weights_hat
        if self.lumped and not np.all(self._weights_hat > 0.0):
            i = int(np.argmin(self._weights_hat))
            if order == 1:
                # P1 weights ∫φ_i dμ_d / ρ_d(x_i) are positive; zero means that ρ_d(x_i)
                # exceeds ρ_d at every quadrature point of the cells around x_i by e^745
                msg = (
                    f"the target density is not resolved by the mesh at "
                    f"{dof_points[i].tolist()}: it is more than e^745 times larger there "
                    "than at every quadrature point of the cells around it, so its lumped "
                    "mass underflows to 0; refine the mesh there"
                )
                raise InvalidDensityError(msg)
            msg = (
                f"the lumped {self.element} mass has a non-positive weight at "
                f"{dof_points[i].tolist()}; use lumped=False"
            )
            raise InvalidInputError(msg)
        if not fast:
            pattern_rows, diagonal_slots = _pattern_rows_and_diagonal(self.pattern)
        self._pattern_rows, self._diagonal_slots = pattern_rows, diagonal_slots
        # nested dissection for P1 (2x faster at 1e6 dofs); on P2 its separators are thick
        # and minimum degree is faster
        coordinates = dof_points if order == 1 else None
        self._coordinates = coordinates
        self._solver = linear
        # M̂ = D⁻¹M and the Jacobians D⁻¹S (M, S symmetric) are similar to symmetric
        # matrices through W = D^{1/2}: h = ln ρ_d / 2 (module documentation)
        self._mass_lu = None if self.lumped else self._factorize_mass(self._mass_hat, None)
        self._linear_solver = _ReusedFactorization(
            coordinates, linear, 0.5 * self.log_target_at_dofs
        )
        self.monotone = self.lumped and order == 1 and self._is_m_matrix()
        #: Per-dof log scale a ≥ 0 of the state (None: a = 0); see :meth:`set_log_scale`.
        self.log_scale: np.ndarray | None = None
        # the matrices of the scaled equations E⁻¹(·), E = diag(e^a): the hat ones for a = 0
        self._stiffness_eq = self._stiffness_hat
        self._pair_eq = self._pair_hat
        self._mass_eq = self._mass_hat
        self._mass_eq_lu = self._mass_lu
        # the rows of the per-cell sums (i, e) of raw entries (_row_sums)
        self._local_rows = np.ravel(self._element_dofs)
        # the reference table of the e^s-weighted consistent mass (_weighted_mass_raw):
        # built at its first use, so that a "p1-kernel" set-up need not wait for the basis
        self._mass_table: AffineLagrangeValues | None = None
        self._mass_table_ready = False

    @property
    def basis(self) -> skfem.CellBasis:
        """The scikit-fem basis (built on the second core during a ``"p1-kernel"`` set-up;
        the first access waits for it)."""
        if self._basis_future is not None:
            self._basis = self._basis_future.result()
            self._basis_future = None
        return self._basis

    def _factorize_mass(self, matrix: sp.spmatrix, log_scale: np.ndarray | None):
        """Factorise the scaled consistent mass E⁻¹D⁻¹ME: similar to a symmetric matrix
        through h = a + ln ρ_d / 2."""
        h = 0.5 * self.log_target_at_dofs
        if log_scale is not None:
            h = h + log_scale
        return self._solver.factorize(matrix, coordinates=self._coordinates, similarity=h)

    @property
    def solver(self) -> LinearSolver:
        """The :class:`~gan_pde.fem.solvers.LinearSolver` of the Newton systems."""
        return self._solver

    def set_solver(self, solver: str | LinearSolver | None) -> None:
        """Use another sparse solver from now on (a name or a
        :class:`~gan_pde.fem.solvers.LinearSolver`; None: :data:`DEFAULT_SOLVER`).  The
        current factorisations are redone with it."""
        self._solver = as_linear_solver(solver, default=DEFAULT_SOLVER)
        self._linear_solver.solver = self._solver
        self._linear_solver.restore(_ReusedFactorization().state())
        if not self.lumped:
            self._mass_lu = self._factorize_mass(self._mass_hat, None)
            self._mass_eq_lu = (
                self._mass_lu
                if self.log_scale is None
                else self._factorize_mass(self._mass_eq, self.log_scale)
            )

    def solver_provenance(self) -> dict:
        """The backend of the linear solves and its last factor's record (ordering,
        non-zeros, memory, timings), with the factorisation and sweep counts."""
        return self._linear_solver.describe()

    def set_log_scale(self, log_scale: ArrayLike | None) -> None:
        r"""Represent states by :math:`z = (1 + v)\,e^{-a} - 1` with a per-dof scale a ≥ 0.

        Where :math:`\rho_0/\rho_d` is astronomically large (e^3000 in the tails of a
        narrow target under a wide initial density), v itself leaves the double range
        while :math:`s = \ln(1+v)` and the physical density :math:`u = \rho_d v` do not.
        With a scale set, every state that :meth:`load`, :meth:`ratio`, :meth:`resolvent`
        and :meth:`advance` take or return is z instead of v (so a = 0 is the plain
        representation), every equation i of the resolvent is divided by
        :math:`e^{a_i}` (its terms :math:`\hat m_i e^{s_i}` and :math:`\hat q_i` are of
        that size), and the Newton unknown is still :math:`s = \ln(1+w)`.  The scaled
        Jacobian :math:`E^{-1}(\mathrm{diag}(\hat m e^s) + \tfrac\tau2\hat K)` stays a
        diagonal scaling of a symmetric positive definite matrix, and mass conservation
        is exact as before (the load vectors are :math:`E^{-1}\hat M(1+v)`).  None or
        all zeros restores the plain representation.
        """
        if log_scale is None or not np.any(np.asarray(log_scale) != 0.0):
            self.log_scale = None
            self._stiffness_eq = self._stiffness_hat
            self._pair_eq = self._pair_hat
            self._mass_eq = self._mass_hat
            self._mass_eq_lu = self._mass_lu
            self._linear_solver.similarity = 0.5 * self.log_target_at_dofs
            return
        a = _dof_vector(log_scale, self.n_dofs, "log_scale")
        if np.any(a < 0.0):
            msg = "log_scale must be >= 0 at every dof"
            raise InvalidInputError(msg)
        self.log_scale = a
        down = np.exp(-a)
        self._stiffness_eq = sp.csr_matrix(
            (
                self._stiffness_hat.data * down[self._pattern_rows],
                self.pattern.indices,
                self.pattern.indptr,
            ),
            shape=self.pattern.shape,
        )
        self._pair_eq = self._pair_hat * down[self._pairs[0]]
        if not self.lumped:
            # E⁻¹M̂E: entries M̂_ij e^{a_j − a_i} (a varies by O(1) between neighbours)
            ratio = np.exp(a[self.pattern.indices] - a[self._pattern_rows])
            self._mass_eq = sp.csr_matrix(
                (self._mass_hat.data * ratio, self.pattern.indices, self.pattern.indptr),
                shape=self.pattern.shape,
            )
            self._mass_eq_lu = self._factorize_mass(self._mass_eq, a)
        # the Jacobian (DE)⁻¹S is similar to a symmetric one through h = (a + ln ρ_d) / 2
        self._linear_solver.similarity = 0.5 * (a + self.log_target_at_dofs)
        # a factorisation of the unscaled Jacobian is of no use any more
        self._linear_solver.restore(_ReusedFactorization().state())

    def log1p_state(self, z: np.ndarray) -> np.ndarray:
        r""":math:`\ln(1 + v)` of a state z (NaN where v ≤ −1)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            lp = np.log1p(np.where(z > -1.0, z, np.nan))
        return lp if self.log_scale is None else self.log_scale + lp

    def _row_scale(
        self, shift: np.ndarray, log_scale: np.ndarray | None = None, *, trial: bool = False
    ) -> np.ndarray:
        """Factors e^{c_e − ln ρ_d(x_i) − a_i} of the raw COO entries (row i, cell e).

        Computed once per (local row, cell) and repeated over the local columns j of the
        raw layout (j, i, e): a third of the exponentials (the same numbers)."""
        dofs = self._element_dofs
        exponent = shift[None, :] - self.log_target_at_dofs[dofs]
        if log_scale is not None:
            exponent = exponent - log_scale[dofs]
        shape = (dofs.shape[0], *dofs.shape)
        if trial:
            # a Newton trial point far from the solution: e^s overflows, the residual is
            # not finite, and the line search halves the step
            with np.errstate(over="ignore"):
                return np.broadcast_to(np.exp(exponent), shape).reshape(-1)
        if exponent.max() > 700.0:
            msg = (
                f"the target density varies by a factor e^{exponent.max():.0f} inside one cell; "
                "refine the mesh"
            )
            raise InvalidDensityError(msg)
        return np.broadcast_to(np.exp(exponent), shape).reshape(-1)

    def _is_m_matrix(self) -> bool:
        diagonal = self._stiffness_hat.diagonal()
        return bool(np.all(self._pair_hat <= _M_MATRIX_RTOL * diagonal[self._pairs[0]]))

    # ----------------------------------------------------------------------- properties

    @property
    def n_dofs(self) -> int:
        """Number of degrees of freedom."""
        return int(self.dof_points.shape[0])

    @property
    def mesh(self) -> skfem.Mesh:
        """The mesh."""
        return self._mesh

    @property
    def target_at_dofs(self) -> np.ndarray:
        """The normalised target density at the dofs (0 where it underflows)."""
        return np.exp(self.log_target_at_dofs)

    # ----------------------------------------------------------------------- linear algebra

    def load(self, v: np.ndarray) -> np.ndarray:
        r"""The scaled load :math:`\hat q = D^{-1}M(1 + v)` (lumped or consistent M)."""
        if self.lumped:
            return self._weights_hat * (1.0 + v)
        return self._mass_eq @ (1.0 + v)

    def ratio(self, q: np.ndarray) -> np.ndarray:
        r"""Inverse of :meth:`load`: :math:`v = \hat M^{-1}\hat q - 1`."""
        if self.lumped:
            return q / self._weights_hat - 1.0
        return self._mass_eq_lu.solve(q) - 1.0

    def flux(self, s: np.ndarray) -> np.ndarray:
        r"""The scaled weak operator :math:`\tfrac12\hat K s`, :math:`s = \ln(1+v)`.

        Evaluated as :math:`\tfrac12\sum_{j\ne i}\hat K_{ij}(s_j - s_i)` (K has zero row
        sums): the rounding error is then proportional to the differences of s, not to s,
        so mass stays conserved to round-off even for huge steps, where s is nearly constant.
        """
        return 0.5 * self._pair_sums(self._pair_eq * self._pair_differences(s))

    def _pair_differences(self, s: np.ndarray) -> np.ndarray:
        """:math:`s_j - s_i` over the pairs (i, j), in their order."""
        return s[self._pairs[1]] - np.repeat(s, self._pair_counts)

    def _pair_sums(self, values: np.ndarray) -> np.ndarray:
        """Per row i, the sum of ``values`` over the pairs (i, j) (CSR order)."""
        n = self.n_dofs
        rows = sp.csr_matrix((values, self._pairs[1], self._pair_indptr), shape=(n, n))
        return rows @ np.ones(n)

    def dirichlet_form(self, a: np.ndarray, b: np.ndarray) -> float:
        r""":math:`\int\nabla a\cdot\nabla b\,d\mu_d = a^\top K b
        = \tfrac12\sum_{i\ne j}(-K_{ij})(a_i - a_j)(b_i - b_j)` (non-negative for a = b
        and, with an M-matrix K, for any two increasing functions of the same v)."""
        i, j = self._pairs
        return -0.5 * float(np.sum(self._pair_weights * (a[i] - a[j]) * (b[i] - b[j])))

    def grad_norm_squared(self, v: np.ndarray) -> float:
        r""":math:`\|\nabla v\|^2_{L^2(\mu_d)} = v^\top K v`."""
        return self.dirichlet_form(v, v)

    # ----------------------------------------------------------------------- resolvent

    def _nonlinear(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r"""Scaled :math:`\hat N(s) = D^{-1}N(s)` and its Jacobian's data in the pattern."""
        if self.lumped:
            n_of_s = self._weights_hat * np.exp(s if self.log_scale is None else s - self.log_scale)
            data = np.zeros(self.pattern.nnz)
            data[self._diagonal_slots] = n_of_s
            return n_of_s, data
        shift, mass = self._weighted_mass_raw(s)
        with np.errstate(over="ignore", invalid="ignore"):
            raw = mass * self._row_scale(shift, self.log_scale, trial=True)
            n_of_s = self._row_sums(raw)
        return n_of_s, np.bincount(self.pattern.slot, weights=raw, minlength=self.pattern.nnz)

    def _nonlinear_absolute(self, s: np.ndarray) -> np.ndarray:
        r"""Sums of the absolute cell contributions to :math:`\hat N(s)_i` (consistent mass)."""
        shift, mass = self._weighted_mass_raw(s)
        with np.errstate(over="ignore", invalid="ignore"):
            raw = mass * self._row_scale(shift, self.log_scale, trial=True)
            return self._row_sums(np.abs(raw, out=raw))

    def _row_sums(self, raw: np.ndarray) -> np.ndarray:
        """Row sums of raw COO entries ``[j, i, e]``: first over the local columns j in each
        cell (contiguous), then one scatter of the ``(i, e)`` sums, a sixth of the entries
        for P2 on triangles (3x faster than one scatter of all of them)."""
        per_cell = raw.reshape(self._element_dofs.shape[0], -1).sum(axis=0)
        return np.bincount(self._local_rows, weights=per_cell, minlength=self.n_dofs)

    def _weighted_mass_raw(self, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        r"""The raw COO entries of :math:`\int e^{\ln\rho_d + s - c_e}\phi_i\phi_j` in
        ``coo_data``'s order, with the cell shifts :math:`c_e = \max_q(\ln\rho_d + s)`.

        P1/P2 on affine simplices: two small matrix products with the reference table
        (:func:`~gan_pde.fem.forms.affine_lagrange_values`), the same numbers as
        scikit-fem's form to round-off, several times faster (the interpolation of s and
        the form evaluation at every quadrature point were 40 % of a P2 step); other
        meshes (quadrilaterals, hexahedra): scikit-fem's ``interpolate`` and ``coo_data``.
        """
        if not self._mass_table_ready:
            basis = self.basis
            self._mass_table = affine_lagrange_values(basis) if is_affine_lagrange(basis) else None
            self._mass_table_ready = True
        table = self._mass_table
        if table is None:
            log_w = self.log_target_at_quadrature + np.asarray(self.basis.interpolate(s))
            shift = log_w.max(axis=1)
            coo = weighted_mass.coo_data(self.basis, rho=np.exp(log_w - shift[:, None]))
            return shift, coo.data
        log_w = self.log_target_at_quadrature + affine_interpolate(table, s)
        shift = log_w.max(axis=1)
        return shift, affine_weighted_mass_values(table, np.exp(log_w - shift[:, None]))

    def _solve_stage(
        self,
        q: np.ndarray,
        tau: float,
        s0: np.ndarray,
        fixed: _Dirichlet | None,
        s_fixed: np.ndarray | None,
        max_iter: int,
    ) -> tuple[np.ndarray, NewtonResult]:
        r"""Solve :math:`\hat N(s) + \tfrac{\tau}{2}\hat K s = \hat q` on the free dofs."""
        stiffness_data = 0.5 * tau * self._stiffness_eq.data
        s_full = np.array(s0, dtype=float, copy=True)
        free = slice(None) if fixed is None else fixed.free
        self._linear_solver.free = None if fixed is None else fixed.free
        if fixed is not None:
            s_full[fixed.dofs] = s_fixed

        def full(x: np.ndarray) -> np.ndarray:
            s = s_full.copy()
            s[free] = x
            return s

        cache: dict[str, np.ndarray] = {}

        def nonlinear(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            # newton evaluates the residual and then the Jacobian at the same point
            if "x" not in cache or not np.array_equal(cache["x"], x):
                cache["x"] = x.copy()
                cache["n"], cache["data"] = self._nonlinear(full(x))
            return cache["n"], cache["data"]

        def residual(x: np.ndarray) -> np.ndarray:
            return (nonlinear(x)[0] + tau * self.flux(full(x)) - q)[free]

        def jacobian(x: np.ndarray) -> sp.csr_matrix:
            data = nonlinear(x)[1] + stiffness_data
            matrix = sp.csr_matrix(
                (data, self.pattern.indices, self.pattern.indptr), shape=self.pattern.shape
            )
            return matrix if fixed is None else matrix[free][:, free]

        # size of the terms that cancel in F̂ near the solution: N(s*) ≈ q̂ − τ·flux, and the
        # flux of the start (a warm start in time stepping) measures that of the solution
        differences = np.abs(self._pair_eq * self._pair_differences(s_full))
        terms = 2.0 * np.abs(q) + 0.5 * tau * self._pair_sums(differences)
        if not self.lumped:
            # with a consistent mass, N̂(s)_i = ∫e^{s_h}φ_i dμ_d sums cell contributions of
            # both signs (P2 basis functions change sign), which can be much larger than
            # N̂_i itself: its round-off floor is ε times their absolute sum, not ε|q̂_i|
            terms = terms + 2.0 * self._nonlinear_absolute(s_full)
        # trial points where e^s overflows give non-finite residuals, which the line
        # search rejects (it halves the step)
        with np.errstate(over="ignore"):
            # node-wise: equation i is measured against its own terms, so nodes where v is
            # small are resolved even when v reaches 1e25 elsewhere (a global norm would
            # let them drift, breaking the maximum principle)
            scale = np.maximum(terms[free], np.finfo(float).tiny)
            result = newton(
                residual,
                jacobian,
                s_full[free],
                rtol=0.0,
                atol=_BACKWARD_ERROR * np.sqrt(scale.size),
                max_iter=max_iter,
                linear_solve=self._linear_solver,
                scale=scale,
                stagnation_atol=_STAGNATION * np.sqrt(scale.size),
                # a start that already meets the norm test (the last step's s when v is
                # stationary) can leave one node at √n·100 ε of its terms, and backward
                # Euler then repeats that node's last decrement: v went to -2.7e-14 below
                # 0 (tests/test_properties.py); one step from there resolves every node
                polish=True,
            )
        logger.debug(
            "resolvent tau=%.3g: %d Newton iterations, |F| %.2e -> %.2e",
            tau,
            result.iterations,
            result.residual_norms[0],
            result.residual_norms[-1],
        )
        return full(result.x), result

    def _dirichlet(
        self, dofs: ArrayLike | None, values: Callable[[float], ArrayLike] | ArrayLike | None
    ) -> _Dirichlet | None:
        if dofs is None and values is None:
            return None
        if self.log_scale is not None:
            msg = "Dirichlet data are not supported together with a log scale (set_log_scale)"
            raise InvalidInputError(msg)
        if dofs is None or values is None:
            msg = "dirichlet_dofs and dirichlet_values must be given together"
            raise InvalidInputError(msg)
        idx = np.unique(np.asarray(dofs, dtype=np.int64).ravel())
        if idx.size == 0 or idx[0] < 0 or idx[-1] >= self.n_dofs:
            msg = f"dirichlet_dofs must be non-empty dof indices in [0, {self.n_dofs})"
            raise InvalidInputError(msg)
        free = np.setdiff1d(np.arange(self.n_dofs), idx)
        given = values if callable(values) else (lambda _t, _v=values: _v)

        def at(t: float) -> np.ndarray:
            g = np.asarray(given(t), dtype=float).ravel()
            if g.shape != idx.shape or not np.all(np.isfinite(g)) or np.any(g <= -1.0):
                msg = (
                    f"dirichlet_values must give {idx.size} finite values > -1 (one per "
                    f"dirichlet dof, in sorted dof order); got {g.tolist()[:5]}..."
                )
                raise InvalidInputError(msg)
            return g

        return _Dirichlet(dofs=idx, free=free, values=at)

    def _ratio_with(
        self, q: np.ndarray, fixed: _Dirichlet | None, boundary: np.ndarray | None
    ) -> np.ndarray:
        if fixed is None:
            return self.ratio(q)
        v = np.zeros(self.n_dofs)
        v[fixed.dofs] = boundary
        f = fixed.free
        if self.lumped:
            v[f] = q[f] / self._weights_hat[f] - 1.0
            return v
        # M̂_FF (1 + v_F) = q̂_F − M̂_FD (1 + v_D)
        known = np.zeros(self.n_dofs)
        known[fixed.dofs] = 1.0 + boundary
        rhs = q[f] - (self._mass_hat @ known)[f]
        h = 0.5 * self.log_target_at_dofs[f]
        v[f] = self._solver.factorize(self._mass_hat[f][:, f], similarity=h).solve(rhs) - 1.0
        return v

    def resolvent(
        self,
        f: ArrayLike,
        step: float,
        *,
        initial_guess: ArrayLike | None = None,
        dirichlet_dofs: ArrayLike | None = None,
        dirichlet_values: ArrayLike | None = None,
        max_iter: int = 50,
    ) -> ResolventResult:
        r"""The resolvent :math:`w = (I + \tau A)^{-1} f` of (12) with τ = ``step``.

        Solves :math:`N(s) + \tfrac{\tau}{2}Ks = M(1+f)` by Newton's method (module
        documentation), then returns the mass-conservative
        :math:`w = M^{-1}(M(1+f) - \tfrac{\tau}{2}Ks) - 1`.

        Parameters
        ----------
        f
            Dof vector of f with :math:`\int (1 + f)\,d\mu_d > 0` (e.g. any f > −1).
        step
            τ > 0; any size works.
        initial_guess
            Starting s (default :math:`\ln(1 + \max(f, -1/2))`).
        dirichlet_dofs, dirichlet_values
            Optional dofs where w is prescribed (values > −1); then the weak form holds
            for test functions vanishing there, and mass is no longer conserved.
        max_iter
            Newton iteration limit.

        Raises
        ------
        NotConvergedError
            If Newton does not converge (the message gives the residual).

        Examples
        --------
        >>> import gan_pde as gp
        >>> op = LogDiffusionOperator(gp.Gaussian(mean=[0.0], cov=[[1.0]]),
        ...                           gp.mesh.interval(-6.0, 6.0, n=48))
        >>> f = np.exp(-op.basis.doflocs[0] ** 2)
        >>> res = op.resolvent(f, 1e3)            # a huge step: w is nearly constant
        >>> bool(np.ptp(res.v) < 1e-2), bool(res.newton.converged)
        (True, True)
        """
        tau = as_positive(step, "step")
        v = _dof_vector(f, self.n_dofs, "f")
        fixed = self._dirichlet(dirichlet_dofs, dirichlet_values)
        boundary = None if fixed is None else fixed.values(0.0)
        q = self.load(v)
        s0 = self._initial_guess(v, initial_guess)
        s_fixed = None if boundary is None else np.log1p(boundary)
        s, result = self._solve_stage(q, tau, s0, fixed, s_fixed, max_iter)
        w = self._ratio_with(q - tau * self.flux(s), fixed, boundary)
        return ResolventResult(v=w, s=s, newton=result)

    def _initial_guess(self, v: np.ndarray, guess: ArrayLike | None) -> np.ndarray:
        if guess is None:
            s = np.log1p(np.maximum(v, -0.5))
            return s if self.log_scale is None else s + self.log_scale
        return _dof_vector(guess, self.n_dofs, "initial_guess")

    # ----------------------------------------------------------------------- time schemes

    def advance(
        self,
        v: ArrayLike,
        dt: float,
        *,
        scheme: str = "backward-euler",
        t: float = 0.0,
        initial_guess: ArrayLike | None = None,
        dirichlet_dofs: ArrayLike | None = None,
        dirichlet_values: Callable[[float], ArrayLike] | None = None,
        max_iter: int = 50,
    ) -> StepResult:
        r"""One time step :math:`v(t) \mapsto v(t + \Delta t)` of :math:`v_t + Av = 0`.

        All schemes are built from resolvents :math:`R_\tau = (I+\tau A)^{-1}` and linear
        combinations of load vectors M(1+v), so every scheme conserves mass exactly:

        - ``"backward-euler"`` (the Crandall–Liggett product formula (11)/(13), order 1):
          :math:`v^+ = R_{\Delta t}(v)`.  Under the conditions of :attr:`monotone` it keeps,
          for every Δt, the maximum principle :math:`\min v \le v^+ \le \max v` (so
          0 ≤ v ≤ β), the :math:`L^1(\mu_d)` contraction and the decrease of the discrete
          JSD :math:`\sum_i m_i j(v_i)` (see :class:`gan_pde.flows.JSDFlow`).
        - ``"crank-nicolson"`` (implicit midpoint, order 2): :math:`y = R_{\Delta t/2}(v)`,
          :math:`v^+ = 2y - v`.  Keeps mass only; stiff modes are not damped
          (amplification → −1), so it oscillates for large steps.
        - ``"tr-bdf2"`` (order 2, L-stable), γ = 2 − √2, τ = γΔt/2:
          :math:`y_1 = R_\tau(v)`, :math:`v_\gamma = 2y_1 - v` (implicit midpoint to
          t + γΔt), :math:`g = a\,v_\gamma + (1-a)\,v` with :math:`a = 1/(\gamma(2-\gamma))`,
          :math:`v^+ = R_\tau(g)` (BDF2 on t, t + γΔt, t + Δt).  Keeps mass; every stage is
          solvable for every Δt (g has the positive mass of v) and, with the lumped mass,
          :math:`v^+ > -1`.  The
          maximum principle holds when :math:`y_1 \ge \gamma v` and
          :math:`2.414\,y_1 - 1.414\,v \le \max v` node-wise (true for Δt small against
          the local time scale) but not for every Δt: no second-order scheme preserves
          positivity unconditionally (Bolley–Crouzeix).

        Parameters
        ----------
        v
            Dof vector of v(t).
        dt
            Step Δt > 0.
        scheme
            One of :data:`SCHEMES`.
        t
            The time of ``v`` (used for Dirichlet data).
        initial_guess
            Starting s for the first Newton solve (e.g. the ``s`` of the previous step).
        dirichlet_dofs, dirichlet_values
            Optional dofs with prescribed values ``dirichlet_values(time)`` (> −1), imposed
            at each stage's time (t + Δt for backward Euler, t + Δt/2 for the midpoint
            stage, t + γΔt/2 and t + Δt for TR-BDF2).  Without them the boundary is no-flux.
        max_iter
            Newton iteration limit per stage.

        Raises
        ------
        NotConvergedError
            If a stage's Newton solve does not converge (the message gives the stage time
            and the residual).

        Examples
        --------
        >>> import gan_pde as gp
        >>> op = LogDiffusionOperator(gp.Gaussian(mean=[0.0], cov=[[1.0]]),
        ...                           gp.mesh.interval(-6.0, 6.0, n=48))
        >>> v = np.exp(-op.basis.doflocs[0])           # any v > -1
        >>> step = op.advance(v, 0.1, scheme="tr-bdf2")
        >>> bool(abs(op.weights @ (step.v - v)) < 1e-15)   # mass is conserved
        True
        """
        if scheme not in SCHEMES:
            msg = f"scheme={scheme!r} is not one of {SCHEMES}"
            raise InvalidInputError(msg)
        dt = as_positive(dt, "dt")
        v = _dof_vector(v, self.n_dofs, "v")
        fixed = self._dirichlet(dirichlet_dofs, dirichlet_values)
        q = self.load(v)
        s = self._initial_guess(v, initial_guess)
        iterations = 0
        attained = 0.0

        def stage(load: np.ndarray, tau: float, time: float, guess: np.ndarray) -> np.ndarray:
            nonlocal iterations, attained
            s_fixed = None if fixed is None else np.log1p(fixed.values(time))
            try:
                s_new, result = self._solve_stage(load, tau, guess, fixed, s_fixed, max_iter)
            except NotConvergedError as err:
                msg = f"{scheme} stage ending at t = {time:.6g} (step {dt:.3g}): {err}"
                raise NotConvergedError(msg) from err
            iterations += result.iterations
            n_free = max(1, s_new.size if fixed is None else fixed.free.size)
            attained = max(attained, float(result.residual_norms[-1]) / math.sqrt(n_free))
            return s_new

        if scheme == "backward-euler":
            s = stage(q, dt, t + dt, s)
            q_new = q - dt * self.flux(s)
            quadrature = [(1.0, s)]
        elif scheme == "crank-nicolson":
            s = stage(q, 0.5 * dt, t + 0.5 * dt, s)
            q_new = q - dt * self.flux(s)
            quadrature = [(1.0, s)]
        else:
            tau = 0.5 * _GAMMA * dt
            s1 = stage(q, tau, t + tau, s)
            q_gamma = q - _GAMMA * dt * self.flux(s1)
            g = _BDF2_WEIGHT * q_gamma + (1.0 - _BDF2_WEIGHT) * q
            s = stage(g, tau, t + dt, s1)
            q_new = g - tau * self.flux(s)
            quadrature = [(_BDF2_WEIGHT * _GAMMA, s1), (0.5 * _GAMMA, s)]
        boundary = None if fixed is None else fixed.values(t + dt)
        v_new = self._ratio_with(q_new, fixed, boundary)
        with np.errstate(over="ignore", invalid="ignore"):
            # ‖∇v‖² leaves the double range where v does (then it is +inf: see set_log_scale)
            grad_v = dt * sum(w * self.grad_norm_squared(np.expm1(si)) for w, si in quadrature)
        if np.isnan(grad_v):
            grad_v = math.inf
        return StepResult(
            v=v_new,
            s=s,
            newton_iterations=iterations,
            grad_v_integral=grad_v,
            newton_residual=attained,
        )


# --------------------------------------------------------------------------- helpers

#: Assembly paths of :class:`LogDiffusionOperator`.
ASSEMBLIES = ("scikit-fem", "p1-kernel")


def _assembly(assembly: str | None, order: int, mesh: skfem.Mesh, solver: LinearSolver) -> str:
    applies = order == 1 and is_p1_simplex_mesh(mesh)
    if assembly is None:
        reference = solver.name == DEFAULT_SOLVER and solver.requested == DEFAULT_SOLVER
        return "p1-kernel" if applies and not reference else "scikit-fem"
    if assembly not in ASSEMBLIES:
        msg = f"assembly={assembly!r} is not one of {ASSEMBLIES}"
        raise InvalidInputError(msg)
    if assembly == "p1-kernel" and not applies:
        msg = (
            "assembly='p1-kernel' needs P1 on a simplex mesh (MeshLine1, MeshTri1, MeshTet1); "
            "use assembly='scikit-fem'"
        )
        raise InvalidInputError(msg)
    return assembly


def _p1_pattern(mesh: skfem.Mesh) -> tuple[np.ndarray, CSRPattern, np.ndarray, np.ndarray]:
    """The raw COO rows and the CSR pattern of the P1 kernel's entries, from the cells,
    with :func:`_pattern_rows_and_diagonal` of it."""
    rows, cols = p1_simplex_triplets(np.asarray(mesh.t))
    pattern = _pattern_from_triplets(rows, cols, (mesh.nvertices, mesh.nvertices))
    return rows, pattern, *_pattern_rows_and_diagonal(pattern)


def _pattern_rows_and_diagonal(pattern: CSRPattern) -> tuple[np.ndarray, np.ndarray]:
    """The row of every stored entry of ``pattern`` and the slots of its diagonal."""
    rows = np.repeat(np.arange(pattern.shape[0]), np.diff(pattern.indptr))
    slots = np.flatnonzero(rows == pattern.indices)
    return rows, slots[np.argsort(rows[slots])]


def _p1_values(geometry, relative: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The raw K and M values of the P1 kernel (unit dof scaling), in the triplets' order."""
    both = p1_simplex_values(geometry, relative, None)
    return both.real, both.imag


def _pattern_from_triplets(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]):
    """:meth:`CSRPattern.from_triplets` (the same arrays, bit for bit) by a counting sort
    of the rows and a sort within each row (scipy's compiled COO → CSR conversion)
    instead of a global sort of all entries: 1e6 dofs, 1.8e7 entries, about 5× faster."""
    try:
        from scipy.sparse import _sparsetools
    except ImportError:  # a scipy without the private module: the plain path
        return CSRPattern.from_triplets(rows, cols, shape)
    n_rows, n_cols = shape
    m = rows.size
    index = np.int32 if max(n_rows, n_cols, m) < 2**31 - 1 else np.int64
    indptr = np.empty(n_rows + 1, dtype=index)
    indices = np.empty(m, dtype=index)
    order = np.empty(m, dtype=np.int64)
    _sparsetools.coo_tocsr(
        n_rows,
        n_cols,
        m,
        np.asarray(rows, dtype=index),
        np.asarray(cols, dtype=index),
        np.arange(m, dtype=np.int64),
        indptr,
        indices,
        order,
    )
    _sparsetools.csr_sort_indices(n_rows, indptr, indices, order)
    row_of = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(indptr))
    new = np.ones(m, dtype=bool)
    new[1:] = (indices[1:] != indices[:-1]) | (row_of[1:] != row_of[:-1])
    slot = np.empty(m, dtype=np.int64)
    slot[order] = np.cumsum(new) - 1
    unique_indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(row_of[new], minlength=n_rows), out=unique_indptr[1:])
    return CSRPattern(
        shape=shape,
        indptr=unique_indptr.astype(np.int32),
        indices=indices[new].astype(np.int32),
        slot=slot,
    )


def _zero_row_sums(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Set the diagonal to minus the sum of the off-diagonal entries of each row."""
    coo = matrix.tocoo()
    off = coo.row != coo.col
    diagonal = -np.bincount(coo.row[off], weights=coo.data[off], minlength=matrix.shape[0])
    out = matrix.copy()
    out.setdiag(diagonal)
    return out


def check_log_density(values: np.ndarray, points: np.ndarray, name: str) -> None:
    """Raise InvalidDensityError, naming the point, if a log density is NaN, +inf or −inf."""
    bad = ~np.isfinite(values)
    if not bad.any():
        return
    first = int(np.flatnonzero(bad)[0])
    if np.isneginf(values[first]):
        msg = (
            f"the {name} density vanishes at {int(bad.sum())} degree(s) of freedom of the mesh, "
            f"first at {points[first].tolist()}; the JSD flow needs it positive on the whole "
            "mesh: restrict the mesh to its support"
        )
    else:
        msg = f"the {name} density's log_pdf is {values[first]} at {points[first].tolist()}"
    raise InvalidDensityError(msg)


def _dof_vector(value: ArrayLike, n: int, name: str) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.shape != (n,):
        msg = f"{name} must be a dof vector of shape ({n},); got shape {arr.shape}"
        raise InvalidInputError(msg)
    if not np.all(np.isfinite(arr)):
        i = int(np.flatnonzero(~np.isfinite(arr))[0])
        msg = f"{name} must be finite; {name}[{i}] = {arr[i]!r}"
        raise InvalidInputError(msg)
    return arr
