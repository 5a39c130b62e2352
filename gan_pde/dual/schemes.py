"""Time stepping of the dual flow (7): the minimising-movement scheme (8)–(9) and its kin.

Four schemes with step τ advance :math:`z_k = (x_k, y_k)` of an :class:`EuclideanGame`:

``"implicit"``
    the paper's scheme (8)–(9): a proximal (JKO) step of the first player on
    :math:`\\mathcal C^x(\\cdot, y_k)`, then one of the second player on
    :math:`\\mathcal C^y(x_{k+1}, \\cdot)`:

    .. math::

        x_{k+1} = \\operatorname{argmin}_u \\frac{|u - x_k|^2}{2\\tau} + \\mathcal C^x(u, y_k),
        \\quad
        y_{k+1} = \\operatorname{argmin}_u \\frac{|u - y_k|^2}{2\\tau}
        + \\mathcal C^y(x_{k+1}, u);

``"alternating"``
    the explicit alternating scheme (1): :math:`x_{k+1} = x_k - \\tau\\nabla_x\\mathcal
    C^x(x_k, y_k)`, :math:`y_{k+1} = y_k - \\tau\\nabla_y\\mathcal C^y(x_{k+1}, y_k)`;
``"simultaneous"``
    explicit Euler for (7): both gradients at :math:`(x_k, y_k)`;
``"joint-implicit"``
    backward Euler for (7): :math:`z_{k+1} = z_k + \\tau v(z_{k+1})` with v the velocity of (7).

The proximal steps are solved in closed form for bilinear games and otherwise by
:func:`scipy.optimize.minimize` (trust-region Newton with the Hessian when the game has one,
BFGS otherwise); every solve is checked on its optimality residual
:math:`|u - x_k + \\tau\\nabla\\mathcal C(u)|` and a failure raises
:class:`~gan_pde.errors.NotConvergedError` with the numbers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.integrate
import scipy.optimize
from numpy.typing import ArrayLike

from gan_pde._arrays import as_choice, as_positive, as_positive_int
from gan_pde.dual.games import EuclideanGame, as_state
from gan_pde.engine import Stepper, Tracker, run, standard_trackers
from gan_pde.errors import InvalidInputError, NotConvergedError

__all__ = [
    "SCHEMES",
    "DualPath",
    "DualStepper",
    "dual_flow",
    "fitted_order",
    "log_growth_rate",
    "proximal_step",
    "proximal_x",
    "proximal_y",
    "simulate",
]

logger = logging.getLogger(__name__)

#: Gradient tolerance (state units) of the minimiser before the polishing iterations.
_POLISH_FROM = 1e-8
#: Most polishing iterations after the minimiser.
_POLISH_ITERATIONS = 50

#: The time-stepping schemes of :func:`simulate`.
SCHEMES = ("implicit", "alternating", "simultaneous", "joint-implicit")


@dataclass(frozen=True)
class DualPath:
    """A discrete (or exact) path of the dual flow.

    Attributes
    ----------
    times
        ``(n + 1,)`` times :math:`k\\tau` (or the requested times for the exact flow).
    x, y
        ``(n + 1, d_x)`` and ``(n + 1, d_y)`` states of the two players.
    scheme
        One of :data:`SCHEMES`, or ``"exact"`` for :func:`dual_flow`.
    tau
        The step (None for the exact flow).
    inner_iterations
        ``(n,)`` iterations of the inner solver per step (0 for explicit steps).
    info
        Game name and solver settings; for :func:`simulate` also the engine's
        ``n_steps``, ``seconds``, ``resumed_from_step`` and ``stop_reason``.
    """

    times: np.ndarray
    x: np.ndarray
    y: np.ndarray
    scheme: str
    tau: float | None
    inner_iterations: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        from gan_pde._repr import short_repr

        return short_repr(self)

    @property
    def z(self) -> np.ndarray:
        """``(n + 1, d_x + d_y)``: both players side by side."""
        return np.hstack([self.x, self.y])


def proximal_step(
    cost: Callable[[np.ndarray], float],
    grad: Callable[[np.ndarray], np.ndarray],
    start: np.ndarray,
    tau: float,
    *,
    hess: Callable[[np.ndarray], np.ndarray] | None = None,
    tol: float = 1e-12,
) -> tuple[np.ndarray, int]:
    r"""The minimising movement :math:`\operatorname{argmin}_u |u - s|^2/(2\tau) + F(u)` (24).

    Parameters
    ----------
    cost, grad, hess
        F, its gradient and (optional) Hessian.
    start
        The previous state s.
    tau
        The step τ > 0.
    tol
        Accepted optimality residual :math:`|u - s + \tau\nabla F(u)| \le
        \mathrm{tol}\,(1 + |s|)` (the implicit equation of the step, in state units).

    Returns
    -------
    (u, iterations)

    Raises
    ------
    NotConvergedError
        When the minimiser does not meet ``tol`` (with the residual and the solver message).

    Examples
    --------
    >>> u, _ = proximal_step(lambda u: 0.5 * float(u @ u), lambda u: u, np.array([2.0]), 1.0)
    >>> u.round(12).tolist()  # u = s / (1 + tau)
    [1.0]
    """
    tau = as_positive(tau, "tau")
    tol = as_positive(tol, "tol")
    start = as_state(start, "start")
    scale = 1.0 + float(np.linalg.norm(start))
    guess = start - tau * grad(start)

    def objective(u: np.ndarray) -> tuple[float, np.ndarray]:
        d = u - start
        return float(d @ d) / (2.0 * tau) + cost(u), d / tau + grad(u)

    if hess is not None:
        eye = np.eye(start.size) / tau
        result = scipy.optimize.minimize(
            objective,
            guess,
            jac=True,
            hess=lambda u: eye + hess(u),
            method="trust-exact",
            options={"gtol": _POLISH_FROM * scale / tau},
        )
    else:
        result = scipy.optimize.minimize(
            objective,
            guess,
            jac=True,
            method="BFGS",
            options={"gtol": _POLISH_FROM * scale / tau, "maxiter": 500},
        )
    u = np.asarray(result.x, dtype=float)
    iterations = int(result.nit)
    residual = np.inf
    # Polish the minimiser on the optimality equation G(u) = u - s + tau grad F(u) = 0:
    # Newton with G' = I + tau hess F, or the Picard map u <- s - tau grad F(u) of Lemma 1
    # (a contraction for tau Lip(grad F) < 1); both from an iterate already within 1e-8.
    for _ in range(_POLISH_ITERATIONS):
        g = u - start + tau * grad(u)
        residual = float(np.linalg.norm(g))
        if not np.isfinite(residual) or residual <= tol * scale:
            break
        if hess is not None:
            u = u - np.linalg.solve(np.eye(u.size) + tau * hess(u), g)
        else:
            u = start - tau * grad(u)
        iterations += 1
    if not (np.all(np.isfinite(u)) and residual <= tol * scale):
        msg = (
            f"proximal step with tau={tau:g} from {start.tolist()} did not converge: "
            f"optimality residual {residual:.3e} > tol*(1+|s|) = {tol * scale:.3e} after "
            f"{iterations} iterations ({result.message})"
        )
        raise NotConvergedError(msg)
    return u, iterations


def _joint_implicit_step(
    game: EuclideanGame, z: np.ndarray, tau: float, tol: float
) -> tuple[np.ndarray, int]:
    dx = game.dim_x
    if game.bilinear is not None:
        coupling, target = game.bilinear
        dim = z.size
        # z = (x, w = y - y_r):  x' = B w,  w' = -B^T x  -> (I - tau J) z_new = z
        jac = np.zeros((dim, dim))
        jac[:dx, dx:] = coupling
        jac[dx:, :dx] = -coupling.T
        shift = np.concatenate([np.zeros(dx), target])
        w = np.linalg.solve(np.eye(dim) - tau * jac, z - shift)
        return w + shift, 0

    def residual(u: np.ndarray) -> np.ndarray:
        return u - z - tau * game.velocity(u[:dx], u[dx:])

    guess = z + tau * game.velocity(z[:dx], z[dx:])
    result = scipy.optimize.root(residual, guess, method="hybr", options={"xtol": 1e-14})
    u = np.asarray(result.x, dtype=float)
    error = float(np.linalg.norm(residual(u)))
    scale = 1.0 + float(np.linalg.norm(z))
    if not (np.all(np.isfinite(u)) and error <= tol * scale):
        msg = (
            f"joint backward-Euler step with tau={tau:g} from {z.tolist()} did not converge: "
            f"residual {error:.3e} > tol*(1+|z|) = {tol * scale:.3e} ({result.message})"
        )
        raise NotConvergedError(msg)
    return u, int(result.nfev)


def proximal_x(
    game: EuclideanGame, x: np.ndarray, y: np.ndarray, tau: float, *, tol: float = 1e-12
) -> np.ndarray:
    r""":math:`\mathcal M^x(x, y, \tau)` of (24): the first player's minimising movement."""
    if game.bilinear is not None:
        # C^x is linear in x: the proximal step is the explicit step.
        coupling, target = game.bilinear
        return x + tau * coupling @ (y - target)
    hess = None if game.hess_x is None else (lambda u: game.hess_x(u, y))
    u, _ = proximal_step(
        lambda u: game.loss_x(u, y), lambda u: game.gradient_x(u, y), x, tau, hess=hess, tol=tol
    )
    return u


