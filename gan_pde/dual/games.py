"""Two-player losses for the dual metric flows of Turinici (paper 003).

A game is the pair of losses :math:`\\mathcal C = (\\mathcal C^x, \\mathcal C^y)` of (6): the
first player x minimises :math:`\\mathcal C^x(\\cdot, y)`, the second player y minimises
:math:`\\mathcal C^y(x, \\cdot)`.  The dual flow (7) is

.. math::

    x' = -\\nabla_x \\mathcal C^x(x, y), \\qquad y' = -\\nabla_y \\mathcal C^y(x, y).

:class:`EuclideanGame` takes the losses, their gradients and (optionally) their Hessians as
callables; :func:`oscillating_game` is the bilinear example (1)–(2) and :func:`tanh_game` a
smooth non-quadratic example whose proximal steps have no closed form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from gan_pde._arrays import as_non_negative
from gan_pde.errors import InvalidInputError, NumericalBreakdownError

__all__ = ["EuclideanGame", "oscillating_game", "tanh_game", "as_state"]

Loss = Callable[[np.ndarray, np.ndarray], float]
Gradient = Callable[[np.ndarray, np.ndarray], np.ndarray]


def as_state(value: ArrayLike, name: str, dim: int | None = None) -> np.ndarray:
    """A player's state as a finite float vector, or InvalidInputError naming ``name``."""
    try:
        arr = np.array(value, dtype=float, ndmin=1)
    except (TypeError, ValueError) as exc:
        msg = f"{name} must be a real vector; got {value!r}"
        raise InvalidInputError(msg) from exc
    if arr.ndim != 1 or (dim is not None and arr.size != dim):
        want = f"shape ({dim},)" if dim is not None else "a 1D vector"
        msg = f"{name} must be {want}; got shape {arr.shape}"
        raise InvalidInputError(msg)
    if not np.all(np.isfinite(arr)):
        msg = f"{name} must be finite; got {arr.tolist()}"
        raise InvalidInputError(msg)
    return arr


def _finite(value: np.ndarray | float, what: str, x: np.ndarray, y: np.ndarray):
    if not np.all(np.isfinite(value)):
        msg = f"{what} returned a non-finite value {value!r} at x={x.tolist()}, y={y.tolist()}"
        raise NumericalBreakdownError(msg)
    return value


def _shaped(value: np.ndarray, shape: tuple[int, ...], what: str) -> np.ndarray:
    if value.shape != shape:
        msg = f"{what} must return an array of shape {shape}; got shape {value.shape}"
        raise InvalidInputError(msg)
    return value


