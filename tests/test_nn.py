"""gan_pde.nn trainers: device selection, seeding, the algorithms of papers 002/004/001."""

from __future__ import annotations

import functools
import subprocess
import sys

import numpy as np
import pytest

import gan_pde as gp
from gan_pde.errors import InvalidInputError, MissingDependencyError

torch = pytest.importorskip("torch")

from gan_pde.nn import (  # noqa: E402
    MLP,
    FeatureNet,
    ParticleGenerator,
    TrainingError,
    TrainingRun,
    gradient_identity,
    ode_velocity,
    select_device,
    train_algorithm2,
    train_gan,
    train_lsgan,
    train_particles,
    train_wgan,
)
from gan_pde.nn._torch import make_generator, require_torch  # noqa: E402

TARGET = gp.Gaussian(mean=[1.0], cov=[[1.0]])
START = gp.Gaussian(mean=[0.0], cov=[[1.0]])
DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _small_gan(**kw):
    options = dict(steps=30, batch_size=32, n_data=200, n_eval=50, device="cpu")
    options.update(kw)
    return train_gan(
        TARGET, discriminator=MLP(1, 1, hidden=(8,)), generator=MLP(1, 1, hidden=(8,)), **options
    )


# --- import and device -----------------------------------------------------------------


def test_import_gan_pde_and_nn_do_not_import_torch():
    code = "import sys, gan_pde, gan_pde.nn; gan_pde.nn.__all__; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_missing_torch_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'gan_pde\[torch\]'"):
        require_torch()


def test_device_selection():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert select_device(None).type == expected
    assert select_device("cpu").type == "cpu"
    with pytest.raises(InvalidInputError, match="device must be one of"):
        select_device("tpu")
    with pytest.raises(InvalidInputError, match="device must be one of"):
        select_device("mps")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without a GPU")
def test_cuda_without_gpu_is_a_clear_error():
    with pytest.raises(InvalidInputError, match="no CUDA GPU"):
        select_device("cuda")
    with pytest.raises(InvalidInputError, match="no CUDA GPU"):
        _small_gan(device="cuda")


TRAINERS = {
    "gan": lambda device: _small_gan(device=device, steps=5),
    "algorithm2": lambda device: train_algorithm2(
        TARGET, epsilon=0.1, steps=5, n_data=100, n_eval=20, device=device
    ),
    "particles": lambda device: train_particles(
        TARGET, START, epsilon=0.1, steps=5, n_particles=30, n_data=100, device=device
    ),
    "wgan": lambda device: train_wgan(
        TARGET, width=8, steps=5, n_data=100, n_eval=20, device=device
    ),
    "lsgan": lambda device: train_lsgan(
        TARGET, alpha=0.25, beta=-0.5, steps=5, n_data=50, n_eval=20, device=device
    ),
}


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(TRAINERS))
def test_each_trainer_runs_on_each_device(device, name):
    run = TRAINERS[name](device)
    assert run.algorithm == name
    assert run.device.startswith(device)
    assert np.all(np.isfinite(run.samples))
    assert all(v.shape == (5,) for v in run.losses.values())


# --- seeding and records ---------------------------------------------------------------


def test_same_seed_is_bit_identical_and_other_seed_differs():
    a, b, c = _small_gan(seed=3), _small_gan(seed=3), _small_gan(seed=4)
    assert np.array_equal(a.samples, b.samples)
    for name in a.losses:
        assert np.array_equal(a.losses[name], b.losses[name])
    assert not np.array_equal(a.samples, c.samples)


def test_training_run_round_trips_without_pickle(tmp_path):
    run = _small_gan(steps=4)
    path = run.save(tmp_path / "run")
    back = TrainingRun.load(path)
    assert back.algorithm == "gan" and back.device == run.device and back.seed == run.seed
    assert np.array_equal(back.samples, run.samples)
    assert np.array_equal(back.times, run.times)
    assert back.parameters.keys() == run.parameters.keys()
    assert back.config == run.config
    for name in run.losses:
        assert np.array_equal(back.losses[name], run.losses[name])


