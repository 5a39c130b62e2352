"""TOML configurations validated into dataclasses.

Unknown keys, missing keys, wrong types and values out of range are
:class:`~gan_pde.errors.ConfigError` s that name the key as ``[section] key``, the file and
its line, the bad value and what to do.  A section class may define
``validate(self, key)``, called after its types are checked, where ``key(name)`` is that
description of the key ``name`` (see :func:`key_of`).  Every result carries the config
that produced it (``Config.to_dict``).
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import math
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gan_pde.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "DENSITY_KINDS",
    "DOMAIN_KINDS",
    "MAX_CELLS",
    "names_of",
    "bad_value",
    "DensityConfig",
    "key_of",
    "location_of",
    "option",
    "parse_config",
    "read_config_text",
    "DomainConfig",
    "SolverConfig",
    "SpectrumConfig",
    "bundled_config_names",
    "bundled_config_text",
    "load_spectrum_config",
]


class _Source:
    """The text of a TOML file, to point errors at a line."""

    def __init__(self, name: str, text: str):
        self.name = name
        self.lines = text.splitlines()

    def where(self, section: str, key: str | None = None) -> str:
        start = 0
        for i, line in enumerate(self.lines):
            if re.match(rf"^\s*\[\s*{re.escape(section)}\s*\]", line):
                start = i
                if key is None:
                    return f"{self.name}, line {i + 1}"
                break
        for i in range(start, len(self.lines)):
            if key is not None and re.match(rf"^\s*{re.escape(key)}\s*=", self.lines[i]):
                return f"{self.name}, line {i + 1}"
        return self.name


class _KeyNamer:
    """``key(name)``: ``"[section] name (file, line N)"``, for messages."""

    def __init__(self, section: str, source: _Source):
        self.section = section
        self.source = source

    def __call__(self, name: str) -> str:
        return f"[{self.section}] {name} ({self.source.where(self.section, name)})"


def config_values(table: Any) -> dict[str, Any]:
    """The values of a validated config section (without its private bookkeeping)."""
    return {k: v for k, v in vars(table).items() if not k.startswith("_")}


def key_of(table: Any, name: str) -> str:
    """``"[section] name (file, line N)"`` for a key of a validated config section.

    Falls back to ``"name"`` for a section built by hand (not by :func:`parse_config`).
    """
    namer = getattr(table, "_key_namer", None)
    return namer(name) if namer is not None else name


def location_of(table: Any, name: str) -> str:
    """``"file, line N"`` of a key of a validated config section (``""`` if unknown)."""
    namer = getattr(table, "_key_namer", None)
    return namer.source.where(namer.section, name) if namer is not None else ""


def bad_value(key: str, value: Any, problem: str) -> ConfigError:
    """``ConfigError("{key} = {value}: {problem}")``; ``key`` as ``validate`` receives it."""
    return ConfigError(f"{key} = {_show(value)}: {problem}")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _non_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, list):
        return any(_non_finite(v) for v in value)
    return False


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check(value: Any, expected: str) -> bool:
    if expected == "float":
        return _is_number(value)
    if expected == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if expected == "str":
        return isinstance(value, str)
    if expected == "bool":
        return isinstance(value, bool)
    if expected == "list[str]":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if expected == "list[float]":
        return isinstance(value, list) and all(_is_number(v) for v in value)
    if expected == "list[int]":
        return isinstance(value, list) and all(_check(v, "int") for v in value)
    if expected == "list[list[float]]":
        return isinstance(value, list) and all(_check(v, "list[float]") for v in value)
    if expected == "list[list[list[float]]]":
        return isinstance(value, list) and all(_check(v, "list[list[float]]") for v in value)
    if expected == "float|list[float]|list[list[float]]":
        return any(_check(value, t) for t in ("float", "list[float]", "list[list[float]]"))
    if expected == "float|list[float]":
        return any(_check(value, t) for t in ("float", "list[float]"))
    if expected == "float|list[list[float]]":
        return any(_check(value, t) for t in ("float", "list[list[float]]"))
    if expected == "list[float]|list[list[float]]":
        return any(_check(value, t) for t in ("list[float]", "list[list[float]]"))
    raise AssertionError(expected)


_TYPE_HINTS = {
    "cov": (
        " (a covariance matrix, one row per dimension: variances, not standard deviations, "
        "on the diagonal, e.g. cov = [[0.25]] for a 1-D std of 0.5)"
    ),
    "covs": " (one covariance matrix per component, e.g. covs = [[[0.25]], [[1.0]]])",
    "cells": " (whole numbers of cells per dimension, e.g. cells = [400], not 4e2)",
    "bounds": " (one [a, b] per dimension, e.g. bounds = [[-10.0, 10.0]])",
}


def _build(cls: type, table: Any, section: str, source: _Source):
    if not isinstance(table, dict):
        msg = f"[{section}] must be a table ({source.where(section)})"
        raise ConfigError(msg)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in table:
        if key not in fields:
            msg = (
                f"unknown key {key!r} in [{section}] ({source.where(section, key)}); "
                f"allowed keys: {', '.join(fields)}"
            )
            raise ConfigError(msg)
    values = {}
    for name, spec in fields.items():
        expected = spec.metadata["type"]
        if name not in table:
            if spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
                msg = f"missing key {name!r} in [{section}] ({source.where(section)})"
                raise ConfigError(msg)
            continue
        if not _check(table[name], expected):
            msg = (
                f"key {name!r} in [{section}] ({source.where(section, name)}) must be "
                f"{expected}; got {table[name]!r}{_TYPE_HINTS.get(name, '')}"
            )
            raise ConfigError(msg)
        if _non_finite(table[name]):
            msg = (
                f"[{section}] {name} ({source.where(section, name)}) = {_show(table[name])}: "
                "must be finite (no nan or inf)"
            )
            raise ConfigError(msg)
        values[name] = table[name]
    choices = {n: _resolve(f.metadata.get("choices")) for n, f in fields.items()}
    for name, allowed in choices.items():
        if allowed and name in values and values[name] not in allowed:
            msg = (
                f"key {name!r} in [{section}] ({source.where(section, name)}) must be one of "
                f"{allowed}; got {values[name]!r}"
            )
            raise ConfigError(msg)
    result = cls(**values)
    namer = _KeyNamer(section, source)
    object.__setattr__(result, "_key_namer", namer)
    validate = getattr(result, "validate", None)
    if validate is not None:
        validate(namer)
    return result


class names_of:  # noqa: N801 - used like a function in option(..., choices=names_of(...))
    """The allowed values of a config key, read from the constant of the code that uses them.

    ``option("str", "tr-bdf2", choices=names_of("gan_pde.flows.operator", "SCHEMES"))``
    makes the model's tuple the one list of names: a scheme added to the model is accepted
    by the config at once.  The module is imported only when a config is validated, so
    defining a config section (and ``gan-pde --help``) stays cheap.
    """

    def __init__(self, module: str, attribute: str):
        self.module, self.attribute = module, attribute

    def __call__(self) -> tuple[str, ...]:
        import importlib

        return tuple(getattr(importlib.import_module(self.module), self.attribute))

    def __repr__(self) -> str:
        return f"names_of({self.module!r}, {self.attribute!r})"


def _resolve(choices: Any) -> Any:
    """The allowed values of an option: a :class:`names_of` is read now."""
    return choices() if isinstance(choices, names_of) else choices


def option(type_: str, default: Any = dataclasses.MISSING, *, choices=None, factory=None):
    """A config dataclass field: its type name (checked), default and allowed values.

    Type names: ``float``, ``int``, ``str``, ``bool``, ``list[float]``, ``list[int]``,
    ``list[str]``, ``list[list[float]]``, ``list[list[list[float]]]``.  ``choices`` is a
    tuple of the allowed values, or :class:`names_of` a model's constant (preferred: one
    list of names for the code, the configs and the command line).
    """
    meta = {"type": type_, "choices": choices}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


#: The ``kind`` of a ``[density]`` table: the densities that :meth:`DensityConfig.build` makes.
DENSITY_KINDS = ("gaussian", "mixture", "uniform")
#: The ``kind`` of a ``[domain]`` table: a structured mesh, a mesh file or a bundled mesh.
DOMAIN_KINDS = ("interval", "rectangle", "box", "file", "bundled")

#: Most cells a ``[domain]`` may ask for (after ``refine``): far beyond what the solvers
#: finish on a workstation; a larger count is a typo (cells = [1000000000]) or a unit slip.
MAX_CELLS = 20_000_000
#: Most uniform refinements of a ``[domain]`` (each multiplies the cells by 2^dimension).
MAX_REFINE = 8
#: Tolerance on the sum of mixture weights, per weight (that of GaussianMixture).
WEIGHTS_ATOL = 1e-12


def _check_covariance(key: str, cov: list, dim: int) -> None:
    """A symmetric positive definite ``dim x dim`` matrix, else ConfigError naming ``key``."""
    import numpy as np

    if not _check(cov, "list[list[float]]"):
        raise bad_value(
            key,
            cov,
            f"must be a {dim} x {dim} matrix (a list of rows), or a number s² for s² times "
            "the identity",
        )
    if len(cov) != dim or any(len(row) != dim for row in cov):
        raise bad_value(
            key,
            cov,
            f"must be a {dim} x {dim} matrix (the dimension of the mean/means), "
            f"got {len(cov)} row(s) of lengths {[len(row) for row in cov]}",
        )
    matrix = np.asarray(cov, dtype=float)
    if not np.allclose(matrix, matrix.T, rtol=1e-12, atol=0.0):
        raise bad_value(key, cov, "must be symmetric (cov[i][j] == cov[j][i])")
    eigenvalues = np.linalg.eigvalsh(matrix)
    if not eigenvalues.min() > 0.0:
        raise bad_value(
            key,
            cov,
            f"must be positive definite, its eigenvalues are "
            f"{[float(f'{e:.6g}') for e in eigenvalues]}; variances (std squared) go on "
            "the diagonal and must be > 0, e.g. [[0.25]] for std 0.5",
        )


@dataclass(frozen=True)
class DensityConfig:
    """``[density]``: a Gaussian, a Gaussian mixture or a uniform box density."""

    kind: str = option("str", choices=DENSITY_KINDS)
    mean: list = option("float|list[float]", None)
    cov: list = option("float|list[list[float]]", None)
    means: list = option("list[float]|list[list[float]]", None)
    stds: list = option("list[float]", None)
    covs: list = option("list[list[list[float]]]", None)
    weights: list = option("list[float]", None)
    lower: list = option("list[float]", None)
    upper: list = option("list[float]", None)

    def _short_forms(self) -> None:
        """The 1-D short forms, as in Python (``Gaussian(mean=0.0, cov=1.0)``): ``mean`` a
        number, ``cov`` a number (the variance s²: s² times the identity, as scipy reads it; a
        flat list stays an error, it is too often a list of standard deviations), ``means`` a
        flat list of numbers (one 1-D component each); stored in the nested form."""
        if _is_number(self.mean):
            object.__setattr__(self, "mean", [float(self.mean)])
        if self.cov is not None and self.mean is not None:
            dim = len(self.mean)
            if _is_number(self.cov):
                eye = [[float(self.cov) if i == j else 0.0 for j in range(dim)] for i in range(dim)]
                object.__setattr__(self, "cov", eye)
        if self.means is not None and _check(self.means, "list[float]") and self.means:
            object.__setattr__(self, "means", [[float(m)] for m in self.means])

    def validate(self, key) -> None:
        """ConfigError naming the key for missing, mis-sized or out-of-range parameters."""
        self._short_forms()
        # a KDE table ([initial] of jsd-flow) draws its samples from the density of `source`
        kind = getattr(self, "source", None) if self.kind == "kde" else self.kind
        if kind == "gaussian":
            self._need(key, "mean", "cov")
            if not self.mean:
                raise bad_value(key("mean"), self.mean, "must hold at least one coordinate")
            _check_covariance(key("cov"), self.cov, len(self.mean))
        elif kind == "mixture":
            self._validate_mixture(key)
        elif kind == "uniform":
            self._need(key, "lower", "upper")
            if not self.lower or len(self.lower) != len(self.upper):
                raise bad_value(
                    key("upper"),
                    self.upper,
                    f"must have one entry per entry of lower = {self.lower} (non-empty)",
                )
            swapped = [
                i for i, (a, b) in enumerate(zip(self.lower, self.upper, strict=True)) if not a < b
            ]
            if swapped:
                raise bad_value(
                    key("lower"),
                    self.lower,
                    f"must be < upper = {self.upper} in every coordinate (not in coordinate "
                    f"{swapped[0]}); were lower and upper swapped?",
                )

    def _need(self, key, *names: str) -> None:
        for name in names:
            if getattr(self, name) is None:
                msg = f"{key(name)}: missing; kind = {self.kind!r} needs {', '.join(names)}"
                raise ConfigError(msg)

    def _validate_mixture(self, key) -> None:
        self._need(key, "means")
        means = self.means
        if not means or any(len(m) != len(means[0]) or not m for m in means):
            raise bad_value(
                key("means"), means, "must be a non-empty list of points of one dimension"
            )
        n, dim = len(means), len(means[0])
        if (self.stds is None) == (self.covs is None):
            msg = (
                f"{key('stds')}: give exactly one of stds (one standard deviation per "
                "component) or covs (one covariance matrix per component)"
            )
            raise ConfigError(msg)
        if self.stds is not None:
            if len(self.stds) != n:
                raise bad_value(key("stds"), self.stds, f"must have one entry per mean ({n})")
            if not all(s > 0 for s in self.stds):
                raise bad_value(
                    key("stds"),
                    self.stds,
                    "standard deviations must be > 0 (they are not "
                    "variances or covariances: give covs for a full covariance)",
                )
        else:
            if len(self.covs) != n:
                raise bad_value(key("covs"), self.covs, f"must have one matrix per mean ({n})")
            for i, cov in enumerate(self.covs):
                _check_covariance(f"{key('covs')}[{i}]", cov, dim)
        if self.weights is not None:
            if len(self.weights) != n:
                raise bad_value(key("weights"), self.weights, f"must have one entry per mean ({n})")
            if not all(0.0 <= w <= 1.0 for w in self.weights):
                raise bad_value(
                    key("weights"),
                    self.weights,
                    "every weight is a probability in [0, 1]; "
                    "give fractions (0.5), not percentages (50)",
                )
            total = math.fsum(self.weights)
            if abs(total - 1.0) > WEIGHTS_ATOL * n:
                raise bad_value(
                    key("weights"),
                    self.weights,
                    f"must sum to 1 (within {WEIGHTS_ATOL:.0e} per weight, as "
                    f"GaussianMixture requires), they sum to {total:.12g}",
                )

    def build(self):
        """The :class:`~gan_pde.densities.Density` this table describes."""
        from gan_pde import densities

        if self.kind == "gaussian":
            return densities.Gaussian(mean=self.mean, cov=self.cov)
        if self.kind == "mixture":
            return densities.GaussianMixture(
                means=self.means, stds=self.stds, covs=self.covs, weights=self.weights
            )
        return densities.Uniform(lower=self.lower, upper=self.upper)


_DOMAIN_DIMS = {"interval": 1, "rectangle": 2, "box": 3}


@dataclass(frozen=True)
class DomainConfig:
    """``[domain]``: a structured mesh (``bounds``, ``cells``) or a mesh file."""

    kind: str = option("str", choices=DOMAIN_KINDS)
    bounds: list = option("list[list[float]]", None)
    cells: list = option("list[int]", None)
    path: str = option("str", None)
    name: str = option("str", None)
    refine: int = option("int", 0)

    def validate(self, key) -> None:
        """ConfigError naming the key for missing, swapped or absurd sizes."""
        if not 0 <= self.refine <= MAX_REFINE:
            raise bad_value(
                key("refine"),
                self.refine,
                f"must be an integer in [0, {MAX_REFINE}] (uniform "
                "refinements, each multiplying the cells by 2^dimension)",
            )
        if self.kind == "file" and not self.path:
            raise ConfigError(f"{key('path')}: missing; kind = 'file' needs the mesh file path")
        if self.kind == "bundled":
            from gan_pde.mesh import available_bundled

            names = ", ".join(repr(n) for n in available_bundled())
            if not self.name:
                msg = f"{key('name')}: missing; kind = 'bundled' needs a mesh name: one of {names}"
                raise ConfigError(msg)
            if self.name not in available_bundled():
                raise bad_value(key("name"), self.name, f"no bundled mesh so named; use {names}")
        dim = _DOMAIN_DIMS.get(self.kind)
        if dim is None:
            return
        for name in ("bounds", "cells"):
            if getattr(self, name) is None:
                msg = (
                    f"[domain] kind={self.kind!r} needs 'bounds' and 'cells': "
                    f"{key(name)} is missing"
                )
                raise ConfigError(msg)
        if len(self.bounds) != dim or len(self.cells) != dim:
            msg = (
                f"[domain] kind={self.kind!r} needs {dim} bounds [a, b] and {dim} cell "
                f"counts; got bounds={self.bounds}, cells={self.cells} ({key('bounds')})"
            )
            raise ConfigError(msg)
        for i, pair in enumerate(self.bounds):
            if len(pair) != 2:
                raise bad_value(key("bounds"), self.bounds, f"entry {i} must be a pair [a, b]")
            if not pair[0] < pair[1]:
                raise bad_value(
                    key("bounds"),
                    self.bounds,
                    f"entry {i} must have a < b; got "
                    f"{pair}: write [{pair[1]:g}, {pair[0]:g}] if the two ends were swapped"
                    if pair[0] > pair[1]
                    else f"entry {i} is an empty range {pair}",
                )
        bad = [c for c in self.cells if c < 1]
        if bad:
            raise bad_value(key("cells"), self.cells, "every cell count must be >= 1")
        total = math.prod(self.cells) * 2 ** (dim * self.refine)
        if total > MAX_CELLS:
            raise bad_value(
                key("cells"),
                self.cells,
                f"{total:.3g} cells (refine = {self.refine}) is "
                f"more than the {MAX_CELLS:.0e} a config may ask for; use fewer cells",
            )

    def build(self):
        """The scikit-fem mesh this table describes."""
        from gan_pde import mesh

        if self.kind == "file":
            from gan_pde.errors import MeshError

            try:
                built = mesh.load(self.path)
            except MeshError as err:
                msg = f"{key_of(self, 'path')}: {err}"
                raise MeshError(msg) from err
        elif self.kind == "bundled":
            built = mesh.bundled(self.name)
        else:
            dim = _DOMAIN_DIMS[self.kind]
            if self.bounds is None or self.cells is None:
                msg = f"[domain] kind={self.kind!r} needs 'bounds' and 'cells'"
                raise ConfigError(msg)
            if len(self.bounds) != dim or len(self.cells) != dim:
                msg = (
                    f"[domain] kind={self.kind!r} needs {dim} bounds [a, b] and {dim} cell "
                    f"counts; got bounds={self.bounds}, cells={self.cells}"
                )
                raise ConfigError(msg)
            if dim == 1:
                built = mesh.interval(*self.bounds[0], n=self.cells[0])
            elif dim == 2:
                built = mesh.rectangle(*map(tuple, self.bounds), n=tuple(self.cells))
            else:
                built = mesh.box(*map(tuple, self.bounds), n=tuple(self.cells))
        if self.refine:
            total = built.t.shape[1] * 2 ** (built.dim() * self.refine)
            if total > MAX_CELLS:
                raise bad_value(
                    key_of(self, "refine"),
                    self.refine,
                    f"the mesh has {built.t.shape[1]} "
                    f"cells, refined {total:.3g}: more than the {MAX_CELLS:.0e} a config may "
                    "ask for; lower refine",
                )
            return built.refined(self.refine)
        return built


def _count_dofs(mesh, element: str) -> int:
    """Number of degrees of freedom of a P1/P2/Q1/Q2 element on ``mesh``."""
    nodes = mesh.p.shape[1]
    if element in ("P1", "Q1"):
        return nodes
    dim = mesh.dim()
    edges = (
        mesh.t.shape[1] if dim == 1 else (mesh.facets.shape[1] if dim == 2 else mesh.edges.shape[1])
    )
    if element == "P2":
        return nodes + edges
    interior = mesh.t.shape[1]
    faces = mesh.facets.shape[1] if dim == 3 else 0
    return nodes + edges + faces + interior  # Q2


@dataclass(frozen=True)
class SolverConfig:
    """``[solver]``: eigen-solver options."""

    k: int = option("int", 6)
    element: str = option("str", "P1", choices=names_of("gan_pde.fem.basis", "ELEMENT_NAMES"))
    method: str = option(
        "str", "auto", choices=names_of("gan_pde.spectral.weighted_laplacian", "METHODS")
    )
    tol: float = option("float", 1e-10)

    def validate(self, key) -> None:
        """ConfigError naming the key for k < 1 or a tolerance outside (0, 1)."""
        if self.k < 1:
            raise bad_value(
                key("k"), self.k, "must be >= 1 (the number of eigenpairs, the zero one included)"
            )
        if not 0.0 < self.tol < 1.0:
            raise bad_value(
                key("tol"), self.tol, "must be in (0, 1) (a relative tolerance, e.g. 1e-10)"
            )

    def check_mesh(self, mesh) -> None:
        """ConfigError naming ``[solver] k`` when it exceeds the degrees of freedom of ``mesh``."""
        if self.k > (n := _count_dofs(mesh, self.element)):
            raise bad_value(
                key_of(self, "k"),
                self.k,
                f"more eigenpairs than the {n} degrees of freedom "
                f"of {self.element} on this mesh; lower k or use more [domain] cells",
            )


@dataclass(frozen=True)
class SpectrumConfig:
    """The configuration of ``gan-pde spectrum``."""

    density: DensityConfig
    domain: DomainConfig
    solver: SolverConfig

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary (JSON/TOML-ready) of the configuration."""
        return dataclasses.asdict(self)


