r"""Networks as pure functions of a parameter dictionary (batched with ``torch.func.vmap``).

Each network is a small description object: :meth:`init` draws a parameter dictionary from a
seeded generator and ``net(params, x)`` evaluates it.  Keeping the parameters outside the
network lets one code path train a single run and a vmapped ensemble of runs.

* :class:`MLP` — fully connected, optional (exact) spectral normalisation
  :math:`W \mapsto W/\|W\|_2` of every layer (Miyato et al. 2018, used by paper 004).
* :class:`MeanFieldSigmoidNet` — the one-hidden-layer networks of paper 001, (2)–(3), in the
  mean-field scaling :math:`f(x) = \frac1N\sum_{i=1}^N a_i\,\sigma(b_i\cdot x + c_i)`.
* :class:`FeatureNet` — one hidden layer of fixed Gaussian features and a trained linear
  output (the lazy-training / random-feature limit), optionally orthonormalised in
  :math:`L^2` of a data set so that its parameter gradient flow is the :math:`L^2(\mu)`
  gradient flow projected on its span (a Galerkin method).
* :class:`ParticleGenerator` — a table of samples :math:`G(i) = x_i` (paper 002: with it,
  Algorithm 2 is the explicit Euler scheme of the particle ODE (5)).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from gan_pde._arrays import as_positive, as_positive_int
from gan_pde.errors import InvalidInputError
from gan_pde.nn._torch import require_torch

torch = require_torch()

__all__ = ["MLP", "FeatureNet", "MeanFieldSigmoidNet", "ParticleGenerator"]

_ACTIVATIONS = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "softplus": torch.nn.functional.softplus,
    "elu": torch.nn.functional.elu,
}


def _check_input(x: Any, dim: int, what: str) -> None:
    if x.shape[-1] != dim:
        msg = (
            f"{what} expects inputs of dimension {dim}, got an array of shape "
            f"{tuple(x.shape)}: the data and the network dimensions do not match"
        )
        raise InvalidInputError(msg)


class MLP:
    r"""Fully connected network :math:`x \mapsto W_L\,a(\dots a(W_1x + b_1)\dots) + b_L`.

    Parameters
    ----------
    in_dim, out_dim
        Input and output dimensions.
    hidden
        Widths of the hidden layers.
    activation
        ``"tanh"``, ``"relu"``, ``"sigmoid"``, ``"softplus"`` or ``"elu"``.
    spectral_norm
        Divide every weight matrix by its largest singular value (computed exactly).
    output_scale
        Factor on the initial output layer (0 starts the network at the constant
        ``output_bias``: a discriminator at equilibrium, D ≡ 0).
    output_bias
        Initial bias of the output layer.
    residual
        Return ``x + net(x)`` (needs ``in_dim == out_dim``): a generator near the identity.

    Examples
    --------
    >>> import torch
    >>> from gan_pde.nn._torch import make_generator
    >>> net = MLP(1, 1, hidden=(8,))
    >>> params = net.init(make_generator(0))
    >>> net(params, torch.zeros(5, 1, dtype=torch.float64)).shape
    torch.Size([5, 1])
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        *,
        hidden: Sequence[int] = (32, 32),
        activation: str = "tanh",
        spectral_norm: bool = False,
        output_scale: float = 1.0,
        output_bias: float | Sequence[float] = 0.0,
        residual: bool = False,
    ):
        self.in_dim = as_positive_int(in_dim, "in_dim")
        self.out_dim = as_positive_int(out_dim, "out_dim")
        self.hidden = tuple(as_positive_int(h, f"hidden[{i}]") for i, h in enumerate(hidden))
        if activation not in _ACTIVATIONS:
            msg = f"activation must be one of {sorted(_ACTIVATIONS)}; got {activation!r}"
            raise InvalidInputError(msg)
        if residual and in_dim != out_dim:
            msg = f"residual=True needs in_dim == out_dim; got {in_dim} and {out_dim}"
            raise InvalidInputError(msg)
        self.activation = activation
        self.spectral_norm = bool(spectral_norm)
        self.output_scale = float(output_scale)
        self.output_bias = output_bias
        self.residual = bool(residual)

    def init(self, generator: Any, *, dtype: Any = None, device: Any = None) -> dict[str, Any]:
        """Parameters with the default torch initialisation U(−1/√fan_in, 1/√fan_in)."""
        dtype = torch.float64 if dtype is None else dtype
        sizes = (self.in_dim, *self.hidden, self.out_dim)
        params = {}
        for k, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            bound = 1.0 / math.sqrt(fan_in)
            w = (2.0 * torch.rand(fan_out, fan_in, generator=generator, dtype=dtype) - 1.0) * bound
            b = (2.0 * torch.rand(fan_out, generator=generator, dtype=dtype) - 1.0) * bound
            params[f"w{k}"] = w
            params[f"b{k}"] = b
        last = len(sizes) - 2
        params[f"w{last}"] = params[f"w{last}"] * self.output_scale
        params[f"b{last}"] = params[f"b{last}"] * self.output_scale + torch.as_tensor(
            self.output_bias, dtype=dtype
        )
        return {k: v.to(device) for k, v in params.items()}

    def __call__(self, params: dict[str, Any], x: Any) -> Any:
        _check_input(x, self.in_dim, "MLP")
        act = _ACTIVATIONS[self.activation]
        n_layers = len(self.hidden) + 1
        h = x
        for k in range(n_layers):
            w = params[f"w{k}"]
            if self.spectral_norm:
                w = w / torch.linalg.matrix_norm(w, ord=2)
            h = h @ w.T + params[f"b{k}"]
            if k < n_layers - 1:
                h = act(h)
        return x + h if self.residual else h


