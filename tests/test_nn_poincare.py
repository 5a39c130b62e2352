"""The neural Poincaré estimator (paper 004, (30)–(32)) and its study."""

from __future__ import annotations

import dataclasses
import doctest
import math
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from gan_pde.errors import (  # noqa: E402
    InvalidInputError,
    MissingDependencyError,
    NumericalBreakdownError,
)
from gan_pde.nn import poincare  # noqa: E402
from gan_pde.nn.poincare import (  # noqa: E402
    NeuralPoincareConfig,
    augment_images,
    estimate_poincare_constant,
    fem_mixture_poincare,
    load_digits_images,
    poincare_study,
)


@pytest.fixture(autouse=True)
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def exact_quotient(estimate, nodes: np.ndarray, weights: np.ndarray) -> float:
    """E|∇w|² / Var w with the expectations of a 1D law given by a quadrature rule."""
    w, grad = estimate.function(nodes[:, None])
    mean = np.sum(weights * w)
    return float(np.sum(weights * grad[:, 0] ** 2) / np.sum(weights * (w - mean) ** 2))


def gauss_hermite(mean: float, std: float, n: int = 120) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.hermite_e.hermegauss(n)
    return mean + std * x, w / w.sum()


def test_doctests():
    assert doctest.testmod(poincare, optionflags=doctest.ELLIPSIS).failed == 0


def test_quotient_is_loss_32_with_centring():
    # w(x) = x1² + 3 x2 on given points: (32) is mean|∇w|² / (mean w² − (mean w)²)
    x = np.random.default_rng(0).normal(size=(50, 2))

    def model(_params, t):
        return (t[:, :1] ** 2 + 3 * t[:, 1:]) + 100.0  # a constant shift changes nothing

    xt = torch.as_tensor(x)
    xi, se = poincare._held_out(model, {}, xt)
    w = x[:, 0] ** 2 + 3 * x[:, 1]
    g = 4 * x[:, 0] ** 2 + 9
    expected = g.mean() / (np.mean(w**2) - np.mean(w) ** 2)
    assert xi == pytest.approx(expected, rel=1e-12)
    assert float(poincare._rayleigh(model, {}, xt).detach()) == pytest.approx(expected, rel=1e-12)
    assert se > 0


def test_gaussian_estimate_is_one_over_variance_and_an_upper_bound():
    sigma = 2.0
    x = np.random.default_rng(1).normal(scale=sigma, size=(2000, 1))
    est = estimate_poincare_constant(x, hidden=(16,), steps=300, holdout=0.5, device="cpu")
    exact = 1.0 / sigma**2
    # held-out estimate: Monte-Carlo error; for w ≈ linear the quotient is 1/(sample variance
    # of 1000 held-out points), relative s.e. sqrt(2/1000) = 4.5 %; allow 4 s.e.
    assert abs(est.xi_min - exact) < 4 * est.standard_error
    # the delta-method s.e. is that of the sample variance: xi·sqrt(2/n) for Gaussian data
    assert est.standard_error == pytest.approx(exact * math.sqrt(2 / 1000), rel=0.25)
    # with exact expectations (Gauss–Hermite, exact to round-off for this smooth w) the
    # quotient of any w is >= ξ_min = 1/σ²; it is within 3 % (optimisation error of 300
    # Adam steps, measured 0.5 %)
    q = exact_quotient(est, *gauss_hermite(0.0, sigma))
    assert q >= exact * (1 - 1e-10)
    assert q <= exact * 1.03
    assert est.curve.shape == (300,) and est.device == "cpu" and est.seed == 0
    assert est.n_train == 1000 and est.n_holdout == 1000


def test_mixture_network_quotient_is_close_to_fem_and_above_it():
    # ½N(−1.5, 1) + ½N(1.5, 1): FEM ξ_min = 0.25722 (P2, error ~1e-9)
    fem = fem_mixture_poincare(1, 3.0)
    x = poincare._mixture(1, 3.0).sample(2500, rng=2)
    est = estimate_poincare_constant(
        x, hidden=(32, 32), steps=300, lr=1e-2, holdout=0.2, device="cpu"
    )
    # exact expectations by Gauss–Hermite on each component (w smooth: the rule is exact
    # to ~1e-12): an upper bound of ξ_min, within 3 % after 300 steps (measured ~1 %)
    nodes = np.concatenate([gauss_hermite(-1.5, 1.0)[0], gauss_hermite(1.5, 1.0)[0]])
    weights = 0.5 * np.concatenate([gauss_hermite(-1.5, 1.0)[1], gauss_hermite(1.5, 1.0)[1]])
    q = exact_quotient(est, nodes, weights)
    assert fem * (1 - 1e-8) <= q <= fem * 1.03
    # the held-out estimate agrees within its Monte-Carlo error (4 s.e.) plus that 3 %
    assert abs(est.xi_min - fem) < 4 * est.standard_error + 0.03 * fem


