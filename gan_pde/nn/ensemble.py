"""Ensembles of independent runs in one batched (``torch.func.vmap``) call."""

from __future__ import annotations

from typing import Any

from gan_pde._arrays import as_positive_int
from gan_pde.errors import InvalidInputError
from gan_pde.nn.run import ALGORITHMS, TrainingRun

__all__ = ["train_ensemble"]


def train_ensemble(algorithm: str, runs: int, /, *args: Any, **options: Any) -> TrainingRun:
    """Train ``runs`` independent runs of one trainer in a single vmapped call.

    Run r is seeded with ``seed + r`` and shares the data set (``data_seed``, default
    ``seed``), so member r equals ``trainer(..., seed=seed + r, data_seed=seed)`` up to the
    round-off of batched matrix products; the arrays of the result carry a leading axis
    of length ``runs`` (:meth:`TrainingRun.member` takes one out), for error bars.

    Parameters
    ----------
    algorithm
        ``"gan"``, ``"algorithm2"``, ``"particles"``, ``"wgan"`` or ``"lsgan"``.
    runs
        R ≥ 1.
    *args, **options
        The arguments of the trainer (:func:`~gan_pde.nn.train_gan`, ...), its
        ``checkpoint``, ``checkpoint_interval``, ``checkpoint_steps``, ``resume`` and
        ``trackers`` included: the checkpoint holds every member's parameters, optimiser
        state and generator, and a resumed ensemble equals an uninterrupted one bit for bit.

    Examples
    --------
    >>> import gan_pde as gp
    >>> rho = gp.Gaussian(mean=[0.5], cov=[[0.25]])
    >>> runs = train_ensemble("wgan", 4, rho, width=10, steps=5, n_data=100, n_eval=20,
    ...                       device="cpu")
    >>> runs.samples.shape
    (4, 6, 20, 1)
    """
    from gan_pde.nn import gan, lsgan, wgan

    trainers = {
        "gan": gan.train_gan,
        "algorithm2": gan.train_algorithm2,
        "particles": gan.train_particles,
        "wgan": wgan.train_wgan,
        "lsgan": lsgan.train_lsgan,
    }
    if algorithm not in trainers:
        msg = f"algorithm must be one of {ALGORITHMS}; got {algorithm!r}"
        raise InvalidInputError(msg)
    runs = as_positive_int(runs, "runs")
    if "runs" in options:
        msg = "pass the ensemble size as the argument runs, not as an option"
        raise InvalidInputError(msg)
    return trainers[algorithm](*args, runs=runs, **options)
