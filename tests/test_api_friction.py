"""Issue 21, item 5: the obvious call works.

Scalars and flat lists for 1D densities (identical to the nested forms, ambiguous input
refused with both readings), one mesh-builder convention (old calls still accepted),
callable densities, short reprs, ``gp.plotting``.
"""

from __future__ import annotations

import dataclasses
import importlib
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import skfem

import gan_pde as gp
from gan_pde.densities import KDE, Gaussian, GaussianMixture, MeshDensity, Uniform
from gan_pde.errors import InvalidInputError
from gan_pde.fem import FEMFunction

X1 = np.linspace(-5.0, 5.0, 41)[:, None]


def _same_density(a, b, x, *, sample: bool = True) -> None:
    """Bit-identical evaluation and sampling."""
    assert a.dim == b.dim
    np.testing.assert_array_equal(a.log_pdf(x), b.log_pdf(x))
    np.testing.assert_array_equal(a.grad_log_pdf(x), b.grad_log_pdf(x))
    if sample:
        np.testing.assert_array_equal(a.sample(50, rng=3), b.sample(50, rng=3))
    assert repr(a) == repr(b)


# ------------------------------------------------------------------ 1D densities, short forms


@pytest.mark.parametrize(
    ("mean", "cov"),
    [(0.5, 2.0), ([0.5], 2.0), (0.5, [2.0]), ([0.5], [2.0]), (np.float64(0.5), np.array(2.0))],
)
def test_gaussian_accepts_numbers_in_1d(mean, cov) -> None:
    nested = Gaussian(mean=[0.5], cov=[[2.0]])
    short = Gaussian(mean=mean, cov=cov)
    np.testing.assert_array_equal(short.mean, [0.5])
    np.testing.assert_array_equal(short.cov, [[2.0]])
    _same_density(short, nested, X1)


def test_gaussian_scalar_covariance_is_isotropic_in_any_dimension() -> None:
    x = np.random.default_rng(0).normal(size=(20, 3))
    short = Gaussian(mean=[0.0, 1.0, 2.0], cov=0.25)
    nested = Gaussian(mean=[0.0, 1.0, 2.0], cov=0.25 * np.eye(3))
    np.testing.assert_array_equal(short.cov, 0.25 * np.eye(3))
    _same_density(short, nested, x)


def test_gaussian_refuses_a_flat_covariance_in_2d_with_the_fix() -> None:
    with pytest.raises(InvalidInputError, match=r"shape \(2, 2\).*np\.diag\(\[1\.0, 2\.0\]\)"):
        Gaussian(mean=[0.0, 0.0], cov=[1.0, 2.0])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"stds": [1.0, 0.5]},
        {"stds": [[1.0], [0.5]]},
        {"covs": [1.0, 0.25]},
        {"covs": [[[1.0]], [[0.25]]]},
    ],
)
def test_mixture_flat_means_are_one_dimensional_components(kwargs) -> None:
    spread = {"stds": [1.0, 0.5]} if "stds" in kwargs else {"covs": [[[1.0]], [[0.25]]]}
    nested = GaussianMixture(means=[[-2.0], [2.0]], weights=[0.3, 0.7], **spread)
    flat = GaussianMixture(means=[-2.0, 2.0], weights=[0.3, 0.7], **kwargs)
    assert (flat.n_components, flat.dim) == (2, 1)
    np.testing.assert_array_equal(flat.means, nested.means)
    np.testing.assert_array_equal(flat.covs, nested.covs)
    _same_density(flat, nested, X1)