@dataclass(frozen=True)
class EuclideanGame:
    r"""Losses of two players with states :math:`x\in\mathbb R^{d_x}`, :math:`y\in\mathbb R^{d_y}`.

    Parameters
    ----------
    cost_x, cost_y
        :math:`\mathcal C^x(x, y)` and :math:`\mathcal C^y(x, y)` of (6), scalars.
    grad_x, grad_y
        :math:`\nabla_x \mathcal C^x(x, y)` and :math:`\nabla_y \mathcal C^y(x, y)`.
    hess_x, hess_y
        Optional Hessians :math:`\nabla^2_{xx}\mathcal C^x`, :math:`\nabla^2_{yy}\mathcal C^y`
        (the proximal steps then use a trust-region Newton method).
    dim_x, dim_y
        Dimensions of the two players.
    bilinear
        For games with :math:`\mathcal C^x(x,y) = -x^\top B(y - y_r)`,
        :math:`\mathcal C^y = -\mathcal C^x`: the coupling matrix B and the target
        :math:`y_r`; the proximal steps are then explicit (see :func:`oscillating_game`).
    name
        A label for figures and reports.

    Examples
    --------
    >>> game = oscillating_game(x_r=[1.0])
    >>> game.velocity(np.array([0.0]), np.array([2.0])).tolist()
    [1.0, -0.0]
    """

    cost_x: Loss
    cost_y: Loss
    grad_x: Gradient
    grad_y: Gradient
    dim_x: int
    dim_y: int
    hess_x: Gradient | None = None
    hess_y: Gradient | None = None
    bilinear: tuple[np.ndarray, np.ndarray] | None = None
    name: str = "game"

    def loss_x(self, x: np.ndarray, y: np.ndarray) -> float:
        """:math:`\\mathcal C^x(x, y)`, checked finite."""
        return float(_finite(self.cost_x(x, y), "cost_x", x, y))

    def loss_y(self, x: np.ndarray, y: np.ndarray) -> float:
        """:math:`\\mathcal C^y(x, y)`, checked finite."""
        return float(_finite(self.cost_y(x, y), "cost_y", x, y))

    def gradient_x(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """:math:`\\nabla_x\\mathcal C^x(x, y)`, checked finite."""
        value = _finite(np.asarray(self.grad_x(x, y), dtype=float), "grad_x", x, y)
        return _shaped(value, (self.dim_x,), "grad_x")

    def gradient_y(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """:math:`\\nabla_y\\mathcal C^y(x, y)`, checked finite."""
        value = _finite(np.asarray(self.grad_y(x, y), dtype=float), "grad_y", x, y)
        return _shaped(value, (self.dim_y,), "grad_y")

    def velocity(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The right-hand side of the dual flow (7), :math:`-(\\nabla_x\\mathcal C^x,
        \\nabla_y\\mathcal C^y)`, as one vector of length ``dim_x + dim_y``."""
        return -np.concatenate([self.gradient_x(x, y), self.gradient_y(x, y)])


def oscillating_game(x_r: ArrayLike) -> EuclideanGame:
    r"""The oscillating example (1)–(2): discriminator x, generator y, target :math:`x_r`.

    As in (1) and in the paper's Section 3 the discriminator is the first player:

    .. math::

        \mathcal C^x(x, y) = -x\cdot(y - x_r), \qquad \mathcal C^y(x, y) = x\cdot(y - x_r),

    so the dual flow (7) is :math:`x' = y - x_r`, :math:`y' = -x` (the extraction of (2)
    lost its minus sign), a rotation around :math:`(0, x_r)` that conserves
    :math:`|x|^2 + |y - x_r|^2` (in the issue's letters: generator :math:`\mathrm{gen}`,
    discriminator :math:`d`, the quantity :math:`|\mathrm{gen} - x_r|^2 + |d|^2`).
    """
    target = as_state(x_r, "x_r")
    dim = target.size
    eye = np.eye(dim)
    return EuclideanGame(
        cost_x=lambda x, y: -float(x @ (y - target)),
        cost_y=lambda x, y: float(x @ (y - target)),
        grad_x=lambda x, y: -(y - target),
        grad_y=lambda x, y: x.copy(),
        hess_x=lambda x, y: np.zeros((dim, dim)),
        hess_y=lambda x, y: np.zeros((dim, dim)),
        dim_x=dim,
        dim_y=dim,
        bilinear=(eye, target),
        name="oscillating (1)-(2)",
    )


def tanh_game(x_r: ArrayLike, *, damping: float = 0.5) -> EuclideanGame:
    r"""A smooth, non-quadratic game (discriminator x, generator y) with a damping a ≥ 0.

    .. math::

        \mathcal C^x(x, y) = \sum_i -x_i \tanh(y_i - x_{r,i}) + a \log\cosh x_i, \qquad
        \mathcal C^y(x, y) = \sum_i x_i \tanh(y_i - x_{r,i}) + a \log\cosh(y_i - x_{r,i}).

    Its dual flow (7), :math:`x' = \tanh(y - x_r) - a\tanh x`,
    :math:`y' = -x\,\mathrm{sech}^2(y - x_r) - a\tanh(y - x_r)`, spirals into
    :math:`(0, x_r)` for a > 0 (a rotation for a = 0, as (2)); the gradients are bounded and
    Lipschitz on bounded sets (the hypotheses of Lemma 1) and the proximal steps (8)–(9) are
    nonlinear equations solved numerically.
    """
    target = as_state(x_r, "x_r")
    a = as_non_negative(damping, "damping")
    dim = target.size

    def logcosh(u: np.ndarray) -> np.ndarray:
        return np.logaddexp(u, -u) - np.log(2.0)

    def sech2(u: np.ndarray) -> np.ndarray:
        return 1.0 - np.tanh(u) ** 2

    return EuclideanGame(
        cost_x=lambda x, y: float(np.sum(-x * np.tanh(y - target) + a * logcosh(x))),
        cost_y=lambda x, y: float(np.sum(x * np.tanh(y - target) + a * logcosh(y - target))),
        grad_x=lambda x, y: -np.tanh(y - target) + a * np.tanh(x),
        grad_y=lambda x, y: x * sech2(y - target) + a * np.tanh(y - target),
        hess_x=lambda x, y: np.diag(a * sech2(x)),
        hess_y=lambda x, y: np.diag(
            -2.0 * x * np.tanh(y - target) * sech2(y - target) + a * sech2(y - target)
        ),
        dim_x=dim,
        dim_y=dim,
        name=f"tanh game (a = {a:g})",
    )
