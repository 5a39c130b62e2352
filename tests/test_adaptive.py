"""Certified Poincaré constants: estimator, Dörfler marking, adaptivity, bounds."""

from __future__ import annotations

import numpy as np
import pytest
import skfem

import gan_pde as gp
from gan_pde.errors import InvalidInputError, NumericalBreakdownError
from gan_pde.spectral.adaptive import (
    adaptive_poincare,
    certified_poincare,
    crouzeix_raviart_lower_bound,
    dorfler_mark,
    fitted_rate,
    truncation_box,
)

LSHAPE = 1.4756218241  # first non-zero Neumann eigenvalue of the L-shape (singular mode)
UNIFORM = gp.Uniform([-1.0, -1.0], [1.0, 1.0])


def test_dorfler_marks_the_bulk():
    marked = dorfler_mark(np.array([1.0, 5.0, 2.0, 2.0]), theta=0.6)
    assert marked.tolist() == [1, 2]
    assert dorfler_mark(np.ones(4), theta=1.0).tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("element", ["P1", "P2"])
def test_lshape_adaptive_beats_uniform(element):
    results = {
        uniform: adaptive_poincare(
            UNIFORM,
            skfem.MeshTri1.init_lshaped(),
            element=element,
            tol=1e-12,
            max_dofs=12_000,
            uniform=uniform,
        )
        for uniform in (False, True)
    }
    rates = {}
    for uniform, result in results.items():
        errors = result.history["xi_min"] - LSHAPE
        assert np.all(errors > 0)  # conforming: upper bounds
        rates[uniform] = fitted_rate(result.history["n_dofs"][-4:], errors[-4:])
        # The estimator overestimates by a roughly constant factor (~25) on this problem.
        effectivity = errors[-1] / result.history["estimator"][-1]
        assert 0.01 < effectivity < 1.0
    # Uniform refinement: singular r^{2/3} mode, error ~ N^{-2/3} for P1 and P2.
    assert -0.8 < rates[True] < -0.6
    # Adaptive: the optimal rates N^{-p} (p = 1 for P1, 2 for P2); tolerance 0.15 for the
    # pre-asymptotic spread of four points.
    assert rates[False] == pytest.approx(-float(element[1]), abs=0.15)
    final = {u: r.history["xi_min"][-1] - LSHAPE for u, r in results.items()}
    assert final[False] < 0.2 * final[True]


def test_lshape_lower_bound_is_guaranteed():
    result = adaptive_poincare(UNIFORM, skfem.MeshTri1.init_lshaped(), tol=1e-5)
    assert result.converged
    assert result.lower_bound is not None
    assert result.lower_bound < LSHAPE < result.xi_min
    assert np.all(result.history["lower_bound"] < LSHAPE)


def test_crouzeix_raviart_unit_square():
    mesh = skfem.MeshTri1.init_tensor(np.linspace(0, 1, 9), np.linspace(0, 1, 9))
    assert crouzeix_raviart_lower_bound(mesh) < np.pi**2


def test_gaussian_mixture_upper_bound_and_estimate():
    rho = gp.GaussianMixture(means=[[-2.0], [2.0]], stds=[1.0, 1.0])
    reference = gp.weighted_laplacian_spectrum(
        rho, gp.mesh.interval(-12, 12, n=1200), k=3, element="P2"
    ).poincare_constant
    result = adaptive_poincare(rho, gp.mesh.interval(-12.0, 12.0, n=8), tol=1e-8)
    assert result.converged
    assert result.lower_bound is None  # no guaranteed lower bound for a non-uniform weight
    # Rayleigh upper bound with raised quadrature: above the reference up to its own error
    # (the reference itself is ~3e-11 high: P2 on 1200 cells).
    assert result.upper_bound >= reference - 1e-10
    assert abs(result.xi_min - reference) <= result.error_estimate + 1e-10


def test_truncation_effect_below_tolerance():
    rho = gp.GaussianMixture(means=[[-2.0, 0.0], [2.0, 0.5]], stds=[1.0, 0.7])
    result = certified_poincare(rho, tol=1e-4, tail=18.0, tail_step=6.0, max_dofs=20_000)
    assert result.truncation_effect < 1e-4 * result.xi_min
    assert np.all(result.larger_box[:, 0] <= result.box[:, 0])