def test_mixture_issue_example_and_scalar_spreads() -> None:
    nested = GaussianMixture(means=[[-2.0], [2.0]], stds=[1.0, 1.0])
    _same_density(GaussianMixture(means=[-2.0, 2.0], stds=[1.0, 1.0]), nested, X1)
    _same_density(GaussianMixture(means=[-2.0, 2.0], stds=1.0), nested, X1)
    _same_density(GaussianMixture(means=[-2.0, 2.0], covs=1.0), nested, X1)
    one = GaussianMixture(means=0.5, stds=2.0)
    _same_density(one, GaussianMixture(means=[[0.5]], stds=[2.0]), X1)
    x2 = np.random.default_rng(1).normal(size=(10, 2))
    two_d = GaussianMixture(means=[[0.0, 0.0], [1.0, 1.0]], stds=0.5)
    _same_density(two_d, GaussianMixture(means=[[0.0, 0.0], [1.0, 1.0]], stds=[0.5, 0.5]), x2)


@pytest.mark.parametrize(
    ("kwargs", "clash"),
    [
        ({"covs": [np.eye(2)]}, r"covs of shape \(1, 2, 2\)"),
        ({"stds": [1.0]}, r"stds of shape \(1,\)"),
        ({"stds": [[1.0, 2.0]]}, r"stds of shape \(1, 2\)"),
        ({"stds": [1.0, 1.0], "weights": [1.0]}, r"weights of shape \(1,\)"),
    ],
)
def test_mixture_ambiguous_flat_means_show_both_readings(kwargs, clash) -> None:
    with pytest.raises(InvalidInputError) as info:
        GaussianMixture(means=[0.0, 1.0], **kwargs)
    text = str(info.value)
    assert "ambiguous" in text
    assert "means=[[0.0], [1.0]]" in text  # two 1-D components
    assert "means=[[0.0, 1.0]]" in text  # one 2-D component
    assert len(text.splitlines()) == 1
    assert re.search(clash, text), text


def test_uniform_accepts_numbers() -> None:
    x = np.array([[-1.5], [-1.0], [0.3], [1.0], [1.2]])
    nested = Uniform(lower=[-1.0], upper=[1.0])
    _same_density(Uniform(lower=-1.0, upper=1.0), nested, x)
    _same_density(Uniform(lower=[-1.0], upper=1.0), nested, x)
    x2 = np.array([[0.5, 1.5], [0.5, 2.5]])
    box = Uniform(lower=0.0, upper=[1.0, 2.0])
    _same_density(box, Uniform(lower=[0.0, 0.0], upper=[1.0, 2.0]), x2)


def test_kde_flat_samples_and_ambiguous_bandwidth() -> None:
    data = np.random.default_rng(2).normal(size=30)
    _same_density(KDE(data, bandwidth=0.5), KDE(data[:, None], bandwidth=[[0.25]]), X1)
    _same_density(KDE(data, bandwidth=np.float64(0.4)), KDE(data, bandwidth=0.4), X1)
    with pytest.raises(
        InvalidInputError, match=r"ambiguous.*bandwidth=0\.4 .*bandwidth=\[\[0\.4\]\]"
    ):
        KDE(data, bandwidth=[0.4])


# ------------------------------------------------------------------------- callable densities


def _mesh_density_1d() -> MeshDensity:
    basis = skfem.Basis(gp.mesh.interval((-6.0, 6.0), n=60), skfem.ElementLineP2())
    return MeshDensity.from_density(Gaussian(mean=0.3, cov=1.0), basis)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Gaussian(mean=0.0, cov=1.0),
        lambda: GaussianMixture(means=[-2.0, 2.0], stds=[1.0, 1.0]),
        lambda: Uniform(lower=-1.0, upper=1.0),
        lambda: KDE(np.linspace(-1.0, 1.0, 9)),
        _mesh_density_1d,
    ],
)
def test_every_density_is_callable_like_an_eigenfunction(make) -> None:
    rho = make()
    x = np.linspace(-7.0, 7.0, 57)
    np.testing.assert_array_equal(rho(x[:, None]), rho.pdf(x[:, None]))
    np.testing.assert_array_equal(rho(x), rho.pdf(x))  # (n,) is read as (n, 1) in 1D
    assert rho(x).shape == (57,)


