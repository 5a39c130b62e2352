r"""The stationary Fokker–Planck equation of a GAN-training SDE by finite elements.

The invariant measure μ* of dγ = b(γ)dt + σ(γ)dW (Theorem 4.1 of paper 000) has a
density p with :math:`\mathcal A^* p = 0`, i.e. zero probability flux

.. math::
    \nabla\cdot\Big(\tfrac12 a\nabla p + (\tfrac12\nabla\cdot a - b)\,p\Big) = 0,
    \qquad a = \sigma\sigma^T, \quad (\nabla\cdot a)_i = \sum_j \partial_j a_{ij},

whose weak form on a box Ω with the natural no-flux boundary condition is
:math:`\int_\Omega (\tfrac12 a\nabla p + (\tfrac12\nabla\cdot a - b)p)\cdot\nabla v\,dx = 0`
for every v.  The discrete operator has the constants in its left kernel, so we border it
with the normalisation :math:`\int_\Omega p\,dx = 1` (a Lagrange multiplier) and solve one
sparse system.  1D and 2D meshes of :mod:`gan_pde.mesh`, P1 or P2.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
import skfem

from gan_pde.errors import InvalidInputError, NumericalBreakdownError
from gan_pde.fem.basis import make_basis, quadrature_points
from gan_pde.fem.solvers import LinearSolver, as_linear_solver

__all__ = ["StationaryDensity", "stationary_fokker_planck"]

Field = Callable[[np.ndarray], np.ndarray]


@skfem.BilinearForm
def _flux_form(u, v, w):
    a, c = w["a"], w["c"]
    dim = c.shape[0]
    total = 0.0
    for i in range(dim):
        flux = c[i] * u
        for j in range(dim):
            flux = flux + 0.5 * a[i, j] * u.grad[j]
        total = total + flux * v.grad[i]
    return total


@skfem.LinearForm
def _unit(v, w):
    return v


@dataclass(frozen=True)
class StationaryDensity:
    """The FEM invariant density p, with its mean and covariance by quadrature.

    Attributes
    ----------
    basis
        The scikit-fem basis; ``values`` are p at its dofs.
    values
        Dof values (∫p = 1).
    mean, covariance
        ∫γ p dγ and ∫(γ − mean)(γ − mean)^T p dγ.
    info
        Provenance of the solve: ``info["linear_solver"]`` (backend, ordering, factor
        size and timings, :meth:`~gan_pde.fem.solvers.Factorization.describe`).
    """

    basis: skfem.CellBasis
    values: np.ndarray
    mean: np.ndarray
    covariance: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)


def stationary_fokker_planck(
    drift: Field,
    diffusion: Field,
    mesh: skfem.Mesh,
    *,
    divergence: Field | None = None,
    element: str = "P1",
    solver: str | LinearSolver | None = None,
) -> StationaryDensity:
    """Solve the stationary Fokker–Planck equation A*p = 0, ∫p = 1 on ``mesh``.

    Parameters
    ----------
    drift
        b: ``(P, d)`` points → ``(P, d)``.
    diffusion
        a = σσ^T: ``(P, d)`` → ``(P, d, d)`` (symmetric positive definite).
    mesh
        A 1D or 2D mesh covering the bulk of μ* (no-flux boundary).
    divergence
        ∇·a: ``(P, d)`` → ``(P, d)``; None for constant a.
    element
        ``"P1"`` or ``"P2"``.
    solver
        The sparse solver of the bordered (unsymmetric) system: ``"superlu"`` (default:
        LU with partial pivoting on the MMD(AᵀA + A) ordering), ``"pardiso"``, ``"auto"``
        (PARDISO where installed) or a :class:`~gan_pde.fem.solvers.LinearSolver`.
        CHOLMOD and AMG need symmetric positive definite matrices and are refused.

    Examples
    --------
    >>> import numpy as np, gan_pde as gp
    >>> ou = stationary_fokker_planck(lambda x: -x, lambda x: np.broadcast_to(
    ...     2 * np.eye(1), (len(x), 1, 1)), gp.mesh.interval(-8.0, 8.0, n=400))
    >>> round(float(ou.covariance[0, 0]), 3)
    1.0
    """
    linear = as_linear_solver(solver, kind="general", default="superlu")
    basis = make_basis(mesh, element)
    dim = mesh.p.shape[0]
    if dim > 2:
        msg = f"mesh must be 1D or 2D for the stationary Fokker–Planck solve; got dimension {dim}"
        raise InvalidInputError(msg)
    points = quadrature_points(basis)
    nel, nqp = mesh.t.shape[1], basis.X.shape[1]
    b = _field(drift, points, (dim,), "drift")
    a = _field(diffusion, points, (dim, dim), "diffusion")
    div = (
        np.zeros_like(b) if divergence is None else _field(divergence, points, (dim,), "divergence")
    )
    c = 0.5 * div - b
    a_q = a.reshape(nel, nqp, dim, dim).transpose(2, 3, 0, 1)
    c_q = c.reshape(nel, nqp, dim).transpose(2, 0, 1)
    matrix = _flux_form.assemble(basis, a=a_q, c=c_q)
    weights = _unit.assemble(basis)
    system = sp.bmat([[matrix, weights[:, None]], [weights[None, :], None]], format="csc")
    rhs = np.zeros(basis.N + 1)
    rhs[-1] = 1.0
    factor = linear.factorize(system)
    solution = factor.solve(rhs)
    values = solution[:-1]
    if not np.all(np.isfinite(values)):
        msg = "the stationary Fokker–Planck system is singular (is the diffusion degenerate?)"
        raise NumericalBreakdownError(msg)
    density = basis.interpolate(values)
    dx = basis.dx
    xq = basis.mapping.F(basis.X)
    mean = np.array([np.sum(xq[i] * density * dx) for i in range(dim)])
    cov = np.array(
        [
            [np.sum((xq[i] - mean[i]) * (xq[j] - mean[j]) * density * dx) for j in range(dim)]
            for i in range(dim)
        ]
    )
    return StationaryDensity(basis, values, mean, cov, {"linear_solver": factor.describe()})


def _field(function: Field, points: np.ndarray, shape: tuple[int, ...], name: str) -> np.ndarray:
    values = np.asarray(function(points), dtype=float)
    expected = (points.shape[0], *shape)
    if values.shape != expected:
        msg = f"{name} must map (P, d) points to shape {expected}; got {values.shape}"
        raise InvalidInputError(msg)
    if not np.all(np.isfinite(values)):
        msg = f"{name} returned NaN/Inf at quadrature points"
        raise InvalidInputError(msg)
    return values
