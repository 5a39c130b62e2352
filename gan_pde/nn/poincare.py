r"""The variational (neural) Poincaré estimator of paper 004, (30)–(32).

The Poincaré constant :math:`\xi_{\min}` of μ, the smallest non-zero eigenvalue of the
weighted Laplacian :math:`-\Delta_\mu`, is the minimum of the Rayleigh quotient (30) over
:math:`w \perp 1` in :math:`L^2(\mu)`.  Since :math:`\nabla(w - c) = \nabla w`, the constraint
is removed by centring (31),

.. math::

    \xi_{\min} = \min_{w}\ \frac{\mathbb E_\mu|\nabla w|^2}{\operatorname{Var}_\mu w},

and on a batch :math:`X_1, \dots, X_N` of samples the loss (32) of a network :math:`w_\theta`
is the same quotient of empirical moments,

.. math::

    \mathcal L(\theta) = \frac{\frac1N\sum_i|\nabla_x w_\theta(X_i)|^2}
        {\frac1N\sum_i\bigl(w_\theta(X_i) - \bar w\bigr)^2},
    \qquad \bar w = \frac1N\sum_i w_\theta(X_i)

(the extraction of (32) writes :math:`f(X_i)^2` in the denominator; it is
:math:`w(X_i)^2`, and the centred form above is the same number, computed without
cancellation).  With exact expectations every w gives an upper bound of
:math:`\xi_{\min}`; with samples the training quotient can fall below it (over-fitting the
gaps between samples), so the estimate is the quotient on held-out samples, reported with
its delta-method standard error.  The network is an MLP with spectral normalisation
(Miyato et al., as in the paper), applied to standardised inputs
:math:`g\,(x - m)/s` (an affine change of variables; the gradient is taken in x; the gain g
sets the finest scale a 1-Lipschitz network resolves, see ``input_gain``).

:func:`poincare_study` compares the estimate with the FEM :math:`\xi_{\min}`
(:func:`gan_pde.weighted_laplacian_spectrum`) on two-Gaussian mixtures in 1D and 2D, and
measures :math:`\xi_{\min}` of scikit-learn's digits under augmentations, in the spirit of
the paper's Figure 4.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from gan_pde._arrays import (
    as_finite_array,
    as_flag,
    as_non_negative,
    as_positive,
    as_positive_int,
)
from gan_pde.errors import InvalidInputError, MissingDependencyError, NumericalBreakdownError
from gan_pde.nn._torch import make_generator, require_torch, select_device, torch_versions

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

__all__ = [
    "IMAGE_AUGMENTATIONS",
    "NeuralPoincareConfig",
    "PoincareEstimate",
    "PoincareStudy",
    "augment_images",
    "estimate_poincare_constant",
    "fem_mixture_poincare",
    "load_digits_images",
    "poincare_study",
]

logger = logging.getLogger(__name__)

#: Augmentations of :func:`augment_images` (image data sets, Figure 4 of paper 004).
IMAGE_AUGMENTATIONS = ("noise", "translation", "rotation", "blur", "cutout")
#: Rows of the held-out set evaluated at once (bounds the double-backward memory).
_EVAL_CHUNK = 8192


@dataclass(frozen=True)
class PoincareEstimate:
    r"""The result of :func:`estimate_poincare_constant`.

    Attributes
    ----------
    xi_min
        The Rayleigh quotient (31) of the trained network on the held-out samples: the
        estimate of :math:`\xi_{\min}` (an upper bound in the limit of exact expectations).
    standard_error
        Delta-method standard error of ``xi_min`` from the held-out samples,
        :math:`\hat\xi\sqrt{\operatorname{Var}(g/A - v/B)/n}` with :math:`g = |\nabla w|^2`,
        :math:`v = (w - \bar w)^2`, :math:`A = \bar g`, :math:`B = \bar v`.
    train_quotient
        The quotient on the whole training set at the end.
    curve
        The batch loss (32) at every step, shape ``(steps,)``.
    seconds
        Wall time of the training and evaluation.
    device, seed
        Where and with which seed it ran.
    n_train, n_holdout
        Sizes of the two sample sets.
    info
        Options (hidden widths, steps, lr, batch size, dtype, spectral normalisation,
        standardisation) and versions.
    holdout_index
        The rows of ``samples`` that were held out (the estimate is their quotient).
    """

    xi_min: float
    standard_error: float
    train_quotient: float
    curve: np.ndarray = field(repr=False)
    seconds: float
    device: str
    seed: int
    n_train: int
    n_holdout: int
    function: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] = field(repr=False)
    info: dict[str, Any] = field(default_factory=dict, repr=False)
    holdout_index: np.ndarray | None = field(default=None, repr=False)


def _samples(samples: ArrayLike) -> np.ndarray:
    try:
        x = np.asarray(samples, dtype=float)
    except (TypeError, ValueError) as exc:
        msg = f"samples must be a real array of shape (n, d); got {type(samples).__name__}"
        raise InvalidInputError(msg) from exc
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] == 0 or x.shape[0] < 8:
        msg = f"samples must have shape (n, d) with n >= 8 and d >= 1; got shape {x.shape}"
        raise InvalidInputError(msg)
    x = as_finite_array(x, "samples")
    if float(np.var(x, axis=0).sum()) <= 0.0:
        msg = "samples are all equal: the variance in (31) vanishes and ξ_min is undefined"
        raise InvalidInputError(msg)
    return x


def _int_option(value: object, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        msg = f"{name} must be an integer >= {minimum}; got {name}={value!r}"
        raise InvalidInputError(msg)
    return int(value)


@dataclass(frozen=True)
class NeuralPoincareConfig:
    r"""The options of :func:`estimate_poincare_constant`, checked once when it is made.

    Attributes
    ----------
    seed
        Seeds the split, the initial weights and the mini-batches; the same seed gives
        the same result on the same device.
    hidden
        Hidden widths of the MLP.
    activation
        Activation of :class:`gan_pde.nn.MLP` (smooth ones suit a gradient loss).
    steps
        Adam steps.
    lr
        Adam learning rate.
    device
        ``None`` (CUDA if available), ``"cpu"`` or ``"cuda"``.
    spectral_norm
        Normalise every weight matrix by its largest singular value (paper 004, Section 6).
    batch_size
        Samples per step (>= 2); ``None`` uses the whole training set (deterministic
        descent).
    holdout
        Fraction of the samples held out for the estimate, in (0, 1).
    dtype
        torch dtype, ``torch.float64`` (default, ``None``) or ``torch.float32``.
    input_gain
        The network sees :math:`g\,(x - m)/s` (m, s: mean and total standard deviation of
        the training part).  With spectral normalisation the network is 1-Lipschitz in its
        input, so a function of unit amplitude cannot vary on scales finer than
        :math:`s/g`; the quotient is scale invariant, so g only sets that resolution.
        g = 1 biases sharp eigenfunctions upwards (measured on the mixture with M = 4:
        +4.2 % after 300 steps and +2.1 % after 1000; g = 4: +0.4 % after 300).

    Raises
    ------
    InvalidInputError
        Naming the field, for a value out of its range, an unknown device or activation,
        or CUDA without a GPU.

    Examples
    --------
    >>> config = NeuralPoincareConfig(hidden=[16], steps=200, device="cpu")
    >>> config.hidden, config.lr
    ((16,), 0.003)
    >>> NeuralPoincareConfig(holdout=1.5)
    Traceback (most recent call last):
    ...
    gan_pde.errors.InvalidInputError: holdout must be a fraction in (0, 1); got holdout=1.5
    """

    seed: int = 0
    hidden: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    steps: int = 2000
    lr: float = 3e-3
    device: str | Any | None = None
    spectral_norm: bool = True
    batch_size: int | None = None
    holdout: float = 0.25
    dtype: Any = None
    input_gain: float = 4.0

    def __post_init__(self) -> None:
        from gan_pde.nn.networks import _ACTIVATIONS

        torch = require_torch()
        checked: dict[str, Any] = {
            "seed": _int_option(self.seed, "seed", 0),
            "steps": as_positive_int(self.steps, "steps"),
            "lr": as_positive(self.lr, "lr"),
            "input_gain": as_positive(self.input_gain, "input_gain"),
            "spectral_norm": as_flag(self.spectral_norm, "spectral_norm"),
        }
        try:
            hidden = tuple(self.hidden)
        except TypeError:
            hidden = (self.hidden,)
        checked["hidden"] = tuple(_int_option(h, "hidden", 1) for h in hidden)
        if self.activation not in _ACTIVATIONS:
            msg = f"activation must be one of {sorted(_ACTIVATIONS)}; got {self.activation!r}"
            raise InvalidInputError(msg)
        if self.batch_size is not None:
            checked["batch_size"] = _int_option(self.batch_size, "batch_size", 2)
        frac = float(self.holdout) if isinstance(self.holdout, (int, float)) else math.nan
        if not 0.0 < frac < 1.0:
            msg = f"holdout must be a fraction in (0, 1); got holdout={self.holdout!r}"
            raise InvalidInputError(msg)
        checked["holdout"] = frac
        if self.dtype not in (None, torch.float64, torch.float32):
            msg = f"dtype must be torch.float64 or torch.float32; got {self.dtype!r}"
            raise InvalidInputError(msg)
        select_device(self.device)
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        """The fields as JSON-ready values (device and dtype as their names).

        >>> NeuralPoincareConfig(device="cpu").as_dict()["device"]
        'cpu'
        """
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["hidden"] = list(self.hidden)
        out["device"] = None if self.device is None else str(self.device)
        out["dtype"] = None if self.dtype is None else str(self.dtype)
        return out


def _quotient_terms(net: Any, params: dict[str, Any], x: Any, *, create_graph: bool) -> Any:
    """:math:`(|\\nabla_x w|^2, w)` at the rows of x, each of shape ``(n,)``."""
    torch = require_torch()
    x = x.detach().requires_grad_(True)
    w = net(params, x)[:, 0]
    (grad,) = torch.autograd.grad(w.sum(), x, create_graph=create_graph)
    return (grad * grad).sum(dim=1), w


def _rayleigh(net: Any, params: dict[str, Any], x: Any) -> Any:
    g, w = _quotient_terms(net, params, x, create_graph=True)
    centred = w - w.mean()
    return g.mean() / (centred * centred).mean()


def _held_out(net: Any, params: dict[str, Any], x: Any) -> tuple[float, float]:
    """Quotient on ``x`` (chunked) and its delta-method standard error."""
    torch = require_torch()
    gs, ws = [], []
    for start in range(0, x.shape[0], _EVAL_CHUNK):
        g, w = _quotient_terms(net, params, x[start : start + _EVAL_CHUNK], create_graph=False)
        gs.append(g.detach())
        ws.append(w.detach())
    g = torch.cat(gs).cpu().numpy()
    w = torch.cat(ws).cpu().numpy()
    v = (w - w.mean()) ** 2
    a, b = float(g.mean()), float(v.mean())
    if not (math.isfinite(a) and math.isfinite(b)) or b <= 0.0:
        msg = f"the held-out Rayleigh quotient is undefined (E|grad w|^2 = {a}, Var w = {b})"
        raise NumericalBreakdownError(msg)
    xi = a / b
    se = xi * float(np.std(g / a - v / b, ddof=1)) / math.sqrt(g.size)
    return xi, se


def estimate_poincare_constant(
    samples: ArrayLike,
    *,
    config: NeuralPoincareConfig | None = None,
    callback: Callable[[int, float, Callable[..., Any]], bool | None] | None = None,
    **options: Any,
) -> PoincareEstimate:
    r"""Estimate :math:`\xi_{\min}` of the law of ``samples`` with a neural network.

    Minimises the empirical Rayleigh quotient (32) (see the module docstring) over the
    parameters of a spectrally normalised MLP with Adam, on a training part of the samples,
    and returns the quotient on the held-out part.

    Parameters
    ----------
    samples
        Draws from μ, shape ``(n, d)`` (``(n,)`` for d = 1), finite, n >= 8.
    config
        The options (:class:`NeuralPoincareConfig`; default: its defaults).
    callback
        Called after every step as ``callback(step, loss, function)`` with the number of
        steps done, the batch loss and the current network as a numpy function (see
        :attr:`PoincareEstimate.function`); returning True stops the training there (the
        curve then ends at that step).
    **options
        Fields of :class:`NeuralPoincareConfig` (``seed``, ``hidden``, ``activation``,
        ``steps``, ``lr``, ``device``, ``spectral_norm``, ``batch_size``, ``holdout``,
        ``dtype``, ``input_gain``) set over those of ``config``: the keyword call
        ``estimate_poincare_constant(x, steps=500, seed=1)`` is the same as
        ``estimate_poincare_constant(x, config=NeuralPoincareConfig(steps=500, seed=1))``.

    Returns
    -------
    PoincareEstimate

    Raises
    ------
    InvalidInputError
        For bad samples, an unknown option or a bad one (named), an unknown device or
        CUDA without a GPU.
    NumericalBreakdownError
        If the loss becomes NaN/Inf (the message gives the step).

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(scale=2.0, size=(400, 1))
    >>> est = estimate_poincare_constant(x, hidden=(16,), steps=200, device="cpu")
    >>> bool(abs(est.xi_min - 0.25) < 0.05)   # 1/σ² for N(0, σ²)
    True
    """
    config = _config(config, options)
    from gan_pde.nn.networks import MLP

    torch = require_torch()
    data = _samples(samples)
    steps, lr, gain = config.steps, config.lr, config.input_gain
    n = data.shape[0]
    n_holdout = int(round(config.holdout * n))
    if n_holdout < 4 or n - n_holdout < 4:
        msg = f"holdout={config.holdout!r} leaves fewer than 4 samples in a part of n = {n} samples"
        raise InvalidInputError(msg)
    n_train = n - n_holdout
    batch = min(n_train if config.batch_size is None else config.batch_size, n_train)
    dev = select_device(config.device)
    dtype = torch.float64 if config.dtype is None else config.dtype
    generator = make_generator(config.seed)
    net = MLP(
        data.shape[1],
        1,
        hidden=config.hidden,
        activation=config.activation,
        spectral_norm=config.spectral_norm,
    )

    start = time.perf_counter()
    order = torch.randperm(n, generator=generator).numpy()
    train_np, test_np = data[order[:n_train]], data[order[n_train:]]
    centre = train_np.mean(axis=0)
    scale = math.sqrt(float(train_np.var(axis=0).sum()))
    if scale == 0.0:
        msg = "the training part of the samples has zero variance; use more distinct samples"
        raise InvalidInputError(msg)
    train = torch.as_tensor(train_np, dtype=dtype, device=dev)
    test = torch.as_tensor(test_np, dtype=dtype, device=dev)
    shift = torch.as_tensor(centre, dtype=dtype, device=dev)
    params = net.init(generator, dtype=dtype, device=dev)

    def model(p: dict[str, Any], x: Any) -> Any:
        return net(p, (x - shift) * (gain / scale))

    leaves = [p.requires_grad_(True) for p in params.values()]
    optimiser = torch.optim.Adam(leaves, lr=lr)

    def numpy_function(p: dict[str, Any]) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
        def function(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            x = torch.as_tensor(np.asarray(points, dtype=float), dtype=dtype, device=dev)
            if x.ndim != 2 or x.shape[1] != data.shape[1]:
                msg = f"points must have shape (m, {data.shape[1]}); got {tuple(x.shape)}"
                raise InvalidInputError(msg)
            x.requires_grad_(True)
            w = model(p, x)[:, 0]
            (grad,) = torch.autograd.grad(w.sum(), x)
            return w.detach().cpu().numpy(), grad.cpu().numpy()

        return function

    curve = np.empty(steps)
    done = steps
    for step in range(steps):
        if batch < n_train:
            idx = torch.randperm(n_train, generator=generator)[:batch].to(dev)
            x = train[idx]
        else:
            x = train
        loss = _rayleigh(model, params, x)
        if not torch.isfinite(loss):
            last = f"; the last finite loss was {curve[step - 1]:.6g}" if step else ""
            msg = (
                f"the Rayleigh quotient became {float(loss.detach())} at step {step} of "
                f"{steps} (lr={lr}){last}; lower lr or check the samples"
            )
            raise NumericalBreakdownError(msg)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        curve[step] = float(loss.detach())
        if callback is not None and callback(
            step + 1, curve[step], numpy_function({k: v.detach() for k, v in params.items()})
        ):
            done = step + 1
            break
    frozen = {k: v.detach() for k, v in params.items()}
    train_quotient, _ = _held_out(model, frozen, train)
    xi, se = _held_out(model, frozen, test)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    seconds = time.perf_counter() - start
    logger.debug("neural xi_min %.6g ± %.2g in %.2fs on %s", xi, se, seconds, dev)
    return PoincareEstimate(
        xi_min=xi,
        standard_error=se,
        train_quotient=train_quotient,
        curve=curve[:done],
        seconds=seconds,
        device=str(dev),
        seed=config.seed,
        n_train=n_train,
        n_holdout=n_holdout,
        function=numpy_function(frozen),
        info={
            "hidden": list(net.hidden),
            "activation": config.activation,
            "steps": steps,
            "steps_done": done,
            "lr": lr,
            "batch_size": batch,
            "dtype": str(dtype),
            "spectral_norm": config.spectral_norm,
            "standardisation": {"centre": centre.tolist(), "scale": scale, "gain": gain},
            "versions": torch_versions(),
        },
        holdout_index=np.sort(order[n_train:]),
    )


def _config(config: NeuralPoincareConfig | None, options: dict[str, Any]) -> NeuralPoincareConfig:
    """``config`` (or the defaults) with the keyword ``options`` set over its fields."""
    if config is None:
        return NeuralPoincareConfig(**_known(options))
    if not isinstance(config, NeuralPoincareConfig):
        msg = f"config must be a NeuralPoincareConfig or None; got {type(config).__name__}"
        raise InvalidInputError(msg)
    return replace(config, **_known(options)) if options else config


def _known(options: dict[str, Any]) -> dict[str, Any]:
    """``options``, or InvalidInputError naming those that are no field of the config."""
    names = [f.name for f in fields(NeuralPoincareConfig)]
    unknown = sorted(set(options) - set(names))
    if unknown:
        msg = (
            f"estimate_poincare_constant has no option {', '.join(map(repr, unknown))}; the "
            f"options are the fields of NeuralPoincareConfig: {', '.join(names)}"
        )
        raise InvalidInputError(msg)
    return options


# --------------------------------------------------------------------------------------------
# references and data for the study
# --------------------------------------------------------------------------------------------


def _mixture(dim: int, separation: float) -> Any:
    """½N(−M/2·e₁, I) + ½N(M/2·e₁, I) in dimension 1 or 2."""
    from gan_pde.densities import GaussianMixture

    half = 0.5 * separation
    means = [[-half], [half]] if dim == 1 else [[-half, 0.0], [half, 0.0]]
    return GaussianMixture(means=means, stds=[1.0, 1.0])


def fem_mixture_poincare(dim: int, separation: float, *, cells: int | None = None) -> float:
    r"""FEM :math:`\xi_{\min}` of :math:`\tfrac12\mathcal N(-\tfrac M2e_1, I) +
    \tfrac12\mathcal N(\tfrac M2e_1, I)` (P2, natural boundary conditions).

    The box reaches 9 standard deviations beyond the means (the truncation changes
    :math:`\xi_{\min}` by about :math:`e^{-40}`); 1D: 600 cells (P2 error ~1e-9), 2D: the
    spectrum is that of the 1D mixture plus the Hermite spectrum 1, 2, ... of N(0, 1) in the
    second variable, so :math:`\xi_{\min}` = min(1D value, 1) — computed on a 2D mesh of
    ``cells`` × ``cells`` P2 cells (default 40, error ~1e-5) to check that too.

    Examples
    --------
    >>> round(fem_mixture_poincare(1, 0.0), 6)   # N(0, 1): ξ_min = 1
    1.0
    """
    from gan_pde.mesh import interval, rectangle
    from gan_pde.spectral.weighted_laplacian import weighted_laplacian_spectrum

    if dim not in (1, 2):
        msg = f"dim must be 1 or 2; got dim={dim!r}"
        raise InvalidInputError(msg)
    sep = as_non_negative(separation, "separation")
    reach = 0.5 * sep + 9.0
    if dim == 1:
        mesh = interval(-reach, reach, n=cells or 600)
    else:
        mesh = rectangle((-reach, reach), (-9.0, 9.0), n=cells or 40)
    spectrum = weighted_laplacian_spectrum(_mixture(dim, sep), mesh, k=3, element="P2")
    return float(spectrum.poincare_constant)


def load_digits_images() -> np.ndarray:
    """scikit-learn's bundled digits as images in [0, 1], shape ``(1797, 8, 8)``.

    Raises
    ------
    MissingDependencyError
        If scikit-learn is not installed.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:
        msg = (
            "the digits data set needs scikit-learn, which is not installed; install it with: "
            "pip install scikit-learn"
        )
        raise MissingDependencyError(msg) from exc
    return np.asarray(load_digits().images, dtype=float) / 16.0