def proximal_y(
    game: EuclideanGame, x: np.ndarray, y: np.ndarray, tau: float, *, tol: float = 1e-12
) -> np.ndarray:
    r""":math:`\mathcal M^y(x, y, \tau)` of (25): the second player's minimising movement."""
    if game.bilinear is not None:
        coupling, _ = game.bilinear
        return y - tau * coupling.T @ x
    hess = None if game.hess_y is None else (lambda u: game.hess_y(x, u))
    u, _ = proximal_step(
        lambda u: game.loss_y(x, u), lambda u: game.gradient_y(x, u), y, tau, hess=hess, tol=tol
    )
    return u


def _implicit_step(
    game: EuclideanGame, x: np.ndarray, y: np.ndarray, tau: float, tol: float
) -> tuple[np.ndarray, np.ndarray, int]:
    if game.bilinear is not None:
        x_new = proximal_x(game, x, y, tau)
        return x_new, proximal_y(game, x_new, y, tau), 0
    hess_x = None if game.hess_x is None else (lambda u: game.hess_x(u, y))
    x_new, it_x = proximal_step(
        lambda u: game.loss_x(u, y),
        lambda u: game.gradient_x(u, y),
        x,
        tau,
        hess=hess_x,
        tol=tol,
    )
    hess_y = None if game.hess_y is None else (lambda u: game.hess_y(x_new, u))
    y_new, it_y = proximal_step(
        lambda u: game.loss_y(x_new, u),
        lambda u: game.gradient_y(x_new, u),
        y,
        tau,
        hess=hess_y,
        tol=tol,
    )
    return x_new, y_new, it_x + it_y


