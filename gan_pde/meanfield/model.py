r"""The WGAN mean-field system (7) of paper 001 for K = L = 1, by finite volumes.

Networks (2)–(3) with the sigmoid σ and parameter order of the paper,

.. math::

    G_\mu(z) = \int \alpha\,\sigma(\beta z + \gamma)\,d\mu(\theta), \quad
    \theta = (\alpha, \beta, \gamma); \qquad
    D_\nu(x) = \int a\,\sigma(b x + c)\,d\nu(\omega), \quad \omega = (a, b, c) \in Q = [-1, 1]^3 .

Energy (6) :math:`E[\mu,\nu] = \int D_\nu(G_\mu(z))\,dN(z) - \int D_\nu\,dP`, first
variations :math:`\frac{\delta E}{\delta\mu}(\theta) = \int D_\nu'(G_\mu(z))\,\sigma(z;\theta)\,dN`
and :math:`\frac{\delta E}{\delta\nu}(\omega) = \int\sigma(G_\mu(z);\omega)\,dN
- \int\sigma(x;\omega)\,dP`;
the laws move with

.. math::

    V_\mu = -\nabla_\theta\frac{\delta E}{\delta\mu}, \qquad
    V_\nu = \gamma_c\,\mathrm{Proj}_{\pi_Q}\nabla_\omega\frac{\delta E}{\delta\nu}
    \quad (7)\text{–}(8).

Both gradients have the form :math:`\nabla_{(o,s,b)}\int o\,\sigma(s u + b)\,dW(u) =
(A, oB, oC)` with :math:`A = \int\sigma(su+b)\,dW`, :math:`B = \int u\,\sigma'(su+b)\,dW`,
:math:`C = \int\sigma'(su+b)\,dW` for a signed node measure W (Gauss–Hermite nodes in z,
P's nodes or samples in x), which is what :func:`_unit_gradient` evaluates on the faces.

Energy identity (derived from (7), using :math:`V\cdot\mathrm{Proj}\,V = |\mathrm{Proj}\,V|^2`
for the box's tangent cone):

.. math::

    \frac{dE}{dt} = -\int|V_\mu|^2\,d\mu + \frac{1}{\gamma_c}\int|V_\nu|^2\,d\nu .

WGAN-GP (Section 6): :math:`E_{GP} = E - \lambda\iiint(|D_\nu'(y)| - 1)^2\,ds\,dP\,dN`,
:math:`y = (1-s)G_\mu(z) + s x`, ascent in ν without clipping (no wall, no blow-up).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gan_pde._arrays import (
    as_finite,
    as_flag,
    as_positive,
    as_positive_int,
    save_times_in,
    with_final_time,
)
from gan_pde.engine import Stepper, Tracker
from gan_pde.errors import InvalidInputError, NumericalBreakdownError
from gan_pde.meanfield.transport import (
    BoxGrid,
    _engine_info,
    _save_rows,
    _saved_rows,
    as_law,
    cfl_time_step,
    empirical_law,
    mass_roundoff,
    transport_rates,
)

__all__ = ["GENERATOR_NAMES", "DISCRIMINATOR_NAMES", "MeanFieldTrajectory", "WGANMeanField"]

logger = logging.getLogger(__name__)

#: Parameter order of σ(z; θ) = α σ(β z + γ) and σ(x; ω) = a σ(b x + c), as in the paper.
GENERATOR_NAMES = ("alpha", "beta", "gamma")
DISCRIMINATOR_NAMES = ("a", "b", "c")
_ENERGIES = ("wgan", "wgan-gp")


def sigmoid(u: np.ndarray) -> np.ndarray:
    """σ(u) = 1/(1 + e^{−u}) = ½(1 + tanh(u/2))."""
    return 0.5 * (1.0 + np.tanh(0.5 * u))


def _sigmoid_derivatives(u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s = sigmoid(u)
    d1 = s * (1.0 - s)
    return s, d1, d1 * (1.0 - 2.0 * s)


@dataclass(frozen=True)
class NeuronGrid:
    """A neuron family (outer, slope, bias) with some components free on a grid, others frozen.

    Built by :meth:`from_spec` from ``{name: (lower, upper, cells) | value}``.
    """

    names: tuple[str, str, str]
    free: tuple[int, ...]
    frozen: tuple[float, float, float]
    grid: BoxGrid

    @classmethod
    def from_spec(
        cls, spec: Mapping[str, Any], names: tuple[str, str, str], label: str
    ) -> NeuronGrid:
        if not isinstance(spec, Mapping) or set(spec) != set(names):
            got = sorted(spec) if isinstance(spec, Mapping) else type(spec).__name__
            msg = (
                f"{label} must map each of {names} to (lower, upper, cells) (free) or a number "
                f"(frozen); got keys {got}"
            )
            raise InvalidInputError(msg)
        free, frozen, lower, upper, cells = [], [], [], [], []
        for k, name in enumerate(names):
            value = spec[name]
            if isinstance(value, (tuple, list)):
                if len(value) != 3:
                    msg = f"{label}[{name!r}] must be (lower, upper, cells); got {value!r}"
                    raise InvalidInputError(msg)
                free.append(k)
                lower.append(float(value[0]))
                upper.append(float(value[1]))
                cells.append(value[2])
                frozen.append(math.nan)
            else:
                frozen.append(as_finite(value, f"{label}[{name!r}]"))
        if not free:
            msg = f"{label} needs at least one free component (a tuple); all of {names} are frozen"
            raise InvalidInputError(msg)
        grid = BoxGrid(lower=tuple(lower), upper=tuple(upper), cells=tuple(cells))
        return cls(names, tuple(free), tuple(frozen), grid)

    @property
    def free_names(self) -> tuple[str, ...]:
        return tuple(self.names[k] for k in self.free)

    def coordinates(self, face_axis: int | None = None) -> list[np.ndarray | float]:
        """(outer, slope, bias) at the cell centres, or at the faces of one grid axis."""
        out: list[np.ndarray | float] = []
        for k in range(3):
            if k not in self.free:
                out.append(self.frozen[k])
                continue
            axis = self.free.index(k)
            values = self.grid.edges[axis] if axis == face_axis else self.grid.centres[axis]
            out.append(values.reshape(self.grid.axis_shape(axis, values.size)))
        return out

    def points(self) -> np.ndarray:
        """(n_cells, 3) cell-centre parameters, frozen components filled in."""
        coords = [np.broadcast_to(c, self.grid.cells) for c in self.coordinates()]
        return np.stack([c.ravel() for c in coords], axis=1)

    def reduce_outer(self, masses: np.ndarray) -> tuple[np.ndarray, Any, Any]:
        """(Σ_outer outer·m, slope, bias): the outer weight summed out of the cell masses."""
        outer, slope, bias = self.coordinates()
        if 0 in self.free:
            weights = np.sum(outer * masses, axis=0, keepdims=True)
        else:
            weights = outer * masses
        return weights, slope, bias

    def network(self, masses: np.ndarray, inputs: np.ndarray, order: int = 0) -> np.ndarray:
        """∫ o σ(s u + b) dm or its first/second u-derivative (``order`` 0, 1, 2) at inputs."""
        weights, slope, bias = self.reduce_outer(masses)
        w = np.broadcast_to(
            weights, np.broadcast_shapes(weights.shape, np.shape(slope), np.shape(bias))
        )
        s = np.broadcast_to(slope, w.shape).ravel()
        b = np.broadcast_to(bias, w.shape).ravel()
        w = w.ravel()
        arg = s[:, None] * np.asarray(inputs, dtype=float)[None, :] + b[:, None]
        value, d1, d2 = _sigmoid_derivatives(arg)
        factor = [value, d1 * s[:, None], d2 * (s * s)[:, None]][order]
        return w @ factor


def _unit_gradient(
    outer: Any,
    slope: Any,
    bias: Any,
    nodes: np.ndarray,
    weights: np.ndarray,
    component: int,
    kind: str,
) -> np.ndarray:
    """Component ``component`` of ∇_(o,s,b) ∫ o f(s, b; u) dW(u) at broadcast coordinates.

    ``kind = "value"``: f = σ(su + b) (gradient (A, oB, oC));
    ``kind = "slope"``: f = s σ'(su + b) (the x-derivative of the unit, for WGAN-GP).
    """
    s = np.asarray(slope, dtype=float)[..., None]
    b = np.asarray(bias, dtype=float)[..., None]
    value, d1, d2 = _sigmoid_derivatives(s * nodes + b)
    if kind == "value":
        unit = (value, d1 * nodes, d1)[component] @ weights
    else:
        unit = (s * d1, d1 + s * nodes * d2, s * d2)[component] @ weights
    return unit if component == 0 else np.asarray(outer) * unit


def _gauss_hermite(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of ∫ f dN(0, 1) (probabilists' Hermite, weights sum to 1)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(n)
    return nodes, weights / weights.sum()


def _data_quadrature(data: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of ∫ f dP: Gauss–Hermite per Gaussian component, or the samples."""
    from gan_pde.densities import Gaussian, GaussianMixture

    if isinstance(data, (Gaussian, GaussianMixture)):
        if data.dim != 1:
            msg = f"data must be a 1D law (K = 1); got dimension {data.dim}"
            raise InvalidInputError(msg)
        if isinstance(data, Gaussian):
            means, stds, comp = data.mean[None, :], np.sqrt(data.cov)[None, 0], np.ones(1)
        else:
            means, stds, comp = data.means, np.sqrt(data.covs[:, 0, :]), data.weights
        xi, w = _gauss_hermite(n)
        nodes = (means[:, 0:1] + stds[:, 0:1] * xi[None, :]).ravel()
        return nodes, (comp[:, None] * w[None, :]).ravel()
    samples = np.asarray(data, dtype=float)
    if samples.ndim == 2 and samples.shape[1] == 1:
        samples = samples[:, 0]
    if samples.ndim != 1 or samples.size == 0 or not np.all(np.isfinite(samples)):
        msg = (
            "data must be a 1D Gaussian/GaussianMixture or finite samples of shape (n,) or "
            f"(n, 1); got {type(data).__name__} with shape {np.shape(data)}"
        )
        raise InvalidInputError(msg)
    return samples, np.full(samples.size, 1.0 / samples.size)