def test_truncation_box_gaussian():
    box = truncation_box(gp.Gaussian(mean=[0.0], cov=[[1.0]]), tail=8.0)
    assert box[0, 1] >= 4.0 and box[0, 0] <= -4.0


def test_bad_input():
    rho = gp.Gaussian(mean=[0.0], cov=[[1.0]])
    with pytest.raises(InvalidInputError, match="tol"):
        adaptive_poincare(rho, gp.mesh.interval(-8, 8, n=8), tol=0.0)
    with pytest.raises(InvalidInputError, match="simplex"):
        adaptive_poincare(
            gp.Gaussian(mean=[0.0, 0.0], cov=np.eye(2)),
            gp.mesh.rectangle((-6, 6), (-6, 6), n=4, cell="quad"),
        )
    with pytest.raises(InvalidInputError, match="theta"):
        dorfler_mark(np.ones(3), theta=0.0)
    with pytest.raises(InvalidInputError, match="tail"):
        truncation_box(rho, tail=-1.0)


@pytest.mark.parametrize(("element", "cells", "tol"), [("P1", 17, 1.3e-5), ("P2", 20, 2e-8)])
def test_error_bar_covers_quadrature_when_eigenfunction_is_in_the_space(element, cells, tol):
    # Found by the stress campaign (benchmarks/stress/stress_xi_certified.py): the ξ_1 mode
    # of a Gaussian is linear, so η² ~ 0 on the first mesh and the loop stopped there, with
    # ξ_h *below* ξ_1 = 1/σ² by the quadrature error of the weight (7e-5 relative for P1 on
    # 17 cells; 4e-5 still with every cell at oscillation <= 0.5) outside the error bar.
    # Now the quadrature effect |ξ_h − R(w_h)| is measured and part of the estimate.
    sigma = 1.8761405789307903
    rho = gp.Gaussian(mean=[-1.07], cov=[[sigma**2]])
    mesh = gp.mesh.interval(-1.07 - 7.08 * sigma, -1.07 + 7.08 * sigma, n=cells)
    result = adaptive_poincare(rho, mesh, element=element, tol=tol)
    exact = 1 / sigma**2  # truncation at 7 sigma: ~1e-10 relative for the linear mode
    assert result.converged
    assert abs(result.xi_min - exact) <= result.error_estimate + 1e-10 * exact
    assert result.error_estimate <= tol * result.xi_min
    assert result.upper_bound >= exact * (1 - 1e-10)


def test_first_mesh_too_coarse_for_a_definite_mass_matrix_is_refined():
    # Found by the stress campaign: 4x4 squares (32 triangles) over +-7.4 standard
    # deviations of a rotated Gaussian; ln(rho) varies by 31 over the cell holding the
    # mode, and the P1 triangle rule of degree 3 has a negative weight (-27/96), so the
    # weighted mass matrix is indefinite and the first solve broke down
    # (NumericalBreakdownError) although adaptive_poincare refines coarse first meshes.
    sigmas = np.array([0.9540305175624948, 1.9887298010366747])
    c, s = np.cos(1.2), np.sin(1.2)
    rot = np.array([[c, -s], [s, c]])
    cov = rot @ np.diag(sigmas**2) @ rot.T
    half = 7.36 * np.sqrt(np.diag(cov))
    mesh = gp.mesh.rectangle((-half[0], half[0]), (-half[1], half[1]), n=4)
    with pytest.raises(NumericalBreakdownError):  # what the loop now recovers from
        gp.weighted_laplacian_spectrum(
            gp.Gaussian(mean=[0.0, 0.0], cov=cov), mesh, k=4, max_log_variation=None
        )
    result = adaptive_poincare(
        gp.Gaussian(mean=[0.0, 0.0], cov=cov), mesh, element="P1", tol=1.7e-3
    )
    exact = 1 / sigmas.max() ** 2  # truncation at 7.4 sigma: < 1e-8 relative
    assert result.converged
    assert abs(result.xi_min - exact) <= result.error_estimate + 1e-8 * exact