def test_mesh_density_call_agrees_with_the_fem_function_of_its_values() -> None:
    rho = _mesh_density_1d()
    f = FEMFunction(rho.basis, rho.values)
    x = np.linspace(-5.9, 5.9, 101)
    np.testing.assert_allclose(rho(x), np.maximum(f(x), 0.0), rtol=1e-13, atol=1e-15)
    assert rho(x).shape == f(x).shape == (101,)
    assert rho([[0.3]])[0] == pytest.approx(1.0 / np.sqrt(2.0 * np.pi), rel=1e-4)
    assert rho([7.0])[0] == 0.0  # outside the mesh


def test_mesh_density_call_in_2d() -> None:
    mesh = gp.mesh.rectangle((-5.0, 5.0), (-5.0, 5.0), n=20)
    rho = MeshDensity.from_density(
        Gaussian(mean=[0.0, 0.0], cov=1.0), skfem.Basis(mesh, skfem.ElementTriP1())
    )
    x = np.array([[0.0, 0.0], [1.0, -1.0], [9.0, 0.0]])
    np.testing.assert_array_equal(rho(x), rho.pdf(x))
    assert rho(x)[2] == 0.0 and rho(x)[0] > rho(x)[1] > 0.0
    with pytest.raises(InvalidInputError, match=r"x\[None, :\]"):
        rho(np.array([0.0, 0.0]))


# ------------------------------------------------------------------------------ mesh builders


def _same_mesh(a: skfem.Mesh, b: skfem.Mesh) -> None:
    assert type(a) is type(b)
    np.testing.assert_array_equal(a.p, b.p)
    np.testing.assert_array_equal(a.t, b.t)


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.interval((-2.0, 3.0), n=7),
        lambda m: m.interval((-2.0, 3.0), 7),
        lambda m: m.interval((-2.0, 3.0), n=(7,)),
        lambda m: m.interval([-2.0, 3.0], n=7),
        lambda m: m.interval(np.array([-2.0, 3.0]), n=7),
        lambda m: m.interval(-2.0, 3.0, 7),
        lambda m: m.interval(a=-2.0, b=3.0, n=7),
    ],
)
def test_interval_pair_form_equals_the_old_form(call) -> None:
    _same_mesh(call(gp.mesh), gp.mesh.interval(-2.0, 3.0, n=7))


def test_one_convention_across_dimensions() -> None:
    builders = {1: gp.mesh.interval, 2: gp.mesh.rectangle, 3: gp.mesh.box}
    bounds = [(-1.0, 1.0), (0.0, 2.0), (3.0, 4.0)]
    for d, build in builders.items():
        m = build(*bounds[:d], n=2)
        assert m.dim() == d
        np.testing.assert_array_equal(m.p.min(axis=1), [lo for lo, _ in bounds[:d]])
        np.testing.assert_array_equal(m.p.max(axis=1), [hi for _, hi in bounds[:d]])
        per_axis = build(*bounds[:d], n=(2,) * d)
        _same_mesh(m, per_axis)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda m: m.interval((0.0, 1.0)), r"needs n, the number of cells"),
        (lambda m: m.interval(0.0, 1.0), r"needs n, the number of cells"),
        (lambda m: m.interval(0.0, n=4), r"pair \(a, b\) or as two numbers"),
        (lambda m: m.interval((0.0, 1.0), 2.0, n=4), r"one pair; got the pair"),
        (lambda m: m.interval((1.0, 0.0), n=4), r"a < b, got a=1\.0, b=0\.0"),
        (lambda m: m.interval((0.0, 1.0), n=(2, 3)), r"n must be an integer >= 1"),
        (lambda m: m.interval((0.0, 1.0, 2.0), n=2), r"pair \(a, b\) or as two numbers; got"),
    ],
)
def test_interval_bad_calls_say_what_to_write(call, match) -> None:
    with pytest.raises(InvalidInputError, match=match):
        call(gp.mesh)


# -------------------------------------------------------------------------------------- reprs