def _initial_law(law: Any, neurons: NeuronGrid, name: str, box_name: str) -> np.ndarray:
    """Cell masses of an initial law given as masses, samples, a pdf callable or a Density."""
    from gan_pde.densities import Density

    grid = neurons.grid
    if isinstance(law, Density):
        if law.dim != grid.dim:
            msg = (
                f"{name} has dimension {law.dim}; the free components {neurons.free_names} "
                f"need {grid.dim}"
            )
            raise InvalidInputError(msg)
        mesh = np.meshgrid(*grid.centres, indexing="ij")
        values = law.pdf(np.stack([m.ravel() for m in mesh], axis=1)).reshape(grid.cells)
        inside = float(values.sum() * grid.cell_volume)
        if inside < 1.0 - 1e-3:
            msg = (
                f"{name} has mass {1.0 - inside:.3g} outside {box_name}: "
                f"{list(zip(grid.lower, grid.upper, strict=True))}; the law must be supported in it"
            )
            raise InvalidInputError(msg)
        return values / values.sum()
    if callable(law):
        return grid.masses_from_density(law, name=name)
    arr = np.asarray(law, dtype=float)
    if arr.shape == grid.cells:
        return as_law(arr, grid, name=name)
    if arr.ndim == 2 and arr.shape[1] == grid.dim or (arr.ndim == 1 and grid.dim == 1):
        try:
            return empirical_law(arr, grid, name=name)
        except InvalidInputError as exc:
            msg = f"{name} has mass outside {box_name}: {exc}"
            raise InvalidInputError(msg) from exc
    msg = (
        f"{name} must be cell masses of shape {grid.cells}, samples of shape (n, {grid.dim}), "
        f"a pdf callable or a Density; got shape {arr.shape}"
    )
    raise InvalidInputError(msg)


