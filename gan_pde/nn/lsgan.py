r"""LSGAN-type training with gradient penalty, the setting of paper 004, Section 7.

The objective (2) with the losses of Section 7,

.. math::

    f(D, G) = \mathbb E_{x\sim\mu}\,\phi_1(D(x)) + \mathbb E_{z}\,\phi_2(D(G(z))),
    \qquad \phi_1(s) = \frac\alpha2 s^2 + \beta s,\quad \phi_2(s) = -\beta s,

is played as :math:`\max_G\min_D` (1), the discriminator with the gradient penalty
:math:`\frac\gamma2\mathbb E_{x\sim\mu}|\nabla_x D(x)|^2`, whose linearisation is the term
:math:`-\gamma\langle\nabla u,\nabla\hat u\rangle_\mu` of (22).  Here
:math:`\phi_1''(0)+\phi_2''(0) = \alpha` and :math:`\phi_2'(0) = -\beta`, the α and β of the
lGAN system (6) (:mod:`gan_pde.spectral.lgan`), so near the equilibrium D ≡ 0, G_* = data,
:math:`\|D(t)\|_\mu^2` decays like :math:`e^{2\eta t}` with η of Theorem 4, up to the
distortion of the networks' tangent kernels.

Training follows the ODE-GAN approach (Qin et al. 2020): the parameters follow

.. math::

    \dot\theta_D = -\nabla_{\theta_D}\Bigl(f + \frac\gamma2\mathbb E|\nabla D|^2\Bigr),
    \qquad \dot\theta_G = +\nabla_{\theta_G} f,

integrated with explicit Euler (``"sgd"``), Heun, classical RK4 (all stages on the same
batch), or stepped with Adam on the same vector field.  Time: :math:`t_k = k\tau`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from gan_pde._arrays import (
    as_finite,
    as_non_negative,
    as_non_negative_int,
    as_positive,
    as_positive_int,
)
from gan_pde.errors import InvalidInputError
from gan_pde.nn._torch import make_generator, require_torch, select_device
from gan_pde.nn.engine import (
    Plan,
    check_dims,
    describe,
    execute,
    prepare_data,
    save_grid,
    tree_map,
)
from gan_pde.nn.networks import MLP, ParticleGenerator
from gan_pde.nn.optim import Optimizer
from gan_pde.nn.run import TrainingRun

if TYPE_CHECKING:
    from gan_pde.engine import Tracker

torch = require_torch()

__all__ = ["INTEGRATORS", "LATENTS", "train_lsgan"]

#: Steppers of :func:`train_lsgan`.
INTEGRATORS = ("sgd", "adam", "heun", "rk4")
#: Latent laws: standard normal, or the data law itself (G_* = identity).
LATENTS = ("normal", "data")


def train_lsgan(
    target: Any,
    *,
    alpha: float,
    beta: float,
    gamma: float = 0.0,
    generator: Any = None,
    discriminator: Any = None,
    latent: str = "normal",
    integrator: str = "heun",
    lr: float = 0.01,
    generator_speed: float = 1.0,
    steps: int = 500,
    batch_size: int | None = None,
    n_data: int = 2000,
    n_eval: int = 2000,
    save_steps: Sequence[int] | int | None = None,
    save_final: bool = True,
    seed: int = 0,
    data_seed: int | None = None,
    device: Any = None,
    runs: int | None = None,
    progress: Callable[[int, dict[str, float]], None] | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_interval: float | None = 30.0,
    checkpoint_steps: int | None = None,
    resume: bool = False,
    trackers: Sequence[Tracker] = (),
) -> TrainingRun:
    r"""Train D and G on the LSGAN-type losses of paper 004, Section 7.

    Parameters
    ----------
    target
        The data law μ: a Density (``n_data`` samples) or an array ``(n, d)``.
    alpha, beta, gamma
        :math:`\phi_1(s) = \alpha s^2/2 + \beta s`, :math:`\phi_2(s) = -\beta s`, gradient
        penalty γ ≥ 0 (α ≥ 0 makes φ₁ convex; β ≠ 0).  With ``runs`` each may also be a
        sequence of ``runs`` values: ensemble member r trains with the r-th setting
        (several settings in one vmapped call).
    generator
        Network from the latent space to R^d.  Default: ``MLP(d, d, residual=True)``
        with latent ``"data"`` (G(z) = z + net(z), near the identity) or ``MLP(d, d)``.
    discriminator
        Network R^d -> R (default ``MLP(d, 1, hidden=(32, 32))``).
    latent
        ``"normal"`` (z ~ N(0, I)) or ``"data"`` (z drawn from the data set, so that the
        identity generator is an equilibrium; with ``batch_size=None`` z runs over the
        whole data set and training is deterministic).
    integrator
        ``"sgd"`` (explicit Euler), ``"adam"``, ``"heun"`` or ``"rk4"``.
    lr
        τ, the step (learning rate).
    generator_speed
        κ > 0 in :math:`\dot\theta_G = \kappa\nabla_{\theta_G} f`.  With a
        :class:`~gan_pde.nn.networks.ParticleGenerator` over the n data points (latent
        ``"data"``, z = the index) κ = n turns the 1/n of the mean into the
        :math:`L^2(\mu_n)` velocity field of (6).
    steps, batch_size, n_data, n_eval, save_steps, save_final
        As in :func:`gan_pde.nn.train_gan` (``batch_size=None``: full batch).
    seed, data_seed, device, runs, progress
        As in :func:`gan_pde.nn.train_gan`.
    checkpoint, checkpoint_interval, checkpoint_steps, resume, trackers
        Checkpoints every so many seconds or steps and a bit-identical resume, further
        trackers: as in :func:`gan_pde.nn.train_gan`.

    Returns
    -------
    TrainingRun
        ``algorithm="lsgan"``; losses ``objective`` (f), ``penalty`` and ``d_norm2``
        (:math:`\frac1n\sum D(x_j)^2` over ``n_eval`` data points after each step).

    Examples
    --------
    >>> import gan_pde as gp
    >>> rho = gp.Gaussian(mean=[0.0], cov=[[1.0]])
    >>> run = train_lsgan(rho, alpha=0.25, beta=-0.5, steps=5, n_data=200, n_eval=50,
    ...                   device="cpu")
    >>> sorted(run.losses)
    ['d_norm2', 'objective', 'penalty']
    """
    dev = select_device(device)
    dtype = torch.float64
    steps = as_positive_int(steps, "steps")
    grid = save_grid(steps, save_steps, save_final=save_final)
    count = 1 if runs is None else as_positive_int(runs, "runs")
    a = _setting(alpha, "alpha", count, nonneg=True)
    b = _setting(beta, "beta", count)
    if any(v == 0.0 for v in b):
        msg = (
            "beta must be non-zero (phi_1'(0) = -phi_2'(0) != 0, paper 004, Section 2); "
            f"got {beta!r}"
        )
        raise InvalidInputError(msg)
    g = _setting(gamma, "gamma", count, nonneg=True)
    tau = as_positive(lr, "lr")
    kappa = as_positive(generator_speed, "generator_speed")
    if integrator not in INTEGRATORS:
        msg = f"integrator must be one of {INTEGRATORS}; got {integrator!r}"
        raise InvalidInputError(msg)
    if latent not in LATENTS:
        msg = f"latent must be one of {LATENTS}; got {latent!r}"
        raise InvalidInputError(msg)
    seed = as_non_negative_int(seed, "seed")
    data_seed = seed if data_seed is None else as_non_negative_int(data_seed, "data_seed")
    data = prepare_data(target, n_data=n_data, seed=data_seed, dtype=dtype, device=dev)
    n_total, dim = (int(s) for s in data.shape)
    if discriminator is None:
        discriminator = MLP(dim, 1, hidden=(32, 32))
    if generator is None:
        generator = MLP(dim, dim, hidden=(32, 32), residual=latent == "data")
    check_dims(discriminator, in_dim=dim, out_dim=1, role="discriminator")
    table = isinstance(generator, ParticleGenerator)
    if table and (latent != "data" or batch_size is not None or generator.size != n_total):
        msg = (
            "a ParticleGenerator in train_lsgan needs latent='data', batch_size=None and one "
            f"particle per data point ({n_total}); got latent={latent!r}, "
            f"batch_size={batch_size!r}, {generator.size} particles"
        )
        raise InvalidInputError(msg)
    check_dims(
        generator,
        in_dim=dim if latent == "data" and not table else None,
        out_dim=dim,
        role="generator",
    )
    latent_dim = generator.in_dim
    m = n_total if batch_size is None else as_positive_int(batch_size, "batch_size")
    n_eval = as_positive_int(n_eval, "n_eval")
    eval_gen = make_generator(data_seed)
    x_eval = data[torch.randperm(n_total, generator=eval_gen)[: min(n_eval, n_total)].to(dev)]
    if table:
        z_eval = torch.arange(n_total, device=dev)
    elif latent == "data":
        z_eval = x_eval
    else:
        z_eval = torch.randn(n_eval, latent_dim, generator=eval_gen, dtype=dtype).to(dev)
    adam = Optimizer("adam", lr=tau) if integrator == "adam" else None

    penalised = any(v > 0.0 for v in g)

    def objective(params: dict[str, Any], hyper: dict[str, Any], real: Any, z: Any) -> tuple:
        d_real = discriminator(params["D"], real)[:, 0]
        d_fake = discriminator(params["D"], generator(params["G"], z))[:, 0]
        f = (0.5 * hyper["alpha"] * d_real**2 + hyper["beta"] * d_real).mean()
        f = f - hyper["beta"] * d_fake.mean()
        if not penalised:
            return f, torch.zeros((), dtype=dtype, device=dev)
        grad_x = torch.func.grad(lambda y: discriminator(params["D"], y)[:, 0].sum())(real)
        return f, 0.5 * hyper["gamma"] * (grad_x**2).sum(dim=1).mean()

    def field(params: dict[str, Any], hyper: dict[str, Any], real: Any, z: Any) -> tuple:
        """The ODE right-hand side (−∇_D(f + penalty), +κ∇_G f) and f, penalty."""

        def d_loss(pd: dict[str, Any]) -> tuple[Any, Any]:
            f, pen = objective({"D": pd, "G": params["G"]}, hyper, real, z)
            return f + pen, (f, pen)

        def g_loss(pg: dict[str, Any]) -> Any:
            return objective({"D": params["D"], "G": pg}, hyper, real, z)[0]

        grad_d, (f, pen) = torch.func.grad(d_loss, has_aux=True)(params["D"])
        grad_g = torch.func.grad(g_loss)(params["G"])
        rhs = {"D": tree_map(torch.neg, grad_d), "G": tree_map(lambda x: kappa * x, grad_g)}
        return rhs, f, pen

    def axpy(params: dict[str, Any], h: float, rhs: dict[str, Any]) -> dict[str, Any]:
        return tree_map(lambda p, r: p + h * r, params, rhs)

    def init(gen: Any, run: int) -> dict[str, Any]:
        params = {
            "D": discriminator.init(gen, dtype=dtype, device=dev),
            "G": generator.init(gen, dtype=dtype, device=dev),
        }
        hyper = {
            name: torch.tensor(values[run], dtype=dtype, device=dev)
            for name, values in (("alpha", a), ("beta", b), ("gamma", g))
        }
        state = {"params": params, "hyper": hyper}
        if adam is not None:
            state["opt"] = adam.init(params)
        return state

    def draw(gen: Any) -> dict[str, Any]:
        if batch_size is None:
            xi = torch.arange(n_total)
            zi = torch.arange(n_total)
        else:
            xi = torch.randint(n_total, (m,), generator=gen)
            zi = torch.randint(n_total, (m,), generator=gen)
        batch = {"xi": xi.to(dev)}
        if latent == "data":
            batch["zi"] = zi.to(dev)
        else:
            batch["z"] = torch.randn(m, latent_dim, generator=gen, dtype=dtype).to(dev)
        return batch

    def step(state: dict[str, Any], batch: dict[str, Any]) -> tuple[dict[str, Any], dict]:
        real = data[batch["xi"]]
        z = batch["zi"] if table else data[batch["zi"]] if latent == "data" else batch["z"]
        params, hyper = state["params"], state["hyper"]
        k1, f, pen = field(params, hyper, real, z)
        new_state = dict(state)
        if integrator == "sgd":
            new = axpy(params, tau, k1)
        elif integrator == "adam":
            descent = tree_map(torch.neg, k1)
            new, new_state["opt"] = adam.update(params, descent, state["opt"])
        elif integrator == "heun":
            k2 = field(axpy(params, tau, k1), hyper, real, z)[0]
            new = axpy(params, 0.5 * tau, tree_map(torch.add, k1, k2))
        else:
            k2 = field(axpy(params, 0.5 * tau, k1), hyper, real, z)[0]
            k3 = field(axpy(params, 0.5 * tau, k2), hyper, real, z)[0]
            k4 = field(axpy(params, tau, k3), hyper, real, z)[0]
            total = tree_map(lambda p, q, r, s: p + 2.0 * q + 2.0 * r + s, k1, k2, k3, k4)
            new = axpy(params, tau / 6.0, total)
        new_state["params"] = new
        d_norm2 = (discriminator(new["D"], x_eval)[:, 0] ** 2).mean()
        return new_state, {"objective": f, "penalty": pen, "d_norm2": d_norm2}

    def observe(state: dict[str, Any]) -> dict[str, Any]:
        params = state["params"]
        return {"samples": generator(params["G"], z_eval), "D": params["D"], "G": params["G"]}

    config = {
        "algorithm": "lsgan",
        "alpha": a if runs is not None else a[0],
        "beta": b if runs is not None else b[0],
        "gamma": g if runs is not None else g[0],
        "latent": latent,
        "integrator": integrator,
        "lr": tau,
        "generator_speed": kappa,
        "steps": steps,
        "batch_size": batch_size,
        "n_data": n_total,
        "n_eval": int(z_eval.shape[0]),
        "data_seed": data_seed,
        "dim": dim,
    }
    plan = Plan(
        algorithm="lsgan",
        init=init,
        draw=draw,
        step=step,
        observe=observe,
        steps=steps,
        save_steps=grid,
        time_per_step=tau,
        seed=seed,
        device=dev,
        config=config,
        progress=progress,
        fingerprint={
            "data": data,
            "discriminator": describe(discriminator),
            "generator": describe(generator),
        },
    )
    return execute(
        plan,
        runs,
        checkpoint=checkpoint,
        checkpoint_interval=checkpoint_interval,
        checkpoint_steps=checkpoint_steps,
        resume=resume,
        trackers=trackers,
    )


def _setting(value: Any, name: str, count: int, *, nonneg: bool = False) -> list[float]:
    """One float per run: a scalar repeated, or a sequence of ``count`` values."""
    check = as_non_negative if nonneg else as_finite
    values = list(value) if isinstance(value, (list, tuple)) or hasattr(value, "__len__") else None
    if values is None:
        return [check(value, name)] * count
    if len(values) != count:
        msg = f"{name} must be a number or a sequence of runs = {count} numbers; got {value!r}"
        raise InvalidInputError(msg)
    return [check(v, f"{name}[{i}]") for i, v in enumerate(values)]
