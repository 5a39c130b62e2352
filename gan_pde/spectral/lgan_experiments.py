r"""The five (α, β, γ) settings of paper 004, Section 7, at the PDE level.

:func:`mixture_experiment` discretises the lGAN on the two-Gaussian mixture
½N(0, 1) + ½N(M, 1) (:class:`~gan_pde.spectral.lgan_assembly.LGANSystem`), takes its
discrete Poincaré constant ξ_min, and integrates WGAN, the two WGAN-GP settings, LSGAN and
the optimum of (23)–(25) by Crank–Nicolson (:func:`~gan_pde.spectral.lgan_integrate.integrate`)
from a translated generator; :class:`MixtureExperiment` holds the predicted and measured
decay rates (Theorem 4) and the decay curves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from gan_pde.errors import InvalidInputError
from gan_pde.spectral import lgan
from gan_pde.spectral.lgan_assembly import LGANSystem, _parameter
from gan_pde.spectral.lgan_integrate import LGANTrajectory, integrate

__all__ = ["MixtureExperiment", "mixture_experiment"]


@dataclass(frozen=True)
class MixtureExperiment:
    r"""The five (α, β, γ) settings of paper 004, Section 7, at the PDE level.

    Attributes
    ----------
    separation
        M of the mixture ½N(0, 1) + ½N(M, 1).
    xi_min
        The discrete Poincaré constant :math:`\xi_{h,\min}` of the mixture.
    names
        The settings: ``"WGAN"`` (0, −1, 0), ``"WGAN-GP optimal"`` (0, −1, 2/√ξ_min),
        ``"WGAN-GP sub-optimal"`` (0, −1, 1/√ξ_min), ``"LSGAN"`` (0.25, −0.5, 0) and
        ``"optimal"`` (β = 1, α and γ of :func:`~gan_pde.spectral.lgan.optimal_parameters`).
    parameters
        (α, β, γ) per setting.
    predicted_rates
        η of the discrete spectrum per setting (:func:`~gan_pde.spectral.lgan.decay_rate`
        with all the discrete :math:`\xi_h`).
    measured_rates
        Slope of ln of the energy norm over the second half of the run.
    oscillating
        Whether some non-kernel mode is a complex pair: relative imaginary part above
        1e-6, so that a critically damped ξ_min (a double root, split by round-off into a
        pair ~1e-8 apart) counts as real.
    trajectories
        The decay curves (:class:`LGANTrajectory`), from u₀ = 0, v₀ = 1 (a translated
        generator).
    """

    separation: float
    xi_min: float
    names: tuple[str, ...]
    parameters: tuple[tuple[float, float, float], ...]
    predicted_rates: np.ndarray
    measured_rates: np.ndarray
    oscillating: np.ndarray
    trajectories: tuple[LGANTrajectory, ...] = field(repr=False)


def mixture_experiment(
    separation: float,
    *,
    t_final: float = 100.0,
    tau: float = 0.02,
    element: str = "P2",
    cells: int = 120,
    margin: float = 8.0,
) -> MixtureExperiment:
    r"""Decay curves of the five settings of paper 004, Section 7, for ½N(0,1) + ½N(M,1).

    The settings (α, β, γ), with :math:`\xi_{\min}` the discrete Poincaré constant:

    .. math::

        (0, -1, 0),\quad (0, -1, 2/\sqrt{\xi_{\min}}),\quad (0, -1, 1/\sqrt{\xi_{\min}}),
        \quad (0.25, -0.5, 0),\quad (|\beta|\sqrt{\xi_{\min}}, 1, |\beta|/\sqrt{\xi_{\min}})

    (WGAN; WGAN-GP with the γ of (23) and α = 0, critically damped at ξ_min; a sub-optimal
    γ, oscillating at ξ_min; the default LSGAN; β = 1 with the optimum of (23)–(25)).  Each
    is integrated by Crank–Nicolson from u₀ = 0, v₀ = 1 (the generator translated by one
    unit), which excites the slowest mode of the mixture.  Theorem 4 predicts the order of
    the rates: optimal (−|β|√ξ_min) < WGAN-GP ≈ sub-optimal (≈ −√ξ_min/2) < LSGAN
    (−α/2 when ξ_min > α²/(4β²)) < WGAN (0, energy conserved).

    Parameters
    ----------
    separation
        M > 0.
    t_final, tau
        Length of the run and Crank–Nicolson step (rate error O(τ²|λ|³)).
    element, cells, margin
        The mesh: ``cells`` cells of ``element`` on [−margin, M + margin].

    Returns
    -------
    MixtureExperiment

    Examples
    --------
    >>> experiment = mixture_experiment(3.0, t_final=10.0, tau=0.05, cells=60)
    >>> print(f"{experiment.xi_min:.4f}")  # the paper's estimate: 0.25
    0.2572
    >>> print(experiment.names[int(experiment.predicted_rates.argmin())])
    optimal
    """
    from gan_pde.densities import GaussianMixture
    from gan_pde.mesh import interval

    m = _parameter(separation, "separation", nonnegative=True, reason="a distance")
    if m == 0.0:
        msg = "separation must be > 0 (two distinct modes)"
        raise InvalidInputError(msg)
    t_final = _parameter(t_final, "t_final", nonnegative=True, reason="a duration")
    tau = _parameter(tau, "tau", nonnegative=True, reason="a step size")
    if not 0.0 < tau <= t_final:
        msg = f"need 0 < tau <= t_final; got tau={tau}, t_final={t_final}"
        raise InvalidInputError(msg)
    density = GaussianMixture(means=[[0.0], [m]], stds=[1.0, 1.0], weights=[0.5, 0.5])
    mesh = interval(-margin, m + margin, cells)
    xi = LGANSystem(density, mesh, alpha=0.0, beta=1.0, element=element).laplacian_eigenvalues()
    xi_min = float(xi[1])
    best = lgan.optimal_parameters(xi_min, beta=1.0)
    root = math.sqrt(xi_min)
    names = ("WGAN", "WGAN-GP optimal", "WGAN-GP sub-optimal", "LSGAN", "optimal")
    parameters = (
        (0.0, -1.0, 0.0),
        (0.0, -1.0, 2.0 / root),
        (0.0, -1.0, 1.0 / root),
        (0.25, -0.5, 0.0),
        (best.alpha, 1.0, best.gamma),
    )
    steps = max(1, round(t_final / tau))
    predicted, measured, oscillating, trajectories = [], [], [], []
    for alpha, beta, gamma in parameters:
        system = LGANSystem(density, mesh, alpha=alpha, beta=beta, gamma=gamma, element=element)
        y0 = system.state(v=np.ones_like)
        trajectory = integrate(system, y0, tau=tau, steps=steps)
        predicted.append(
            float(lgan.decay_rate(xi_min, alpha=alpha, beta=beta, gamma=gamma, xi=xi[2:]))
        )
        measured.append(trajectory.rate())
        lam, _ = lgan.eigenvalues(xi[1:], alpha=alpha, beta=beta, gamma=gamma)
        oscillating.append(bool(np.any(np.abs(lam.imag) > 1e-6 * np.abs(lam))))
        trajectories.append(trajectory)
    return MixtureExperiment(
        separation=m,
        xi_min=xi_min,
        names=names,
        parameters=parameters,
        predicted_rates=np.array(predicted),
        measured_rates=np.array(measured),
        oscillating=np.array(oscillating),
        trajectories=tuple(trajectories),
    )