class MeanFieldSigmoidNet:
    r"""One hidden layer in the mean-field scaling of paper 001, (2)–(3).

    .. math::

        f(x) = \frac1N\sum_{i=1}^N a_i\,\sigma(b_i\cdot x + c_i),
        \qquad \sigma(s) = \frac{1}{1 + e^{-s}},

    with neuron parameters :math:`(a_i, b_i, c_i) \in \mathbb R^{K}\times\mathbb R^{L}
    \times\mathbb R`: a generator :math:`\mathbb R^L\to\mathbb R^K` (a = α, b = β, c = γ)
    or a discriminator (K = 1).  The gradient of f in one neuron's parameters carries the
    factor 1/N, so SGD with step h moves each neuron by h/N times the mean-field velocity:
    training step n is the PDE time t_n = n h/N (paper 001, Section 2.3).

    Parameters
    ----------
    in_dim, out_dim
        L and K.
    width
        N, the number of neurons.
    init_scale
        Parameters start i.i.d. uniform on [−init_scale, init_scale] (a law independent
        of N, as the paper's chaotic initialisation asks).

    Examples
    --------
    >>> from gan_pde.nn._torch import make_generator
    >>> net = MeanFieldSigmoidNet(1, 1, width=100)
    >>> sorted(net.init(make_generator(0)))
    ['a', 'b', 'c']
    """

    def __init__(self, in_dim: int, out_dim: int, *, width: int, init_scale: float = 1.0):
        self.in_dim = as_positive_int(in_dim, "in_dim")
        self.out_dim = as_positive_int(out_dim, "out_dim")
        self.width = as_positive_int(width, "width")
        self.init_scale = as_positive(init_scale, "init_scale")

    def init(self, generator: Any, *, dtype: Any = None, device: Any = None) -> dict[str, Any]:
        """Neuron parameters i.i.d. uniform on [−init_scale, init_scale]."""
        dtype = torch.float64 if dtype is None else dtype
        shapes = {
            "a": (self.width, self.out_dim),
            "b": (self.width, self.in_dim),
            "c": (self.width,),
        }
        return {
            k: ((2.0 * torch.rand(s, generator=generator, dtype=dtype) - 1.0) * self.init_scale).to(
                device
            )
            for k, s in shapes.items()
        }

    def __call__(self, params: dict[str, Any], x: Any) -> Any:
        _check_input(x, self.in_dim, "MeanFieldSigmoidNet")
        hidden = torch.sigmoid(x @ params["b"].T + params["c"])
        return hidden @ params["a"] / self.width


class ParticleGenerator:
    r"""A generator that is a table of N samples: :math:`G(i) = x_i`.

    Its "latent variable" is the index i, uniform on {0, …, N−1}; the generated law is the
    empirical measure of the table.  The regression step of Algorithm 2 (paper 002) with
    learning rate m/2 on the mean squared loss over all m = N particles sets every
    :math:`x_i` to its target :math:`y_i`, which makes Algorithm 2 the explicit Euler step
    of the particle ODE (5).

    Parameters
    ----------
    initial
        The initial samples, array ``(N, d)``.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from gan_pde.nn._torch import make_generator
    >>> table = ParticleGenerator(np.zeros((4, 1)))
    >>> p = table.init(make_generator(0))
    >>> table(p, torch.arange(4)).shape
    torch.Size([4, 1])
    """

    def __init__(self, initial: Any):
        data = torch.as_tensor(initial, dtype=torch.float64)
        if data.ndim == 1:
            data = data[:, None]
        if data.ndim != 2 or data.shape[0] < 1 or not bool(torch.isfinite(data).all()):
            msg = f"initial must be a finite array of shape (N, d); got shape {tuple(data.shape)}"
            raise InvalidInputError(msg)
        self.initial = data
        self.size = int(data.shape[0])
        self.in_dim = 0
        self.out_dim = int(data.shape[1])

    def init(self, generator: Any, *, dtype: Any = None, device: Any = None) -> dict[str, Any]:
        """The table (``generator`` is unused: the initial samples are given)."""
        del generator
        dtype = torch.float64 if dtype is None else dtype
        return {"x": self.initial.to(dtype=dtype, device=device).clone()}

    def __call__(self, params: dict[str, Any], index: Any) -> Any:
        return params["x"][index]


