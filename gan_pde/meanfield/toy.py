r"""The explicit example of Section 3 of paper 001 (Delgadino et al.): clipped WGAN toy.

Target :math:`P = \tfrac12\delta_{-1} + \tfrac12\delta_{1}`, generator
:math:`G_g(z) = -1` for :math:`z < g`, :math:`+1` for :math:`z > g`, with a latent law whose
CDF is the logistic :math:`\Phi(g) = 1/(1+e^{-g})`, so
:math:`G_g\#N = \Phi(g)\delta_{-1} + (1-\Phi(g))\delta_1`; discriminator
:math:`D(x;\omega) = (\omega x)_+` with :math:`\omega \in [-1, 1]`.  Re-derived:

.. math::

    \Psi(\omega, g) = \Phi(g)(-\omega)_+ + (1-\Phi(g))\,\omega_+ - \tfrac12|\omega|
                    = \bigl(\tfrac12 - \Phi(g)\bigr)\,\omega ,

    \dot g = -\partial_g\Psi = \Phi'(g)\,\omega, \qquad
    \dot\omega = \gamma_c\,\partial_\omega\Psi = \gamma_c\bigl(\tfrac12 - \Phi(g)\bigr)
             = -\tfrac{\gamma_c}{2}\tanh\tfrac g2 ,

and since :math:`2\sinh g\,\Phi'(g) = \tanh(g/2)`,
:math:`E_{\gamma_c} = 2\cosh g + \omega^2/\gamma_c` is conserved on free arcs.  The level
set :math:`E^* = 2 + 1/\gamma_c` is tangent to :math:`|\omega| = 1` at :math:`g = 0`; the
clipped dynamics slide on the wall until :math:`g = 0` and then follow :math:`E^*`, whose
amplitude in g is :math:`\operatorname{arccosh}(1 + 1/(2\gamma_c))`.

Mean field: with many discriminator neurons of law ν, :math:`\Psi = (\tfrac12-\Phi(g))
\int\omega\,d\nu`, so every ω-particle moves with the *same* velocity
:math:`v(t) = \gamma_c(\tfrac12-\Phi(g))` (rigid translation) and
:math:`\dot g = \Phi'(g)\,\bar\omega(t)`.  The clipped flow of a rigid translation is
:math:`\omega_{in} \mapsto \mathrm{clamp}(\omega_{in} + s(t), l(t), u(t))` with
:math:`\dot s = v` and l, u the clipped particles started at −1 and +1 — an exact
four-dimensional projected ODE for (g, s, l, u) (:meth:`ToyMeanField.exact`).
"""

from __future__ import annotations

import functools
import logging
import math
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.integrate import solve_ivp

from gan_pde._arrays import (
    as_finite,
    as_flag,
    as_non_negative_int,
    as_positive,
    as_positive_int,
    save_times_in,
    with_final_time,
)
from gan_pde.engine import Stepper, Tracker
from gan_pde.errors import InvalidInputError, NotConvergedError
from gan_pde.meanfield.transport import (
    BoxGrid,
    _engine_info,
    _save_rows,
    _saved_rows,
    as_law,
    mass_roundoff,
    transport_rates,
)

__all__ = [
    "BumpLaw",
    "ProjectedPath",
    "ToyMeanField",
    "ToyMeanFieldFV",
    "ToyMeanFieldPath",
    "ToyPath",
    "ToyWGAN",
    "integrate_projected",
    "logistic_cdf",
]

logger = logging.getLogger(__name__)

#: solve_ivp tolerances of the exact integrations (DOP853).
RTOL = 1e-12
ATOL = 1e-12
#: Offset of the hit event of a bound an arc starts on (see integrate_projected); the
#: overshoot it allows is projected back like the event-location overshoots (~1e-13).
_START_OFFSET = 1e-12
#: Velocities below this (relative to max(1, |f|)) count as tangential at a wall: no pin.
_TANGENTIAL = 1e-12