@dataclass(frozen=True)
class MeanFieldTrajectory:
    """Saved states of :meth:`WGANMeanField.solve`.

    Attributes
    ----------
    times
        Saved times, ending at ``info["t_final"]`` unless solved with ``save_final=False``.
    mu_grid, nu_grid
        Cell centres per free axis of the generator / discriminator parameter spaces.
    mu_names, nu_names
        Names of those free axes (ordered as θ = (α, β, γ), ω = (a, b, c)).
    mu, nu
        Cell masses, shapes (n_saved, *cells); each sums to one.
    energy
        E[μ, ν] (6) (or E_GP) at the saved times.
    dissipation
        :math:`-\\int|V_\\mu|^2d\\mu + \\gamma_c^{-1}\\int|V_\\nu|^2 d\\nu`
        (dE/dt by the energy identity).
    z, generator
        Latent grid and :math:`G_{\\mu(t)}(z)`, shape (n_saved, len(z)).
    x, discriminator
        Data-space grid and :math:`D_{\\nu(t)}(x)`, shape (n_saved, len(x)).
    wall_mass
        ν mass in the boundary cells of its grid: for WGAN the wall layer of Q (the
        concentrated layer); for WGAN-GP the mass at the artificial boundary (keep it small).
    mu_boundary_mass
        μ mass in the cells at the artificial boundary of the generator box (should stay small).
    info
        Heun steps (``n_steps``; per save interval: ``substeps``), step sizes, grids, γ_c,
        energy kind, versions; the engine's ``engine_steps`` (save intervals),
        ``seconds``, ``resumed_from_step`` and ``stop_reason``.
    """

    times: np.ndarray
    mu_grid: list[np.ndarray]
    nu_grid: list[np.ndarray]
    mu_names: tuple[str, ...]
    nu_names: tuple[str, ...]
    mu: np.ndarray
    nu: np.ndarray
    energy: np.ndarray
    dissipation: np.ndarray
    z: np.ndarray
    generator: np.ndarray
    x: np.ndarray
    discriminator: np.ndarray
    wall_mass: np.ndarray
    mu_boundary_mass: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        from gan_pde._repr import short_repr

        return short_repr(self)