class DualStepper(Stepper):
    r"""One step of a scheme of :data:`SCHEMES` for :func:`gan_pde.engine.run` (what
    :func:`simulate` drives).

    The state is ``{"x": x_k, "y": y_k}``; a step is one step of length :attr:`tau` (the
    engine's ``dt`` is that τ up to the round-off of the grid kτ, and the scheme uses τ
    itself, so every step is the same map); its record is the inner solver's iteration
    count (``inner_iterations``, 0 for explicit steps).

    Parameters
    ----------
    game, x0, y0, tau, scheme, tol
        As in :func:`simulate` (validated there).
    """

    kind = "dual_scheme"

    def __init__(
        self,
        game: EuclideanGame,
        x0: np.ndarray,
        y0: np.ndarray,
        *,
        tau: float,
        scheme: str,
        tol: float,
    ) -> None:
        self.game, self.x0, self.y0 = game, x0, y0
        self.tau, self.scheme, self.tol = tau, scheme, tol

    def fingerprint(self) -> dict[str, Any]:
        bilinear = self.game.bilinear
        return {
            "game": self.game.name,
            "dim_x": self.game.dim_x,
            "dim_y": self.game.dim_y,
            "bilinear": [] if bilinear is None else list(bilinear),
            "x0": self.x0,
            "y0": self.y0,
            "tau": self.tau,
            "scheme": self.scheme,
            "tol": self.tol,
        }

    def initial_state(self) -> dict[str, np.ndarray]:
        return {"x": self.x0.copy(), "y": self.y0.copy()}

    def step(
        self, state: dict[str, np.ndarray], t: float, dt: float
    ) -> tuple[dict[str, np.ndarray], dict[str, float]]:
        game, tau, x, y = self.game, self.tau, state["x"], state["y"]
        iterations = 0
        if self.scheme == "implicit":
            x, y, iterations = _implicit_step(game, x, y, tau, self.tol)
        elif self.scheme == "alternating":
            x = x - tau * game.gradient_x(x, y)
            y = y - tau * game.gradient_y(x, y)
        elif self.scheme == "simultaneous":
            x, y = x - tau * game.gradient_x(x, y), y - tau * game.gradient_y(x, y)
        else:
            z, iterations = _joint_implicit_step(game, np.concatenate([x, y]), tau, self.tol)
            x, y = z[: game.dim_x], z[game.dim_x :]
        return {"x": x, "y": y}, {"inner_iterations": iterations}

    def observe(self, state: dict[str, np.ndarray], t: float) -> dict[str, np.ndarray]:
        return {"x": state["x"], "y": state["y"]}