def parse_config(
    text: str, name: str, sections: dict[str, type], *, required: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Validate TOML text into one dataclass per section.

    Parameters
    ----------
    text, name
        The TOML text and a name for messages (usually the file path).
    sections
        Section name → dataclass whose fields are declared with :func:`option`.
    required
        Sections that must be present (the others get their defaults).

    Returns
    -------
    dict
        Section name → dataclass instance.
    """
    source = _Source(name, text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        msg = f"{name} is not valid TOML: {err}"
        raise ConfigError(msg) from err
    for key in data:
        if key not in sections:
            msg = (
                f"unknown section [{key}] ({source.where(key)}); allowed sections: "
                f"{', '.join(sections)}"
            )
            raise ConfigError(msg)
    for key in required:
        if key not in data:
            msg = f"{name} has no [{key}] section"
            raise ConfigError(msg)
    return {k: _build(cls, data.get(k, {}), k, source) for k, cls in sections.items()}


def read_config_text(path: str | Path | None, default: str) -> tuple[str, str]:
    """``(text, name)`` of a config file, or of the bundled config ``default`` if None."""
    if path is None:
        return bundled_config_text(default), f"bundled {default}.toml"
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except OSError as err:
        msg = f"cannot read config file {path}: {err}"
        raise ConfigError(msg) from err


def load_spectrum_config(path: str | Path | None = None) -> SpectrumConfig:
    """Read and validate a ``gan-pde spectrum`` config (the bundled default if None)."""
    text, name = read_config_text(path, "spectrum")
    sections = {"density": DensityConfig, "domain": DomainConfig, "solver": SolverConfig}
    return SpectrumConfig(**parse_config(text, name, sections, required=("density", "domain")))


def bundled_config_names() -> list[str]:
    """Names of the configs shipped with the package."""
    data = importlib.resources.files("gan_pde") / "data"
    return sorted(p.name[:-5] for p in data.iterdir() if p.name.endswith(".toml"))


def bundled_config_text(name: str) -> str:
    """The text of a bundled config (``gan-pde config show NAME``)."""
    names = bundled_config_names()
    if name not in names:
        msg = f"no bundled config named {name!r}; available: {', '.join(names)}"
        raise ConfigError(msg)
    return (importlib.resources.files("gan_pde") / "data" / f"{name}.toml").read_text("utf-8")
