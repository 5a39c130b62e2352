"""Bad inputs for every public entry point and the clear error each must raise.

One list serves two purposes: ``tests/test_bad_inputs.py`` runs every case, and the docs
page ``robustness.md`` shows them as a table (``docs/hooks/tables.py``), so the table can
never claim a behaviour that is not tested.  Each case: the entry point, the bad input in
words, a call that makes it, the error class and a regular expression that the message
must match (the message names the argument, its value and what was expected).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gan_pde import errors


@dataclass(frozen=True)
class Case:
    entry: str
    bad_input: str
    call: Callable[[], object]
    error: type[BaseException]
    match: str


def _gp():
    import gan_pde as gp

    return gp


def _rho():
    return _gp().Gaussian(mean=[0.0], cov=[[1.0]])


def _mesh(n: int = 50):
    return _gp().mesh.interval(-8.0, 8.0, n=n)


def _flow():
    return _gp().JSDFlow(_rho(), _rho(), _mesh())


def _spectrum(**kwargs):
    options = {"k": 2} | kwargs
    mesh = options.pop("mesh", None) or _mesh()
    density = options.pop("density", None) or _rho()
    return _gp().weighted_laplacian_spectrum(density, mesh, **options)


def _sweep(**kwargs):
    from gan_pde.sweep import sweep

    return sweep(lambda *, x: x, {"x": [1.0]}, **kwargs)


def _checkpoint(path):
    from gan_pde.checkpoint import load_checkpoint

    return load_checkpoint(path, kind="jsd_flow", fingerprint={})


def _write(name: str, data: bytes) -> str:
    """Write ``data`` to a fresh temporary folder; return the file's path."""
    path = os.path.join(tempfile.mkdtemp(prefix="gan_pde_bad_"), name)
    with open(path, "wb") as file:
        file.write(data)
    return path


def _config(text: str):
    from gan_pde.config import load_spectrum_config

    path = _write("bad.toml", text.encode())
    return load_spectrum_config(path)


def _flow_config(solver: str):
    from gan_pde.commands.jsd_flow import load_config

    density = "kind = 'gaussian'\nmean = [0.0]\ncov = [[1.0]]\n"
    text = f"[target]\n{density}[initial]\n{density}{_DOMAIN}[solver]\n{solver}"
    return load_config(_write("flow.toml", text.encode()))


def _spectrum_run(text: str):
    """What ``gan-pde spectrum`` checks: the config, then k against the built mesh."""
    config = _config(text)
    config.solver.check_mesh(config.domain.build())


def _meanfield_config(old: str, new: str):
    from gan_pde.commands.meanfield import load_config
    from gan_pde.config import bundled_config_text

    text = bundled_config_text("meanfield")
    assert old in text
    return load_config(_write("meanfield.toml", text.replace(old, new, 1).encode()))


def _fixture(name: str) -> str:
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", name)


def _wgan(**kwargs):
    from gan_pde.meanfield import WGANMeanField

    options = {
        "data": _gp().GaussianMixture(means=[[-1.0], [1.0]], stds=[0.3, 0.3], weights=[0.5, 0.5]),
        "generator": {"alpha": (-3.0, 3.0, 128), "beta": 1.0, "gamma": 0.0},
        "discriminator": {"a": (-1.0, 1.0, 128), "b": 1.0, "c": 0.0},
        "mu_in": lambda a: np.exp(-((a - 1.0) ** 2) / 0.1),
        "nu_in": lambda a: np.exp(-((a - 0.3) ** 2) / 0.05),
        "gamma_c": 5.0,
    }
    return WGANMeanField(**(options | kwargs))


def _nn():
    import gan_pde.nn

    return gan_pde.nn


def _dual(**kwargs):
    from gan_pde.dual import oscillating_game, simulate

    options = {"x0": [0.0], "y0": [2.0], "tau": 0.1, "n_steps": 3} | kwargs
    return simulate(oscillating_game([1.0]), options.pop("x0"), options.pop("y0"), **options)