def test_reproducible_with_a_seed():
    x = np.random.default_rng(3).normal(size=(200, 2))
    options = {"hidden": (8,), "steps": 20, "device": "cpu", "batch_size": 64}
    a = estimate_poincare_constant(x, seed=5, **options)
    b = estimate_poincare_constant(x, seed=5, **options)
    c = estimate_poincare_constant(x, seed=6, **options)
    np.testing.assert_array_equal(a.curve, b.curve)
    assert a.xi_min == b.xi_min
    assert not np.array_equal(a.curve, c.curve)


def test_spectral_norm_bounds_the_gradient():
    # every layer has operator norm 1 and tanh is 1-Lipschitz: |∇w| <= g/s in x
    x = np.random.default_rng(4).normal(size=(300, 3))
    est = estimate_poincare_constant(x, hidden=(16, 16), steps=30, device="cpu", input_gain=2.5)
    scale = est.info["standardisation"]["scale"]
    _, grad = est.function(np.random.default_rng(5).normal(size=(500, 3)) * 3)
    assert np.linalg.norm(grad, axis=1).max() <= (1 + 1e-12) * 2.5 / scale


def test_bad_inputs():
    x = np.random.default_rng(6).normal(size=(40, 1))
    with pytest.raises(InvalidInputError, match="finite"):
        estimate_poincare_constant(np.where(np.arange(40)[:, None] == 3, np.nan, x))
    with pytest.raises(InvalidInputError, match="n >= 8"):
        estimate_poincare_constant(x[:5])
    with pytest.raises(InvalidInputError, match="all equal"):
        estimate_poincare_constant(np.ones((20, 2)))
    with pytest.raises(InvalidInputError, match="steps"):
        estimate_poincare_constant(x, steps=0, device="cpu")
    with pytest.raises(InvalidInputError, match="lr"):
        estimate_poincare_constant(x, lr=-1.0, device="cpu")
    with pytest.raises(InvalidInputError, match="input_gain"):
        estimate_poincare_constant(x, input_gain=0.0, device="cpu")
    with pytest.raises(InvalidInputError, match="holdout"):
        estimate_poincare_constant(x, holdout=1.5, device="cpu")
    with pytest.raises(InvalidInputError, match="device"):
        estimate_poincare_constant(x, device="tpu")
    if not torch.cuda.is_available():
        with pytest.raises(InvalidInputError, match="no CUDA GPU"):
            estimate_poincare_constant(x, device="cuda")
    with pytest.raises(InvalidInputError, match="dtype"):
        estimate_poincare_constant(x, dtype=torch.int64, device="cpu")
    with pytest.raises(InvalidInputError, match="kind='zoom'"):
        augment_images(np.zeros((2, 8, 8)), "zoom", 1.0)
    with pytest.raises(InvalidInputError, match="strength"):
        augment_images(np.zeros((2, 8, 8)), "blur", -1.0)
    with pytest.raises(InvalidInputError, match=r"\(n, h, w\)"):
        augment_images(np.zeros((8, 8)), "blur", 1.0)
    with pytest.raises(InvalidInputError, match="dim"):
        fem_mixture_poincare(3, 1.0)


def test_augmentations():
    images = load_digits_images()
    assert images.shape == (1797, 8, 8)
    assert images.min() == 0.0 and images.max() == 1.0
    few = images[:20]
    for kind in poincare.IMAGE_AUGMENTATIONS:
        # strength 0 leaves every image unchanged (s ~ U[0, 0] = 0)
        np.testing.assert_allclose(augment_images(few, kind, 0.0), few, atol=1e-12)
        out = augment_images(few, kind, 2.0, seed=1)
        assert out.shape == few.shape and not np.allclose(out, few)
    # a whole-pixel shift of an interior pixel moves it without loss (linear interpolation)
    img = np.zeros((1, 8, 8))
    img[0, 4, 4] = 1.0
    blurred = augment_images(img, "blur", 1.5)
    assert blurred.sum() == pytest.approx(1.0, rel=1e-3)  # Gaussian blur keeps the mass
    cut = augment_images(np.ones((30, 8, 8)), "cutout", 3.0, seed=2)
    side = np.ceil(np.random.default_rng(2).uniform(0.0, 3.0, size=30))
    np.testing.assert_array_equal((cut == 0).sum(axis=(1, 2)), side**2)


