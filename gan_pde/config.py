"""TOML configurations validated into dataclasses.

Unknown keys, missing keys and wrong types are :class:`~gan_pde.errors.ConfigError` s that
name the key, the file and its line.  Every result carries the config that produced it
(``Config.to_dict``).
"""

from __future__ import annotations

import dataclasses
import importlib.resources
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
    "DensityConfig",
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
    raise AssertionError(expected)


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
                f"{expected}; got {table[name]!r}"
            )
            raise ConfigError(msg)
        values[name] = table[name]
    choices = {n: f.metadata.get("choices") for n, f in fields.items()}
    for name, allowed in choices.items():
        if allowed and name in values and values[name] not in allowed:
            msg = (
                f"key {name!r} in [{section}] ({source.where(section, name)}) must be one of "
                f"{allowed}; got {values[name]!r}"
            )
            raise ConfigError(msg)
    return cls(**values)


def option(type_: str, default: Any = dataclasses.MISSING, *, choices=None, factory=None):
    """A config dataclass field: its type name (checked), default and allowed values.

    Type names: ``float``, ``int``, ``str``, ``bool``, ``list[float]``, ``list[int]``,
    ``list[str]``, ``list[list[float]]``, ``list[list[list[float]]]``.
    """
    meta = {"type": type_, "choices": choices}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class DensityConfig:
    """``[density]``: a Gaussian, a Gaussian mixture or a uniform box density."""

    kind: str = option("str", choices=("gaussian", "mixture", "uniform"))
    mean: list = option("list[float]", None)
    cov: list = option("list[list[float]]", None)
    means: list = option("list[list[float]]", None)
    stds: list = option("list[float]", None)
    covs: list = option("list[list[list[float]]]", None)
    weights: list = option("list[float]", None)
    lower: list = option("list[float]", None)
    upper: list = option("list[float]", None)

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


@dataclass(frozen=True)
class DomainConfig:
    """``[domain]``: a structured mesh (``bounds``, ``cells``) or a mesh file."""

    kind: str = option("str", choices=("interval", "rectangle", "box", "file", "bundled"))
    bounds: list = option("list[list[float]]", None)
    cells: list = option("list[int]", None)
    path: str = option("str", None)
    name: str = option("str", None)
    refine: int = option("int", 0)

    def build(self):
        """The scikit-fem mesh this table describes."""
        from gan_pde import mesh

        if self.kind == "file":
            built = mesh.load(self.path)
        elif self.kind == "bundled":
            built = mesh.bundled(self.name)
        else:
            dim = {"interval": 1, "rectangle": 2, "box": 3}[self.kind]
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
        return built.refined(self.refine) if self.refine else built


@dataclass(frozen=True)
class SolverConfig:
    """``[solver]``: eigen-solver options."""

    k: int = option("int", 6)
    element: str = option("str", "P1", choices=("P1", "P2", "Q1", "Q2"))
    method: str = option("str", "auto", choices=("auto", "dense", "shift-invert", "lobpcg"))
    tol: float = option("float", 1e-10)


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
