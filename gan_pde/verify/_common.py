"""Shared helpers of the built-in checks: figures and the papers' file names."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from typing import Any

PAPER_000 = "000_001297c5b8e8fac9.txt"
PAPER_001 = "001_9f936d9ea3539524.txt"
PAPER_002 = "002_23f38a2e8812e8cd.txt"
PAPER_003 = "003_7228486c1e8942b0.txt"
PAPER_004 = "004_b60ab6f9ea7d1f5e.txt"


def _png(figure: Any) -> bytes:
    """A matplotlib figure as PNG bytes."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return buffer.getvalue()


def _new_figure(**kwargs: Any) -> Any:
    """A pyplot-free figure (the Agg canvas; safe in threads and without a display)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(6.0, 3.6), layout="constrained", **kwargs)


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """torch on one thread while a check runs (its small tensors only lose to thread
    start-up; timings comparable, results reproducible); the caller's count restored."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