def test_training_run_load_reads_files_of_gan_pde_io_save(tmp_path):
    from gan_pde import io

    run = _small_gan(steps=4)
    back = TrainingRun.load(io.save(tmp_path / "run.npz", run))
    assert isinstance(back, TrainingRun) and back.algorithm == "gan" and back.seed == run.seed
    assert np.array_equal(back.samples, run.samples) and np.array_equal(back.steps, run.steps)
    for name in run.losses:
        assert np.array_equal(back.losses[name], run.losses[name])
    assert back.parameters.keys() == run.parameters.keys()
    # a result of another type, or a file that is no result at all, is named, not misread
    other = io.save(tmp_path / "other.npz", gp.lgan.optimal_parameters(0.25, beta=1.0))
    with pytest.raises(InvalidInputError, match="OptimalParameters result, not a TrainingRun"):
        TrainingRun.load(other)
    (tmp_path / "junk.npz").write_text("not an archive")
    with pytest.raises(InvalidInputError, match="not a gan_pde result file"):
        TrainingRun.load(tmp_path / "junk.npz")


def test_sizes_and_seeds_go_through_the_shared_validators():
    with pytest.raises(InvalidInputError, match=r"hidden\[1\] must be a positive integer"):
        MLP(1, 1, hidden=(4, 0))
    with pytest.raises(InvalidInputError, match="in_dim must be a positive integer"):
        MLP(True, 1)
    assert MLP(np.int64(2), 1, hidden=(np.int64(3),)).hidden == (3,)  # numpy ints are ints
    with pytest.raises(InvalidInputError, match="seed must be a non-negative integer"):
        make_generator(-1)
    with pytest.raises(InvalidInputError, match="target samples must be finite"):
        train_particles([[0.0], [np.nan]], np.zeros((4, 1)), epsilon=0.1, steps=1)


# --- paper 002: GAN, Algorithm 2, particles ----------------------------------------------


def test_gradient_identity_of_the_last_proposition():
    # both sides are the same sums evaluated in a different order: float64 round-off
    gen = make_generator(1)
    d, g = MLP(2, 1, hidden=(16, 16)), MLP(3, 2, hidden=(16,))
    z = torch.randn(128, 3, generator=gen, dtype=torch.float64)
    out = gradient_identity(d, d.init(gen), g, g.init(gen), z, epsilon=0.37)
    assert out["max_abs_gradient"] > 1e-3
    assert out["max_abs_difference"] <= 1e-13 * out["max_abs_gradient"]


class _ExactDiscriminator:
    """Logit of D* = ρ_d/(ρ_d + ρ_0) for ρ_d = N(1, 1), ρ_0 = N(0, 1): ℓ(x) = x − 1/2."""

    in_dim, out_dim = 1, 1

    def init(self, generator, *, dtype=None, device=None):
        return {"shift": torch.tensor([-0.5], dtype=torch.float64, device=device)}

    def __call__(self, params, x):
        return x + params["shift"]


def test_particle_generator_is_explicit_euler_of_ode_5():
    # with the optimal discriminator of (ρ_d, ρ_0) frozen, Algorithm 2 with a particle table
    # must be x ← x + ε V(x), V = −½∇ln(2ρ_0/(ρ_d + ρ_0)) the velocity of (5)/(16);
    # the regression step x − (N/2)(2/N)(x − y) = y only adds round-off
    x0 = START.sample(100, rng=np.random.default_rng(0))
    eps, steps = 0.2, 6
    run = train_particles(
        TARGET,
        x0,
        epsilon=eps,
        discriminator=_ExactDiscriminator(),
        discriminator_steps=0,
        steps=steps,
        save_steps=list(range(steps + 1)),
        n_data=10,
        device="cpu",
    )

    def velocity(x):
        rd, r0 = TARGET.pdf(x), START.pdf(x)
        grad_rd, grad_r0 = -(x[:, 0] - 1.0) * rd, -x[:, 0] * r0
        return (0.5 * (r0 * grad_rd - rd * grad_r0) / (r0 * (rd + r0)))[:, None]

    x = x0.copy()
    for k in range(steps + 1):
        np.testing.assert_allclose(run.samples[k], x, rtol=0, atol=1e-14)
        x = x + eps * velocity(x)
    np.testing.assert_allclose(run.times, eps * np.arange(steps + 1), rtol=1e-15)


def test_particle_step_uses_the_trained_discriminator():
    # a trained MLP discriminator: the particles after step 1 are x0 + ε ∇D/(2(1−D)) for the
    # discriminator recorded at step 1 (after its D-step), to round-off
    x0 = START.sample(64, rng=np.random.default_rng(1))
    disc = MLP(1, 1, hidden=(8,))
    run = train_particles(
        TARGET,
        x0,
        epsilon=0.3,
        discriminator=disc,
        steps=1,
        save_steps=[0, 1],
        n_data=200,
        batch_size=32,
        device="cpu",
    )
    params = {k.split("/", 1)[1]: torch.as_tensor(v[1]) for k, v in run.parameters.items()}
    expected = x0 + 0.3 * ode_velocity(disc, params, torch.as_tensor(x0)).numpy()
    np.testing.assert_allclose(run.samples[1], expected, rtol=0, atol=1e-14)


