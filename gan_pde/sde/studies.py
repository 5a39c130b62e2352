"""Weak-order studies of paper 000 (Theorems 3.1, 3.2, Remark 3.1), shared by the command,
the verify checks and the docs.

:func:`exact_weak_orders` uses the exact moments of a :class:`QuadraticGame` (no Monte-Carlo
noise); :func:`monte_carlo_weak_errors` uses ensembles of a torch :class:`GANSDE` with
standard errors.  Both compare (SGA scheme, SDE) pairs:

* ``ALT~ALT-SDE``: order 2 (Theorem 3.1);
* ``SML~SML-SDE``: order 1 (Theorem 3.2);
* ``ALT~SML-SDE``: order 1, the game term of Remark 3.1 is missing.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gan_pde.sde.quadratic import QuadraticGame

__all__ = ["PAIRS", "exact_weak_orders", "fitted_slope", "monte_carlo_weak_errors"]

#: (label, SGA scheme, SDE kind, claimed order).
PAIRS = (
    ("ALT~ALT-SDE", "alt", "alt", 2.0),
    ("SML~SML-SDE", "sml", "sml", 1.0),
    ("ALT~SML-SDE", "alt", "sml", 1.0),
)


def fitted_slope(etas: Any, errors: Any) -> float:
    """Least-squares slope of log(error) against log(η)."""
    return float(np.polyfit(np.log(np.asarray(etas)), np.log(np.asarray(errors)), 1)[0])


def _observables(q: np.ndarray) -> np.ndarray:
    d = q.shape[-1] - 1
    rows, cols = np.triu_indices(d)
    return np.concatenate([q[..., :d, d], q[..., rows, cols]], axis=-1)


def exact_weak_orders(
    game: QuadraticGame,
    gamma0: Any,
    etas: Any,
    *,
    batch_size: int,
    t_final: float = 1.0,
) -> dict[str, Any]:
    """max_t max_f |E f(γ_t) − E f(Γ_{tη})| over t ≤ T/η and f ∈ {γ_i, γ_iγ_j} (eq. (12)/(13)).

    Returns ``{"etas", "errors": {label: [...]}, "slopes": {label: float}}``.
    """
    etas = [float(e) for e in etas]
    errors: dict[str, list[float]] = {label: [] for label, *_ in PAIRS}
    for eta in etas:
        steps = max(1, round(t_final / eta))
        cache: dict[str, np.ndarray] = {}
        for label, scheme, kind, _ in PAIRS:
            if scheme not in cache:
                cache[scheme] = _observables(
                    game.sga_moments(
                        gamma0, eta=eta, batch_size=batch_size, steps=steps, scheme=scheme
                    )
                )
            sde = _observables(
                game.sde_moments(gamma0, eta=eta, batch_size=batch_size, steps=steps, kind=kind)
            )
            errors[label].append(float(np.abs(cache[scheme] - sde).max()))
    slopes = {label: fitted_slope(etas, errors[label]) for label in errors}
    return {"etas": etas, "errors": errors, "slopes": slopes}


def monte_carlo_weak_errors(
    sde: Any,
    gamma0: Any,
    etas: Any,
    *,
    batch_size: int,
    t_final: float = 1.0,
    n_paths: int = 4000,
    substeps: int = 4,
    observable: int = 0,
    seed: int = 0,
) -> dict[str, Any]:
    """|E f(γ_N) − E f(Γ_T)| at T for f = the ``observable``-th default observable, with SE.

    The SDE side uses Euler–Maruyama + Richardson with h = η/``substeps``.  Returns
    ``{"etas", "errors": {label: [...]}, "stderr": {label: [...]}, "slopes"}``.
    """
    from gan_pde.sde.simulate import simulate_sde, simulate_sga

    etas = [float(e) for e in etas]
    errors: dict[str, list[float]] = {label: [] for label, *_ in PAIRS}
    stderr: dict[str, list[float]] = {label: [] for label, *_ in PAIRS}
    for k, eta in enumerate(etas):
        steps = max(1, round(t_final / eta))
        sga = {
            scheme: simulate_sga(
                sde,
                gamma0,
                eta=eta,
                batch_size=batch_size,
                steps=steps,
                scheme=scheme,
                n_paths=n_paths,
                seed=seed + 10 * k,
            )
            for scheme in ("alt", "sml")
        }
        sdes = {
            kind: simulate_sde(
                sde,
                gamma0,
                eta=eta,
                batch_size=batch_size,
                steps=steps,
                kind=kind,
                substeps=substeps,
                n_paths=n_paths,
                seed=seed + 10 * k + 5,
            )
            for kind in ("alt", "sml")
        }
        for label, scheme, kind, _ in PAIRS:
            a, b = sga[scheme], sdes[kind]
            errors[label].append(float(abs(a.mean[-1, observable] - b.mean[-1, observable])))
            stderr[label].append(
                float(math.hypot(a.stderr[-1, observable], b.stderr[-1, observable]))
            )
    slopes = {label: fitted_slope(etas, errors[label]) for label in errors}
    return {"etas": etas, "errors": errors, "stderr": stderr, "slopes": slopes}
