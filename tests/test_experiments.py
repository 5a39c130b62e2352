"""The network-vs-PDE experiments of gan_pde.compare.experiments at small size."""

from __future__ import annotations

import numpy as np
import pytest

import gan_pde as gp
from gan_pde.errors import InvalidInputError

torch = pytest.importorskip("torch")

from gan_pde.compare.experiments import (  # noqa: E402
    jsd_comparison,
    lsgan_comparison,
    measured_decay_rate,
    rankings_agree,
    wgan_comparison,
)


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def jsd():
    torch.set_num_threads(1)
    return jsd_comparison(
        steps=20,
        epsilon=0.1,
        n_particles=300,
        discriminator_steps=3,
        particle_counts=(100, 400),
        discriminator_step_counts=(1, 5),
        epsilons=(0.2, 0.1),
        batch_size=128,
        n_data=5000,
        hidden=(16,),
        device="cpu",
    )


def test_jsd_comparison_gan_equals_particles_and_gradient_identity(jsd):
    # the GAN algorithm on the table with η_G = εN/2 and Algorithm 2 are the same iteration:
    # equal up to round-off accumulated over 20 steps of O(1) positions
    assert jsd.gan_minus_particles < 1e-12
    # the two sides of the last Proposition: float64 round-off of the gradient sums
    assert jsd.gradient_identity < 1e-13


def test_jsd_comparison_distances(jsd):
    # all runs start from the same sample (particles) or the same law (network generator):
    # W1 at t = 0 is the sampling error only, equal for the table-based runs
    assert jsd.w1["particles"][0] == jsd.w1["fem_particles"][0]
    # FEM-driven particles carry only the O(N^-1/2) sampling error (N = 300: ~0.05-0.1)
    assert jsd.w1["fem_particles"].max() < 0.15
    # networks add the discriminator error: more, but bounded by the distance the flow moves
    moved = gp.flows.wasserstein_1d(
        gp.Gaussian(mean=[0.0], cov=[[1.0]]).sample(20000, rng=np.random.default_rng(0))[:, 0],
        jsd.trajectory.densities[-1],
    )
    for name in ("particles", "gan", "algorithm2"):
        assert np.all(np.isfinite(jsd.w1[name]))
        assert jsd.w1[name][-1] < moved + 0.1
    # the flow decreases the JSD to the target monotonically (paper 002)
    assert np.all(np.diff(jsd.jsd_to_target) < 0)
    # the study: more discriminator steps track the flow better (1 vs 5 steps)
    by_dsteps = jsd.study["discriminator_steps"]["mean_w1"]
    assert by_dsteps[1] < by_dsteps[0]
    assert set(jsd.study) == {"n_particles", "discriminator_steps", "epsilon"}
    summary = jsd.summary()
    assert summary["times"][-1] == pytest.approx(2.0)


def test_lsgan_ranking_agrees_with_lgan_on_separation_3():
    # five settings of paper 004's Figure 1; the measured rates of ||D||^2 must order every
    # pair of settings whose predicted η differ by more than 10% of the largest as η does
    result = lsgan_comparison(3.0, t_final=15.0, device="cpu")
    assert result.ranking_agrees, (result.predicted_rates, result.measured_rates)
    # WGAN conserves the lGAN energy: η = 0, measured within the 0.05 of its drift
    assert abs(result.measured_rates[0]) < 0.05
    # LSGAN (0.25, −0.5, 0) is a complex pair with Re λ = −α/2 = −0.125; the Galerkin model
    # and the finite window give it within a factor 2
    assert -0.25 < result.measured_rates[3] < -0.06
    assert result.summary()["names"][0] == "WGAN"


def test_measured_decay_rate_and_rankings():
    t = np.linspace(0.0, 30.0, 601)
    # an oscillating exp(2ηt) with η = −0.2: the envelope removes the cos²
    d2 = np.exp(-0.4 * t) * np.cos(0.7 * t) ** 2 + 1e-30
    assert measured_decay_rate(t, d2) == pytest.approx(-0.2, abs=0.01)
    assert rankings_agree([0.0, -0.1, -0.5], [0.0, -0.2, -0.1]) == (False, [(1, 2)])
    with pytest.raises(InvalidInputError, match="d_norm2"):
        measured_decay_rate(t, d2[:-1])
    # a record that only grows has no decay window
    assert np.isnan(measured_decay_rate(t, np.exp(t)))


def test_experiment_bad_input():
    with pytest.raises(InvalidInputError, match="separation"):
        lsgan_comparison(0.0)
    with pytest.raises(InvalidInputError, match="tau"):
        lsgan_comparison(3.0, tau=1.0, t_final=0.5)
    with pytest.raises(InvalidInputError, match="1D"):
        jsd_comparison(target=gp.Gaussian(mean=[0.0, 0.0], cov=np.eye(2)))
    with pytest.raises(InvalidInputError, match="Gaussian"):
        jsd_comparison(initial=gp.GaussianMixture(means=[[0.0]], stds=[1.0], weights=[1.0]))
    with pytest.raises(InvalidInputError, match="steps"):
        jsd_comparison(steps=0)
    with pytest.raises(InvalidInputError, match="widths"):
        wgan_comparison(widths=(1,))
    with pytest.raises(InvalidInputError, match="WGANMeanField"):
        wgan_comparison(model="not a model")


def test_wgan_laws_approach_the_mean_field_with_n():
    # early times (t <= 1): W2 between the empirical neuron laws and the PDE laws is the
    # Monte-Carlo error of N draws, ~N^-1/2; the fitted slope over N = 25..400 must be below
    # -0.25 (measured -0.41/-0.44 at t <= 2; the PDE's own O(h) error sets a floor later)
    result = wgan_comparison(widths=(25, 100, 400), t_final=1.0, saves=3, device="cpu")
    for name, slope in result.slopes.items():
        assert slope < -0.25, (name, slope, result.w2[name])
    assert set(result.w2) == {"mu/alpha", "nu/a"}
    assert result.summary()["widths"] == [25, 100, 400]


def test_wgan_wall_concentration_in_both():
    # clipping piles the critic's a-law on the wall a = 1: the PDE's wall-layer mass grows
    # from 0 and the trained neurons follow it (within 0.15: Monte-Carlo error of 200
    # neurons ~0.035 plus the PDE's first-order upwind smearing of the layer)
    result = wgan_comparison(widths=(200,), t_final=7.0, saves=3, device="cpu")
    assert result.wall_pde[0] < 1e-3 and result.wall_pde[-1] > 0.2  # tail of nu_in: 5e-6
    assert np.all(np.diff(result.wall_pde) >= 0.0)
    assert abs(result.wall_networks[0, -1] - result.wall_pde[-1]) < 0.15
    assert np.isnan(result.slopes["mu/alpha"])
