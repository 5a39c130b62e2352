"""Network runs beside PDE solutions: one time axis, one mesh, distances (numpy/scipy only).

- :mod:`gan_pde.compare.metrics`: exact 1D W₁/W₂ between sample sets, MMD², samples → a
  :class:`~gan_pde.densities.MeshDensity` (KDE or cloud-in-cell histogram), sample-to-PDE
  distances (L¹, JSD, W₁, W₂), neuron parameters → laws on a grid;
- :mod:`gan_pde.compare.timeaxis`: step k ↔ PDE time t = kε, interpolation of a PDE
  trajectory at the run's times, distances over time with error bars over runs.

The experiments that train networks (``gan_pde.compare.experiments``, torch) are resolved
lazily (PEP 562): importing this package never imports torch.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from gan_pde.compare.metrics import (
    DENSITY_METHODS,
    METRICS,
    distance_to_density,
    median_bandwidth,
    mmd,
    parameters_to_law,
    samples_to_density,
    w1,
    w2,
)
from gan_pde.compare.timeaxis import (
    RUN_METRICS,
    TimeAlignment,
    TimeAxis,
    align_times,
    distances_over_time,
    trajectory_at,
)

__all__ = [
    "DENSITY_METHODS",
    "METRICS",
    "RUN_METRICS",
    "TimeAlignment",
    "TimeAxis",
    "align_times",
    "distance_to_density",
    "distances_over_time",
    "median_bandwidth",
    "mmd",
    "parameters_to_law",
    "samples_to_density",
    "trajectory_at",
    "w1",
    "w2",
]
_EXPERIMENTS = "gan_pde.compare.experiments"


def _experiment_names() -> list[str]:
    """Public names of the experiments module (imported for it), or [] when it does not exist."""
    if importlib.util.find_spec(_EXPERIMENTS) is None:
        return []
    return list(getattr(importlib.import_module(_EXPERIMENTS), "__all__", []))


def __getattr__(name: str) -> Any:
    if name == "experiments":
        return importlib.import_module(_EXPERIMENTS)
    if not name.startswith("_") and importlib.util.find_spec(_EXPERIMENTS) is not None:
        module = importlib.import_module(_EXPERIMENTS)
        if name in getattr(module, "__all__", ()):
            return getattr(module, name)
    msg = f"module 'gan_pde.compare' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted(set(__all__) | set(_experiment_names()))
