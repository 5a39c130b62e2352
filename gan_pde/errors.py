"""The error vocabulary of gan_pde.

Every error the package raises on purpose derives from :class:`GanPdeError`, so a caller
can catch the package's errors in one clause.  The concrete classes also derive from the
matching built-in exception (``ValueError``, ``RuntimeError``, ``ImportError``) so that
generic code that catches those keeps working.
"""

from __future__ import annotations

__all__ = [
    "AccuracyWarning",
    "ConfigError",
    "GanPdeError",
    "IncompatibleCheckpointError",
    "InsufficientMemoryError",
    "InvalidDensityError",
    "InvalidInputError",
    "MeshError",
    "MissingDependencyError",
    "NotConvergedError",
    "NumericalBreakdownError",
    "ReproducibilityWarning",
    "SchedulerUnreachableError",
]


class GanPdeError(Exception):
    """Base class of every error raised on purpose by gan_pde."""


class InvalidInputError(GanPdeError, ValueError):
    """An argument has a wrong value, shape or type; the message names it."""


class InvalidDensityError(InvalidInputError):
    """A density is not positive, not normalisable or has invalid parameters."""


class MeshError(InvalidInputError):
    """A mesh is unreadable, degenerate (zero-volume cells) or inverted (folded cells)."""


class ConfigError(InvalidInputError):
    """A configuration file has unknown keys, wrong types or invalid values."""


class NotConvergedError(GanPdeError, RuntimeError):
    """An iterative solver (Newton, eigen-solver) did not reach its tolerance."""


class NumericalBreakdownError(GanPdeError, ArithmeticError):
    """A computation produced NaN/Inf or a singular system where none is expected."""


class MissingDependencyError(GanPdeError, ImportError):
    """An optional dependency (e.g. torch) is needed for this feature but not installed."""


class IncompatibleCheckpointError(GanPdeError, ValueError):
    """A checkpoint is damaged, of another format, or was written by a different run."""


class AccuracyWarning(UserWarning):
    """A result was computed but its accuracy is degraded (the message estimates how much)."""


class ReproducibilityWarning(UserWarning):
    """A result is as accurate as asked but will not be bit-identical to the run it
    continues (e.g. a checkpoint resumed with another linear-solver backend)."""


class InsufficientMemoryError(GanPdeError, MemoryError):
    """A requested computation would not fit in the memory available (checked beforehand)."""


class SchedulerUnreachableError(GanPdeError, ConnectionError):
    """The Dask scheduler at the given address did not answer in time."""