def test_gan_with_particle_table_equals_algorithm2_with_epsilon_2lr_over_n():
    # the last Proposition: a GAN G-step with lr η on a table of N particles is the
    # particle step of Algorithm 2 with ε = 2η/N (same D-steps, same random numbers)
    x0 = START.sample(50, rng=np.random.default_rng(2))
    common = dict(steps=8, batch_size=16, n_data=100, device="cpu", seed=5)
    gan = train_gan(
        TARGET,
        generator=ParticleGenerator(x0),
        discriminator=MLP(1, 1, hidden=(8,)),
        lr_generator=0.75,
        **common,
    )
    particles = train_particles(
        TARGET, x0, epsilon=2 * 0.75 / 50, discriminator=MLP(1, 1, hidden=(8,)), **common
    )
    np.testing.assert_allclose(gan.times, particles.times, rtol=1e-15)
    np.testing.assert_allclose(gan.samples, particles.samples, rtol=0, atol=1e-13)


def test_gan_and_algorithm2_move_the_generated_mean_to_the_target():
    # target mean 1, initial generator mean 0.32; 300 SGD steps must halve the gap, up to
    # 0.15 = 3 Monte-Carlo standard errors of a 400-sample mean (std 1: 0.05)
    for train in (train_gan, train_algorithm2):
        extra = {"epsilon": 0.05, "generator_steps": 2} if train is train_algorithm2 else {}
        run = train(
            TARGET,
            steps=300,
            batch_size=64,
            n_data=2000,
            n_eval=400,
            lr_discriminator=0.1,
            lr_generator=0.1,
            optimizer="sgd",
            device="cpu",
            seed=1,
            **extra,
        )
        gap0 = abs(run.samples[0].mean() - 1.0)
        gap1 = abs(run.samples[-1].mean() - 1.0)
        assert gap1 < 0.5 * gap0 + 0.15, (train.__name__, gap0, gap1)


# --- paper 004: LSGAN integrators ---------------------------------------------------------


@functools.cache
def _lsgan_endpoint(integrator, tau, t_final=0.4):
    x = gp.GaussianMixture(means=[[0.0], [3.0]], stds=[1.0, 1.0], weights=[0.5, 0.5]).sample(
        30, rng=np.random.default_rng(0)
    )
    disc = FeatureNet(np.linspace(-2.0, 5.0, 6), bandwidth=1.5, data=x)
    run = train_lsgan(
        x,
        alpha=0.5,
        beta=-1.0,
        gamma=0.5,
        discriminator=disc,
        generator=ParticleGenerator(x + 0.3),
        latent="data",
        integrator=integrator,
        lr=tau,
        steps=round(t_final / tau),
        generator_speed=30.0,
        save_steps=2,
        device="cpu",
    )
    return np.concatenate([run.parameters["D/c"][-1].ravel(), run.samples[-1].ravel()])


@pytest.mark.parametrize(("integrator", "order"), [("sgd", 1), ("heun", 2), ("rk4", 4)])
def test_lsgan_integrators_have_their_order(integrator, order):
    # the training ODE (θ_D' = −∇(f + penalty), θ_G' = κ∇f) integrated to t = 0.4 with
    # τ = 0.1, 0.05, 0.025 against RK4 with τ = 0.4/160 (error ~1e-12, below all measured
    # errors); the fitted log-log slope must be the order within 0.3 (pre-asymptotic terms)
    reference = _lsgan_endpoint("rk4", 0.4 / 160)
    taus = np.array([0.1, 0.05, 0.025])
    errors = [np.abs(_lsgan_endpoint(integrator, t) - reference).max() for t in taus]
    slope = np.polyfit(np.log(taus), np.log(errors), 1)[0]
    assert abs(slope - order) < 0.3, (errors, slope)


def test_lsgan_adam_and_records():
    run = train_lsgan(
        TARGET,
        alpha=0.25,
        beta=-0.5,
        gamma=1.0,
        integrator="adam",
        lr=0.01,
        steps=20,
        n_data=100,
        n_eval=50,
        device="cpu",
    )
    assert run.losses["d_norm2"].shape == (20,)
    assert np.all(run.losses["penalty"] >= 0.0)
    np.testing.assert_allclose(run.times, 0.01 * run.steps, rtol=1e-15)


