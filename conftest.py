"""Shared test settings: one BLAS thread (see PERFORMANCE.md), Agg plots, and the
hypothesis profiles: ``ci`` (the default: a few seeded examples per property, fast) and
``slow`` (``pytest --hypothesis-profile=slow``: many random examples)."""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

from hypothesis import HealthCheck, settings  # noqa: E402 - after the thread settings

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
# ``ci`` is seeded (derandomize: the same examples in every run, so that a submission
# passes or fails on its own code, not on the draw); ``slow`` explores at random, and what
# it finds becomes a regression test (tests/test_properties.py has two).
settings.register_profile("ci", max_examples=6, derandomize=True, database=None, **_COMMON)
settings.register_profile("slow", max_examples=200, **_COMMON)


def pytest_configure(config):
    if config.getoption("hypothesis_profile", None) is None:
        settings.load_profile("ci")


def _has_torch() -> bool:
    import importlib.util

    return importlib.util.find_spec("torch") is not None


#: Without the optional torch extra, the docstring examples of the torch-only modules
#: cannot even be imported; their tests skip themselves (``pytest.importorskip``).
collect_ignore_glob = (
    []
    if _has_torch()
    else ["gan_pde/nn/*.py", "gan_pde/sde/scheduler.py", "gan_pde/sde/coefficients.py"]
)
