r"""WGAN with weight clipping in the mean-field scaling of paper 001 (Delgadino et al.).

Generator and critic are the one-hidden-layer networks (2)–(3),
:math:`G_\Theta(z) = \frac1N\sum_i \alpha_i\sigma(\beta_i z + \gamma_i)` and
:math:`D_\Omega(x) = \frac1M\sum_j a_j\sigma(b_j\cdot x + c_j)`
(:class:`~gan_pde.nn.networks.MeanFieldSigmoidNet`).  Training (Section 2.2): for
:math:`l = 1, \dots, n_c` critic steps

.. math::

    \Omega \leftarrow \operatorname{clip}\Bigl(\Omega + h\,\nabla_\Omega\bigl[
        \tfrac1m\textstyle\sum D_\Omega(G_\Theta(z_l)) - \tfrac1m\sum D_\Omega(x_l)\bigr]\Bigr),

clip the projection on :math:`Q = [-1, 1]^{1 + K + 1}` per critic neuron, then one
generator step :math:`\Theta \leftarrow \Theta - h\,\nabla_\Theta\frac1m\sum
D_\Omega(G_\Theta(z))`.  The critic ascends and the generator descends the energy (6),
:math:`E[\mu,\nu] = \int D_\nu(G_\mu(z))\,dN(z) - \int D_\nu\,dP`.

Because of the 1/N (1/M) in front of the sums, a neuron moves by h/N (h/M) times the
mean-field velocity per step: training step n is the time :math:`t_n = nh/N` of the
continuity system (7), and the critic runs :math:`\gamma_c = n_c N/M` times faster.  The
clipped step is the explicit Euler step of the projected velocity (8) for neurons on the
faces of Q.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from gan_pde._arrays import as_non_negative_int, as_positive, as_positive_int
from gan_pde.errors import InvalidInputError
from gan_pde.nn._torch import make_generator, require_torch, select_device
from gan_pde.nn.engine import (
    Plan,
    check_dims,
    execute,
    prepare_data,
    save_grid,
    tree_map,
)
from gan_pde.nn.networks import MeanFieldSigmoidNet
from gan_pde.nn.run import TrainingRun

if TYPE_CHECKING:
    from gan_pde.engine import Tracker

torch = require_torch()

__all__ = ["CLIP", "train_wgan"]

#: Half-width of the clipping box Q = [−CLIP, CLIP]^(K+2) of the critic's neurons (paper 001,
#: Section 2.2: Q = [−1, 1]^(K+2)).
CLIP = 1.0


def train_wgan(
    target: Any,
    *,
    width: int = 100,
    critic_width: int | None = None,
    latent_dim: int = 1,
    h: float = 1.0,
    critic_steps: int = 1,
    steps: int = 1000,
    batch_size: int | None = 64,
    generator_init_scale: float = 1.0,
    critic_init_scale: float = 1.0,
    generator_init: Any = None,
    critic_init: Any = None,
    frozen: Sequence[str] = (),
    n_data: int = 10_000,
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
    r"""Train the WGAN with clipping of paper 001, Section 2.2, in mean-field scaling.

    Parameters
    ----------
    target
        The data law P: a Density (``n_data`` samples) or an array ``(n, K)``.
    width, critic_width
        N generator neurons and M critic neurons (default M = N).
    latent_dim
        L; the latent law is N(0, I_L).
    h
        Learning rate; the saved times are :math:`t_n = nh/N`.
    critic_steps
        n_c critic steps per generator step (:math:`\gamma_c = n_c N/M`).
    batch_size
        m samples per step (None: the whole data set and ``n_data`` latent draws).
    generator_init_scale, critic_init_scale
        Neurons start i.i.d. uniform on [−s, s] (critic: s ≤ 1 keeps them in Q).
    generator_init, critic_init
        Optional initial neurons instead: arrays ``(N, K + L + 1)`` with columns
        (α, β, γ) and ``(M, 2 + K)`` with columns (a, b, c) (critic neurons in Q).  With
        ``runs`` = R they may also have a leading axis of R: ensemble member r starts from
        its own neurons ``[r]`` (independent repetitions in one vmapped call).
    frozen
        Components that do not train, from ``"G/a"``, ``"G/b"``, ``"G/c"`` (α, β, γ),
        ``"D/a"``, ``"D/b"``, ``"D/c"``: their gradient is set to 0 (the frozen axes of
        :class:`gan_pde.meanfield.WGANMeanField`).
    n_data, n_eval, save_steps, save_final, seed, data_seed, device, runs, progress
        As in :func:`gan_pde.nn.train_gan`.
    checkpoint, checkpoint_interval, checkpoint_steps, resume, trackers
        Checkpoints every so many seconds or steps and a bit-identical resume, further
        trackers: as in :func:`gan_pde.nn.train_gan`.

    Returns
    -------
    TrainingRun
        ``algorithm="wgan"``; parameters ``G/a`` (N, K), ``G/b`` (N, L), ``G/c`` (N,)
        and ``D/a`` (M, 1), ``D/b`` (M, K), ``D/c`` (M,) per snapshot: the empirical
        neuron laws μ_N(t), ν_M(t); losses ``energy`` (E on the batch, before the
        generator step) and ``wall_fraction`` (share of critic parameters on ∂Q).

    Examples
    --------
    >>> import gan_pde as gp
    >>> rho = gp.Gaussian(mean=[0.5], cov=[[0.25]])
    >>> run = train_wgan(rho, width=20, steps=10, n_data=200, n_eval=50, device="cpu")
    >>> run.parameters["D/a"].shape, float(abs(run.parameters["D/a"]).max()) <= 1.0
    ((11, 20, 1), True)
    """
    dev = select_device(device)
    dtype = torch.float64
    steps = as_positive_int(steps, "steps")
    grid = save_grid(steps, save_steps, save_final=save_final)
    n = as_positive_int(width, "width")
    m_critic = n if critic_width is None else as_positive_int(critic_width, "critic_width")
    n_c = as_positive_int(critic_steps, "critic_steps")
    lr = as_positive(h, "h")
    seed = as_non_negative_int(seed, "seed")
    data_seed = seed if data_seed is None else as_non_negative_int(data_seed, "data_seed")
    data = prepare_data(target, n_data=n_data, seed=data_seed, dtype=dtype, device=dev)
    n_total, dim = (int(s) for s in data.shape)
    generator = MeanFieldSigmoidNet(
        as_positive_int(latent_dim, "latent_dim"), dim, width=n, init_scale=generator_init_scale
    )
    critic = MeanFieldSigmoidNet(dim, 1, width=m_critic, init_scale=critic_init_scale)
    check_dims(critic, in_dim=dim, out_dim=1, role="critic")
    m = n_total if batch_size is None else as_positive_int(batch_size, "batch_size")
    names = {f"{net}/{k}" for net in "GD" for k in "abc"}
    frozen = tuple(frozen)
    if any(name not in names for name in frozen):
        msg = f"frozen must hold names from {sorted(names)}; got {list(frozen)}"
        raise InvalidInputError(msg)
    masks = {net: {k: 0.0 if f"{net}/{k}" in frozen else 1.0 for k in "abc"} for net in "GD"}
    count = None if runs is None else as_positive_int(runs, "runs")
    starts = {
        "G": _neurons(generator_init, generator, "generator_init", dtype, dev, count),
        "D": _neurons(critic_init, critic, "critic_init", dtype, dev, count),
    }
    if (
        starts["D"] is not None
        and max(float(v.abs().max()) for one in starts["D"] for v in one.values()) > CLIP
    ):
        msg = "critic_init must lie in Q = [-1, 1]^(K+2) (the clipping box)"
        raise InvalidInputError(msg)
    eval_gen = make_generator(data_seed)
    z_eval = torch.randn(as_positive_int(n_eval, "n_eval"), generator.in_dim, generator=eval_gen)
    z_eval = z_eval.to(dtype=dtype, device=dev)

    def energy(d_params: dict[str, Any], g_params: dict[str, Any], real: Any, z: Any) -> Any:
        return critic(d_params, generator(g_params, z)).mean() - critic(d_params, real).mean()

    def init(gen: Any, run: int) -> dict[str, Any]:
        drawn = {
            "G": generator.init(gen, dtype=dtype, device=dev),
            "D": tree_map(
                lambda p: p.clamp(-CLIP, CLIP), critic.init(gen, dtype=dtype, device=dev)
            ),
        }
        return {net: drawn[net] if starts[net] is None else starts[net][run] for net in "GD"}

    def draw(gen: Any) -> dict[str, Any]:
        if batch_size is None:
            xi = torch.arange(n_total).expand(n_c, n_total)
        else:
            xi = torch.randint(n_total, (n_c, m), generator=gen)
        return {
            "xi": xi.to(dev),
            "zd": torch.randn(n_c, m, generator.in_dim, generator=gen, dtype=dtype).to(dev),
            "zg": torch.randn(m, generator.in_dim, generator=gen, dtype=dtype).to(dev),
        }

    def step(state: dict[str, Any], batch: dict[str, Any]) -> tuple[dict[str, Any], dict]:
        d_params, g_params = state["D"], state["G"]
        value = torch.zeros((), dtype=dtype, device=dev)
        for j in range(n_c):
            real = data[batch["xi"][j]]
            grads, value = torch.func.grad_and_value(
                lambda p, r=real, z=batch["zd"][j]: energy(p, g_params, r, z)
            )(d_params)
            grads = {k: masks["D"][k] * g for k, g in grads.items()}
            d_params = tree_map(lambda p, g: (p + lr * g).clamp(-CLIP, CLIP), d_params, grads)
        grads = torch.func.grad(lambda p: critic(d_params, generator(p, batch["zg"])).mean())(
            g_params
        )
        grads = {k: masks["G"][k] * g for k, g in grads.items()}
        g_params = tree_map(lambda p, g: p - lr * g, g_params, grads)
        on_wall = sum((p.abs() >= CLIP).sum() for p in d_params.values())
        total = sum(p.numel() for p in d_params.values())
        return {"D": d_params, "G": g_params}, {
            "energy": value,
            "wall_fraction": on_wall.to(dtype) / total,
        }

    def observe(state: dict[str, Any]) -> dict[str, Any]:
        return {"samples": generator(state["G"], z_eval), "G": state["G"], "D": state["D"]}

    config = {
        "algorithm": "wgan",
        "width": n,
        "critic_width": m_critic,
        "latent_dim": generator.in_dim,
        "h": lr,
        "critic_steps": n_c,
        "gamma_c": n_c * n / m_critic,
        "steps": steps,
        "batch_size": batch_size,
        "generator_init_scale": float(generator_init_scale),
        "critic_init_scale": float(critic_init_scale),
        "frozen": list(frozen),
        "given_initial_neurons": [net for net in "GD" if starts[net] is not None],
        "n_data": n_total,
        "n_eval": int(z_eval.shape[0]),
        "data_seed": data_seed,
        "dim": dim,
    }
    plan = Plan(
        algorithm="wgan",
        init=init,
        draw=draw,
        step=step,
        observe=observe,
        steps=steps,
        save_steps=grid,
        time_per_step=lr / n,
        seed=seed,
        device=dev,
        config=config,
        progress=progress,
        fingerprint={"data": data},
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


def _neurons(
    values: Any, net: MeanFieldSigmoidNet, name: str, dtype: Any, dev: Any, runs: int | None
) -> Any:
    """Per-run parameter dictionaries from an array of neurons (columns a, b, c), or None.

    ``values`` of shape ``(width, columns)`` is shared by every run; with ``runs`` = R it
    may also have shape ``(R, width, columns)`` (one set per run).  Returns a list indexed
    by the run (length 1 for a single run).
    """
    if values is None:
        return None
    arr = torch.as_tensor(values, dtype=dtype)
    width = net.out_dim + net.in_dim + 1
    shape = (net.width, width)
    stacked = runs is not None and arr.ndim == 3
    if (
        (arr.shape[1:] if stacked else arr.shape) != shape
        or (stacked and arr.shape[0] != runs)
        or not bool(torch.isfinite(arr).all())
    ):
        stack = f" or ({runs}, {net.width}, {width}) (one set per run)" if runs else ""
        msg = (
            f"{name} must be a finite array of shape ({net.width}, {width}) (one row per "
            f"neuron: a, b, c){stack}; got shape {tuple(arr.shape)}"
        )
        raise InvalidInputError(msg)
    k, l_ = net.out_dim, net.in_dim
    sets = list(arr) if stacked else [arr] * (1 if runs is None else runs)
    return [
        {
            "a": one[:, :k].clone().to(dev),
            "b": one[:, k : k + l_].clone().to(dev),
            "c": one[:, k + l_].clone().to(dev),
        }
        for one in sets
    ]
