r"""The learning-rate schedule of Remark 4.3 (paper 000) as a torch LR scheduler.

(FDR2) (Theorem 4.3) says that at the invariant measure of (SML-SDE)

.. math:: \mathbb E\big[\Theta^T g_\theta - \mathcal W^T g_\omega\big]
          = \beta^{-1}\,\mathbb E\,\mathrm{tr}(\Sigma_\theta + \Sigma_\omega),
          \qquad \beta = 2B/\eta .

The schedule estimates both sides on the current mini-batch (unbiased Σ̂ with B − 1) and,
when their ratio is within ε of 1 (training has reached its stationary regime at this η),
multiplies η by (1 − δ).  Importing this module needs torch.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from gan_pde.errors import InvalidInputError, NumericalBreakdownError
from gan_pde.sde._torch import require_torch

torch = require_torch()

__all__ = ["FDR2Scheduler", "fdr2_statistics", "train_sml"]


def fdr2_statistics(
    theta: Any, omega: Any, grads_theta: Any, grads_omega: Any, *, eta: float
) -> tuple[float, float]:
    """(θ^Tg_θ^B − ω^Tg_ω^B, β⁻¹ tr(Σ̂_θ + Σ̂_ω)) from ``(B, d)`` per-sample gradients.

    The two sides of (FDR2) on one batch; β = 2B/η; Σ̂ are the unbiased batch covariances
    of Remark 4.3.
    """
    batch = grads_theta.shape[0]
    if batch < 2:
        msg = f"the FDR2 ratio needs a batch of at least 2 per-sample gradients; got {batch}"
        raise InvalidInputError(msg)
    mean_t, mean_w = grads_theta.mean(0), grads_omega.mean(0)
    numerator = theta @ mean_t - omega @ mean_w
    trace = ((grads_theta - mean_t) ** 2).sum() / (batch - 1)
    trace = trace + ((grads_omega - mean_w) ** 2).sum() / (batch - 1)
    lhs, rhs = float(numerator), float(eta / (2 * batch) * trace)
    if not (math.isfinite(lhs) and math.isfinite(rhs)):
        msg = "the FDR2 statistics are NaN/Inf (NaN parameters or gradients)"
        raise NumericalBreakdownError(msg)
    return lhs, rhs


class FDR2Scheduler(torch.optim.lr_scheduler.LRScheduler):
    """Multiply every group's learning rate by (1 − δ) when |FDR2 ratio − 1| < ε.

    Call :meth:`observe` with the two sides of (FDR2) on the current batch
    (:func:`fdr2_statistics`) before :meth:`step`; the decision uses the ratio of their
    means over the last ``window`` batches, and after a decrease the window restarts (the
    dynamics must re-equilibrate at the new η).

    Parameters
    ----------
    optimizer
        A torch optimizer (e.g. SGD with a descending θ group and a ``maximize=True`` ω group).
    epsilon, delta
        Tolerance on the ratio and relative decrease of η (both in (0, 1)).
    window
        Number of observed ratios averaged before a decision.
    min_lr
        A decrease never takes a rate below this (finite, >= 0); a rate that starts
        below it is left unchanged (a decrease never raises a rate).
    """

    def __init__(
        self,
        optimizer: Any,
        *,
        epsilon: float = 0.1,
        delta: float = 0.5,
        window: int = 20,
        min_lr: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        for name, value in (("epsilon", epsilon), ("delta", delta)):
            if not (isinstance(value, (int, float)) and 0 < value < 1):
                msg = f"{name} must lie in (0, 1); got {value!r}"
                raise InvalidInputError(msg)
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            msg = f"window must be a positive integer; got {window!r}"
            raise InvalidInputError(msg)
        if (
            isinstance(min_lr, bool)
            or not isinstance(min_lr, numbers.Real)
            or not (math.isfinite(min_lr) and min_lr >= 0)
        ):
            msg = f"min_lr must be a finite number >= 0; got {min_lr!r}"
            raise InvalidInputError(msg)
        self.epsilon, self.delta, self.window, self.min_lr = epsilon, delta, window, min_lr
        self.lhs: list[float] = []
        self.rhs: list[float] = []
        self.decreases: list[int] = []
        super().__init__(optimizer, last_epoch)

    def observe(self, lhs: float, rhs: float) -> None:
        """Record one batch's θ^Tg_θ − ω^Tg_ω (``lhs``) and β⁻¹tr(Σ̂_θ + Σ̂_ω) (``rhs``)."""
        if not (math.isfinite(lhs) and math.isfinite(rhs)):
            msg = f"lhs and rhs must be finite; got {lhs!r}, {rhs!r}"
            raise InvalidInputError(msg)
        self.lhs.append(float(lhs))
        self.rhs.append(float(rhs))

    @property
    def ratio(self) -> float:
        """mean(lhs)/mean(rhs) over the current window (NaN before any observation)."""
        lhs, rhs = self.lhs[-self.window :], self.rhs[-self.window :]
        return sum(lhs) / sum(rhs) if lhs and sum(rhs) != 0 else math.nan

    def get_lr(self) -> list[float]:
        """The new learning rates: decreased when the windowed ratio is within ε of 1."""
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        if len(self.lhs) < self.window or not abs(self.ratio - 1) < self.epsilon:
            return lrs
        self.lhs.clear()
        self.rhs.clear()
        self.decreases.append(self.last_epoch)
        # a decrease never raises η: a group that starts below min_lr keeps its rate
        return [min(lr, max(self.min_lr, (1 - self.delta) * lr)) for lr in lrs]