# --- paper 001: WGAN with clipping --------------------------------------------------------


def test_wgan_clips_and_uses_mean_field_time():
    run = train_wgan(
        TARGET,
        width=25,
        h=2.0,
        critic_steps=3,
        steps=40,
        n_data=200,
        n_eval=30,
        critic_init_scale=0.9,
        device="cpu",
    )
    for name in ("D/a", "D/b", "D/c"):
        assert np.abs(run.parameters[name]).max() <= 1.0
    np.testing.assert_allclose(run.times, run.steps * 2.0 / 25, rtol=1e-15)
    assert run.config["gamma_c"] == 3.0
    assert np.all((run.losses["wall_fraction"] >= 0) & (run.losses["wall_fraction"] <= 1))
    assert run.parameters["G/a"].shape == (11, 25, 1)


def test_wgan_given_neurons_and_frozen_components():
    theta = np.column_stack([np.linspace(-1, 1, 6), np.ones(6), np.zeros(6)])
    omega = np.column_stack([np.linspace(-0.5, 0.5, 6), np.ones(6), np.zeros(6)])
    run = train_wgan(
        TARGET,
        width=6,
        generator_init=theta,
        critic_init=omega,
        steps=20,
        frozen=["G/b", "G/c", "D/b", "D/c"],
        n_data=100,
        n_eval=10,
        device="cpu",
    )
    np.testing.assert_array_equal(run.parameters["G/a"][0, :, 0], theta[:, 0])
    np.testing.assert_array_equal(run.parameters["D/a"][0, :, 0], omega[:, 0])
    for name in ("G/b", "D/b"):
        assert np.all(run.parameters[name] == 1.0)
    for name in ("G/c", "D/c"):
        assert np.all(run.parameters[name] == 0.0)
    assert not np.array_equal(run.parameters["G/a"][-1], run.parameters["G/a"][0])


def test_wgan_step_is_the_clipped_euler_step():
    # one step with one critic step, full batch: recompute Ω ← clip(Ω + h∇E), Θ ← Θ − h∇E
    x = TARGET.sample(40, rng=np.random.default_rng(3))
    run = train_wgan(
        x, width=7, h=3.0, steps=1, batch_size=None, save_steps=[0, 1], n_eval=5, device="cpu"
    )
    from gan_pde.nn.networks import MeanFieldSigmoidNet

    gen_net, crit = MeanFieldSigmoidNet(1, 1, width=7), MeanFieldSigmoidNet(1, 1, width=7)
    g0 = {k: torch.as_tensor(run.parameters[f"G/{k}"][0]) for k in "abc"}
    d0 = {k: torch.as_tensor(run.parameters[f"D/{k}"][0]) for k in "abc"}
    gen = make_generator(0)
    gen_net.init(gen)  # the initialisations of G, then D, come first from the generator
    crit.init(gen)
    xi = torch.arange(40)
    zd = torch.randn(1, 40, 1, generator=gen, dtype=torch.float64)
    zg = torch.randn(40, 1, generator=gen, dtype=torch.float64)
    real = torch.as_tensor(x)[xi]
    grads = torch.func.grad(lambda p: crit(p, gen_net(g0, zd[0])).mean() - crit(p, real).mean())(d0)
    d1 = {k: (d0[k] + 3.0 * grads[k]).clamp(-1, 1) for k in d0}
    g_grads = torch.func.grad(lambda p: crit(d1, gen_net(p, zg)).mean())(g0)
    for k in "abc":
        np.testing.assert_allclose(run.parameters[f"D/{k}"][1], d1[k].numpy(), atol=1e-15)
        np.testing.assert_allclose(
            run.parameters[f"G/{k}"][1], (g0[k] - 3.0 * g_grads[k]).numpy(), atol=1e-15
        )


# --- bad input ---------------------------------------------------------------------------


def test_nan_loss_stops_with_the_run_so_far():
    with pytest.raises(TrainingError, match="NaN/Inf") as info:
        train_lsgan(
            TARGET,
            alpha=50.0,
            beta=-1.0,
            integrator="sgd",
            lr=5.0,
            steps=200,
            n_data=50,
            n_eval=20,
            device="cpu",
            save_steps=list(range(201)),
        )
    run = info.value.run
    done = run.losses["d_norm2"].size
    assert 0 < done < 200
    assert np.all(np.isfinite(run.losses["d_norm2"]))
    assert run.steps[-1] == done


