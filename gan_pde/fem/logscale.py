r"""The log-scaled representation of a large positive field, written once.

Where the density ratio :math:`v = \rho_0/\rho_d` of the JSD flow is astronomically large
(:math:`e^{3000}` in the tails of a narrow target under a wide initial density), v leaves
the double range while :math:`\ln(1 + v)` and the density :math:`u = \rho_d v` do not.  The
state is then carried as

.. math::

    z = (1 + v)\,e^{-a} - 1, \qquad \ln(1 + v) = a + \ln(1 + z),

with a per-dof scale :math:`a \ge 0` (:func:`log_scale_for`; ``None`` or 0 is the plain
representation z = v).  These functions convert between v, z, :math:`\ln(1+v)` and
:math:`\ln v` without overflow; they are the operations of
:class:`~gan_pde.flows.LogDiffusionOperator` and :class:`~gan_pde.flows.JSDFlow`, so their
results are bit for bit those of the code they replace.

Examples
--------
>>> import numpy as np
>>> log_v = np.array([0.0, 900.0])   # v = 1, and v = e^900 (beyond the double range)
>>> v = np.array([1.0, np.inf])
>>> scale, log1p_v = log_scale_for(log_v, plain_max=64.0)
>>> z = state_from_log1p(v, log1p_v, scale)
>>> bool(np.allclose(log1p_of_state(z, scale), log1p_v, rtol=1e-15))
True
>>> state_to_v(z, scale)[0], np.isinf(state_to_v(z, scale)[1])
(np.float64(1.0), np.True_)
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "choose_log_scale",
    "log1p_of_state",
    "log_scale_for",
    "log_v_from_log1p",
    "log_v_over_1p_v",
    "state_from_log1p",
    "state_to_v",
]


def log_scale_for(
    log_v: ArrayLike,
    *,
    plain_max: float,
    log_weights: ArrayLike | None = None,
    load_max: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""The scale a of a field given by :math:`\ln v` (:func:`choose_log_scale`), and
    :math:`\ln(1 + v)` itself (``logaddexp(0, ln v)``, exact for every v)."""
    log1p_v = np.logaddexp(0.0, np.asarray(log_v, dtype=float))
    scale = choose_log_scale(
        log1p_v, plain_max=plain_max, log_weights=log_weights, load_max=load_max
    )
    return scale, log1p_v


def choose_log_scale(
    log1p_v: ArrayLike,
    *,
    plain_max: float,
    log_weights: ArrayLike | None = None,
    load_max: float | None = None,
) -> np.ndarray:
    r"""The scale :math:`a = \max\bigl(0,\ \ln(1+v) - \text{plain\_max},\
    \min(\ln(1+v),\ \ln(1+v) + \ln w - \text{load\_max})\bigr)` of a field given by
    :math:`\ln(1+v)`.

    Below ``plain_max`` the scale is 0 (the state is v itself); above it the state keeps
    :math:`\ln(1+z) \le` ``plain_max``, so v up to :math:`e^{\text{plain\_max}}` and the
    squares of the Newton terms stay inside the double range.  With ``log_weights``
    (:math:`\ln w_i`, the size of the coefficients of equation i: the scaled lumped masses
    :math:`\hat m_i`) and ``load_max``, the terms :math:`w_i(1 + z_i)` of the scaled
    equations stay below :math:`e^{\text{load\_max}}` as well, as far as a ≤ ln(1+v)
    allows (a scale beyond ln(1 + v) would put z near −1, where it loses its digits; there
    the term is :math:`w_i` itself, as in the plain representation).  Non-finite
    ``log1p_v`` (v ≤ −1) gives a = 0.
    """
    lp = np.asarray(log1p_v, dtype=float)
    with np.errstate(invalid="ignore"):
        scale = np.maximum(0.0, lp - plain_max)
        if log_weights is not None and load_max is not None:
            by_load = np.minimum(lp, lp + np.asarray(log_weights, dtype=float) - load_max)
            scale = np.maximum(scale, by_load)
    return np.where(np.isfinite(scale), scale, 0.0)


def state_from_log1p(v: ArrayLike, log1p_v: ArrayLike, log_scale: ArrayLike) -> np.ndarray:
    r"""The state :math:`z = e^{\ln(1+v) - a} - 1` (``expm1``), and v itself where a = 0."""
    log_scale = np.asarray(log_scale)
    return np.where(log_scale > 0.0, np.expm1(np.asarray(log1p_v) - log_scale), v)


def log1p_of_state(z: np.ndarray, log_scale: np.ndarray | None) -> np.ndarray:
    r""":math:`\ln(1 + v) = a + \ln(1 + z)` of a state z (NaN where z ≤ −1, i.e. v ≤ −1)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        lp = np.log1p(np.where(z > -1.0, z, np.nan))
    return lp if log_scale is None else log_scale + lp


def state_to_v(z: np.ndarray, log_scale: np.ndarray | None) -> np.ndarray:
    r"""v of a state z: z where a = 0, :math:`\mathrm{expm1}(\ln(1+v))` elsewhere (+inf
    where v exceeds the double range)."""
    if log_scale is None:
        return z
    with np.errstate(over="ignore"):
        return np.where(log_scale > 0.0, np.expm1(log1p_of_state(z, log_scale)), z)


def log_v_over_1p_v(log1p_v: np.ndarray) -> np.ndarray:
    r""":math:`\ln\frac{v}{1+v} = \ln(1 - e^{-\ln(1+v)})` (``log(-expm1(-·))``), accurate for
    small and large v > 0 (−inf at v = 0, NaN for v < 0)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.log(-np.expm1(-log1p_v))


def log_v_from_log1p(log1p_v: np.ndarray) -> np.ndarray:
    r""":math:`\ln v = \ln(1+v) + \ln\frac{v}{1+v}` where v > 0, −inf elsewhere: exact also
    where v itself exceeds the double range."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(log1p_v > 0.0, log1p_v + log_v_over_1p_v(log1p_v), -np.inf)