def augment_images(images: ArrayLike, kind: str, strength: float, *, seed: int = 0) -> np.ndarray:
    r"""One augmented copy of a set of grey images, each with a random strength in [0, λ].

    As in the paper's CIFAR-10 study (after Zhao et al. 2020), every image gets its own
    strength :math:`s \sim U[0, \lambda]`:

    - ``"noise"``: :math:`x + s\,\varepsilon`, ε ~ N(0, I) per pixel (a visual change);
    - ``"translation"``: shift by :math:`(s\cos\phi, s\sin\phi)` pixels, φ uniform, linear
      interpolation, zero fill;
    - ``"rotation"``: rotation by ±s degrees about the centre (linear interpolation);
    - ``"blur"``: Gaussian blur of width s pixels;
    - ``"cutout"``: a square of side :math:`\lceil s\rceil` pixels set to 0 at a random place.

    Parameters
    ----------
    images
        Shape ``(n, h, w)``.
    kind
        One of :data:`IMAGE_AUGMENTATIONS`.
    strength
        λ >= 0 (pixels for translation, blur and cutout, degrees for rotation, the noise
        standard deviation for noise).
    seed
        Seed of the strengths and directions.

    Examples
    --------
    >>> img = np.zeros((1, 8, 8)); img[0, 4, 4] = 1.0
    >>> bool(np.allclose(augment_images(img, "blur", 0.0), img))
    True
    """
    from scipy import ndimage

    x = as_finite_array(images, "images")
    if x.ndim != 3 or x.shape[0] == 0:
        msg = f"images must be an array of shape (n, h, w) with n >= 1; got shape {x.shape}"
        raise InvalidInputError(msg)
    if kind not in IMAGE_AUGMENTATIONS:
        msg = f"kind={kind!r} is not one of {IMAGE_AUGMENTATIONS}"
        raise InvalidInputError(msg)
    lam = as_non_negative(strength, "strength")
    rng = np.random.default_rng(seed)
    s = rng.uniform(0.0, lam, size=x.shape[0])
    if kind == "noise":
        return x + s[:, None, None] * rng.standard_normal(x.shape)
    out = np.empty_like(x)
    for i, image in enumerate(x):
        if kind == "translation":
            phi = rng.uniform(0.0, 2.0 * math.pi)
            shift = (s[i] * math.sin(phi), s[i] * math.cos(phi))
            out[i] = ndimage.shift(image, shift, order=1, mode="constant")
        elif kind == "rotation":
            angle = s[i] * rng.choice([-1.0, 1.0])
            out[i] = ndimage.rotate(image, angle, reshape=False, order=1, mode="constant")
        elif kind == "blur":
            out[i] = ndimage.gaussian_filter(image, s[i]) if s[i] > 0 else image
        else:
            side = math.ceil(s[i])
            out[i] = image
            if side > 0:
                r = rng.integers(0, max(1, image.shape[0] - side + 1))
                c = rng.integers(0, max(1, image.shape[1] - side + 1))
                out[i, r : r + side, c : c + side] = 0.0
    return out