def test_mismatched_dimensions_are_clear_errors():
    data2 = np.zeros((20, 2))
    with pytest.raises(InvalidInputError, match="dimensions do not match"):
        train_gan(data2, discriminator=MLP(1, 1), steps=2, device="cpu")
    with pytest.raises(InvalidInputError, match="dimensions do not match"):
        train_gan(data2, generator=MLP(2, 3), steps=2, device="cpu")
    with pytest.raises(InvalidInputError, match="dimensions do not match"):
        train_particles(data2, np.zeros((5, 1)), epsilon=0.1, steps=2, device="cpu")
    with pytest.raises(InvalidInputError, match="dimensions do not match"):
        train_lsgan(data2, alpha=0.0, beta=1.0, discriminator=MLP(3, 1), steps=2, device="cpu")
    with pytest.raises(InvalidInputError, match="dimensions do not match"):
        MLP(1, 1).__call__(MLP(1, 1).init(make_generator(0)), torch.zeros(3, 2))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: _small_gan(steps=0), "steps"),
        (lambda: _small_gan(lr_discriminator=-1.0), "lr_discriminator"),
        (lambda: _small_gan(optimizer="rmsprop"), "optimizer"),
        (lambda: _small_gan(seed=-1), "seed"),
        (lambda: _small_gan(save_steps=[0, 99]), "save_steps"),
        (lambda: _small_gan(runs=0), "runs"),
        (lambda: _small_gan(batch_size=0), "batch_size"),
        (lambda: train_gan(np.full((4, 1), np.nan), steps=2, device="cpu"), "finite"),
        (lambda: train_gan("data", steps=2, device="cpu"), "target"),
        (lambda: train_algorithm2(TARGET, epsilon=0.0, steps=2, device="cpu"), "epsilon"),
        (lambda: train_lsgan(TARGET, alpha=0.0, beta=0.0, steps=2, device="cpu"), "beta"),
        (lambda: train_lsgan(TARGET, alpha=-1.0, beta=1.0, steps=2, device="cpu"), "alpha"),
        (
            lambda: train_lsgan(TARGET, alpha=0.0, beta=1.0, integrator="rk2", device="cpu"),
            "integrator",
        ),
        (
            lambda: train_lsgan(TARGET, alpha=0.0, beta=1.0, latent="uniform", device="cpu"),
            "latent",
        ),
        (lambda: train_lsgan(TARGET, alpha=[0.0, 1.0], beta=1.0, runs=3, device="cpu"), "alpha"),
        (lambda: train_wgan(TARGET, width=0, device="cpu"), "width"),
        (lambda: train_wgan(TARGET, h=float("inf"), device="cpu"), "h"),
        (lambda: train_particles(TARGET, "x", epsilon=0.1, device="cpu"), "initial"),
        (lambda: MLP(1, 1, activation="swish"), "activation"),
        (lambda: train_wgan(TARGET, width=3, frozen=["G/z"], device="cpu"), "frozen"),
        (
            lambda: train_wgan(TARGET, width=3, generator_init=np.zeros((2, 3)), device="cpu"),
            "generator_init",
        ),
        (
            lambda: train_wgan(TARGET, width=3, critic_init=np.full((3, 3), 2.0), device="cpu"),
            "critic_init",
        ),
        (lambda: FeatureNet([0.0], bandwidth=0.0), "bandwidth"),
    ],
)
def test_bad_input_names_the_argument(call, match):
    with pytest.raises(InvalidInputError, match=match):
        call()


def test_spectral_norm_makes_the_mlp_1_lipschitz():
    # every W/||W||_2 has norm 1 and tanh is 1-Lipschitz: |f(x) − f(y)| ≤ |x − y| (up to
    # round-off); without the normalisation the same weights scaled by 10 are not
    gen = make_generator(2)
    net = MLP(3, 1, hidden=(16, 16), spectral_norm=True)
    params = {k: 10.0 * v for k, v in net.init(gen).items()}
    x = torch.randn(500, 3, generator=gen, dtype=torch.float64)
    y = torch.randn(500, 3, generator=gen, dtype=torch.float64)
    ratio = (net(params, x) - net(params, y)).abs()[:, 0] / (x - y).norm(dim=1)
    assert float(ratio.max()) <= 1.0 + 1e-12
    plain = MLP(3, 1, hidden=(16, 16))
    ratio = (plain(params, x) - plain(params, y)).abs()[:, 0] / (x - y).norm(dim=1)
    assert float(ratio.max()) > 1.0
