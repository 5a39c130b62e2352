"""Certified Poincaré constants: estimator, Dörfler marking, adaptivity, bounds."""

from __future__ import annotations

import numpy as np
import pytest
import skfem

import gan_pde as gp
from gan_pde.errors import InvalidInputError
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
