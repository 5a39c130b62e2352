r"""Neurons trained by clipped SGD in the mean-field scaling, and their distance to the PDE.

With :math:`D_\Omega = \frac1N\sum_i a_i\sigma(b_i x + c_i)` and
:math:`G_\Theta = \frac1N\sum_i\alpha_i\sigma(\beta_i z + \gamma_i)`, one SGD step of size h
(Section 2.2, :math:`n_c = 1`, N = M) moves every neuron by :math:`h/N` times its mean-field
velocity evaluated at the sampled z, x:

.. math::

    \omega_i \leftarrow \mathrm{clip}_Q\Bigl(\omega_i + \gamma_c\frac hN\,
        \nabla_\omega\bigl[\sigma(G_\Theta(z);\omega_i) - \sigma(x;\omega_i)\bigr]\Bigr),
    \qquad
    \theta_i \leftarrow \theta_i
        - \frac hN\,D_\Omega'(G_\Theta(z))\,\nabla_\theta\sigma(z;\theta_i),

the generator step using the updated discriminator, at the times :math:`t_n = n h/N` of (5)
(γ_c multiplies the critic's step).  ``batch=None`` replaces the samples by the model's
quadrature (deterministic gradients: the particle ODE, i.e. the PDE started from the
empirical law, stepped by projected Euler).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from gan_pde._arrays import (
    as_finite_array,
    as_flag,
    as_positive,
    as_positive_int,
    save_times_in,
)
from gan_pde.engine import Stepper, Tracker
from gan_pde.errors import InvalidInputError
from gan_pde.meanfield.model import WGANMeanField, sigmoid
from gan_pde.meanfield.transport import BoxGrid, _engine_info, _save_rows, _saved_rows

__all__ = ["MeanFieldParticles", "sample_law", "simulate_particles", "w2_to_cells"]


@dataclass(frozen=True)
class MeanFieldParticles:
    """Neuron positions over time (:func:`simulate_particles`).

    Attributes
    ----------
    times
        Saved times t = n h / N (the last one is the final step's unless simulated with
        ``save_final=False``).
    theta, omega
        Shapes (n_saved, N, 3): (α, β, γ) and (a, b, c) of every neuron (frozen components
        constant).
    info
        N, h, batch, seed, γ_c, steps; the engine's ``n_steps`` (steps taken),
        ``seconds``, ``resumed_from_step`` and ``stop_reason``.
    """

    times: np.ndarray
    theta: np.ndarray
    omega: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)


def sample_law(masses: np.ndarray, grid: BoxGrid, n: int, rng: np.random.Generator) -> np.ndarray:
    """n draws from the piecewise-uniform law with these cell masses, shape (n, grid.dim)."""
    cells = rng.choice(masses.size, size=n, p=masses.ravel() / masses.sum())
    index = np.stack(np.unravel_index(cells, grid.cells), axis=1)
    lower, widths = np.array(grid.lower), np.array(grid.widths)
    return lower + (index + rng.random((n, grid.dim))) * widths


def _fill(free_values: np.ndarray, neurons: Any) -> np.ndarray:
    full = np.empty((free_values.shape[0], 3))
    for k in range(3):
        full[:, k] = (
            free_values[:, neurons.free.index(k)] if k in neurons.free else neurons.frozen[k]
        )
    return full


def _network(params: np.ndarray, inputs: np.ndarray, order: int) -> np.ndarray:
    """(1/N) Σ_i o_i σ^{(order)}(s_i u + b_i) s_i^order at the inputs (vectorised over neurons)."""
    o, s, b = params[:, 0:1], params[:, 1:2], params[:, 2:3]
    value = sigmoid(s * inputs[None, :] + b)
    factor = value if order == 0 else value * (1.0 - value) * s
    return (o * factor).mean(axis=0)


def _gradient(params: np.ndarray, nodes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """∇_(o,s,b) Σ_q W_q o σ(s u_q + b) for every neuron, shape (N, 3)."""
    o, s, b = params[:, 0:1], params[:, 1:2], params[:, 2:3]
    value = sigmoid(s * nodes[None, :] + b)
    d1 = value * (1.0 - value)
    a_ = value @ weights
    b_ = (d1 * nodes[None, :]) @ weights
    c_ = d1 @ weights
    return np.stack([a_, o[:, 0] * b_, o[:, 0] * c_], axis=1)


def simulate_particles(
    model: WGANMeanField,
    *,
    n: int,
    h: float,
    t_final: float,
    save_times: ArrayLike | None = None,
    save_final: bool = True,
    batch: int | None = 1,
    seed: int = 0,
    theta0: ArrayLike | None = None,
    omega0: ArrayLike | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_interval: float | None = 30.0,
    checkpoint_steps: int | None = None,
    resume: bool = False,
    trackers: Sequence[Tracker] = (),
) -> MeanFieldParticles:
    """Train N generator and N discriminator neurons by clipped SGD (mean-field scaling).

    Each SGD step is one step of :func:`gan_pde.engine.run`; the random generator is part
    of the state, so a resumed run draws the same samples as an uninterrupted one.  An
    :class:`~gan_pde.engine.InvariantTracker` stops the run at the first non-finite
    position.

    Parameters
    ----------
    model
        The :class:`WGANMeanField` (its initial laws, data, γ_c, frozen components).  Only
        ``energy="wgan"`` has a particle version here.
    n
        Number of neurons N per network.
    h
        Learning rate; each step advances time by h / N.
    t_final
        End time (rounded up to whole steps: the run ends at ``ceil(t_final / (h/N))``
        steps).
    save_times
        Times in [0, t_final] at which positions are stored (default: 0 and t_final),
        rounded to steps; the save time ``t_final`` is the final step.  The final step is
        always added unless ``save_final=False``.
    save_final
        Also store the final state, at the final step (default).  False stores only the
        ``save_times`` and stops at the last of them (the old behaviour).
    batch
        Samples of z and x per step (1: the paper's SGD); None: deterministic quadrature.
    seed
        Random seed (initial draws and SGD samples).
    theta0, omega0
        Optional initial free components, shapes (N, free dims); default: i.i.d. draws from
        the model's (piecewise-uniform) initial laws.
    checkpoint
        File to which the run is checkpointed; None: no checkpoint.
    checkpoint_interval, checkpoint_steps
        Checkpoint once this many seconds have passed since the last checkpoint, and/or
        every this many SGD steps (and after the last).
    resume
        Continue from ``checkpoint`` if it exists (bit-identical to an uninterrupted run);
        a checkpoint of other parameters is refused.
    trackers
        More :class:`~gan_pde.engine.Tracker` objects, called after every SGD step.

    Returns
    -------
    MeanFieldParticles
        ``info`` adds the engine's ``n_steps``, ``seconds`` and ``resumed_from_step``.

    Examples
    --------
    >>> import gan_pde as gp
    >>> model = WGANMeanField(
    ...     data=gp.GaussianMixture(means=[[-0.5], [0.5]], stds=[0.2, 0.2]),
    ...     generator={"alpha": (-2.0, 2.0, 20), "beta": 1.0, "gamma": 0.0},
    ...     discriminator={"a": (-1.0, 1.0, 20), "b": 1.0, "c": 0.0},
    ...     mu_in=lambda alpha: np.exp(-alpha**2), nu_in=lambda a: np.exp(-a**2))
    >>> run = simulate_particles(model, n=1000, h=1.0, t_final=0.1)
    >>> run.omega.shape
    (2, 1000, 3)
    """
    from gan_pde import engine

    if not isinstance(model, WGANMeanField) or model.energy_kind != "wgan":
        msg = "model must be a WGANMeanField with energy='wgan' (clipped SGD)"
        raise InvalidInputError(msg)
    n = as_positive_int(n, "n")
    h = as_positive(h, "h")
    t_final = as_positive(t_final, "t_final")
    if batch is not None:
        batch = as_positive_int(batch, "batch")
    dt = h / n
    steps = int(np.ceil(t_final / dt - 1e-9))
    times = save_times_in([0.0, t_final] if save_times is None else save_times, t_final)
    # t_final itself is the last step (t_final is rounded up to whole steps)
    save_steps = np.where(times == t_final, steps, np.round(times / dt)).astype(int)
    if as_flag(save_final, "save_final") and save_steps[-1] != steps:
        save_steps = np.append(save_steps, steps)
    rng = np.random.default_rng(seed)
    gen, dis = model.generator, model.discriminator
    theta = _fill(_initial(theta0, model.mu_in, gen, n, rng, "theta0"), gen)
    omega = _fill(_initial(omega0, model.nu_in, dis, n, rng, "omega0"), dis)
    # the run stops at the last save (every step when save_final)
    grid = np.arange(save_steps[-1] + 1) * dt
    saved, rows = _save_rows(grid.size, save_steps)
    stepper = _ParticleStepper(
        model,
        dt,
        batch,
        {"theta": theta, "omega": omega, "rng": rng},
        {"n": n, "h": h, "batch": batch, "seed": seed},
    )
    # NaN/inf watch of the positions: one sum (a NaN or an infinity propagates into it) is
    # cheaper than checking the whole state, whose generator is serialised for the check
    invariants = engine.InvariantTracker(
        {"sum of the neuron parameters": lambda v: float(v["theta"].sum() + v["omega"].sum())},
        finite_state=False,
    )
    invariants.name = "particle_invariants"
    result = engine.run(
        stepper,
        grid=(grid, saved),
        trackers=[
            invariants,
            *engine.standard_trackers(
                checkpoint=checkpoint,
                checkpoint_interval=checkpoint_interval,
                checkpoint_steps=checkpoint_steps,
                resume=resume,
                trackers=trackers,
            ),
        ],
        resume=resume,
    )
    saved_times, observed = _saved_rows(result, rows)
    if not result.info["stop_reason"]:
        saved_times = save_steps * dt
    return MeanFieldParticles(
        times=saved_times,
        theta=observed["theta"],
        omega=observed["omega"],
        info={
            "n": n,
            "h": h,
            "dt": dt,
            "batch": batch,
            "seed": seed,
            "gamma_c": model.gamma_c,
            "steps": steps,
            "t_final": steps * dt,
            "save_final": bool(save_final),
            "n_steps": result.info["n_steps"],
            **_engine_info(result),
        },
    )


class _ParticleStepper(Stepper):
    """One clipped SGD step of :func:`simulate_particles` (state: positions and generator)."""

    kind = "meanfield_particles"

    def __init__(
        self,
        model: WGANMeanField,
        dt: float,
        batch: int | None,
        start: dict[str, Any],
        parameters: dict[str, Any],
    ) -> None:
        self.model, self.dt, self.batch, self.start = model, dt, batch, start
        self.parameters = parameters
        self.frozen_t = [k for k in range(3) if k not in model.generator.free]
        self.frozen_o = [k for k in range(3) if k not in model.discriminator.free]

    def fingerprint(self) -> dict[str, Any]:
        return {
            **self.model.fingerprint(),
            **self.parameters,
            "theta0": self.start["theta"],
            "omega0": self.start["omega"],
        }

    def initial_state(self) -> dict[str, Any]:
        start = self.start
        return {"theta": start["theta"], "omega": start["omega"], "rng": _copy(start["rng"])}

    def step(self, state: dict[str, Any], t: float, dt: float) -> tuple[dict[str, Any], dict]:
        model, dt = self.model, self.dt
        theta, omega, rng = state["theta"], state["omega"], _copy(state["rng"])
        if self.batch is None:
            z, wz, x, wx = model.z, model.z_weights, model.x_nodes, model.x_weights
        else:
            z = rng.standard_normal(self.batch)
            wz = np.full(self.batch, 1.0 / self.batch)
            x = _sample_data(model, self.batch, rng)
            wx = wz
        g_z = _network(theta, z, 0)
        step_o = _gradient(omega, np.concatenate([g_z, x]), np.concatenate([wz, -wx]))
        step_o[:, self.frozen_o] = 0.0
        omega = np.clip(omega + model.gamma_c * dt * step_o, -1.0, 1.0)
        d_prime = _network(omega, g_z, 1)
        step_t = _gradient(theta, z, wz * d_prime)
        step_t[:, self.frozen_t] = 0.0
        theta = theta - dt * step_t
        return {"theta": theta, "omega": omega, "rng": rng}, {}

    def observe(self, state: dict[str, Any], t: float) -> dict[str, np.ndarray]:
        return {"theta": state["theta"], "omega": state["omega"]}

    def state_arrays(self, state: dict[str, Any]) -> dict[str, Any]:
        from gan_pde.engine import rng_state

        return {"theta": state["theta"], "omega": state["omega"], "rng": rng_state(state["rng"])}

    def load_state(self, arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
        from gan_pde.engine import set_rng_state

        rng = np.random.default_rng()
        set_rng_state(rng, arrays["rng"])
        return {"theta": np.array(arrays["theta"]), "omega": np.array(arrays["omega"]), "rng": rng}


def _copy(rng: np.random.Generator) -> np.random.Generator:
    """An independent generator in the same state (a step must not change its input);
    4x quicker than ``copy.deepcopy``."""
    bits = type(rng.bit_generator)(0)
    bits.state = rng.bit_generator.state
    return np.random.Generator(bits)


def _initial(
    values: Any, masses: np.ndarray, neurons: Any, n: int, rng: np.random.Generator, name: str
) -> np.ndarray:
    if values is None:
        return sample_law(masses, neurons.grid, n, rng)
    arr = np.asarray(values, dtype=float).reshape(n, -1)
    if arr.shape != (n, neurons.grid.dim):
        msg = f"{name} must have shape ({n}, {neurons.grid.dim}); got {np.shape(values)}"
        raise InvalidInputError(msg)
    return as_finite_array(arr, name)


def _sample_data(model: WGANMeanField, size: int, rng: np.random.Generator) -> np.ndarray:
    """Draws from P: its quadrature nodes are samples (equal weights) or Gauss–Hermite nodes
    of Gaussian components; for the latter we sample the Gaussian components directly."""
    data = model.data
    if hasattr(data, "sample"):
        return data.sample(size, rng=rng)[:, 0]
    return rng.choice(model.x_nodes, size=size)


def w2_to_cells(points: ArrayLike, edges: np.ndarray, masses: np.ndarray) -> float:
    r"""Exact :math:`d_2^2` between an empirical law in 1D and a piecewise-uniform cell law.

    .. math::

        d_2^2 = \int_0^1 |F_N^{-1}(q) - F^{-1}(q)|^2\,dq ,

    with :math:`F_N^{-1}` a step function (sorted points) and :math:`F^{-1}` piecewise
    linear (uniform mass in each cell); on the merged breakpoints the integrand is a
    quadratic, integrated exactly by Simpson's rule.

    Examples
    --------
    >>> round(w2_to_cells([0.5], np.array([0.0, 1.0]), np.array([1.0])), 12)   # ∫(x-½)² on [0,1]
    0.083333333333
    """
    x = np.sort(np.asarray(points, dtype=float).ravel())
    masses = np.asarray(masses, dtype=float)
    if x.size == 0 or masses.ndim != 1 or edges.size != masses.size + 1:
        msg = "w2_to_cells needs 1D points, cell masses and edges (cells + 1)"
        raise InvalidInputError(msg)
    cdf = np.concatenate([[0.0], np.cumsum(masses)])
    cdf /= cdf[-1]
    breaks = np.union1d(cdf, np.arange(x.size + 1) / x.size)
    lo, hi = breaks[:-1], breaks[1:]
    keep = hi > lo
    lo, hi = lo[keep], hi[keep]
    mid = 0.5 * (lo + hi)
    step = x[np.minimum((mid * x.size).astype(int), x.size - 1)]

    # F^{-1} is linear inside the cell that holds (lo, hi) (every cdf value is a breakpoint,
    # so a piece never straddles two cells, and its cell has positive mass): evaluate it
    # there, Simpson's rule being exact for the quadratic integrand.  np.interp(q, cdf,
    # edges) was wrong at a piece's ends: on the runs of equal cdf values of empty cells it
    # returns the last of their edges, e.g. F^{-1}(1) = the grid's upper edge instead of
    # the support's upper end when the top cells are empty (d2^2 off by O(1/N)).  The cell is
    # found from the piece's lower end: the last j with cdf[j] <= lo has cdf[j+1] > lo, a
    # cell of positive mass (the midpoint can round onto a cdf value when the end masses are
    # below round-off, and select an empty cell: 0/0)
    cell = np.clip(np.searchsorted(cdf, lo, side="right") - 1, 0, masses.size - 1)
    left, right = cdf[cell], cdf[cell + 1]
    width = edges[cell + 1] - edges[cell]

    def inverse(q: np.ndarray) -> np.ndarray:
        return edges[cell] + (q - left) / (right - left) * width

    values = [(step - inverse(q)) ** 2 for q in (lo, mid, hi)]
    return float(np.sum((hi - lo) / 6.0 * (values[0] + 4.0 * values[1] + values[2])))
