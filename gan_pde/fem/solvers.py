r"""One interface for the sparse linear solves of the package: a solver factory chosen by name.

Every symmetric positive definite solve and shift-invert of the package (the spectrum of
the weighted Laplacian, the adaptive ξ_min loop, the Newton solves of the JSD flow, the
stationary Fokker–Planck system) goes through a :class:`LinearSolver`, made by
:func:`linear_solver` from a name:

======== ===================================================== =========================
name     library                                               install
======== ===================================================== =========================
cholmod  CHOLMOD supernodal Cholesky (SuiteSparse) through     ``pip install
         scikit-sparse; METIS or the package's nested          gan_pde[cholmod]`` (needs
         dissection; multithreaded through BLAS                 libsuitesparse-dev)
pardiso  Intel MKL PARDISO through pypardiso; multithreaded     ``pip install
         (OpenMP), symmetric-indefinite and unsymmetric too     gan_pde[pardiso]``
superlu  scipy's SuperLU without pivoting on a symmetric        always (scipy)
         ordering (:func:`gan_pde.fem.linalg.factorize_symmetric`)
amg      smoothed-aggregation AMG (pyamg) as CG preconditioner always (pyamg)
======== ===================================================== =========================

``"auto"`` picks the fastest installed one: CHOLMOD, then PARDISO, then SuperLU, and AMG
for 3D systems above :data:`AMG_MIN_3D` unknowns, where the fill of a direct factor grows
like :math:`N^{4/3}`.  A solver is passed to the package's solvers the way scikit-fem
passes its solvers (``solver=linear_solver("cholmod")`` or the name), and it is itself
callable like one: ``solver(A, b)`` solves :math:`Ax = b`.

**Factorisation reuse.**  :meth:`LinearSolver.factorize` returns a :class:`Factorization`
that solves many right-hand sides and is refactorised numerically for a new matrix with
the same sparsity pattern by :meth:`Factorization.refactor`, keeping the symbolic
analysis (CHOLMOD's ``cholesky_inplace``, PARDISO's phase 22, SuperLU's ordering).  Each
factorisation reports a memory estimate (:attr:`Factorization.memory_bytes`) and a
provenance record (:meth:`Factorization.describe`) that the results of the package store.

**Matrices similar to SPD ones.**  The package scales its equations row-wise by the
density (every row then has entries of order one however small ρ is), which makes its
matrices :math:`J = W^{-1} B W` with B symmetric positive definite and :math:`W =
\mathrm{diag}(e^{h})`.  SuperLU factorises J itself (symmetric mode without pivoting); a
Cholesky backend is given ``similarity=h`` and factorises :math:`B_{ij} = J_{ij}
e^{h_i - h_j}`, solving :math:`Jx = b` as :math:`x = W^{-1}B^{-1}Wb`.  Gaussian
elimination commutes with diagonal scalings up to the rounding of the scaled entries, so
both give the same accuracy, as long as :math:`e^{h}` stays in the double range: with
:math:`\max h - \min h` above :data:`SIMILARITY_RANGE` the factorisation falls back to
SuperLU on J (recorded in its provenance).

**Licences.**  scikit-sparse is BSD-2; the CHOLMOD library it links has its supernodal
module under the GPL (v2 or later), so a program that uses ``solver="cholmod"`` is
subject to the GPL when distributed; the extra is optional and the MIT package does not
depend on it.  pypardiso is BSD-3; MKL is under the Intel Simplified Software License
(redistributable, not open source).

Examples
--------
>>> import numpy as np, scipy.sparse as sp
>>> A = sp.diags([-np.ones(9), 2.5 * np.ones(10), -np.ones(9)], [-1, 0, 1], format="csr")
>>> solver = linear_solver("superlu")
>>> factor = solver.factorize(A)
>>> x = factor.solve(np.ones(10))
>>> bool(np.allclose(A @ x, 1.0)), factor.describe()["backend"]
(True, 'superlu')
>>> factor.refactor(2.0 * A)           # same pattern: the ordering is kept
>>> bool(np.allclose(A @ factor.solve(np.ones(10)), 0.5))
True
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import threading
import time
import warnings
from collections.abc import Mapping
from functools import cache
from importlib import metadata
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from gan_pde.errors import (
    InvalidInputError,
    MissingDependencyError,
    NumericalBreakdownError,
    ReproducibilityWarning,
)
from gan_pde.fem.linalg import factorize_symmetric, symmetric_ordering

__all__ = [
    "AMG_MIN_3D",
    "BACKENDS",
    "KINDS",
    "SIMILARITY_RANGE",
    "SOLVER_NAMES",
    "Factorization",
    "LinearSolver",
    "as_linear_solver",
    "available_backends",
    "check_resumed_backend",
    "dissection_for_cholmod",
    "linear_solver",
]

logger = logging.getLogger(__name__)

#: The backends, in the order in which ``"auto"`` prefers the direct ones.
BACKENDS = ("cholmod", "pardiso", "superlu", "amg")
#: Names accepted by :func:`linear_solver`.
SOLVER_NAMES = ("auto", *BACKENDS)
#: ``"spd"``: symmetric positive definite (or similar to one, see ``similarity``);
#: ``"general"``: any square nonsingular matrix (LU with pivoting).
KINDS = ("spd", "general")
#: 3D systems larger than this go to AMG under ``"auto"`` when no supernodal backend is
#: installed: SuperLU's 3D fill and time grow like N^{4/3} and N², and AMG-preconditioned
#: LOBPCG wins from ~1e4 (P1) to ~2e4 (P2) dofs (``benchmarks/bench_spectrum_3d.py``).
AMG_MIN_3D = 20_000
#: The same with CHOLMOD or PARDISO: a provisional crossover, *not yet measured* in 3D
#: (their factors hold about half the entries of SuperLU's L + U, measured in 2D: 1.5e8
#: against 3e8 bytes at 2.5e5 dofs, and factorise on both cores);
#: ``benchmarks/performance.py --measure spectrum3d`` times both sides.
AMG_MIN_3D_FAST = 400_000
#: Largest spread max h − min h (natural log) of a similarity scaling: e^{-500} ≈ 7e-218
#: leaves 90 decades for the values themselves before subnormals.
SIMILARITY_RANGE = 500.0
#: Relative residual of an AMG-preconditioned CG solve: the round-off floor of CG on
#: these matrices (condition numbers up to ~1e8) is near 1e-12 relative, so 1e-12 makes an
#: AMG solve as good as a direct one for Newton and for ARPACK's shift-invert.
AMG_RTOL = 1e-12
_AMG_MAXITER = 500
#: A CG solve that ends above this relative residual has failed (not merely stagnated).
_AMG_FAILED = 1e-6

_MODULES = {"cholmod": "sksparse.cholmod", "pardiso": "pypardiso"}
_DISTRIBUTIONS = {
    "cholmod": "scikit-sparse",
    "pardiso": "pypardiso",
    "superlu": "scipy",
    "amg": "pyamg",
}
_EXTRAS = {
    "cholmod": "pip install 'gan_pde[cholmod]' (needs SuiteSparse: apt-get install "
    "libsuitesparse-dev)",
    "pardiso": "pip install 'gan_pde[pardiso]'",
}


@cache
def _importable(backend: str) -> bool:
    module = _MODULES.get(backend)
    if module is None:
        return True
    try:
        imported = importlib.import_module(module)
        if backend == "pardiso":
            imported.PyPardisoSolver()  # finds MKL's runtime or raises ImportError
    except (ImportError, OSError):
        return False
    return True


def available_backends() -> tuple[str, ...]:
    """The backends installed here, in the order of :data:`BACKENDS`.

    Examples
    --------
    >>> {"superlu", "amg"} <= set(available_backends())
    True
    """
    return tuple(name for name in BACKENDS if _importable(name))


@cache
def _version(backend: str) -> str:
    try:
        return metadata.version(_DISTRIBUTIONS[backend])
    except metadata.PackageNotFoundError:
        return "unknown"


def _auto(kind: str, size: int | None, dim: int | None) -> str:
    if kind == "general":
        return "pardiso" if _importable("pardiso") else "superlu"
    # the first installed (checked lazily: loading MKL takes a second)
    direct = next((b for b in ("cholmod", "pardiso") if _importable(b)), None)
    if dim == 3 and size is not None and size > (AMG_MIN_3D_FAST if direct else AMG_MIN_3D):
        return "amg"
    return direct or "superlu"


class Factorization:
    """A factorised matrix: solves with it, refactorises a matrix of the same pattern.

    Made by :meth:`LinearSolver.factorize`; not constructed directly.

    Attributes
    ----------
    backend
        The library that holds the factor (``"cholmod"``, ``"pardiso"``, ``"superlu"``,
        ``"amg"``).
    shape
        Shape of the matrix.
    factor_nnz
        Stored entries of the factor (L for Cholesky, L + U for LU; the hierarchy's
        operators for AMG), or None where the library does not report it.
    memory_bytes
        Memory held by the factor: from the library's own count where it reports one
        (PARDISO), else from ``factor_nnz`` (8-byte values and 4-byte indices), else
        the growth of the process's resident memory during the factorisation (CHOLMOD,
        which scikit-sparse does not query).
    analyse_seconds, factorize_seconds
        Time of the symbolic analysis (ordering) and of the last numeric factorisation.
    refactorizations
        Numeric refactorisations with the symbolic analysis kept (:meth:`refactor`).
    """

    backend = ""

    def __init__(self, matrix: sp.spmatrix, options: dict[str, Any]) -> None:
        self.shape = matrix.shape
        self.options = options
        self.factor_nnz: int | None = None
        self.memory_bytes = 0
        self.analyse_seconds = 0.0
        self.factorize_seconds = 0.0
        self.refactorizations = 0
        self.ordering = ""
        self._pattern = _pattern_key(matrix)

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """Solve :math:`Ax = b` for a vector or the columns of a matrix."""
        raise NotImplementedError

    def refactor(self, matrix: sp.spmatrix) -> None:
        """Factorise ``matrix`` (same sparsity pattern) reusing the symbolic analysis.

        Raises
        ------
        InvalidInputError
            If the pattern differs from that of the first matrix.
        """
        if _pattern_key(matrix) != self._pattern:
            msg = (
                "refactor needs a matrix with the sparsity pattern of the factorised one; "
                "call LinearSolver.factorize for a new pattern"
            )
            raise InvalidInputError(msg)
        start = time.perf_counter()
        self._refactor(matrix)
        self.factorize_seconds = time.perf_counter() - start
        self.refactorizations += 1

    def _refactor(self, matrix: sp.spmatrix) -> None:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """Provenance of the factorisation: backend, library version, ordering, sizes."""
        return {
            "backend": self.backend,
            "library_version": _version(self.backend),
            "ordering": self.ordering,
            "n": int(self.shape[0]),
            "factor_nnz": None if self.factor_nnz is None else int(self.factor_nnz),
            "memory_bytes": int(self.memory_bytes),
            "analyse_seconds": float(self.analyse_seconds),
            "factorize_seconds": float(self.factorize_seconds),
            "refactorizations": int(self.refactorizations),
            **{k: v for k, v in self.options.items() if isinstance(v, (str, int, float))},
        }

    def __call__(self, rhs: np.ndarray) -> np.ndarray:
        return self.solve(rhs)


def _pattern_key(matrix: sp.spmatrix) -> tuple:
    m = matrix if sp.isspmatrix_csr(matrix) or sp.isspmatrix_csc(matrix) else sp.csr_matrix(matrix)
    return (m.format, m.shape, m.nnz, hash(m.indptr.tobytes()), hash(m.indices.tobytes()))


def _resident_bytes() -> int:
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * 4096
    except (OSError, ValueError, IndexError):
        return 0


# --------------------------------------------------------------------------- SuperLU


class _SuperLUFactorization(Factorization):
    backend = "superlu"

    def __init__(self, matrix, options, *, kind, coordinates=None, perm=None):
        super().__init__(matrix, options)
        self.kind = kind
        start = time.perf_counter()
        if kind == "general":
            self._perm = None
            self.ordering = "MMD_AT_PLUS_A, partial pivoting"
        else:
            self._perm = perm
            if self._perm is None and coordinates is not None:
                self._perm = symmetric_ordering(matrix, coordinates)
            self.ordering = (
                "nested dissection (gan_pde)" if self._perm is not None else "MMD_AT_PLUS_A"
            )
        self.analyse_seconds = time.perf_counter() - start
        start = time.perf_counter()
        self._refactor(matrix)
        self.factorize_seconds = time.perf_counter() - start

    def _refactor(self, matrix):
        try:
            if self.kind == "general":
                self._lu = spla.splu(sp.csc_matrix(matrix), permc_spec="MMD_AT_PLUS_A")
            else:
                self._lu = factorize_symmetric(matrix, perm=self._perm)
        except RuntimeError as err:  # "Factor is exactly singular"
            msg = f"SuperLU: the matrix is singular in floating point ({err})"
            raise NumericalBreakdownError(msg) from err
        lu = getattr(self._lu, "lu", self._lu)
        self.factor_nnz = int(lu.nnz)
        self.memory_bytes = 12 * self.factor_nnz

    @property
    def lu(self):
        """The SuperLU object (or :class:`~gan_pde.fem.linalg.PermutedLU`)."""
        return self._lu

    def solve(self, rhs):
        return self._lu.solve(np.asarray(rhs, dtype=float))


# --------------------------------------------------------------------------- CHOLMOD


def dissection_for_cholmod(options: dict[str, Any], dim: int) -> bool:
    """Whether CHOLMOD orders by the package's nested dissection: when asked
    (``ordering="gan_pde"``) and, by default, for unknowns in 1D or 2D, where it was
    measured against CHOLMOD's own (1e6 P1 dofs, ``benchmarks/performance.py --measure
    spectrum2d``): analysis 0.11 s and factorisation 2.2 s against 0.42 s and 3.2 s, a
    factor of 0.62 against 0.78 GB, solves 8 % faster.  In 3D CHOLMOD keeps its own (not
    measured against it)."""
    requested = options.get("ordering")
    if requested is not None:
        return requested == "gan_pde"
    return "cholmod_ordering" not in options and dim <= 2


class _CholmodFactorization(Factorization):
    backend = "cholmod"

    def __init__(self, matrix, options, *, kind, coordinates=None, perm=None):
        super().__init__(matrix, options)
        from sksparse.cholmod import analyze

        if (
            perm is None
            and coordinates is not None
            and np.ndim(coordinates) == 2
            and dissection_for_cholmod(options, np.shape(coordinates)[1])
        ):
            perm = symmetric_ordering(matrix, coordinates)
        self._perm = perm
        lower = self._lower(matrix)
        before = _resident_bytes()
        start = time.perf_counter()
        method = "natural" if perm is not None else options.get("cholmod_ordering", "default")
        self._factor = analyze(lower, mode="supernodal", ordering_method=method)
        self.analyse_seconds = time.perf_counter() - start
        self.ordering = "nested dissection (gan_pde)" if perm is not None else f"CHOLMOD {method}"
        start = time.perf_counter()
        self._refactor(matrix, lower=lower)
        self.factorize_seconds = time.perf_counter() - start
        self.memory_bytes = max(_resident_bytes() - before, 0)

    def _lower(self, matrix):
        csc = sp.csc_matrix(matrix, dtype=float)
        if self._perm is not None:
            csc = csc[self._perm][:, self._perm]
        # CHOLMOD reads the lower triangle only
        return sp.tril(csc, format="csc")

    def _refactor(self, matrix, *, lower=None):
        from sksparse.cholmod import CholmodNotPositiveDefiniteError

        try:
            self._factor.cholesky_inplace(self._lower(matrix) if lower is None else lower)
        except CholmodNotPositiveDefiniteError as err:
            msg = f"CHOLMOD: the matrix is not numerically positive definite ({err})"
            raise NumericalBreakdownError(msg) from err

    def solve(self, rhs):
        b = np.asarray(rhs, dtype=float)
        with _single_thread_blas(b, self.shape[0]):
            if self._perm is None:
                return self._factor(b)
            x = np.empty_like(b)
            x[self._perm] = self._factor(np.ascontiguousarray(b[self._perm]))
            return x


#: From this many unknowns a CHOLMOD solve of one vector runs with one BLAS thread.
SINGLE_THREAD_SOLVE_MIN = 20_000


@cache
def _blas_controller():
    """threadpoolctl's view of the loaded BLAS libraries (None without threadpoolctl);
    made at the first CHOLMOD solve, after scikit-sparse has loaded the BLAS it links."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