class FeatureNet:
    r"""Fixed Gaussian features with a trained linear output layer.

    .. math::

        f(x) = \sum_{k} c_k\,\psi_k(x), \qquad
        \psi = \phi\,W,\quad \phi_j(x) = \exp\Bigl(-\frac{|x - m_j|^2}{2h^2}\Bigr),

    with W = I, or, when ``data`` is given, :math:`W = V\Lambda^{-1/2}` from the
    eigendecomposition :math:`\frac1n\Phi^\top\Phi = V\Lambda V^\top` of the features'
    Gram matrix on the data (directions with :math:`\Lambda < 10^{-10}\Lambda_{\max}` are
    dropped).  Then the ψ_k are orthonormal in :math:`L^2(\mu_n)` and gradient descent on
    c for a loss :math:`\mathbb E_{\mu_n}\ell(f)` is the :math:`L^2(\mu_n)` gradient flow
    of f projected on span ψ: the network's tangent kernel is that projection.

    Parameters
    ----------
    centers
        Feature centres m_j, array ``(K, in_dim)`` (``(K,)`` in 1D).
    bandwidth
        h > 0.
    out_dim
        Output dimension.
    data
        Optional samples ``(n, in_dim)`` to orthonormalise on.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from gan_pde.nn._torch import make_generator
    >>> x = np.linspace(-3.0, 3.0, 200)[:, None]
    >>> net = FeatureNet(np.linspace(-3.0, 3.0, 10), bandwidth=0.7, data=x)
    >>> psi = net.features(torch.as_tensor(x))
    >>> bool(torch.allclose(psi.T @ psi / 200, torch.eye(psi.shape[1], dtype=psi.dtype)))
    True
    """

    def __init__(self, centers: Any, *, bandwidth: float, out_dim: int = 1, data: Any = None):
        c = torch.as_tensor(centers, dtype=torch.float64)
        if c.ndim == 1:
            c = c[:, None]
        if c.ndim != 2 or c.shape[0] < 1 or not bool(torch.isfinite(c).all()):
            msg = f"centers must be a finite array (K, d); got shape {tuple(c.shape)}"
            raise InvalidInputError(msg)
        self.bandwidth = as_positive(bandwidth, "bandwidth")
        self.centers = c
        self.in_dim = int(c.shape[1])
        self.out_dim = as_positive_int(out_dim, "out_dim")
        self.whitening = torch.eye(c.shape[0], dtype=torch.float64)
        if data is not None:
            x = torch.as_tensor(data, dtype=torch.float64)
            if x.ndim == 1:
                x = x[:, None]
            _check_input(x, self.in_dim, "FeatureNet")
            phi = self._raw(x)
            lam, vec = torch.linalg.eigh(phi.T @ phi / x.shape[0])
            keep = lam > 1e-10 * lam.max()
            self.whitening = vec[:, keep] / torch.sqrt(lam[keep])
        self.width = int(self.whitening.shape[1])

    def _raw(self, x: Any) -> Any:
        centers = self.centers.to(dtype=x.dtype, device=x.device)
        d2 = ((x[:, None, :] - centers[None, :, :]) ** 2).sum(dim=-1)
        return torch.exp(-0.5 * d2 / self.bandwidth**2)

    def features(self, x: Any) -> Any:
        """ψ(x), shape ``(n, width)``."""
        _check_input(x, self.in_dim, "FeatureNet")
        return self._raw(x) @ self.whitening.to(dtype=x.dtype, device=x.device)

    def init(self, generator: Any, *, dtype: Any = None, device: Any = None) -> dict[str, Any]:
        """Output weights 0: the network starts at f ≡ 0 (``generator`` is unused)."""
        del generator
        dtype = torch.float64 if dtype is None else dtype
        return {"c": torch.zeros(self.width, self.out_dim, dtype=dtype, device=device)}

    def __call__(self, params: dict[str, Any], x: Any) -> Any:
        return self.features(x) @ params["c"]