class WGANMeanField:
    r"""Mean-field WGAN (7) with K = L = 1: continuity equations for μ (generator) and ν.

    Parameters
    ----------
    data
        The data law P: a 1D :class:`~gan_pde.densities.Gaussian` /
        :class:`~gan_pde.densities.GaussianMixture` (Gauss–Hermite per component) or samples.
    generator, discriminator
        ``{name: (lower, upper, cells)}`` for the free components and ``{name: value}`` for the
        frozen ones; names ``alpha, beta, gamma`` and ``a, b, c``.  With clipping (WGAN) the
        discriminator's free axes must span exactly [−1, 1] (Q) and frozen values lie in it.
    mu_in, nu_in
        Initial laws: cell masses, samples (n, free dims), a pdf callable of the free
        coordinates, or a :class:`~gan_pde.densities.Density`; no mass outside the grid/Q.
    gamma_c
        Critic speed-up γ_c > 0.
    latent_nodes, data_nodes
        Gauss–Hermite nodes for N(0, 1) and per Gaussian component of P.
    energy
        ``"wgan"`` (clipped, (6)–(8)) or ``"wgan-gp"`` (Section 6, no clipping).
    penalty, penalty_nodes
        λ and the Gauss–Legendre nodes in s ∈ [0, 1] of the gradient penalty.

    Examples
    --------
    >>> import gan_pde as gp
    >>> model = WGANMeanField(
    ...     data=gp.GaussianMixture(means=[[-0.5], [0.5]], stds=[0.2, 0.2]),
    ...     generator={"alpha": (-2.0, 2.0, 40), "beta": 1.0, "gamma": 0.0},
    ...     discriminator={"a": (-1.0, 1.0, 40), "b": 1.0, "c": 0.0},
    ...     mu_in=lambda alpha: np.exp(-alpha**2 / 0.1),
    ...     nu_in=lambda a: np.exp(-(a - 0.3)**2 / 0.05))
    >>> traj = model.solve(t_final=1.0, save_times=[0.0, 1.0])
    >>> bool(abs(traj.mu[-1].sum() - 1.0) < 1e-12)
    True
    """

    def __init__(
        self,
        *,
        data: Any,
        generator: Mapping[str, Any],
        discriminator: Mapping[str, Any],
        mu_in: Any,
        nu_in: Any,
        gamma_c: float = 1.0,
        latent_nodes: int = 24,
        data_nodes: int = 16,
        energy: str = "wgan",
        penalty: float = 10.0,
        penalty_nodes: int = 6,
    ) -> None:
        self.gamma_c = as_positive(gamma_c, "gamma_c")
        if energy not in _ENERGIES:
            msg = f"energy must be one of {_ENERGIES}; got energy={energy!r}"
            raise InvalidInputError(msg)
        self.energy_kind = energy
        self.data = data
        self.penalty = as_positive(penalty, "penalty")
        self.generator = NeuronGrid.from_spec(generator, GENERATOR_NAMES, "generator")
        self.discriminator = NeuronGrid.from_spec(
            discriminator, DISCRIMINATOR_NAMES, "discriminator"
        )
        if energy == "wgan":
            self._check_covers_q()
        box = "Q = [-1, 1]^3" if energy == "wgan" else "the discriminator grid"
        self.mu_in = _initial_law(mu_in, self.generator, "mu_in", "the generator grid")
        self.nu_in = _initial_law(nu_in, self.discriminator, "nu_in", box)
        self.z, self.z_weights = _gauss_hermite(as_positive_int(latent_nodes, "latent_nodes"))
        self.x_nodes, self.x_weights = _data_quadrature(
            data, as_positive_int(data_nodes, "data_nodes")
        )
        s, w = np.polynomial.legendre.leggauss(as_positive_int(penalty_nodes, "penalty_nodes"))
        self.s_nodes, self.s_weights = 0.5 * (s + 1.0), 0.5 * w

    def _check_covers_q(self) -> None:
        d = self.discriminator
        for axis, k in enumerate(d.free):
            lo, hi = d.grid.lower[axis], d.grid.upper[axis]
            if lo != -1.0 or hi != 1.0:
                msg = (
                    f"the discriminator grid must cover Q = [-1, 1] exactly along "
                    f"{d.names[k]!r} (clipping box); got [{lo}, {hi}]"
                )
                raise InvalidInputError(msg)
        for k in range(3):
            if k not in d.free and abs(d.frozen[k]) > 1.0:
                msg = f"the frozen {d.names[k]!r} = {d.frozen[k]} lies outside Q = [-1, 1]"
                raise InvalidInputError(msg)

    # --- fields -------------------------------------------------------------------------
    def _fields(self, mu: np.ndarray, nu: np.ndarray, *, at_faces: bool = True) -> dict[str, Any]:
        """Networks, energy and velocities (faces or cell centres) of the state (μ, ν)."""
        gen, dis = self.generator, self.discriminator
        g_z = gen.network(mu, self.z)
        d_prime = dis.network(nu, g_z, order=1)
        mu_weights = self.z_weights * d_prime
        nu_nodes = np.concatenate([g_z, self.x_nodes])
        nu_weights = np.concatenate([self.z_weights, -self.x_weights])
        energy = float(
            self.z_weights @ dis.network(nu, g_z) - self.x_weights @ dis.network(nu, self.x_nodes)
        )
        gp_nodes = gp_weights = None
        if self.energy_kind == "wgan-gp":
            s, x, z = np.meshgrid(self.s_nodes, self.x_nodes, np.arange(self.z.size), indexing="ij")
            y = (1.0 - s) * g_z[z] + s * x
            quad = (
                self.s_weights[:, None, None]
                * self.x_weights[None, :, None]
                * self.z_weights[None, None, :]
            )
            slope = dis.network(nu, y.ravel(), order=1).reshape(y.shape)
            curvature = dis.network(nu, y.ravel(), order=2).reshape(y.shape)
            excess = np.abs(slope) - 1.0
            energy -= self.penalty * float(np.sum(quad * excess**2))
            chain = 2.0 * excess * np.sign(slope)
            # d/dG(z) of the penalty: chain * D''(y) * (1 - s), summed over s and x
            mu_weights = mu_weights - self.penalty * self.z_weights * np.sum(
                (self.s_weights[:, None, None] * self.x_weights[None, :, None])
                * chain
                * curvature
                * (1.0 - s),
                axis=(0, 1),
            )
            gp_nodes, gp_weights = y.ravel(), -self.penalty * (quad * chain).ravel()
        out: dict[str, Any] = {"g_z": g_z, "energy": energy, "mu": [], "nu": []}
        for neurons, nodes, weights, sign, key in (
            (gen, self.z, mu_weights, -1.0, "mu"),
            (dis, nu_nodes, nu_weights, self.gamma_c, "nu"),
        ):
            axes = range(neurons.grid.dim) if at_faces else [None] * neurons.grid.dim
            for axis, k in zip(axes, neurons.free, strict=True):
                outer, slope, bias = neurons.coordinates(axis)
                v = _unit_gradient(outer, slope, bias, nodes, weights, k, "value")
                if key == "nu" and gp_nodes is not None:
                    v = v + _unit_gradient(outer, slope, bias, gp_nodes, gp_weights, k, "slope")
                out[key].append(sign * v)
        return out

    def _dissipation(self, mu: np.ndarray, nu: np.ndarray, fields: dict[str, Any]) -> float:
        """:math:`-\\int|V_\\mu|^2 d\\mu + \\gamma_c^{-1}\\int|\\mathrm{Proj}\\,V_\\nu|^2 d\\nu`
        at the cell centres."""
        total = -sum(float(np.sum(mu * np.broadcast_to(v, mu.shape) ** 2)) for v in fields["mu"])
        grid = self.discriminator.grid
        for axis, v in enumerate(fields["nu"]):
            v = np.array(np.broadcast_to(v, nu.shape))
            if self.energy_kind == "wgan":
                index = [slice(None)] * grid.dim
                index[axis] = -1
                v[tuple(index)] = np.minimum(v[tuple(index)], 0.0)
                index[axis] = 0
                v[tuple(index)] = np.maximum(v[tuple(index)], 0.0)
            total += float(np.sum(nu * v**2)) / self.gamma_c
        return total

    def energy(self, mu: np.ndarray | None = None, nu: np.ndarray | None = None) -> float:
        """E[μ, ν] (6) (E_GP for ``energy="wgan-gp"``); defaults to the initial laws."""
        mu = self.mu_in if mu is None else mu
        nu = self.nu_in if nu is None else nu
        return self._fields(mu, nu, at_faces=False)["energy"]

    # --- time stepping ------------------------------------------------------------------
    def _limit(self, fields: dict[str, Any]) -> float:
        return min(
            cfl_time_step(fields["mu"], self.generator.grid),
            cfl_time_step(fields["nu"], self.discriminator.grid),
        )

    def _rates(
        self, mu: np.ndarray, nu: np.ndarray, fields: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray]:
        return (
            transport_rates(mu, fields["mu"], self.generator.grid),
            transport_rates(nu, fields["nu"], self.discriminator.grid),
        )

    def fingerprint(self) -> dict[str, Any]:
        """The parameters that determine a run of this model (binds checkpoints to it)."""
        out: dict[str, Any] = {
            "gamma_c": self.gamma_c,
            "energy": self.energy_kind,
            "penalty": self.penalty,
            "mu_in": self.mu_in,
            "nu_in": self.nu_in,
            "z": self.z,
            "z_weights": self.z_weights,
            "x_nodes": self.x_nodes,
            "x_weights": self.x_weights,
            "s_nodes": self.s_nodes,
        }
        for label, neurons in (
            ("generator", self.generator),
            ("discriminator", self.discriminator),
        ):
            out[label] = {
                "free": list(neurons.free),
                "frozen": [neurons.frozen[k] for k in range(3) if k not in neurons.free],
                "lower": list(neurons.grid.lower),
                "upper": list(neurons.grid.upper),
                "cells": list(neurons.grid.cells),
            }
        return out

    def solve(
        self,
        t_final: float,
        *,
        dt: float | None = None,
        save_times: Any = None,
        save_final: bool = True,
        cfl: float = 0.8,
        z_eval: Any = None,
        x_eval: Any = None,
        callback: Callable[[float], None] | None = None,
        checkpoint: str | os.PathLike[str] | None = None,
        checkpoint_interval: float | None = 30.0,
        checkpoint_steps: int | None = None,
        resume: bool = False,
        trackers: Sequence[Tracker] = (),
    ) -> MeanFieldTrajectory:
        """Integrate (7) by upwind finite volumes and SSP Heun (RK2) steps.

        The run goes through :func:`gan_pde.engine.run`: one engine step per interval
        between two save times, inside which the Heun steps are taken (their size set by the
        CFL condition of the current velocities, the last one ending on the save time), so
        checkpoints fall on the save times.  An :class:`~gan_pde.engine.InvariantTracker`
        watches the masses of μ and ν (conserved up to :func:`~gan_pde.meanfield.transport.\
mass_roundoff` of the Heun steps taken) and the finiteness of the state.

        Parameters
        ----------
        t_final
            End time.
        dt
            Fixed step; None (default) takes ``cfl`` times the CFL step of the current
            velocities at each step.  An explicit dt above a stage's CFL limit raises
            :class:`InvalidInputError` (the explicit scheme would lose positivity).
        save_times
            Times stored, in [0, t_final] (default: 11 equispaced in [0, t_final]).
            ``t_final`` is always added unless ``save_final=False``.
        save_final
            Also save the final state, at ``t_final`` (default).  False stores only the
            ``save_times`` and stops stepping at the last of them (the old behaviour: the
            trajectory then ends before ``t_final`` if they do).
        cfl
            Fraction of the CFL step, in (0, 1].
        z_eval, x_eval
            Grids on which G and D are stored (default: 101 points in [−3, 3]).
        callback
            Called with the time after every Heun step (progress bars).
        checkpoint
            File to which the run is checkpointed (after save times: see above); None: no
            checkpoint.  A Ctrl-C keeps the save intervals done.
        checkpoint_interval, checkpoint_steps
            Checkpoint after a save time once this many seconds have passed since the last
            checkpoint, and/or every this many save intervals (and after the last).
        resume
            Continue from ``checkpoint`` if it exists (bit-identical to an uninterrupted
            run); a checkpoint of another model, grid or save times is refused.
        trackers
            More :class:`~gan_pde.engine.Tracker` objects, called after every save interval.

        Returns
        -------
        MeanFieldTrajectory
            ``info["n_steps"]`` counts the Heun steps, ``info["engine_steps"]`` the save
            intervals, ``info["resumed_from_step"]`` the interval a resumed run started from.

        Raises
        ------
        NumericalBreakdownError
            Non-finite cell masses (naming the Heun step and time), or a mass drift beyond
            the round-off bound.
        """
        from gan_pde import engine
        from gan_pde.provenance import versions

        t_final = as_positive(t_final, "t_final")
        cfl = as_positive(cfl, "cfl")
        if cfl > 1.0:
            msg = f"cfl must lie in (0, 1]; got cfl={cfl}"
            raise InvalidInputError(msg)
        if dt is not None:
            dt = as_positive(dt, "dt")
        times = save_times_in(
            np.linspace(0.0, t_final, 11) if save_times is None else save_times, t_final
        )
        times = with_final_time(times, t_final, as_flag(save_final, "save_final"))
        z_eval = np.linspace(-3.0, 3.0, 101) if z_eval is None else np.asarray(z_eval, dtype=float)
        x_eval = np.linspace(-3.0, 3.0, 101) if x_eval is None else np.asarray(x_eval, dtype=float)
        if callback is not None and not callable(callback):
            msg = f"callback must be callable (called with the time); got {callback!r}"
            raise InvalidInputError(msg)
        grid = np.union1d([0.0], times)
        saved, rows = _save_rows(grid.size, np.searchsorted(grid, times))
        stepper = _MeanFieldStepper(self, grid, dt, cfl, z_eval, x_eval, callback)
        budgets = {
            law: (stepper.initial_mass[law], int(np.prod(cells)), len(cells))
            for law, cells in (
                ("mu", self.generator.grid.cells),
                ("nu", self.discriminator.grid.cells),
            )
        }

        def drift(law: str) -> Callable[[dict[str, Any]], float]:
            mass0, cells, dim = budgets[law]
            # the mass change in units of its round-off bound after the Heun steps taken
            return lambda state: (
                abs(float(state[law].sum()) - mass0)
                / mass_roundoff(int(state["steps"]), cells, dim)
            )

        names = {law: f"{law} mass drift / round-off bound" for law in ("mu", "nu")}
        invariants = engine.InvariantTracker(
            {names[law]: drift(law) for law in names},
            # a drift of at most its bound: the reference value at t = 0 is 0
            conserved={name: 1.0 for name in names.values()},
        )
        invariants.name = "meanfield_invariants"  # leaves "invariants" to the user's trackers
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
        times, saved_obs = _saved_rows(result, rows)
        nu_saved, mu_saved = saved_obs["nu"], saved_obs["mu"]
        walls = self.discriminator.grid.wall_mask()
        boundary = self.generator.grid.wall_mask()
        mu_edge = mu_saved[:, boundary].sum(axis=1)
        if mu_edge.max() > 1e-3:
            logger.warning(
                "mass %.3g of mu reached the artificial boundary of the generator grid; "
                "enlarge the grid",
                mu_edge.max(),
            )
        if self.energy_kind == "wgan-gp" and nu_saved[:, walls].sum(axis=1).max() > 1e-3:
            logger.warning(
                "mass %.3g of nu reached the artificial boundary of the discriminator grid "
                "(WGAN-GP has no clipping box); enlarge the grid",
                nu_saved[:, walls].sum(axis=1).max(),
            )
        substeps = result.records.get("substeps", np.zeros(0))
        return MeanFieldTrajectory(
            times=times,
            mu_grid=self.generator.grid.centres,
            nu_grid=self.discriminator.grid.centres,
            mu_names=self.generator.free_names,
            nu_names=self.discriminator.free_names,
            mu=mu_saved,
            nu=nu_saved,
            energy=saved_obs["energy"],
            dissipation=saved_obs["dissipation"],
            z=z_eval,
            generator=saved_obs["generator"],
            x=x_eval,
            discriminator=saved_obs["discriminator"],
            # WGAN: the wall layer of Q; WGAN-GP: the mass at the artificial boundary of
            # ν's grid (documented; it was reported as zeros, hiding a box too small)
            wall_mass=nu_saved[:, walls].sum(axis=1),
            mu_boundary_mass=mu_edge,
            info={
                "t_final": t_final,
                "save_final": bool(save_final),
                "n_steps": int(result.state["steps"]),
                "dt_min": _extreme(np.nanmin, result.records.get("dt_min"), np.inf),
                "dt_max": _extreme(np.nanmax, result.records.get("dt_max"), 0.0),
                "cfl": cfl,
                "gamma_c": self.gamma_c,
                "energy": self.energy_kind,
                "penalty": self.penalty if self.energy_kind == "wgan-gp" else None,
                "generator_cells": self.generator.grid.cells,
                "discriminator_cells": self.discriminator.grid.cells,
                "latent_nodes": self.z.size,
                "data_nodes": self.x_nodes.size,
                "engine_steps": result.info["n_steps"],
                "substeps": substeps.astype(int).tolist(),
                **_engine_info(result),
                "versions": versions(),
            },
        )


