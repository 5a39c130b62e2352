r"""The learning-rate schedule of Remark 4.3 (paper 000) as a torch LR scheduler.

(FDR2) (Theorem 4.3) says that at the invariant measure of (SML-SDE)

.. math:: \mathbb E\big[\Theta^T g_\theta - \mathcal W^T g_\omega\big]
          = \beta^{-1}\,\mathbb E\,\mathrm{tr}(\Sigma_\theta + \Sigma_\omega),
          \qquad \beta = 2B/\eta .

The schedule estimates both sides on the current mini-batch (unbiased Σ̂ with B − 1) and,
when their ratio is within ε of 1 (training has reached its stationary regime at this η),
multiplies η by (1 − δ).  :func:`train_sml` trains (SML) with it on the stepping engine
(:class:`SMLStepper`, one iteration per step), with checkpoints and a bit-identical resume.
Importing this module needs torch.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gan_pde import engine
from gan_pde._arrays import as_non_negative, as_non_negative_int, as_positive_int, as_probability
from gan_pde.errors import InvalidInputError, NumericalBreakdownError
from gan_pde.sde._torch import require_torch
from gan_pde.sde.quadratic import check_batch, check_rate
from gan_pde.sde.simulate import _copy_generator, _load_generator, _sde_fingerprint

torch = require_torch()

__all__ = ["FDR2Scheduler", "SMLStepper", "fdr2_statistics", "train_sml"]


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
        epsilon = as_probability(epsilon, "epsilon")
        delta = as_probability(delta, "delta")
        window = as_positive_int(window, "window")
        min_lr = as_non_negative(min_lr, "min_lr")
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


class SMLStepper(engine.Stepper):
    """(SML) training with ``torch.optim.SGD`` as a :class:`gan_pde.engine.Stepper`: one step
    is one iteration on one mini-batch, and, with a schedule, one step of the
    :class:`FDR2Scheduler`.

    The state is plain data: θ and ω, the learning rates of the two parameter groups, the
    scheduler's window of observed (FDR2) sides, its decreases and epoch, and the torch
    generator of the batches.  A step loads it into the stepper's SGD optimiser (which keeps
    nothing else: no momentum) and scheduler, takes the iteration and reads the new state
    back, so the state it was given is unchanged and a checkpoint is a few arrays.  Only the
    last ``window`` observations are kept: the scheduler's decision reads no others.  Build
    it through :func:`train_sml`.
    """

    kind = "sde.train_sml"

    def __init__(
        self,
        sde: Any,
        gamma0: Any,
        *,
        eta: float,
        batch_size: int,
        schedule: Mapping[str, Any] | None,
        seed: int,
    ) -> None:
        self.sde, self.gamma0, self.eta, self.batch = sde, gamma0, eta, batch_size
        self.schedule = dict(schedule) if schedule is not None else None
        self.seed = int(seed)
        p = sde.d_theta
        self.theta = torch.nn.Parameter(gamma0[:p].clone())
        self.omega = torch.nn.Parameter(gamma0[p:].clone())
        self.optimizer = torch.optim.SGD(
            [{"params": [self.theta]}, {"params": [self.omega], "maximize": True}], lr=eta
        )
        self.scheduler = (
            FDR2Scheduler(self.optimizer, **self.schedule) if self.schedule is not None else None
        )
        self._first_epoch = self.scheduler.last_epoch if self.scheduler is not None else 0
        self._per_sample = torch.func.vmap(torch.func.grad(sde._term), in_dims=(None, 0, 0))

    def fingerprint(self) -> dict[str, Any]:
        return {
            **_sde_fingerprint(self.sde),
            "gamma0": self.gamma0.numpy(),
            "eta": self.eta,
            "batch_size": self.batch,
            "schedule": self.schedule,
            "seed": self.seed,
        }

    def initial_state(self) -> dict[str, Any]:
        p = self.sde.d_theta
        state: dict[str, Any] = {
            "theta": self.gamma0[:p].clone(),
            "omega": self.gamma0[p:].clone(),
            "lr": (self.eta,) * len(self.optimizer.param_groups),
            "generator": torch.Generator().manual_seed(self.seed),
        }
        if self.scheduler is not None:
            state.update(lhs=(), rhs=(), decreases=(), last_epoch=self._first_epoch)
        return state

    def step(
        self, state: Mapping[str, Any], t: float, dt: float
    ) -> tuple[dict[str, Any], dict[str, float]]:
        sde, theta, omega, optimizer, scheduler = (
            self.sde,
            self.theta,
            self.omega,
            self.optimizer,
            self.scheduler,
        )
        generator = _copy_generator(state["generator"])
        with torch.no_grad():
            theta.copy_(state["theta"])
            omega.copy_(state["omega"])
        for group, lr in zip(optimizer.param_groups, state["lr"], strict=True):
            group["lr"] = lr
        if scheduler is not None:
            scheduler.lhs, scheduler.rhs = list(state["lhs"]), list(state["rhs"])
            scheduler.decreases = list(state["decreases"])
            scheduler.last_epoch = int(state["last_epoch"])
        p = sde.d_theta
        idx = torch.randint(sde.n_samples, (self.batch,), generator=generator)
        gamma = torch.cat([theta.detach(), omega.detach()])
        grads = self._per_sample(gamma, sde.x_pairs[idx], sde.z_pairs[idx])
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
        new: dict[str, Any] = {
            "theta": theta.detach().clone(),
            "omega": omega.detach().clone(),
            "lr": tuple(float(group["lr"]) for group in optimizer.param_groups),
            "generator": generator,
        }
        if scheduler is not None:
            window = scheduler.window
            new.update(
                lhs=tuple(scheduler.lhs[-window:]),
                rhs=tuple(scheduler.rhs[-window:]),
                decreases=tuple(scheduler.decreases),
                last_epoch=scheduler.last_epoch,
            )
        grad_norm = float(torch.linalg.norm(sde.gradient(gamma)))
        return new, {"lr": lr, "lhs": lhs, "rhs": rhs, "grad_norm": grad_norm}

    def observe(self, state: Mapping[str, Any], t: float) -> dict[str, np.ndarray]:
        """γ = (θ, ω)."""
        return {"gamma": torch.cat([state["theta"], state["omega"]]).numpy()}

    def view(self, state: Mapping[str, Any]) -> Any:
        """Callbacks receive γ = (θ, ω) as a tensor."""
        return torch.cat([state["theta"], state["omega"]])

    def state_arrays(self, state: Mapping[str, Any]) -> dict[str, np.ndarray]:
        arrays = {
            "theta": state["theta"].numpy().copy(),
            "omega": state["omega"].numpy().copy(),
            "lr": np.array(state["lr"], dtype=float),
            "generator": engine.rng_state(state["generator"]),
        }
        if self.scheduler is not None:
            arrays.update(
                lhs=np.array(state["lhs"], dtype=float),
                rhs=np.array(state["rhs"], dtype=float),
                decreases=np.array(state["decreases"], dtype=np.int64),
                last_epoch=np.array(state["last_epoch"], dtype=np.int64),
            )
        return arrays

    def load_state(self, arrays: Mapping[str, np.ndarray]) -> dict[str, Any]:
        state: dict[str, Any] = {
            "theta": torch.from_numpy(np.array(arrays["theta"])),
            "omega": torch.from_numpy(np.array(arrays["omega"])),
            "lr": tuple(float(lr) for lr in arrays["lr"]),
            "generator": _load_generator(arrays["generator"]),
        }
        if self.scheduler is not None:
            state.update(
                lhs=tuple(float(v) for v in arrays["lhs"]),
                rhs=tuple(float(v) for v in arrays["rhs"]),
                decreases=tuple(int(v) for v in arrays["decreases"]),
                last_epoch=int(arrays["last_epoch"]),
            )
        return state


def train_sml(
    sde: Any,
    gamma0: Any,
    *,
    eta: float,
    batch_size: int,
    steps: int,
    schedule: dict[str, Any] | None = None,
    seed: int = 0,
    checkpoint: str | os.PathLike[str] | None = None,
    checkpoint_interval: float | None = 30.0,
    checkpoint_steps: int | None = None,
    resume: bool = False,
    trackers: Sequence[engine.Tracker] = (),
) -> dict[str, Any]:
    """(SML) training with ``torch.optim.SGD`` (θ descends, ω ascends), optionally scheduled.

    The iterations are the steps of :func:`gan_pde.engine.run` (:class:`SMLStepper`).

    Parameters
    ----------
    sde
        The loss and data (:class:`~gan_pde.sde.coefficients.GANSDE`).
    gamma0
        The start (θ, ω).
    eta, batch_size, steps
        Initial learning rate, batch size (≥ 2, for the FDR2 statistics) and number of
        iterations (≥ 0).
    schedule
        The keyword options of :class:`FDR2Scheduler` (None: constant η).
    seed
        Seed of the torch generator of the batches.
    checkpoint
        File to write the training state to (parameters, rates, the scheduler's window,
        the generator) every ``checkpoint_interval`` seconds of wall time and/or every
        ``checkpoint_steps`` iterations, and after the last.  None: no checkpoints.
    checkpoint_interval, checkpoint_steps
        Seconds (0: every iteration; None: by iterations) and iterations between
        checkpoints.
    resume
        Continue from ``checkpoint`` if it exists: the same batches are drawn, so the
        result is bit-identical to an uninterrupted run's.
    trackers
        More :class:`gan_pde.engine.Tracker` objects (callbacks receive ``(iteration, γ)``).

    Returns
    -------
    dict
        Per-iteration arrays ``lr``, ``lhs``/``rhs`` (the two sides of (FDR2) on the
        batch, :func:`fdr2_statistics`), ``grad_norm`` (‖∇Φ‖ of the full loss); the final
        ``gamma``; the iterations of the rate ``decreases``; ``info`` (the parameters and
        the engine's ``n_steps``, ``seconds``, ``resumed_from_step``, ``stop_reason``).
    """
    eta = check_rate(eta)
    batch = check_batch(batch_size, sde.n_samples)
    if batch < 2:
        msg = f"batch_size must be at least 2 for the FDR2 ratio; got {batch}"
        raise InvalidInputError(msg)
    steps = as_non_negative_int(steps, "steps")
    if schedule is not None and not isinstance(schedule, Mapping):
        msg = f"schedule must be a dict of FDR2Scheduler options or None; got {schedule!r}"
        raise InvalidInputError(msg)
    gamma0 = torch.as_tensor(gamma0, dtype=torch.float64)
    stepper = SMLStepper(sde, gamma0, eta=eta, batch_size=batch, schedule=schedule, seed=seed)
    iterations = np.arange(int(steps) + 1, dtype=float)
    saved = np.zeros(iterations.size, dtype=bool)
    saved[[0, -1]] = True
    tracking = engine.standard_trackers(
        checkpoint=checkpoint,
        checkpoint_interval=checkpoint_interval,
        checkpoint_steps=checkpoint_steps,
        resume=resume,
        trackers=trackers,
    )
    result = engine.run(stepper, grid=(iterations, saved), trackers=tracking, resume=resume)
    out: dict[str, Any] = {
        key: np.asarray(result.records.get(key, ()), dtype=float)
        for key in ("lr", "lhs", "rhs", "grad_norm")
    }
    out["gamma"] = result.observations["gamma"][-1]
    out["decreases"] = list(result.state.get("decreases", ()))
    out["info"] = {
        "eta": eta,
        "batch_size": batch,
        "schedule": stepper.schedule,
        "seed": int(seed),
        **result.info,
    }
    return out