def test_digits_need_scikit_learn(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(MissingDependencyError, match="scikit-learn"):
        load_digits_images()


def test_study_small():
    study = poincare_study(
        separations=(3.0,),
        dims=(1,),
        n_train=300,
        n_holdout=100,
        mixture_steps=15,
        augmentations=("blur",),
        strengths=(1.0,),
        digit_steps=10,
        hidden=(8,),
        device="cpu",
    )
    assert [r["dim"] for r in study.mixtures] == [1]
    row = study.mixtures[0]
    assert row["relative_error"] == pytest.approx(row["neural"] / row["fem"] - 1, rel=1e-12)
    assert [(r["kind"], r["strength"]) for r in study.digits] == [("none", 0.0), ("blur", 1.0)]
    assert study.digits[0]["ratio"] == 1.0
    assert "| blur | 1 |" in study.table()
    with pytest.raises(InvalidInputError, match="augmentations"):
        poincare_study(augmentations=("zoom",))


def test_callback_sees_the_network_and_can_stop():
    x = np.random.default_rng(7).normal(size=(100, 1))
    seen = []

    def callback(step, loss, function):
        w, grad = function(np.zeros((2, 1)))
        seen.append((step, loss, w.shape, grad.shape))
        return step == 4

    est = estimate_poincare_constant(x, hidden=(4,), steps=50, device="cpu", callback=callback)
    assert [s[0] for s in seen] == [1, 2, 3, 4]
    assert est.curve.shape == (4,) and est.info["steps_done"] == 4
    np.testing.assert_array_equal(est.curve, [s[1] for s in seen])
    assert seen[0][2:] == ((2,), (2, 1))


def test_nan_loss_stops_with_a_clear_error(monkeypatch):
    x = np.random.default_rng(8).normal(size=(100, 1))
    calls = []
    original = poincare._rayleigh

    def failing(*args):
        calls.append(1)
        value = original(*args)
        return value * float("nan") if len(calls) == 3 else value

    monkeypatch.setattr(poincare, "_rayleigh", failing)
    with pytest.raises(NumericalBreakdownError, match="at step 2 of 10.*last finite loss"):
        estimate_poincare_constant(x, hidden=(4,), steps=10, device="cpu")


# ---------------------------------------------------------------- the options as a config


def test_config_and_keyword_calls_are_the_same_run():
    x = np.random.default_rng(9).normal(size=(120, 2))
    options = {"hidden": (6,), "steps": 12, "device": "cpu", "batch_size": 32, "seed": 3}
    by_keywords = estimate_poincare_constant(x, **options)
    by_config = estimate_poincare_constant(x, config=NeuralPoincareConfig(**options))
    # keywords are set over the config's fields
    overridden = estimate_poincare_constant(
        x, config=NeuralPoincareConfig(**{**options, "steps": 3, "seed": 8}), steps=12, seed=3
    )
    for est in (by_config, overridden):
        assert est.curve.tobytes() == by_keywords.curve.tobytes()
        assert est.xi_min == by_keywords.xi_min and est.info == by_keywords.info
    config = NeuralPoincareConfig(hidden=[8, 4], device="cpu")
    assert config.hidden == (8, 4) and config.as_dict()["hidden"] == [8, 4]
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.steps = 5


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("steps", 0, "steps must be a positive integer; got steps=0"),
        ("lr", float("nan"), "lr must be a positive finite number"),
        ("hidden", (8, 0), "hidden must be an integer >= 1; got hidden=0"),
        ("activation", "swish", "activation must be one of"),
        ("spectral_norm", 1, "spectral_norm must be True or False"),
        ("batch_size", 1, "batch_size must be an integer >= 2"),
        ("holdout", 0.0, "holdout must be a fraction in"),
        ("input_gain", -2.0, "input_gain must be a positive finite number"),
        ("seed", -1, "seed must be an integer >= 0"),
        ("device", "tpu", "device must be one of"),
        ("dtype", "float16", "dtype must be torch.float64 or torch.float32"),
    ],
)
def test_a_bad_field_is_named_in_the_config_and_in_the_keyword_call(field, value, match):
    with pytest.raises(InvalidInputError, match=match):
        NeuralPoincareConfig(**{field: value})
    x = np.random.default_rng(10).normal(size=(40, 1))
    with pytest.raises(InvalidInputError, match=match):
        estimate_poincare_constant(x, **{field: value})


def test_unknown_options_and_configs_are_named():
    x = np.random.default_rng(11).normal(size=(40, 1))
    with pytest.raises(InvalidInputError, match="no option 'stepz'.*steps"):
        estimate_poincare_constant(x, stepz=10)
    with pytest.raises(InvalidInputError, match="config must be a NeuralPoincareConfig"):
        estimate_poincare_constant(x, config={"steps": 10})
    # the study checks the estimator's options before its first (long) estimate
    with pytest.raises(InvalidInputError, match="hidden"):
        poincare_study(hidden=(0,), device="cpu")
