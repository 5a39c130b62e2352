"""Ensembles of SGA iterations (ALT)/(SML) and of their SDEs (paper 000, Section 3).

Every path of an ensemble lives in one batched tensor ``(n_paths, d)``; gradients of all
paths are taken at once with ``torch.func.vmap``.  The SDEs are integrated with
Euler–Maruyama (weak order 1) and, by default, Richardson extrapolation
:math:`2\\,\\mathbb E f(X^{h/2}) - \\mathbb E f(X^{h})` of two coupled runs that share their
Brownian increments (weak order 2, Talay–Tubaro), which is what a comparison with the
O(η²) accuracy of (ALT-SDE) needs.  Estimates carry Monte-Carlo standard errors.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gan_pde.errors import InvalidInputError
from gan_pde.sde._torch import require_torch
from gan_pde.sde.coefficients import GANSDE, finite_or_raise
from gan_pde.sde.quadratic import SCHEMES, SDE_KINDS, check_batch, check_rate

__all__ = ["Ensemble", "default_observables", "simulate_sde", "simulate_sga"]


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
        Parameters of the run.
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


def _common(sde: GANSDE, gamma0: Any, n_paths: int, steps: int) -> tuple[Any, Any]:
    torch = require_torch()
    if not isinstance(sde, GANSDE):
        msg = f"sde must be a GANSDE; got {type(sde).__name__}"
        raise InvalidInputError(msg)
    for name, value in (("n_paths", n_paths), ("steps", steps)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            msg = f"{name} must be a positive integer; got {value!r}"
            raise InvalidInputError(msg)
    gamma0 = torch.as_tensor(gamma0, dtype=torch.float64)
    if gamma0.shape != (sde.dimension,) or not bool(torch.isfinite(gamma0).all()):
        msg = f"gamma0 must be a finite vector of length {sde.dimension}; got {gamma0!r}"
        raise InvalidInputError(msg)
    return torch, gamma0.expand(n_paths, -1).clone()


def _record(observe: Callable[[Any], Any], gamma: Any) -> tuple[np.ndarray, np.ndarray]:
    values = observe(gamma).detach().cpu().numpy()
    return values.mean(0), values.std(0, ddof=1) / math.sqrt(values.shape[0])


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
) -> Ensemble:
    """Run (ALT) or (SML) on ``n_paths`` independent copies at once.

    (ALT): ω' = ω + η g_ω^B(θ, ω), θ' = θ − η g_θ^{B̄}(θ, ω') with independent batches
    B, B̄ of B i.i.d. pairs; (SML): both gradients at (θ, ω) from one batch B.
    """
    eta = check_rate(eta)
    batch = check_batch(batch_size, sde.n_samples)
    if scheme not in SCHEMES:
        msg = f"scheme must be one of {SCHEMES}; got {scheme!r}"
        raise InvalidInputError(msg)
    torch, gamma = _common(sde, gamma0, n_paths, steps)
    generator = torch.Generator().manual_seed(int(seed))
    grad = torch.func.vmap(torch.func.grad(sde.batch_phi))
    p = sde.d_theta

    def batch_gradient(point: Any) -> Any:
        idx = torch.randint(sde.n_samples, (n_paths, batch), generator=generator)
        return grad(point, sde.x_pairs[idx], sde.z_pairs[idx])

    means, errors = zip(*[_record(observe, gamma)], strict=True)
    means, errors = list(means), list(errors)
    for _ in range(steps):
        if scheme == "sml":
            g = batch_gradient(gamma)
            gamma = torch.cat([gamma[:, :p] - eta * g[:, :p], gamma[:, p:] + eta * g[:, p:]], 1)
        else:
            omega = gamma[:, p:] + eta * batch_gradient(gamma)[:, p:]
            half = torch.cat([gamma[:, :p], omega], 1)
            gamma = torch.cat([gamma[:, :p] - eta * batch_gradient(half)[:, :p], omega], 1)
        finite_or_raise(gamma, f"{scheme.upper()} iterate")
        mean, error = _record(observe, gamma)
        means.append(mean)
        errors.append(error)
    info = {"eta": eta, "batch_size": batch, "scheme": scheme, "n_paths": n_paths, "seed": seed}
    return Ensemble(
        eta * np.arange(steps + 1), np.array(means), np.array(errors), gamma.numpy(), info=info
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
) -> Ensemble:
    """Integrate (ALT-SDE), (SML-SDE) or (14) to the times t·η, t = 0..steps.

    Euler–Maruyama with h = η/``substeps``; with ``richardson`` a second run with h/2
    shares the Brownian path, and the estimate per path is 2f(X^{h/2}) − f(X^h).
    """
    eta = check_rate(eta)
    batch = check_batch(batch_size, sde.n_samples)
    if kind not in SDE_KINDS:
        msg = f"kind must be one of {SDE_KINDS}; got {kind!r}"
        raise InvalidInputError(msg)
    if isinstance(substeps, bool) or not isinstance(substeps, int) or substeps < 1:
        msg = f"substeps must be a positive integer; got {substeps!r}"
        raise InvalidInputError(msg)
    torch, coarse = _common(sde, gamma0, n_paths, steps)
    fine = coarse.clone()
    generator = torch.Generator().manual_seed(int(seed))
    drift = torch.func.vmap(lambda g: sde.drift(g, eta=eta, kind=kind))
    noise = torch.func.vmap(lambda g, a, b: sde.noise(g, a, b, eta=eta, batch_size=batch))
    n = sde.n_samples
    h = eta / substeps

    def em(state: Any, dt: float, xi_t: Any, xi_w: Any) -> Any:
        return state + dt * drift(state) + math.sqrt(dt) * noise(state, xi_t, xi_w)

    def estimate() -> Any:
        return 2 * observe(fine) - observe(coarse) if richardson else observe(fine)

    def record() -> None:
        values = estimate().detach().cpu().numpy()
        means.append(values.mean(0))
        errors.append(values.std(0, ddof=1) / math.sqrt(n_paths))

    means: list[np.ndarray] = []
    errors: list[np.ndarray] = []
    record()
    for _ in range(steps):
        for _ in range(substeps):
            xi = torch.randn(4, n_paths, n, generator=generator, dtype=torch.float64)
            if richardson:
                fine = em(fine, h / 2, xi[0], xi[1])
                fine = em(fine, h / 2, xi[2], xi[3])
                s = 1 / math.sqrt(2)
                coarse = em(coarse, h, s * (xi[0] + xi[2]), s * (xi[1] + xi[3]))
            else:
                fine = em(fine, h, xi[0], xi[1])
        finite_or_raise(fine, f"{kind.upper()}-SDE path")
        record()
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
        eta * np.arange(steps + 1),
        np.array(means),
        np.array(errors),
        fine.numpy(),
        coarse.numpy() if richardson else None,
        info,
    )