def simulate(
    game: EuclideanGame,
    x0: ArrayLike,
    y0: ArrayLike,
    *,
    tau: float,
    n_steps: int,
    scheme: str = "implicit",
    tol: float = 1e-12,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_interval: float | None = 30.0,
    checkpoint_steps: int | None = None,
    resume: bool = False,
    trackers: Sequence[Tracker] = (),
) -> DualPath:
    r"""Run ``n_steps`` steps of one of :data:`SCHEMES` from :math:`(x_0, y_0)`.

    The steps are driven by :func:`gan_pde.engine.run` (:class:`DualStepper`) on the
    grid :math:`k\tau`, every step saved.

    Parameters
    ----------
    game
        The two losses (:class:`~gan_pde.dual.games.EuclideanGame`).
    x0, y0
        Initial states :math:`(\bar x, \bar y)` of (8)–(9).
    tau
        The learning rate τ > 0.
    n_steps
        Number of steps (the path ends at :math:`t = n\tau`).
    scheme
        ``"implicit"`` (8)–(9), ``"alternating"`` (1), ``"simultaneous"`` or
        ``"joint-implicit"``.
    tol
        Optimality residual accepted in the inner solves (see :func:`proximal_step`).
    checkpoint
        File to which the run's state is written atomically every ``checkpoint_interval``
        seconds and/or ``checkpoint_steps`` steps and after the last step
        (:class:`gan_pde.engine.CheckpointTracker`).  None: no checkpoints.
    checkpoint_interval, checkpoint_steps
        Seconds of wall time (None: by steps only) and steps (None: by time only) between
        checkpoints.
    resume
        Continue from ``checkpoint`` if it exists, bit-identically to an uninterrupted run;
        a checkpoint of another game name, start, τ, scheme or step count is refused.  The
        losses themselves are callables and cannot be compared: resume with the same game.
    trackers
        More :class:`gan_pde.engine.Tracker` objects; they see ``{"x": x, "y": y}``.

    Returns
    -------
    DualPath

    Raises
    ------
    InvalidInputError
        For a game that is not an :class:`EuclideanGame`, a non-positive τ, ``n_steps`` or
        ``tol``, an unknown scheme, states of the wrong size, ``resume=True`` without
        ``checkpoint``.
    NotConvergedError
        When an inner solve misses ``tol``.
    IncompatibleCheckpointError
        If ``resume`` finds a damaged checkpoint or one of another run.

    Examples
    --------
    >>> from gan_pde.dual.games import oscillating_game
    >>> path = simulate(oscillating_game([0.0]), [1.0], [0.0], tau=0.1, n_steps=3,
    ...                 scheme="joint-implicit")
    >>> r2 = (path.x**2 + path.y**2).ravel()
    >>> bool(np.allclose(r2[1:] / r2[:-1], 1 / 1.01))  # |eigenvalue|^2 = 1/(1+tau^2)
    True
    """
    if not isinstance(game, EuclideanGame):
        msg = f"game must be an EuclideanGame; got {type(game).__name__}"
        raise InvalidInputError(msg)
    tau = as_positive(tau, "tau")
    n_steps = as_positive_int(n_steps, "n_steps")
    tol = as_positive(tol, "tol")
    scheme = as_choice(scheme, "scheme", SCHEMES)
    x = as_state(x0, "x0", game.dim_x)
    y = as_state(y0, "y0", game.dim_y)
    stepper = DualStepper(game, x, y, tau=tau, scheme=scheme, tol=tol)
    trackers = standard_trackers(
        checkpoint=checkpoint,
        checkpoint_interval=checkpoint_interval,
        checkpoint_steps=checkpoint_steps,
        resume=resume,
        trackers=trackers,
    )
    times = tau * np.arange(n_steps + 1)
    grid = (times, np.ones(times.size, dtype=bool))
    result = run(stepper, grid=grid, trackers=trackers, resume=resume)
    logger.debug("%s: %d %s steps of tau=%g", game.name, n_steps, scheme, tau)
    return DualPath(
        times=result.times,
        x=result.observations["x"],
        y=result.observations["y"],
        scheme=scheme,
        tau=tau,
        inner_iterations=result.records["inner_iterations"].astype(int),
        info={"game": game.name, "tol": tol, **result.info},
    )


