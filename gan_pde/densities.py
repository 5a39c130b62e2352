r"""Probability densities on :math:`\mathbb{R}^d` consumed by the solvers.

Every density evaluates, on points ``x`` of shape ``(n, d)``,

.. math::

    \log\rho(x), \qquad \rho(x) = e^{\log\rho(x)}, \qquad \nabla\log\rho(x),

and draws samples with ``sample(n, rng)``; calling a density, ``rho(x)``, is ``rho.pdf(x)``.
Evaluation is done in log space throughout, so far in the tails (a Gaussian at
:math:`x = 10^3`, a mixture where every component underflows) ``log_pdf`` and
``grad_log_pdf`` stay finite and exact while ``pdf`` underflows cleanly to 0.

The classes are :class:`Gaussian`, :class:`GaussianMixture`, :class:`Uniform`, :class:`KDE`
(a Gaussian kernel density estimate from samples) and :class:`MeshDensity` (finite-element
degrees of freedom on a scikit-fem mesh).

One-dimensional densities take plain numbers where a nested list would be redundant:
``Gaussian(mean=0.0, cov=1.0)`` is ``Gaussian(mean=[0.0], cov=[[1.0]])``,
``GaussianMixture(means=[-2.0, 2.0], stds=[1.0, 1.0])`` (a flat list of means: one-dimensional
components) is ``GaussianMixture(means=[[-2.0], [2.0]], stds=[1.0, 1.0])`` and
``Uniform(lower=-1.0, upper=1.0)`` is ``Uniform(lower=[-1.0], upper=[1.0])``; the short and
the nested forms build identical densities.  A flat list that the other arguments contradict
(``GaussianMixture(means=[0.0, 1.0], covs=[np.eye(2)])``: two 1-D components or one 2-D
one?) is refused with both readings spelt out.
"""

from __future__ import annotations

import abc
import math
import weakref
from numbers import Integral
from typing import TYPE_CHECKING

import numpy as np
import scipy.linalg
import skfem
from scipy.special import logsumexp
from skfem.refdom import RefHex, RefLine, RefQuad, RefTet, RefTri

from gan_pde._arrays import as_finite_array, as_points
from gan_pde._repr import short_repr
from gan_pde.errors import InvalidDensityError, InvalidInputError, NumericalBreakdownError
from gan_pde.fem.function import locate

if TYPE_CHECKING:
    from numpy.typing import ArrayLike
    from skfem.assembly.form.form import FormExtraParams

__all__ = ["KDE", "Density", "Gaussian", "GaussianMixture", "MeshDensity", "Uniform"]

_LOG_2PI = math.log(2.0 * math.pi)

#: Bound on the temporary memory of one KDE evaluation chunk, in bytes.
_KDE_CHUNK_BYTES = 64 * 2**20

#: Largest number of rejection-sampling proposals drawn at once by MeshDensity.sample.
_MAX_PROPOSALS = 2**20

#: Relative safety margin on the lattice estimates of the rejection envelope.
_ENVELOPE_SAFETY = 1.05

#: Lattice resolution (points per axis) used to bound the reference basis functions.
_BASIS_LATTICE = {1: 1001, 2: 121, 3: 41}

_SIMPLEX_REFDOMS = (RefLine, RefTri, RefTet)
_BOX_REFDOMS = (RefQuad, RefHex)


# --------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------


def _float_array(value: ArrayLike, name: str) -> np.ndarray:
    """Convert an argument to a float array of any shape."""
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        msg = f"{name} must be a real array; got {value!r}: {exc}"
        raise InvalidInputError(msg) from exc


def _as_array(value: ArrayLike, name: str, shape: tuple[int | str, ...]) -> np.ndarray:
    """Convert an argument to a float array of the given shape.

    ``shape`` holds fixed lengths (ints) and free lengths (their names, e.g. ``"d"``).
    """
    arr = _float_array(value, name)
    ok = arr.ndim == len(shape) and all(
        isinstance(want, str) or got == want for got, want in zip(arr.shape, shape, strict=True)
    )
    if not ok:
        expected = "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"
        msg = f"{name} must have shape {expected}; got shape {arr.shape}"
        raise InvalidInputError(msg)
    return arr


def _as_parameter(value: ArrayLike, name: str, shape: tuple[int | str, ...]) -> np.ndarray:
    """Like :func:`_as_array`, and reject non-finite entries with InvalidDensityError."""
    arr = _as_array(value, name, shape)
    try:
        return as_finite_array(arr, name)
    except InvalidInputError as exc:  # the same message, as the error of a density
        raise InvalidDensityError(str(exc)) from None


def _as_vector(value: ArrayLike, name: str) -> np.ndarray:
    """A ``(d,)`` parameter as a float array; a scalar is a one-dimensional one, ``(1,)``."""
    arr = _float_array(value, name)
    return arr.reshape(1) if arr.ndim == 0 else arr


def _isotropic(variance: np.ndarray, d: int) -> np.ndarray:
    r"""The covariance :math:`s^2 I_d` of a scalar variance ``variance``, shape ``(d, d)``."""
    return np.diag(np.full(d, float(variance)))


#: A density's repr lists its exact parameters up to this many characters (solvers record it
#: in their results' ``info`` to say which density they solved for); longer ones (dozens of
#: mixture components, high dimension) are summarised in at most ``gan_pde._repr.LIMIT``.
_EXACT_REPR = 1000


def _short(text: str, density: Density, items: list[tuple[str, object]]) -> str:
    """``text`` if it is not too long, else a summary of ``items`` (:mod:`gan_pde._repr`)."""
    return text if len(text) <= _EXACT_REPR else short_repr(density, items)


def _cholesky(cov: np.ndarray, name: str) -> np.ndarray:
    """Lower Cholesky factor of a symmetric positive definite ``(d, d)`` matrix."""
    scale = float(np.max(np.abs(cov)))
    asym = float(np.max(np.abs(cov - cov.T)))
    if asym > 1e-12 * scale:
        msg = (
            f"{name} must be symmetric; max |{name} - {name}.T| = {asym:.3e} exceeds "
            f"1e-12 * max|{name}| = {1e-12 * scale:.3e}; got {cov.tolist()}"
        )
        raise InvalidDensityError(msg)
    sym = 0.5 * (cov + cov.T)
    try:
        return np.linalg.cholesky(sym)
    except np.linalg.LinAlgError:
        eigenvalues = np.linalg.eigvalsh(sym)
        msg = (
            f"{name} is not symmetric positive definite: its eigenvalues are "
            f"{eigenvalues.tolist()}; got {cov.tolist()}"
        )
        raise InvalidDensityError(msg) from None


