r"""Pure-function optimisers on parameter dictionaries (vmappable).

``state = init(params)``; ``params, state = update(params, grads, state)``.

* SGD: :math:`\theta \leftarrow \theta - \eta g`.
* Adam (Kingma & Ba 2015): :math:`m \leftarrow b_1 m + (1-b_1)g`,
  :math:`v \leftarrow b_2 v + (1-b_2)g^2`,
  :math:`\theta \leftarrow \theta - \eta\,\hat m/(\sqrt{\hat v} + \epsilon)` with the bias
  corrections :math:`\hat m = m/(1-b_1^t)`, :math:`\hat v = v/(1-b_2^t)`.
"""

from __future__ import annotations

from typing import Any

from gan_pde.errors import InvalidInputError
from gan_pde.nn._torch import require_torch
from gan_pde.nn.engine import tree_map

torch = require_torch()

__all__ = ["OPTIMIZERS", "Optimizer"]

OPTIMIZERS = ("sgd", "adam")


class Optimizer:
    """SGD or Adam with learning rate ``lr`` as pure functions.

    Examples
    --------
    >>> import torch
    >>> opt = Optimizer("sgd", lr=0.5)
    >>> p = {"w": torch.ones(2, dtype=torch.float64)}
    >>> p, s = opt.update(p, {"w": torch.ones(2, dtype=torch.float64)}, opt.init(p))
    >>> p["w"].tolist()
    [0.5, 0.5]
    """

    def __init__(
        self,
        name: str,
        *,
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ):
        if name not in OPTIMIZERS:
            msg = f"optimizer must be one of {OPTIMIZERS}; got {name!r}"
            raise InvalidInputError(msg)
        self.name = name
        self.lr = float(lr)
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = float(eps)

    def init(self, params: dict[str, Any]) -> dict[str, Any]:
        """Optimiser state: empty for SGD, moments and step count for Adam."""
        if self.name == "sgd":
            return {}
        zeros = tree_map(torch.zeros_like, params)
        first = params
        while isinstance(first, dict):
            first = next(iter(first.values()))
        return {
            "m": zeros,
            "v": tree_map(torch.zeros_like, params),
            "t": torch.zeros((), dtype=first.dtype, device=first.device),
        }

    def update(
        self, params: dict[str, Any], grads: dict[str, Any], state: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """One step along ``-grads``."""
        if self.name == "sgd":
            return tree_map(lambda p, g: p - self.lr * g, params, grads), state
        b1, b2 = self.betas
        t = state["t"] + 1.0
        m = tree_map(lambda m_, g: b1 * m_ + (1.0 - b1) * g, state["m"], grads)
        v = tree_map(lambda v_, g: b2 * v_ + (1.0 - b2) * g * g, state["v"], grads)
        c1 = 1.0 - b1**t
        c2 = 1.0 - b2**t
        new = tree_map(
            lambda p, m_, v_: p - self.lr * (m_ / c1) / (torch.sqrt(v_ / c2) + self.eps),
            params,
            m,
            v,
        )
        return new, {"m": m, "v": v, "t": t}
