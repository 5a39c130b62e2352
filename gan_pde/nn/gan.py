r"""The GAN algorithm, Algorithm 2 and the particle generator of paper 002 (Huang & Zhang).

The discriminator is a network with a real output, the logit ℓ, and
:math:`D = \sigma(\ell) = 1/(1 + e^{-\ell})`.

**D-step** (Algorithms 1 and 2, line 4): ascend
:math:`\frac1m\sum_i \ln D(x^{(i)}) + \ln(1 - D(G(z^{(i)})))`, i.e. descend
:math:`L_D = -\frac1m\sum_i[\ln\sigma(\ell(x^{(i)})) + \ln\sigma(-\ell(G(z^{(i)})))]`.

**G-step of the GAN algorithm** (Algorithm 1, line 6): descend
:math:`\frac1m\sum_i \ln(1 - D(G(z^{(i)})))` with learning rate :math:`\eta_G`.

**G-step of Algorithm 2** (lines 6–7): the targets

.. math::

    y^{(i)} = G(z^{(i)}) + \varepsilon\,\frac{\nabla D(G(z^{(i)}))}{2(1 - D(G(z^{(i)})))}
            = G(z^{(i)}) + \frac{\varepsilon}{2}\,\sigma(\ell)\,\nabla\ell\,\Big|_{G(z^{(i)})}

(since :math:`\nabla D = \sigma(1-\sigma)\nabla\ell`), then regression of G on them:
descend :math:`\frac1m\sum_i|G(z^{(i)}) - y^{(i)}|^2` with y held fixed.

**Gradient identity** (paper 002, last Proposition).  With y fixed,

.. math::

    \nabla_{\theta_G}\frac1m\sum_i|G(z^{(i)}) - y^{(i)}|^2
    = \frac2m\sum_i (G - y)\cdot\nabla_{\theta_G}G
    = -\frac{\varepsilon}m\sum_i\frac{\nabla D(G)}{1 - D(G)}\cdot\nabla_{\theta_G}G
    = \varepsilon\,\nabla_{\theta_G}\frac1m\sum_i\ln\bigl(1 - D(G(z^{(i)}))\bigr),

so one regression step with learning rate η is one GAN G-step with learning rate ηε
(:func:`gradient_identity` measures both sides).

**Particle generator.**  With G a table of N samples and all m = N of them regressed with
learning rate N/2, the regression step sets :math:`x_i \leftarrow y_i` exactly:

.. math::

    x_i^{k+1} = x_i^k + \varepsilon\,\frac{\nabla D}{2(1-D)}(x_i^k),

the explicit Euler step of the particle ODE (5) with D in place of
:math:`\rho_d/(\rho_d + \rho^{Y_t})`; for that optimal D the velocity is
:math:`-\tfrac12\nabla\ln\frac{2\rho}{\rho_d+\rho}`, that of (16) in
:mod:`gan_pde.flows.particles`.  PDE time: :math:`t_k = k\varepsilon`; for the GAN algorithm,
by the identity, :math:`t_k = k \cdot 2\eta_G/m` (exact for a particle table, nominal for a
network generator).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from gan_pde._arrays import as_non_negative_int, as_positive, as_positive_int
from gan_pde.errors import InvalidInputError
from gan_pde.nn._torch import make_generator, require_torch, select_device
from gan_pde.nn.engine import (
    Plan,
    check_dims,
    describe,
    execute,
    prepare_data,
    save_grid,
)
from gan_pde.nn.networks import MLP, ParticleGenerator
from gan_pde.nn.optim import Optimizer
from gan_pde.nn.run import TrainingRun

if TYPE_CHECKING:
    from gan_pde.engine import Tracker

torch = require_torch()

__all__ = ["gradient_identity", "train_algorithm2", "train_gan", "train_particles"]

Progress = Callable[[int, dict[str, float]], None] | None


def _logit(discriminator: Any, params: dict[str, Any], x: Any) -> Any:
    return discriminator(params, x)[:, 0]


def _discriminator_loss(discriminator: Any, params: dict[str, Any], real: Any, fake: Any) -> Any:
    logsig = torch.nn.functional.logsigmoid
    return -(
        logsig(_logit(discriminator, params, real)).mean()
        + logsig(-_logit(discriminator, params, fake)).mean()
    )


def ode_velocity(discriminator: Any, params: dict[str, Any], x: Any) -> Any:
    r""":math:`\nabla D/(2(1-D)) = \tfrac12\sigma(\ell)\nabla\ell` at the points x (n, d)."""
    grad = torch.func.grad(lambda y: _logit(discriminator, params, y).sum())(x)
    return 0.5 * torch.sigmoid(_logit(discriminator, params, x))[:, None] * grad


def gradient_identity(
    discriminator: Any,
    d_params: dict[str, Any],
    generator: Any,
    g_params: dict[str, Any],
    z: Any,
    *,
    epsilon: float,
) -> dict[str, Any]:
    r"""Both sides of the identity of paper 002's last Proposition, and their difference.

    .. math::

        \nabla_{\theta_G}\frac1m\sum_i|G(z^{(i)}) - y^{(i)}|^2
        = \varepsilon\,\nabla_{\theta_G}\frac1m\sum_i\ln\bigl(1 - D(G(z^{(i)}))\bigr),
        \qquad y^{(i)} = G(z^{(i)}) + \varepsilon\frac{\nabla D}{2(1-D)}(G(z^{(i)})) .

    Returns
    -------
    dict
        ``"regression"`` and ``"gan"`` (ε times the GAN gradient): name -> numpy array;
        ``"max_abs_difference"`` and ``"max_abs_gradient"`` (floats).

    Examples
    --------
    >>> import torch
    >>> from gan_pde.nn._torch import make_generator
    >>> d, g = MLP(1, 1, hidden=(8,)), MLP(1, 1, hidden=(8,))
    >>> gen = make_generator(0)
    >>> out = gradient_identity(d, d.init(gen), g, g.init(gen),
    ...                         torch.randn(64, 1, generator=gen, dtype=torch.float64),
    ...                         epsilon=0.1)
    >>> out["max_abs_difference"] < 1e-14 * out["max_abs_gradient"]
    True
    """
    eps = as_positive(epsilon, "epsilon")
    fake = generator(g_params, z).detach()
    y = (fake + eps * ode_velocity(discriminator, d_params, fake)).detach()

    def regression(p: dict[str, Any]) -> Any:
        return ((generator(p, z) - y) ** 2).sum(dim=1).mean()

    def gan(p: dict[str, Any]) -> Any:
        fake_p = generator(p, z)
        return torch.nn.functional.logsigmoid(-_logit(discriminator, d_params, fake_p)).mean()

    left = torch.func.grad(regression)(g_params)
    right = {k: eps * v for k, v in torch.func.grad(gan)(g_params).items()}
    diff = max(float((left[k] - right[k]).abs().max()) for k in left)
    scale = max(float(left[k].abs().max()) for k in left)
    return {
        "regression": {k: v.detach().cpu().numpy() for k, v in left.items()},
        "gan": {k: v.detach().cpu().numpy() for k, v in right.items()},
        "max_abs_difference": diff,
        "max_abs_gradient": scale,
    }


def _jsd_plan(
    algorithm: str,
    target: Any,
    *,
    generator: Any,
    discriminator: Any,
    latent_dim: int | None,
    steps: int,
    batch_size: int | None,
    discriminator_steps: int,
    generator_steps: int,
    lr_discriminator: float,
    lr_generator: float,
    epsilon: float | None,
    optimizer: str,
    n_data: int,
    n_eval: int,
    save_steps: Sequence[int] | int | None,
    save_final: bool,
    seed: int,
    data_seed: int | None,
    device: Any,
    progress: Progress,
    initial: Any = None,
    generator_optimizer: str | None = None,
) -> Plan:
    dev = select_device(device)
    dtype = torch.float64
    steps = as_positive_int(steps, "steps")
    grid = save_grid(steps, save_steps, save_final=save_final)
    n_d = as_non_negative_int(discriminator_steps, "discriminator_steps")
    n_g = as_positive_int(generator_steps, "generator_steps")
    lr_d = as_positive(lr_discriminator, "lr_discriminator")
    data_seed = seed if data_seed is None else as_non_negative_int(data_seed, "data_seed")
    seed = as_non_negative_int(seed, "seed")
    data = prepare_data(target, n_data=n_data, seed=data_seed, dtype=dtype, device=dev)
    dim = int(data.shape[1])
    if discriminator is None:
        discriminator = MLP(dim, 1, hidden=(32, 32))
    check_dims(discriminator, in_dim=dim, out_dim=1, role="discriminator")
    particles = algorithm == "particles" or isinstance(generator, ParticleGenerator)
    if algorithm == "particles":
        if isinstance(initial, ParticleGenerator):
            generator = initial
        elif hasattr(initial, "sample") and hasattr(initial, "dim"):
            generator = ParticleGenerator(
                initial.sample(
                    as_positive_int(n_eval, "n_particles"), rng=np.random.default_rng(data_seed)
                )
            )
        else:
            try:
                generator = ParticleGenerator(initial)
            except (TypeError, ValueError, RuntimeError) as exc:
                msg = (
                    "initial must be a Density or an array (N, d) of particles; "
                    f"got {type(initial)}"
                )
                raise InvalidInputError(msg) from exc
    elif generator is None:
        latent_dim = dim if latent_dim is None else as_positive_int(latent_dim, "latent_dim")
        generator = MLP(latent_dim, dim, hidden=(32, 32))
    check_dims(generator, in_dim=None, out_dim=dim, role="generator")
    if particles:
        n_particles = generator.size
        m = n_particles if batch_size is None else as_positive_int(batch_size, "batch_size")
        latent = None
    else:
        latent = (
            generator.in_dim if latent_dim is None else as_positive_int(latent_dim, "latent_dim")
        )
        check_dims(generator, in_dim=latent, out_dim=dim, role="generator")
        m = int(data.shape[0]) if batch_size is None else as_positive_int(batch_size, "batch_size")
    if algorithm == "gan":
        lr_g = as_positive(lr_generator, "lr_generator")
        m_g = generator.size if particles else m
        time_per_step = 2.0 * lr_g / m_g
    else:
        eps = as_positive(epsilon, "epsilon")
        time_per_step = eps
        if algorithm == "particles":
            lr_g = generator.size / 2.0
            n_g = 1
        else:
            lr_g = as_positive(lr_generator, "lr_generator")
    opt_d = Optimizer(optimizer, lr=lr_d)
    if algorithm == "particles":
        generator_optimizer = "sgd"
    opt_g = Optimizer(generator_optimizer or optimizer, lr=lr_g)
    full_data = batch_size is None
    n_total = int(data.shape[0])
    eval_gen = make_generator(data_seed)
    if particles:
        z_eval = torch.arange(generator.size, device=dev)
    else:
        z_eval = torch.randn(
            as_positive_int(n_eval, "n_eval"), latent, generator=eval_gen, dtype=dtype
        ).to(dev)
    all_particles = torch.arange(generator.size, device=dev) if particles else None

    def init(gen: Any, _run: int) -> dict[str, Any]:
        d_params = discriminator.init(gen, dtype=dtype, device=dev)
        g_params = generator.init(gen, dtype=dtype, device=dev)
        return {
            "D": d_params,
            "G": g_params,
            "optD": opt_d.init(d_params),
            "optG": opt_g.init(g_params),
        }

    def draw(gen: Any) -> dict[str, Any]:
        if full_data:
            xi = torch.arange(n_total).expand(n_d, n_total)
        else:
            xi = torch.randint(n_total, (n_d, m), generator=gen)
        batch = {"xi": xi.to(dev)}
        if particles:
            batch["zd"] = torch.randint(generator.size, (n_d, m), generator=gen).to(dev)
        else:
            batch["zd"] = torch.randn(n_d, m, latent, generator=gen, dtype=dtype).to(dev)
            batch["zg"] = torch.randn(m, latent, generator=gen, dtype=dtype).to(dev)
        return batch

    def step(state: dict[str, Any], batch: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        d_params, g_params = state["D"], state["G"]
        opt_state_d = state["optD"]
        loss_d = torch.zeros((), dtype=dtype, device=dev)
        for j in range(n_d):
            real = data[batch["xi"][j]]
            fake = generator(g_params, batch["zd"][j]).detach()
            grads, loss_d = torch.func.grad_and_value(
                lambda p, r=real, f=fake: _discriminator_loss(discriminator, p, r, f)
            )(d_params)
            d_params, opt_state_d = opt_d.update(d_params, grads, opt_state_d)
        zg = all_particles if particles else batch["zg"]
        if algorithm == "gan":

            def g_loss(p: dict[str, Any]) -> Any:
                fake_p = generator(p, zg)
                return torch.nn.functional.logsigmoid(
                    -_logit(discriminator, d_params, fake_p)
                ).mean()

            grads, loss_g = torch.func.grad_and_value(g_loss)(g_params)
            g_params, opt_state_g = opt_g.update(g_params, grads, state["optG"])
        else:
            fake = generator(g_params, zg).detach()
            y = (fake + eps * ode_velocity(discriminator, d_params, fake)).detach()

            def g_loss(p: dict[str, Any]) -> Any:
                return ((generator(p, zg) - y) ** 2).sum(dim=1).mean()

            opt_state_g = state["optG"]
            loss_g = None
            for _ in range(n_g):
                grads, value = torch.func.grad_and_value(g_loss)(g_params)
                loss_g = value if loss_g is None else loss_g
                g_params, opt_state_g = opt_g.update(g_params, grads, opt_state_g)
        new = {"D": d_params, "G": g_params, "optD": opt_state_d, "optG": opt_state_g}
        return new, {"discriminator": loss_d, "generator": loss_g}

    def observe(state: dict[str, Any]) -> dict[str, Any]:
        out = {"samples": generator(state["G"], z_eval), "D": state["D"]}
        if not particles:
            out["G"] = state["G"]
        return out

    config = {
        "algorithm": algorithm,
        "steps": steps,
        "batch_size": batch_size,
        "discriminator_steps": n_d,
        "generator_steps": n_g,
        "lr_discriminator": lr_d,
        "lr_generator": lr_g,
        "epsilon": time_per_step if algorithm != "gan" else None,
        "optimizer": optimizer,
        "generator_optimizer": opt_g.name,
        "n_data": int(data.shape[0]),
        "n_eval": int(z_eval.shape[0]),
        "data_seed": data_seed,
        "dim": dim,
    }
    return Plan(
        algorithm=algorithm,
        init=init,
        draw=draw,
        step=step,
        observe=observe,
        steps=steps,
        save_steps=grid,
        time_per_step=time_per_step,
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


def train_gan(
    target: Any,
    *,
    generator: Any = None,
    discriminator: Any = None,
    latent_dim: int | None = None,
    steps: int = 500,
    batch_size: int | None = 256,
    discriminator_steps: int = 1,
    lr_discriminator: float = 0.05,
    lr_generator: float = 0.05,
    optimizer: str = "sgd",
    generator_optimizer: str | None = None,
    n_data: int = 10_000,
    n_eval: int = 2000,
    save_steps: Sequence[int] | int | None = None,
    save_final: bool = True,
    seed: int = 0,
    data_seed: int | None = None,
    device: Any = None,
    runs: int | None = None,
    progress: Progress = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_interval: float | None = 30.0,
    checkpoint_steps: int | None = None,
    resume: bool = False,
    trackers: Sequence[Tracker] = (),
) -> TrainingRun:
    r"""Train with the GAN algorithm (paper 002, Algorithm 1).

    D-steps ascend :math:`\frac1m\sum\ln D(x) + \ln(1 - D(G(z)))`; the G-step descends
    :math:`\frac1m\sum\ln(1 - D(G(z)))` with learning rate η_G.  Saved times are
    :math:`t_k = 2k\eta_G/m` (the ε of Algorithm 2 by the last Proposition; m = N for a
    :class:`~gan_pde.nn.networks.ParticleGenerator`).

    Parameters
    ----------
    generator
        Network from the latent space to R^d (default ``MLP(d, d)``, latent N(0, I)), or a
        :class:`~gan_pde.nn.networks.ParticleGenerator`.
    latent_dim
        Latent dimension of the default generator (default d).
    lr_generator
        η_G.
    generator_optimizer
        ``"sgd"`` or ``"adam"`` for the G-steps (default: ``optimizer``).
    target
        The data law ρ_d: a gan_pde Density (``n_data`` samples are drawn with
        ``data_seed``) or an array of samples ``(n, d)``.
    discriminator
        Network with output dimension 1 (the logit); default ``MLP(d, 1, hidden=(32, 32))``.
    steps
        Training iterations k = 1, …, steps.
    batch_size
        m, samples per step; None uses the whole data set (and all particles).
    discriminator_steps
        D-steps per iteration (0 keeps the discriminator as initialised).
    lr_discriminator
        Learning rate of the D-steps.
    optimizer
        ``"sgd"`` or ``"adam"`` (of the D-steps, and of G unless ``generator_optimizer``
        is given; the particle table always moves by the plain step).
    n_data, n_eval
        Size of the drawn data set; number of fixed latent samples whose images are saved
        (the number of particles for :func:`train_particles`).
    save_steps
        Steps to snapshot: a list in [0, steps], or a count of equispaced ones, 0 and
        ``steps`` included (default 11).
    save_final
        Also snapshot the last step, ``steps`` (default): a list that ends earlier gets it
        added.  False snapshots only the listed steps (the old behaviour).
    seed, data_seed
        Seed of the initialisation and batches; seed of the data set and of the saved
        latent samples (default ``seed``; an ensemble shares it across runs).
    device
        ``None`` (CUDA when available), ``"cpu"`` or ``"cuda"``.
    runs
        None for one run; R for an ensemble of R independent runs (seeds seed, …,
        seed + R − 1) trained in one vmapped call.
    progress
        Optional ``callback(step, losses)`` after each step (losses averaged over an
        ensemble).
    checkpoint
        A file to write the run's state to (parameters, optimiser states, random
        generators, the snapshots so far) every ``checkpoint_interval`` seconds of wall
        time and/or every ``checkpoint_steps`` steps, and after the last step.
    checkpoint_interval, checkpoint_steps
        When to write it (None: never by that rule).
    resume
        Continue from ``checkpoint`` (a missing file starts from step 0): the result is
        bit-identical to that of an uninterrupted run; a checkpoint of another run (other
        options, data or networks) is refused with the differing parameter named.
    trackers
        Further :class:`gan_pde.engine.Tracker` objects; their time is the step count k
        and their view the dictionary of parameters and optimiser states.

    Returns
    -------
    TrainingRun
        ``algorithm="gan"``; samples are G of ``n_eval`` fixed latent draws; parameters
        ``D/...`` and ``G/...``; losses ``discriminator`` and ``generator``.

    Raises
    ------
    InvalidInputError
        Bad options, unknown device, CUDA without a GPU, mismatched dimensions.
    TrainingError
        NaN/Inf loss; ``error.run`` holds the run so far.

    Examples
    --------
    >>> import gan_pde as gp
    >>> rho = gp.Gaussian(mean=[1.0], cov=[[1.0]])
    >>> run = train_gan(rho, steps=20, batch_size=64, n_data=500, n_eval=100, device="cpu")
    >>> run.samples.shape
    (11, 100, 1)
    """
    plan = _jsd_plan(
        "gan",
        target,
        generator=generator,
        discriminator=discriminator,
        latent_dim=latent_dim,
        steps=steps,
        batch_size=batch_size,
        discriminator_steps=discriminator_steps,
        generator_steps=1,
        lr_discriminator=lr_discriminator,
        lr_generator=lr_generator,
        epsilon=None,
        optimizer=optimizer,
        n_data=n_data,
        n_eval=n_eval,
        save_steps=save_steps,
        save_final=save_final,
        seed=seed,
        data_seed=data_seed,
        device=device,
        progress=progress,
        generator_optimizer=generator_optimizer,
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


def train_algorithm2(
    target: Any,
    *,
    epsilon: float,
    generator: Any = None,
    discriminator: Any = None,
    latent_dim: int | None = None,
    steps: int = 500,
    batch_size: int | None = 256,
    discriminator_steps: int = 1,
    generator_steps: int = 1,
    lr_discriminator: float = 0.05,
    lr_generator: float = 0.05,
    optimizer: str = "sgd",
    generator_optimizer: str | None = None,
    n_data: int = 10_000,
    n_eval: int = 2000,
    save_steps: Sequence[int] | int | None = None,
    save_final: bool = True,
    seed: int = 0,
    data_seed: int | None = None,
    device: Any = None,
    runs: int | None = None,
    progress: Progress = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_interval: float | None = 30.0,
    checkpoint_steps: int | None = None,
    resume: bool = False,
    trackers: Sequence[Tracker] = (),
) -> TrainingRun:
    r"""Train with Algorithm 2 of paper 002 (simulating ODE (5)).

    After the D-steps, targets :math:`y = G(z) + \varepsilon\nabla D(G(z))/(2(1-D(G(z))))`
    and ``generator_steps`` regression steps of G on :math:`\frac1m\sum|G(z) - y|^2`.
    Saved times are :math:`t_k = k\varepsilon`.

    Parameters
    ----------
    epsilon
        ε, the time step of the ODE (5).
    generator, latent_dim
        As in :func:`train_gan`.
    generator_steps
        Regression steps per iteration (on the same z and y).
    lr_generator
        Learning rate of the regression.
    generator_optimizer
        ``"sgd"`` or ``"adam"`` for the regression (default: ``optimizer``).
    target, discriminator, steps, batch_size, discriminator_steps, lr_discriminator
        As in :func:`train_gan`.
    optimizer, n_data, n_eval, save_steps, save_final, seed, data_seed, device, runs
        As in :func:`train_gan`.
    progress, checkpoint, checkpoint_interval, checkpoint_steps, resume, trackers
        As in :func:`train_gan`: a callback after each step, checkpoints and a
        bit-identical resume, further trackers.

    Returns
    -------
    TrainingRun
        ``algorithm="algorithm2"``; losses ``discriminator`` and ``generator`` (the
        regression loss before the first regression step, ε²|∇D/(2(1−D))|² on average).

    Examples
    --------
    >>> import gan_pde as gp
    >>> rho = gp.Gaussian(mean=[1.0], cov=[[1.0]])
    >>> run = train_algorithm2(rho, epsilon=0.1, steps=10, n_data=500, n_eval=50,
    ...                        device="cpu")
    >>> float(run.times[-1])
    1.0
    """
    plan = _jsd_plan(
        "algorithm2",
        target,
        generator=generator,
        discriminator=discriminator,
        latent_dim=latent_dim,
        steps=steps,
        batch_size=batch_size,
        discriminator_steps=discriminator_steps,
        generator_steps=generator_steps,
        lr_discriminator=lr_discriminator,
        lr_generator=lr_generator,
        epsilon=epsilon,
        optimizer=optimizer,
        n_data=n_data,
        n_eval=n_eval,
        save_steps=save_steps,
        save_final=save_final,
        seed=seed,
        data_seed=data_seed,
        device=device,
        progress=progress,
        generator_optimizer=generator_optimizer,
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


def train_particles(
    target: Any,
    initial: Any,
    *,
    epsilon: float,
    discriminator: Any = None,
    n_particles: int = 2000,
    steps: int = 500,
    batch_size: int | None = 256,
    discriminator_steps: int = 1,
    lr_discriminator: float = 0.05,
    optimizer: str = "sgd",
    n_data: int = 10_000,
    save_steps: Sequence[int] | int | None = None,
    save_final: bool = True,
    seed: int = 0,
    data_seed: int | None = None,
    device: Any = None,
    runs: int | None = None,
    progress: Progress = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_interval: float | None = 30.0,
    checkpoint_steps: int | None = None,
    resume: bool = False,
    trackers: Sequence[Tracker] = (),
) -> TrainingRun:
    r"""Algorithm 2 with a particle generator: explicit Euler for the particle ODE (5).

    Every iteration runs the D-steps (fake batches drawn from the particles), then moves
    all N particles by

    .. math::

        x_i \leftarrow x_i + \varepsilon\,\frac{\nabla D(x_i)}{2(1 - D(x_i))}

    (the regression of Algorithm 2 with learning rate N/2, which lands on the targets).
    Saved times are :math:`t_k = k\varepsilon`.

    Parameters
    ----------
    initial
        The initial law ρ_0 (a Density: ``n_particles`` samples drawn with ``data_seed``),
        an array ``(N, d)`` of particles, or a ParticleGenerator.
    epsilon
        ε, the Euler step.
    n_particles
        N when ``initial`` is a Density.
    target, discriminator, steps, batch_size, discriminator_steps, lr_discriminator
        As in :func:`train_gan`.
    optimizer, n_data, save_steps, save_final, seed, data_seed, device, runs
        As in :func:`train_gan`.
    progress, checkpoint, checkpoint_interval, checkpoint_steps, resume, trackers
        As in :func:`train_gan`: a callback after each step, checkpoints and a
        bit-identical resume, further trackers.

    Returns
    -------
    TrainingRun
        ``algorithm="particles"``; samples are all particles at the saved steps.

    Examples
    --------
    >>> import gan_pde as gp
    >>> rho = gp.Gaussian(mean=[1.0], cov=[[1.0]])
    >>> start = gp.Gaussian(mean=[0.0], cov=[[1.0]])
    >>> run = train_particles(rho, start, epsilon=0.1, n_particles=100, steps=5,
    ...                       n_data=500, device="cpu")
    >>> run.samples.shape
    (6, 100, 1)
    """
    plan = _jsd_plan(
        "particles",
        target,
        generator=None,
        discriminator=discriminator,
        latent_dim=None,
        steps=steps,
        batch_size=batch_size,
        discriminator_steps=discriminator_steps,
        generator_steps=1,
        lr_discriminator=lr_discriminator,
        lr_generator=1.0,
        epsilon=epsilon,
        optimizer=optimizer,
        n_data=n_data,
        n_eval=n_particles,
        save_steps=save_steps,
        save_final=save_final,
        seed=seed,
        data_seed=data_seed,
        device=device,
        progress=progress,
        initial=initial,
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