def _extreme(reduce: Callable, values: np.ndarray | None, empty: float) -> float:
    """``reduce`` of the finite-or-NaN per-interval values; ``empty`` when no step was taken."""
    if values is None or not np.any(np.isfinite(values)):
        return empty
    return float(reduce(values))


class _MeanFieldStepper(Stepper):
    """:meth:`WGANMeanField.solve` for the engine: one step per save interval, Heun steps
    inside (the model's clock, carried in the state, is the sum of the Heun step sizes)."""

    kind = "wgan_meanfield"

    def __init__(
        self,
        model: WGANMeanField,
        grid: np.ndarray,
        dt: float | None,
        cfl: float,
        z_eval: np.ndarray,
        x_eval: np.ndarray,
        callback: Callable[[float], None] | None,
    ) -> None:
        self.model, self.grid, self.dt, self.cfl = model, grid, dt, cfl
        self.z_eval, self.x_eval, self.callback = z_eval, x_eval, callback
        self.initial_mass = {"mu": float(model.mu_in.sum()), "nu": float(model.nu_in.sum())}

    def fingerprint(self) -> dict[str, Any]:
        return {
            **self.model.fingerprint(),
            "dt": self.dt,
            "cfl": self.cfl,
            "z_eval": self.z_eval,
            "x_eval": self.x_eval,
        }

    def initial_state(self) -> dict[str, np.ndarray]:
        return {
            "mu": self.model.mu_in.copy(),
            "nu": self.model.nu_in.copy(),
            "clock": np.array(0.0),
            "steps": np.array(0),
        }

    def step(
        self, state: dict[str, np.ndarray], t: float, dt: float
    ) -> tuple[dict[str, np.ndarray], dict[str, float]]:
        # the save time this interval ends on, exactly (t + dt may differ by an ulp)
        target = float(self.grid[np.searchsorted(self.grid, t) + 1])
        mu, nu = state["mu"], state["nu"]
        t, steps = float(state["clock"]), int(state["steps"])
        taken: list[float] = []
        while t < target - 1e-12 * max(1.0, target):
            try:
                mu, nu, h = self._heun(mu, nu, t, target)
            except NumericalBreakdownError as exc:
                msg = f"{self.kind}: Heun step {steps + 1} from t = {t:.6g} broke down: {exc}"
                raise NumericalBreakdownError(msg) from exc
            t += h
            steps += 1
            taken.append(h)
            if self.callback is not None:
                self.callback(t)
        new = {"mu": mu, "nu": nu, "clock": np.array(t), "steps": np.array(steps)}
        record = {
            "substeps": float(len(taken)),
            "dt_min": min(taken, default=math.nan),
            "dt_max": max(taken, default=math.nan),
        }
        return new, record

    def _heun(
        self, mu: np.ndarray, nu: np.ndarray, t: float, target: float
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """One SSP Heun step from t, of the CFL size (or dt), not beyond ``target``."""
        model, cfl = self.model, self.cfl
        fields = model._fields(mu, nu)
        limit = model._limit(fields)
        h = cfl * limit if self.dt is None else self.dt
        h = min(h, target - t)
        while True:
            if h > limit * (1.0 + 1e-12):
                msg = (
                    f"dt={h:g} exceeds the CFL limit {limit:g} of the upwind scheme at "
                    f"t = {t:g} (cell masses would turn negative); use a smaller dt "
                    "or dt=None"
                )
                raise InvalidInputError(msg)
            dmu, dnu = model._rates(mu, nu, fields)
            mu1, nu1 = mu + h * dmu, nu + h * dnu
            fields1 = model._fields(mu1, nu1)
            limit1 = model._limit(fields1)
            if h <= limit1 * (1.0 + 1e-12):
                break
            if self.dt is not None:
                limit = limit1
                continue
            h = cfl * limit1
        dmu1, dnu1 = model._rates(mu1, nu1, fields1)
        mu = 0.5 * (mu + mu1 + h * dmu1)
        nu = 0.5 * (nu + nu1 + h * dnu1)
        # SSP-RK2 is a convex combination of CFL-stable Euler steps: masses stay >= 0
        # up to round-off, which is clipped so that later sums stay exact
        np.maximum(mu, 0.0, out=mu)
        np.maximum(nu, 0.0, out=nu)
        if not (np.isfinite(mu).all() and np.isfinite(nu).all()):
            msg = "non-finite cell masses"
            raise NumericalBreakdownError(msg)
        return mu, nu, h

    def observe(self, state: dict[str, np.ndarray], t: float) -> dict[str, Any]:
        model, mu, nu = self.model, state["mu"], state["nu"]
        fields = model._fields(mu, nu, at_faces=False)
        return {
            "mu": mu,
            "nu": nu,
            "energy": fields["energy"],
            "dissipation": model._dissipation(mu, nu, fields),
            "generator": model.generator.network(mu, self.z_eval),
            "discriminator": model.discriminator.network(nu, self.x_eval),
        }
