r"""The JSD gradient flow (paper 002) on MPI ranks: parallel operator, SNES implicit steps.

The equations are those of the serial package (``docs/jsd_flow.md``,
:mod:`gan_pde.flows.operator`).  With :math:`v = u/\rho_d` the flow is
:math:`v_t = \tfrac12\Delta_{\mu_d}\ln(1+v)`, and each implicit step is the resolvent
:math:`w = (I+\tau A)^{-1}f` of (12), which in :math:`s = \ln(1+w)` reads, with the lumped
P1 mass,

.. math::

    \hat F(s) = \hat m\,e^{s} + \frac{\tau}{2}\hat K s - \hat q = 0, \qquad
    \hat q = \hat m\,(1 + f), \qquad
    w = \bigl(\hat q - \tfrac{\tau}{2}\hat K s\bigr)/\hat m - 1,

where every equation i is divided by :math:`\rho_d(x_i)`: :math:`\hat K = D^{-1}K`,
:math:`\hat m_i = \int\phi_i\,d\mu_d/\rho_d(x_i)` (assembled in log space cell by cell, so
nothing under- or overflows in the tails), K with zero row sums.  Mass
:math:`\sum_i\rho_d(x_i)\hat m_i w_i` is conserved exactly for any s (:math:`\mathbf 1^\top
K = 0`).

**Parallel.**  The mesh is partitioned (:mod:`gan_pde.mpi.partition`); every rank
assembles its cells with scikit-fem (the serial forms), the interface rows are summed by
their owners, and :math:`\hat K`, K are PETSc MPIAIJ matrices.  Newton's method is PETSc's
SNES (``newtonls`` with its default backtracking line search on :math:`\|\hat F\|`) with the
Jacobian :math:`\mathrm{diag}(\hat m e^s) + \tfrac\tau2\hat K`, solved by MUMPS (the
default ``linear_solver="direct"``) or by GMRES + BoomerAMG (``"iterative"``).

**Scaled equations and stopping rule (the serial ones).**  SNES solves the equations
divided by the size of their terms, :math:`\hat F_i/t_i` with :math:`t_i = 2|\hat q_i| +
\tfrac\tau2\sum_j|\hat K_{ij}||s_j - c|` (c the mean of the start), so that its line
search and its stopping test weigh every node alike, as the serial Newton's node-wise norm
does (with the plain norm the line search stalled on 3D problems: the bulk was at
round-off while the tails of ρ_d were at 1e-7).  It stops when the per-node backward error
:math:`\|\hat F_i/t_i\|_2/\sqrt N \le 100\,\epsilon`, or, once the Newton step has
stagnated below :math:`10^{-10}(1+\|s\|_\infty)`, when it is at most 1e-10.  At the
solution :math:`\hat m_i e^{s_i}` then matches the other terms to about 1e-14 relative, so
s, and w, agree with the serial solver's (same rule) to about 1e-13 relative per step, far
below the 1e-8 at which the trajectories are compared (tested on 1 and 2 ranks).

Supported: P1 (Q1) with the lumped mass, every scheme of the serial package
(backward Euler, Crank–Nicolson, TR-BDF2), steps retried as halves when Newton fails.
Not supported (use the serial :class:`gan_pde.JSDFlow`): P2 with its consistent mass,
ratios :math:`\rho_0/\rho_d` beyond :math:`e^{64}` (the serial log-scaled states),
Dirichlet data, checkpoints.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import skfem
from scipy.special import xlogy

from gan_pde._arrays import as_positive, as_positive_int
from gan_pde.engine import time_grid
from gan_pde.errors import (
    InvalidDensityError,
    InvalidInputError,
    NotConvergedError,
    NumericalBreakdownError,
)
from gan_pde.fem.basis import element_order, make_basis
from gan_pde.fem.forms import log_density_at_quadrature, weighted_mass, weighted_stiffness
from gan_pde.flows.operator import SCHEMES, check_log_density
from gan_pde.mpi._petsc import load
from gan_pde.mpi.assembly import matrix_from_local, owned_values, sum_to_owners
from gan_pde.mpi.partition import LocalPart, collective, distribute, gather_owned
from gan_pde.provenance import versions

if TYPE_CHECKING:
    from gan_pde.densities import Density
    from gan_pde.flows import Trajectory

__all__ = ["LINEAR_SOLVERS", "DistributedLogDiffusion", "JSDFlow"]

#: Newton's linear solvers: MUMPS LU, or GMRES preconditioned by BoomerAMG (GAMG).
LINEAR_SOLVERS = ("direct", "iterative")
#: Per-node backward error at which Newton stops (the serial rule: 100 ε).
_BACKWARD_ERROR = 100.0 * np.finfo(float).eps
#: Accepted per-node backward error once the Newton step stagnates (the serial 1e-10).
_STAGNATION = 1e-10
#: Relative Newton step below which the iteration has stagnated.
_STEP_STAGNATION = 1e-10
#: Relative size of positive off-diagonal stiffness entries still read as round-off.
_M_MATRIX_RTOL = 1e-10
#: GMRES tolerance of the iterative linear solver (an inexact Newton method: Newton still
#: stops on its own residual).
_KSP_RTOL = 1e-12
#: Failed steps are retried as halves, down to 2^-10 of the step (2^-4 from its start).
_MAX_HALVINGS = 10
_MAX_HALVINGS_AT_START = 4
#: Above this ln(1 + v_0) the serial flow carries a log scale; not supported here.
_LOG_PLAIN_MAX = 64.0
#: PETSc options prefix of the SNES (``-gan_pde_jsd_snes_monitor`` etc.).
OPTIONS_PREFIX = "gan_pde_jsd_"


def _jsd_density(v: np.ndarray) -> np.ndarray:
    r""":math:`j(v) = \tfrac12[v\ln\frac{2v}{1+v} + \ln\frac{2}{1+v}]`, 0 at v = 1, ½ln2 at 0
    (the serial flow's integrand, evaluated the same cancellation-free way)."""
    r = (v - 1.0) / (v + 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = np.where(v < 0.5, np.log(2.0 * v / (1.0 + v)), np.log1p(r))
        first = np.where(v > 0.0, v * log_ratio, 0.0)
        second = np.where(v > 3.0, math.log(2.0) - np.log1p(np.maximum(v, 3.0)), np.log1p(-r))
    return 0.5 * (first + second)


class DistributedLogDiffusion:
    r"""The discrete operator :math:`Av = -\tfrac12\Delta_{\mu_d}\ln(1+v)` on MPI ranks.

    The parallel counterpart of :class:`gan_pde.flows.LogDiffusionOperator` for P1 with
    the lumped mass: the scaled matrices :math:`\hat K` (for the equations), K (for
    :math:`\|\nabla v\|^2_{L^2(\mu_d)}`) and the lumped :math:`\hat m`, and the resolvent
    and time steps of the module documentation.  Vectors are the owned dof values of this
    rank (PETSc order).  Collective.

    Parameters
    ----------
    target
        ρ_d, the same on every rank, positive on the mesh; normalised to mass 1 on the
        mesh by quadrature.
    part
        This rank's part of the mesh (:func:`gan_pde.mpi.partition.distribute`).
    linear_solver
        One of :data:`LINEAR_SOLVERS`.
    """

    def __init__(self, target: Density, part: LocalPart, *, linear_solver: str = "direct"):
        lib = load()
        self._lib = lib
        self.part = part
        self.linear_solver = linear_solver
        comm = part.comm
        MPI = lib.MPI
        basis = collective(comm, make_basis, part.mesh, part.element)
        self.basis = basis
        dof_map = part.dof_map(basis.element_dofs)
        dof_points = np.ascontiguousarray(basis.doflocs.T)

        def evaluate() -> tuple[np.ndarray, np.ndarray]:
            log_qp = log_density_at_quadrature(target, basis)
            log_dofs = np.asarray(target.log_pdf(dof_points), dtype=float)
            check_log_density(log_dofs, dof_points, "target")
            return log_qp, log_dofs

        log_qp, log_dofs = collective(comm, evaluate)
        top = comm.allreduce(float(log_qp.max(initial=-np.inf)), op=MPI.MAX)
        total = comm.allreduce(float(np.sum(np.exp(log_qp - top) * basis.dx)))
        log_norm = top + math.log(total)
        #: ρ_d's mass on the mesh before normalisation (quadrature).
        self.target_mass_on_mesh = math.exp(log_norm)
        log_q = log_qp - log_norm
        log_d = log_dofs - log_norm
        shift = log_q.max(axis=1)
        relative = np.exp(log_q - shift[:, None])
        k_coo = weighted_stiffness.coo_data(basis, rho=relative)
        m_coo = weighted_mass.coo_data(basis, rho=relative)
        rows, cols = k_coo.indices
        cell = np.tile(np.arange(basis.nelems), basis.Nbfun**2)
        exponent = shift[cell] - log_d[rows]

        def check_variation() -> None:
            if exponent.size and exponent.max() > 700.0:
                msg = (
                    f"the target density varies by a factor e^{exponent.max():.0f} inside one "
                    "cell; refine the mesh"
                )
                raise InvalidDensityError(msg)

        collective(comm, check_variation)
        row_scale = np.exp(exponent)
        import scipy.sparse as sp

        n_local = dof_map.size
        pattern = (rows, cols)
        k_hat = sp.csr_matrix((k_coo.data * row_scale, pattern), shape=(n_local, n_local))
        k_plain = sp.csr_matrix(
            (k_coo.data * np.exp(shift[cell]), pattern), shape=(n_local, n_local)
        )
        # |K̂| for the size of the terms of each equation (Newton's stopping rule): the
        # absolute values of the cell contributions, summed (a bound of the serial sizes)
        k_abs = abs(k_hat)
        self._k_hat, self._k, self._k_abs = matrix_from_local(
            part, dof_map, [k_hat, k_plain, k_abs]
        )
        for matrix in (self._k_hat, self._k):
            _zero_row_sums(lib, matrix)
        local_weights = np.bincount(rows, weights=m_coo.data * row_scale, minlength=n_local)
        #: Lumped :math:`\hat m_i = \int\phi_i d\mu_d / \rho_d(x_i)` at the owned dofs.
        self.weights_hat = sum_to_owners(part, dof_map, local_weights)
        #: ln ρ_d (normalised) at the owned dofs.
        self.log_target_at_dofs = owned_values(part, dof_map, log_d)
        #: Coordinates of the owned dofs.
        self.dof_coordinates = owned_values(part, dof_map, dof_points)
        #: :math:`m_i = \int\phi_i\,d\mu_d` at the owned dofs.
        self.weights = np.exp(self.log_target_at_dofs) * self.weights_hat
        bad = comm.allreduce(int(not np.all(self.weights_hat > 0.0)), op=MPI.MAX)
        if bad:
            msg = (
                "the target density is not resolved by the mesh: its lumped mass underflows "
                "to 0 at some dof (it is more than e^745 times larger there than at every "
                "quadrature point of the cells around it); refine the mesh there"
            )
            raise InvalidDensityError(msg)
        self._khat_diagonal = self._k_hat.getDiagonal().array.copy()
        self.monotone = self._is_m_matrix()
        self._x = self._k_hat.createVecRight()
        self._y = self._k_hat.createVecRight()
        self._jacobian = self._k_hat.duplicate(copy=True)
        self._snes = self._make_snes()
        self._stage: dict[str, Any] = {}

    # ------------------------------------------------------------------ linear algebra

    @property
    def n_dofs(self) -> int:
        """Global number of dofs."""
        return self.part.n_dofs

    def _sum(self, value: float) -> float:
        return self.part.comm.allreduce(float(value))

    def _mean(self, x: np.ndarray) -> float:
        return self._sum(np.sum(x)) / self.n_dofs

    def _mult(self, matrix: Any, x: np.ndarray) -> np.ndarray:
        self._x.array[:] = x
        matrix.mult(self._x, self._y)
        return self._y.array.copy()

    def _is_m_matrix(self) -> bool:
        indptr, indices, data = self._k_hat.getValuesCSR()
        rows = np.repeat(np.arange(self.part.n_owned), np.diff(indptr))
        off = indices != rows + self.part.start
        diagonal = self._khat_diagonal[rows[off]]
        local = bool(np.all(data[off] <= _M_MATRIX_RTOL * diagonal))
        return bool(self.part.comm.allreduce(int(local), op=self._lib.MPI.MIN))

    def load(self, v: np.ndarray) -> np.ndarray:
        r"""The scaled load :math:`\hat q = \hat m(1 + v)`."""
        return self.weights_hat * (1.0 + v)

    def ratio(self, q: np.ndarray) -> np.ndarray:
        r"""Inverse of :meth:`load`: :math:`v = \hat q/\hat m - 1`."""
        return q / self.weights_hat - 1.0

    def flux(self, s: np.ndarray, centre: float | None = None) -> np.ndarray:
        r"""The scaled weak operator :math:`\tfrac12\hat K s`, evaluated as
        :math:`\tfrac12\hat K(s - c)` (K̂ has zero row sums): the rounding error is then
        proportional to the variation of s, not to s (the serial pair form's property)."""
        c = self._mean(s) if centre is None else centre
        return 0.5 * self._mult(self._k_hat, s - c)

    def dirichlet_form(self, a: np.ndarray, b: np.ndarray) -> float:
        r""":math:`a^\top K b = \int\nabla a\cdot\nabla b\,d\mu_d` (K symmetric with zero row
        sums, so both vectors are centred first)."""
        a = a - self._mean(a)
        b = b - self._mean(b)
        return self._sum(a @ self._mult(self._k, b))

    def grad_norm_squared(self, v: np.ndarray) -> float:
        r""":math:`\|\nabla v\|^2_{L^2(\mu_d)} = v^\top K v`."""
        return self.dirichlet_form(v, v)

    # ------------------------------------------------------------------ SNES

    def _make_snes(self) -> Any:
        PETSc = self._lib.PETSc
        snes = PETSc.SNES().create(comm=self.part.comm)
        snes.setType(PETSc.SNES.Type.NEWTONLS)
        snes.setFunction(self._residual, self._k_hat.createVecLeft())
        snes.setJacobian(self._jacobian_at, self._jacobian)
        snes.setConvergenceTest(self._converged)
        ksp = snes.getKSP()
        pc = ksp.getPC()
        if self.linear_solver == "direct":
            ksp.setType(PETSc.KSP.Type.PREONLY)
            pc.setType(PETSc.PC.Type.LU)
            pc.setFactorSolverType("mumps" if PETSc.Sys.hasExternalPackage("mumps") else "petsc")
        else:
            ksp.setType(PETSc.KSP.Type.GMRES)
            ksp.setTolerances(rtol=_KSP_RTOL, atol=0.0, max_it=500)
            if PETSc.Sys.hasExternalPackage("hypre"):
                pc.setType(PETSc.PC.Type.HYPRE)
                pc.setHYPREType("boomeramg")
            else:
                pc.setType(PETSc.PC.Type.GAMG)
        snes.setOptionsPrefix(OPTIONS_PREFIX)
        snes.setFromOptions()
        return snes

    def _residual(self, snes: Any, x: Any, f: Any) -> None:
        stage = self._stage
        s = x.array_r
        with np.errstate(over="ignore", invalid="ignore"):
            nonlinear = self.weights_hat * np.exp(s)
            flux = self.flux(s, stage["centre"])
            f.array[:] = (nonlinear + stage["tau"] * flux - stage["q"]) * stage["inverse_scale"]

    def _jacobian_at(self, snes: Any, x: Any, jacobian: Any, preconditioner: Any) -> None:
        stage = self._stage
        with np.errstate(over="ignore"):
            nonlinear = self.weights_hat * np.exp(x.array_r)
        self._y.array[:] = stage["base_diagonal"] + nonlinear * stage["inverse_scale"]
        jacobian.setDiagonal(self._y)
        jacobian.assemble()

    def _converged(self, snes: Any, iteration: int, norms: tuple[float, float, float]) -> int:
        reasons = self._lib.PETSc.SNES.ConvergedReason
        stage = self._stage
        # the residual is F̂_i / t_i: its RMS is the per-node backward error
        error = norms[2] / math.sqrt(self.n_dofs)
        stage["attained"] = error
        stage["iterations"] = iteration
        if not math.isfinite(error):
            return reasons.DIVERGED_FNORM_NAN
        if error <= _BACKWARD_ERROR:
            return reasons.CONVERGED_FNORM_ABS
        if iteration > 0:
            step, size = norms[1], stage["solution"].norm(self._lib.PETSc.NormType.NORM_INFINITY)
            if step <= _STEP_STAGNATION * (1.0 + size) and error <= _STAGNATION:
                return reasons.CONVERGED_SNORM_RELATIVE
        if iteration >= stage["max_iter"]:
            return reasons.DIVERGED_MAX_IT
        return reasons.ITERATING

    def _solve_stage(
        self, q: np.ndarray, tau: float, s0: np.ndarray, max_iter: int
    ) -> tuple[np.ndarray, int, float]:
        r"""Solve :math:`\hat m e^s + \tau\,\mathrm{flux}(s) = \hat q` (the resolvent's s)."""
        PETSc = self._lib.PETSc
        centre = self._mean(s0)
        terms = 2.0 * np.abs(q) + 0.5 * tau * self._mult(self._k_abs, np.abs(s0 - centre))
        inverse_scale = 1.0 / np.maximum(terms, np.finfo(float).tiny)
        # Newton works on the equations divided by the size of their terms: its line search
        # and its stopping test then weigh every node alike (the serial norm), so the tails
        # of ρ_d are resolved as well as the bulk
        self._k_hat.copy(self._jacobian, structure=PETSc.Mat.Structure.SAME_NONZERO_PATTERN)
        self._y.array[:] = 0.5 * tau * inverse_scale
        self._jacobian.diagonalScale(L=self._y)
        solution = self._k_hat.createVecRight()
        solution.array[:] = s0
        self._stage = {
            "q": q,
            "tau": tau,
            "centre": centre,
            "inverse_scale": inverse_scale,
            "base_diagonal": 0.5 * tau * self._khat_diagonal * inverse_scale,
            "max_iter": max_iter,
            "attained": math.inf,
            "iterations": 0,
            "solution": solution,
        }
        self._snes.setTolerances(max_it=max_iter + 1)
        try:
            self._snes.solve(None, solution)
        except PETSc.Error as err:
            msg = f"the Newton solve broke down in PETSc (error {err.ierr})"
            raise NumericalBreakdownError(msg) from err
        reason = self._snes.getConvergedReason()
        if reason <= 0:
            msg = (
                f"Newton (SNES) did not converge for tau = {tau:.3g}: reason {reason}, "
                f"per-node backward error {self._stage['attained']:.2e} after "
                f"{self._stage['iterations']} iterations"
            )
            raise NotConvergedError(msg)
        return solution.array.copy(), int(self._snes.getIterationNumber()), self._stage["attained"]

    # ------------------------------------------------------------------ time steps

    def resolvent(
        self,
        f: np.ndarray,
        step: float,
        *,
        initial_guess: np.ndarray | None = None,
        max_iter: int = 50,
    ) -> tuple[np.ndarray, np.ndarray, int]:
        r"""The resolvent :math:`w = (I + \tau A)^{-1} f` (τ = ``step``): ``(w, s, Newton
        iterations)`` at the owned dofs."""
        tau = as_positive(step, "step")
        q = self.load(f)
        s0 = np.log1p(np.maximum(f, -0.5)) if initial_guess is None else initial_guess
        s, iterations, _ = self._solve_stage(q, tau, s0, max_iter)
        return self.ratio(q - tau * self.flux(s)), s, iterations

    def advance(
        self,
        v: np.ndarray,
        dt: float,
        *,
        scheme: str = "backward-euler",
        initial_guess: np.ndarray | None = None,
        max_iter: int = 50,
    ) -> dict[str, Any]:
        r"""One step of :math:`v_t + Av = 0` by one of the serial schemes
        (:meth:`gan_pde.flows.LogDiffusionOperator.advance`): backward Euler
        :math:`v^+ = R_{\Delta t}v`, Crank–Nicolson :math:`y = R_{\Delta t/2}v`,
        :math:`v^+ = 2y - v`, TR-BDF2 (γ = 2 − √2) — every one a combination of resolvents
        and loads, so mass is conserved exactly.

        Returns ``{"v", "s", "newton_iterations", "grad_v_integral", "newton_residual"}``.
        """
        if scheme not in SCHEMES:
            msg = f"scheme={scheme!r} is not one of {SCHEMES}"
            raise InvalidInputError(msg)
        dt = as_positive(dt, "dt")
        q = self.load(v)
        s = np.log1p(np.maximum(v, -0.5)) if initial_guess is None else initial_guess
        record = {"iterations": 0, "attained": 0.0}

        def stage(load: np.ndarray, tau: float, guess: np.ndarray) -> np.ndarray:
            s_new, iterations, attained = self._solve_stage(load, tau, guess, max_iter)
            record["iterations"] += iterations
            record["attained"] = max(record["attained"], attained)
            return s_new

        if scheme == "backward-euler":
            s = stage(q, dt, s)
            q_new = q - dt * self.flux(s)
            quadrature = [(1.0, s)]
        elif scheme == "crank-nicolson":
            s = stage(q, 0.5 * dt, s)
            q_new = q - dt * self.flux(s)
            quadrature = [(1.0, s)]
        else:
            gamma = 2.0 - math.sqrt(2.0)
            weight = 1.0 / (gamma * (2.0 - gamma))
            tau = 0.5 * gamma * dt
            s1 = stage(q, tau, s)
            q_gamma = q - gamma * dt * self.flux(s1)
            g = weight * q_gamma + (1.0 - weight) * q
            s = stage(g, tau, s1)
            q_new = g - tau * self.flux(s)
            quadrature = [(weight * gamma, s1), (0.5 * gamma, s)]
        with np.errstate(over="ignore", invalid="ignore"):
            grad_v = dt * sum(w * self.grad_norm_squared(np.expm1(si)) for w, si in quadrature)
        return {
            "v": self.ratio(q_new),
            "s": s,
            "newton_iterations": record["iterations"],
            "grad_v_integral": grad_v if math.isfinite(grad_v) else math.inf,
            "newton_residual": record["attained"],
        }


def _zero_row_sums(lib: Any, matrix: Any) -> None:
    """Set the diagonal to minus the sum of the off-diagonal entries of each row."""
    ones = matrix.createVecRight()
    ones.set(1.0)
    sums = matrix.createVecLeft()
    matrix.mult(ones, sums)
    diagonal = matrix.getDiagonal()
    diagonal.axpy(-1.0, sums)
    matrix.setDiagonal(diagonal)
    matrix.assemble()


def _check_flow_arguments(target: Any, initial: Any, mesh: Any, element: str, linear_solver: str):
    if not isinstance(mesh, skfem.Mesh):
        msg = (
            "mesh must be a scikit-fem mesh on rank 0 (see gan_pde.mesh; the other ranks may "
            f"pass None); got {type(mesh).__name__}"
        )
        raise InvalidInputError(msg)
    for name, density in (("target", target), ("initial", initial)):
        if not hasattr(density, "log_pdf") or getattr(density, "dim", None) != mesh.dim():
            msg = (
                f"{name} must be a gan_pde Density of the mesh dimension {mesh.dim()}; "
                f"got {density!r}"
            )
            raise InvalidInputError(msg)
    if element_order(element) != 1:
        msg = (
            f"element={element!r}: the MPI JSD flow supports P1 (Q1) with the lumped mass; "
            "use the serial gan_pde.JSDFlow for P2"
        )
        raise InvalidInputError(msg)
    if linear_solver not in LINEAR_SOLVERS:
        msg = f"linear_solver={linear_solver!r} is not one of {LINEAR_SOLVERS}"
        raise InvalidInputError(msg)


class JSDFlow:
    r"""The JSD gradient flow :math:`v_t = \tfrac12\Delta_{\mu_d}\ln(1+v)` on MPI ranks.

    The parallel counterpart of :class:`gan_pde.JSDFlow` (same normalisations, schemes and
    observations; module documentation for what is and is not supported).  Collective:
    every rank constructs it and calls :meth:`solve`; rank 0 gets the serial
    :class:`~gan_pde.flows.Trajectory`.

    Parameters
    ----------
    target, initial
        ρ_d and ρ_0 (rank 0's are broadcast).
    mesh
        The mesh on rank 0 (the other ranks may pass None).
    element
        ``"P1"`` (``"Q1"`` on quadrilaterals and hexahedra).
    linear_solver
        ``"direct"`` (MUMPS) or ``"iterative"`` (GMRES + AMG) for Newton's systems.
    comm
        An mpi4py communicator (default COMM_WORLD).

    Examples
    --------
    With ``mpiexec -n 2 python script.py``:

    >>> from gan_pde import mpi
    >>> flow = mpi.JSDFlow(rho, start, mesh)                       # doctest: +SKIP
    >>> traj = flow.solve(1.0, 0.1, save_times=[0.5])              # doctest: +SKIP
    >>> if traj is not None:                                       # doctest: +SKIP
    ...     print(traj.jsd)
    """

    def __init__(
        self,
        target: Density,
        initial: Density,
        mesh: skfem.Mesh | None,
        *,
        element: str = "P1",
        linear_solver: str = "direct",
        comm: Any = None,
    ) -> None:
        from gan_pde.mpi.spectrum import _communicator

        lib = load()
        comm = _communicator(comm)
        self.comm = comm

        def check() -> None:
            if comm.rank == 0:
                _check_flow_arguments(target, initial, mesh, element, linear_solver)

        collective(comm, check)
        target, initial = comm.bcast((target, initial) if comm.rank == 0 else None, root=0)
        self.target, self.initial = target, initial
        self._mesh = mesh if comm.rank == 0 else None
        self.element = element.upper()
        start = time.perf_counter()
        self.part = distribute(self._mesh, self.element, comm)
        self.operator = DistributedLogDiffusion(target, self.part, linear_solver=linear_solver)
        self.setup_seconds = time.perf_counter() - start
        op = self.operator
        points = op.dof_coordinates

        def initial_log() -> np.ndarray:
            values = np.asarray(initial.log_pdf(points), dtype=float)
            check_log_density(values, points, "initial")
            return values

        log_ratio = collective(comm, initial_log) - op.log_target_at_dofs
        top = comm.allreduce(float(log_ratio.max(initial=-np.inf)), op=lib.MPI.MAX)
        if top >= _LOG_PLAIN_MAX:
            msg = (
                f"rho_0/rho_d reaches e^{top:.0f} on the mesh: such ratios need the serial "
                "flow's log-scaled states (gan_pde.JSDFlow); the MPI flow supports "
                f"ln(rho_0/rho_d) < {_LOG_PLAIN_MAX:g}"
            )
            raise InvalidInputError(msg)
        v0 = np.exp(log_ratio)
        initial_mass = comm.allreduce(float(op.weights @ v0))
        if not initial_mass > 0.0:
            msg = "the initial density has no positive mass on this mesh"
            raise InvalidDensityError(msg)
        self.initial_mass_on_mesh = initial_mass
        #: Owned dof values of :math:`v_0 = \rho_0/\rho_d` (both normalised on the mesh).
        self.v0 = v0 / initial_mass
        #: :math:`\max_i v_0(x_i)`.
        self.beta = comm.allreduce(float(self.v0.max(initial=-np.inf)), op=lib.MPI.MAX)

    @property
    def monotone(self) -> bool:
        """Whether the discrete maximum principle / L¹ contraction conditions hold."""
        return self.operator.monotone

    @property
    def info(self) -> dict[str, Any]:
        """Parameters of the discretisation and the densities (the serial keys and the
        MPI layout)."""
        op = self.operator
        comm = self.comm
        return {
            "element": self.element,
            "lumped": True,
            "monotone": op.monotone,
            "n_dofs": op.n_dofs,
            "n_cells": self.part.n_cells,
            "dim": int(self.part.mesh.dim()),
            "beta": self.beta,
            "log_beta": math.log(self.beta),
            "log_scaled": False,
            "target": repr(self.target),
            "initial": repr(self.initial),
            "target_mass_on_mesh": op.target_mass_on_mesh,
            "initial_mass_on_mesh": self.initial_mass_on_mesh,
            "backend": "mpi",
            "ranks": int(comm.size),
            "linear_solver": op.linear_solver,
            "owned_dofs": comm.allgather(self.part.n_owned),
            "local_cells": comm.allgather(self.part.info["local_cells"]),
            "setup_seconds": self.setup_seconds,
        }

    def observe(self, v: np.ndarray) -> dict[str, float]:
        """JSD, KL, L¹, mass, dissipation and the extremes of v (collective sums of the
        serial nodal quadratures with the lumped weights :math:`m_i`)."""
        op = self.operator
        x = np.maximum(v, 0.0)
        comm, MPI = self.comm, load().MPI
        tiny = np.maximum(v, np.finfo(float).tiny)
        phi = np.log1p(tiny)
        return {
            "jsd": op._sum(op.weights @ _jsd_density(x)),
            "kl": op._sum(op.weights @ (xlogy(x, x) - x + 1.0)),
            "l1": op._sum(op.weights @ np.abs(x - 1.0)),
            "mass": op._sum(op.weights @ v),
            "dissipation": 0.25 * op.dirichlet_form(np.log(tiny) - phi, phi),
            "v_min": comm.allreduce(float(v.min(initial=np.inf)), op=MPI.MIN),
            "v_max": comm.allreduce(float(v.max(initial=-np.inf)), op=MPI.MAX),
        }

    def _step(
        self,
        v: np.ndarray,
        s: np.ndarray | None,
        t0: float,
        t1: float,
        number: int,
        scheme: str,
        max_iter: int,
    ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """One step t0 → t1, retried as halves where Newton fails (the serial rule)."""
        op = self.operator
        record = {"grad_v_integral": 0.0, "iterations": 0, "residual": 0.0, "substeps": 0}
        pending = [(t0, t1, 0)]
        while pending:
            a, b, depth = pending.pop()
            try:
                step = op.advance(v, b - a, scheme=scheme, initial_guess=s, max_iter=max_iter)
            except (NotConvergedError, NumericalBreakdownError) as err:
                hopeless = a == t0 and depth >= _MAX_HALVINGS_AT_START
                if depth >= _MAX_HALVINGS or hopeless:
                    msg = (
                        f"JSDFlow.solve (MPI): step {number} (t = {t0:.6g} -> {t1:.6g}) failed "
                        f"even as sub-steps of {b - a:.3g} (2^-{depth} of it): {err}; refine "
                        "the mesh where the densities vary fastest"
                    )
                    raise NotConvergedError(msg) from err
                middle = a + 0.5 * (b - a)
                pending += [(middle, b, depth + 1), (a, middle, depth + 1)]
                continue
            v, s = step["v"], step["s"]
            record["grad_v_integral"] += step["grad_v_integral"]
            record["iterations"] += step["newton_iterations"]
            record["residual"] = max(record["residual"], step["newton_residual"])
            record["substeps"] += 1
        return v, s, record

    def solve(
        self,
        t_final: float,
        dt: float,
        *,
        save_times: Sequence[float] | np.ndarray | None = None,
        save_final: bool = True,
        scheme: str = "backward-euler",
        max_newton_iterations: int = 50,
        callback: Callable[[float, np.ndarray], None] | None = None,
        gather: bool = True,
    ) -> Trajectory | dict[str, Any] | None:
        r"""Integrate from t = 0 to ``t_final`` on the serial time grid
        (:func:`gan_pde.engine.time_grid`; the arguments are those of
        :meth:`gan_pde.JSDFlow.solve`).  Collective.

        ``callback(t, v)`` is called on every rank after every step with this rank's owned
        values of v.  With ``gather=True`` rank 0 returns the serial
        :class:`~gan_pde.flows.Trajectory` (v gathered in the natural dof numbering at the
        saved times, densities on the serial basis) and the other ranks None; with
        ``gather=False`` every rank returns a dict of the scalar observations, the step
        records and ``info``.
        """
        if scheme not in SCHEMES:
            msg = f"scheme={scheme!r} is not one of {SCHEMES}"
            raise InvalidInputError(msg)
        max_iter = as_positive_int(max_newton_iterations, "max_newton_iterations")
        grid, saved = time_grid(t_final, dt, save_times, save_final=save_final)
        start = time.perf_counter()
        v, s = self.v0.copy(), None
        grad_v = 0.0
        observations: list[dict[str, float]] = []
        snapshots: list[np.ndarray | None] = []
        records: list[dict[str, Any]] = []

        def save(v: np.ndarray) -> None:
            observations.append({**self.observe(v), "grad_v_integral": grad_v})
            if gather:
                snapshots.append(gather_owned(self.part, v))

        save(v)
        for n in range(grid.size - 1):
            v, s, record = self._step(
                v, s, float(grid[n]), float(grid[n + 1]), n + 1, scheme, max_iter
            )
            grad_v += record["grad_v_integral"]
            records.append(record)
            if saved[n + 1]:
                save(v)
            if callback is not None:
                callback(float(grid[n + 1]), v)
        seconds = time.perf_counter() - start
        scalars = {key: np.array([o[key] for o in observations]) for key in observations[0]}
        iterations = np.array([r["iterations"] for r in records], dtype=np.int64)
        residuals = np.array([r["residual"] for r in records], dtype=float)
        substeps = np.array([r["substeps"] for r in records], dtype=np.int64)
        info = {
            **self.info,
            "t_final": float(grid[-1]),
            "dt": float(dt),
            "scheme": scheme,
            "save_final": bool(save_final),
            "n_steps": int(grid.size - 1),
            "seconds": seconds,
            "resumed_from_step": 0,
            "stop_reason": "",
            "newton_iterations_total": int(iterations.sum()),
            "newton_residual_max": float(residuals.max(initial=0.0)),
            "substeps_total": int(substeps.sum()),
            "versions": versions(),
        }
        if not gather:
            return {
                "times": grid[saved],
                **scalars,
                "step_times": grid[1:],
                "newton_iterations": iterations,
                "newton_residuals": residuals,
                "substeps": substeps,
                "info": info,
            }
        log_target = gather_owned(self.part, self.operator.log_target_at_dofs)
        if self.comm.rank != 0:
            return None
        return self._trajectory(
            grid[saved],
            scalars,
            snapshots,
            log_target,
            grid[1:],
            iterations,
            residuals,
            substeps,
            info,
        )

    def _trajectory(
        self,
        times,
        scalars,
        snapshots,
        log_target,
        step_times,
        iterations,
        residuals,
        substeps,
        info,
    ) -> Trajectory:
        from gan_pde.densities import MeshDensity
        from gan_pde.flows import Trajectory

        basis = make_basis(self._mesh, self.element)
        target = np.exp(log_target)
        with np.errstate(invalid="ignore", divide="ignore"):
            log1p = [np.log1p(np.where(v > -1.0, v, np.nan)) for v in snapshots]
        return Trajectory(
            times=times,
            **scalars,
            v=snapshots,
            densities=[
                MeshDensity(basis, target * np.maximum(v, 0.0), normalize=True) for v in snapshots
            ],
            step_times=step_times,
            newton_iterations=iterations,
            newton_residuals=residuals,
            substeps=substeps,
            log1p_v=log1p,
            info=info,
        )