def _dataclass_with_huge_arrays(cls: type) -> object:
    """An instance whose every field is a 10^5-entry array (a worst case for the repr)."""
    big = np.arange(100_000.0)
    return cls(**{f.name: big for f in dataclasses.fields(cls) if f.init})


RESULT_CLASSES = [
    ("gan_pde.flows.jsd", "Trajectory"),
    ("gan_pde.flows.particles", "ParticleTrajectory"),
    ("gan_pde.meanfield.toy", "ToyPath"),
    ("gan_pde.meanfield.toy", "ProjectedPath"),
    ("gan_pde.meanfield.model", "MeanFieldTrajectory"),
    ("gan_pde.spectral.lgan_system", "LGANTrajectory"),
    ("gan_pde.dual.schemes", "DualPath"),
    ("gan_pde.sde.simulate", "Ensemble"),
    ("gan_pde.sde.longrun", "LongRun"),
    ("gan_pde.nn.run", "TrainingRun"),
]


@pytest.mark.parametrize(("module", "name"), RESULT_CLASSES)
def test_result_reprs_are_short_with_huge_arrays(module, name) -> None:
    cls = getattr(importlib.import_module(module), name)
    text = repr(_dataclass_with_huge_arrays(cls))
    assert text.startswith(f"{name}(")
    assert len(text) <= 200
    assert "100000 values in [0, 1e+05]" in text  # length and range of the first field


def test_spectrum_function_and_trajectory_reprs_are_short_and_informative() -> None:
    rho = GaussianMixture(means=[-2.0, 2.0], stds=[1.0, 1.0])
    mesh = gp.mesh.interval((-10.0, 10.0), n=200)
    spec = gp.weighted_laplacian_spectrum(rho, mesh, k=4)
    text = repr(spec)
    assert len(text) <= 200
    assert "MeshLine1(200 cells)" in text and "N=201" in text and "element='P1'" in text
    assert f"{spec.eigenvalues[1]:.4g}" in text  # k = 4 eigenvalues are shown
    f = spec.eigenfunction(1)
    text = repr(f)
    assert len(text) <= 200
    assert text.startswith("FEMFunction(basis=Basis(MeshLine1(200 cells), ElementLineP1, N=201)")
    assert "dofs=<201 values in [" in text
    assert str(f) == text

    flow = gp.JSDFlow(target=rho, initial=Gaussian(mean=0.0, cov=1.0), mesh=mesh)
    traj = flow.solve(0.2, 0.1, save_times=[0.0, 0.1, 0.2])
    text = repr(traj)
    assert len(text) <= 200
    assert text.startswith("Trajectory(times=[0, 0.1, 0.2], jsd=[")
    assert f"{traj.jsd[-1]:.4g}" in text


def test_density_reprs_are_exact_unless_huge() -> None:
    assert repr(Gaussian(mean=0.0, cov=1.0)) == "Gaussian(mean=[0.0], cov=[[1.0]])"
    assert repr(GaussianMixture(means=[-2.0, 2.0], stds=1.0)) == (
        "GaussianMixture(means=[[-2.0], [2.0]], covs=[[[1.0]], [[1.0]]], weights=[0.5, 0.5])"
    )
    # a few 2-D components: the exact parameters (results record this repr as provenance)
    three = GaussianMixture(means=[[-2.0, 0.0], [2.0, 0.0], [0.0, 3.0]], stds=[1.0, 0.5, 2.0])
    assert f"covs={three.covs.tolist()}, weights={three.weights.tolist()})" in repr(three)
    many = GaussianMixture(means=np.arange(100.0).reshape(50, 2), stds=1.0)
    text = repr(many)
    assert len(text) <= 200 and text.startswith("GaussianMixture(K=50, dim=2, means=<array 50×2")
    wide = Gaussian(mean=np.zeros(20), cov=np.eye(20))
    assert len(repr(wide)) <= 200 and "dim=20" in repr(wide)
    kde = KDE(np.random.default_rng(0).normal(size=(100, 12)))
    assert len(repr(kde)) <= 200 and "n_samples=100, dim=12" in repr(kde)
    rho = _mesh_density_1d()
    assert len(repr(rho)) <= 200 and "N=121" in repr(rho)