def dual_flow(
    game: EuclideanGame,
    x0: ArrayLike,
    y0: ArrayLike,
    times: ArrayLike,
    *,
    rtol: float = 1e-12,
) -> DualPath:
    r"""An accurate solution of the dual flow (7) at ``times`` (DOP853, ``rtol = atol``).

    .. math::

        x' = -\nabla_x\mathcal C^x(x, y), \quad y' = -\nabla_y\mathcal C^y(x, y),
        \quad (x, y)(0) = (\bar x, \bar y).

    Examples
    --------
    >>> from gan_pde.dual.games import oscillating_game
    >>> path = dual_flow(oscillating_game([0.0]), [1.0], [0.0], [0.0, np.pi / 2])
    >>> path.x[-1].round(9).tolist(), path.y[-1].round(9).tolist()   # rotation
    ([0.0], [-1.0])
    """
    x = as_state(x0, "x0", game.dim_x)
    y = as_state(y0, "y0", game.dim_y)
    t = np.asarray(times, dtype=float)
    if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)) or t[0] < 0:
        msg = f"times must be a non-empty 1D array of finite times >= 0; got {times!r}"
        raise InvalidInputError(msg)
    if np.any(np.diff(t) < 0):
        msg = f"times must be increasing; got {t.tolist()}"
        raise InvalidInputError(msg)
    rtol = as_positive(rtol, "rtol")
    dx = game.dim_x
    if t[-1] == 0.0:
        z = np.tile(np.concatenate([x, y]), (t.size, 1))
    else:
        solution = scipy.integrate.solve_ivp(
            lambda _t, z: game.velocity(z[:dx], z[dx:]),
            (0.0, float(t[-1])),
            np.concatenate([x, y]),
            method="DOP853",
            t_eval=t,
            rtol=rtol,
            atol=rtol,
        )
        if not solution.success:
            msg = f"the ODE solver failed on the dual flow (7): {solution.message}"
            raise NotConvergedError(msg)
        z = solution.y.T
    return DualPath(
        times=t,
        x=z[:, :dx].copy(),
        y=z[:, dx:].copy(),
        scheme="exact",
        tau=None,
        inner_iterations=np.zeros(0, dtype=int),
        info={"game": game.name, "rtol": rtol},
    )


def fitted_order(steps: ArrayLike, errors: ArrayLike) -> float:
    """Least-squares slope of log(error) against log(step)."""
    h = np.asarray(steps, dtype=float)
    e = np.asarray(errors, dtype=float)
    if h.size < 2 or h.shape != e.shape or np.any(h <= 0) or np.any(~(e > 0)):
        msg = f"need >= 2 positive steps and errors of equal length; got {h}, {e}"
        raise InvalidInputError(msg)
    return float(np.polyfit(np.log(h), np.log(e), 1)[0])


def log_growth_rate(times: np.ndarray, values: np.ndarray) -> float:
    """Least-squares slope of ln(values) against time (per unit time)."""
    if np.any(~(values > 0)):
        msg = "values must be positive to fit a logarithmic growth rate"
        raise InvalidInputError(msg)
    return float(np.polyfit(times, np.log(values), 1)[0])
