r"""Time integration of the lGAN system (paper 004, (26)–(29)) on the stepping engine.

:func:`integrate` advances the scaled coefficients y of (u, v) under
:math:`\tilde M_w\dot y = \tilde L y` (:class:`~gan_pde.spectral.lgan_assembly.LGANSystem`)
with one of the one-step schemes of :data:`SCHEMES`.  The time loop is
:func:`gan_pde.engine.run`: :class:`LGANStepper` is the model's side (the state is y and its
norms; one engine step is one step τ of the scheme), so checkpoints, a bit-identical
resume, callbacks and stopping rules come from the engine's trackers.

Examples
--------
>>> import numpy as np
>>> import gan_pde as gp
>>> from gan_pde.spectral import LGANSystem, integrate
>>> system = LGANSystem(gp.Gaussian(mean=[0.0], cov=[[1.0]]), gp.mesh.interval(-8, 8, n=40),
...                     alpha=1.0, beta=1.0)
>>> traj = integrate(system, system.state(v=np.ones_like), tau=0.05, steps=400, scheme="rk4")
>>> float(traj.times[-1]), traj.info["n_steps"]
(20.0, 400)
>>> print(f"{traj.rate():.1f}")  # Theorem 4: the slowest pair λ±(ξ = 1) has Re λ = −1/2
-0.5
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from gan_pde import engine
from gan_pde.errors import InvalidInputError, NumericalBreakdownError
from gan_pde.fem.solvers import (
    Factorization,
    LinearSolver,
    as_linear_solver,
    check_resumed_backend,
)
from gan_pde.spectral.lgan_assembly import LGANSystem, _norms, _parameter, _state

__all__ = ["SCHEMES", "LGANStepper", "LGANTrajectory", "integrate"]

#: Time integrators of :func:`integrate`.
SCHEMES = ("euler", "heun", "rk4", "crank-nicolson")


@dataclass(frozen=True)
class LGANTrajectory:
    r"""Norms of an lGAN solution at every step, and its final state.

    Attributes
    ----------
    times
        The save times :math:`t_n = n\tau`, n = 0..steps.
    u_norm, v_norm
        :math:`\|u(t_n)\|_\mu` and :math:`\|v(t_n)\|_\mu`.
    final
        The scaled state y at the last step.
    scheme, tau
        The integrator and the step.
    info
        Parameters that reproduce the run, and the engine's ``n_steps``, ``seconds`` (wall
        time, resumed sessions included), ``resumed_from_step`` and ``stop_reason``.
    """

    times: np.ndarray
    u_norm: np.ndarray
    v_norm: np.ndarray
    final: np.ndarray = field(repr=False)
    scheme: str
    tau: float
    info: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        from gan_pde._repr import short_repr

        return short_repr(self)

    @property
    def norm(self) -> np.ndarray:
        r"""The energy norm :math:`\sqrt{\|u\|_\mu^2 + \|v\|_\mu^2}`, non-increasing for the
        exact flow: :math:`\tfrac{d}{dt}\|w\|^2 = -2\alpha\|u\|_\mu^2
        - 2\gamma\|\nabla u\|_\mu^2`."""
        return np.hypot(self.u_norm, self.v_norm)

    def rate(self, *, start: float | None = None, of: str = "norm") -> float:
        r"""Least-squares slope of :math:`\ln\|\cdot\|` against t over :math:`t \ge` ``start``.

        Parameters
        ----------
        start
            First time of the fit; default the second half of the run.
        of
            ``"norm"`` (the energy norm), ``"u"`` or ``"v"``.

        Returns
        -------
        float
            The fitted exponential rate (η of Theorem 4 once the slowest mode dominates).
        """
        series = {"norm": self.norm, "u": self.u_norm, "v": self.v_norm}
        if of not in series:
            msg = f"of={of!r} is not one of {tuple(series)}"
            raise InvalidInputError(msg)
        begin = 0.5 * self.times[-1] if start is None else float(start)
        window = self.times >= begin
        if window.sum() < 2 or np.any(series[of][window] <= 0.0):
            msg = f"the fit needs at least two positive norms at t >= {begin}"
            raise InvalidInputError(msg)
        return float(np.polyfit(self.times[window], np.log(series[of][window]), 1)[0])


class LGANStepper(engine.Stepper):
    r"""The lGAN system as a :class:`gan_pde.engine.Stepper`: one step τ of ``scheme``.

    The state is ``{"y": y, "norms": [‖u‖_μ, ‖v‖_μ]}`` (the scaled coefficients and their
    norms); :meth:`step` applies :math:`y_{n+1} = R(\tau\tilde M_w^{-1}\tilde L)\,y_n` with
    the factorisations made once in the constructor, and refuses an overflowed state.
    Callbacks see y.

    Parameters
    ----------
    system
        The discretised lGAN.
    y0
        Initial scaled state, a finite vector of length :math:`n_u + n_v`.
    tau
        The step τ > 0: the engine's grid must be uniform with this step.
    scheme
        One of :data:`SCHEMES`.
    """

    kind = "lgan"

    def __init__(
        self,
        system: LGANSystem,
        y0: np.ndarray,
        *,
        tau: float,
        scheme: str,
        solver: str | LinearSolver | None = None,
    ) -> None:
        self.system = system
        self.y0 = _state(y0, system.n_u + system.n_v)
        self.tau = float(tau)
        self.scheme = scheme
        self._advance, self.factor = _stepper(system, self.tau, scheme, solver)

    def fingerprint(self) -> dict[str, Any]:
        """The parameters, the assembled matrices (by digest), the scheme, τ and y0."""
        system = self.system
        return {
            "alpha": system.alpha,
            "beta": system.beta,
            "gamma": system.gamma,
            "element": system.element,
            "pair": system.pair,
            "n_u": system.n_u,
            "n_v": system.n_v,
            "mass": system.mass.data,
            "operator": system.operator.data,
            "operator_pattern": system.operator.indices,
            "scheme": self.scheme,
            "tau": self.tau,
            "y0": self.y0,
        }

    def initial_state(self) -> dict[str, Any]:
        """y0 and its norms."""
        y = self.y0.copy()
        return {"y": y, "norms": _norms(self.system, y)}

    def step(
        self, state: Mapping[str, Any], t: float, dt: float
    ) -> tuple[dict[str, Any], dict[str, float]]:
        """One step τ of the scheme (the engine's ``dt`` is τ up to round-off)."""
        y = self._advance(state["y"])
        norms = _norms(self.system, y)
        if not (math.isfinite(norms[0]) and math.isfinite(norms[1])):
            n = round((t + dt) / self.tau)
            msg = (
                f"the {self.scheme} solution overflowed at step {n} (t = {n * self.tau:g}): "
                f"the scheme is unstable for tau={self.tau:g} on this spectrum "
                "(see lgan.max_stable_step)"
            )
            raise NumericalBreakdownError(msg)
        return {"y": y, "norms": norms}, {}

    def observe(self, state: Mapping[str, Any], t: float) -> dict[str, float]:
        """‖u‖_μ and ‖v‖_μ."""
        return {"u_norm": state["norms"][0], "v_norm": state["norms"][1]}

    def view(self, state: Mapping[str, Any]) -> np.ndarray:
        """Callbacks receive the scaled state y."""
        return state["y"]

    def state_arrays(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """y, its norms and the name of the linear solver's backend."""
        return {**state, "linear_solver": np.array(self.factor.backend)}

    def load_state(self, arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
        """Inverse of :meth:`state_arrays` (warns if the checkpoint used another backend)."""
        check_resumed_backend(arrays, self.factor.backend, "lgan.integrate")
        return {key: np.array(arrays[key]) for key in ("y", "norms")}


def integrate(
    system: LGANSystem,
    y0: np.ndarray,
    *,
    tau: float,
    steps: int,
    scheme: str = "crank-nicolson",
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_interval: float | None = 30.0,
    checkpoint_steps: int | None = None,
    resume: bool = False,
    trackers: Sequence[engine.Tracker] = (),
    solver: str | LinearSolver | None = None,
) -> LGANTrajectory:
    r"""Integrate :math:`\tilde M_w\dot y = \tilde L y` with a one-step scheme.

    Each scheme multiplies an eigenmode λ by its stability function per step:

    .. math::

        y_{n+1} = R(\tau\tilde M_w^{-1}\tilde L)\,y_n,\qquad
        R(z) = 1 + z\ \text{(Euler, (27)–(28))},\ \ 1 + z + \tfrac{z^2}{2}\ \text{(Heun)},\ \
        \sum_{j\le4}\tfrac{z^j}{j!}\ \text{(RK4)},\ \ \frac{1 + z/2}{1 - z/2}\ \text{(CN)}.

    Forward Euler, gradient descent–ascent, is absolutely unstable for WGAN and for γ = 0
    on fine meshes (29): the late-time growth factor per step is
    :math:`\max_i|R(\tau\lambda_i)|` over the discrete spectrum, and ξ_max ~ h⁻².  Heun and
    RK4 are stable for τ up to :func:`gan_pde.spectral.lgan.max_stable_step`.
    Crank–Nicolson is A-stable; for WGAN (α = γ = 0) :math:`\tilde M_w^{-1}\tilde L` is
    skew-adjoint in the :math:`\tilde M_w` inner product and CN, its Cayley transform,
    conserves :math:`\|u\|_\mu^2 + \|v\|_\mu^2` exactly, like the exact flow.  It is not
    L-stable: a stiff real mode (:math:`\lambda \approx -\gamma\xi_{\max}`, ξ_max ~ h⁻²)
    is damped only by :math:`|R| \approx 1 - 4/(\tau|\lambda|)` per step, a rate
    :math:`\approx -4/(\tau^2|\lambda|)`, which must stay well below the η being measured.

    The mass matrix is factorised once (block diagonal, per cell for the stable pair's v),
    and for Crank–Nicolson :math:`\tilde M_w - \tfrac{\tau}{2}\tilde L` once.  The steps
    are taken by :func:`gan_pde.engine.run` (:class:`LGANStepper`), on the grid
    :math:`t_n = n\tau`.

    Parameters
    ----------
    system
        The discretised lGAN.
    y0
        Initial scaled state (see :meth:`LGANSystem.state`).
    tau
        Step τ > 0.
    steps
        Number of steps ≥ 1.
    scheme
        One of :data:`SCHEMES`.
    checkpoint
        File to write the run's state to (atomic, checksummed: :mod:`gan_pde.checkpoint`)
        every ``checkpoint_interval`` seconds of wall time and/or every
        ``checkpoint_steps`` steps, and after the last step.  None: no checkpoints.
    checkpoint_interval
        Seconds of wall time between checkpoints (0: after every step; None: by steps
        only).
    checkpoint_steps
        Steps between checkpoints (None: by time only).
    resume
        Continue from ``checkpoint`` if it exists (a missing file starts from t = 0).  The
        resumed run takes the same steps from the same state, so its result is
        bit-identical to an uninterrupted run's; a checkpoint of another run (another
        system, scheme, τ, number of steps or y0) is refused with the differing parameter
        named.
    trackers
        More :class:`gan_pde.engine.Tracker` objects observing the run (callbacks, which
        receive ``(t, y)``, stopping rules, invariants).
    solver
        The sparse solver (:func:`gan_pde.fem.solvers.linear_solver` name or object) of
        the one factorisation: :math:`\tilde M_w - \tfrac{\tau}{2}\tilde L` for
        Crank–Nicolson (unsymmetric: ``"pardiso"`` or ``"superlu"``), the SPD mass
        :math:`\tilde M_w` for the explicit schemes (any backend).  Default SuperLU, with
        which the results were made bit for bit; the backend is recorded in
        ``info["linear_solver"]``.

    Returns
    -------
    LGANTrajectory
        ``info`` also holds the engine's ``n_steps``, ``seconds``, ``resumed_from_step``
        and ``stop_reason``.

    Raises
    ------
    NumericalBreakdownError
        If the solution overflows (an unstable explicit scheme run too long), or if the mesh
        does not resolve ρ (see :meth:`LGANSystem.eigenvalues`).
    IncompatibleCheckpointError
        If ``resume`` finds a damaged checkpoint or one of another run.

    Examples
    --------
    >>> import gan_pde as gp
    >>> import numpy as np
    >>> from gan_pde.spectral import LGANSystem
    >>> system = LGANSystem(gp.Gaussian(mean=[0.0], cov=[[1.0]]),
    ...                     gp.mesh.interval(-8, 8, n=40), alpha=0.0, beta=1.0)
    >>> y0 = system.state(v=lambda x: np.ones_like(x))
    >>> traj = integrate(system, y0, tau=0.1, steps=100)  # WGAN: CN conserves the energy
    >>> print(f"{traj.norm[-1] / traj.norm[0]:.12f}")
    1.000000000000
    """
    if not isinstance(system, LGANSystem):
        msg = f"system must be an LGANSystem; got {type(system).__name__}"
        raise InvalidInputError(msg)
    y = _state(y0, system.n_u + system.n_v).copy()
    tau = _parameter(tau, "tau", nonnegative=True, reason="a step size")
    if tau == 0.0:
        msg = "tau must be > 0 (a step size); got 0.0"
        raise InvalidInputError(msg)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        msg = f"steps must be an integer >= 1; got {steps!r}"
        raise InvalidInputError(msg)
    if scheme not in SCHEMES:
        msg = f"scheme={scheme!r} is not one of {SCHEMES}"
        raise InvalidInputError(msg)
    system._check_resolved("integrate")
    stepper = LGANStepper(system, y, tau=tau, scheme=scheme, solver=solver)
    grid = tau * np.arange(steps + 1)
    tracking = engine.standard_trackers(
        checkpoint=checkpoint,
        checkpoint_interval=checkpoint_interval,
        checkpoint_steps=checkpoint_steps,
        resume=resume,
        trackers=trackers,
    )
    result = engine.run(
        stepper, grid=(grid, np.ones(grid.size, dtype=bool)), trackers=tracking, resume=resume
    )
    info = {
        "alpha": system.alpha,
        "beta": system.beta,
        "gamma": system.gamma,
        "element": system.element,
        "pair": system.pair,
        "n_u": system.n_u,
        "n_v": system.n_v,
        "steps": int(steps),
        **result.info,
        "linear_solver": stepper.factor.describe(),
    }
    return LGANTrajectory(
        times=result.times,
        u_norm=result.observations["u_norm"],
        v_norm=result.observations["v_norm"],
        final=result.state["y"],
        scheme=scheme,
        tau=tau,
        info=info,
    )


def _stepper(
    system: LGANSystem, tau: float, scheme: str, solver: str | LinearSolver | None = None
) -> tuple[Callable[[np.ndarray], np.ndarray], Factorization]:
    """The step map of ``scheme`` and the factorisation it solves with.

    SuperLU by default: ``kind="general"`` is scipy's ``splu`` with MMD_AT_PLUS_A and
    ``kind="spd"`` the package's symmetric-mode factorisation, the factorisations these
    schemes always used (same bits)."""
    if scheme == "crank-nicolson":
        linear = as_linear_solver(solver, kind="general", default="superlu")
        lu = linear.factorize(sp.csc_matrix(system.mass - 0.5 * tau * system.operator))
        explicit = (system.mass + 0.5 * tau * system.operator).tocsr()
        return (lambda y: lu.solve(explicit @ y)), lu
    linear = as_linear_solver(solver, kind="spd", default="superlu")
    mass_lu = linear.factorize(system.mass)

    def rate(y: np.ndarray) -> np.ndarray:
        return mass_lu.solve(system.operator @ y)

    if scheme == "euler":
        return (lambda y: y + tau * rate(y)), mass_lu
    if scheme == "heun":

        def heun(y: np.ndarray) -> np.ndarray:
            k1 = rate(y)
            return y + 0.5 * tau * (k1 + rate(y + tau * k1))

        return heun, mass_lu

    def rk4(y: np.ndarray) -> np.ndarray:
        k1 = rate(y)
        k2 = rate(y + 0.5 * tau * k1)
        k3 = rate(y + 0.5 * tau * k2)
        k4 = rate(y + tau * k3)
        return y + tau / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)

    return rk4, mass_lu