def train_sml(
    sde: Any,
    gamma0: Any,
    *,
    eta: float,
    batch_size: int,
    steps: int,
    schedule: dict[str, Any] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """(SML) training with ``torch.optim.SGD`` (θ descends, ω ascends), optionally scheduled.

    ``schedule`` holds the keyword options of :class:`FDR2Scheduler` (None: constant η).
    Returns per-iteration arrays ``lr``, ``lhs``/``rhs`` (the two sides of (FDR2) on the
    batch, :func:`fdr2_statistics`), ``grad_norm``
    (‖∇Φ‖ of the full loss) and the final ``gamma``.
    """
    import numpy as np

    from gan_pde.sde.quadratic import check_batch, check_rate

    eta = check_rate(eta)
    batch = check_batch(batch_size, sde.n_samples)
    if batch < 2:
        msg = f"batch_size must be at least 2 for the FDR2 ratio; got {batch}"
        raise InvalidInputError(msg)
    p = sde.d_theta
    gamma0 = torch.as_tensor(gamma0, dtype=torch.float64)
    theta = torch.nn.Parameter(gamma0[:p].clone())
    omega = torch.nn.Parameter(gamma0[p:].clone())
    optimizer = torch.optim.SGD(
        [{"params": [theta]}, {"params": [omega], "maximize": True}], lr=eta
    )
    scheduler = FDR2Scheduler(optimizer, **schedule) if schedule is not None else None
    per_sample = torch.func.vmap(torch.func.grad(sde._term), in_dims=(None, 0, 0))
    generator = torch.Generator().manual_seed(int(seed))
    history: dict[str, list[float]] = {"lr": [], "lhs": [], "rhs": [], "grad_norm": []}
    for _ in range(int(steps)):
        idx = torch.randint(sde.n_samples, (batch,), generator=generator)
        gamma = torch.cat([theta.detach(), omega.detach()])
        grads = per_sample(gamma, sde.x_pairs[idx], sde.z_pairs[idx])
        mean = grads.mean(0)
        lr = optimizer.param_groups[0]["lr"]
        lhs, rhs = fdr2_statistics(gamma[:p], gamma[p:], grads[:, :p], grads[:, p:], eta=lr)
        theta.grad, omega.grad = mean[:p].clone(), mean[p:].clone()
        optimizer.step()
        if scheduler is not None:
            scheduler.observe(lhs, rhs)
            scheduler.step()
        if not bool(torch.isfinite(theta).all() and torch.isfinite(omega).all()):
            msg = "SML training diverged (NaN/Inf parameters): decrease eta"
            raise NumericalBreakdownError(msg)
        history["lr"].append(lr)
        history["lhs"].append(lhs)
        history["rhs"].append(rhs)
        history["grad_norm"].append(float(torch.linalg.norm(sde.gradient(gamma))))
    out: dict[str, Any] = {k: np.array(v) for k, v in history.items()}
    out["gamma"] = torch.cat([theta.detach(), omega.detach()]).numpy()
    out["decreases"] = list(scheduler.decreases) if scheduler is not None else []
    return out