def _log_normaliser(chol: np.ndarray) -> float:
    r""":math:`-\tfrac12\log\det(2\pi\Sigma)` from the Cholesky factor of :math:`\Sigma`."""
    d = chol.shape[0]
    return -float(np.sum(np.log(np.diag(chol)))) - 0.5 * d * _LOG_2PI


def _whiten(x: np.ndarray, chol: np.ndarray) -> np.ndarray:
    """:math:`z = L^{-1} x^T`, shape ``(d, n)``, for points ``x`` of shape ``(n, d)``."""
    return scipy.linalg.solve_triangular(chol, x.T, lower=True)


def _log_from_white(z: np.ndarray, log_norm: float) -> np.ndarray:
    r"""Gaussian log density :math:`c - \tfrac12\lvert z\rvert^2` from whitened points."""
    return log_norm - 0.5 * np.sum(z * z, axis=0)


#: Up to this dimension :func:`_gaussian_log` substitutes forward by hand, one coordinate
#: at a time over all points: 3–4× faster than LAPACK's triangular solve on (d, n) right-
#: hand sides with d ≤ 3 (n = 8e6 2D points: 0.04 s against 0.13 s), where the cost is
#: memory traffic and the points' transposition.
_SMALL_DIM = 4


def _gaussian_log(points: np.ndarray, mean: np.ndarray, chol: np.ndarray, log_norm: float):
    r""":math:`\ln\mathcal N(x; m, LL^\top) = c - \tfrac12\lvert L^{-1}(x - m)\rvert^2`
    for points of shape (n, d)."""
    d = chol.shape[0]
    if d > _SMALL_DIM:
        return _log_from_white(_whiten(points - mean, chol), log_norm)
    white = []
    squares = None
    for i in range(d):
        z = points[:, i] - mean[i]
        for j in range(i):
            z -= chol[i, j] * white[j]
        z /= chol[i, i]
        white.append(z)
        if squares is None:
            squares = z * z
        else:
            squares += z * z
    squares *= -0.5
    squares += log_norm
    return squares


def _grad_from_white(z: np.ndarray, chol: np.ndarray) -> np.ndarray:
    r"""Gaussian score :math:`-\Sigma^{-1}(x-m) = -L^{-T}z`, shape ``(n, d)``."""
    return -scipy.linalg.solve_triangular(chol, z, lower=True, trans="T").T


def _as_rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, Integral) and not isinstance(rng, bool) and rng >= 0):
        return np.random.default_rng(rng)
    msg = f"rng must be a numpy.random.Generator, a non-negative int seed or None; got {rng!r}"
    raise InvalidInputError(msg)


def _as_count(n: int) -> int:
    if isinstance(n, bool) or not isinstance(n, Integral) or n < 0:
        msg = f"n must be a non-negative int; got {n!r}"
        raise InvalidInputError(msg)
    return int(n)