class _OneBlasThread:
    """A process-wide one-BLAS-thread section, reference counted under a lock.

    BLAS thread counts are process state.  If each solve set and restored them on its own,
    two threads solving at once (Dask's threaded scheduler) could interleave: A sets 1
    (remembering 2), B sets 1 (remembering 1), A restores 2, B restores 1, and BLAS stays
    on one thread for the rest of the process.  Here the first solve to enter sets the
    limit, the last to leave restores it, and the count is changed under a lock.  A block
    solve running meanwhile in another thread gets one thread too (speed, not results).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._limiter: Any = None

    @contextlib.contextmanager
    def __call__(self, controller: Any):
        with self._lock:
            if self._depth == 0:
                self._limiter = controller.limit(limits=1, user_api="blas")
            self._depth += 1
        try:
            yield controller
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0:
                    self._limiter.restore_original_limits()
                    self._limiter = None


_ONE_BLAS_THREAD = _OneBlasThread()


def _single_thread_blas(rhs: np.ndarray, n: int) -> contextlib.AbstractContextManager:
    """One BLAS thread for a single-vector solve of at least :data:`SINGLE_THREAD_SOLVE_MIN`
    unknowns.

    A supernodal solve of one right-hand side is a sequence of small triangular solves
    and matrix-vector products (BLAS-2), bound by memory traffic; a second BLAS thread
    only adds synchronisation.  Measured on the 1e6-dof 2D weighted Laplacian (CHOLMOD
    on the package's nested dissection, OpenBLAS, 2 cores): chained solves 0.16–0.20 s on
    one thread against 0.25–0.30 s on two, and ARPACK's shift-invert 6.2–7.2 s against
    8.5–8.9 s.  Blocks of right-hand sides (BLAS-3) keep every thread.  Needs
    threadpoolctl (in the ``cholmod`` and ``fast`` extras; 14 µs per switch); without
    it the solve runs as it is.  Safe with concurrent solves (:class:`_OneBlasThread`).
    """
    controller = _blas_controller() if rhs.ndim == 1 and n >= SINGLE_THREAD_SOLVE_MIN else None
    if controller is None:
        return contextlib.nullcontext()
    return _ONE_BLAS_THREAD(controller)


# --------------------------------------------------------------------------- PARDISO


class _PardisoFactorization(Factorization):
    backend = "pardiso"

    def __init__(self, matrix, options, *, kind, coordinates=None, perm=None):
        super().__init__(matrix, options)
        from pypardiso import PyPardisoSolver

        del coordinates, perm  # PARDISO orders with its own (parallel) METIS
        self.kind = kind
        self._solver = PyPardisoSolver(mtype=2 if kind == "spd" else 11)
        iparm = {
            1: 1,  # iparm given
            2: 3,  # parallel nested dissection (METIS)
            # pivot perturbation 1e-13 (unsymmetric) / 1e-8 (symmetric), as MKL's defaults
            10: 8 if kind == "spd" else 13,
            11: 0 if kind == "spd" else 1,  # scaling and matching: unsymmetric only
            13: 0 if kind == "spd" else 1,
            18: -1,  # report the factor's non-zeros
            # no iterative refinement beyond what a perturbed pivot asks for
            8: 0,
        }
        for key, value in iparm.items():
            self._solver.set_iparm(key, value)
        a = self._prepared(matrix)
        self._ia = a.indptr.astype(np.int32) + 1
        self._ja = a.indices.astype(np.int32) + 1
        start = time.perf_counter()
        self._call(11, a)
        self.analyse_seconds = time.perf_counter() - start
        self.ordering = "PARDISO parallel METIS"
        start = time.perf_counter()
        self._refactor(matrix, prepared=a)
        self.factorize_seconds = time.perf_counter() - start

    def _prepared(self, matrix):
        csr = sp.csr_matrix(matrix, dtype=float)
        if self.kind == "spd":
            csr = sp.triu(csr, format="csr")
        csr.sort_indices()
        return csr

    def _call(self, phase: int, a: sp.csr_matrix, b: np.ndarray | None = None) -> np.ndarray:
        import ctypes

        solver = self._solver
        b = np.zeros((a.shape[0], 1)) if b is None else np.asfortranarray(b, dtype=float)
        x = np.zeros_like(b)
        error = ctypes.c_int32(0)
        int_p = ctypes.POINTER(ctypes.c_int32)
        dbl_p = ctypes.POINTER(ctypes.c_double)
        solver._mkl_pardiso(
            solver.pt.ctypes.data_as(ctypes.POINTER(solver._pt_type[0])),
            ctypes.byref(ctypes.c_int32(1)),
            ctypes.byref(ctypes.c_int32(1)),
            ctypes.byref(ctypes.c_int32(solver.mtype)),
            ctypes.byref(ctypes.c_int32(phase)),
            ctypes.byref(ctypes.c_int32(a.shape[0])),
            a.data.ctypes.data_as(dbl_p),
            self._ia.ctypes.data_as(int_p),
            self._ja.ctypes.data_as(int_p),
            solver.perm.ctypes.data_as(int_p),
            ctypes.byref(ctypes.c_int32(1 if b.ndim == 1 else b.shape[1])),
            solver.iparm.ctypes.data_as(int_p),
            ctypes.byref(ctypes.c_int32(0)),
            b.ctypes.data_as(dbl_p),
            x.ctypes.data_as(dbl_p),
            ctypes.byref(error),
        )
        if error.value != 0:
            reason = {-4: "zero pivot", -2: "out of memory", -3: "reordering failed"}
            msg = (
                f"PARDISO phase {phase} failed with error {error.value} "
                f"({reason.get(error.value, 'see the MKL PARDISO documentation')})"
            )
            if error.value == -2:
                raise MemoryError(msg)
            raise NumericalBreakdownError(msg)
        return x

    def _refactor(self, matrix, *, prepared=None):
        a = self._prepared(matrix) if prepared is None else prepared
        self._a = a
        self._call(22, a)
        iparm = self._solver.iparm
        self.factor_nnz = int(iparm[17])
        # permanent memory (iparm 16) + factorisation and solve (iparm 17), in KB
        self.memory_bytes = 1024 * int(iparm[15] + iparm[16])

    def solve(self, rhs):
        b = np.asarray(rhs, dtype=float)
        x = self._call(33, self._a, b if b.ndim == 2 else b[:, None])
        x = np.ascontiguousarray(x)
        return x if b.ndim == 2 else x[:, 0]

    def __del__(self):
        # releasing MKL's memory (also at interpreter exit) must never raise
        with contextlib.suppress(Exception):
            self._call(-1, self._a)


# --------------------------------------------------------------------------- AMG


class _AMGFactorization(Factorization):
    backend = "amg"

    def __init__(self, matrix, options, *, kind, coordinates=None, perm=None):
        super().__init__(matrix, options)
        del kind, coordinates, perm
        self.rtol = float(options.get("rtol", AMG_RTOL))
        self.ordering = "smoothed aggregation (pyamg)"
        self.iterations: list[int] = []
        self.worst_residual = 0.0
        start = time.perf_counter()
        self._refactor(matrix)
        self.factorize_seconds = time.perf_counter() - start

    def _refactor(self, matrix):
        import pyamg

        self._matrix = sp.csr_matrix(matrix, dtype=float)
        # pyamg estimates spectral radii from numpy's global random generator: seed it for
        # reproducible hierarchies (and leave the caller's generator as it was)
        state = np.random.get_state()  # noqa: NPY002 - pyamg draws from the legacy generator
        np.random.seed(0)  # noqa: NPY002
        try:
            self._ml = pyamg.smoothed_aggregation_solver(self._matrix, max_coarse=500)
        finally:
            np.random.set_state(state)  # noqa: NPY002
        levels = self._ml.levels
        self.factor_nnz = int(
            sum(level.A.nnz for level in levels)
            + sum(level.P.nnz + level.R.nnz for level in levels[:-1])
        )
        self.memory_bytes = 12 * self.factor_nnz

    @property
    def hierarchy(self):
        """The pyamg multilevel solver (e.g. for ``aspreconditioner``)."""
        return self._ml

    def solve(self, rhs):
        b = np.asarray(rhs, dtype=float)
        if b.ndim == 2:
            return np.column_stack([self.solve(column) for column in b.T])
        residuals: list[float] = []
        x = self._ml.solve(b, tol=self.rtol, maxiter=_AMG_MAXITER, accel="cg", residuals=residuals)
        self.iterations.append(len(residuals) - 1)
        norm_b = np.linalg.norm(b)
        attained = np.linalg.norm(b - self._matrix @ x) / norm_b if norm_b > 0 else 0.0
        self.worst_residual = max(self.worst_residual, attained)
        # CG stagnates at ~κε relative residual (1e-8 for the shifted pencils of the
        # spectrum): only a residual far above rtol is a failure to converge
        if attained > _AMG_FAILED:
            msg = (
                f"AMG-preconditioned CG reached only a relative residual {attained:.1e} in "
                f"{_AMG_MAXITER} iterations; use a direct backend (solver='cholmod', "
                "'pardiso' or 'superlu')"
            )
            raise NumericalBreakdownError(msg)
        return x

    def describe(self):
        out = super().describe()
        out["cg_iterations"] = int(sum(self.iterations))
        out["worst_relative_residual"] = float(self.worst_residual)
        return out


# --------------------------------------------------------------------------- similarity


class _Similar(Factorization):
    r"""Solves with :math:`J = W^{-1}BW`, :math:`W = \mathrm{diag}(e^h)`, via a factor of B."""

    def __init__(self, inner: Factorization, h: np.ndarray, matrix: sp.spmatrix):
        self.__dict__.update(inner.__dict__)
        self.backend = inner.backend
        self._inner = inner
        self._h = h
        self._up = np.exp(h)
        self._down = np.exp(-h)
        self._pattern = _pattern_key(matrix)

    def solve(self, rhs):
        b = np.asarray(rhs, dtype=float)
        up, down = (
            (self._up, self._down) if b.ndim == 1 else (self._up[:, None], self._down[:, None])
        )
        return down * self._inner.solve(up * b)

    def _refactor(self, matrix):
        self._inner.refactor(_symmetrized(matrix, self._h))
        self.factor_nnz = self._inner.factor_nnz
        self.memory_bytes = self._inner.memory_bytes

    def describe(self):
        out = self._inner.describe()
        out["refactorizations"] = int(self.refactorizations)
        out["similarity"] = "diagonal (symmetrised for the backend)"
        return out


def _symmetrized(matrix: sp.spmatrix, h: np.ndarray) -> sp.csr_matrix:
    """:math:`B_{ij} = J_{ij}e^{h_i - h_j}` (same pattern as J)."""
    csr = sp.csr_matrix(matrix, dtype=float)
    rows = np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))
    data = csr.data * np.exp(h[rows] - h[csr.indices])
    return sp.csr_matrix((data, csr.indices, csr.indptr), shape=csr.shape)


_CLASSES = {
    "superlu": _SuperLUFactorization,
    "cholmod": _CholmodFactorization,
    "pardiso": _PardisoFactorization,
    "amg": _AMGFactorization,
}


class LinearSolver:
    """A sparse solver chosen by name (:func:`linear_solver`): factorises and solves.

    Callable like scikit-fem's solvers: ``solver(A, b)`` returns :math:`A^{-1}b`.

    Attributes
    ----------
    name
        The backend actually used (``"auto"`` resolved).
    requested
        The name asked for.
    kind
        ``"spd"`` or ``"general"`` (:data:`KINDS`).
    options
        Backend options (e.g. ``rtol`` of AMG, ``ordering="gan_pde"`` to give CHOLMOD the
        package's nested dissection instead of its own).
    """

    def __init__(self, name: str, requested: str, kind: str, options: dict[str, Any]) -> None:
        self.name = name
        self.requested = requested
        self.kind = kind
        self.options = dict(options)
        #: The last factorisation made by :meth:`factorize` (for provenance).
        self.last: Factorization | None = None

    def __repr__(self) -> str:
        return f"LinearSolver({self.name!r}, kind={self.kind!r})"

    def factorize(
        self,
        matrix: sp.spmatrix,
        *,
        coordinates: np.ndarray | None = None,
        perm: np.ndarray | None = None,
        similarity: np.ndarray | None = None,
    ) -> Factorization:
        """Factorise ``matrix`` (analysis and numeric factorisation).

        Parameters
        ----------
        matrix
            Square sparse matrix: symmetric positive definite for ``kind="spd"`` (or
            similar to one, with ``similarity``).
        coordinates
            (n, d) coordinates of the unknowns: SuperLU (and CHOLMOD with
            ``ordering="gan_pde"``) order by the package's geometric nested dissection
            from :data:`~gan_pde.fem.linalg.NESTED_DISSECTION_MIN_SIZE` unknowns.
        perm
            A fill-reducing ordering computed beforehand
            (:func:`~gan_pde.fem.linalg.symmetric_ordering`), used as it is by SuperLU
            and CHOLMOD.
        similarity
            h with ``matrix`` :math:`= W^{-1}BW`, :math:`W = \\mathrm{diag}(e^h)`, B
            symmetric positive definite (module documentation).  SuperLU factorises the
            matrix itself and ignores it.

        Raises
        ------
        InvalidInputError
            For a non-square matrix or a similarity of the wrong shape.
        NumericalBreakdownError
            If the matrix is singular or, for a Cholesky backend, not positive definite.
        """
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            msg = f"matrix must be square; got shape {matrix.shape}"
            raise InvalidInputError(msg)
        cls = _CLASSES[self.name]
        kwargs = {"kind": self.kind, "coordinates": coordinates, "perm": perm}
        if similarity is not None:  # checked for every backend, used by the Cholesky ones
            h = np.asarray(similarity, dtype=float)
            if h.shape != (matrix.shape[0],) or not np.all(np.isfinite(h)):
                msg = f"similarity must be a finite vector of length {matrix.shape[0]}"
                raise InvalidInputError(msg)
        if similarity is None or self.name == "superlu":
            self.last = cls(matrix, self.options, **kwargs)
            return self.last
        if np.ptp(h) > SIMILARITY_RANGE:
            logger.info(
                "similarity scaling spans e^%.0f > e^%.0f: SuperLU instead of %s",
                np.ptp(h),
                SIMILARITY_RANGE,
                self.name,
            )
            options = {**self.options, "fallback_from": self.name}
            self.last = _SuperLUFactorization(matrix, options, **kwargs)
            return self.last
        h = h - h.max()
        inner = cls(_symmetrized(matrix, h), self.options, **kwargs)
        self.last = _Similar(inner, h, matrix)
        return self.last

    def __call__(self, matrix: sp.spmatrix, rhs: np.ndarray, **kwargs: Any) -> np.ndarray:
        return self.factorize(matrix, **kwargs).solve(rhs)

    def describe(self) -> dict[str, Any]:
        """Provenance: the backend, its version, what was requested, and the last factor's
        record (ordering, non-zeros, memory, timings) when there is one."""
        out = {
            "backend": self.name,
            "requested": self.requested,
            "kind": self.kind,
            "library_version": _version(self.name),
            "available": list(available_backends()),
        }
        if self.last is not None:
            out.update(self.last.describe())
        return out


def linear_solver(
    name: str = "auto",
    *,
    kind: str = "spd",
    size: int | None = None,
    dim: int | None = None,
    **options: Any,
) -> LinearSolver:
    """The solver factory: a :class:`LinearSolver` chosen by name.

    Parameters
    ----------
    name
        One of :data:`SOLVER_NAMES`.  ``"auto"``: CHOLMOD or PARDISO where installed
        (then SuperLU), and AMG for 3D systems above :data:`AMG_MIN_3D` unknowns
        (:data:`AMG_MIN_3D_FAST` with a supernodal backend) when ``size`` and ``dim``
        are given.
    kind
        ``"spd"`` (symmetric positive definite, or similar to one) or ``"general"``.
    size, dim
        Number of unknowns and space dimension of the problem, for ``"auto"``.
    **options
        Backend options: ``rtol`` (AMG's CG tolerance, default :data:`AMG_RTOL`),
        ``ordering="gan_pde"`` (CHOLMOD on the package's nested dissection rather than
        its own), ``cholmod_ordering`` (CHOLMOD's ``ordering_method``, default
        ``"default"``: AMD or METIS, whichever fills less).

    Raises
    ------
    InvalidInputError
        For an unknown name or kind, or a backend that cannot solve this kind.
    MissingDependencyError
        For a backend that is not installed (the message says how to install it).

    Examples
    --------
    >>> solver = linear_solver("auto")
    >>> solver.name in available_backends()
    True
    >>> linear_solver("superlu", kind="general").describe()["kind"]
    'general'
    """
    if name not in SOLVER_NAMES:
        msg = f"solver={name!r} is not one of {SOLVER_NAMES} (or a LinearSolver)"
        raise InvalidInputError(msg)
    if kind not in KINDS:
        msg = f"kind={kind!r} is not one of {KINDS}"
        raise InvalidInputError(msg)
    chosen = _auto(kind, size, dim) if name == "auto" else name
    if kind == "general" and chosen in ("cholmod", "amg"):
        msg = (
            f"solver={name!r} handles symmetric positive definite matrices only; this system "
            "is unsymmetric: use 'pardiso', 'superlu' or 'auto'"
        )
        raise InvalidInputError(msg)
    if not _importable(chosen):
        msg = f"solver={chosen!r} is not installed: {_EXTRAS[chosen]}"
        raise MissingDependencyError(msg)
    return LinearSolver(chosen, name, kind, options)


def as_linear_solver(
    solver: str | LinearSolver | None,
    *,
    kind: str = "spd",
    size: int | None = None,
    dim: int | None = None,
    default: str = "auto",
) -> LinearSolver:
    """A :class:`LinearSolver` from what a user passed as ``solver=``.

    A name goes through :func:`linear_solver` (None means ``default``); a LinearSolver is
    returned as it is, after checking that it can solve this kind of system.

    Examples
    --------
    >>> as_linear_solver(None, default="superlu").name
    'superlu'
    """
    if solver is None:
        solver = default
    if isinstance(solver, LinearSolver):
        if solver.kind == kind:
            return solver
        # the same backend for the other kind where it can (PARDISO, SuperLU), else auto
        name = solver.name if solver.name in ("pardiso", "superlu") else "auto"
        return linear_solver(name, kind=kind, size=size, dim=dim, **solver.options)
    if not isinstance(solver, str):
        msg = (
            f"solver must be one of {SOLVER_NAMES} or a LinearSolver from "
            f"gan_pde.fem.solvers.linear_solver; got {type(solver).__name__}"
        )
        raise InvalidInputError(msg)
    return linear_solver(solver, kind=kind, size=size, dim=dim)


def check_resumed_backend(arrays: Mapping[str, Any], backend: str, what: str) -> None:
    """Warn when a checkpoint's state names another linear-solver backend than ``backend``.

    Steppers store their backend's name as ``arrays["linear_solver"]``.  Another backend
    solves to the same tolerance, so the continued run is as accurate, but its round-off
    differs from the run the checkpoint came from (:class:`ReproducibilityWarning`, not an
    error: refusing would lose the computed steps).  Checkpoints written before the name
    was stored are taken as they are.
    """
    stored = arrays.get("linear_solver")
    if stored is None:
        return
    stored = str(np.asarray(stored))
    if stored != backend:
        msg = (
            f"{what}: the checkpoint was written with the {stored!r} linear solver and is "
            f"resumed with {backend!r}; the continuation is as accurate, but not bit-identical "
            f"to the run it continues (pass solver={stored!r} for that)"
        )
        warnings.warn(msg, ReproducibilityWarning, stacklevel=3)
