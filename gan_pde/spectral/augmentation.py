r"""Data-driven Poincaré constants and data augmentation (paper 004, Sections 6–7).

:func:`kde_poincare` computes :math:`\xi_{\min}` (15) of a data set through its Gaussian
KDE :math:`\rho_h = \frac1n\sum_j\mathcal N(s_j, h^2 I)`.  The bandwidth matters:

- as :math:`h\to0` the KDE is a sum of n spikes, the μ-measure of the gaps between
  them vanishes, and a function that is constant on each spike has Rayleigh quotient
  (31) → 0, so :math:`\xi_{\min}\to0`;
- as :math:`h\to\infty` the KDE tends to :math:`\mathcal N(\bar s, C + h^2I)` (C the
  empirical covariance, ddof 0), whose constant is :math:`1/(\lambda_{\max}(C) + h^2)`
  (Hermite spectrum, Appendix B).

:func:`augmentation_study` measures ξ_min of augmented data sets against a strength s,
with the KDE bandwidth ``factor`` × Scott's rule (so that it follows the data's scale):

- ``"scaling"``: :math:`x\mapsto\bar x + (1+s)(x-\bar x)`.  If
  :math:`\rho_c(x) = c^{-d}\rho(x/c)` and :math:`w_c(x) = w(x/c)`, the Rayleigh quotient
  (31) scales by :math:`1/c^2`, so :math:`\xi_{\min}(\rho_c) = \xi_{\min}(\rho)/c^2`
  *exactly*; the Scott bandwidth, the box and the mesh scale with the data, so the discrete
  value scales exactly too.  Stretching lowers ξ_min.
- ``"bridge"``: each point is replaced with probability s/2 by a draw of
  :math:`\mathcal N(\bar x, I)`, the augmentation μ_p of (34) (p = s).  It puts mass in
  the gap between the modes and raises ξ_min.
- ``"noise"``: :math:`x + \sigma\varepsilon`, ε ~ N(0, I), σ = s: convolution with a
  Gaussian fills the gap (raises ξ_min) but also widens the data; for large s the law
  tends to a Gaussian of covariance :math:`C + s^2I` and ξ_min falls like :math:`1/s^2`.
- ``"translation"``: :math:`x + U`, U uniform on :math:`[-s, s]^d` (random shifts): the
  same two effects as noise, with the variance :math:`s^2/3` per axis.

So the ranking that the connectivity argument of Section 6 predicts for a bimodal set is
bridge (monotone increase) > noise, translation (fill the gap, widen the data) > scaling
(exact :math:`(1+s)^{-2}` decrease).  Measured on (33) with 400 samples and s = 1:
bridge 6.43, noise 1.29, translation 0.64, scaling 0.25 (relative to no augmentation):
uniform shifts widen each mode less than they widen the data (and so Scott's bandwidth),
and lower ξ_min, as the paper reports for translations of CIFAR-10.

Examples
--------
>>> import numpy as np
>>> from gan_pde.spectral.augmentation import kde_poincare, toy_dataset
>>> data = toy_dataset("bimodal-1d", 400, seed=0)
>>> print(f"{kde_poincare(data, factor=1.0):.4f}")
0.0485
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gan_pde._arrays import as_finite_array, as_positive
from gan_pde.errors import InvalidInputError

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = [
    "AUGMENTATIONS",
    "DATASETS",
    "AugmentationStudy",
    "BandwidthStudy",
    "augment",
    "augmentation_study",
    "bandwidth_study",
    "kde_poincare",
    "plot_augmentation_study",
    "toy_dataset",
]

#: Augmentations of :func:`augment`.
AUGMENTATIONS = ("translation", "scaling", "noise", "bridge")
#: Toy data sets of :func:`toy_dataset`: the mixture (33) in 1D and its 2D analogue.
DATASETS = ("bimodal-1d", "bimodal-2d")
#: KDE tail level of the mesh box: ln ρ drops by this much beyond the extreme samples.
_TAIL = 18.0


def toy_dataset(name: str, n: int, *, seed: int = 0) -> np.ndarray:
    r"""Samples of :math:`\tfrac12\mathcal N(-3, 1) + \tfrac12\mathcal N(3, 1)` (33) in 1D,
    or of the same mixture with means (±3, 0) and unit covariance in 2D.

    Examples
    --------
    >>> toy_dataset("bimodal-2d", 5, seed=0).shape
    (5, 2)
    """
    from gan_pde.densities import GaussianMixture

    if name not in DATASETS:
        msg = f"name={name!r} is not one of {DATASETS}"
        raise InvalidInputError(msg)
    means = [[-3.0], [3.0]] if name == "bimodal-1d" else [[-3.0, 0.0], [3.0, 0.0]]
    return GaussianMixture(means=means, stds=[1.0, 1.0]).sample(n, rng=seed)


def kde_poincare(
    samples: ArrayLike,
    *,
    bandwidth: float | None = None,
    factor: float = 1.0,
    cells: int | None = None,
    element: str = "P2",
) -> float:
    r"""ξ_min (15) of the Gaussian KDE of a data set.

    .. math::

        \rho_h(x) = \frac1n\sum_{j=1}^n\mathcal N(x; s_j, h^2I),\qquad
        \xi_{\min} = \min_w\frac{\int\rho_h|\nabla w|^2}{\operatorname{Var}_{\rho_h}w}
        \qquad\text{(paper 004, (15), (31))}

    on the box that reaches ``h·√(2·18)`` beyond the extreme samples (ρ_h falls by
    :math:`e^{-18}` there), with natural boundary conditions.

    Parameters
    ----------
    samples
        Data, shape ``(n, d)`` (d = 1 or 2) or ``(n,)``, finite, n > d.
    bandwidth
        Absolute kernel width h > 0; default ``factor`` × Scott's
        :math:`n^{-1/(d+4)}\sqrt{\lambda_{\max}(C)}`.
    factor
        Multiplier of Scott's width when ``bandwidth`` is None.
    cells
        Cells per direction (default: 4 per bandwidth in 1D, capped to 4000; 48 in 2D).
    element
        ``"P1"`` or ``"P2"``.

    Returns
    -------
    float

    Examples
    --------
    >>> data = np.random.default_rng(0).normal(size=(300, 1))
    >>> print(f"{kde_poincare(data, bandwidth=20.0):.4f}")  # ≈ 1 / (var + h²)
    0.0025
    """
    from gan_pde.densities import KDE
    from gan_pde.mesh import interval, rectangle
    from gan_pde.spectral.weighted_laplacian import weighted_laplacian_spectrum

    data = _samples(samples)
    h = _bandwidth(data, bandwidth, factor)
    n, d = data.shape
    margin = h * math.sqrt(2.0 * _TAIL)
    lo, hi = data.min(axis=0) - margin, data.max(axis=0) + margin
    density = KDE(data, bandwidth=h)
    if d == 1:
        count = cells or int(min(4000, max(200, math.ceil(4 * (hi[0] - lo[0]) / h))))
        mesh = interval(lo[0], hi[0], n=count)
    else:
        count = cells or 48
        mesh = rectangle((lo[0], hi[0]), (lo[1], hi[1]), n=count)
    return weighted_laplacian_spectrum(density, mesh, k=3, element=element).poincare_constant


@dataclass(frozen=True)
class BandwidthStudy:
    r"""ξ_min of a KDE against its bandwidth.

    Attributes
    ----------
    factors, bandwidths
        Multipliers of Scott's width and the widths h.
    xi_min
        KDE ξ_min per bandwidth.
    gaussian_limit
        :math:`1/(\lambda_{\max}(C) + h^2)`, the large-h limit.
    """

    factors: np.ndarray
    bandwidths: np.ndarray
    xi_min: np.ndarray
    gaussian_limit: np.ndarray


def bandwidth_study(samples: ArrayLike, factors: ArrayLike, **options) -> BandwidthStudy:
    r"""ξ_min of the KDE for bandwidths ``factor`` × Scott (see the module docstring).

    Examples
    --------
    >>> data = np.random.default_rng(1).normal(size=(200, 1))
    >>> study = bandwidth_study(data, [0.3, 1.0, 30.0])
    >>> bool(study.xi_min[0] < study.xi_min[1]), bool(abs(study.xi_min[2] /
    ...     study.gaussian_limit[2] - 1) < 1e-3)
    (True, True)
    """
    data = _samples(samples)
    f = np.asarray(factors, dtype=float).ravel()
    if f.size == 0 or not np.all(np.isfinite(f)) or np.any(f <= 0):
        msg = "factors must be positive finite numbers"
        raise InvalidInputError(msg)
    widths = np.array([_bandwidth(data, None, x) for x in f])
    xi = np.array([kde_poincare(data, bandwidth=h, **options) for h in widths])
    cov = np.atleast_2d(np.cov(data, rowvar=False, ddof=0))
    limit = 1.0 / (np.linalg.eigvalsh(cov).max() + widths**2)
    return BandwidthStudy(factors=f, bandwidths=widths, xi_min=xi, gaussian_limit=limit)


def augment(samples: ArrayLike, kind: str, strength: float, *, seed: int = 0) -> np.ndarray:
    r"""One augmented copy of a data set (see the module docstring for each ``kind``).

    Parameters
    ----------
    samples
        Data ``(n, d)``.
    kind
        One of :data:`AUGMENTATIONS`.
    strength
        s ≥ 0 (for ``"bridge"`` a probability p ≤ 1).
    seed
        Seed of the random shifts, noise or bridge draws.

    Examples
    --------
    >>> data = np.array([[0.0], [2.0]])
    >>> augment(data, "scaling", 1.0)
    array([[-1.],
           [ 3.]])
    """
    data = _samples(samples)
    if kind not in AUGMENTATIONS:
        msg = f"kind={kind!r} is not one of {AUGMENTATIONS}"
        raise InvalidInputError(msg)
    s = float(strength)
    if not (math.isfinite(s) and s >= 0.0) or (kind == "bridge" and s > 1.0):
        msg = f"strength must be >= 0 (and <= 1 for 'bridge'); got {strength!r}"
        raise InvalidInputError(msg)
    rng = np.random.default_rng(seed)
    centre = data.mean(axis=0)
    if kind == "scaling":
        return centre + (1.0 + s) * (data - centre)
    if kind == "noise":
        return data + s * rng.standard_normal(data.shape)
    if kind == "translation":
        return data + rng.uniform(-s, s, size=data.shape)
    replace = rng.random(data.shape[0]) < 0.5 * s
    out = data.copy()
    out[replace] = centre + rng.standard_normal((int(replace.sum()), data.shape[1]))
    return out


@dataclass(frozen=True)
class AugmentationStudy:
    """ξ_min of augmented data sets: ``xi_min[i, j]`` for ``kinds[i]`` at ``strengths[j]``."""

    kinds: tuple[str, ...]
    strengths: np.ndarray
    xi_min: np.ndarray
    baseline: float

    def table(self) -> str:
        """The study as a Markdown table of ξ_min / ξ_min(no augmentation)."""
        head = "| augmentation | " + " | ".join(f"s={s:g}" for s in self.strengths) + " |"
        rule = "|---" * (self.strengths.size + 1) + "|"
        rows = [
            f"| {kind} | " + " | ".join(f"{x / self.baseline:.3f}" for x in values) + " |"
            for kind, values in zip(self.kinds, self.xi_min, strict=True)
        ]
        return "\n".join([head, rule, *rows])


def augmentation_study(
    samples: ArrayLike,
    strengths: ArrayLike,
    *,
    kinds: tuple[str, ...] = AUGMENTATIONS,
    factor: float = 1.0,
    seed: int = 0,
    **options,
) -> AugmentationStudy:
    r"""ξ_min (15) of the KDE of each augmented data set against the strength (Section 7).

    Parameters
    ----------
    samples
        The data ``(n, d)``.
    strengths
        Strengths s (≤ 1 when ``"bridge"`` is among ``kinds``).
    kinds
        Augmentations, from :data:`AUGMENTATIONS`.
    factor
        KDE bandwidth as a multiple of Scott's rule (it follows the augmented data).
    seed
        Seed of every augmentation.
    options
        Passed to :func:`kde_poincare` (``cells``, ``element``).

    Returns
    -------
    AugmentationStudy

    Examples
    --------
    >>> data = toy_dataset("bimodal-1d", 300, seed=0)
    >>> study = augmentation_study(data, [0.0, 0.5], kinds=("scaling",))
    >>> print(f"{study.xi_min[0, 1] / study.xi_min[0, 0]:.6f}")  # exactly 1 / 1.5²
    0.444444
    """
    data = _samples(samples)
    s = np.asarray(strengths, dtype=float).ravel()
    for kind in kinds:
        if kind not in AUGMENTATIONS:
            msg = f"kind={kind!r} is not one of {AUGMENTATIONS}"
            raise InvalidInputError(msg)
    values = np.array(
        [
            [kde_poincare(augment(data, kind, x, seed=seed), factor=factor, **options) for x in s]
            for kind in kinds
        ]
    )
    baseline = kde_poincare(data, factor=factor, **options)
    return AugmentationStudy(kinds=tuple(kinds), strengths=s, xi_min=values, baseline=baseline)


def plot_augmentation_study(study: AugmentationStudy, path: str | Path) -> None:
    """Plot ξ_min / ξ_min(no augmentation) against the strength, one line per kind."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for kind, values in zip(study.kinds, study.xi_min, strict=True):
        ax.plot(study.strengths, values / study.baseline, marker="o", label=kind)
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_xlabel("strength s")
    ax.set_ylabel(r"$\xi_{\min}/\xi_{\min}(0)$")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _samples(samples: ArrayLike) -> np.ndarray:
    try:
        data = np.asarray(samples, dtype=float)
    except (TypeError, ValueError) as err:
        msg = f"samples must be a real array; got {type(samples).__name__}"
        raise InvalidInputError(msg) from err
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2 or data.shape[1] not in (1, 2):
        msg = f"samples must have shape (n, d) with d = 1 or 2; got shape {data.shape}"
        raise InvalidInputError(msg)
    data = as_finite_array(data, "samples")
    if data.shape[0] <= data.shape[1]:
        msg = (
            f"samples must have more points than dimensions; got {data.shape[0]} points in "
            f"dimension {data.shape[1]}"
        )
        raise InvalidInputError(msg)
    return data


def _bandwidth(data: np.ndarray, bandwidth: float | None, factor: float) -> float:
    if bandwidth is not None:
        return as_positive(bandwidth, "bandwidth")
    factor = as_positive(factor, "factor")
    n, d = data.shape
    spread = math.sqrt(float(np.linalg.eigvalsh(np.atleast_2d(np.cov(data.T, ddof=1))).max()))
    return factor * n ** (-1.0 / (d + 4)) * spread