def logistic_cdf(g: np.ndarray | float) -> np.ndarray | float:
    """:math:`\\Phi(g) = 1/(1 + e^{-g})`, computed as ½(1 + tanh(g/2)) (no overflow)."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(g)))


def _logistic_pdf(g: np.ndarray | float) -> np.ndarray | float:
    """:math:`\\Phi'(g) = 1/(4\\cosh^2(g/2))`."""
    return 0.25 / np.cosh(0.5 * np.asarray(g)) ** 2


def _renamed_t(cls: type) -> type:
    """Keep the old name ``t`` of a result's ``times`` field working, with a warning.

    ``obj.t`` becomes a read-only property and ``cls(t=...)`` still builds the result (as
    :func:`gan_pde.io.load` does for a file saved before the rename); both emit a
    :class:`DeprecationWarning`.
    """
    init = cls.__init__

    @functools.wraps(init)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if "t" in kwargs:
            if "times" in kwargs:
                msg = f"{cls.__name__} takes times (t is its deprecated name), not both"
                raise InvalidInputError(msg)
            warnings.warn(
                f"{cls.__name__}(t=...) is deprecated: the field is now called times",
                DeprecationWarning,
                stacklevel=2,
            )
            kwargs["times"] = kwargs.pop("t")
        init(self, *args, **kwargs)

    def t(self: Any) -> np.ndarray:
        warnings.warn(
            f"{cls.__name__}.t is deprecated: use .times", DeprecationWarning, stacklevel=2
        )
        return self.times

    cls.__init__ = __init__
    cls.t = property(t, doc="Deprecated name of :attr:`times` (DeprecationWarning).")
    return cls


@_renamed_t
@dataclass(frozen=True)
class ProjectedPath:
    """Output of :func:`integrate_projected`: samples, switch events and extra events.

    Attributes
    ----------
    times, y
        Sample times (every solver step and switch) and the states there, shape
        (components, samples).  ``t`` is the deprecated name of ``times``.
    switches
        ``(t, "hit" | "release", component, bound)`` per wall switch.
    marks
        ``(t, y)`` at the zeros of ``mark``.
    t_eval, y_eval
        The requested times and the states there.
    info
        The engine's ``n_steps``, ``seconds``, ``resumed_from_step``, ``stop_reason``, and
        ``dt`` (the engine step; None: one step).
    """

    times: np.ndarray
    y: np.ndarray
    switches: list[tuple[float, str, int, float]]
    marks: list[tuple[float, np.ndarray]]
    t_eval: np.ndarray
    y_eval: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        from gan_pde._repr import short_repr

        return short_repr(self)


def integrate_projected(
    rhs: Callable[[float, np.ndarray], np.ndarray],
    y0: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    t_final: float,
    *,
    mark: Callable[[float, np.ndarray], float] | None = None,
    max_step: float = np.inf,
    max_switches: int = 100_000,
    t_eval: np.ndarray | None = None,
    dt: float | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_interval: float | None = 30.0,
    checkpoint_steps: int | None = None,
    resume: bool = False,
    trackers: Sequence[Tracker] = (),
) -> ProjectedPath:
    r"""Exact integration of :math:`\dot y = \mathrm{Proj}_{T_K(y)} f(t, y)` on a box K.

    Components with finite bounds are projected as in (8): a component on its bound whose
    velocity points outward is frozen (sliding mode); it is released when that velocity
    changes sign.  Each smooth arc is integrated by DOP853 (rtol = atol = 1e-12) with event
    location of the wall hits (``y_i = bound``) and releases (``f_i = 0``), so the switching
    times are located to solver accuracy instead of being smeared over a step.  The run
    goes through :func:`gan_pde.engine.run`; its steps of length ``dt`` hold the solver's
    adaptive steps and arcs.

    Parameters
    ----------
    rhs
        The free vector field f(t, y).
    y0
        Start, inside the box.
    lower, upper
        Bounds per component (±inf for an unbounded one).
    t_final
        End time.
    mark
        Optional scalar function whose zeros are recorded in ``marks`` (e.g. turning points).
    max_step
        Largest solver step (for dense sampling).
    max_switches
        Safety limit on the number of arcs.
    t_eval
        Sorted times in [0, t_final] at which the state is also returned (``y_eval``), from
        each arc's DOP853 dense output (7th order, error at the level of the tolerances).
    dt
        Length of the engine's steps, i.e. how often a checkpoint can be taken.  None
        (default): one step over [0, t_final].  A step ends an arc (the solver restarts
        there, which adds a sample and changes the path at the level of the tolerances).
    checkpoint
        File to which the run is checkpointed after engine steps; None: no checkpoint.  It
        is bound to ``y0``, the box, the time grid, ``max_step`` and ``t_eval``, not to
        ``rhs`` and ``mark``: resume only with the same functions.
    checkpoint_interval, checkpoint_steps
        Checkpoint once this many seconds have passed since the last checkpoint, and/or
        every this many engine steps (and after the last).
    resume
        Continue from ``checkpoint`` if it exists (bit-identical to an uninterrupted run).
    trackers
        More :class:`~gan_pde.engine.Tracker` objects, called after every engine step.

    Returns
    -------
    ProjectedPath
        Sample times and states (every solver step), the switches ``(t, "hit"|"release",
        component, bound)`` and the marks ``(t, y)``.
    """
    return _integrate(
        "projected_ode",
        {},
        rhs,
        y0,
        lower,
        upper,
        t_final,
        mark=mark,
        max_step=max_step,
        max_switches=max_switches,
        t_eval=t_eval,
        dt=dt,
        trackers=_engine_trackers(
            checkpoint, checkpoint_interval, checkpoint_steps, resume, trackers
        ),
        resume=resume,
    )


def _engine_trackers(
    checkpoint: str | os.PathLike[str] | None,
    checkpoint_interval: float | None,
    checkpoint_steps: int | None,
    resume: bool,
    trackers: Sequence[Tracker],
) -> list[Tracker]:
    """:func:`gan_pde.engine.standard_trackers` of the checkpoint keywords."""
    from gan_pde.engine import standard_trackers

    return standard_trackers(
        checkpoint=checkpoint,
        checkpoint_interval=checkpoint_interval,
        checkpoint_steps=checkpoint_steps,
        resume=resume,
        trackers=trackers,
    )


def _integrate(
    kind: str,
    parameters: dict[str, Any],
    rhs: Callable[[float, np.ndarray], np.ndarray],
    y0: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    t_final: float,
    *,
    mark: Callable[[float, np.ndarray], float] | None,
    max_step: float,
    max_switches: int,
    t_eval: np.ndarray | None,
    dt: float | None,
    trackers: list[Tracker],
    resume: bool,
) -> ProjectedPath:
    """:func:`integrate_projected` under a checkpoint ``kind`` bound to ``parameters``."""
    from gan_pde.engine import run, time_grid

    y = np.array(y0, dtype=float)
    lower = np.asarray(lower, dtype=float)
    upper = np.asarray(upper, dtype=float)
    if np.any(y < lower) or np.any(y > upper):
        msg = f"the initial state {y.tolist()} lies outside the box [{lower}, {upper}]"
        raise InvalidInputError(msg)
    t_final = as_positive(t_final, "t_final")
    if dt is None:
        grid = np.array([0.0, t_final])
    else:
        grid, _ = time_grid(t_final, as_positive(dt, "dt"), save_times=[])
    stepper = _ProjectedStepper(
        kind,
        parameters,
        rhs,
        y,
        lower,
        upper,
        grid,
        mark=mark,
        max_step=max_step,
        max_switches=max_switches,
        t_eval=np.zeros(0) if t_eval is None else np.asarray(t_eval, dtype=float),
    )
    saved = np.zeros(grid.size, dtype=bool)
    saved[[0, -1]] = True
    result = run(stepper, grid=(grid, saved), trackers=trackers, resume=resume)
    state = result.state
    kinds = ("hit", "release")
    switches = [
        (float(te), kinds[int(k)], int(i), float(b))
        for te, k, i, b in zip(
            state["switch_t"],
            state["switch_kind"],
            state["switch_i"],
            state["switch_bound"],
            strict=True,
        )
    ]
    marks = [
        (float(te), ye.copy()) for te, ye in zip(state["mark_t"], state["mark_y"].T, strict=True)
    ]
    return ProjectedPath(
        state["sample_t"],
        state["sample_y"],
        switches,
        marks,
        stepper.t_eval,
        np.clip(state["y_eval"], lower[:, None], upper[:, None]),
        {"n_steps": result.info["n_steps"], "dt": dt, **_engine_info(result)},
    )


class _ProjectedStepper(Stepper):
    """The arcs of :func:`integrate_projected` over one engine step.

    The state carries the current point, the pinned components and everything recorded so
    far (samples, switches, marks, dense-output values), so that a resumed run continues
    with the same arcs.
    """

    def __init__(
        self,
        kind: str,
        parameters: dict[str, Any],
        rhs: Callable[[float, np.ndarray], np.ndarray],
        y0: np.ndarray,
        lower: np.ndarray,
        upper: np.ndarray,
        grid: np.ndarray,
        *,
        mark: Callable[[float, np.ndarray], float] | None,
        max_step: float,
        max_switches: int,
        t_eval: np.ndarray,
    ) -> None:
        self.kind, self.parameters = kind, parameters
        self.rhs, self.y0, self.lower, self.upper, self.grid = rhs, y0, lower, upper, grid
        self.mark, self.max_step, self.max_switches, self.t_eval = (
            mark,
            max_step,
            max_switches,
            t_eval,
        )
        self.bounded = [i for i in range(y0.size) if np.isfinite(lower[i]) or np.isfinite(upper[i])]

    def fingerprint(self) -> dict[str, Any]:
        return {
            **self.parameters,
            "y0": self.y0,
            "lower": self.lower,
            "upper": self.upper,
            "max_step": float(self.max_step),
            "max_switches": int(self.max_switches),
            "t_eval": self.t_eval,
            "mark": self.mark is not None,
        }

    def tangential(self, velocity: np.ndarray) -> float:
        # a velocity this close to 0 is tangential: event location leaves a residual
        # velocity of |f'|·δt (δt ~ 4 eps t) at a located sign change, which must not pin
        return _TANGENTIAL * max(1.0, float(np.max(np.abs(velocity))))

    def pinned_set(self, t: float, state: np.ndarray, released: set[int]) -> dict[int, float]:
        velocity = self.rhs(t, state)
        tiny = self.tangential(velocity)
        lower, upper = self.lower, self.upper
        pins: dict[int, float] = {}
        for i in self.bounded:
            if i in released:
                continue
            if state[i] >= upper[i] and velocity[i] > tiny:
                pins[i] = upper[i]
            elif state[i] <= lower[i] and velocity[i] < -tiny:
                pins[i] = lower[i]
        return pins

    def initial_state(self) -> dict[str, np.ndarray]:
        y, n = self.y0.copy(), self.y0.size
        pins = self.pinned_set(0.0, y, set())
        return {
            "y": y,
            "pin_index": np.array(sorted(pins), dtype=int),
            "pin_bound": np.array([pins[i] for i in sorted(pins)], dtype=float),
            "sample_t": np.array([0.0]),
            "sample_y": y[:, None].copy(),
            "switch_t": np.zeros(0),
            "switch_kind": np.zeros(0, dtype=int),
            "switch_i": np.zeros(0, dtype=int),
            "switch_bound": np.zeros(0),
            "mark_t": np.zeros(0),
            "mark_y": np.zeros((n, 0)),
            "y_eval": np.zeros((n, self.t_eval.size)),
            "filled": np.zeros(self.t_eval.size, dtype=bool),
            "event_arcs": np.array(0),
        }

    def step(
        self, state: dict[str, np.ndarray], t: float, dt: float
    ) -> tuple[dict[str, np.ndarray], dict[str, float]]:
        rhs, lower, upper, mark = self.rhs, self.lower, self.upper, self.mark
        # the end of this engine step, exactly (t + dt may differ by an ulp)
        t_end = float(self.grid[np.searchsorted(self.grid, t) + 1])
        y = state["y"].copy()
        pins = dict(zip(state["pin_index"].tolist(), state["pin_bound"].tolist(), strict=True))
        t_eval = self.t_eval
        y_eval, filled = state["y_eval"].copy(), state["filled"].copy()
        event_arcs = int(state["event_arcs"])
        times, states = [state["sample_t"]], [state["sample_y"]]
        switches: list[tuple[float, int, int, float]] = []
        marks: list[tuple[float, np.ndarray]] = []
        arcs = 0
        while True:
            if event_arcs >= self.max_switches:
                msg = f"more than {self.max_switches} wall switches before t = {self.grid[-1]}"
                raise NotConvergedError(msg)
            arcs += 1
            frozen = np.array(sorted(pins), dtype=int)

            def field(s: float, state: np.ndarray, frozen: np.ndarray = frozen) -> np.ndarray:
                v = rhs(s, state)
                v[frozen] = 0.0
                return v

            events: list[Any] = []
            labels: list[tuple[str, int, float]] = []
            for i in self.bounded:
                if i in pins:
                    outward = 1.0 if pins[i] == upper[i] else -1.0

                    def release(s, state, i=i):
                        return rhs(s, state)[i]

                    release.terminal = True
                    release.direction = -outward
                    events.append(release)
                    labels.append(("release", i, pins[i]))
                    continue
                for bound, direction in ((upper[i], 1.0), (lower[i], -1.0)):
                    if not np.isfinite(bound):
                        continue
                    # an arc that starts on this bound (a release, or a tangential or
                    # inward start) arms its hit a hair outside the bound: solve_ivp counts
                    # 0 -> 0 as a crossing, so a round-off-flat start would fire the hit at
                    # the arc's start time, forever (Zeno loop at a tangential touch, e.g.
                    # the toy on E*)
                    offset = (
                        direction * _START_OFFSET * max(1.0, abs(bound)) if y[i] == bound else 0.0
                    )

                    def hit(s, state, i=i, level=bound + offset):
                        return state[i] - level

                    hit.terminal = True
                    hit.direction = direction
                    events.append(hit)
                    labels.append(("hit", i, bound))
            if mark is not None:
                events.append(mark)
                labels.append(("mark", -1, 0.0))
            for method in ("DOP853", "RK45"):
                # DOP853's error norm divides err5²/√(err5² + err3²/100) by itself: for
                # states near 1e-158 both squares underflow to 0, 0/0 rejects every step
                # ("required step size is less than spacing between numbers", found by
                # hypothesis at ω0 = 6.26e-158); RK45's plain RMS norm has no such quotient
                solution = solve_ivp(
                    field,
                    (t, t_end),
                    y,
                    method=method,
                    rtol=RTOL,
                    atol=ATOL,
                    events=events,
                    max_step=self.max_step,
                    dense_output=t_eval.size > 0,
                )
                if solution.status != -1:
                    break
            if solution.status == -1:
                msg = f"the projected ODE solver failed at t = {t:.6g}: {solution.message}"
                raise NotConvergedError(msg)
            times.append(solution.t[1:])
            # event location leaves round-off overshoots (~1e-13) past a wall: project them
            states.append(np.clip(solution.y[:, 1:], lower[:, None], upper[:, None]))
            if t_eval.size:
                inside = (t_eval >= t) & (t_eval <= solution.t[-1]) & ~filled
                if inside.any():
                    y_eval[:, inside] = solution.sol(t_eval[inside])
                    filled |= inside
            if mark is not None:
                for te, ye in zip(solution.t_events[-1], solution.y_events[-1], strict=True):
                    marks.append((float(te), ye.copy()))
            if solution.status == 0:
                # the end of the engine step: the next one goes on from the solver's state
                y = solution.y[:, -1].copy()
                break
            event_arcs += 1
            t = float(solution.t[-1])
            y = solution.y[:, -1].copy()
            fired = [
                k
                for k, te in enumerate(solution.t_events[: len(labels) - (mark is not None)])
                if te.size
            ]
            released: set[int] = set()
            for k in fired:
                kind, i, bound = labels[k]
                switches.append((t, 0 if kind == "hit" else 1, i, float(bound)))
                if kind == "hit":
                    y[i] = bound
                else:
                    released.add(i)
            y = np.clip(y, lower, upper)
            pins = {i: b for i, b in pins.items() if i not in released}
            if released:
                # components with equal velocities (the toy's l and u) change sign together,
                # but the solver reports one release: free every pin whose outward velocity
                # has reached 0 too, or it would be re-pinned and released forever (Zeno loop)
                velocity = rhs(t, y)
                tiny = self.tangential(velocity)
                for i, b in list(pins.items()):
                    if (velocity[i] if b == upper[i] else -velocity[i]) <= tiny:
                        del pins[i]
                        released.add(i)
            pins.update(self.pinned_set(t, y, released | set(pins)))
        order = sorted(pins)
        new = {
            "y": y,
            "pin_index": np.array(order, dtype=int),
            "pin_bound": np.array([pins[i] for i in order], dtype=float),
            "sample_t": np.concatenate(times),
            "sample_y": np.concatenate(states, axis=1),
            "switch_t": np.append(state["switch_t"], [s[0] for s in switches]),
            "switch_kind": np.append(state["switch_kind"], [s[1] for s in switches]).astype(int),
            "switch_i": np.append(state["switch_i"], [s[2] for s in switches]).astype(int),
            "switch_bound": np.append(state["switch_bound"], [s[3] for s in switches]),
            "mark_t": np.append(state["mark_t"], [m[0] for m in marks]),
            "mark_y": np.concatenate([state["mark_y"], *[m[1][:, None] for m in marks]], axis=1),
            "y_eval": y_eval,
            "filled": filled,
            "event_arcs": np.array(event_arcs),
        }
        return new, {"arcs": float(arcs), "switches": float(len(switches))}

    def observe(self, state: dict[str, np.ndarray], t: float) -> dict[str, np.ndarray]:
        return {"y": state["y"]}


@_renamed_t
@dataclass(frozen=True)
class ToyPath:
    """A trajectory of the clipped toy WGAN (:meth:`ToyWGAN.simulate`).

    Attributes
    ----------
    times, g, omega, energy
        Samples (every solver step and every switch) of time, generator parameter,
        discriminator parameter and :math:`E_{\\gamma_c} = 2\\cosh g + \\omega^2/\\gamma_c`.
        ``t`` is the deprecated name of ``times``.
    hit_times, release_times
        Times at which ω reaches :math:`|\\omega| = 1` and slides, and leaves the wall.
    turning_times, turning_g
        Zeros of ω (the extrema of g, since :math:`\\dot g = \\Phi'(g)\\omega`).
    gamma_c
        The critic speed-up.
    info
        The engine's ``n_steps``, ``seconds``, ``resumed_from_step``, ``stop_reason``;
        ``dt`` and ``max_step``.
    """

    times: np.ndarray
    g: np.ndarray
    omega: np.ndarray
    energy: np.ndarray
    hit_times: np.ndarray
    release_times: np.ndarray
    turning_times: np.ndarray
    turning_g: np.ndarray
    gamma_c: float
    info: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        from gan_pde._repr import short_repr

        return short_repr(self)

    def limit_amplitude(self) -> float:
        """max |g| over the turning points after the last release (the limit cycle)."""
        last = self.release_times[-1] if self.release_times.size else -np.inf
        after = self.turning_times > last
        if not after.any():
            msg = "no turning point of g after the last release: increase t_final"
            raise NotConvergedError(msg)
        return float(np.abs(self.turning_g[after]).max())


class ToyWGAN:
    r"""The clipped toy WGAN of Section 3 (paper 001) in the (g, ω) plane.

    Parameters
    ----------
    gamma_c
        Critic speed-up :math:`\gamma_c > 0`.

    Examples
    --------
    >>> toy = ToyWGAN(gamma_c=1.0)
    >>> path = toy.simulate(g0=2.0, omega0=0.5, t_final=200.0)
    >>> round(path.limit_amplitude(), 4), round(toy.limit_amplitude, 4)
    (0.9624, 0.9624)
    """

    def __init__(self, gamma_c: float = 1.0) -> None:
        self.gamma_c = as_positive(gamma_c, "gamma_c")

    @property
    def critical_energy(self) -> float:
        """:math:`E^* = 2 + 1/\\gamma_c`, the level set tangent to the wall."""
        return 2.0 + 1.0 / self.gamma_c

    @property
    def limit_amplitude(self) -> float:
        """:math:`\\operatorname{arccosh}(1 + 1/(2\\gamma_c))`, the amplitude of g on E*."""
        return math.acosh(1.0 + 0.5 / self.gamma_c)

    def energy(self, g: np.ndarray | float, omega: np.ndarray | float) -> np.ndarray | float:
        """:math:`E_{\\gamma_c}(\\omega, g) = 2\\cosh g + \\omega^2/\\gamma_c`."""
        return 2.0 * np.cosh(g) + np.asarray(omega) ** 2 / self.gamma_c

    def velocity(self, g: np.ndarray | float, omega: np.ndarray | float) -> tuple[Any, Any]:
        """The free vector field :math:`(\\Phi'(g)\\omega, \\gamma_c(\\tfrac12 - \\Phi(g)))`."""
        return _logistic_pdf(g) * omega, self.gamma_c * (0.5 - logistic_cdf(g))

    def simulate(
        self,
        g0: float = 2.0,
        omega0: float = 0.5,
        t_final: float = 200.0,
        *,
        max_step: float = 0.5,
        dt: float | None = None,
        checkpoint: str | os.PathLike[str] | None = None,
        checkpoint_interval: float | None = 30.0,
        checkpoint_steps: int | None = None,
        resume: bool = False,
        trackers: Sequence[Tracker] = (),
    ) -> ToyPath:
        """Integrate the clipped ODE exactly (events at :math:`|\\omega| = 1`).

        Parameters
        ----------
        g0, omega0
            Initial generator and discriminator parameters, :math:`|\\omega_0| \\le 1`.
        t_final
            End time.
        max_step
            Largest solver step (sampling density of the output).
        dt
            Length of the engine's steps (how often a checkpoint can be taken); None
            (default): one step.  Each step restarts the solver (:func:`integrate_projected`).
        checkpoint
            File to which the run is checkpointed after engine steps; None: no checkpoint.
        checkpoint_interval, checkpoint_steps
            Checkpoint once this many seconds have passed since the last checkpoint, and/or
            every this many engine steps (and after the last).
        resume
            Continue from ``checkpoint`` if it exists (bit-identical to an uninterrupted
            run); a checkpoint of another γ_c, start or grid is refused.
        trackers
            More :class:`~gan_pde.engine.Tracker` objects, called after every engine step.
        """
        g0 = as_finite(g0, "g0")
        omega0 = as_finite(omega0, "omega0")
        if not abs(omega0) <= 1.0:
            msg = f"omega0 must lie in the clipping box [-1, 1]; got omega0={omega0!r}"
            raise InvalidInputError(msg)
        t_final = as_positive(t_final, "t_final")
        max_step = as_positive(max_step, "max_step")

        def rhs(_t: float, y: np.ndarray) -> np.ndarray:
            dg, dw = self.velocity(y[0], y[1])
            return np.array([dg, dw])

        path = _integrate(
            "toy_wgan",
            {"gamma_c": self.gamma_c},
            rhs,
            np.array([g0, omega0]),
            np.array([-np.inf, -1.0]),
            np.array([np.inf, 1.0]),
            t_final,
            mark=lambda _t, y: y[1],
            max_step=max_step,
            max_switches=100_000,
            t_eval=None,
            dt=dt,
            trackers=_engine_trackers(
                checkpoint, checkpoint_interval, checkpoint_steps, resume, trackers
            ),
            resume=resume,
        )
        hits = np.array([s[0] for s in path.switches if s[1] == "hit"])
        releases = np.array([s[0] for s in path.switches if s[1] == "release"])
        g, omega = path.y
        return ToyPath(
            times=path.times,
            g=g,
            omega=omega,
            energy=self.energy(g, omega),
            hit_times=hits,
            release_times=releases,
            turning_times=np.array([m[0] for m in path.marks]),
            turning_g=np.array([m[1][0] for m in path.marks]),
            gamma_c=self.gamma_c,
            info={**path.info, "max_step": max_step},
        )


@dataclass(frozen=True)
class BumpLaw:
    r"""Law on [a, b] with density :math:`\propto (1 - y^2)^p`, :math:`y = (2x - a - b)/(b - a)`.

    ``power = 0`` is the uniform law; ``power >= 1`` is continuous (``power = 2``: C¹).
    Its CDF and partial first moments are computed exactly (Gauss–Legendre, exact for
    these polynomials).

    Examples
    --------
    >>> law = BumpLaw(-0.5, 0.5, power=0)
    >>> float(law.cdf(0.0)), float(law.partial_mean(0.5))
    (0.5, 0.0)
    """

    a: float
    b: float
    power: int = 2
    _nodes: np.ndarray = field(init=False, repr=False)
    _weights: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not (-1.0 <= self.a < self.b <= 1.0):
            msg = (
                "the initial law must be supported in the clipping box: need -1 <= a < b <= 1; "
                f"got a={self.a}, b={self.b}"
            )
            raise InvalidInputError(msg)
        object.__setattr__(self, "power", as_non_negative_int(self.power, "power"))
        nodes, weights = np.polynomial.legendre.leggauss(self.power + 2)
        object.__setattr__(self, "_nodes", nodes)
        object.__setattr__(self, "_weights", weights)

    def pdf(self, x: np.ndarray) -> np.ndarray:
        """The density (zero outside [a, b])."""
        x = np.asarray(x, dtype=float)
        y = (2.0 * x - self.a - self.b) / (self.b - self.a)
        norm = 2.0 / (self.b - self.a) / self._reference_mass()
        return np.where(np.abs(y) <= 1.0, norm * np.clip(1.0 - y * y, 0.0, None) ** self.power, 0.0)

    def _reference_mass(self) -> float:
        return float(np.sum(self._weights * (1.0 - self._nodes**2) ** self.power))

    def _integral(self, x: np.ndarray, moment: int) -> np.ndarray:
        x = np.clip(np.asarray(x, dtype=float), self.a, self.b)
        half = 0.5 * (x - self.a)
        points = self.a + half[..., None] * (1.0 + self._nodes)
        values = self.pdf(points) * points**moment
        return half * np.sum(self._weights * values, axis=-1)

    def cdf(self, x: np.ndarray | float) -> np.ndarray:
        """:math:`\\nu_{in}((-\\infty, x])`, exactly 0 below a and 1 from b on."""
        # Gauss-Legendre reproduces the normalisation only to round-off (cdf(b) was
        # 1 + 2e-15 for some [a, b]): pin the ends so that cell masses are never negative
        x = np.asarray(x, dtype=float)
        return np.where(x >= self.b, 1.0, np.clip(self._integral(x, 0), 0.0, 1.0))

    def partial_mean(self, x: np.ndarray | float) -> np.ndarray:
        """:math:`\\int_{-\\infty}^x \\omega\\,d\\nu_{in}(\\omega)`."""
        return self._integral(x, 1)

    def quantile(self, q: np.ndarray) -> np.ndarray:
        """Inverse CDF by bisection (60 halvings: exact to round-off)."""
        q = np.asarray(q, dtype=float)
        lo = np.full(q.shape, self.a)
        hi = np.full(q.shape, self.b)
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            below = self.cdf(mid) < q
            lo = np.where(below, mid, lo)
            hi = np.where(below, hi, mid)
        return 0.5 * (lo + hi)

    def sample(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """n independent draws (inverse-CDF sampling)."""
        rng = np.random.default_rng(rng)
        return self.quantile(rng.random(as_positive_int(n, "n")))


@_renamed_t
@dataclass(frozen=True)
class ToyMeanFieldPath:
    """Exact mean-field toy solution: the state (g, s, l, u) at ``times``; see
    :class:`ToyMeanField` (``t`` is the deprecated name of ``times``).

    ``concentration_time`` is the first time ν(t) is a Dirac (NaN if never before
    t_final) and ``concentration_state`` the state (g, s, l, u) then.  ``info`` holds the
    integration's (:class:`ProjectedPath`).
    """

    times: np.ndarray
    g: np.ndarray
    s: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    law: BumpLaw
    gamma_c: float
    concentration_time: float
    concentration_state: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    def _state(self, t: float) -> tuple[float, float, float, float]:
        k = int(np.clip(np.searchsorted(self.times, t), 0, self.times.size - 1))
        if abs(self.times[k] - t) > 1e-12 * max(1.0, abs(t)):
            msg = f"time {t} is not a sample time of this path (solve with save_times)"
            raise InvalidInputError(msg)
        return self.g[k], self.s[k], self.lower[k], self.upper[k]

    def transport_map(self, t: float, omega_in: np.ndarray) -> np.ndarray:
        """:math:`\\omega(t) = \\mathrm{clamp}(\\omega_{in} + s, l, u)` (particles from ω_in)."""
        _, s, lo, hi = self._state(t)
        return np.clip(np.asarray(omega_in) + s, lo, hi)

    def wall_mass(self, t: float) -> float:
        """ν(t)({−1, 1}): the mass that the clipping has piled on the walls."""
        _, s, lo, hi = self._state(t)
        mass = 0.0
        if hi >= 1.0:
            mass += 1.0 - float(self.law.cdf(1.0 - s))
        if lo <= -1.0:
            mass += float(self.law.cdf(-1.0 - s))
        # the Gauss-Legendre CDF is exact up to round-off: keep the mass a probability
        return min(max(mass, 0.0), 1.0)

    def cell_masses(self, t: float, grid: BoxGrid) -> np.ndarray:
        """ν(t) on the cells of a 1D grid of [−1, 1] (atoms counted in their cell)."""
        _, s, lo, hi = self._state(t)
        edges = grid.edges[0]
        pre = np.where(edges >= hi, np.inf, np.where(edges < lo, -np.inf, edges - s))
        cdf = np.where(np.isinf(pre), (pre > 0).astype(float), self.law.cdf(np.nan_to_num(pre)))
        # the atom on the lower wall (mass cdf(-1 - s)) belongs to the first cell: the CDF
        # starts at 0 there (before, cdf[0] = cdf(-1 - s) dropped that atom, and a law
        # concentrated on -1 lost all its mass)
        cdf[0] = 0.0
        cdf[-1] = 1.0
        return np.diff(np.maximum.accumulate(cdf))


@dataclass(frozen=True)
class ToyMeanFieldFV:
    """Finite-volume mean-field toy solution (:meth:`ToyMeanField.solve_fv`).

    Attributes
    ----------
    times, g
        Saved times (ending at t_final unless solved with ``save_final=False``) and
        generator parameter.
    nu
        Cell masses of ν, shape (n_saved, cells).
    wall_mass
        Mass of the two wall cells (the discrete concentrated layer).
    grid
        The 1D grid of [−1, 1].
    n_steps
        Heun steps taken.
    info
        The engine's ``n_steps``, ``seconds``, ``resumed_from_step``, ``stop_reason``; the
        step ``dt`` and the mass tolerance ``mass_tolerance`` of the invariant watch.
    """

    times: np.ndarray
    g: np.ndarray
    nu: np.ndarray
    wall_mass: np.ndarray
    grid: BoxGrid
    n_steps: int
    info: dict[str, Any] = field(default_factory=dict)


class ToyMeanField:
    r"""Mean-field toy: generator parameter g, discriminator law ν on [−1, 1].

    .. math::

        \dot g = \Phi'(g)\int\omega\,d\nu_t, \qquad
        \partial_t\nu + \gamma_c\,\partial_\omega\bigl(\nu\,\mathrm{Proj}(v(t))\bigr) = 0,
        \quad v(t) = \tfrac12 - \Phi(g) ,

    i.e. the toy of Section 3 with :math:`D_\nu(x) = \int(\omega x)_+\,d\nu(\omega)`.

    Parameters
    ----------
    gamma_c
        Critic speed-up.
    law
        Initial law ν_in (a :class:`BumpLaw` on [a, b] ⊂ [−1, 1]).
    g0
        Initial generator parameter.

    Examples
    --------
    >>> model = ToyMeanField(gamma_c=1.0, law=BumpLaw(-0.5, 0.5), g0=-3.0)
    >>> path = model.exact(t_final=8.0)
    >>> round(path.wall_mass(8.0), 6)
    1.0
    """

    def __init__(self, *, gamma_c: float = 1.0, law: BumpLaw, g0: float = -3.0) -> None:
        self.gamma_c = as_positive(gamma_c, "gamma_c")
        if not isinstance(law, BumpLaw):
            msg = f"law must be a BumpLaw; got {type(law).__name__}"
            raise InvalidInputError(msg)
        self.law = law
        self.g0 = as_finite(g0, "g0")

    def critic_velocity(self, g: float) -> float:
        """The common velocity :math:`\\gamma_c(\\tfrac12 - \\Phi(g))` of all ω-particles."""
        return self.gamma_c * (0.5 - float(logistic_cdf(g)))

    def _mean(self, s: float, lo: float, hi: float) -> float:
        law = self.law
        c_lo, c_hi = float(law.cdf(lo - s)), float(law.cdf(hi - s))
        inner = float(law.partial_mean(hi - s) - law.partial_mean(lo - s)) + s * (c_hi - c_lo)
        return lo * c_lo + inner + hi * (1.0 - c_hi)

    def exact(self, t_final: float, *, save_times: np.ndarray | None = None) -> ToyMeanFieldPath:
        """Exact solution by the projected ODE for (g, s, l, u) (events at the walls).

        ``save_times`` adds these times to the samples (needed by
        :meth:`ToyMeanFieldPath.wall_mass` and friends).
        """
        t_final = as_positive(t_final, "t_final")

        def rhs(_t: float, y: np.ndarray) -> np.ndarray:
            v = self.critic_velocity(y[0])
            return np.array([_logistic_pdf(y[0]) * self._mean(y[1], y[2], y[3]), v, v, v])

        path = integrate_projected(
            rhs,
            np.array([self.g0, 0.0, -1.0, 1.0]),
            np.array([-np.inf, -np.inf, -1.0, -1.0]),
            np.array([np.inf, np.inf, 1.0, 1.0]),
            t_final,
            mark=self._concentration,
            max_step=0.25,
            t_eval=None if save_times is None else save_times_in(save_times, t_final),
        )
        t, y = path.times, path.y
        if save_times is not None:
            t = np.concatenate([t, path.t_eval])
            order = np.argsort(t, kind="stable")
            t = t[order]
            y = np.concatenate([y, path.y_eval], axis=1)[:, order]
        # ν becomes a Dirac at a zero of the mark, or when the last clipped end reaches the
        # wall: for supp ν_in = [-1, 1] the mark max(a + s - u, l - b - s, l - u) rises to 0
        # exactly at that hit and stays there, which event location may not report
        candidates = list(path.marks)
        for t_switch, kind, _, _ in path.switches:
            if kind == "hit":
                k = int(np.searchsorted(path.times, t_switch))
                k = min(k, path.times.size - 1)
                candidates.append((float(path.times[k]), path.y[:, k].copy()))
        candidates.sort(key=lambda m: m[0])
        concentrated = [m for m in candidates if self._concentration(m[0], m[1]) >= -1e-9]
        return ToyMeanFieldPath(
            t,
            y[0],
            y[1],
            y[2],
            y[3],
            self.law,
            self.gamma_c,
            concentrated[0][0] if concentrated else np.nan,
            concentrated[0][1] if concentrated else np.full(4, np.nan),
            path.info,
        )

    def _concentration(self, _t: float, y: np.ndarray) -> float:
        """≥ 0 exactly when the clipped translation maps [a, b] to one point (ν is a Dirac)."""
        s, lo, hi = y[1], y[2], y[3]
        return max(self.law.a + s - hi, lo - (self.law.b + s), lo - hi)

    def solve_fv(
        self,
        *,
        cells: int,
        t_final: float,
        save_times: Any = None,
        save_final: bool = True,
        dt: float | None = None,
        cfl: float = 0.9,
        checkpoint: str | os.PathLike[str] | None = None,
        checkpoint_interval: float | None = 30.0,
        checkpoint_steps: int | None = None,
        resume: bool = False,
        trackers: Sequence[Tracker] = (),
    ) -> ToyMeanFieldFV:
        r"""Finite-volume solution: ν as DG0 cell masses on [−1, 1], g by the same Heun steps.

        Upwind fluxes with the wall faces closed (:mod:`~gan_pde.meanfield.transport`), SSP
        Heun (RK2) in time; the mean :math:`\int\omega\,d\nu` uses the cell centres.  Each
        Heun step is one step of :func:`gan_pde.engine.run` (steps of ``dt`` from each save
        time, the last one shortened to end on the next); an
        :class:`~gan_pde.engine.InvariantTracker` stops the run when ν's mass leaves its
        round-off bound (:func:`~gan_pde.meanfield.transport.mass_roundoff` of the steps)
        or the state stops being finite.

        Parameters
        ----------
        cells
            Number of cells of [−1, 1].
        t_final
            End time.
        save_times
            Times at which ν is stored, in [0, t_final] (default: 0 and t_final);
            ``t_final`` is always added unless ``save_final=False``.
        save_final
            Also store the final state, at ``t_final`` (default).  False stores only the
            ``save_times`` and stops stepping at the last of them (the old behaviour).
        dt
            Fixed step; None picks ``cfl`` times the CFL step.  An explicit dt above the CFL
            limit raises :class:`InvalidInputError`.
        cfl
            Fraction of the CFL step used when dt is None, in (0, 1].
        checkpoint
            File to which the run is checkpointed; None: no checkpoint.
        checkpoint_interval, checkpoint_steps
            Checkpoint once this many seconds have passed since the last checkpoint, and/or
            every this many steps (and after the last).
        resume
            Continue from ``checkpoint`` if it exists (bit-identical to an uninterrupted
            run); a checkpoint of other parameters is refused.
        trackers
            More :class:`~gan_pde.engine.Tracker` objects, called after every step.

        Raises
        ------
        NumericalBreakdownError
            When ν's mass drifts beyond its round-off bound or the state turns non-finite
            (naming the step).
        """
        from gan_pde import engine

        grid = BoxGrid(lower=(-1.0,), upper=(1.0,), cells=(as_positive_int(cells, "cells"),))
        t_final = as_positive(t_final, "t_final")
        times = save_times_in([0.0, t_final] if save_times is None else save_times, t_final)
        times = with_final_time(times, t_final, as_flag(save_final, "save_final"))
        cfl = as_positive(cfl, "cfl")
        if cfl > 1.0:
            msg = f"cfl must lie in (0, 1]; got cfl={cfl}"
            raise InvalidInputError(msg)
        # |v| <= gamma_c / 2 for every g: one CFL step for the whole run
        limit = grid.widths[0] / (0.5 * self.gamma_c)
        if dt is None:
            step = cfl * limit
        else:
            step = as_positive(dt, "dt")
            if step > limit * (1.0 + 1e-12):
                msg = (
                    f"dt={step:g} exceeds the CFL limit {limit:g} of the upwind scheme on "
                    f"{grid.cells[0]} cells (positivity would be lost); use dt <= {limit:g} "
                    "or dt=None"
                )
                raise InvalidInputError(msg)
        masses = as_law(
            self.exact_cell_masses(grid),
            grid,
            name="nu_in",
        )
        # the step end points: steps of `step` from each save time, the last one shortened
        # to end on the next (the clock is the running sum of the step sizes)
        points, sizes, save_index = [0.0], [], []
        t = 0.0
        for target in times:
            while t < target - 1e-14 * max(1.0, target):
                h = min(step, target - t)
                t += h
                points.append(t)
                sizes.append(h)
            save_index.append(len(points) - 1)
        stepper = _FVStepper(self, grid, masses, np.array(points), np.array(sizes))
        saved, rows = _save_rows(len(points), np.array(save_index))
        tolerance = mass_roundoff(len(sizes), grid.cells[0], 1)
        invariants = engine.InvariantTracker(
            {"nu mass": lambda state: float(state["nu"].sum())},
            conserved={"nu mass": tolerance},
        )
        invariants.name = "meanfield_invariants"  # leaves "invariants" to the user's trackers
        result = engine.run(
            stepper,
            grid=(stepper.points, saved),
            trackers=[
                invariants,
                *_engine_trackers(
                    checkpoint, checkpoint_interval, checkpoint_steps, resume, trackers
                ),
            ],
            resume=resume,
        )
        saved_times, observed = _saved_rows(result, rows)
        if not result.info["stop_reason"]:
            saved_times = times
        nu = observed["nu"]
        walls = nu[:, 0] + nu[:, -1]
        return ToyMeanFieldFV(
            saved_times,
            observed["g"],
            nu,
            walls,
            grid,
            result.info["n_steps"],
            {
                "n_steps": result.info["n_steps"],
                "dt": step,
                "mass_tolerance": tolerance,
                **_engine_info(result),
            },
        )

    def exact_cell_masses(self, grid: BoxGrid) -> np.ndarray:
        """ν_in integrated exactly over the cells of a 1D grid of [−1, 1]."""
        if grid.dim != 1 or grid.lower[0] > -1.0 or grid.upper[0] < 1.0:
            msg = f"the grid must cover the clipping box [-1, 1]; got {grid}"
            raise InvalidInputError(msg)
        # a CDF is non-decreasing: remove round-off dips so that no cell mass is negative
        return np.diff(np.maximum.accumulate(self.law.cdf(grid.edges[0])))


class _FVStepper(Stepper):
    """One Heun step of :meth:`ToyMeanField.solve_fv` (state: g and ν's cell masses)."""

    kind = "toy_meanfield_fv"

    def __init__(
        self,
        model: ToyMeanField,
        grid: BoxGrid,
        masses: np.ndarray,
        points: np.ndarray,
        sizes: np.ndarray,
    ) -> None:
        self.model, self.grid, self.masses = model, grid, masses
        self.points, self.sizes = points, sizes
        self.centres = grid.centres[0]
        self.ones = np.ones(grid.cells[0] + 1)

    def fingerprint(self) -> dict[str, Any]:
        law = self.model.law
        return {
            "gamma_c": self.model.gamma_c,
            "g0": self.model.g0,
            "law": [law.a, law.b, law.power],
            "cells": self.grid.cells[0],
            "sizes": self.sizes,
        }

    def initial_state(self) -> dict[str, np.ndarray]:
        return {"g": np.array(self.model.g0), "nu": self.masses.copy()}

    def _rates(self, g: float, m: np.ndarray) -> tuple[float, np.ndarray]:
        model = self.model
        v = model.critic_velocity(g)
        return (
            float(_logistic_pdf(g) * self.centres @ m),
            transport_rates(m, [v * self.ones], self.grid),
        )

    def step(
        self, state: dict[str, np.ndarray], t: float, dt: float
    ) -> tuple[dict[str, np.ndarray], dict[str, float]]:
        # the step size of the clock, exactly (the grid point's difference may round)
        h = float(self.sizes[np.searchsorted(self.points, t)])
        g, masses = float(state["g"]), state["nu"]
        dg1, dm1 = self._rates(g, masses)
        g1, m1 = g + h * dg1, masses + h * dm1
        dg2, dm2 = self._rates(g1, m1)
        g = 0.5 * (g + g1 + h * dg2)
        masses = 0.5 * (masses + m1 + h * dm2)
        return {"g": np.array(g), "nu": masses}, {}

    def observe(self, state: dict[str, np.ndarray], t: float) -> dict[str, Any]:
        return {"g": float(state["g"]), "nu": state["nu"]}