# --------------------------------------------------------------------------------------------
# the study
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PoincareStudy:
    r"""Neural vs FEM :math:`\xi_{\min}` on mixtures, and :math:`\xi_{\min}` of augmented digits.

    Attributes
    ----------
    mixtures
        One row per mixture: ``dim``, ``separation``, ``fem``, ``neural``,
        ``standard_error``, ``relative_error`` (neural/fem − 1), ``seconds``.
    digits
        One row per augmentation and strength: ``kind``, ``strength``, ``xi_min``,
        ``standard_error``, ``ratio`` (to the non-augmented set), ``seconds``.
    device
        Where the networks were trained.
    options
        The options of the study.
    """

    mixtures: list[dict[str, Any]]
    digits: list[dict[str, Any]]
    device: str
    options: dict[str, Any] = field(default_factory=dict)

    def table(self) -> str:
        """The two tables as Markdown."""
        lines = [
            "| d | M | FEM ξ_min | neural ξ_min | ± s.e. | rel. error | s |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {r['dim']} | {r['separation']:g} | {r['fem']:.5f} | {r['neural']:.5f} | "
            f"{r['standard_error']:.5f} | {r['relative_error']:+.2%} | {r['seconds']:.1f} |"
            for r in self.mixtures
        ]
        if self.digits:
            lines += [
                "",
                "| augmentation | λ | ξ_min | ± s.e. | ratio to none | s |",
                "|---|---|---|---|---|---|",
            ]
            lines += [
                f"| {r['kind']} | {r['strength']:g} | {r['xi_min']:.5f} | "
                f"{r['standard_error']:.5f} | {r['ratio']:.3f} | {r['seconds']:.1f} |"
                for r in self.digits
            ]
        return "\n".join(lines)


