r"""The dual flow with a generator law in :math:`(\mathcal P(\mathbb R), W_2)` (paper 003).

The generator is an empirical law :math:`\mu = \frac1N\sum_i \delta_{x_i}`, the discriminator
a Lipschitz function :math:`\ell_y = \sum_j y_j\varphi_j` of 1-Lipschitz features
:math:`\varphi_j(x) = s\tanh((x - c_j)/s)` (and optionally :math:`\varphi_0(x) = x`), the
target an empirical law :math:`\mu_r`.  With :math:`g(\mu) = \mathbb E_\mu\varphi -
\mathbb E_{\mu_r}\varphi` the losses (6), with a weight decay λ ≥ 0 on the discriminator, are

.. math::

    \mathcal C^{\ell}(y, \mu) = -y\cdot g(\mu) + \tfrac{\lambda}{2}|y|^2, \qquad
    \mathcal C^{\mu}(y, \mu) = \mathbb E_\mu \ell_y - \mathbb E_{\mu_r}\ell_y .

As in (1) and Section 3 the discriminator moves first.  The implicit scheme (8)–(9) is then

* discriminator: the proximal step of a quadratic, :math:`y_{k+1} = (y_k + \tau
  g(\mu_k))/(1 + \tau\lambda)`;
* generator: the JKO step :math:`\mu_{k+1} = \operatorname{argmin}_\mu W_2^2(\mu,
  \mu_k)/(2\tau) + \mathbb E_\mu\ell_{y_{k+1}}`.  For a potential energy the minimiser is
  the push-forward of :math:`\mu_k` by the pointwise proximal map
  :math:`T(x) = \operatorname{argmin}_z |z - x|^2/(2\tau) + \ell(z)` (for any μ and any
  coupling π of :math:`(\mu_k, \mu)`, :math:`\int |z-x|^2/(2\tau) + \ell(z)\,d\pi \ge \int
  \min_z(\dots)\,d\mu_k`, with equality for :math:`T_\#\mu_k`).  The particles are kept
  sorted, i.e. as the quantile function of :math:`\mu_k` (monotone rearrangement).

:math:`T` is computed globally: a minimiser solves :math:`z = x - \tau\ell'(z)`, so
:math:`|T(x) - x| \le \tau\,\mathrm{Lip}(\ell)`; that range is scanned on one grid of
spacing ≤ s/16 for all particles and the best grid point refined by a safeguarded Newton
iteration on :math:`(z - x)/\tau + \ell'(z) = 0` within its two neighbours.  :math:`T` is
always one-to-one (x = z + τℓ'(z) is determined by z) and continuous while
:math:`\tau\max(-\ell'') < 1`; beyond, it jumps over the wells of ℓ and a step can pile
the whole generator into the discriminator's current favourite well: the mode collapse
caused by too large a step (Section 3, see :func:`collapse_study`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from gan_pde._arrays import as_finite_array, as_non_negative, as_positive, as_positive_int
from gan_pde.engine import Stepper, Tracker, run, standard_trackers
from gan_pde.errors import InvalidInputError, NotConvergedError, NumericalBreakdownError

__all__ = [
    "CollapseStudy",
    "ParticleGame",
    "ParticleGameStepper",
    "ParticlePath",
    "bimodal_target",
    "collapse_study",
    "count_atoms",
    "w2_distance",
]

logger = logging.getLogger(__name__)

#: Most grid points of the global scan of the proximal map.
_MAX_SCAN = 20001
#: Entries (particles x grid points) per block of the scan.
_BLOCK = 2_000_000
#: Most safeguarded Newton iterations after the scan.
_NEWTON = 60


def _as_atoms(value: ArrayLike, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        msg = f"{name} must be a 1D array of real atoms; got {value!r}"
        raise InvalidInputError(msg) from exc
    if arr.ndim != 1 or arr.size == 0:
        msg = f"{name} must be a non-empty 1D array of atoms; got shape {arr.shape}"
        raise InvalidInputError(msg)
    return as_finite_array(arr, name)


def w2_distance(a: ArrayLike, b: ArrayLike) -> float:
    r"""Exact :math:`W_2` between two uniform empirical laws on :math:`\mathbb R`.

    .. math:: W_2^2(\mu, \nu) = \int_0^1 |F_\mu^{-1}(m) - F_\nu^{-1}(m)|^2\,dm,

    the quantile functions being piecewise constant between the levels i/n and j/m.

    Examples
    --------
    >>> w2_distance([0.0, 1.0], [0.5])
    0.5
    """
    qa = np.sort(_as_atoms(a, "a"))
    qb = np.sort(_as_atoms(b, "b"))
    levels = np.union1d(np.arange(qa.size + 1) / qa.size, np.arange(qb.size + 1) / qb.size)
    mid = 0.5 * (levels[1:] + levels[:-1])
    ia = np.minimum((mid * qa.size).astype(int), qa.size - 1)
    ib = np.minimum((mid * qb.size).astype(int), qb.size - 1)
    return float(np.sqrt(np.sum(np.diff(levels) * (qa[ia] - qb[ib]) ** 2)))


def count_atoms(particles: ArrayLike, *, tol: float = 1e-8) -> int:
    """Number of distinct points among ``particles`` (gaps larger than ``tol``)."""
    q = np.sort(_as_atoms(particles, "particles"))
    return 1 + int(np.sum(np.diff(q) > tol))


@dataclass(frozen=True)
class ParticlePath:
    """A path of the particle dual flow.

    Attributes
    ----------
    times
        ``(n + 1,)`` times kτ.
    particles
        ``(n + 1, N)`` sorted generator atoms (the quantile function at levels (i+½)/N).
    y
        ``(n + 1, J)`` discriminator coefficients.
    scheme, tau
        ``"implicit"`` (8)–(9) or ``"alternating"`` (1); the step.
    curvature
        ``(n,)`` :math:`\\max_x(-\\ell''_{y_{k+1}}(x))` over the particles' reach at each
        generator step (the proximal map is one-to-one while τ·curvature < 1).
    info
        Settings, and the engine's ``n_steps``, ``seconds``, ``resumed_from_step`` and
        ``stop_reason``.
    """

    times: np.ndarray
    particles: np.ndarray
    y: np.ndarray
    scheme: str
    tau: float
    curvature: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    def atoms(self, *, tol: float = 1e-8) -> np.ndarray:
        """``(n + 1,)`` number of distinct generator atoms at each step."""
        return np.array([count_atoms(p, tol=tol) for p in self.particles])


@dataclass(frozen=True)
class ParticleGame:
    r"""Generator :math:`\frac1N\sum\delta_{x_i}` against a feature discriminator (paper 003).

    Parameters
    ----------
    target
        Atoms of the target law :math:`\mu_r` (equal weights).
    centers, width
        The features :math:`\varphi_j(x) = s\tanh((x - c_j)/s)` (1-Lipschitz).
    linear
        Add the feature :math:`\varphi_0(x) = x` (first coefficient).
    weight_decay
        λ ≥ 0 in the discriminator loss.

    Examples
    --------
    >>> game = ParticleGame(target=[2.0], centers=[], width=1.0, linear=True)
    >>> path = game.simulate([0.0, 1.0], [0.0], tau=0.5, n_steps=1)
    >>> path.y[1].tolist(), path.particles[1].round(12).tolist()  # y += tau(mean - 2); x -= tau y
    ([-0.75], [0.375, 1.375])
    """

    target: np.ndarray
    centers: np.ndarray
    width: float
    linear: bool = False
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "target", _as_atoms(self.target, "target"))
        centers = as_finite_array(self.centers, "centers").reshape(-1)
        object.__setattr__(self, "centers", centers)
        object.__setattr__(self, "width", as_positive(self.width, "width"))
        object.__setattr__(self, "weight_decay", as_non_negative(self.weight_decay, "weight_decay"))
        if centers.size == 0 and not self.linear:
            msg = "the discriminator needs features: give centers or linear=True"
            raise InvalidInputError(msg)

    @property
    def n_features(self) -> int:
        """Number of discriminator coefficients J."""
        return self.centers.size + int(self.linear)

    def features(self, x: np.ndarray, order: int = 0) -> np.ndarray:
        """:math:`\\varphi_j^{(order)}(x)` for order 0, 1, 2; shape ``x.shape + (J,)``."""
        u = (x[..., None] - self.centers) / self.width
        t = np.tanh(u)
        if order == 0:
            values = self.width * t
        elif order == 1:
            values = 1.0 - t * t
        else:
            values = -2.0 / self.width * t * (1.0 - t * t)
        if not self.linear:
            return values
        first = {0: x, 1: np.ones_like(x), 2: np.zeros_like(x)}[order]
        return np.concatenate([first[..., None], values], axis=-1)

    def discriminator_gap(self, particles: np.ndarray) -> np.ndarray:
        """:math:`g(\\mu) = \\mathbb E_\\mu\\varphi - \\mathbb E_{\\mu_r}\\varphi` (length J)."""
        return self.features(particles).mean(axis=0) - self.features(self.target).mean(axis=0)

    def collapse_speed(self, point: float) -> float:
        r"""Smallest speed of the dual flow (7) at a collapsed state :math:`(\delta_p, y)`.

        .. math::

            \min_y\ |\ell_y'(p)|^2 + |g(\delta_p) - \lambda y|^2
            = \frac{(a\cdot g)^2}{|a|^2 + \lambda^2} \ (\lambda > 0), \qquad
            |g|^2 \ (\lambda = 0, \text{at any } y \perp a),

        with :math:`g = g(\delta_p)` and :math:`a = \varphi'(p)` (the generator's velocity
        is :math:`-\ell_y'(p) = -a\cdot y`, the discriminator's :math:`g - \lambda y`).  For
        λ > 0 the speed² :math:`y^\top(aa^\top + \lambda^2 I)y - 2\lambda g\cdot y + |g|^2`
        is minimal at :math:`y^* = \lambda(aa^\top + \lambda^2 I)^{-1}g`, and
        Sherman–Morrison gives the value.  The square root is returned.  It is > 0 exactly
        when no collapsed state at p is a fixed point: with weight decay, every critical
        point p of :math:`|g(\delta_p)|^2` (:math:`a\cdot g = 0`) carries the fixed point
        :math:`(\delta_p, g/\lambda)`.

        Examples
        --------
        >>> game = ParticleGame(target=[-1.0, 1.0], centers=[-1.0, 1.0], width=1.0,
        ...                     weight_decay=0.5)
        >>> round(game.collapse_speed(0.0), 12)   # symmetric: a Dirac at 0 is stationary
        0.0
        """
        p = np.array([float(point)])
        g = self.discriminator_gap(p)
        if self.weight_decay == 0.0:
            return float(np.linalg.norm(g))
        a = self.features(p, 1)[0]
        return float(abs(a @ g) / np.sqrt(a @ a + self.weight_decay**2))

    def _scan_grid(self, x: np.ndarray, y: np.ndarray, tau: float) -> np.ndarray | None:
        r"""Grid of spacing ≤ width/16 over every reachable point, or None if ℓ_y = 0.

        A minimiser of :math:`|z-x|^2/(2\tau) + \ell(z)` solves :math:`z = x - \tau
        \ell'(z)`, so :math:`|z - x| \le \tau\,\mathrm{Lip}(\ell) \le \tau\sum_j|y_j|`.
        """
        reach = tau * float(np.sum(np.abs(y)))
        if reach == 0.0:
            return None
        lower, upper = float(x.min()) - reach, float(x.max()) + reach
        points = int(np.clip(np.ceil(16.0 * (upper - lower) / self.width) + 1, 129, _MAX_SCAN))
        return np.linspace(lower, upper, points)

    def proximal_map(self, x: np.ndarray, y: np.ndarray, tau: float) -> np.ndarray:
        r"""The global minimiser :math:`T(x) = \operatorname{argmin}_z |z-x|^2/(2\tau) +
        \ell_y(z)` for every entry of ``x``.

        Raises
        ------
        NotConvergedError
            When the Newton refinement leaves a residual above 1e-12 (with the numbers).
        """
        grid = self._scan_grid(x, y, tau)
        if grid is None:
            return x.copy()
        potential = self.features(grid) @ y
        best = np.concatenate(
            [
                np.argmin((grid - block[:, None]) ** 2 / (2.0 * tau) + potential, axis=1)
                for block in np.array_split(x, max(1, x.size * grid.size // _BLOCK))
            ]
        )
        spacing = grid[1] - grid[0]
        lo = grid[np.maximum(best - 1, 0)]
        hi = grid[np.minimum(best + 1, grid.size - 1)]
        z = grid[best]

        def slope(z: np.ndarray) -> np.ndarray:
            return (z - x) / tau + self.features(z, 1) @ y

        residual = np.inf
        for _ in range(_NEWTON):
            s = slope(z)
            residual = float(np.max(np.abs(s)) * tau) if s.size else 0.0
            if residual <= 1e-14 * (1.0 + float(np.max(np.abs(x)))):
                break
            lo = np.where(s < 0, z, lo)
            hi = np.where(s > 0, z, hi)
            curvature = 1.0 / tau + self.features(z, 2) @ y
            newton = z - s / np.where(curvature > 0, curvature, np.inf)
            inside = (newton > lo) & (newton < hi) & (curvature > 0)
            z = np.where(inside, newton, 0.5 * (lo + hi))
        if not np.isfinite(residual) or residual > 1e-12 * (1.0 + float(np.max(np.abs(x)))):
            msg = (
                f"the W2 proximal (JKO) step with tau={tau:g} did not converge: residual "
                f"{residual:.3e} after {_NEWTON} Newton iterations (grid spacing {spacing:.2e})"
            )
            raise NotConvergedError(msg)
        return z

    def simulate(
        self,
        particles: ArrayLike,
        y0: ArrayLike,
        *,
        tau: float,
        n_steps: int,
        scheme: str = "implicit",
        checkpoint: str | os.PathLike[str] | None = None,
        checkpoint_interval: float | None = 30.0,
        checkpoint_steps: int | None = None,
        resume: bool = False,
        trackers: Sequence[Tracker] = (),
    ) -> ParticlePath:
        """Run the implicit scheme (8)–(9) (JKO generator steps) or the explicit one (1).

        The steps are driven by :func:`gan_pde.engine.run` (:class:`ParticleGameStepper`)
        on the grid kτ, every step saved.

        Parameters
        ----------
        particles
            Initial generator atoms (N).
        y0
            Initial discriminator coefficients (J).
        tau, n_steps
            Step τ > 0 and number of steps.
        scheme
            ``"implicit"`` or ``"alternating"``.
        checkpoint, checkpoint_interval, checkpoint_steps
            File to which the run's state is written atomically every
            ``checkpoint_interval`` seconds (None: by steps only) and/or
            ``checkpoint_steps`` steps (None: by time only), and after the last step.
        resume
            Continue from ``checkpoint`` if it exists, bit-identically to an
            uninterrupted run; a checkpoint of another game, start, τ, scheme or step
            count is refused.
        trackers
            More :class:`gan_pde.engine.Tracker` objects; they see ``{"x": atoms, "y":
            coefficients}``.

        Returns
        -------
        ParticlePath

        Raises
        ------
        InvalidInputError
            For a non-positive τ or ``n_steps``, an unknown scheme, atoms or coefficients
            that are not finite or of the wrong size, ``resume=True`` without
            ``checkpoint``.
        NumericalBreakdownError
            When the explicit scheme blows up (the step is named).
        NotConvergedError
            When a JKO step's Newton refinement fails.
        """
        tau = as_positive(tau, "tau")
        n_steps = as_positive_int(n_steps, "n_steps")
        if scheme not in ("implicit", "alternating"):
            msg = f"scheme must be 'implicit' or 'alternating'; got scheme={scheme!r}"
            raise InvalidInputError(msg)
        x = np.sort(_as_atoms(particles, "particles"))
        y = np.array(y0, dtype=float, ndmin=1)
        if y.shape != (self.n_features,) or not np.all(np.isfinite(y)):
            msg = f"y0 must be {self.n_features} finite coefficients; got {y.tolist()}"
            raise InvalidInputError(msg)
        stepper = ParticleGameStepper(self, x, y, tau=tau, scheme=scheme)
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
        logger.debug("particle dual flow: %d %s steps of tau=%g", n_steps, scheme, tau)
        return ParticlePath(
            times=result.times,
            particles=result.observations["x"],
            y=result.observations["y"],
            scheme=scheme,
            tau=tau,
            curvature=result.records["curvature"],
            info={
                "n_particles": x.size,
                "n_features": y.size,
                "weight_decay": self.weight_decay,
                **result.info,
            },
        )


class ParticleGameStepper(Stepper):
    """One step of :meth:`ParticleGame.simulate` for :func:`gan_pde.engine.run`.

    The state is ``{"x": sorted atoms, "y": coefficients}``; a step of length τ (the
    stepper's own, see :class:`~gan_pde.dual.schemes.DualStepper`) moves the
    discriminator first, then the generator; its record is the ``curvature``
    :math:`\\max_x(-\\ell''_{y_{k+1}}(x))` over the particles' reach.

    Parameters
    ----------
    game, particles, y0, tau, scheme
        As in :meth:`ParticleGame.simulate` (validated there).
    """

    kind = "particle_dual_flow"

    def __init__(
        self, game: ParticleGame, particles: np.ndarray, y0: np.ndarray, *, tau: float, scheme: str
    ) -> None:
        self.game, self.particles, self.y0 = game, particles, y0
        self.tau, self.scheme = tau, scheme

    def fingerprint(self) -> dict[str, Any]:
        game = self.game
        return {
            "target": game.target,
            "centers": game.centers,
            "width": game.width,
            "linear": bool(game.linear),
            "weight_decay": game.weight_decay,
            "particles": self.particles,
            "y0": self.y0,
            "tau": self.tau,
            "scheme": self.scheme,
        }

    def initial_state(self) -> dict[str, np.ndarray]:
        return {"x": self.particles.copy(), "y": self.y0.copy()}

    def step(
        self, state: dict[str, np.ndarray], t: float, dt: float
    ) -> tuple[dict[str, np.ndarray], dict[str, float]]:
        game, tau, x, y = self.game, self.tau, state["x"], state["y"]
        gap = game.discriminator_gap(x)
        if self.scheme == "implicit":
            y = (y + tau * gap) / (1.0 + tau * game.weight_decay)
        else:
            y = y + tau * (gap - game.weight_decay * y)
        probe = game._scan_grid(x, y, tau)
        curvature = 0.0 if probe is None else float(np.max(-(game.features(probe, 2) @ y)))
        if self.scheme == "implicit":
            x = np.sort(game.proximal_map(x, y, tau))
        else:
            x = np.sort(x - tau * (game.features(x, 1) @ y))
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            number = round(t / tau) + 1
            msg = f"the particle dual flow blew up at step {number} with tau={tau:g}"
            raise NumericalBreakdownError(msg)
        return {"x": x, "y": y}, {"curvature": curvature}

    def observe(self, state: dict[str, np.ndarray], t: float) -> dict[str, np.ndarray]:
        return {"x": state["x"], "y": state["y"]}


@dataclass(frozen=True)
class CollapseStudy:
    r"""Mode collapse of the implicit particle scheme against the step (Section 3).

    Attributes
    ----------
    taus
        The steps, increasing.
    spread
        Per τ: the mean over the second half of the run of std(μ_k)/std(μ_r).
    w2
        Per τ: the mean of :math:`W_2(\mu_k, \mu_r)` over the second half of the run.
    tau_curvature
        Per τ: :math:`\tau\max_k\max_x(-\ell''_{y_k})` along the run.
    threshold
        Measured step threshold: the first τ of the scan whose spread falls below
        ``collapse_spread``, refined by bisection (None if no τ collapses).
    predicted
        :math:`1/\kappa` with κ the largest :math:`-\ell''` along the run of the smallest
        τ (≈ the dual flow): below it the JKO map is continuous along the flow.
    collapse_speed
        :math:`\min_p` of :meth:`ParticleGame.collapse_speed` over a grid of p: > 0 means
        no collapsed state :math:`(\delta_p, y)` is a fixed point of the dual flow (7).
    """

    taus: np.ndarray
    spread: np.ndarray
    w2: np.ndarray
    tau_curvature: np.ndarray
    threshold: float | None
    predicted: float
    collapse_speed: float


def _collapse_run(game, particles, tau, t_final) -> tuple[float, float, float]:
    path = game.simulate(
        particles, np.zeros(game.n_features), tau=tau, n_steps=max(2, round(t_final / tau))
    )
    late = path.particles[path.particles.shape[0] // 2 :]
    spread = float(np.mean(late.std(axis=1)) / np.std(game.target))
    w2 = float(np.mean([w2_distance(p, game.target) for p in late]))
    return spread, w2, tau * float(path.curvature.max())


def collapse_study(
    game: ParticleGame,
    particles: ArrayLike,
    *,
    taus: ArrayLike,
    t_final: float,
    collapse_spread: float = 0.5,
    bisections: int = 4,
) -> CollapseStudy:
    """Scan the implicit scheme (8)–(9) over ``taus`` from ``particles`` and y = 0.

    A run has collapsed when the generator's spread (std over the last half of the run,
    relative to the target's) is below ``collapse_spread``.  The threshold between the last
    non-collapsed and the first collapsed τ of the scan is refined by ``bisections``
    bisection steps (runs at the midpoint).
    """
    steps = np.sort(np.asarray(taus, dtype=float))
    if steps.size < 2 or not np.all(steps > 0) or not np.all(np.isfinite(steps)):
        msg = f"taus must hold >= 2 positive finite steps; got {taus!r}"
        raise InvalidInputError(msg)
    t_final = as_positive(t_final, "t_final")
    x0 = _as_atoms(particles, "particles")
    rows = [_collapse_run(game, x0, float(tau), t_final) for tau in steps]
    spread = np.array([r[0] for r in rows])
    collapsed = np.flatnonzero(spread < collapse_spread)
    threshold = None
    if collapsed.size:
        first = int(collapsed[0])
        hi = float(steps[first])
        lo = float(steps[first - 1]) if first > 0 else 0.0
        for _ in range(bisections if first > 0 else 0):
            mid = 0.5 * (lo + hi)
            if _collapse_run(game, x0, mid, t_final)[0] < collapse_spread:
                hi = mid
            else:
                lo = mid
        threshold = hi
    points = np.linspace(game.target.min() - 1.0, game.target.max() + 1.0, 201)
    speed = min(game.collapse_speed(p) for p in points)
    return CollapseStudy(
        taus=steps,
        spread=spread,
        w2=np.array([r[1] for r in rows]),
        tau_curvature=np.array([r[2] for r in rows]),
        threshold=threshold,
        predicted=float(steps[0] / rows[0][2]),
        collapse_speed=float(speed),
    )


def bimodal_target(n: int = 64, *, separation: float = 3.0, std: float = 0.3) -> np.ndarray:
    """The n mid-level quantiles of ½N(−M/2, σ²) + ½N(M/2, σ²) (a deterministic target)."""
    from scipy.stats import norm

    n = as_positive_int(n, "n")
    half = np.arange(n // 2 + n % 2)
    levels = (half + 0.5) / (n // 2 + n % 2)
    mode = norm.ppf(levels) * as_positive(std, "std")
    shift = 0.5 * as_positive(separation, "separation")
    return np.sort(np.concatenate([mode - shift, mode + shift])[:n])
