r"""Newton's method with line search, on a sparsity pattern fixed once.

A nonlinear finite-element residual :math:`F(x) = 0` (or the gradient of a convex energy
:math:`E`) is solved by

.. math::

    J(x_k)\,\delta_k = -F(x_k), \qquad x_{k+1} = x_k + t_k\,\delta_k ,

with the step :math:`t_k` chosen by backtracking: Armijo's condition
:math:`E(x_k + t\delta_k) \le E(x_k) + c\,t\,F(x_k)\cdot\delta_k` when an energy is given
(then Newton converges from any start for a strictly convex E), otherwise a decrease of
:math:`\|F\|`.  The Jacobian's sparsity pattern never changes, so it is built once
(:class:`CSRPattern`) and each iteration only sums the new element contributions into the
fixed CSR ``data`` array with a precomputed scatter map, instead of re-sorting the COO
triplets (scikit-fem's own ``assemble`` also drops explicit zeros, so its pattern could
change between iterations).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import skfem

from gan_pde.errors import InvalidInputError, NotConvergedError, NumericalBreakdownError

__all__ = ["CSRPattern", "NewtonResult", "newton", "sparse_direct_solve"]

logger = logging.getLogger(__name__)

#: Largest forcing term of an inexact linear solve (relative weighted residual).
_FORCING_MAX = 1e-4


@dataclass(frozen=True)
class CSRPattern:
    """A fixed CSR sparsity pattern and the scatter map of raw COO triplets into it.

    Examples
    --------
    >>> import numpy as np, skfem
    >>> from skfem.models import laplace
    >>> basis = skfem.Basis(skfem.MeshLine(np.linspace(0, 1, 5)), skfem.ElementLineP1())
    >>> pattern = CSRPattern.from_form(laplace, basis)
    >>> K = pattern.assemble(laplace, basis)
    >>> bool(np.allclose(K.toarray(), laplace.assemble(basis).toarray()))
    True
    """

    shape: tuple[int, int]
    indptr: np.ndarray
    indices: np.ndarray
    slot: np.ndarray = field(repr=False)

    @classmethod
    def from_triplets(cls, rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]):
        """Pattern of the (possibly repeated) entries ``(rows[i], cols[i])``."""
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        keys = rows * shape[1] + cols
        unique, slot = np.unique(keys, return_inverse=True)
        unique_rows = unique // shape[1]
        indptr = np.zeros(shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(unique_rows, minlength=shape[0]), out=indptr[1:])
        indices = (unique % shape[1]).astype(np.int32)
        return cls(shape=shape, indptr=indptr.astype(np.int32), indices=indices, slot=slot)

    @classmethod
    def from_form(cls, form: skfem.BilinearForm, basis: skfem.CellBasis, **kwargs):
        """Pattern of a bilinear form on a basis (all element couplings, zeros included)."""
        coo = form.coo_data(basis, **kwargs)
        return cls.from_triplets(coo.indices[0], coo.indices[1], coo.shape)

    @property
    def nnz(self) -> int:
        """Number of stored entries."""
        return int(self.indices.size)

    def matrix(self, raw_data: np.ndarray) -> sp.csr_matrix:
        """CSR matrix whose entries are the sums of ``raw_data`` over repeated triplets."""
        data = np.bincount(self.slot, weights=raw_data, minlength=self.nnz)
        return sp.csr_matrix((data, self.indices, self.indptr), shape=self.shape, copy=False)

    def assemble(self, form: skfem.BilinearForm, basis: skfem.CellBasis, **kwargs):
        """Assemble ``form`` on ``basis`` into this pattern (same triplet order required)."""
        return self.matrix(form.coo_data(basis, **kwargs).data)


@dataclass(frozen=True)
class NewtonResult:
    """Outcome of :func:`newton`.

    Attributes
    ----------
    x
        The solution.
    iterations
        Number of Newton steps taken.
    residual_norms
        :math:`\\|F(x_k)\\|_2` for k = 0..iterations.
    step_lengths
        Line-search step length :math:`t_k` of each iteration.
    converged
        Whether the tolerance was met (if not, :func:`newton` raised unless told not to).
    at_roundoff
        True when Newton stopped because its step fell below ``xtol`` or its residual
        stagnated below ``stagnation_atol`` (residual at its round-off floor) rather than by
        meeting the residual tolerance; ``residual_norms[-1]`` is then the attained accuracy.
    """

    x: np.ndarray
    iterations: int
    residual_norms: np.ndarray
    step_lengths: np.ndarray
    converged: bool
    at_roundoff: bool = False


def sparse_direct_solve(matrix: sp.spmatrix, rhs: np.ndarray) -> np.ndarray:
    """Sparse LU solve with the MMD(AᵀA + A) ordering (faster than scipy's default)."""
    return spla.splu(sp.csc_matrix(matrix), permc_spec="MMD_AT_PLUS_A").solve(rhs)


def newton(
    residual: Callable[[np.ndarray], np.ndarray],
    jacobian: Callable[[np.ndarray], sp.spmatrix],
    x0: np.ndarray,
    *,
    energy: Callable[[np.ndarray], float] | None = None,
    rtol: float = 1e-10,
    atol: float = 1e-14,
    xtol: float = 1e-10,
    max_iter: int = 50,
    max_backtracks: int = 40,
    armijo: float = 1e-4,
    linear_solve: Callable[[sp.spmatrix, np.ndarray], np.ndarray] = sparse_direct_solve,
    raise_on_failure: bool = True,
    scale: np.ndarray | None = None,
    stagnation_atol: float | None = None,
    polish: bool = False,
) -> NewtonResult:
    r"""Solve :math:`F(x) = 0` by Newton's method with backtracking line search.

    Parameters
    ----------
    residual, jacobian
        :math:`F(x)` and its Jacobian (sparse; build it on a :class:`CSRPattern` to reuse
        the sparsity pattern between iterations).
    x0
        Initial guess.
    energy
        Optional convex energy with :math:`\nabla E = F`.  If given, the line search enforces
        Armijo decrease of E (global convergence for strictly convex E); if not, it
        enforces decrease of :math:`\|F\|_2`.
    rtol, atol
        Stop when :math:`\|F(x_k)\| \le \max(\text{atol}, \text{rtol}\,\|F(x_0)\|)`.
    xtol
        Also stop, after taking the step, when a Newton step is at most
        :math:`\text{xtol}\,(1 + \|x\|_\infty)` in the max norm: with quadratic
        convergence the new iterate's error is O(step²), far below round-off, while the
        residual may sit on a round-off floor above the rtol target (ill-conditioned
        Jacobians, e.g. large implicit steps).  ``at_roundoff`` records this exit.
    max_iter, max_backtracks, armijo
        Iteration limits and the Armijo constant c.
    linear_solve
        ``linear_solve(J, b)`` returns :math:`J^{-1}b` (default: sparse LU).  An inexact
        solver marks itself with an attribute ``inexact = True``; it is then called as
        ``linear_solve(J, b, rtol=eta, weights=w)`` and must return x with
        :math:`\|w(b - Jx)\|_2 \le \eta\,\|w b\|_2`, w the weights of ``scale``.  The
        forcing term is :math:`\eta_k = \min(10^{-4}, \|F_k\|_w/\sqrt n)`, raised to
        :math:`0.1\,\text{target}/\|F_k\|_w` when that is larger: Eisenstat and
        Walker's condition for quadratic convergence (:math:`\eta_k = O(\|F_k\|)`),
        measured in the same weighted norm as the stopping test, and never more accurate
        than the last iteration needs.
    raise_on_failure
        Raise :class:`~gan_pde.errors.NotConvergedError` if not converged (default);
        otherwise return the last iterate with ``converged=False``.
    scale
        Optional positive per-equation scales: the tolerances and the line search then use
        :math:`\|F/\text{scale}\|_2` instead of :math:`\|F\|_2` (the Newton direction is
        unchanged, and it is a descent direction for every such weighted norm).  Use it when
        the equations' sizes differ by orders of magnitude, so that the small ones are
        resolved too.
    stagnation_atol
        Accept a residual that stagnates: when three consecutive iterations have reduced
        it by less than a factor 2 altogether and it is at most ``stagnation_atol``,
        Newton stops with ``at_roundoff=True`` (the residual is at the floor that round-off
        in its evaluation allows).  Above it, ten iterations that reduce the residual by
        less than a factor 2 raise :class:`~gan_pde.errors.NotConvergedError` at once
        (Newton with a line search that crawls will not converge in the remaining
        iterations; the caller can retry with a smaller step).  None: only the tolerances
        and ``xtol`` stop it.
    polish
        If the start already meets the tolerance, still take one Newton step (kept only
        if its residual is finite and at most the larger of the start's and the target)
        instead of returning the start untouched.  The tolerance bounds a norm over all
        equations, so a start that meets it (e.g. the previous time step's solution of a
        nearly stationary problem) can leave single equations at √n times the target; a
        step from there, with the forcing term the stopping rule allows, brings them to
        their round-off floor.  One linear solve, only when the start is accepted.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> res = newton(lambda x: x**3 - 8.0, lambda x: sp.diags(3 * x**2), np.array([1.0]))
    >>> float(res.x[0]), res.converged
    (2.0, True)
    """
    if not (rtol >= 0 and atol >= 0 and max_iter >= 1 and 0 < armijo < 0.5):
        msg = (
            f"invalid Newton options rtol={rtol}, atol={atol}, max_iter={max_iter}, "
            f"armijo={armijo}: need rtol, atol >= 0, max_iter >= 1, 0 < armijo < 0.5"
        )
        raise InvalidInputError(msg)
    x = np.array(x0, dtype=float, copy=True)
    weights = 1.0
    if scale is not None:
        scale = np.asarray(scale, dtype=float)
        if not (np.all(np.isfinite(scale)) and np.all(scale > 0)):
            msg = "scale must be positive and finite"
            raise InvalidInputError(msg)
        weights = 1.0 / scale
    f = _finite(residual(x), "residual", 0)
    norms = [float(np.linalg.norm(f * weights))]
    steps: list[float] = []
    target = max(atol, rtol * norms[0])
    e = energy(x) if energy is not None else None
    stalled = False
    inexact = bool(getattr(linear_solve, "inexact", False))
    size = max(1, np.size(x))
    if polish and norms[-1] <= target:
        if inexact:
            direction = linear_solve(
                jacobian(x), -f, rtol=0.1, weights=np.broadcast_to(weights, f.shape)
            )
        else:
            direction = linear_solve(jacobian(x), -f)
        trial = x + _finite(direction, "Newton direction", 0)
        f_trial = residual(trial)
        norm = float(np.linalg.norm(f_trial * weights))
        if np.all(np.isfinite(f_trial)) and norm <= max(norms[-1], target):
            x, f = trial, f_trial
            norms.append(norm)
            steps.append(1.0)
    while norms[-1] > target and len(steps) < max_iter:
        if (
            stagnation_atol is not None
            and len(norms) >= 4
            and norms[-1] <= stagnation_atol
            and norms[-1] > 0.5 * norms[-4]
        ):
            stalled = True
            break
        if stagnation_atol is not None and len(norms) > 10 and norms[-1] > 0.5 * norms[-11]:
            msg = (
                f"Newton stalls at iteration {len(steps)}: |F| = {norms[-1]:.3e} fell by less "
                f"than a factor 2 in 10 iterations, far above the accepted floor "
                f"{stagnation_atol:.3e}"
            )
            raise NotConvergedError(msg)
        if inexact:
            eta = min(_FORCING_MAX, norms[-1] / np.sqrt(size))
            eta = max(eta, 0.1 * target / norms[-1])
            direction = linear_solve(
                jacobian(x), -f, rtol=eta, weights=np.broadcast_to(weights, f.shape)
            )
        else:
            direction = linear_solve(jacobian(x), -f)
        delta = _finite(direction, "Newton direction", len(steps))
        if np.abs(delta).max() <= xtol * (1.0 + np.abs(x).max()):
            x = x + delta
            f = _finite(residual(x), "residual", len(steps) + 1)
            norms.append(float(np.linalg.norm(f * weights)))
            steps.append(1.0)
            stalled = True
            break
        slope = float(f @ delta)  # used only with an energy (Armijo on E)
        t = 1.0
        for _ in range(max_backtracks):
            trial = x + t * delta
            f_trial = residual(trial)
            if np.all(np.isfinite(f_trial)):
                if energy is not None:
                    e_trial = energy(trial)
                    if np.isfinite(e_trial) and e_trial <= e + armijo * t * slope:
                        break
                elif np.linalg.norm(f_trial * weights) <= (1.0 - armijo * t) * norms[-1]:
                    break
            t *= 0.5
        else:
            msg = (
                f"Newton line search failed at iteration {len(steps)}: no decrease after "
                f"{max_backtracks} halvings (|F| = {norms[-1]:.3e})"
            )
            raise NotConvergedError(msg)
        x, f = trial, f_trial
        if energy is not None:
            e = e_trial
        norms.append(float(np.linalg.norm(f * weights)))
        steps.append(t)
        logger.debug("newton %d: |F| = %.3e, step %.3g", len(steps), norms[-1], t)
    converged = norms[-1] <= target or stalled
    if not converged and raise_on_failure:
        msg = (
            f"Newton did not converge in {max_iter} iterations: |F| = {norms[-1]:.3e} > "
            f"{target:.3e}"
        )
        raise NotConvergedError(msg)
    return NewtonResult(
        x=x,
        iterations=len(steps),
        residual_norms=np.array(norms),
        step_lengths=np.array(steps),
        converged=converged,
        at_roundoff=stalled,
    )


def _finite(value: np.ndarray, what: str, iteration: int) -> np.ndarray:
    value = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(value)):
        msg = f"the {what} contains NaN/Inf at Newton iteration {iteration}"
        raise NumericalBreakdownError(msg)
    return value
