"""Data-driven ξ_min (KDE) and the augmentation study (paper 004, Section 7)."""

from __future__ import annotations

import numpy as np
import pytest

from gan_pde.errors import AccuracyWarning, InvalidInputError
from gan_pde.spectral.augmentation import (
    augment,
    augmentation_study,
    bandwidth_study,
    kde_poincare,
    plot_augmentation_study,
    toy_dataset,
)


def test_bandwidth_limits():
    data = toy_dataset("bimodal-1d", 300, seed=0)
    # h -> 0: spiky KDE, xi_min -> 0: at 5% of Scott's width it falls to the round-off
    # floor of the pencil (~1e-12, flagged with an AccuracyWarning: only "tiny" is
    # meaningful there), against 0.05 at 100%
    with pytest.warns(AccuracyWarning, match="round-off floor"):
        study = bandwidth_study(data, [0.05, 1.0, 40.0])
    assert study.xi_min[0] < 1e-3 * study.xi_min[1]
    # h -> inf: Gaussian with covariance C + h^2; the relative correction is O((C/h^2)^2).
    assert study.xi_min[2] == pytest.approx(study.gaussian_limit[2], rel=1e-3)


def test_scaling_is_exact():
    data = toy_dataset("bimodal-2d", 200, seed=1)
    study = augmentation_study(data, [0.0, 0.5], kinds=("scaling",), cells=24)
    # Rayleigh quotient scales by 1/c^2 and box, mesh and Scott bandwidth scale with the
    # data: exact up to the eigen-solver tolerance (1e-10).
    assert study.xi_min[0, 1] / study.xi_min[0, 0] == pytest.approx(1 / 1.5**2, rel=1e-8)


def test_ranking(tmp_path):
    data = toy_dataset("bimodal-1d", 400, seed=0)
    study = augmentation_study(data, [0.0, 0.5, 1.0], seed=0)
    ratio = dict(zip(study.kinds, study.xi_min[:, -1] / study.baseline, strict=True))
    assert ratio["bridge"] > ratio["noise"] > 1.0 > ratio["translation"] > ratio["scaling"]
    assert np.all(np.diff(study.xi_min[study.kinds.index("bridge")]) > 0)
    assert "bridge" in study.table()
    plot_augmentation_study(study, tmp_path / "aug.png")
    assert (tmp_path / "aug.png").stat().st_size > 0


def test_seeded():
    data = toy_dataset("bimodal-1d", 50, seed=3)
    np.testing.assert_array_equal(
        augment(data, "noise", 1.0, seed=7), augment(data, "noise", 1.0, seed=7)
    )


def test_bad_input():
    with pytest.raises(InvalidInputError, match="finite"):
        kde_poincare(np.array([[0.0], [np.nan], [1.0]]))
    with pytest.raises(InvalidInputError, match="more points than dimensions"):
        kde_poincare(np.array([[0.0, 1.0], [1.0, 2.0]]))
    with pytest.raises(InvalidInputError, match="bandwidth"):
        kde_poincare(np.array([0.0, 1.0, 2.0]), bandwidth=0.0)
    with pytest.raises(InvalidInputError, match="bandwidth"):
        kde_poincare(np.array([0.0, 1.0, 2.0]), bandwidth=-1.0)
    with pytest.raises(InvalidInputError, match="kind"):
        augment(np.array([0.0, 1.0]), "rotate", 1.0)