# ---------------------------------------------------------------------------------- plotting


def test_plotting_is_reachable_from_the_top_level() -> None:
    assert gp.plotting is importlib.import_module("gan_pde.plotting")
    assert "plotting" in dir(gp)


def test_import_gan_pde_stays_light() -> None:
    code = (
        "import sys, gan_pde as gp; light = 'matplotlib' not in sys.modules; "
        "gp.plotting; print(light, 'gan_pde.plotting' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["True", "True"]


def test_config_files_take_the_1d_short_forms_too(tmp_path):
    # issue 21: the short forms of Python (flat means, scalar mean and cov) work in a TOML
    # config as well, and build the same densities as the nested forms
    import numpy as np

    from gan_pde.commands.jsd_flow import load_config
    from gan_pde.errors import ConfigError

    bundled = (Path(gp.__file__).parent / "data" / "jsd_flow.toml").read_text()
    short = (
        bundled.replace("means = [[-2.0], [2.0]]", "means = [-2.0, 2.0]")
        .replace("mean = [0.0]", "mean = 0.0")
        .replace("cov = [[1.0]]", "cov = 1.0")
    )
    assert short != bundled
    (tmp_path / "nested.toml").write_text(bundled)
    (tmp_path / "short.toml").write_text(short)
    nested, flat = load_config(tmp_path / "nested.toml"), load_config(tmp_path / "short.toml")
    x = np.linspace(-6.0, 6.0, 41)[:, None]
    for part in ("target", "initial"):
        a, b = getattr(nested, part).build(), getattr(flat, part).build()
        assert np.array_equal(a.log_pdf(x), b.log_pdf(x)), part
    (tmp_path / "bad.toml").write_text(short.replace("cov = 1.0", "cov = [1.0, 2.0]"))
    with pytest.raises(ConfigError, match=r"cov.*not standard deviations"):
        load_config(tmp_path / "bad.toml")


# ---------------------------------------------------------------- one validator per kind


VALIDATORS = {
    # name: (good value → canonical, bad values, the words of the message)
    "as_finite": ((-2, -2.0), (np.nan, np.inf, "1.0", True, None), "a finite real number"),
    "as_positive": ((np.float32(0.5), 0.5), (0.0, -1.0, np.inf, "0.5", True), "a positive"),
    "as_non_negative": ((0, 0.0), (-1e-300, np.nan, "0", False), "a non-negative finite"),
    "as_probability": ((np.array(0.25), 0.25), (0.0, 1.0, 20, "0.2", True), "a number in"),
    "as_positive_int": ((np.int64(3), 3), (0, -1, 2.0, True, "3"), "a positive integer"),
    "as_non_negative_int": ((0, 0), (-1, 0.0, False, None), "a non-negative integer"),
    "as_flag": ((np.bool_(True), True), (1, 0, "yes", None), "True or False"),
}


@pytest.mark.parametrize("name", sorted(VALIDATORS))
def test_each_validator_returns_the_canonical_value_or_names_the_argument(name) -> None:
    from gan_pde import _arrays

    validate = getattr(_arrays, name)
    (given, expected), bad, words = VALIDATORS[name]
    value = validate(given, "arg")
    assert value == expected and type(value) is type(expected)
    for value in bad:
        expected = rf"^arg must be {words}.*got .*{re.escape(repr(value))}"
        with pytest.raises(InvalidInputError, match=expected):
            validate(value, "arg")


def test_choice_array_and_save_time_validators() -> None:
    from gan_pde._arrays import as_choice, as_finite_array, save_times_in, with_final_time

    assert as_choice("rk4", "scheme", ("euler", "rk4")) == "rk4"
    with pytest.raises(InvalidInputError, match=r"scheme must be one of 'euler', 'rk4'; got"):
        as_choice("RK4", "scheme", ("euler", "rk4"))
    array = as_finite_array([[1, 2], [3, 4]], "x0", shape=(None, 2))
    assert array.dtype == np.float64 and array.shape == (2, 2)
    with pytest.raises(InvalidInputError, match=r"x0 must have shape \(n, 3\); got shape"):
        as_finite_array([[1, 2]], "x0", shape=(None, 3))
    with pytest.raises(InvalidInputError, match=r"x0\[1, 0\] = nan \(2 non-finite entries"):
        as_finite_array([[1, 2], [np.nan, np.inf]], "x0")
    with pytest.raises(InvalidInputError, match="x0 must be an array of real numbers"):
        as_finite_array(["a"], "x0")
    times = save_times_in([1.0, 0.0], 2.0)
    assert times.tolist() == [0.0, 1.0]
    assert with_final_time(times, 2.0, True).tolist() == [0.0, 1.0, 2.0]
    with pytest.raises(InvalidInputError, match=r"save_times .* \[0, t_final = 2\]"):
        save_times_in([3.0], 2.0)


# ---------------------------------------------------------------- one list per name set


def test_config_choices_are_the_models_own_lists() -> None:
    """The config reads the element names and eigen-solvers from the code that uses them
    (one list each), and only when a config is validated."""
    from gan_pde import config
    from gan_pde.fem.basis import ELEMENT_NAMES
    from gan_pde.spectral.weighted_laplacian import METHODS

    choices = {f.name: f.metadata["choices"] for f in dataclasses.fields(config.SolverConfig)}
    assert choices["element"]() == ELEMENT_NAMES and choices["method"]() == METHODS
    kinds = {f.name: f.metadata["choices"] for f in dataclasses.fields(config.DensityConfig)}
    assert kinds["kind"] is config.DENSITY_KINDS
    code = "import sys, gan_pde.config; print('gan_pde.spectral' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]
    text = config.bundled_config_text("spectrum").replace('method = "auto"', 'method = "arpack"')
    assert 'method = "arpack"' in text
    with pytest.raises(gp.errors.ConfigError, match=r"method.*must be one of \('auto', "):
        config.parse_config(
            text, "c.toml",
            {"density": config.DensityConfig, "domain": config.DomainConfig,
             "solver": config.SolverConfig},
        )  # fmt: skip


def test_the_stability_figure_knows_every_lgan_scheme() -> None:
    from gan_pde.plotting import _stability_function
    from gan_pde.spectral import lgan_system

    for scheme in lgan_system.SCHEMES:
        assert abs(_stability_function(scheme)(0.0) - 1.0) < 1e-15, scheme


# ---------------------------------------------------------------- docs/architecture.md


def test_the_architecture_page_example_runs(tmp_path, monkeypatch) -> None:
    """The twenty-line model of docs/architecture.md runs as written: a new model is only a
    Stepper with its step, and gets save times, a tracker and checkpoint/resume."""
    page = (Path(__file__).parents[1] / "docs" / "architecture.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, flags=re.DOTALL)
    assert len(blocks) == 2, "the page shows the model and the tracker, one block each"
    model = blocks[0][blocks[0].index("class ") : blocks[0].index("result =")]
    assert len([line for line in model.splitlines() if line.strip()]) <= 20, model
    monkeypatch.chdir(tmp_path)  # the example writes its checkpoint here
    namespace: dict = {"__name__": "architecture_example"}
    code = compile("\n".join(blocks), str(tmp_path / "architecture.md"), "exec")
    exec(code, namespace)  # noqa: S102 - our own documentation
    # what the page says the example prints, it prints
    shown = re.findall(r"# → (\w+) = ([-+.\deE]+)", page)
    assert [name for name, _ in shown] == ["peak", "steps"]
    for name, value in shown:
        # the page rounds to 7 digits: 1e-6 relative
        assert float(namespace[name]) == pytest.approx(float(value), rel=1e-6), name
    assert (tmp_path / "heat.ckpt.npz").exists()