def _readonly(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr


# --------------------------------------------------------------------------------------------
# base class
# --------------------------------------------------------------------------------------------


class Density(abc.ABC):
    r"""A probability density :math:`\rho` on :math:`\mathbb{R}^d`.

    Subclasses set the integer attribute ``dim`` and implement :meth:`log_pdf`,
    :meth:`grad_log_pdf` and :meth:`sample`; :meth:`pdf` is :math:`e^{\log\rho}`.

    Points are arrays of shape ``(n, d)``; for ``d == 1`` an array of shape ``(n,)`` is read
    as ``(n, 1)``.  For ``d > 1`` a single point must be passed as ``x[None, :]``: a 1-D
    array is rejected rather than guessed.  Non-finite coordinates raise
    :class:`~gan_pde.errors.InvalidInputError`.  Calling a density evaluates it: ``rho(x)``
    is ``rho.pdf(x)``, shape ``(n,)``, as calling an eigenfunction
    (:class:`~gan_pde.fem.FEMFunction`) is.

    Examples
    --------
    >>> rho = Gaussian(mean=[0.0, 0.0], cov=[[1.0, 0.0], [0.0, 1.0]])
    >>> rho.dim
    2
    >>> rho.pdf([[0.0, 0.0]]).round(6)
    array([0.159155])
    >>> rho([[0.0, 0.0]]).round(6)
    array([0.159155])
    """

    dim: int

    def __call__(self, x: ArrayLike) -> np.ndarray:
        r"""The density :math:`\rho(x)` at points ``x`` of shape ``(n, d)``: :meth:`pdf`."""
        return self.pdf(x)

    @abc.abstractmethod
    def log_pdf(self, x: ArrayLike) -> np.ndarray:
        r"""Log density :math:`\log\rho(x)` at points ``x`` of shape ``(n, d)``; shape ``(n,)``."""

    def pdf(self, x: ArrayLike) -> np.ndarray:
        r"""Density :math:`\rho(x) = e^{\log\rho(x)}`; shape ``(n,)``; 0 where it underflows."""
        return np.exp(self.log_pdf(x))

    @abc.abstractmethod
    def grad_log_pdf(self, x: ArrayLike) -> np.ndarray:
        r"""Score :math:`\nabla\log\rho(x)` at points ``x`` of shape ``(n, d)``; same shape."""

    @abc.abstractmethod
    def sample(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """Draw ``n`` independent samples, shape ``(n, d)``.

        ``rng`` is a :class:`numpy.random.Generator`, an int seed or ``None`` (fresh entropy);
        the same seed gives the same samples.
        """


# --------------------------------------------------------------------------------------------
# Gaussian family
# --------------------------------------------------------------------------------------------


class Gaussian(Density):
    r"""Multivariate normal density :math:`\mathcal N(m, \Sigma)`.

    .. math::

        \log\rho(x) = -\tfrac12 \lvert L^{-1}(x-m)\rvert^2 - \sum_i \log L_{ii}
            - \tfrac d2 \log 2\pi,
        \qquad \nabla\log\rho(x) = -\Sigma^{-1}(x-m),

    with :math:`\Sigma = LL^\top` the Cholesky factorisation (no inverse is formed).

    Parameters
    ----------
    mean
        Mean :math:`m`, shape ``(d,)``; a number is a one-dimensional mean (``d = 1``).
    cov
        Covariance :math:`\Sigma`, shape ``(d, d)``, symmetric (to 1e-12 relative to its
        largest entry) and positive definite.  A number :math:`s^2` is the covariance
        :math:`s^2 I` (so in 1D ``cov=1.0``, ``cov=[1.0]`` and ``cov=[[1.0]]`` agree).

    Raises
    ------
    InvalidInputError
        If the shapes are wrong or inconsistent.
    InvalidDensityError
        If ``cov`` is not finite, not symmetric or not positive definite.

    Examples
    --------
    >>> rho = Gaussian(mean=0.0, cov=1.0)  # the same as mean=[0.0], cov=[[1.0]]
    >>> float(rho.log_pdf([[0.0]])[0])  # -log(2 pi) / 2
    -0.9189385332046727
    >>> rho.grad_log_pdf([[2.0]])
    array([[-2.]])
    >>> rho.sample(5, rng=0).shape
    (5, 1)
    """

    def __init__(self, mean: ArrayLike, cov: ArrayLike) -> None:
        m = _as_parameter(_as_vector(mean, "mean"), "mean", ("d",))
        if m.size == 0:
            msg = "mean must have at least one entry; got shape (0,)"
            raise InvalidInputError(msg)
        d = m.shape[0]
        c = _float_array(cov, "cov")
        if c.ndim == 0:
            c = _isotropic(c, d)
        elif c.shape == (1,) and d == 1:
            c = c.reshape(1, 1)
        elif c.ndim == 1 and d > 1:
            msg = (
                f"cov must have shape ({d}, {d}) for a {d}-D mean; got shape {c.shape} (for a "
                f"diagonal covariance pass np.diag({c.tolist()}); a number s2 means s2 * I)"
            )
            raise InvalidInputError(msg)
        c = _as_parameter(c, "cov", (d, d))
        self.dim = d
        self._mean = _readonly(m)
        self._cov = _readonly(c)
        self._chol = _cholesky(c, "cov")
        self._log_norm = _log_normaliser(self._chol)

    @property
    def mean(self) -> np.ndarray:
        """Mean, shape ``(d,)`` (read-only)."""
        return self._mean

    @property
    def cov(self) -> np.ndarray:
        """Covariance matrix, shape ``(d, d)`` (read-only)."""
        return self._cov

    def log_pdf(self, x: ArrayLike) -> np.ndarray:
        return _gaussian_log(as_points(x, self.dim), self._mean, self._chol, self._log_norm)

    def grad_log_pdf(self, x: ArrayLike) -> np.ndarray:
        z = _whiten(as_points(x, self.dim) - self._mean, self._chol)
        return _grad_from_white(z, self._chol)

    def sample(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        count, gen = _as_count(n), _as_rng(rng)
        return self._mean + gen.standard_normal((count, self.dim)) @ self._chol.T

    def __repr__(self) -> str:
        text = f"Gaussian(mean={self._mean.tolist()}, cov={self._cov.tolist()})"
        return _short(text, self, [("dim", self.dim), ("mean", self._mean), ("cov", self._cov)])


def _log_sum_rows(terms: np.ndarray) -> np.ndarray:
    r""":math:`\log\sum_k e^{t_{kj}}` over the rows of a (K, n) array, without overflow.

    The same as ``scipy.special.logsumexp(terms, axis=0)`` for finite or −inf entries,
    about 2× faster for the few rows of a mixture (no generic axis handling); columns that
    are −inf throughout give −inf.
    """
    top = terms.max(axis=0)
    shift = np.where(np.isfinite(top), top, 0.0)
    total = np.exp(terms[0] - shift)
    for row in terms[1:]:
        total += np.exp(row - shift)
    with np.errstate(divide="ignore"):
        return np.where(np.isfinite(top), shift + np.log(total), top)


def _check_flat_means(means: np.ndarray, *, stds: object, covs: object, weights: object) -> None:
    """Refuse flat ``means`` when the other arguments contradict K one-dimensional components.

    A flat list of K > 1 numbers is read as K components in 1D; it could also be meant as one
    component in K dimensions.  If ``stds``, ``covs`` or ``weights`` do not fit the first
    reading, the input is ambiguous and the error shows both nested spellings.
    """
    k = means.shape[0]
    fits = {
        "stds": ((), (k,), (k, 1)),
        "covs": ((), (k,), (k, 1, 1)),
        "weights": ((k,),),
    }
    given = {"stds": stds, "covs": covs, "weights": weights}
    wrong = []
    for name, value in given.items():
        if value is None:
            continue
        try:
            shape = np.shape(value)
        except ValueError:
            continue
        if shape not in fits[name]:
            wrong.append(f"{name} of shape {shape}")
    if k < 2 or not wrong:
        return
    values = means.tolist()
    msg = (
        f"means={values} is ambiguous: a flat list reads as {k} one-dimensional components "
        f"(means={[[v] for v in values]}), but {' and '.join(wrong)} does not fit that "
        f"reading; for one {k}-dimensional component write means={[values]}, for {k} "
        "one-dimensional components give stds/covs/weights one entry per component"
    )
    raise InvalidInputError(msg)


class GaussianMixture(Density):
    r"""Finite mixture of Gaussians :math:`\rho = \sum_k w_k\,\mathcal N(m_k, \Sigma_k)`.

    Evaluated in log space,

    .. math::

        \log\rho(x) = \operatorname{logsumexp}_k\bigl(\log w_k + \log\mathcal N_k(x)\bigr),
        \qquad
        \nabla\log\rho(x) = -\sum_k r_k(x)\,\Sigma_k^{-1}(x - m_k),

    with responsibilities :math:`r_k = \exp(\log w_k + \log\mathcal N_k - \log\rho)`, so
    where every component underflows the gradient is still that of the dominant component.

    Parameters
    ----------
    means
        Component means :math:`m_k`, shape ``(K, d)`` (a list of lists).  A flat list of K
        numbers is K one-dimensional components (``[-2.0, 2.0]`` is ``[[-2.0], [2.0]]``), a
        number one such component; when ``stds``, ``covs`` or ``weights`` do not fit that
        reading, the flat list is refused as ambiguous (write one list per component).
    stds
        Standard deviations: shape ``(K,)`` for isotropic components
        (:math:`\Sigma_k = s_k^2 I`) or ``(K, d)`` for diagonal ones
        (:math:`\Sigma_k = \operatorname{diag}(s_{k}^2)`); positive.  A number is the same
        standard deviation for every component.
    covs
        Full covariances, shape ``(K, d, d)``, each symmetric positive definite; in 1D also
        the K variances, shape ``(K,)``; a number :math:`s^2` is :math:`s^2 I` for every
        component.  Exactly one of ``stds`` and ``covs`` must be given.
    weights
        Mixture weights, shape ``(K,)``, non-negative, summing to 1 within
        :math:`10^{-12}K` (they are not renormalised); zero weights are allowed.
        Default: uniform.

    Raises
    ------
    InvalidInputError
        If shapes are wrong or inconsistent, or both/neither of ``stds``/``covs`` are given.
    InvalidDensityError
        If a standard deviation is not positive, a covariance not SPD, or the weights are
        negative, all zero or do not sum to 1.

    Examples
    --------
    >>> rho = GaussianMixture(means=[-2.0, 2.0], stds=[1.0, 1.0], weights=[0.5, 0.5])
    >>> rho.n_components, rho.dim  # the same as means=[[-2.0], [2.0]]
    (2, 1)
    >>> rho.grad_log_pdf([[0.0], [1000.0]])  # symmetric at 0; nearest component far away
    array([[   0.],
           [-998.]])
    """

    def __init__(
        self,
        means: ArrayLike,
        *,
        stds: ArrayLike | None = None,
        covs: ArrayLike | None = None,
        weights: ArrayLike | None = None,
    ) -> None:
        m = _float_array(means, "means")
        if m.ndim == 0:
            m = m.reshape(1, 1)
        elif m.ndim == 1:
            _check_flat_means(m, stds=stds, covs=covs, weights=weights)
            m = m[:, None]
        m = _as_parameter(m, "means", ("K", "d"))
        n_comp, d = m.shape
        if n_comp == 0 or d == 0:
            msg = f"means must have shape (K, d) with K >= 1 and d >= 1; got shape {m.shape}"
            raise InvalidInputError(msg)
        if (stds is None) == (covs is None):
            given = "both" if stds is not None else "neither"
            msg = f"exactly one of stds and covs must be given; got {given}"
            raise InvalidInputError(msg)
        if stds is not None:
            chols, c = self._from_stds(stds, n_comp, d)
        else:
            c = _float_array(covs, "covs")
            if c.ndim == 0:
                c = np.broadcast_to(_isotropic(c, d), (n_comp, d, d))
            elif c.shape == (n_comp,) and d == 1:
                c = c[:, None, None]
            c = _as_parameter(c, "covs", (n_comp, d, d))
            chols = np.stack([_cholesky(c[k], f"covs[{k}]") for k in range(n_comp)])
        w = self._check_weights(weights, n_comp)
        self.dim = d
        self._means = _readonly(m)
        self._covs = _readonly(c)
        self._weights = _readonly(w)
        self._chols = chols
        with np.errstate(divide="ignore"):
            self._log_weights = np.log(w)
        self._log_norms = np.array([_log_normaliser(ch) for ch in chols])

    @staticmethod
    def _from_stds(stds: ArrayLike, n_comp: int, d: int) -> tuple[np.ndarray, np.ndarray]:
        s = _float_array(stds, "stds")
        if s.ndim == 0:
            s = np.full(n_comp, float(s))
        s = _as_parameter(s, "stds", (n_comp,) if s.ndim == 1 else (n_comp, d))
        if not (s > 0).all():
            msg = f"stds must be positive; got {s.tolist()}"
            raise InvalidDensityError(msg)
        diag = np.broadcast_to(s[:, None] if s.ndim == 1 else s, (n_comp, d))
        chols = np.zeros((n_comp, d, d))
        idx = np.arange(d)
        chols[:, idx, idx] = diag
        covs = np.zeros((n_comp, d, d))
        covs[:, idx, idx] = diag**2
        return chols, covs

    @staticmethod
    def _check_weights(weights: ArrayLike | None, n_comp: int) -> np.ndarray:
        if weights is None:
            return np.full(n_comp, 1.0 / n_comp)
        w = _as_parameter(weights, "weights", (n_comp,))
        if (w < 0).any():
            msg = f"weights must be non-negative; got {w.tolist()}"
            raise InvalidDensityError(msg)
        total = float(w.sum())
        if abs(total - 1.0) > 1e-12 * n_comp:
            msg = (
                f"weights must sum to 1 (within 1e-12 * K = {1e-12 * n_comp:.0e}); they sum "
                f"to {total!r}; got {w.tolist()} (normalise them yourself, e.g. w / w.sum())"
            )
            raise InvalidDensityError(msg)
        return w

    @property
    def means(self) -> np.ndarray:
        """Component means, shape ``(K, d)`` (read-only)."""
        return self._means

    @property
    def covs(self) -> np.ndarray:
        """Component covariances, shape ``(K, d, d)`` (read-only)."""
        return self._covs

    @property
    def weights(self) -> np.ndarray:
        """Mixture weights, shape ``(K,)`` (read-only)."""
        return self._weights

    @property
    def n_components(self) -> int:
        """Number of components K."""
        return self._weights.shape[0]

    def _log_terms(self, pts: np.ndarray) -> np.ndarray:
        r""":math:`\log w_k + \log\mathcal N_k(x)`, shape ``(K, n)`` (one row per component,
        so that the sum over the few components runs over contiguous rows)."""
        terms = np.empty((self.n_components, pts.shape[0]))
        for k in range(self.n_components):
            terms[k] = _gaussian_log(pts, self._means[k], self._chols[k], self._log_norms[k])
            terms[k] += self._log_weights[k]
        return terms

    def log_pdf(self, x: ArrayLike) -> np.ndarray:
        return _log_sum_rows(self._log_terms(as_points(x, self.dim)))

    def grad_log_pdf(self, x: ArrayLike) -> np.ndarray:
        pts = as_points(x, self.dim)
        terms = self._log_terms(pts)
        resp = np.exp(terms - _log_sum_rows(terms))
        grad = np.zeros_like(pts)
        for k in range(self.n_components):
            z = _whiten(pts - self._means[k], self._chols[k])
            grad += resp[k, :, None] * _grad_from_white(z, self._chols[k])
        return grad

    def sample(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        count, gen = _as_count(n), _as_rng(rng)
        comp = gen.choice(self.n_components, size=count, p=self._weights)
        z = gen.standard_normal((count, self.dim))
        out = np.empty((count, self.dim))
        for k in range(self.n_components):
            sel = comp == k
            out[sel] = self._means[k] + z[sel] @ self._chols[k].T
        return out

    def __repr__(self) -> str:
        text = (
            f"GaussianMixture(means={self._means.tolist()}, covs={self._covs.tolist()}, "
            f"weights={self._weights.tolist()})"
        )
        items = [("K", self.n_components), ("dim", self.dim), ("means", self._means)]
        return _short(text, self, [*items, ("covs", self._covs), ("weights", self._weights)])


class KDE(Density):
    r"""Gaussian kernel density estimate from samples :math:`s_1,\dots,s_n`.

    .. math::

        \rho(x) = \frac1n\sum_{j=1}^n \mathcal N(x;\, s_j, H),

    an equally weighted :class:`GaussianMixture` with common bandwidth matrix :math:`H`:

    - ``"scott"``: :math:`H = n^{-2/(d+4)}\,\hat C`,
    - ``"silverman"``: :math:`H = \bigl(n(d+2)/4\bigr)^{-2/(d+4)}\,\hat C`,
    - a float :math:`h > 0`: :math:`H = h^2 I` (an absolute kernel width; note that
      :class:`scipy.stats.gaussian_kde` reads a scalar as a factor of :math:`\hat C`
      instead),
    - a ``(d, d)`` SPD array: :math:`H` itself,

    where :math:`\hat C` is the unbiased sample covariance.  Evaluation whitens once with the
    Cholesky factor of :math:`H` and works through the evaluation points in chunks whose
    temporaries stay below 64 MB.  The automatic bandwidths agree with
    :class:`scipy.stats.gaussian_kde`.

    Parameters
    ----------
    samples
        Data, shape ``(n, d)`` with ``n >= 2`` (shape ``(n,)`` is read as ``(n, 1)``).
    bandwidth
        ``"scott"`` (default), ``"silverman"``, a positive float or a ``(d, d)`` SPD array.
        In 1D, ``bandwidth=[0.5]`` is refused as ambiguous: write ``0.5`` for the kernel width
        :math:`h` or ``[[0.25]]`` for :math:`H`.

    Raises
    ------
    InvalidInputError
        If there are fewer than 2 samples, shapes are wrong or ``bandwidth`` is unknown.
    InvalidDensityError
        If the samples are not finite, the sample covariance is singular (automatic
        bandwidths) or the bandwidth is not positive / not SPD.

    Examples
    --------
    >>> data = np.random.default_rng(0).normal(size=(500, 2))
    >>> kde = KDE(data, bandwidth="scott")
    >>> kde.pdf(np.zeros((1, 2))).shape
    (1,)
    >>> KDE([[0.0], [1.0]], bandwidth=0.5).bandwidth_matrix
    array([[0.25]])
    """

    def __init__(self, samples: ArrayLike, *, bandwidth: str | float | ArrayLike = "scott") -> None:
        data = np.reshape(samples, (-1, 1)) if np.ndim(samples) == 1 else samples
        s = _as_parameter(data, "samples", ("n", "d"))
        n, d = s.shape
        if n < 2 or d < 1:
            msg = f"samples must have shape (n, d) with n >= 2 and d >= 1; got shape {s.shape}"
            raise InvalidInputError(msg)
        h_mat = self._bandwidth_matrix(s, bandwidth)
        self.dim = d
        self._samples = _readonly(s)
        self._h = _readonly(h_mat)
        self._chol = _cholesky(h_mat, "bandwidth")
        self._white = _whiten(s, self._chol)
        self._log_norm = _log_normaliser(self._chol) - math.log(n)

    @staticmethod
    def _bandwidth_matrix(s: np.ndarray, bandwidth: str | float | ArrayLike) -> np.ndarray:
        n, d = s.shape
        if isinstance(bandwidth, str):
            factors = {
                "scott": n ** (-1.0 / (d + 4)),
                "silverman": (n * (d + 2) / 4.0) ** (-1.0 / (d + 4)),
            }
            if bandwidth not in factors:
                msg = (
                    f"bandwidth must be 'scott', 'silverman', a positive float or a (d, d) "
                    f"array; got {bandwidth!r}"
                )
                raise InvalidInputError(msg)
            cov = np.atleast_2d(np.cov(s, rowvar=False, ddof=1))
            try:
                np.linalg.cholesky(cov)
            except np.linalg.LinAlgError:
                msg = (
                    f"bandwidth={bandwidth!r} needs a non-singular sample covariance, but its "
                    f"eigenvalues are {np.linalg.eigvalsh(cov).tolist()} (samples are "
                    "collinear or repeated); pass an explicit bandwidth instead"
                )
                raise InvalidDensityError(msg) from None
            return factors[bandwidth] ** 2 * cov
        if np.ndim(bandwidth) == 0 and not isinstance(bandwidth, bool):
            h = float(_float_array(bandwidth, "bandwidth"))
            if not (math.isfinite(h) and h > 0):
                msg = f"bandwidth must be a positive finite float; got {bandwidth!r}"
                raise InvalidDensityError(msg)
            return h * h * np.eye(d)
        h_mat = _float_array(bandwidth, "bandwidth")
        if h_mat.shape == (1,) and d == 1:
            h = float(h_mat[0])
            msg = (
                f"bandwidth={h_mat.tolist()} is ambiguous for 1-D samples: write bandwidth={h!r} "
                f"for a kernel width h (H = h**2 = {h * h:.6g}) or bandwidth=[[{h!r}]] for H itself"
            )
            raise InvalidInputError(msg)
        return _as_parameter(h_mat, "bandwidth", (d, d))

    @property
    def samples(self) -> np.ndarray:
        """The data points, shape ``(n, d)`` (read-only)."""
        return self._samples

    @property
    def bandwidth_matrix(self) -> np.ndarray:
        """The kernel covariance H, shape ``(d, d)`` (read-only)."""
        return self._h

    def _log_and_grad(
        self, x: ArrayLike, *, with_grad: bool
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Log density and (if asked) score, evaluated in chunks of bounded memory."""
        pts = as_points(x, self.dim)
        n_samples = self._samples.shape[0]
        chunk = max(1, _KDE_CHUNK_BYTES // (8 * n_samples * (self.dim + 2)))
        log_pdf = np.empty(pts.shape[0])
        grad_white = np.empty((self.dim, pts.shape[0]))
        for start in range(0, pts.shape[0], chunk):
            sl = slice(start, start + chunk)
            diff = _whiten(pts[sl], self._chol)[:, :, None] - self._white[:, None, :]
            q = -0.5 * np.einsum("icj,icj->cj", diff, diff)
            log_pdf[sl] = logsumexp(q, axis=1)
            if with_grad:
                resp = np.exp(q - log_pdf[sl, None])
                grad_white[:, sl] = np.einsum("icj,cj->ic", diff, resp)
        log_pdf += self._log_norm
        if not with_grad:
            return log_pdf, None
        return log_pdf, _grad_from_white(grad_white, self._chol)

    def log_pdf(self, x: ArrayLike) -> np.ndarray:
        return self._log_and_grad(x, with_grad=False)[0]

    def grad_log_pdf(self, x: ArrayLike) -> np.ndarray:
        return self._log_and_grad(x, with_grad=True)[1]

    def sample(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        count, gen = _as_count(n), _as_rng(rng)
        idx = gen.integers(self._samples.shape[0], size=count)
        return self._samples[idx] + gen.standard_normal((count, self.dim)) @ self._chol.T

    def __repr__(self) -> str:
        text = f"KDE(n_samples={self._samples.shape[0]}, dim={self.dim}, H={self._h.tolist()})"
        items = [("n_samples", self._samples.shape[0]), ("dim", self.dim), ("H", self._h)]
        return _short(text, self, items)


# --------------------------------------------------------------------------------------------
# uniform
# --------------------------------------------------------------------------------------------


class Uniform(Density):
    r"""Uniform density on the closed box :math:`\prod_i [a_i, b_i]`.

    .. math::

        \log\rho(x) = \begin{cases} -\sum_i \log(b_i - a_i) & x \in \prod_i [a_i, b_i] \\
            -\infty & \text{otherwise,} \end{cases}
        \qquad \nabla\log\rho(x) = 0 .

    The gradient is returned as 0 everywhere, outside the box too, so that the uniform
    density acts as a constant weight (a plain Laplacian) in the weighted operators.

    Parameters
    ----------
    lower, upper
        Box corners :math:`a, b`, shape ``(d,)``, with :math:`a_i < b_i`.  Numbers are the
        end points of an interval (``d = 1``); a number beside a ``(d,)`` corner is the same
        bound in every coordinate.

    Raises
    ------
    InvalidInputError
        If the shapes differ or are not 1-D.
    InvalidDensityError
        If a bound is not finite or ``lower[i] >= upper[i]``.

    Examples
    --------
    >>> rho = Uniform(lower=[0.0, 0.0], upper=[2.0, 0.5])
    >>> rho.pdf([[1.0, 0.25], [3.0, 0.0]])
    array([1., 0.])
    >>> Uniform(lower=-1.0, upper=1.0)
    Uniform(lower=[-1.0], upper=[1.0])
    """

    def __init__(self, lower: ArrayLike, upper: ArrayLike) -> None:
        lo, hi = _float_array(lower, "lower"), _float_array(upper, "upper")
        if lo.ndim == 0 and hi.ndim == 1:
            lo = np.full(hi.shape, float(lo))
        elif hi.ndim == 0 and lo.ndim == 1:
            hi = np.full(lo.shape, float(hi))
        lo = _as_parameter(_as_vector(lo, "lower"), "lower", ("d",))
        if lo.size == 0:
            msg = "lower must have at least one entry; got shape (0,)"
            raise InvalidInputError(msg)
        hi = _as_parameter(_as_vector(hi, "upper"), "upper", lo.shape)
        bad = np.flatnonzero(lo >= hi)
        if bad.size:
            i = int(bad[0])
            msg = (
                f"lower must be < upper in every coordinate; coordinate {i} has "
                f"lower={float(lo[i])!r} >= upper={float(hi[i])!r}"
            )
            raise InvalidDensityError(msg)
        self.dim = lo.shape[0]
        self._lower = _readonly(lo)
        self._upper = _readonly(hi)
        self._log_volume = float(np.sum(np.log(hi - lo)))

    @property
    def lower(self) -> np.ndarray:
        """Lower corner, shape ``(d,)`` (read-only)."""
        return self._lower

    @property
    def upper(self) -> np.ndarray:
        """Upper corner, shape ``(d,)`` (read-only)."""
        return self._upper

    @property
    def volume(self) -> float:
        """Volume of the box."""
        return float(np.prod(self._upper - self._lower))

    def log_pdf(self, x: ArrayLike) -> np.ndarray:
        pts = as_points(x, self.dim)
        inside = ((pts >= self._lower) & (pts <= self._upper)).all(axis=1)
        return np.where(inside, -self._log_volume, -np.inf)

    def grad_log_pdf(self, x: ArrayLike) -> np.ndarray:
        return np.zeros_like(as_points(x, self.dim))

    def sample(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        count, gen = _as_count(n), _as_rng(rng)
        return gen.uniform(self._lower, self._upper, size=(count, self.dim))

    def __repr__(self) -> str:
        text = f"Uniform(lower={self._lower.tolist()}, upper={self._upper.tolist()})"
        return _short(text, self, [("lower", self._lower), ("upper", self._upper)])


# --------------------------------------------------------------------------------------------
# finite-element density
# --------------------------------------------------------------------------------------------


@skfem.LinearForm
def _basis_integral(v: np.ndarray, w: FormExtraParams) -> np.ndarray:
    return v


#: ∫φ_i dx of every basis function, per basis (weakly held: dropped with the basis).
_DOF_INTEGRALS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _dof_integrals(basis: skfem.CellBasis) -> np.ndarray:
    r""":math:`b_i = \int\varphi_i\,dx` with the basis's quadrature, computed once per basis.

    The integral of :math:`u_h = \sum_i u_i\varphi_i` is then :math:`b^\top u`: the same
    quadrature sum as integrating the interpolant (exact for the polynomial :math:`u_h`),
    in O(N) instead of an interpolation at every quadrature point (scikit-fem's
    ``interpolate`` sorts the dofs on each call: 1.4 s at 1e6 P1 dofs, paid for every
    density a trajectory builds).
    """
    try:
        return _DOF_INTEGRALS[basis]
    except KeyError:
        b = _readonly(np.asarray(_basis_integral.assemble(basis), dtype=float))
        _DOF_INTEGRALS[basis] = b
        return b


def _reference_lattice(refdom: type, per_axis: int) -> np.ndarray:
    """Regular lattice of points in a reference cell, shape ``(dim, m)``."""
    dim = refdom.dim()
    axes = np.meshgrid(*([np.linspace(0.0, 1.0, per_axis)] * dim), indexing="ij")
    pts = np.stack([a.ravel() for a in axes])
    if issubclass(refdom, _SIMPLEX_REFDOMS):
        pts = pts[:, pts.sum(axis=0) <= 1.0 + 1e-14]
    return pts


class MeshDensity(Density):
    r"""Density given by finite-element degrees of freedom on a mesh.

    .. math::

        u(x) = \sum_i u_i\,\phi_i(x), \qquad
        \rho(x) = \max\bigl(u(x), 0\bigr) \text{ on the mesh}, \quad 0 \text{ outside},
        \qquad \nabla\log\rho = \nabla u / u \ (0 \text{ where } u \le 0).

    The dof values must be non-negative (negatives down to :math:`-10^{-12}\max u_i` are
    round-off and are clipped to 0) and the mass :math:`\int u\,dx` (by the basis quadrature)
    positive and finite.  It must be 1 to within :math:`10^{-8}` relative unless
    ``normalize=True``, which divides the values by it.  Quadratic elements can dip slightly
    below 0 between non-negative nodal values; :meth:`pdf` clips such dips to 0 (so ``log_pdf``
    is :math:`-\infty` there) and :meth:`sample` draws from the clipped function.

    Points outside the mesh have ``pdf`` 0, ``log_pdf`` :math:`-\infty` and a zero gradient.

    Parameters
    ----------
    basis
        A scalar scikit-fem ``CellBasis`` with an :math:`H^1` (Lagrange-type) element, e.g.
        ``skfem.Basis(mesh, skfem.ElementTriP1())``.
    values
        The dof vector, shape ``(basis.N,)``.
    normalize
        Divide the values by their mass so that the density integrates to 1.

    Raises
    ------
    InvalidInputError
        If ``basis`` is not a scalar H1 ``CellBasis`` or ``values`` has the wrong length.
    InvalidDensityError
        If a value is not finite or negative, or the mass is not positive and finite, or
        differs from 1 while ``normalize`` is False.

    Examples
    --------
    >>> mesh = skfem.MeshLine(np.linspace(-8.0, 8.0, 401))
    >>> basis = skfem.Basis(mesh, skfem.ElementLineP1())
    >>> rho = MeshDensity.from_density(Gaussian(mean=[0.0], cov=[[1.0]]), basis)
    >>> round(rho.mass, 12)
    1.0
    >>> rho.pdf([[0.0], [9.0]]).round(6)  # the second point is outside the mesh
    array([0.398942, 0.      ])
    >>> rho([0.0, 9.0]).round(6)  # calling it is rho.pdf; in 1D points may be flat
    array([0.398942, 0.      ])
    """

    def __init__(
        self, basis: skfem.CellBasis, values: ArrayLike, *, normalize: bool = False
    ) -> None:
        if not isinstance(basis, skfem.CellBasis) or not isinstance(basis.elem, skfem.ElementH1):
            msg = (
                "basis must be a scikit-fem CellBasis with a scalar H1 element (e.g. "
                f"skfem.Basis(mesh, skfem.ElementTriP1())); got {basis!r}"
            )
            raise InvalidInputError(msg)
        if basis.tind is not None:
            msg = (
                "basis must cover the whole mesh; got a basis restricted to "
                f"{len(basis.tind)} of {basis.mesh.t.shape[1]} cells"
            )
            raise InvalidInputError(msg)
        v = _as_array(values, "values", (basis.N,))
        bad = np.flatnonzero(~np.isfinite(v))
        if bad.size:
            i = int(bad[0])
            msg = (
                f"values must be finite; values[{i}] = {float(v[i])!r} at "
                f"{basis.doflocs[:, i].tolist()} ({bad.size} non-finite value(s) in total)"
            )
            raise InvalidDensityError(msg)
        i = int(np.argmin(v))
        if v[i] < -1e-12 * max(float(v.max()), 0.0):
            msg = (
                f"values must be non-negative; the most negative is values[{i}] = {float(v[i])!r} "
                f"at {basis.doflocs[:, i].tolist()}"
            )
            raise InvalidDensityError(msg)
        v = np.maximum(v, 0.0)
        integrals = _dof_integrals(basis)
        mass = float(integrals @ v)
        if not (math.isfinite(mass) and mass > 0.0):
            msg = (
                f"the mass of values (the integral of u) must be positive and finite; got {mass!r}"
            )
            raise InvalidDensityError(msg)
        if normalize:
            v = v / mass
            mass = float(integrals @ v)
        elif abs(mass - 1.0) > 1e-8:
            msg = (
                f"values must integrate to 1 (within 1e-8); their mass is {mass!r}; pass "
                "normalize=True to divide them by it"
            )
            raise InvalidDensityError(msg)
        self.dim = basis.mesh.dim()
        self._basis = basis
        self._values = _readonly(v)
        self._mass = mass

    @classmethod
    def from_density(
        cls, density: Density, basis: skfem.CellBasis, *, normalize: bool = True
    ) -> MeshDensity:
        r"""Nodal interpolant :math:`u_i = \rho(x_i)` of ``density`` at ``basis.doflocs``.

        Examples
        --------
        >>> mesh = skfem.MeshTri.init_tensor(np.linspace(-6, 6, 31), np.linspace(-6, 6, 31))
        >>> rho = Gaussian(mean=[0.0, 0.0], cov=np.eye(2))
        >>> MeshDensity.from_density(rho, skfem.Basis(mesh, skfem.ElementTriP2())).dim
        2
        """
        if not isinstance(basis, skfem.CellBasis):
            msg = f"basis must be a scikit-fem CellBasis; got {basis!r}"
            raise InvalidInputError(msg)
        if density.dim != basis.mesh.dim():
            msg = (
                f"density.dim = {density.dim} does not match the mesh dimension {basis.mesh.dim()}"
            )
            raise InvalidInputError(msg)
        return cls(basis, density.pdf(basis.doflocs.T), normalize=normalize)

    @property
    def basis(self) -> skfem.CellBasis:
        """The scikit-fem basis."""
        return self._basis

    @property
    def mesh(self) -> skfem.Mesh:
        """The mesh of the basis."""
        return self._basis.mesh

    @property
    def values(self) -> np.ndarray:
        """The dof vector (clipped and, if asked, normalised), shape ``(basis.N,)``."""
        return self._values

    @property
    def mass(self) -> float:
        r"""Mass :math:`\int u\,dx` of the stored values.

        1 up to round-off when ``normalize=True``, within 1e-8 of 1 otherwise.
        """
        return self._mass

    def _evaluate(self, cells: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """FE function and gradient at reference points ``ref`` (dim, m, 1) of ``cells``."""
        basis = self._basis
        u = np.zeros(cells.shape[0])
        grad = np.zeros((self.dim, cells.shape[0]))
        for k in range(basis.Nbfun):
            field = basis.elem.gbasis(basis.mapping, ref, k, tind=cells)[0]
            coef = self._values[basis.element_dofs[k, cells]]
            u += coef * np.asarray(field)[:, 0]
            grad += coef * field.grad[:, :, 0]
        return u, grad

    def _at_points(self, x: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Clipped u and its gradient at points; 0 outside the mesh and where u <= 0."""
        pts = as_points(x, self.dim)
        cells = locate(self.mesh, pts)
        inside = np.flatnonzero(cells >= 0)
        u = np.zeros(pts.shape[0])
        grad = np.zeros((pts.shape[0], self.dim))
        if inside.size:
            c = cells[inside]
            ref = self._basis.mapping.invF(pts[inside].T[:, :, None], tind=c)
            u_in, grad_in = self._evaluate(c, ref)
            positive = u_in > 0.0
            u[inside] = np.where(positive, u_in, 0.0)
            grad[inside] = np.where(positive[:, None], grad_in.T, 0.0)
        return u, grad

    def pdf(self, x: ArrayLike) -> np.ndarray:
        return self._at_points(x)[0]

    def log_pdf(self, x: ArrayLike) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.log(self.pdf(x))

    def grad_log_pdf(self, x: ArrayLike) -> np.ndarray:
        u, grad = self._at_points(x)
        out = np.zeros_like(grad)
        np.divide(grad, u[:, None], out=out, where=u[:, None] > 0.0)
        return out

    def _envelope(self) -> np.ndarray:
        r"""Per-cell bound :math:`B_c \ge \max_{X} u(F_c(X))\,\lvert\det DF_c(X)\rvert`.

        :math:`B_c = \Lambda \max_i |u_i| \cdot \max|\det DF_c|`, with the Lebesgue-type
        constant :math:`\Lambda = \max_X \sum_k |\hat\phi_k(X)|` of the reference basis and
        both maxima taken over lattices and enlarged by 5 %.
        """
        basis = self._basis
        refdom = basis.elem.refdom
        lattice = _reference_lattice(refdom, _BASIS_LATTICE[self.dim])
        lebesgue = np.sum(
            [np.abs(basis.elem.lbasis(lattice, k)[0]) for k in range(basis.Nbfun)], axis=0
        ).max()
        jac = np.abs(basis.mapping.detDF(_reference_lattice(refdom, 3))).max(axis=1)
        top = self._values[basis.element_dofs].max(axis=0)
        return _ENVELOPE_SAFETY * lebesgue * top * jac

    def sample(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        r"""Draw ``n`` samples by rejection from a cell-wise constant envelope.

        A cell :math:`c` is chosen with probability :math:`\propto B_c` (see the envelope
        below), a point :math:`X` uniformly in the reference cell, and it is accepted with
        probability :math:`\max(u, 0)\,\lvert\det DF_c(X)\rvert / B_c`.  The accepted points
        are exact draws from :math:`\max(u,0)/\!\int\max(u,0)`.  If the envelope is ever
        exceeded (which would bias the draw), :class:`~gan_pde.errors.NumericalBreakdownError`
        is raised.

        Supported reference cells: lines, triangles, tetrahedra, quadrilaterals, hexahedra.
        """
        count, gen = _as_count(n), _as_rng(rng)
        refdom = self._basis.elem.refdom
        if not issubclass(refdom, _SIMPLEX_REFDOMS + _BOX_REFDOMS):
            msg = f"sampling is not implemented for cells of type {refdom.__name__}"
            raise InvalidInputError(msg)
        simplex = issubclass(refdom, _SIMPLEX_REFDOMS)
        bound = self._envelope()
        ref_volume = 1.0 / math.factorial(self.dim) if simplex else 1.0
        acceptance = self._mass / (bound.sum() * ref_volume)
        prob = bound / bound.sum()
        out = np.empty((count, self.dim))
        filled = 0
        while filled < count:
            m = min(_MAX_PROPOSALS, math.ceil(1.2 * (count - filled) / acceptance) + 64)
            cells = gen.choice(prob.shape[0], size=m, p=prob)
            if simplex:
                e = gen.standard_exponential((self.dim + 1, m))
                ref = (e[:-1] / e.sum(axis=0))[:, :, None]
            else:
                ref = gen.random((self.dim, m))[:, :, None]
            target = self._evaluate(cells, ref)[0]
            target *= np.abs(self._basis.mapping.detDF(ref, tind=cells)[:, 0])
            excess = target / bound[cells]
            if excess.max() > 1.0:
                msg = (
                    f"MeshDensity.sample: the rejection envelope is exceeded by a factor "
                    f"{excess.max():.6f} in cell {int(cells[np.argmax(excess)])}; the samples "
                    "would be biased"
                )
                raise NumericalBreakdownError(msg)
            accepted = gen.random(m) < excess
            x = self._basis.mapping.F(ref[:, accepted], tind=cells[accepted])[:, :, 0].T
            take = min(x.shape[0], count - filled)
            out[filled : filled + take] = x[:take]
            filled += take
        return out

    def __repr__(self) -> str:
        return (
            f"MeshDensity({type(self.mesh).__name__} with {self.mesh.t.shape[1]} cells, "
            f"{type(self._basis.elem).__name__}, N={self._basis.N}, mass={self._mass!r})"
        )
