r"""Distances between sample sets, densities on a mesh and laws of network parameters.

The sample metrics work on plain numpy arrays (no torch):

- :func:`w1`, :func:`w2`: exact 1D Wasserstein distances between two empirical laws through
  their quantile functions (unequal sizes allowed),

  .. math::

      W_p(\hat\mu, \hat\nu)^p = \int_0^1 \bigl|F^{-1}(u) - G^{-1}(u)\bigr|^p\,du ;

- :func:`mmd`: the unbiased (or biased) squared maximum mean discrepancy with a Gaussian
  kernel :math:`k(x, y) = e^{-|x-y|^2/(2h^2)}` in any dimension;

and the mesh-based ones put samples on the PDE mesh:

- :func:`samples_to_density`: a Gaussian KDE interpolated at the dofs, or the
  cloud-in-cell histogram (the lumped :math:`L^2` projection of the empirical measure onto
  P1), as a :class:`~gan_pde.densities.MeshDensity`;
- :func:`distance_to_density`: L¹ and JSD (through :mod:`gan_pde.fem.functionals`),
  W₁ and W₂ (1D, exact for the quadrature CDF of the mesh density);
- :func:`parameters_to_law`: the histogram of network parameters on a tensor grid, the
  discrete law to lay beside a mean-field density.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import skfem

from gan_pde._arrays import as_positive
from gan_pde.errors import InvalidInputError

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from gan_pde.densities import MeshDensity

__all__ = [
    "DENSITY_METHODS",
    "METRICS",
    "distance_to_density",
    "median_bandwidth",
    "mmd",
    "parameters_to_law",
    "samples_to_density",
    "w1",
    "w2",
]

#: Metrics of :func:`distance_to_density`.
METRICS = ("l1", "jsd", "w1", "w2")
#: Methods of :func:`samples_to_density`.
DENSITY_METHODS = ("kde", "histogram")
#: Points of the CDF grid of a 1D mesh density (the same as ``wasserstein_1d``).
_CDF_POINTS = 20001
#: Pooled points used for the median heuristic of :func:`mmd`.
_MEDIAN_POINTS = 1000
#: Bound on the kernel block of one :func:`mmd` chunk, in entries (8 MB in float64).
_MMD_BLOCK = 2**20


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------


def _finite_array(value: ArrayLike, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        msg = f"{name} must be a real array; got {type(value).__name__}: {exc}"
        raise InvalidInputError(msg) from exc
    if arr.size and not np.all(np.isfinite(arr)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        msg = f"{name} must be finite; it has {bad} non-finite entr{'y' if bad == 1 else 'ies'}"
        raise InvalidInputError(msg)
    return arr


def _samples_1d(value: ArrayLike, name: str) -> np.ndarray:
    """Samples of shape ``(..., n)`` from ``(n,)`` or ``(..., n, 1)``."""
    arr = _finite_array(value, name)
    if arr.ndim >= 2 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    elif arr.ndim != 1:
        msg = (
            f"{name} must hold 1D samples, shape (n,), (n, 1) or (..., n, 1); got shape "
            f"{arr.shape} (the exact Wasserstein distances are 1D; use mmd in higher dimension)"
        )
        raise InvalidInputError(msg)
    if arr.shape[-1] == 0:
        msg = f"{name} must hold at least one sample; got shape {arr.shape}"
        raise InvalidInputError(msg)
    return arr


def _samples_nd(value: ArrayLike, name: str, min_count: int = 1) -> np.ndarray:
    """Samples of shape ``(..., n, d)``; ``(n,)`` is read as ``(n, 1)``."""
    arr = _finite_array(value, name)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim < 2 or arr.shape[-2] < min_count or arr.shape[-1] == 0:
        msg = (
            f"{name} must have shape (n, d) or (..., n, d) with n >= {min_count} and d >= 1; "
            f"got shape {arr.shape}"
        )
        raise InvalidInputError(msg)
    return arr


def _choice(value: object, name: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value.lower() not in choices:
        msg = f"{name}={value!r} is not one of {choices}"
        raise InvalidInputError(msg)
    return value.lower()


# --------------------------------------------------------------------------------------------
# sample metrics
# --------------------------------------------------------------------------------------------


def _wasserstein_sorted(a: np.ndarray, b: np.ndarray, p: int) -> float:
    r""":math:`W_p^p` of two sorted 1D sample vectors through their quantile functions.

    :math:`F^{-1}` is constant on :math:`((i-1)/n, i/n]` and :math:`G^{-1}` on
    :math:`((j-1)/m, j/m]`; their common refinement has the break points
    :math:`\{i m\} \cup \{j n\}` over :math:`nm`, integers, so the integral is an exact sum.
    """
    n, m = a.size, b.size
    breaks = np.union1d(np.arange(n + 1) * m, np.arange(m + 1) * n)
    left, right = breaks[:-1], breaks[1:]
    ia = left // m
    ib = left // n
    weights = (right - left) / (n * m)
    return math.fsum(weights * np.abs(a[ia] - b[ib]) ** p)


def _wasserstein(a: ArrayLike, b: ArrayLike, p: int) -> float | np.ndarray:
    x = np.sort(_samples_1d(a, "a"), axis=-1)
    y = np.sort(_samples_1d(b, "b"), axis=-1)
    try:
        shape = np.broadcast_shapes(x.shape[:-1], y.shape[:-1])
    except ValueError:
        msg = (
            f"the batch shapes of a {x.shape[:-1]} and b {y.shape[:-1]} do not broadcast "
            "(samples are (..., n) or (..., n, 1))"
        )
        raise InvalidInputError(msg) from None
    x = np.broadcast_to(x, (*shape, x.shape[-1])).reshape(-1, x.shape[-1])
    y = np.broadcast_to(y, (*shape, y.shape[-1])).reshape(-1, y.shape[-1])
    out = np.array([_wasserstein_sorted(u, v, p) ** (1.0 / p) for u, v in zip(x, y, strict=True)])
    return float(out[0]) if not shape else out.reshape(shape)


def w1(a: ArrayLike, b: ArrayLike) -> float | np.ndarray:
    r"""Exact Wasserstein-1 distance between two 1D empirical laws.

    .. math::

        W_1(\hat\mu, \hat\nu) = \int_0^1 \bigl|F^{-1}(u) - G^{-1}(u)\bigr|\,du
                              = \int_{\mathbb R} |F(x) - G(x)|\,dx ,

    summed exactly over the common refinement of the two step quantile functions.

    Parameters
    ----------
    a, b
        Samples of shape ``(n,)`` or ``(n, 1)``, or batches ``(..., n, 1)`` whose leading
        shapes broadcast; the sizes n and m may differ.

    Returns
    -------
    float or numpy.ndarray
        The distance (an array of the batch shape for batched input).

    Examples
    --------
    >>> w1([0.0, 1.0], [0.5])
    0.5
    >>> w1([0.0, 1.0, 2.0], [1.0, 2.0, 3.0])
    1.0
    """
    return _wasserstein(a, b, 1)


def w2(a: ArrayLike, b: ArrayLike) -> float | np.ndarray:
    r"""Exact Wasserstein-2 distance between two 1D empirical laws.

    .. math::

        W_2(\hat\mu, \hat\nu)^2 = \int_0^1 \bigl|F^{-1}(u) - G^{-1}(u)\bigr|^2\,du ,

    summed exactly over the common refinement of the two step quantile functions (the
    monotone coupling is optimal in 1D).  Same arguments as :func:`w1`.

    Examples
    --------
    >>> w2([0.0, 2.0], [1.0])
    1.0
    """
    return _wasserstein(a, b, 2)


def _sq_distances(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    d2 = (x * x).sum(axis=1)[:, None] + (y * y).sum(axis=1)[None, :] - 2.0 * x @ y.T
    return np.maximum(d2, 0.0)


def _kernel_sum(x: np.ndarray, y: np.ndarray, scale: float) -> float:
    """:math:`\\sum_{ij} e^{-|x_i-y_j|^2 \\cdot scale}` by row chunks of bounded size."""
    rows = max(1, _MMD_BLOCK // max(1, y.shape[0]))
    total = 0.0
    for start in range(0, x.shape[0], rows):
        total += float(np.exp(-scale * _sq_distances(x[start : start + rows], y)).sum())
    return total


def median_bandwidth(a: np.ndarray, b: np.ndarray) -> float:
    r"""Median heuristic :math:`h = \operatorname{median}_{i<j}|z_i - z_j|` of the pooled sample.

    At most 1000 pooled points enter (evenly spaced indices, so the result is deterministic);
    if the median is 0 (many ties) the mean distance is used.
    """
    pooled = np.concatenate([a, b], axis=0)
    if pooled.shape[0] > _MEDIAN_POINTS:
        pooled = pooled[np.linspace(0, pooled.shape[0] - 1, _MEDIAN_POINTS).astype(int)]
    dist = np.sqrt(_sq_distances(pooled, pooled)[np.triu_indices(pooled.shape[0], k=1)])
    h = float(np.median(dist)) if dist.size else 0.0
    if h <= 0.0:
        h = float(dist.mean()) if dist.size else 0.0
    if h <= 0.0:
        msg = "mmd: all pooled samples coincide, the median-heuristic bandwidth is 0"
        raise InvalidInputError(msg)
    return h


def _mmd_single(x: np.ndarray, y: np.ndarray, bandwidth: float | None, biased: bool) -> float:
    h = median_bandwidth(x, y) if bandwidth is None else bandwidth
    scale = 0.5 / (h * h)
    n, m = x.shape[0], y.shape[0]
    kxx, kyy, kxy = _kernel_sum(x, x, scale), _kernel_sum(y, y, scale), _kernel_sum(x, y, scale)
    if biased:
        return kxx / n**2 + kyy / m**2 - 2.0 * kxy / (n * m)
    return (kxx - n) / (n * (n - 1)) + (kyy - m) / (m * (m - 1)) - 2.0 * kxy / (n * m)


def mmd(
    a: ArrayLike,
    b: ArrayLike,
    bandwidth: float | None = None,
    *,
    biased: bool = False,
) -> float | np.ndarray:
    r"""Squared maximum mean discrepancy with a Gaussian kernel.

    .. math::

        \mathrm{MMD}_u^2 = \frac{1}{n(n-1)}\sum_{i\ne j}k(x_i,x_j)
            + \frac{1}{m(m-1)}\sum_{i\ne j}k(y_i,y_j) - \frac{2}{nm}\sum_{i,j}k(x_i,y_j),
        \qquad k(x,y) = e^{-|x-y|^2/(2h^2)} ,

    the unbiased estimator of :math:`\mathrm{MMD}^2 = \mathbb E k(X,X') + \mathbb E k(Y,Y')
    - 2\mathbb E k(X,Y)` (it can be slightly negative); ``biased=True`` keeps the diagonal
    terms (the V-statistic, :math:`\ge 0`, exactly 0 for identical sets).  Kernel sums are
    formed block by block, so memory stays bounded for large n.

    Parameters
    ----------
    a, b
        Samples of shape ``(n, d)`` and ``(m, d)`` (``(n,)`` means d = 1), or batches
        ``(..., n, d)`` whose leading shapes broadcast; n, m >= 2.
    bandwidth
        Kernel width h > 0; default: the median heuristic of the pooled sample
        (:func:`median_bandwidth`), computed per batch entry.
    biased
        Return the biased V-statistic instead of the unbiased U-statistic.

    Returns
    -------
    float or numpy.ndarray

    Examples
    --------
    >>> x = np.array([[0.0], [1.0]])
    >>> mmd(x, x, bandwidth=1.0, biased=True)
    0.0
    >>> round(mmd(x, x + 10.0, bandwidth=1.0), 6)   # 2 k(0, 1) - 2 * (~0)
    1.213061
    """
    x = _samples_nd(a, "a", min_count=2)
    y = _samples_nd(b, "b", min_count=2)
    if x.shape[-1] != y.shape[-1]:
        msg = f"a and b must have the same dimension d; got {x.shape[-1]} and {y.shape[-1]}"
        raise InvalidInputError(msg)
    h = None
    if bandwidth is not None:
        h = as_positive(bandwidth, "bandwidth")
    try:
        shape = np.broadcast_shapes(x.shape[:-2], y.shape[:-2])
    except ValueError:
        msg = f"the batch shapes of a {x.shape[:-2]} and b {y.shape[:-2]} do not broadcast"
        raise InvalidInputError(msg) from None
    d = x.shape[-1]
    xs = np.broadcast_to(x, (*shape, *x.shape[-2:])).reshape(-1, x.shape[-2], d)
    ys = np.broadcast_to(y, (*shape, *y.shape[-2:])).reshape(-1, y.shape[-2], d)
    out = np.array([_mmd_single(u, v, h, biased) for u, v in zip(xs, ys, strict=True)])
    return float(out[0]) if not shape else out.reshape(shape)


# --------------------------------------------------------------------------------------------
# samples on the PDE mesh
# --------------------------------------------------------------------------------------------


def _as_basis(mesh_or_basis: object) -> skfem.CellBasis:
    from gan_pde.fem.basis import make_basis

    if isinstance(mesh_or_basis, skfem.CellBasis):
        return mesh_or_basis
    if isinstance(mesh_or_basis, skfem.Mesh):
        return make_basis(mesh_or_basis, "P1")
    msg = (
        "mesh_or_basis must be a scikit-fem Mesh (P1 is used) or CellBasis; got "
        f"{type(mesh_or_basis).__name__}"
    )
    raise InvalidInputError(msg)


def _cloud_in_cell(points: np.ndarray, mesh: skfem.Mesh) -> MeshDensity:
    r"""Lumped :math:`L^2` projection of the empirical measure on P1: :math:`u_i = \frac1n
    \sum_k\phi_i(x_k) / \int\phi_i`.  Mass :math:`\sum_i u_i\int\phi_i` = fraction inside."""
    from gan_pde.densities import MeshDensity
    from gan_pde.fem.basis import make_basis
    from gan_pde.fem.function import evaluation_matrix

    basis = make_basis(mesh, "P1")
    hat = evaluation_matrix(basis, points)
    inside = int(np.count_nonzero(hat.getnnz(axis=1)))
    if inside == 0:
        msg = f"samples_to_density: none of the {points.shape[0]} samples lies in the mesh"
        raise InvalidInputError(msg)
    lumped = np.asarray(skfem.asm(skfem.LinearForm(lambda v, _: v), basis), dtype=float)
    values = np.asarray(hat.sum(axis=0)).ravel() / (points.shape[0] * lumped)
    return MeshDensity(basis, values, normalize=True)


def samples_to_density(
    samples: ArrayLike,
    mesh_or_basis: skfem.Mesh | skfem.CellBasis,
    method: str = "kde",
    bandwidth: str | float | None = None,
) -> MeshDensity:
    r"""The density of a sample set on the PDE mesh, as a :class:`MeshDensity`.

    - ``"kde"``: the Gaussian KDE :math:`\frac1n\sum_k\mathcal N(x; x_k, H)`
      (:class:`~gan_pde.densities.KDE`, Scott's rule by default) interpolated at the dofs
      of the basis and normalised to mass 1 on the mesh;
    - ``"histogram"``: the cloud-in-cell histogram, the lumped :math:`L^2` projection of the
      empirical measure onto P1 on the mesh,

      .. math::

          u_i = \frac{\frac1n\sum_k\phi_i(x_k)}{\int\phi_i\,dx} ,

      which conserves mass exactly (:math:`\sum_i u_i\int\phi_i = ` the fraction of samples
      inside the mesh; samples outside are dropped and the rest renormalised).  It is
      always P1, whatever the basis passed.

    Parameters
    ----------
    samples
        Shape ``(n, d)`` (``(n,)`` for d = 1), d the mesh dimension; n >= 2 for ``"kde"``.
    mesh_or_basis
        A scikit-fem mesh (a P1 basis is built) or a scalar H1 ``CellBasis``.
    method
        ``"kde"`` or ``"histogram"``.
    bandwidth
        For ``"kde"``: ``"scott"`` (default), ``"silverman"`` or an absolute width h > 0.

    Returns
    -------
    MeshDensity

    Examples
    --------
    >>> import gan_pde as gp
    >>> mesh = gp.mesh.interval(-1.0, 1.0, n=2)
    >>> samples_to_density([[0.0], [0.5]], mesh, method="histogram").values
    array([0.  , 0.75, 0.5 ])
    """
    from gan_pde.densities import KDE, MeshDensity

    kind = _choice(method, "method", DENSITY_METHODS)
    basis = _as_basis(mesh_or_basis)
    dim = basis.mesh.dim()
    points = _samples_nd(samples, "samples")
    if points.ndim != 2 or points.shape[1] != dim:
        msg = f"samples must have shape (n, {dim}) for this mesh; got shape {points.shape}"
        raise InvalidInputError(msg)
    if kind == "histogram":
        if bandwidth is not None:
            msg = f"bandwidth is only used by method='kde'; got bandwidth={bandwidth!r}"
            raise InvalidInputError(msg)
        return _cloud_in_cell(points, basis.mesh)
    kde = KDE(points, bandwidth="scott" if bandwidth is None else bandwidth)
    values = kde.pdf(basis.doflocs.T)
    if not np.any(values > 0.0):
        msg = "samples_to_density: the KDE underflows to 0 at every dof of the mesh"
        raise InvalidInputError(msg)
    return MeshDensity(basis, values, normalize=True)


def _cdf_1d(density: MeshDensity) -> tuple[np.ndarray, np.ndarray]:
    """Grid and CDF (trapezoid rule, normalised to end at 1) of a 1D mesh density."""
    lo, hi = float(density.mesh.p.min()), float(density.mesh.p.max())
    grid = np.linspace(lo, hi, _CDF_POINTS)
    pdf = density.pdf(grid[:, None])
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(grid))])
    return grid, cdf / cdf[-1]


def _w2_to_density(samples: np.ndarray, density: MeshDensity) -> float:
    r""":math:`W_2` between 1D samples and the piecewise-linear CDF of a mesh density.

    On each interval of the common refinement of the break points :math:`k/N` of the
    empirical quantile and the CDF levels of the grid, :math:`Q_N` is a constant
    :math:`x_{(k)}` and :math:`Q_u` linear, so :math:`\int (Q_u - x_{(k)})^2 = \Delta u
    (a^2 + ab + b^2)/3` with a, b the end differences: exact for that CDF.
    """
    grid, cdf = _cdf_1d(density)
    rising = np.flatnonzero(np.diff(cdf) > 0.0)
    u0, u1 = cdf[rising], cdf[rising + 1]
    x0, x1 = grid[rising], grid[rising + 1]
    x = np.sort(samples)
    n = x.size
    levels = np.union1d(np.concatenate([u0, u1[-1:]]), np.arange(n + 1) / n)
    levels = levels[(levels >= 0.0) & (levels <= 1.0)]
    left, right = levels[:-1], levels[1:]
    keep = right > left
    left, right = left[keep], right[keep]
    middle = 0.5 * (left + right)
    seg = np.clip(np.searchsorted(u0, middle, side="right") - 1, 0, u0.size - 1)
    slope = (x1[seg] - x0[seg]) / (u1[seg] - u0[seg])
    q_left = x0[seg] + slope * (left - u0[seg])
    q_right = x0[seg] + slope * (right - u0[seg])
    k = np.minimum((middle * n).astype(int), n - 1)
    a, b = q_left - x[k], q_right - x[k]
    return math.sqrt(max(math.fsum((right - left) * (a * a + a * b + b * b) / 3.0), 0.0))


def distance_to_density(
    samples: ArrayLike,
    density: MeshDensity,
    metric: str = "l1",
    *,
    method: str = "kde",
    bandwidth: str | float | None = None,
) -> float:
    r"""Distance between a sample set and a density on a mesh (e.g. a PDE solution).

    - ``"l1"``: :math:`\int|\hat u - u|\,dx` and ``"jsd"``: :math:`\mathrm{JSD}(\hat u, u)`
      (natural log), with :math:`\hat u` = :func:`samples_to_density` on the density's
      basis (``method``, ``bandwidth``), by quadrature on its mesh
      (:func:`gan_pde.fem.l1_distance`, :func:`gan_pde.fem.js_divergence`).  These carry the
      KDE/histogram smoothing bias: for exact samples of u they tend to 0 only as the
      bandwidth or the cells shrink with n.
    - ``"w1"``: :math:`\int|F_N - F_u|\,dx` (1D; :func:`gan_pde.flows.wasserstein_1d`),
      ``"w2"``: :math:`(\int_0^1|Q_N - Q_u|^2du)^{1/2}` (1D), both exact for the CDF of u by
      the trapezoid rule on 20001 points (error :math:`O(h^2)`, about 1e-8); no smoothing.

    Parameters
    ----------
    samples
        Shape ``(n, d)`` (``(n,)`` for d = 1), d the density's dimension.
    density
        A :class:`~gan_pde.densities.MeshDensity`.
    metric
        One of :data:`METRICS`.
    method, bandwidth
        How ``"l1"``/``"jsd"`` turn the samples into a density (:func:`samples_to_density`).

    Returns
    -------
    float

    Examples
    --------
    >>> import gan_pde as gp, skfem
    >>> basis = skfem.Basis(gp.mesh.interval(0.0, 1.0, n=10), skfem.ElementLineP1())
    >>> u = gp.MeshDensity(basis, np.ones(basis.N))
    >>> round(distance_to_density([[0.5]], u, "w2") ** 2, 8)   # ∫(x − 1/2)² dx
    0.08333333
    """
    from gan_pde.densities import MeshDensity
    from gan_pde.fem.functionals import js_divergence, l1_distance
    from gan_pde.flows.particles import wasserstein_1d

    if not isinstance(density, MeshDensity):
        msg = f"density must be a gan_pde.densities.MeshDensity; got {type(density).__name__}"
        raise InvalidInputError(msg)
    kind = _choice(metric, "metric", METRICS)
    if kind in ("w1", "w2"):
        if density.dim != 1:
            msg = (
                f"metric={metric!r} is exact in 1D only; the density has dimension "
                f"{density.dim} (use 'l1' or 'jsd', or mmd on samples)"
            )
            raise InvalidInputError(msg)
        x = _samples_1d(samples, "samples")
        if x.ndim != 1:
            msg = f"samples must have shape (n,) or (n, 1); got shape {np.shape(samples)}"
            raise InvalidInputError(msg)
        if kind == "w1":
            return wasserstein_1d(x, density)
        return _w2_to_density(x, density)
    estimate = samples_to_density(samples, density.basis, method=method, bandwidth=bandwidth)
    if kind == "l1":
        return l1_distance(estimate, density, density.mesh)
    return js_divergence(estimate, density, density.mesh)


# --------------------------------------------------------------------------------------------
# parameter laws
# --------------------------------------------------------------------------------------------


def parameters_to_law(points: ArrayLike, grid_edges: Sequence[ArrayLike]) -> np.ndarray:
    r"""Empirical law of network parameters as cell masses on a tensor grid.

    .. math::

        p_{c} = \frac1N\,\#\{k : \theta_k \in c\}, \qquad \sum_c p_c = 1 ,

    for the cells :math:`c = [e^1_{i_1}, e^1_{i_1+1})\times\dots` of the grid (the last cell
    of each axis is closed, as in :func:`numpy.histogramdd`).  Divide by the cell volumes
    for a density; compare with the cell masses of a mean-field law on the same grid.

    Parameters
    ----------
    points
        Parameters of the N neurons, shape ``(N, d)`` (``(N,)`` for d = 1).
    grid_edges
        d increasing edge arrays, each of length >= 2, covering every point (points
        outside raise: the mean-field law lives in the box, a point outside it signals a
        mismatch).

    Returns
    -------
    numpy.ndarray
        Cell masses, shape ``(len(e_1) - 1, ..., len(e_d) - 1)``.

    Examples
    --------
    >>> parameters_to_law([0.1, 0.2, 0.7, 1.0], [[0.0, 0.5, 1.0]])
    array([0.5, 0.5])
    """
    x = _samples_nd(points, "points")
    if x.ndim != 2:
        msg = f"points must have shape (N, d); got shape {x.shape}"
        raise InvalidInputError(msg)
    if isinstance(grid_edges, np.ndarray) and grid_edges.ndim == 1:
        grid_edges = [grid_edges]
    edges = [np.asarray(e, dtype=float) for e in grid_edges]
    if len(edges) != x.shape[1]:
        msg = f"grid_edges must hold d = {x.shape[1]} edge arrays; got {len(edges)}"
        raise InvalidInputError(msg)
    for axis, e in enumerate(edges):
        if e.ndim != 1 or e.size < 2 or not np.all(np.isfinite(e)) or np.any(np.diff(e) <= 0):
            msg = (
                f"grid_edges[{axis}] must be a finite strictly increasing array of length "
                f">= 2; got {e.tolist()}"
            )
            raise InvalidInputError(msg)
        outside = (x[:, axis] < e[0]) | (x[:, axis] > e[-1])
        if outside.any():
            i = int(np.flatnonzero(outside)[0])
            msg = (
                f"{int(outside.sum())} point(s) lie outside grid_edges[{axis}] = "
                f"[{e[0]}, {e[-1]}], e.g. points[{i}] = {x[i].tolist()}"
            )
            raise InvalidInputError(msg)
    counts, _ = np.histogramdd(x, bins=edges)
    return counts / x.shape[0]