def poincare_study(
    *,
    separations: Sequence[float] = (3.0, 4.0),
    dims: Sequence[int] = (1, 2),
    n_train: int = 3000,
    n_holdout: int = 20000,
    mixture_steps: int = 600,
    digits: bool = True,
    augmentations: Sequence[str] = IMAGE_AUGMENTATIONS,
    strengths: Sequence[float] = (1.0, 2.0, 3.0),
    digit_steps: int = 1500,
    digit_holdout: float = 0.5,
    seed: int = 0,
    device: str | Any | None = None,
    **options: Any,
) -> PoincareStudy:
    r"""Neural vs FEM :math:`\xi_{\min}`, and :math:`\xi_{\min}` of augmented digits.

    (a) For each dimension and separation M, ``n_train + n_holdout`` draws of the mixture
    :math:`\tfrac12\mathcal N(-\tfrac M2e_1, I) + \tfrac12\mathcal N(\tfrac M2e_1, I)` give
    :func:`estimate_poincare_constant` (``mixture_steps`` steps) its training and held-out
    sets; the held-out estimate is compared with :func:`fem_mixture_poincare`.
    (b) With ``digits``, each of the 1797 digits (8×8, 64 dimensions, pixels in [0, 1]) is
    augmented once (:func:`augment_images`, random strength in [0, λ]) and
    :math:`\xi_{\min}` is estimated (``digit_steps`` steps, a fraction ``digit_holdout``
    held out) for each augmentation and λ, and for the data set itself (λ = 0).  Every image
    appears once, so no held-out sample is a copy of a training one.

    Parameters
    ----------
    separations, dims
        Mixtures of part (a).
    n_train, n_holdout, mixture_steps
        Sample sizes and Adam steps of part (a).
    digits
        Run part (b) (needs scikit-learn).
    augmentations, strengths, digit_steps, digit_holdout
        Part (b): kinds from :data:`IMAGE_AUGMENTATIONS`, the λ values, the Adam steps and
        the held-out fraction.
    seed
        Seed of the samples, augmentations and networks.
    device
        Passed to :func:`estimate_poincare_constant`.
    **options
        Further options of :func:`estimate_poincare_constant`: fields of
        :class:`NeuralPoincareConfig` (``hidden``, ``lr``, ...) or ``config``, a
        :class:`NeuralPoincareConfig` (its ``seed``, ``device``, ``steps`` and ``holdout``
        are those of the study).

    Returns
    -------
    PoincareStudy
    """
    n_train = _int_option(n_train, "n_train", 4)
    n_holdout = _int_option(n_holdout, "n_holdout", 4)
    # the options of the estimator, checked before the first (long) estimate
    _config(options.get("config"), {k: v for k, v in options.items() if k != "config"})
    for kind in augmentations:
        if kind not in IMAGE_AUGMENTATIONS:
            msg = f"augmentations: {kind!r} is not one of {IMAGE_AUGMENTATIONS}"
            raise InvalidInputError(msg)
    rows = []
    used = None
    for dim in dims:
        for sep in separations:
            fem = fem_mixture_poincare(int(dim), float(sep))
            data = _mixture(int(dim), float(sep)).sample(n_train + n_holdout, rng=seed)
            est = estimate_poincare_constant(
                data,
                seed=seed,
                device=device,
                steps=mixture_steps,
                holdout=n_holdout / (n_train + n_holdout),
                **options,
            )
            used = est.device
            rows.append(
                {
                    "dim": int(dim),
                    "separation": float(sep),
                    "fem": fem,
                    "neural": est.xi_min,
                    "standard_error": est.standard_error,
                    "relative_error": est.xi_min / fem - 1.0,
                    "seconds": est.seconds,
                }
            )
            logger.info("mixture d=%d M=%g: %s", dim, sep, rows[-1])
    digit_rows = []
    if digits:
        images = load_digits_images()
        base = None
        cases = [("none", 0.0)] + [(k, float(s)) for k in augmentations for s in strengths]
        for kind, lam in cases:
            data = images if kind == "none" else augment_images(images, kind, lam, seed=seed)
            est = estimate_poincare_constant(
                data.reshape(data.shape[0], -1),
                seed=seed,
                device=device,
                steps=digit_steps,
                holdout=digit_holdout,
                **options,
            )
            used = est.device
            base = est.xi_min if base is None else base
            digit_rows.append(
                {
                    "kind": kind,
                    "strength": lam,
                    "xi_min": est.xi_min,
                    "standard_error": est.standard_error,
                    "ratio": est.xi_min / base,
                    "seconds": est.seconds,
                }
            )
            logger.info("digits %s λ=%g: %s", kind, lam, digit_rows[-1])
    return PoincareStudy(
        mixtures=rows,
        digits=digit_rows,
        device=str(used),
        options={
            "separations": list(map(float, separations)),
            "dims": list(map(int, dims)),
            "n_train": n_train,
            "n_holdout": n_holdout,
            "mixture_steps": mixture_steps,
            "digit_steps": digit_steps,
            "digit_holdout": digit_holdout,
            "seed": seed,
            **{k: _recorded(v) for k, v in options.items()},
        },
    )


def _recorded(value: Any) -> Any:
    """An option of :func:`poincare_study` as JSON-ready data for its record."""
    if isinstance(value, NeuralPoincareConfig):
        return value.as_dict()
    return list(value) if isinstance(value, tuple) else value
