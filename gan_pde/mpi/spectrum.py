r"""The weighted-Laplacian spectrum and ξ_min on MPI ranks, with SLEPc (paper 004, (12)–(15)).

The pencil is the serial one, :math:`\tilde K y = \xi\tilde M y` with the log-scaled
weighted stiffness and mass matrices of :mod:`gan_pde.fem.forms` (so densities whose tails
underflow give neither NaN nor a singular pencil), assembled in parallel
(:mod:`gan_pde.mpi.assembly`) and solved by SLEPc as a generalised Hermitian problem:

- ``"shift-invert"``: Krylov–Schur on :math:`(\tilde K + \sigma\tilde M)^{-1}\tilde M`,
  the shifted matrix factorised by MUMPS (a parallel sparse direct solver), with
  :math:`\sigma = 10^{-6}\,\mathrm{mean}(\mathrm{diag}\tilde K/\mathrm{diag}\tilde M)` as
  in the serial solver (far below ξ₁, and :math:`\tilde K + \sigma\tilde M` is SPD);
- ``"lobpcg"``: SLEPc's LOBPCG for the smallest eigenvalues, preconditioned by an
  algebraic multigrid V-cycle (hypre BoomerAMG, or PETSc's GAMG) of
  :math:`\tilde K + \sigma\tilde M`: memory linear in the dofs, the method for large 3D
  problems where LU fill-in grows like :math:`N^{4/3}`.

**Tolerance.**  SLEPc stops when the residual of each eigenpair is below ``tol`` (default
1e-10): relative to the eigenvalue for shift-invert (of the transformed problem, whose
eigenvalue :math:`1/(\xi+\sigma)` is large also for the 0 of the constants), and relative
to :math:`\|\tilde K\| + |\xi|\|\tilde M\|` for LOBPCG (a test relative to ξ can never be
met by :math:`\xi_0 = 0`; LOBPCG then broke down).  For a symmetric definite pencil the
computed eigenvalue is within :math:`\|r\|_{M^{-1}}` of an exact eigenvalue of the pencil
(Kahan–Parlett–Jiang), and in fact within :math:`\|r\|^2/\mathrm{gap}`; so tol = 1e-10
keeps each eigenvalue far below the 1e-8 relative at which the parallel results are
compared with the serial solver (itself run at 1e-10; measured: 3e-14 for shift-invert,
1e-12 for LOBPCG).  The backward errors of the serial solver are recomputed in parallel
and checked against the same limit ``max(100·tol, 1e-8)``.

Results come back to rank 0 as the serial :class:`~gan_pde.spectral.Spectrum` (the
matrices, eigenvectors and the scikit-fem basis gathered in the natural numbering), with
the same checks (spurious modes of an unresolved weight, coarse-mesh and round-off
warnings) applied there.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import skfem

from gan_pde._arrays import as_positive_int
from gan_pde.errors import InvalidInputError, NotConvergedError, NumericalBreakdownError
from gan_pde.fem.basis import element_order, make_basis
from gan_pde.mpi._petsc import load
from gan_pde.mpi.assembly import DistributedSystem, assemble_weighted_mpi, gather_system
from gan_pde.mpi.partition import LocalPart, collective, distribute, gather_owned
from gan_pde.provenance import versions
from gan_pde.spectral.weighted_laplacian import MAX_LOG_VARIATION, Spectrum

if TYPE_CHECKING:
    from gan_pde.densities import Density

__all__ = ["METHODS", "DistributedSpectrum", "weighted_laplacian_spectrum"]

#: Eigen-solvers of the MPI backend; ``"auto"`` takes LOBPCG + AMG for 3D problems above
#: ``_LU_MAX_3D`` dofs (the serial crossover, docs/benchmarks.md) and shift-invert with
#: MUMPS otherwise.
METHODS = ("auto", "shift-invert", "lobpcg")
_LU_MAX_3D = 20_000
#: PETSc options prefix: ``-gan_pde_eps_type gd`` etc. override the choices made here.
OPTIONS_PREFIX = "gan_pde_"


@dataclass(frozen=True)
class DistributedSpectrum:
    """The eigenpairs as they lie on the ranks (``gather=False``).

    Attributes
    ----------
    eigenvalues, residuals
        Ascending eigenvalues and their backward errors (on every rank).
    vectors
        ``(n owned, k)`` values of the scaled eigenvectors at this rank's owned dofs.
    dofs
        Natural (serial) numbers of the owned dofs, one per row of ``vectors``.
    info
        Sizes, timings (per phase), the method and the SLEPc settings.
    """

    eigenvalues: np.ndarray
    residuals: np.ndarray
    vectors: np.ndarray = field(repr=False)
    dofs: np.ndarray = field(repr=False)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def poincare_constant(self) -> float:
        """ξ_min, the smallest non-zero eigenvalue (15)."""
        if self.eigenvalues.size < 2:
            msg = "the Poincaré constant needs k >= 2 eigenvalues; recompute with k >= 2"
            raise InvalidInputError(msg)
        return float(self.eigenvalues[1])


def _communicator(comm: Any) -> Any:
    lib = load()
    if comm is None:
        return lib.MPI.COMM_WORLD
    if not isinstance(comm, lib.MPI.Comm):
        msg = f"comm must be an mpi4py communicator (or None for COMM_WORLD); got {comm!r}"
        raise InvalidInputError(msg)
    return comm


def _validate(density: Any, mesh: Any, k: int, element: str, method: str, tol: float) -> None:
    if not hasattr(density, "log_pdf") or not hasattr(density, "dim"):
        msg = f"density must be a gan_pde Density (with log_pdf and dim); got {type(density)}"
        raise InvalidInputError(msg)
    if not isinstance(mesh, skfem.Mesh):
        msg = (
            "mesh must be a scikit-fem mesh on rank 0 (see gan_pde.mesh; the other ranks may "
            f"pass None); got {type(mesh).__name__}"
        )
        raise InvalidInputError(msg)
    if density.dim != mesh.dim():
        msg = f"the density has dimension {density.dim} but the mesh has dimension {mesh.dim()}"
        raise InvalidInputError(msg)
    as_positive_int(k, "k")
    element_order(element)
    if method not in METHODS:
        msg = f"method={method!r} is not one of {METHODS}"
        raise InvalidInputError(msg)
    if isinstance(tol, bool) or not (
        isinstance(tol, (int, float)) and np.isfinite(tol) and 0 < tol < 1
    ):
        msg = f"tol must be in (0, 1); got tol={tol!r}"
        raise InvalidInputError(msg)


def _vector(lib: Any, part: LocalPart, values: np.ndarray | None = None) -> Any:
    vec = lib.PETSc.Vec().createMPI((part.n_owned, part.n_dofs), comm=part.comm)
    if values is not None:
        vec.array[:] = values
    return vec


def _shift(system: DistributedSystem) -> float:
    """σ = 1e-6 · mean(diag K̃ / diag M̃) over all dofs (the serial solver's shift)."""
    ratio = system.stiffness.getDiagonal().array / system.mass.getDiagonal().array
    total = system.part.comm.allreduce(float(np.sum(ratio)))
    return 1e-6 * total / system.part.n_dofs


def _configure(lib: Any, eps: Any, system: DistributedSystem, method: str, sigma: float):
    SLEPc, PETSc = lib.SLEPc, lib.PETSc
    st = eps.getST()
    ksp = st.getKSP()
    pc = ksp.getPC()
    if method == "shift-invert":
        eps.setType(SLEPc.EPS.Type.KRYLOVSCHUR)
        eps.setTarget(-sigma)
        eps.setWhichEigenpairs(SLEPc.EPS.Which.TARGET_MAGNITUDE)
        st.setType(SLEPc.ST.Type.SINVERT)
        ksp.setType(PETSc.KSP.Type.PREONLY)
        pc.setType(PETSc.PC.Type.LU)
        pc.setFactorSolverType("mumps" if PETSc.Sys.hasExternalPackage("mumps") else "petsc")
        return pc.getFactorSolverType()
    eps.setType(SLEPc.EPS.Type.LOBPCG)
    eps.setWhichEigenpairs(SLEPc.EPS.Which.SMALLEST_REAL)
    # relative to the matrix norms (the serial backward error): a test relative to the
    # eigenvalue can never be met by the 0 of the constants
    eps.setConvergenceTest(SLEPc.EPS.Conv.NORM)
    st.setType(SLEPc.ST.Type.PRECOND)
    shifted = system.stiffness.copy()
    shifted.axpy(sigma, system.mass, structure=PETSc.Mat.Structure.SAME_NONZERO_PATTERN)
    st.setPreconditionerMat(shifted)
    ksp.setType(PETSc.KSP.Type.PREONLY)
    if PETSc.Sys.hasExternalPackage("hypre"):
        pc.setType(PETSc.PC.Type.HYPRE)
        pc.setHYPREType("boomeramg")
        return "hypre-boomeramg"
    pc.setType(PETSc.PC.Type.GAMG)
    return "gamg"


def _backward_errors(lib: Any, system: DistributedSystem, values: np.ndarray, vectors: list):
    r"""The serial solver's norm-wise backward errors
    :math:`\|\tilde Ky-\xi\tilde My\|_\infty / ((\|\tilde K\|_\infty+|\xi|\|\tilde M\|_\infty)
    \|y\|_\infty)`, computed in parallel."""
    norm_inf = lib.PETSc.NormType.NORM_INFINITY
    k_norm = system.stiffness.norm(norm_inf)
    m_norm = system.mass.norm(norm_inf)
    errors = []
    for value, y in zip(values, vectors, strict=True):
        residual = y.duplicate()
        my = y.duplicate()
        system.stiffness.mult(y, residual)
        system.mass.mult(y, my)
        residual.axpy(-value, my)
        scale = (k_norm + abs(value) * m_norm) * y.norm(norm_inf)
        errors.append(residual.norm(norm_inf) / scale)
    return np.asarray(errors)


def weighted_laplacian_spectrum(
    density: Density,
    mesh: skfem.Mesh | None,
    k: int = 6,
    *,
    element: str = "P1",
    method: str = "auto",
    tol: float = 1e-10,
    max_log_variation: float | None = MAX_LOG_VARIATION,
    gather: bool = True,
    comm: Any = None,
) -> Spectrum | DistributedSpectrum | None:
    r"""The k smallest eigenpairs of :math:`-\Delta_\mu` on MPI ranks (collective).

    The same problem as :func:`gan_pde.weighted_laplacian_spectrum`: the weak form
    :math:`\int\rho\nabla w\cdot\nabla\phi = \xi\int\rho\,w\phi` with natural boundary
    conditions, P1/P2 (Q1/Q2) elements, in 1D, 2D and 3D; the mesh is partitioned across the
    ranks of ``comm`` (:mod:`gan_pde.mpi.partition`), every rank assembles its own cells,
    and SLEPc solves the pencil (module documentation).

    Parameters
    ----------
    density
        The weight ρ; rank 0's is used (broadcast), so a KDE drawn at random on each rank
        cannot make the ranks disagree.
    mesh
        The mesh on rank 0; the other ranks may pass None (only rank 0 reads it).
    k, element, max_log_variation
        As in the serial function.
    method
        ``"shift-invert"`` (MUMPS), ``"lobpcg"`` (AMG-preconditioned) or ``"auto"``.
        PETSc options with the prefix ``-gan_pde_`` (e.g. ``-gan_pde_eps_type gd``)
        override the settings.
    tol
        SLEPc's relative residual tolerance (see the module documentation for why 1e-10).
    gather
        True: rank 0 returns the serial :class:`~gan_pde.spectral.Spectrum` (every array
        gathered; the other ranks return None).  False: every rank returns a
        :class:`DistributedSpectrum` with its own part of the eigenvectors (for problems
        whose matrices should not be gathered on one rank).
    comm
        An mpi4py communicator (default COMM_WORLD).

    Returns
    -------
    Spectrum or DistributedSpectrum or None

    Raises
    ------
    InvalidInputError
        On every rank, for a bad argument on rank 0 (the message names it).
    NotConvergedError
        If SLEPc finds fewer than k eigenpairs or the backward errors exceed
        ``max(100·tol, 1e-8)``.
    MissingDependencyError
        Without petsc4py/slepc4py/mpi4py (docs/mpi.md says how to install them).

    Examples
    --------
    Run with ``mpiexec -n 2 python script.py``:

    >>> from gan_pde import mpi
    >>> spec = mpi.weighted_laplacian_spectrum(rho, mesh, k=4)  # doctest: +SKIP
    >>> if spec is not None:                                     # doctest: +SKIP
    ...     print(spec.poincare_constant)
    """
    lib = load()
    comm = _communicator(comm)
    start = time.perf_counter()

    def check() -> None:
        if comm.rank == 0:
            _validate(density, mesh, k, element, method, tol)

    collective(comm, check)
    density = comm.bcast(density if comm.rank == 0 else None, root=0)
    k = as_positive_int(k, "k")
    element = element.upper()
    part = distribute(mesh if comm.rank == 0 else None, element, comm)
    if k > part.n_dofs:
        msg = f"k={k} is larger than the number of degrees of freedom ({part.n_dofs}) of the mesh"
        raise InvalidInputError(msg)
    system = assemble_weighted_mpi(density, part)
    assembled = time.perf_counter()
    dim = int(part.mesh.dim())
    chosen = method
    if method == "auto":
        chosen = "lobpcg" if dim == 3 and part.n_dofs > _LU_MAX_3D else "shift-invert"
    values, vectors, settings = _solve(lib, system, k, tol, chosen)
    solved = time.perf_counter()
    residuals = _backward_errors(lib, system, values, vectors)
    limit = max(100.0 * tol, 1e-8)
    if np.any(residuals > limit):
        msg = (
            f"the SLEPc {chosen} eigen-solver did not converge: backward errors {residuals} "
            f"exceed {limit:.1e}; try method='shift-invert' or a finer tolerance"
        )
        raise NotConvergedError(msg)
    owned = np.column_stack([v.array for v in vectors])
    info = {
        "n_dofs": part.n_dofs,
        "n_cells": part.n_cells,
        "dim": dim,
        "k": int(k),
        "tol": float(tol),
        "element": element,
        "method": chosen,
        "density": repr(density),
        "backend": "mpi",
        "ranks": int(comm.size),
        "slepc": settings,
        "partition_seconds": part.info["partition_seconds"],
        "scatter_seconds": part.info["scatter_seconds"],
        "assembly_seconds": assembled - start,
        "solve_seconds": solved - assembled,
        "owned_dofs": comm.allgather(part.n_owned),
        "local_cells": comm.allgather(part.info["local_cells"]),
        "versions": versions(),
    }
    if not gather:
        return DistributedSpectrum(
            eigenvalues=values,
            residuals=residuals,
            vectors=owned,
            dofs=part.owned_natural,
            info=info,
        )
    whole = gather_system(system)
    scaled = gather_owned(part, owned)
    result, error = None, None
    if comm.rank == 0:
        # rank 0 finishes alone (the serial checks); whatever it raises is raised on every
        # rank, else the others would go on to their next collective and wait there
        try:
            result = _serial_result(
                whole, scaled, values, residuals, mesh, element, max_log_variation, info
            )
        except Exception as err:  # re-raised on every rank just below
            error = err
    error = comm.bcast(error, root=0)
    if error is not None:
        raise error
    return result


def _solve(lib: Any, system: DistributedSystem, k: int, tol: float, method: str):
    """SLEPc's k smallest eigenpairs (ascending) and the settings used."""
    SLEPc = lib.SLEPc
    part = system.part
    eps = SLEPc.EPS().create(comm=part.comm)
    eps.setOperators(system.stiffness, system.mass)
    eps.setProblemType(SLEPc.EPS.ProblemType.GHEP)
    n = part.n_dofs
    ncv = min(n, max(2 * k + 1, 12)) if method == "shift-invert" else SLEPc.DECIDE
    eps.setDimensions(nev=k, ncv=ncv)
    eps.setTolerances(tol=tol, max_it=1000 if method == "shift-invert" else 5000)
    sigma = _shift(system)
    # the constants (scaled: e^{ℓ/2}) span the kernel: a start vector close to the wanted
    # space; the same on any number of ranks
    start = _vector(lib, part, np.exp(0.5 * (system.log_scale - _global_max(part, system))))
    eps.setInitialSpace([start])
    factor = _configure(lib, eps, system, method, sigma)
    eps.setOptionsPrefix(OPTIONS_PREFIX)
    eps.setFromOptions()
    try:
        eps.solve()
    except lib.PETSc.Error as err:
        msg = (
            f"SLEPc's {method} eigen-solver broke down (PETSc error {err.ierr}); the shifted "
            "pencil is singular or the mass matrix is not numerically positive definite: "
            "refine the mesh where the weight varies fast or shrink the domain"
        )
        raise NumericalBreakdownError(msg) from err
    converged = eps.getConverged()
    if converged < k:
        msg = (
            f"SLEPc's {method} eigen-solver found {converged} of the k={k} eigenpairs in "
            f"{eps.getIterationNumber()} iterations (reason {eps.getConvergedReason()}); "
            "try method='shift-invert' or a looser tolerance"
        )
        raise NotConvergedError(msg)
    pairs = []
    for i in range(converged):
        vec = system.stiffness.createVecRight()
        value = eps.getEigenpair(i, vec)
        pairs.append((float(np.real(value)), vec))
    pairs.sort(key=lambda pair: pair[0])
    settings = {
        "eps_type": eps.getType(),
        "st_type": eps.getST().getType(),
        "solver": factor,
        "tol": eps.getTolerances()[0],
        "iterations": int(eps.getIterationNumber()),
        "converged": int(converged),
        "shift": sigma,
    }
    values = np.array([p[0] for p in pairs[:k]])
    if not np.all(np.isfinite(values)):
        msg = f"SLEPc's {method} eigen-solver returned NaN/Inf eigenvalues"
        raise NumericalBreakdownError(msg)
    return values, [p[1] for p in pairs[:k]], settings


def _global_max(part: LocalPart, system: DistributedSystem) -> float:
    local = float(system.log_scale.max(initial=-np.inf))
    return part.comm.allreduce(local, op=load().MPI.MAX)


def _serial_result(
    system: Any,
    vectors: np.ndarray,
    values: np.ndarray,
    residuals: np.ndarray,
    mesh: skfem.Mesh,
    element: str,
    max_log_variation: float | None,
    info: dict[str, Any],
) -> Spectrum:
    """Rank 0: the serial Spectrum, with the serial checks (spurious modes, warnings)."""
    from gan_pde.spectral import weighted_laplacian as serial

    basis = make_basis(mesh, element)
    serial._check_spurious_modes(
        system, basis.element_dofs, mesh, values[1:], vectors[:, 1:], max_log_variation
    )
    if values.size >= 2:
        serial._warn_if_coarse(
            system, basis.element_dofs, vectors[:, 1], float(values[1]), element_order(element)
        )
        info["xi_min_error_estimate"] = serial._round_off_error(
            system, vectors[:, 1], float(values[1])
        )
    return Spectrum(
        eigenvalues=values,
        scaled_eigenvectors=serial._normalise(system, vectors),
        system=system,
        basis=basis,
        element=element,
        method=info["method"],
        residuals=residuals,
        info=info,
    )
