"""Ensembles trained in one vmapped call equal a loop of single runs (float64 round-off)."""

from __future__ import annotations

import numpy as np
import pytest

import gan_pde as gp
from gan_pde.errors import InvalidInputError

torch = pytest.importorskip("torch")

from gan_pde.nn import (  # noqa: E402
    MLP,
    FeatureNet,
    ParticleGenerator,
    train_algorithm2,
    train_ensemble,
    train_gan,
    train_lsgan,
    train_particles,
    train_wgan,
)

TARGET = gp.Gaussian(mean=[1.0], cov=[[1.0]])
START = gp.Gaussian(mean=[0.0], cov=[[1.0]])
X0 = START.sample(40, rng=np.random.default_rng(0))
DATA = TARGET.sample(60, rng=np.random.default_rng(1))
RUNS = 3


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


CASES = {
    "gan": (
        train_gan,
        (TARGET,),
        dict(
            discriminator=MLP(1, 1, hidden=(8,)),
            generator=MLP(1, 1, hidden=(8,)),
            optimizer="adam",
            lr_discriminator=0.01,
            lr_generator=0.01,
        ),
    ),
    "algorithm2": (
        train_algorithm2,
        (TARGET,),
        dict(
            epsilon=0.1,
            generator_steps=2,
            discriminator=MLP(1, 1, hidden=(8,)),
            generator=MLP(1, 1, hidden=(8,)),
        ),
    ),
    "particles": (
        train_particles,
        (TARGET, X0),
        dict(epsilon=0.1, discriminator_steps=2, discriminator=MLP(1, 1, hidden=(8,))),
    ),
    "wgan": (train_wgan, (TARGET,), dict(width=12, critic_steps=2, h=2.0)),
    "lsgan": (
        train_lsgan,
        (DATA,),
        dict(
            alpha=0.25,
            beta=-0.5,
            gamma=0.5,
            latent="data",
            integrator="heun",
            lr=0.05,
            discriminator=FeatureNet(np.linspace(-2, 4, 6), bandwidth=1.2, data=DATA),
            generator=ParticleGenerator(DATA + 0.2),
            generator_speed=60.0,
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_ensemble_equals_loop_of_single_runs(name):
    # member r of the vmapped ensemble and the single run with seed + r draw the same numbers;
    # batched matrix products may sum in another order: relative round-off 1e-12 after 15
    # steps of these contracting/bounded dynamics
    train, args, options = CASES[name]
    common = dict(steps=15, batch_size=16, n_data=100, device="cpu", seed=7)
    if name == "lsgan":
        common.update(batch_size=None, n_eval=60)
    if name in ("gan", "algorithm2", "wgan"):
        common["n_eval"] = 30
    ensemble = train_ensemble(name, RUNS, *args, **options, **common)
    assert ensemble.runs == RUNS
    for r in range(RUNS):
        single = train(*args, **options, **{**common, "seed": 7 + r, "data_seed": 7})
        member = ensemble.member(r)
        assert member.seed == single.seed
        np.testing.assert_allclose(member.samples, single.samples, rtol=1e-12, atol=1e-12)
        for key in single.parameters:
            np.testing.assert_allclose(
                member.parameters[key], single.parameters[key], rtol=1e-12, atol=1e-12
            )
        for key in single.losses:
            np.testing.assert_allclose(
                member.losses[key], single.losses[key], rtol=1e-12, atol=1e-12
            )
    # the members are independent runs, not copies (except lsgan: deterministic full batch)
    if name != "lsgan":
        assert not np.allclose(ensemble.samples[0], ensemble.samples[1])


def test_lsgan_settings_as_an_ensemble():
    # several (α, β, γ) in one vmapped call == separate single runs with each setting
    options = dict(
        latent="data",
        integrator="rk4",
        lr=0.05,
        steps=10,
        batch_size=None,
        discriminator=FeatureNet(np.linspace(-2, 4, 6), bandwidth=1.2, data=DATA),
        generator=ParticleGenerator(DATA + 0.2),
        generator_speed=60.0,
        device="cpu",
        n_eval=60,
    )
    settings = [(0.0, -1.0, 0.0), (0.25, -0.5, 0.0), (0.5, 1.0, 2.0)]
    a, b, g = (list(v) for v in zip(*settings, strict=True))
    ensemble = train_lsgan(DATA, alpha=a, beta=b, gamma=g, runs=3, **options)
    for r, (alpha, beta, gamma) in enumerate(settings):
        single = train_lsgan(
            DATA, alpha=alpha, beta=beta, gamma=gamma, seed=r, data_seed=0, **options
        )
        np.testing.assert_allclose(
            ensemble.losses["d_norm2"][r], single.losses["d_norm2"], rtol=1e-12, atol=1e-18
        )


def test_ensemble_bad_input():
    with pytest.raises(InvalidInputError, match="algorithm"):
        train_ensemble("vae", 2, TARGET)
    with pytest.raises(InvalidInputError, match="runs"):
        train_ensemble("gan", 0, TARGET)
    with pytest.raises(InvalidInputError, match="runs"):
        train_ensemble("gan", 2, TARGET, runs=3)
    with pytest.raises(InvalidInputError, match="ensemble member"):
        train_gan(TARGET, steps=2, n_data=20, n_eval=5, device="cpu").member(0)


def test_ensemble_with_spectral_norm_equals_loop():
    # the exact spectral norm (svdvals) is vmapped too
    options = dict(
        discriminator=MLP(1, 1, hidden=(8, 8), spectral_norm=True),
        generator=MLP(1, 1, hidden=(8,)),
        steps=5,
        n_data=100,
        n_eval=10,
        batch_size=16,
        device="cpu",
    )
    ensemble = train_ensemble("gan", 2, TARGET, **options)
    single = train_gan(TARGET, **options, seed=1, data_seed=0)
    np.testing.assert_allclose(ensemble.member(1).samples, single.samples, rtol=1e-12, atol=1e-12)
