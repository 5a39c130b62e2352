"""Ensembles of SGA iterations (ALT)/(SML) and of their SDEs (paper 000, Section 3).

Every path of an ensemble lives in one batched tensor ``(n_paths, d)``; gradients of all
paths are taken at once with ``torch.func.vmap``.  The SDEs are integrated with
Euler–Maruyama (weak order 1) and, by default, Richardson extrapolation
:math:`2\\,\\mathbb E f(X^{h/2}) - \\mathbb E f(X^{h})` of two coupled runs that share their
Brownian increments (weak order 2, Talay–Tubaro), which is what a comparison with the
O(η²) accuracy of (ALT-SDE) needs.  Estimates carry Monte-Carlo standard errors.

Both simulations run on the stepping engine (:func:`gan_pde.engine.run`): one engine step
is one SGA iteration (:class:`SGAStepper`) or one interval η of the SDE, whose
Euler–Maruyama sub-steps are taken inside the step (:class:`SDEStepper`).  The torch
generator is part of the state, so a run resumed from a checkpoint draws the same numbers
as an uninterrupted one and ends with the same bits.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gan_pde import engine
from gan_pde._arrays import as_choice, as_flag, as_positive_int
from gan_pde.errors import InvalidInputError
from gan_pde.sde._torch import require_torch
from gan_pde.sde.coefficients import GANSDE, finite_or_raise
from gan_pde.sde.quadratic import SCHEMES, SDE_KINDS, check_batch, check_rate

__all__ = [
    "Ensemble",
    "SDEStepper",
    "SGAStepper",
    "default_observables",
    "simulate_sde",
    "simulate_sga",
]


@dataclass(frozen=True)
class Ensemble:
    """Monte-Carlo estimates of E f(γ_t) at the recorded times.

    Attributes
    ----------
    times
        ``(T,)`` recorded times (t·η for SGA iterate t).
    mean, stderr
        ``(T, m)`` estimates of E f for the m observables and their standard errors.
    final
        ``(n_paths, d)`` states at the last time (for SDE with Richardson: the fine run).
    final_coarse
        For SDE runs with Richardson: the coupled coarse run's final states, else None.
    info
        Parameters of the run, and the engine's ``n_steps``, ``seconds`` (wall time,
        resumed sessions included), ``resumed_from_step`` and ``stop_reason``.
    """

    times: np.ndarray
    mean: np.ndarray
    stderr: np.ndarray
    final: np.ndarray
    final_coarse: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        from gan_pde._repr import short_repr

        return short_repr(self)


def default_observables(gamma: Any) -> Any:
    """f(γ) = (γ_1, …, γ_d, γ_1², …, γ_d²): means and second moments of each parameter."""
    return require_torch().cat([gamma, gamma**2], dim=-1)


def _common(sde: GANSDE, gamma0: Any, n_paths: int, steps: int) -> tuple[Any, int, int, Any]:
    torch = require_torch()
    if not isinstance(sde, GANSDE):
        msg = f"sde must be a GANSDE; got {type(sde).__name__}"
        raise InvalidInputError(msg)
    n_paths, steps = as_positive_int(n_paths, "n_paths"), as_positive_int(steps, "steps")
    gamma0 = torch.as_tensor(gamma0, dtype=torch.float64)
    if gamma0.shape != (sde.dimension,) or not bool(torch.isfinite(gamma0).all()):
        msg = f"gamma0 must be a finite vector of length {sde.dimension}; got {gamma0!r}"
        raise InvalidInputError(msg)
    return torch, n_paths, steps, gamma0.expand(n_paths, -1).clone()


def _record(observe: Callable[[Any], Any], gamma: Any) -> tuple[np.ndarray, np.ndarray]:
    values = observe(gamma).detach().cpu().numpy()
    return values.mean(0), values.std(0, ddof=1) / math.sqrt(values.shape[0])


def _callable_name(function: Any) -> str:
    """A stable name of a loss or an observable for a checkpoint's fingerprint: module and
    qualified name, with the arguments of a :func:`functools.partial`."""
    if isinstance(function, functools.partial):
        inner = _callable_name(function.func)
        return f"{inner}(*{function.args!r}, **{dict(sorted(function.keywords.items()))!r})"
    name = getattr(function, "__qualname__", type(function).__qualname__)
    return f"{getattr(function, '__module__', '')}.{name}"


def _sde_fingerprint(sde: GANSDE) -> dict[str, Any]:
    """What determines a :class:`GANSDE`: its loss (by name), data pairs and dimensions."""
    return {
        "loss": _callable_name(sde.loss),
        "x_pairs": sde.x_pairs.detach().cpu().numpy(),
        "z_pairs": sde.z_pairs.detach().cpu().numpy(),
        "d_theta": sde.d_theta,
        "d_omega": sde.d_omega,
    }


def _copy_generator(generator: Any) -> Any:
    """A new torch generator in the state of ``generator`` (a step draws from the copy, so
    the state it was given stays as it was)."""
    copy = require_torch().Generator()
    copy.set_state(generator.get_state())
    return copy


def _load_generator(state: np.ndarray) -> Any:
    generator = require_torch().Generator()
    engine.set_rng_state(generator, state)
    return generator


class _EnsembleStepper(engine.Stepper):
    """What the two ensembles share: the paths (from the ``(n_paths, d)`` tensor ``start``)
    and the generator as the state, the Monte-Carlo mean and standard error of the
    observables at each save time."""

    #: State entries that hold ``(n_paths, d)`` tensors of paths.
    _paths: tuple[str, ...] = ()

    def __init__(
        self,
        sde: GANSDE,
        start: Any,
        *,
        eta: float,
        batch_size: int,
        n_paths: int,
        seed: int,
        observe: Callable[[Any], Any],
    ) -> None:
        self.torch = require_torch()
        self.sde, self.start = sde, start
        self.eta, self.batch, self.n_paths, self.seed = eta, batch_size, n_paths, int(seed)
        self.observe_function = observe

    def fingerprint(self) -> dict[str, Any]:
        return {
            **_sde_fingerprint(self.sde),
            "start": self.start.numpy(),
            "eta": self.eta,
            "batch_size": self.batch,
            "n_paths": self.n_paths,
            "seed": self.seed,
            "observe": _callable_name(self.observe_function),
        }

    def initial_state(self) -> dict[str, Any]:
        state = {name: self.start.clone() for name in self._paths}
        state["generator"] = self.torch.Generator().manual_seed(self.seed)
        return state

    def state_arrays(self, state: Mapping[str, Any]) -> dict[str, np.ndarray]:
        arrays = {name: state[name].numpy().copy() for name in self._paths}
        arrays["generator"] = engine.rng_state(state["generator"])
        return arrays

    def load_state(self, arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
        state = {name: self.torch.from_numpy(np.array(arrays[name])) for name in self._paths}
        state["generator"] = _load_generator(arrays["generator"])
        return state

    def view(self, state: Mapping[str, Any]) -> Any:
        """Callbacks receive the ``(n_paths, d)`` paths (for the SDE: the fine run)."""
        return state[self._paths[0]]


class SGAStepper(_EnsembleStepper):
    """(ALT) or (SML) on ``n_paths`` copies as a :class:`gan_pde.engine.Stepper`: one step
    is one iteration (time η).

    (ALT): ω' = ω + η g_ω^B(θ, ω), θ' = θ − η g_θ^{B̄}(θ, ω') with independent batches
    B, B̄ of B i.i.d. pairs; (SML): both gradients at (θ, ω) from one batch B.  The state
    is the paths ``gamma`` and the torch ``generator`` that draws the batches.  Build it
    through :func:`simulate_sga`.
    """

    kind = "sde.sga"
    _paths = ("gamma",)

    def __init__(self, sde: GANSDE, start: Any, *, scheme: str, **options: Any) -> None:
        super().__init__(sde, start, **options)
        self.scheme = scheme
        self._grad = self.torch.func.vmap(self.torch.func.grad(sde.batch_phi))

    def fingerprint(self) -> dict[str, Any]:
        return {**super().fingerprint(), "scheme": self.scheme}

    def step(
        self, state: Mapping[str, Any], t: float, dt: float
    ) -> tuple[dict[str, Any], dict[str, float]]:
        torch, sde, eta = self.torch, self.sde, self.eta
        generator = _copy_generator(state["generator"])
        p = sde.d_theta

        def batch_gradient(point: Any) -> Any:
            idx = torch.randint(sde.n_samples, (self.n_paths, self.batch), generator=generator)
            return self._grad(point, sde.x_pairs[idx], sde.z_pairs[idx])

        gamma = state["gamma"]
        if self.scheme == "sml":
            g = batch_gradient(gamma)
            gamma = torch.cat([gamma[:, :p] - eta * g[:, :p], gamma[:, p:] + eta * g[:, p:]], 1)
        else:
            omega = gamma[:, p:] + eta * batch_gradient(gamma)[:, p:]
            half = torch.cat([gamma[:, :p], omega], 1)
            gamma = torch.cat([gamma[:, :p] - eta * batch_gradient(half)[:, :p], omega], 1)
        finite_or_raise(gamma, f"{self.scheme.upper()} iterate")
        return {"gamma": gamma, "generator": generator}, {}

    def observe(self, state: Mapping[str, Any], t: float) -> dict[str, np.ndarray]:
        mean, error = _record(self.observe_function, state["gamma"])
        return {"mean": mean, "stderr": error}


class SDEStepper(_EnsembleStepper):
    """(ALT-SDE), (SML-SDE) or (14) on ``n_paths`` paths as a
    :class:`gan_pde.engine.Stepper`: one step is the time η, taken by ``substeps``
    Euler–Maruyama sub-steps h = η/``substeps`` (and, with ``richardson``, the coupled
    run with h/2 on the same Brownian path).

    The state is the paths ``fine`` (and ``coarse`` with ``richardson``) and the torch
    ``generator`` of the Brownian increments.  Build it through :func:`simulate_sde`.
    """

    kind = "sde.em"

    def __init__(
        self,
        sde: GANSDE,
        start: Any,
        *,
        kind: str,
        substeps: int,
        richardson: bool,
        **options: Any,
    ) -> None:
        super().__init__(sde, start, **options)
        self.sde_kind, self.substeps, self.richardson = kind, substeps, richardson
        self._paths = ("fine", "coarse") if richardson else ("fine",)
        eta, batch = self.eta, self.batch
        self._drift = self.torch.func.vmap(lambda g: sde.drift(g, eta=eta, kind=kind))
        self._noise = self.torch.func.vmap(
            lambda g, a, b: sde.noise(g, a, b, eta=eta, batch_size=batch)
        )

    def fingerprint(self) -> dict[str, Any]:
        return {
            **super().fingerprint(),
            "kind": self.sde_kind,
            "substeps": self.substeps,
            "richardson": self.richardson,
        }

    def _em(self, state: Any, dt: float, xi_t: Any, xi_w: Any) -> Any:
        return state + dt * self._drift(state) + math.sqrt(dt) * self._noise(state, xi_t, xi_w)

    def step(
        self, state: Mapping[str, Any], t: float, dt: float
    ) -> tuple[dict[str, Any], dict[str, float]]:
        torch, em = self.torch, self._em
        generator = _copy_generator(state["generator"])
        fine, coarse = state["fine"], state.get("coarse")
        h = self.eta / self.substeps
        for _ in range(self.substeps):
            xi = torch.randn(
                4, self.n_paths, self.sde.n_samples, generator=generator, dtype=torch.float64
            )
            if self.richardson:
                fine = em(fine, h / 2, xi[0], xi[1])
                fine = em(fine, h / 2, xi[2], xi[3])
                s = 1 / math.sqrt(2)
                coarse = em(coarse, h, s * (xi[0] + xi[2]), s * (xi[1] + xi[3]))
            else:
                fine = em(fine, h, xi[0], xi[1])
        finite_or_raise(fine, f"{self.sde_kind.upper()}-SDE path")
        new = {"fine": fine, "generator": generator}
        if self.richardson:
            new["coarse"] = coarse
        return new, {}

    def observe(self, state: Mapping[str, Any], t: float) -> dict[str, np.ndarray]:
        fine, observe = state["fine"], self.observe_function
        estimate = (
            2 * observe(fine) - observe(state["coarse"]) if self.richardson else observe(fine)
        )
        values = estimate.detach().cpu().numpy()
        return {
            "mean": values.mean(0),
            "stderr": values.std(0, ddof=1) / math.sqrt(self.n_paths),
        }


def _run(
    stepper: _EnsembleStepper, steps: int, *, resume: bool, **tracking: Any
) -> engine.EngineResult:
    """The ensemble on the grid t·η, t = 0..steps, every time saved; ``tracking``: the
    keywords of :func:`gan_pde.engine.standard_trackers`."""
    grid = stepper.eta * np.arange(steps + 1)
    trackers = engine.standard_trackers(resume=resume, **tracking)
    return engine.run(
        stepper, grid=(grid, np.ones(grid.size, dtype=bool)), trackers=trackers, resume=resume
    )


def simulate_sga(
    sde: GANSDE,
    gamma0: Any,
    *,
    eta: float,
    batch_size: int,
    steps: int,
    scheme: str = "alt",
    n_paths: int = 1000,
    seed: int = 0,
    observe: Callable[[Any], Any] = default_observables,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_interval: float | None = 30.0,
    checkpoint_steps: int | None = None,
    resume: bool = False,
    trackers: Sequence[engine.Tracker] = (),
) -> Ensemble:
    """Run (ALT) or (SML) on ``n_paths`` independent copies at once.

    (ALT): ω' = ω + η g_ω^B(θ, ω), θ' = θ − η g_θ^{B̄}(θ, ω') with independent batches
    B, B̄ of B i.i.d. pairs; (SML): both gradients at (θ, ω) from one batch B.  The
    iterations are the steps of :func:`gan_pde.engine.run` (:class:`SGAStepper`).

    Parameters
    ----------
    sde
        The loss and data (:class:`~gan_pde.sde.coefficients.GANSDE`).
    gamma0
        The start (θ, ω), shared by every path.
    eta, batch_size, steps
        Learning rate η, batch size B and number of iterations (times t·η).
    scheme
        ``"alt"`` or ``"sml"``.
    n_paths, seed
        Number of independent copies; seed of the torch generator of the batches.
    observe
        f(γ) for ``(n_paths, d)`` paths, returning ``(n_paths, m)``.
    checkpoint
        File to write the run's state to (paths and generator; atomic, checksummed:
        :mod:`gan_pde.checkpoint`) every ``checkpoint_interval`` seconds of wall time
        and/or every ``checkpoint_steps`` steps, and after the last step.  None: none.
    checkpoint_interval
        Seconds of wall time between checkpoints (0: after every step; None: by steps).
    checkpoint_steps
        Steps between checkpoints (None: by time only).
    resume
        Continue from ``checkpoint`` if it exists (a missing file starts from t = 0); the
        generator is restored with the paths, so the result is bit-identical to an
        uninterrupted run's.  A checkpoint of another run is refused with the differing
        parameter named.
    trackers
        More :class:`gan_pde.engine.Tracker` objects (callbacks receive ``(t, paths)``).

    Returns
    -------
    Ensemble
    """
    eta = check_rate(eta)
    batch = check_batch(batch_size, sde.n_samples)
    scheme = as_choice(scheme, "scheme", SCHEMES)
    _, n_paths, steps, gamma = _common(sde, gamma0, n_paths, steps)
    stepper = SGAStepper(
        sde,
        gamma,
        scheme=scheme,
        eta=eta,
        batch_size=batch,
        n_paths=n_paths,
        seed=seed,
        observe=observe,
    )
    result = _run(
        stepper,
        steps,
        checkpoint=checkpoint,
        checkpoint_interval=checkpoint_interval,
        checkpoint_steps=checkpoint_steps,
        resume=resume,
        trackers=trackers,
    )
    info = {"eta": eta, "batch_size": batch, "scheme": scheme, "n_paths": n_paths, "seed": seed}
    return Ensemble(
        result.times,
        result.observations["mean"],
        result.observations["stderr"],
        result.state["gamma"].numpy(),
        info={**info, **result.info},
    )


def simulate_sde(
    sde: GANSDE,
    gamma0: Any,
    *,
    eta: float,
    batch_size: int,
    steps: int,
    kind: str = "alt",
    substeps: int = 2,
    richardson: bool = True,
    n_paths: int = 1000,
    seed: int = 0,
    observe: Callable[[Any], Any] = default_observables,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_interval: float | None = 30.0,
    checkpoint_steps: int | None = None,
    resume: bool = False,
    trackers: Sequence[engine.Tracker] = (),
) -> Ensemble:
    """Integrate (ALT-SDE), (SML-SDE) or (14) to the times t·η, t = 0..steps.

    Euler–Maruyama with h = η/``substeps``; with ``richardson`` a second run with h/2
    shares the Brownian path, and the estimate per path is 2f(X^{h/2}) − f(X^h).  Each
    interval η is one step of :func:`gan_pde.engine.run` (:class:`SDEStepper`), its
    sub-steps taken inside.

    Parameters
    ----------
    sde
        The loss and data (:class:`~gan_pde.sde.coefficients.GANSDE`).
    gamma0
        The start (θ, ω), shared by every path.
    eta, batch_size, steps
        Learning rate η (the SDE's time unit and noise scale), batch size B and the number
        of intervals η.
    kind
        One of ``SDE_KINDS`` (:mod:`gan_pde.sde.quadratic`).
    substeps, richardson
        Euler–Maruyama sub-steps per η; the coupled half-step run and its extrapolation.
    n_paths, seed
        Number of paths; seed of the torch generator of the Brownian increments.
    observe
        f(γ) for ``(n_paths, d)`` paths, returning ``(n_paths, m)``.
    checkpoint
        File to write the run's state to (paths and generator; atomic, checksummed:
        :mod:`gan_pde.checkpoint`) every ``checkpoint_interval`` seconds of wall time
        and/or every ``checkpoint_steps`` steps, and after the last step.  None: none.
    checkpoint_interval
        Seconds of wall time between checkpoints (0: after every step; None: by steps).
    checkpoint_steps
        Steps between checkpoints (None: by time only).
    resume
        Continue from ``checkpoint`` if it exists (a missing file starts from t = 0); the
        generator is restored with the paths, so the result is bit-identical to an
        uninterrupted run's.  A checkpoint of another run is refused with the differing
        parameter named.
    trackers
        More :class:`gan_pde.engine.Tracker` objects (callbacks receive ``(t, paths)``).

    Returns
    -------
    Ensemble
    """
    eta = check_rate(eta)
    batch = check_batch(batch_size, sde.n_samples)
    kind = as_choice(kind, "kind", SDE_KINDS)
    substeps = as_positive_int(substeps, "substeps")
    richardson = as_flag(richardson, "richardson")
    _, n_paths, steps, gamma = _common(sde, gamma0, n_paths, steps)
    stepper = SDEStepper(
        sde,
        gamma,
        kind=kind,
        substeps=substeps,
        richardson=richardson,
        eta=eta,
        batch_size=batch,
        n_paths=n_paths,
        seed=seed,
        observe=observe,
    )
    result = _run(
        stepper,
        steps,
        checkpoint=checkpoint,
        checkpoint_interval=checkpoint_interval,
        checkpoint_steps=checkpoint_steps,
        resume=resume,
        trackers=trackers,
    )
    info = {
        "eta": eta,
        "batch_size": batch,
        "kind": kind,
        "substeps": substeps,
        "richardson": richardson,
        "n_paths": n_paths,
        "seed": seed,
    }
    return Ensemble(
        result.times,
        result.observations["mean"],
        result.observations["stderr"],
        result.state["fine"].numpy(),
        result.state["coarse"].numpy() if richardson else None,
        {**info, **result.info},
    )