_DOMAIN = "[domain]\nkind = 'interval'\nbounds = [[-5.0, 5.0]]\ncells = [10]\n"
_GAUSS = "[density]\nkind = 'gaussian'\nmean = [0.0]\ncov = [[1.0]]\n"
_MIX = "[density]\nkind = 'mixture'\nmeans = [[-2.0], [2.0]]\nstds = [1.0, 1.0]\n"
E = errors
CASES = [
    Case(
        "Gaussian",
        "covariance not positive definite",
        lambda: _gp().Gaussian(mean=[0.0], cov=[[-1.0]]),
        E.InvalidDensityError,
        r"cov is not symmetric positive definite: its eigenvalues are \[-1.0\]",
    ),
    Case(
        "Gaussian",
        "NaN in the mean",
        lambda: _gp().Gaussian(mean=[np.nan], cov=[[1.0]]),
        E.InvalidDensityError,
        r"mean must be finite; mean\[0\] = nan",
    ),
    Case(
        "GaussianMixture",
        "weights summing to 1.1",
        lambda: _gp().GaussianMixture(means=[[0.0], [1.0]], stds=[1, 1], weights=[0.5, 0.6]),
        E.InvalidDensityError,
        r"weights must sum to 1 .* they sum to 1.1",
    ),
    Case(
        "GaussianMixture",
        "negative standard deviation",
        lambda: _gp().GaussianMixture(means=[[0.0]], stds=[-1.0], weights=[1.0]),
        E.InvalidDensityError,
        r"stds must be positive; got \[-1.0\]",
    ),
    Case(
        "KDE",
        "a single sample",
        lambda: _gp().KDE(np.zeros((1, 1))),
        E.InvalidInputError,
        r"samples must have shape \(n, d\) with n >= 2 .* got shape \(1, 1\)",
    ),
    Case(
        "KDE",
        "NaN sample",
        lambda: _gp().KDE(np.array([[0.0], [np.nan]])),
        E.InvalidDensityError,
        r"samples must be finite; samples\[1, 0\] = nan",
    ),
    Case(
        "Uniform",
        "lower >= upper",
        lambda: _gp().Uniform(lower=[1.0], upper=[0.0]),
        E.InvalidDensityError,
        r"lower must be < upper in every coordinate; coordinate 0",
    ),
    Case(
        "Density.pdf",
        "points of the wrong dimension",
        lambda: _rho().pdf(np.zeros((3, 2))),
        E.InvalidInputError,
        r"x must have shape \(n, 1\); got shape \(3, 2\)",
    ),
    Case(
        "Density.sample",
        "negative count",
        lambda: _rho().sample(-1),
        E.InvalidInputError,
        r"n must be a non-negative int; got -1",
    ),
    Case(
        "mesh.interval",
        "a >= b",
        lambda: _gp().mesh.interval(1.0, 0.0, n=3),
        E.InvalidInputError,
        r"interval needs a < b, got a=1.0, b=0.0",
    ),
    Case(
        "mesh.interval",
        "zero cells",
        lambda: _gp().mesh.interval(0.0, 1.0, n=0),
        E.InvalidInputError,
        r"n must be an integer >= 1 \(number of cells\), got 0",
    ),
    Case(
        "mesh.rectangle",
        "NaN bound",
        lambda: _gp().mesh.rectangle((0.0, np.nan), (0.0, 1.0), n=(2, 2)),
        E.InvalidInputError,
        r"x\[1\] must be finite, got nan",
    ),
    Case(
        "mesh.rectangle",
        "a mesh larger than memory",
        lambda: _gp().mesh.rectangle((0.0, 1.0), (0.0, 1.0), n=(10**6, 10**6)),
        E.InsufficientMemoryError,
        r"rectangle with n=\[1000000, 1000000\] needs about .* GB",
    ),
    Case(
        "mesh.load",
        "missing file",
        lambda: _gp().mesh.load("/nonexistent/m.msh"),
        E.MeshError,
        r"cannot read mesh file '/nonexistent/m.msh'",
    ),
    Case(
        "weighted_laplacian_spectrum",
        "k = 0",
        lambda: _spectrum(k=0),
        E.InvalidInputError,
        r"k must be a positive integer; got k=0",
    ),
    Case(
        "weighted_laplacian_spectrum",
        "unknown element",
        lambda: _spectrum(element="P3"),
        E.InvalidInputError,
        r"element='P3' is not supported",
    ),
    Case(
        "weighted_laplacian_spectrum",
        "2D density on a 1D mesh",
        lambda: _spectrum(density=_gp().Gaussian(mean=[0, 0], cov=np.eye(2))),
        E.InvalidInputError,
        r"the density has dimension 2 but the mesh has dimension 1",
    ),
    Case(
        "weighted_laplacian_spectrum",
        "k above the number of dofs",
        lambda: _spectrum(k=10, mesh=_gp().mesh.interval(0.0, 1.0, n=2)),
        E.InvalidInputError,
        r"k=10 is larger than the number of degrees of freedom \(3\)",
    ),
    Case(
        "weighted_laplacian_spectrum",
        "mesh too coarse for the weight (spurious modes)",
        lambda: _spectrum(
            k=3,
            element="P2",
            density=_gp().Gaussian(mean=[0.0], cov=[[0.25]]),
            mesh=_gp().mesh.interval(-12.0, 12.0, n=20),
        ),
        E.InvalidInputError,
        r"not resolved by the mesh: eigenvalue .* spurious mode",
    ),
    Case(
        "JSDFlow",
        "initial density vanishing on the mesh",
        lambda: _gp().JSDFlow(_rho(), _gp().Uniform(lower=[-1.0], upper=[1.0]), _mesh()),
        E.InvalidDensityError,
        r"initial",
    ),
    Case(
        "JSDFlow",
        "beta <= 0",
        lambda: _gp().JSDFlow(_rho(), _rho(), _mesh(), beta=-1),
        E.InvalidInputError,
        r"beta must be a positive finite number; got -1",
    ),
    Case(
        "JSDFlow.solve",
        "negative step",
        lambda: _flow().solve(1.0, -0.1),
        E.InvalidInputError,
        r"dt must be a positive finite number; got -0.1",
    ),
    Case(
        "JSDFlow.solve",
        "unknown scheme",
        lambda: _flow().solve(1.0, 0.1, scheme="rk4"),
        E.InvalidInputError,
        r"scheme='rk4' is not one of",
    ),
    Case(
        "JSDFlow.solve",
        "save time after t_final",
        lambda: _flow().solve(1.0, 0.1, save_times=[2.0]),
        E.InvalidInputError,
        r"save_times must lie in \[0, t_final = 1\]; got \[2.0\]",
    ),
    Case(
        "JSDFlow.solve",
        "resume without a checkpoint file",
        lambda: _flow().solve(1.0, 0.1, resume=True),
        E.InvalidInputError,
        r"resume=True needs a checkpoint",
    ),
    Case(
        "lgan.eigenvalues",
        "NaN alpha",
        lambda: _gp().lgan.eigenvalues(1.0, alpha=np.nan, beta=1.0),
        E.InvalidInputError,
        r"alpha must be finite, got nan",
    ),
    Case(
        "lgan.decay_rate",
        "negative xi_min",
        lambda: _gp().lgan.decay_rate(-1.0, alpha=1.0, beta=1.0),
        E.InvalidInputError,
        r"xi_min must be > 0.0 .* got -1.0",
    ),
    Case(
        "LGANSystem",
        "alpha < 0",
        lambda: _gp().LGANSystem(_rho(), _mesh(), alpha=-1.0, beta=1.0),
        E.InvalidInputError,
        r"alpha must be >= 0",
    ),
    Case(
        "checkpoint.load_checkpoint",
        "a truncated file",
        lambda: _checkpoint(_write("bad.npz", b"PK\x03\x04 truncated")),
        E.IncompatibleCheckpointError,
        r"is not a readable gan_pde checkpoint",
    ),
    Case(
        "io.load_trajectory",
        "a file that is not an npz archive",
        lambda: _gp().io.load_trajectory(_write("bad.txt", b"hello")),
        E.InvalidInputError,
        r"is not a gan_pde trajectory file: not an .npz archive",
    ),
    Case(
        "sweep.sweep",
        "unknown scheduler",
        lambda: _sweep(scheduler="mpi"),
        E.InvalidInputError,
        r"scheduler must be one of .* got 'mpi'",
    ),
    Case(
        "sweep.sweep",
        "zero workers",
        lambda: _sweep(workers=0),
        E.InvalidInputError,
        r"workers must be a positive int or None; got 0",
    ),
    Case(
        "config (every command)",
        "unknown key, with its line",
        lambda: _config(
            "[density]\nkind = 'gaussian'\nmean = [0.0]\ncov = [[1.0]]\nsigma = 1\n" + _DOMAIN
        ),
        E.ConfigError,
        r"unknown key 'sigma' in \[density\] \(.*line 5\)",
    ),
    Case(
        "config (every command)",
        "wrong type, with its line",
        lambda: _config("[density]\nkind = 'gaussian'\nmean = 'zero'\ncov = [[1.0]]\n" + _DOMAIN),
        E.ConfigError,
        r"key 'mean' in \[density\] \(.*line 3\) must be",
    ),
    Case(
        "config (every command)",
        "absurd size: a billion cells",
        lambda: _config(_GAUSS + _DOMAIN.replace("[10]", "[1000000000]")),
        E.ConfigError,
        r"\[domain\] cells \(.*line 8\) = \[1000000000\]: 1e\+09 cells .* use fewer cells",
    ),
    Case(
        "config (every command)",
        "zero cells",
        lambda: _config(_GAUSS + _DOMAIN.replace("[10]", "[0]")),
        E.ConfigError,
        r"\[domain\] cells \(.*line 8\) = \[0\]: every cell count must be >= 1",
    ),
    Case(
        "config (every command)",
        "cells written as a float (1e9)",
        lambda: _config(_GAUSS + _DOMAIN.replace("[10]", "[1e9]")),
        E.ConfigError,
        r"key 'cells' in \[domain\] \(.*line 8\) must be list\[int\].*not 4e2",
    ),
    Case(
        "config (every command)",
        "swapped bounds [8, -8]",
        lambda: _config(_GAUSS + _DOMAIN.replace("[[-5.0, 5.0]]", "[[8.0, -8.0]]")),
        E.ConfigError,
        r"\[domain\] bounds \(.*line 7\) = \[\[8.0, -8.0\]\]: .*write \[-8, 8\] if the two "
        r"ends were swapped",
    ),
    Case(
        "config (every command)",
        "refine = 30",
        lambda: _config(_GAUSS + _DOMAIN + "refine = 30\n"),
        E.ConfigError,
        r"\[domain\] refine \(.*line 9\) = 30: must be an integer in \[0, 8\]",
    ),
    Case(
        "config (every command)",
        "a std where the covariance matrix goes",
        lambda: _config(_GAUSS.replace("[[1.0]]", "[0.5]") + _DOMAIN),
        E.ConfigError,
        r"key 'cov' in \[density\] .* got \[0.5\] \(a covariance matrix.*not standard "
        r"deviations",
    ),
    Case(
        "config (every command)",
        "negative variance",
        lambda: _config(_GAUSS.replace("[[1.0]]", "[[-0.25]]") + _DOMAIN),
        E.ConfigError,
        r"\[density\] cov \(.*line 4\) = \[\[-0.25\]\]: must be positive definite, its "
        r"eigenvalues are \[-0.25\]",
    ),
    Case(
        "config (every command)",
        "non-symmetric covariance",
        lambda: _config(
            _GAUSS.replace("[0.0]", "[0.0, 0.0]").replace("[[1.0]]", "[[1.0, 0.5], [0.2, 1.0]]")
            + _DOMAIN
        ),
        E.ConfigError,
        r"\[density\] cov \(.*line 4\) = .*: must be symmetric",
    ),
    Case(
        "config (every command)",
        "covariance of the wrong size",
        lambda: _config(_GAUSS.replace("[0.0]", "[0.0, 0.0]") + _DOMAIN),
        E.ConfigError,
        r"\[density\] cov .* = \[\[1.0\]\]: must be a 2 x 2 matrix",
    ),
    Case(
        "config (every command)",
        "NaN in a value",
        lambda: _config(_GAUSS.replace("[0.0]", "[nan]") + _DOMAIN),
        E.ConfigError,
        r"\[density\] mean \(.*line 3\) = \[nan\]: must be finite",
    ),
    Case(
        "config (every command)",
        "mixture weights in percent",
        lambda: _config(_MIX + "weights = [50, 50]\n" + _DOMAIN),
        E.ConfigError,
        r"\[density\] weights \(.*line 5\) = \[50, 50\]: every weight is a probability in "
        r"\[0, 1\]",
    ),
    Case(
        "config (every command)",
        "mixture weights summing to 1.1",
        lambda: _config(_MIX + "weights = [0.5, 0.6]\n" + _DOMAIN),
        E.ConfigError,
        r"\[density\] weights \(.*line 5\) = \[0.5, 0.6\]: must sum to 1 .*they sum to 1.1",
    ),
    Case(
        "config (every command)",
        "negative standard deviation",
        lambda: _config(_MIX.replace("[1.0, 1.0]", "[1.0, -1.0]") + _DOMAIN),
        E.ConfigError,
        r"\[density\] stds \(.*line 4\) = \[1.0, -1.0\]: standard deviations must be > 0",
    ),
    Case(
        "config (every command)",
        "uniform with lower and upper swapped",
        lambda: _config("[density]\nkind = 'uniform'\nlower = [1.0]\nupper = [-1.0]\n" + _DOMAIN),
        E.ConfigError,
        r"\[density\] lower \(.*line 3\) = \[1.0\]: must be < upper .*were lower and upper "
        r"swapped\?",
    ),
    Case(
        "config: gan-pde spectrum",
        "k = 0",
        lambda: _config(_GAUSS + _DOMAIN + "[solver]\nk = 0\n"),
        E.ConfigError,
        r"\[solver\] k \(.*line 10\) = 0: must be >= 1",
    ),
    Case(
        "config: gan-pde spectrum",
        "k above the number of dofs",
        lambda: _spectrum_run(_GAUSS + _DOMAIN + "[solver]\nk = 50\n"),
        E.ConfigError,
        r"\[solver\] k \(.*line 10\) = 50: more eigenpairs than the 11 degrees of freedom",
    ),
    Case(
        "config: gan-pde jsd-flow",
        "t_final and dt swapped",
        lambda: _flow_config("t_final = 0.05\ndt = 5.0\n"),
        E.ConfigError,
        r"\[solver\] dt \(.*line 15\) = 5.0: the step is longer than t_final = 0.05; were "
        r"t_final and dt swapped\?",
    ),
    Case(
        "config: gan-pde jsd-flow",
        "dt = 0",
        lambda: _flow_config("dt = 0.0\n"),
        E.ConfigError,
        r"key 'dt' in \[solver\] \(.*line 14\) must be positive and finite; got 0.0",
    ),
    Case(
        "config: gan-pde jsd-flow",
        "absurd number of steps",
        lambda: _flow_config("t_final = 5.0\ndt = 1e-9\n"),
        E.ConfigError,
        r"\[solver\] dt \(.*line 15\) = 1e-09: t_final / dt = 5e\+09 steps, more than 1e\+07",
    ),
    Case(
        "config: gan-pde meanfield",
        "neuron grid bounds swapped",
        lambda: _meanfield_config("lower = [-3.0, -3.0]", "lower = [3.0, -3.0]"),
        E.ConfigError,
        r"\[generator\] lower \(.*line \d+\) = \[3.0, -3.0\]: entry 0 must be < upper\[0\] = "
        r"3; were lower and upper swapped\?",
    ),
    Case(
        "config: gan-pde meanfield",
        "data weights in percent",
        lambda: _meanfield_config("data_weights = [0.5, 0.5]", "data_weights = [50.0, 50.0]"),
        E.ConfigError,
        r"\[model\] data_weights \(.*line \d+\) = \[50.0, 50.0\]: every weight is a "
        r"probability in \[0, 1\]",
    ),
    Case(
        "config: gan-pde meanfield",
        "CFL fraction above 1",
        lambda: _meanfield_config("cfl = 0.8", "cfl = 80.0"),
        E.ConfigError,
        r"\[solver\] cfl \(.*line \d+\) = 80.0: must be in \(0, 1\]",
    ),
    Case(
        "mesh.load",
        "triangles and quadrilaterals in one file",
        lambda: _gp().mesh.load(_fixture("tri_quad.msh")),
        E.MeshError,
        r"tri_quad.msh': mixed cell types of dimension 2: \d+ quad, \d+ triangle; .*"
        r"Re-mesh with triangles only \(gmsh: Mesh.RecombineAll = 0",
    ),
    Case(
        "meanfield.ToyWGAN",
        "gamma_c = 0",
        lambda: __import__("gan_pde.meanfield").meanfield.ToyWGAN(gamma_c=0.0),
        E.InvalidInputError,
        r"gamma_c must be a positive finite number; got 0.0",
    ),
    Case(
        "meanfield.WGANMeanField",
        "gamma_c < 0",
        lambda: _wgan(gamma_c=-1.0),
        E.InvalidInputError,
        r"gamma_c must be a positive finite number; got -1.0",
    ),
    Case(
        "meanfield.WGANMeanField",
        "negative initial density",
        lambda: _wgan(nu_in=lambda a: a),
        E.InvalidInputError,
        r"nu_in must be finite and non-negative on the grid; got min -",
    ),
    Case(
        "meanfield.WGANMeanField",
        "discriminator grid not covering Q",
        lambda: _wgan(discriminator={"a": (-0.5, 0.5, 16), "b": 1.0, "c": 0.0}),
        E.InvalidInputError,
        r"the discriminator grid must cover Q = \[-1, 1\] exactly along 'a'",
    ),
    Case(
        "WGANMeanField.solve",
        "explicit step above the CFL limit",
        lambda: _wgan().solve(5.0, dt=0.5),
        E.InvalidInputError,
        r"dt=0.5 exceeds the CFL limit .* \(cell masses would turn negative\)",
    ),
    Case(
        "dual.simulate",
        "negative step",
        lambda: _dual(tau=-0.1),
        E.InvalidInputError,
        r"tau must be a positive finite number; got -0.1",
    ),
    Case(
        "dual.simulate",
        "NaN initial state",
        lambda: _dual(x0=[np.nan]),
        E.InvalidInputError,
        r"x0 must be finite; got \[nan\]",
    ),
    Case(
        "compare.w1",
        "an empty sample",
        lambda: __import__("gan_pde.compare").compare.w1(np.array([]), np.array([1.0])),
        E.InvalidInputError,
        r"a must hold at least one sample; got shape \(0,\)",
    ),
    Case(
        "compare.mmd",
        "NaN sample",
        lambda: __import__("gan_pde.compare").compare.mmd(np.array([[np.nan]]), np.array([[1.0]])),
        E.InvalidInputError,
        r"a must be finite; it has 1 non-finite entry",
    ),
    Case(
        "nn.select_device",
        "unknown device",
        lambda: _nn().select_device("tpu"),
        E.InvalidInputError,
        r"device must be one of \('cpu', 'cuda'\).* got 'tpu'",
    ),
    Case(
        "nn.estimate_poincare_constant",
        "a single sample",
        lambda: _nn().estimate_poincare_constant(np.zeros((1, 1))),
        E.InvalidInputError,
        r"samples must have shape \(n, d\) with n >= 8 .* got shape \(1, 1\)",
    ),
]
