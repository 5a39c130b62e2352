"""Stress cases of the linearised GAN (paper 004): ``gan_pde.spectral.lgan`` and
``gan_pde.spectral.lgan_system``.

(α, β, γ) are drawn from every regime the package allows: γ = 0, α = 0, WGAN (α = γ = 0),
0 < αγ < β² (complex band, then high real modes tending to −β²/γ from below), the same
with γ ≫ |β| (the highest modes are the slowest: the regime of the old selection bug of
``eigenvalues(k)``), αγ > β² (all real), αγ = β² (factorising), the critical-damping
family (25), and log-uniform values over four (CI) or eight decades; β has either sign.
Four kinds of case:

``spectrum``
    :class:`LGANSystem` (stable pair, P1/P2) on a random density (1D mixture of 1–3
    Gaussians on a uniform or jittered mesh, or a rotated 2D Gaussian) on a mesh small
    enough for dense linear algebra.  Reference: the weighted-Laplacian pencil (K̃, M̃_u)
    solved here by ``scipy.linalg.eigh``, pushed through an mpmath evaluation of the roots
    of λ² + (α+γξ)λ + β²ξ (Theorems 2–3), plus −α and the kernel.  Checked: the dense
    spectrum (``k=None``), the k eigenvalues nearest 0 (``method="auto"`` and
    ``"arnoldi"``), the kernel count, :meth:`decay_rate` against the dense spectrum.
``gaussian``
    A resolved 1D or 2D Gaussian: ``laplacian_eigenvalues`` against the Hermite spectrum
    Σ n_i/σ_i² within the a-priori FEM error, and the k slowest lGAN modes (auto, arnoldi)
    against the closed form on the Hermite ξ (plus the top ξ_h computed here, since the
    high modes are the slowest when 0 < αγ < β²).
``integrate``
    A small system and :func:`integrate` with every scheme: the run equals R(τA)ⁿy₀ for the
    scheme's stability function R (built here densely), it is within the modal error bound
    of the exact flow e^{tA}y₀, Crank–Nicolson never increases ‖w‖_μ and conserves it for
    WGAN, explicit schemes below ``max_stable_step`` stay bounded; an unstable explicit
    run must overflow and be refused with NumericalBreakdownError.
``closed-form``
    The helpers of ``lgan``: ``eigenvalues`` against 50-digit mpmath roots (with the
    relative accuracy of the small root it promises), ``is_oscillating``, ``decay_rate``
    against a numerical supremum over ξ ∈ [ξ_min, 10¹²ξ_min] and the limits,
    ``optimal_parameters`` against a brute-force grid minimisation, ``max_euler_step`` and
    ``max_stable_step`` against scans of |R(τλ)| in 50 digits, and the amplifications.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import scipy.linalg
import scipy.optimize
import scipy.sparse.linalg as spla
from campaign import Checks, refused, wrong

import gan_pde as gp
from gan_pde.errors import (
    GanPdeError,
    NotConvergedError,
    NumericalBreakdownError,
)
from gan_pde.spectral import lgan
from gan_pde.spectral.lgan_system import LGANSystem, integrate

SOLVER = "lgan"
DESCRIPTION = (
    "linearised GAN of paper 004: closed-form spectrum, decay rate and optimal parameters, "
    "the mixed FEM system (6) and its time integrators, over all regimes of (α, β, γ)"
)
CHECKS = (
    "mpmath roots of (22) on an independent ξ_h (eigh) and on the Hermite spectrum; dense "
    "eig; exact flow e^{tA}; brute-force grids for η, optimum and step limits"
)
FULL_COUNT = 400
CI_COUNT = 8

EPS = np.finfo(float).eps
mpmath.mp.dps = 50
KINDS = ("spectrum", "gaussian", "integrate", "closed-form")
REGIMES = (
    "log-uniform",
    "gamma=0",
    "alpha=0",
    "wgan",
    "below",  # 0 < αγ < β²
    "above",  # αγ > β²
    "equal",  # αγ = β²
    "critical",  # the family (25), critically damped at a chosen ξ*
    "tail",  # 0 ≤ αγ < β² with γ ≫ |β|: the high modes (λ₊ → −β²/γ) are the slowest
)


# --- drawing ------------------------------------------------------------------------------


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(np.exp(rng.uniform(math.log(low), math.log(high))))


def draw_parameters(rng: np.random.Generator, scale: str) -> dict:
    """(α, β, γ) from one of :data:`REGIMES`; the full scale spans more decades."""
    span = 1e2 if scale == "ci" else 1e4
    regime = str(rng.choice(REGIMES))
    beta = float(rng.choice([-1.0, 1.0])) * _log_uniform(rng, 0.1, 10.0)
    b2 = beta * beta
    alpha = _log_uniform(rng, 1.0 / span, span) * abs(beta)
    gamma = _log_uniform(rng, 1.0 / span, span) * abs(beta)
    if regime == "gamma=0":
        gamma = 0.0
    elif regime == "alpha=0":
        alpha = 0.0
    elif regime == "wgan":
        alpha = gamma = 0.0
    elif regime == "below":
        gamma = b2 / alpha * rng.uniform(0.0, 1.0)
    elif regime == "above":
        gamma = b2 / alpha * _log_uniform(rng, 1.0, span)
    elif regime == "equal":
        gamma = b2 / alpha
    elif regime == "tail":
        gamma = abs(beta) * _log_uniform(rng, 2.0, 100.0)
        alpha = float(rng.choice([0.0, b2 / gamma * rng.uniform(0.0, 0.9)]))
    elif regime == "critical":
        xi_star = _log_uniform(rng, 0.1, 10.0)
        gamma = rng.uniform(0.0, 2.0) * abs(beta) / math.sqrt(xi_star)
        alpha = 2.0 * abs(beta) * math.sqrt(xi_star) - gamma * xi_star
    return {"regime": regime, "alpha": float(alpha), "beta": beta, "gamma": float(gamma)}


def _draw_density(rng: np.random.Generator, *, one_d: bool = False) -> dict:
    if not one_d and rng.random() < 0.25:
        s1, s2 = _log_uniform(rng, 0.3, 3.0), _log_uniform(rng, 0.3, 3.0)
        return {
            "kind": "gaussian-2d",
            "mean": [float(x) for x in rng.uniform(-2.0, 2.0, 2)],
            "stds": [s1, s2],
            "angle": float(rng.uniform(0.0, math.pi)),
        }
    k = int(rng.integers(1, 4))
    weights = rng.dirichlet(np.ones(k))
    return {
        "kind": "mixture-1d",
        "means": [float(x) for x in rng.uniform(-4.0, 4.0, k)],
        "stds": [_log_uniform(rng, 0.2, 2.0) for _ in range(k)],
        "weights": [float(w) for w in weights / weights.sum()],
    }


def cases(rng: np.random.Generator, n: int, scale: str) -> list[dict]:
    out = []
    for i in range(n):
        kind = KINDS[i % len(KINDS)] if scale == "ci" else str(rng.choice(KINDS, p=_P_KIND))
        case = {"kind": kind, **draw_parameters(rng, scale)}
        if kind == "spectrum":
            case["density"] = _draw_density(rng)
            case["element"] = str(rng.choice(["P1", "P2"]))
            two_d = case["density"]["kind"] == "gaussian-2d"
            top = (6 if case["element"] == "P2" else 9) if two_d else 60
            if scale == "ci":
                top = 5 if two_d else 30
            case["cells"] = int(rng.integers(4 if two_d else 8, top + 1))
            case["jitter"] = float(rng.choice([0.0, rng.uniform(0.0, 0.4)])) if not two_d else 0.0
            case["k"] = int(rng.integers(1, 13))
            case["seed"] = int(rng.integers(2**31))
        elif kind == "gaussian":
            two_d = rng.random() < 0.3
            case["element"] = str(rng.choice(["P1", "P2"]))
            case["stds"] = [_log_uniform(rng, 0.3, 3.0) for _ in range(2 if two_d else 1)]
            case["angle"] = float(rng.uniform(0.0, math.pi)) if two_d else 0.0
            if two_d:
                case["cells"] = int(rng.integers(24, 29 if scale == "ci" else 41))
            else:
                case["cells"] = int(rng.integers(60, 100 if scale == "ci" else 400))
            case["k"] = int(rng.integers(1, 9))
        elif kind == "integrate":
            case["density"] = _draw_density(rng, one_d=True)
            case["element"] = str(rng.choice(["P1", "P2"]))
            case["cells"] = int(rng.integers(4, 13))
            case["scheme"] = str(rng.choice(["euler", "heun", "rk4", "crank-nicolson"]))
            case["unstable"] = bool(case["scheme"] != "crank-nicolson" and rng.random() < 0.2)
            case["fraction"] = float(rng.uniform(0.05, 0.95))
            case["seed"] = int(rng.integers(2**31))
        else:
            case["xi_min"] = _log_uniform(rng, 1e-3, 1e3)
            case["xi_max_factor"] = _log_uniform(rng, 1.0, 1e4)
            case["method"] = str(rng.choice(list(lgan.METHODS)))
            case["seed"] = int(rng.integers(2**31))
        out.append(case)
    return out


_P_KIND = np.array([0.35, 0.2, 0.25, 0.2])


def run(case: dict):
    try:
        if case["kind"] == "spectrum":
            return _run_spectrum(case)
        if case["kind"] == "gaussian":
            return _run_gaussian(case)
        if case["kind"] == "integrate":
            return _run_integrate(case)
        return _run_closed_form(case)
    except GanPdeError as exc:
        # every case is inside the documented domain (α, γ ≥ 0, β ≠ 0, dense sizes below
        # DENSE_MAX); the one justified refusal (an unstable explicit run overflowing) is
        # handled in _run_integrate, so any other refusal is a bug
        return wrong(f"refused a well-posed case: {type(exc).__name__}: {exc}")


# --- independent references ---------------------------------------------------------------


def mp_roots(xi: float, alpha: float, beta: float, gamma: float) -> tuple[complex, complex]:
    """λ± of λ² + (α+γξ)λ + β²ξ = 0 in 50 digits (λ₊: larger real part, then Im ≥ 0)."""
    s = mpmath.mpf(alpha) + mpmath.mpf(gamma) * mpmath.mpf(xi)
    p = mpmath.mpf(beta) ** 2 * mpmath.mpf(xi)
    root = mpmath.sqrt(s * s - 4 * p)  # complex for a negative discriminant
    r1, r2 = (-s + root) / 2, (-s - root) / 2
    first, second = sorted((r1, r2), key=lambda z: (-mpmath.re(z), -mpmath.im(z)))
    return complex(first), complex(second)


def reference_spectrum(xi: np.ndarray, alpha, beta, gamma, n_c: int) -> np.ndarray:
    """The non-kernel spectrum of Theorems 2–3 for non-zero ξ (mpmath roots) and −α."""
    lam = [z for x in xi for z in mp_roots(float(x), alpha, beta, gamma)]
    lam += [complex(-alpha)] * (n_c if alpha > 0 else 0)
    return np.array(lam, dtype=complex)


def block_tolerance(xi: np.ndarray, alpha, beta, gamma, e: np.ndarray) -> np.ndarray:
    r"""Error bound of the two eigenvalues of the 2×2 block of each ξ under perturbations of
    size e (λ units), in the order λ₊ then λ₋ per ξ.

    In an M̃_w-orthonormal basis the operator splits into blocks
    :math:`\begin{pmatrix}-s & -c\\ c & 0\end{pmatrix}`, s = α+γξ, c = |β|√ξ.  A simple
    eigenvalue moves by ≤ κe with the exact 2×2 condition number
    :math:`\kappa = \sqrt{1 + |N|^2/|\lambda_+-\lambda_-|^2}`,
    :math:`|N|^2 = s^2 + 2c^2 - |\lambda_+|^2 - |\lambda_-|^2` (the Schur off-diagonal);
    near critical damping (a Jordan block) by ≤ e + √(e(|N| + e)) instead.  Factor 10 for
    the first-order nature of both bounds.
    """
    s = alpha + gamma * xi
    c = abs(beta) * np.sqrt(xi)
    disc = np.abs((s - 2 * c) * (s + 2 * c))
    moduli = np.where((s - 2 * c) < 0, 2 * c * c, 0.5 * (s * s + disc))
    # |λ+|² + |λ−|²: 2β²ξ for a complex pair, (s² + D)/2 for real roots
    n2 = np.maximum(s * s + 2 * c * c - moduli, 0.0)
    kappa = np.sqrt(1.0 + n2 / np.maximum(disc, 1e-300))
    e = np.asarray(e, dtype=float)
    e = np.broadcast_to(e if e.ndim == 0 else e.reshape(xi.size, -1), (xi.size, 2))
    n2, kappa = n2[:, None], kappa[:, None]
    jordan = e + np.sqrt(e * (np.sqrt(n2) + e))
    return (10.0 * np.minimum(kappa * e, jordan)).ravel()


def xi_sensitivity(xi: np.ndarray, dxi: np.ndarray, alpha, beta, gamma) -> np.ndarray:
    r"""Error of λ±(ξ) for an error δξ in ξ (per root, λ₊ then λ₋ per ξ).

    The quadratic q(λ) = λ² + (α+γξ)λ + β²ξ changes by δq = (γλ + β²)δξ, which moves a
    simple root by δq/q'(λ), q'(λ) = 2λ + s = ±√D, and a double root by ≤ √|δq|; the
    smaller bound, ×10.  (In the WGAN-GP tail γλ₊ + β² → 0: λ₊ hardly depends on ξ.)
    """
    s = alpha + gamma * xi
    lam = np.array([mp_roots(float(x), alpha, beta, gamma) for x in xi]).reshape(xi.size, 2)
    dq = np.abs(gamma * lam + beta * beta) * np.asarray(dxi).reshape(-1, 1)
    slope = np.abs(2 * lam + s[:, None])
    return (10.0 * np.minimum(dq / np.maximum(slope, 1e-300), np.sqrt(dq))).ravel()


def match(computed: np.ndarray, reference: np.ndarray, tol: np.ndarray) -> tuple[float, int]:
    """Greedy-free check that every computed value is within its tolerance of a distinct
    reference value: optimal assignment on the cost |z − r|/tol_r; returns the worst
    ratio (≤ 1 passes) and the number of computed values."""
    if computed.size == 0:
        return 0.0, 0
    cost = np.abs(computed[:, None] - reference[None, :]) / tol[None, :]
    rows, cols = scipy.optimize.linear_sum_assignment(np.minimum(cost, 1e300))
    return float(cost[rows, cols].max()), computed.size


def nearest_zero_check(
    checks: Checks,
    got: np.ndarray,
    reference: np.ndarray,
    tol: np.ndarray,
    k: int,
    what: str,
) -> None:
    """The k values nearest 0: their sorted moduli equal the k smallest reference moduli
    (order statistics are 1-Lipschitz, so each moves by ≤ its tolerance) and each is a
    distinct reference value.  This is what the old selection got wrong."""
    checks.true(got.size == min(k, reference.size), f"{what}: {got.size} values for k={k}")
    order = np.argsort(np.abs(reference), kind="stable")
    want = np.abs(reference[order][: got.size])
    if got.size:
        # only reference values that can reach the k-th modulus within their tolerance can
        # move the first k order statistics; the largest of their tolerances bounds them
        cut = want[-1] + tol[order[: got.size]].max()
        slack = tol[np.abs(reference) - tol <= cut].max()
        err = np.abs(np.sort(np.abs(got)) - want) / slack
        checks.less(float(err.max()), 1.0, f"{what}: sorted moduli vs k nearest 0 (÷ tol)")
        ratio, _ = match(got, reference, tol)
        checks.less(ratio, 1.0, f"{what}: values are roots (÷ tol)")


def build_density(spec: dict):
    if spec["kind"] == "gaussian-2d":
        t = spec["angle"]
        rot = np.array([[math.cos(t), -math.sin(t)], [math.sin(t), math.cos(t)]])
        cov = rot @ np.diag(np.square(spec["stds"])) @ rot.T
        return gp.Gaussian(mean=spec["mean"], cov=cov.tolist())
    return gp.GaussianMixture(
        means=[[m] for m in spec["means"]], stds=spec["stds"], weights=spec["weights"]
    )


def build_mesh(spec: dict, cells: int, jitter: float, seed: int):
    if spec["kind"] == "gaussian-2d":
        reach = 5.0 * max(spec["stds"])
        (x0, y0) = spec["mean"]
        return gp.mesh.rectangle((x0 - reach, x0 + reach), (y0 - reach, y0 + reach), n=cells)
    means, stds = np.array(spec["means"]), np.array(spec["stds"])
    lo, hi = float((means - 6 * stds).min()), float((means + 6 * stds).max())
    x = np.linspace(lo, hi, cells + 1)
    if jitter:
        x[1:-1] += np.random.default_rng(seed).uniform(-jitter, jitter, cells - 1) * (x[1] - x[0])
    import skfem

    return skfem.MeshLine(x)


def mass_condition(system: LGANSystem) -> float:
    """A lower bound of cond₂(M̃_w): max/min of its diagonal (SPD), computed here; for the
    small systems (≤ 2000 dofs per block) the exact cond₂ from dense eigenvalues."""
    blocks = (system.u_mass, system.v_mass)
    diagonal = np.concatenate([b.diagonal() for b in blocks])
    bound = math.inf if diagonal.min() <= 0 else float(diagonal.max() / diagonal.min())
    if max(b.shape[0] for b in blocks) > 2000:
        return bound
    values = np.concatenate([np.linalg.eigvalsh(b.toarray()) for b in blocks])
    return math.inf if values.min() <= 0 else max(bound, float(values.max() / values.min()))


def judge_breakdown(system: LGANSystem, exc: NumericalBreakdownError):
    """A NumericalBreakdownError for an unresolved weight is justified when M̃_w has lost
    (almost) all digits: cond₂(M̃_w) ≥ 1e-3/(nε), i.e. fewer than ~3 digits would be left
    in eigenvalues or time steps; otherwise the refusal is a bug."""
    size = system.n_u + system.n_v
    cond = mass_condition(system)
    if "does not resolve the weight" in str(exc) and cond * size * EPS >= 1e-3:
        return refused(
            "mesh does not resolve ρ: M̃_w singular to working precision (NumericalBreakdownError)",
            cond=cond,
        )
    return wrong(f"refused a resolved case (cond(M̃_w) = {cond:.3g}): {exc}")


def judge_no_convergence(system: LGANSystem, exc: NotConvergedError, k: int):
    """ARPACK shift-invert converges at the rate of the gaps between the |θ| = 1/|λ| it
    separates; the documented limitation is a cluster around the k-th mode (the tail
    −β²/γ).  Justified when the 2k + 20 moduli nearest 0 (the closed form, checked
    elsewhere) span less than 1e-3 relative; otherwise the refusal is a bug."""
    lam = system.eigenvalues(k=2 * k + 20)
    moduli = np.sort(np.abs(lam))
    spread = float((moduli[-1] - moduli[0]) / moduli[0]) if moduli[0] > 0 else math.inf
    if spread < 1e-3:
        return refused(
            "arnoldi: ARPACK did not converge in a cluster of modes near "
            "−β²/γ (documented; relative spread < 1e-3)",
            spread=spread,
        )
    return wrong(
        f"arnoldi did not converge although the modes are separated "
        f"(relative spread {spread:.3g}): {exc}"
    )


def dense_laplacian(system: LGANSystem) -> np.ndarray:
    return scipy.linalg.eigh(system.stiffness.toarray(), system.u_mass.toarray(), eigvals_only=True)


# --- spectrum -----------------------------------------------------------------------------


def _run_spectrum(case: dict):
    alpha, beta, gamma, k = case["alpha"], case["beta"], case["gamma"], case["k"]
    density = build_density(case["density"])
    mesh = build_mesh(case["density"], case["cells"], case["jitter"], case["seed"])
    system = LGANSystem(density, mesh, alpha=alpha, beta=beta, gamma=gamma, element=case["element"])
    checks = Checks()
    n_c = system.n_components
    try:
        dense = system.eigenvalues()
    except NumericalBreakdownError as exc:
        return judge_breakdown(system, exc)
    mass = system.u_mass.toarray()
    smallest = float(np.linalg.eigvalsh(mass)[0])
    if smallest <= 4 * mass.shape[0] * EPS * np.abs(mass).max():
        return wrong(
            f"eigenvalues returned on a numerically singular M̃_u "
            f"(λ_min = {smallest:.3g}, ‖M̃_u‖ = {np.abs(mass).max():.3g})"
        )
    xi_all = dense_laplacian(system)
    xi_max = float(xi_all[-1])
    # the constants: ξ = 0 to round-off ε‖K̃‖‖M̃_u⁻¹‖ (‖M̃_u⁻¹‖ ≲ 1e3 on these meshes)
    checks.less(float(np.abs(xi_all[:n_c]).max()), 1e3 * EPS * 64 * xi_max, "|ξ_h| of constants")
    # ξ_h ≥ 0 exactly; eigh may return −O(dxi) for a nearly disconnected domain (two far,
    # narrow components): clip, the error bound dxi below covers the difference
    xi = np.maximum(xi_all[n_c:], 0.0)
    ref = reference_spectrum(xi, alpha, beta, gamma, n_c)
    s_max = float(alpha + gamma * xi_max + 2 * abs(beta) * math.sqrt(xi_max))
    # eigh of the definite pencil (K̃, M̃_u): |δξ| ≲ p(n) ε ‖K̃‖ ‖M̃_u⁻¹‖ (p(n) = 10 n)
    dxi = 10.0 * xi.size * EPS * xi_max * np.abs(mass).max() / smallest
    tol_xi = xi_sensitivity(xi, np.full(xi.size, dxi), alpha, beta, gamma)
    # dense eig of the M̃_w-normalised operator, which splits into the 2×2 blocks of each
    # ξ: backward error ≲ n ε ‖Â‖ with ‖Â‖ ≤ s_max (block_tolerance adds the conditioning)
    size = system.n_u + system.n_v
    e_dense = 4.0 * size * EPS * s_max
    n_mean = ref.size - 2 * xi.size
    tol = block_tolerance(xi, alpha, beta, gamma, e_dense) + tol_xi
    tol = np.concatenate([tol, np.full(n_mean, 10 * e_dense)])
    checks.true(dense.size == size, f"dense spectrum has {dense.size} != {size} values")
    order = np.argsort(np.abs(dense))
    n_kernel = size - ref.size
    expected_kernel = system.n_v - system.n_u + n_c * (2 if alpha == 0.0 else 1)
    checks.true(n_kernel == expected_kernel, f"kernel size {n_kernel} != formula {expected_kernel}")
    checks.true(system.kernel_dimension() == expected_kernel, "kernel_dimension() formula")
    kernel, rest = dense[order[:n_kernel]], dense[order[n_kernel:]]
    if kernel.size:
        checks.less(float(np.abs(kernel).max()), 10 * e_dense, "dense kernel |λ|")
    ratio, _ = match(rest, ref, tol)
    checks.less(ratio, 1.0, "dense non-kernel spectrum vs roots on eigh ξ_h (÷ tol)")
    # decay_rate(): the largest real part of the reference; its ξ_h come from the package's
    # sparse solvers (Lanczos, relative backward error ≤ 1e-8, weighted_laplacian)
    tol_sparse = xi_sensitivity(xi, 1e-8 * xi_max, alpha, beta, gamma) + tol_xi
    tol_sparse = np.concatenate([tol_sparse, np.full(n_mean, 4 * EPS * alpha)])
    tol_sparse = np.maximum(tol_sparse, 4 * EPS * np.abs(ref))  # rounding of the roots
    eta_ref = float(ref.real.max())
    eta_tol = float(tol_sparse[np.argmax(ref.real)])
    checks.less(
        abs(system.decay_rate() - eta_ref), eta_tol, "decay_rate() vs the reference spectrum"
    )
    # auto: the closed form on those sparse ξ_h
    auto = system.eigenvalues(k=k)
    nearest_zero_check(checks, auto, ref, tol_sparse, k, "auto")
    # arnoldi: ARPACK's Ritz values θ = 1/λ with residual ≤ 1e-12|θ|: relative error
    # 1e-12 κ in λ; κ of the block (block_tolerance) times ≤ 1e3 for the Euclidean inner
    # product that ARPACK uses instead of the M̃_w one
    try:
        arnoldi = system.eigenvalues(k=k, method="arnoldi")
    except NotConvergedError as exc:
        return judge_no_convergence(system, exc, k)
    tol_arn = block_tolerance(xi, alpha, beta, gamma, 1e-9 * np.abs(ref[: 2 * xi.size]))
    tol_arn = np.concatenate([tol_arn, np.full(n_mean, 1e-9 * alpha)])
    tol_arn = tol_arn + np.concatenate([tol_xi, np.zeros(n_mean)])
    # ARPACK works on an LU of the shifted operator, whose backward error is that of the
    # dense solver, ≲ n ε ‖Â‖: an absolute floor (it matters only for modes at round-off,
    # e.g. ξ_min ≈ 1e-14 on a nearly disconnected domain)
    tol_arn = np.maximum(tol_arn, e_dense)
    nearest_zero_check(checks, arnoldi, ref, tol_arn, k, "arnoldi")
    return checks.outcome(n_u=system.n_u, n_v=system.n_v, xi_max=xi_max)


# --- resolved Gaussians against the Hermite spectrum ---------------------------------------


def _run_gaussian(case: dict):
    alpha, beta, gamma, k = case["alpha"], case["beta"], case["gamma"], case["k"]
    stds = case["stds"]
    two_d = len(stds) == 2
    element, cells = case["element"], case["cells"]
    p = 1 if element == "P1" else 2
    if two_d:
        spec = {"kind": "gaussian-2d", "mean": [0.0, 0.0], "stds": stds, "angle": case["angle"]}
        density = build_density(spec)
        reach = 5.0 * max(stds)
        mesh = gp.mesh.rectangle((-reach, reach), (-reach, reach), n=cells)
        h = 2 * reach / cells * math.sqrt(2.0)
        hermite = np.sort(
            [a / stds[0] ** 2 + b / stds[1] ** 2 for a in range(12) for b in range(12)]
        )
    else:
        density = gp.Gaussian(mean=[0.0], cov=[[stds[0] ** 2]])
        mesh = gp.mesh.interval(-8 * stds[0], 8 * stds[0], n=cells)
        h = 16 * stds[0] / cells
        hermite = np.arange(0, 40) / stds[0] ** 2
    system = LGANSystem(density, mesh, alpha=alpha, beta=beta, gamma=gamma, element=element)
    checks = Checks()
    m = min(k + 1, 8)
    try:
        xi_h = system.laplacian_eigenvalues(m)
    except NumericalBreakdownError as exc:
        return judge_breakdown(system, exc)
    exact = hermite[:m]
    # conforming Galerkin: ξ_h − ξ ≈ C ξ (h²ξ)^p.  Measured C in 1D: 1/12 (P1) and 1/720 to
    # 0.0044 (P2); bounds 0.125 and 0.006.  In 2D (h the cell diagonal)
    # C grows with the index (0.0001–0.13 for P1, 0.0007–0.053 for P2 over the first 8
    # modes of anisotropic Gaussians): bounds 0.5 and 0.1.  Only resolved modes (h²ξ ≤ 0.5)
    # are compared; the truncated domain (8σ, 5σ) and the quadrature of ρ add 1e-8.
    const = {(False, 1): 0.125, (False, 2): 0.006, (True, 1): 0.5, (True, 2): 0.1}[two_d, p]
    resolved = h * h * exact <= 0.5
    rel = (xi_h - exact) / np.maximum(exact, 1.0 / max(stds) ** 2)
    bound = const * (h * h * exact) ** p + 1e-8
    if resolved[1:].any():
        ratio = (np.abs(rel) / bound)[resolved]
        checks.less(float(ratio.max()), 1.0, "ξ_h vs Hermite Σn_i/σ_i² (÷ FEM bound)")
    # the slowest lGAN modes: closed form on the Hermite ξ of the resolved modes, plus the
    # top of the discrete spectrum (computed here) where the high modes are the slowest
    n_res = int(np.argmin(resolved[1:])) + 1 if not resolved[1:].all() else m
    xi_low = exact[1:n_res]
    if n_res <= k:
        return checks.outcome(note="too few resolved modes for the lGAN comparison")
    top = np.sort(
        spla.eigsh(
            system.stiffness,
            k=min(k, system.n_u - 2),
            M=system.u_mass,
            which="LA",
            return_eigenvectors=False,
        )
    )
    xi_ref = np.concatenate([xi_low, top])
    ref = reference_spectrum(xi_ref, alpha, beta, gamma, 1)
    e_fem = np.concatenate([bound[1:n_res] * xi_low, 1e-8 * top])
    e = gamma * e_fem + abs(beta) * e_fem / (2 * np.sqrt(xi_ref))
    tol = block_tolerance(xi_ref, alpha, beta, gamma, e)
    tol = np.concatenate([tol, [1e-12 * alpha] if alpha > 0 else []])
    tol = np.maximum(tol, 1e-9 * np.abs(ref))
    # only the k nearest 0 of a reference that contains every candidate: the unresolved
    # middle ξ_h have |λ+| ≥ that of a resolved one or a top one (unimodality, see
    # LGANSystem._slowest_from_laplacian), so they cannot enter — unless they tie, which
    # the moduli comparison tolerates
    # ARPACK on the reduced operator costs one sparse LU of the bordered saddle matrix per
    # call (≈1–3 s for the 2D meshes here) and in the tail regime thousands of iterations:
    # the 2D operator is covered by the small meshes of ``spectrum``, so arnoldi runs in 1D
    for method in ("auto",) if two_d else ("auto", "arnoldi"):
        try:
            got = system.eigenvalues(k=k, method=method)
        except NotConvergedError as exc:
            return judge_no_convergence(system, exc, k)
        nearest_zero_check(checks, got, ref, tol, k, method)
    return checks.outcome(h=h, n_u=system.n_u)


# --- time integration ---------------------------------------------------------------------


def stability_matrix(a: np.ndarray, tau: float, scheme: str) -> np.ndarray:
    """R(τA) densely: Taylor polynomials (Euler, Heun, RK4) or the Cayley transform (CN)."""
    n = a.shape[0]
    z = tau * a
    if scheme == "crank-nicolson":
        return np.linalg.solve(np.eye(n) - 0.5 * z, np.eye(n) + 0.5 * z)
    order = lgan.METHODS[scheme]
    total, term = np.eye(n), np.eye(n)
    for j in range(1, order + 1):
        term = term @ z / j
        total = total + term
    return total


def r_scalar(z: np.ndarray, scheme: str) -> np.ndarray:
    if scheme == "crank-nicolson":
        return (1 + z / 2) / (1 - z / 2)
    return sum(z**j / math.factorial(j) for j in range(lgan.METHODS[scheme] + 1))


def _run_integrate(case: dict):
    alpha, beta, gamma = case["alpha"], case["beta"], case["gamma"]
    scheme = case["scheme"]
    density = build_density(case["density"])
    mesh = build_mesh(case["density"], case["cells"], 0.0, case["seed"])
    system = LGANSystem(density, mesh, alpha=alpha, beta=beta, gamma=gamma, element=case["element"])
    try:  # a trivial run: refused only if the mesh does not resolve ρ
        integrate(system, np.zeros(system.n_u + system.n_v), tau=1.0, steps=1)
    except NumericalBreakdownError as exc:
        return judge_breakdown(system, exc)
    mass, op = system.mass.toarray(), system.operator.toarray()
    chol = np.linalg.cholesky(mass)
    a = np.linalg.solve(mass, op)
    # Â = C⁻¹LC⁻ᵀ: A in an M-orthonormal basis; its eigenvalues are those of A
    a_hat = scipy.linalg.solve_triangular(
        chol, scipy.linalg.solve_triangular(chol, op, lower=True).T, lower=True
    ).T
    lam, vec = np.linalg.eig(a_hat)
    nonzero = lam[np.abs(lam) > 1e-9 * np.abs(lam).max()]
    rng = np.random.default_rng(case["seed"])
    y0 = rng.standard_normal(a.shape[0])
    checks = Checks()
    if scheme == "crank-nicolson":
        tau = _log_uniform(rng, 1e-3, 10.0) / max(np.abs(lam).max(), 1e-300) * 10
        steps = int(rng.integers(20, 200))
    else:
        limit = lgan.max_stable_step(nonzero, method=scheme)
        if case["unstable"] and (limit == 0.0 or math.isfinite(limit)):
            return _run_unstable(system, a, lam, y0, scheme, limit, case, checks)
        if limit == 0.0:
            # WGAN under Euler/Heun: no stable step; run short and check against R(τA)ⁿ
            tau = case["fraction"] * 0.5 / np.abs(lam).max()
        else:
            tau = case["fraction"] * min(limit, 1e6)
        steps = int(rng.integers(20, 200))
    traj = integrate(system, y0, tau=tau, steps=steps, scheme=scheme)
    # 1. the run is R(τA)ⁿ y0 for the scheme's own R; round-off per step ~ ε cond of the
    # solves (mass or M − τL/2) times the size; relative to the largest norm on the way
    r = stability_matrix(a, tau, scheme)
    y, norms = y0.copy(), [math.sqrt(y0 @ mass @ y0)]
    for _ in range(steps):
        y = r @ y
        norms.append(math.sqrt(max(y @ mass @ y, 0.0)))
    norms = np.array(norms)
    cond = np.linalg.cond(mass - 0.5 * tau * op if scheme == "crank-nicolson" else mass)
    scale = max(norms.max(), traj.norm.max())
    tol1 = 100 * steps * EPS * cond * a.shape[0] * scale * max(1.0, tau * np.abs(lam).max()) ** 4
    diff = traj.final - y
    checks.less(math.sqrt(abs(diff @ mass @ diff)), tol1, "final state vs R(τA)^n y0")
    checks.less(float(np.abs(traj.norm - norms).max()), tol1, "norms vs R(τA)^n y0")
    # 2. the exact flow e^{nτA}y0: ‖R(τÂ)ⁿ − e^{nτÂ}‖ ≤ κ(V) max_i |R(τλ_i)ⁿ − e^{nτλ_i}|
    exact = scipy.linalg.expm(steps * tau * a) @ y0
    kappa = np.linalg.cond(vec)
    z = tau * lam
    modal = float(np.max(np.abs(r_scalar(z, scheme) ** steps - np.exp(steps * z))))
    tol2 = 10 * kappa * modal * math.sqrt(y0 @ mass @ y0) + 10 * tol1 * kappa
    diff = traj.final - exact
    checks.less(math.sqrt(abs(diff @ mass @ diff)), tol2, "final state vs exact flow e^{tA}y0")
    # 3. energy: CN is the Cayley transform of an M̃_w-dissipative operator (d/dt‖w‖² =
    # −2α‖u‖² − 2γ‖∇u‖² ≤ 0), a contraction for every τ; conservative for WGAN
    growth = np.diff(traj.norm) - 100 * EPS * cond * a.shape[0] * traj.norm[:-1]
    if scheme == "crank-nicolson":
        checks.less(float(growth.max()), 0.0, "CN: increase of ‖w‖_μ in one step")
        if alpha == 0.0 and gamma == 0.0:
            drift = abs(traj.norm[-1] / traj.norm[0] - 1.0)
            checks.less(drift, 100 * steps * EPS * cond * a.shape[0], "CN WGAN energy drift")
    elif (
        np.isfinite(lgan.max_stable_step(nonzero, method=scheme))
        and lgan.max_stable_step(nonzero, method=scheme) > 0
    ):
        # |R(τλ_i)| ≤ 1: ‖y_n‖ ≤ κ(V)‖y_0‖
        checks.less(
            float(traj.norm.max() / traj.norm[0]),
            10 * kappa * (1 + tol1),
            "stable explicit run bounded by κ(V)‖y0‖",
        )
    return checks.outcome(tau=tau, steps=steps, kappa=kappa)


def _run_unstable(system, a, lam, y0, scheme, limit, case, checks):
    """An explicit step beyond the stability limit: the package must report the overflow."""
    rng = np.random.default_rng(case["seed"] + 1)
    lam_max = np.abs(lam).max()
    tau = (limit if limit > 0 else 0.5 / lam_max) * rng.uniform(1.5, 3.0)
    growth = float(np.abs(r_scalar(tau * lam, scheme)).max())
    while growth < 1.2 and tau * lam_max < 1e3:  # keep the run short: ≤ ~4500 steps
        tau *= 2.0
        growth = float(np.abs(r_scalar(tau * lam, scheme)).max())
    if growth < 1.2:
        return checks.outcome(note="growth too slow to overflow")
    steps = int(math.ceil(800.0 / math.log(growth))) + 50
    try:
        traj = integrate(system, y0, tau=tau, steps=steps, scheme=scheme)
    except NumericalBreakdownError as exc:
        # justified: max_i |R(τλ_i)| > 1 here, so the solution grows like growthⁿ
        return refused(
            "unstable explicit step overflows (NumericalBreakdownError): max|R(τλ)| > 1",
            growth=growth,
            message=str(exc)[:80],
        )
    return wrong(
        f"{scheme} with max|R(τλ)| = {growth:.3g} ran {steps} steps without "
        f"overflow (final norm {traj.norm[-1]:.3g})"
    )


# --- closed forms of lgan.py ----------------------------------------------------------------


def numeric_rate(xi_min, alpha, beta, gamma) -> float:
    """sup over ξ ≥ ξ_min of Re λ₊(ξ), with the mean mode −α and the limit ξ → ∞, on a
    log grid of 400 points to 10¹²ξ_min, in extended precision (long double)."""
    x = np.longdouble(xi_min) * np.logspace(0, 12, 400, dtype=np.longdouble)
    s = np.longdouble(alpha) + np.longdouble(gamma) * x
    p = np.longdouble(beta) ** 2 * x
    disc = s * s - 4 * p
    big = -(s + np.sqrt(np.maximum(disc, 0))) / 2  # no cancellation
    # real roots: the small one from Vieta (λ₊λ₋ = β²ξ), complex ones: Re = −s/2
    values = list(np.where(disc >= 0, p / np.where(big == 0, -1, big), -s / 2).astype(float))
    if alpha > 0:
        values.append(-alpha)
    if gamma > 0:
        values.append(-beta * beta / gamma)
    else:
        values.append(-alpha / 2)  # γ = 0: Re λ₊ = −α/2 on the complex tail
    return float(max(values))


def _run_closed_form(case: dict):
    alpha, beta, gamma = case["alpha"], case["beta"], case["gamma"]
    rng = np.random.default_rng(case["seed"])
    checks = Checks()
    xi_min = case["xi_min"]
    # eigenvalues: random ξ over 24 decades, with 0, ξ_min and the critical points
    xi = np.concatenate([[0.0, xi_min], 10.0 ** rng.uniform(-12, 12, 40)])
    if gamma > 0 and alpha * gamma < beta * beta:
        # roots of (α+γξ)² = 4β²ξ: where the modes switch between real and complex
        b2 = beta * beta
        d = math.sqrt(max(b2 * b2 - alpha * gamma * b2, 0.0))
        xi = np.concatenate(
            [
                xi,
                [
                    (2 * b2 - alpha * gamma - 2 * d) / gamma**2,
                    (2 * b2 - alpha * gamma + 2 * d) / gamma**2,
                ],
            ]
        )
    elif gamma == 0 and alpha > 0:
        xi = np.concatenate([xi, [alpha * alpha / (4 * beta * beta)]])
    lp, lm = lgan.eigenvalues(xi, alpha=alpha, beta=beta, gamma=gamma)
    s = alpha + gamma * xi
    c = abs(beta) * np.sqrt(xi)
    # rounding of s and c (a few ε each) makes |s − 2c| uncertain by ~4ε(s + 2c); through
    # √D the roots get relative error ≤ 6ε + 4ε(s+2c)/|s−2c|·½ (module docstring of lgan:
    # no cancellation in λ₋, λ₊ = c²/λ₋); a factor 4 for the constants; at |s − 2c| = 0
    # the bound is infinite and the absolute √(ε)·(s+2c) bound of a double root applies
    gap = np.abs(s - 2 * c)
    rel = 4 * (6 * EPS + 4 * EPS * (s + 2 * c) / np.maximum(gap, 1e-300))
    worst = 0.0
    for i, x in enumerate(xi):
        rp, rm = mp_roots(float(x), alpha, beta, gamma)
        for got, want in ((lp[i], rp), (lm[i], rm)):
            tol = (
                min(rel[i] * abs(want), 4 * math.sqrt(EPS * 8) * (s[i] + 2 * c[i]))
                if abs(want) > 0
                else 0.0
            )
            for part in (lambda z: z.real, lambda z: z.imag):
                err = abs(part(got) - part(want))
                worst = max(worst, err / tol if tol > 0 else (0.0 if err == 0 else math.inf))
    checks.less(worst, 1.0, "eigenvalues vs mpmath roots (÷ relative bound)")
    checks.true(bool(np.all(lp.real <= 0) and np.all(lm.real <= 0)), "Re λ± ≤ 0")
    checks.true(bool(np.all(lp.real >= lm.real) and np.all(lp.imag >= 0)), "λ₊ ordering")
    # is_oscillating: sign of (α+γξ)² − 4β²ξ in exact rational arithmetic (clear cases)
    osc = lgan.is_oscillating(xi, alpha=alpha, beta=beta, gamma=gamma)
    clear = gap > 1e-8 * (s + 2 * c)
    checks.true(bool(np.all(osc[clear] == (s - 2 * c < 0)[clear])), "is_oscillating sign")
    # decay_rate against a numerical supremum (both the unbounded and a finite spectrum)
    if beta != 0:
        eta = float(lgan.decay_rate(xi_min, alpha=alpha, beta=beta, gamma=gamma))
        ref = numeric_rate(xi_min, alpha, beta, gamma)
        tol = 1e-9 * max(abs(ref), abs(beta) * math.sqrt(xi_min), 1e-300)
        # the grid stops at 10¹²ξ_min: Re λ₊ there is within β²/(γ²ξ) of the limit ...
        checks.less(abs(eta - ref), max(tol, 1e-6 * abs(ref)), "decay_rate vs sup over ξ")
        finite = xi_min * (1 + 10.0 ** rng.uniform(-3, 4, 30))
        eta_f = float(lgan.decay_rate(xi_min, alpha=alpha, beta=beta, gamma=gamma, xi=finite))
        vals = [mp_roots(float(x), alpha, beta, gamma)[0].real for x in [xi_min, *finite]]
        ref_f = max(vals + ([-alpha] if alpha > 0 else []))
        checks.less(
            abs(eta_f - ref_f),
            1e-9 * max(abs(ref_f), 1e-300) + 1e-300,
            "decay_rate(xi=...) vs max over roots",
        )
    # optimal_parameters against a brute-force grid of (α, γ), rates from mpmath roots
    best = lgan.optimal_parameters(xi_min, beta=beta, xi_max=xi_min * case["xi_max_factor"])
    b, r = abs(beta), math.sqrt(xi_min)
    # the optimum is a double root at ξ_min (αγ = β², α = γξ_min): rounding α and γ to
    # doubles perturbs the quadratic by ~ε(br)², which splits a double root by ~√ε·br
    tol_opt = 8 * math.sqrt(EPS) * b * r
    checks.less(
        abs(best.rate - numeric_rate(xi_min, best.alpha, beta, best.gamma)),
        tol_opt,
        "optimum's rate vs its sup over ξ",
    )
    grid = [
        (ga, gg) for ga in np.linspace(0, 3 * b * r, 13) for gg in np.linspace(0, 3 * b / r, 13)
    ]
    brute = min(numeric_rate(xi_min, ga, beta, gg) for ga, gg in grid)
    # no grid point does better (the optimum itself is on the grid: α = br, γ = b/r at 4/12)
    checks.less(best.rate - brute, tol_opt, "optimal rate − brute-force minimum")
    checks.less(brute - best.rate, tol_opt, "brute-force minimum − optimal rate")
    for g_end in best.gamma_range:
        a_end = 2 * b * r - g_end * xi_min
        s_end = a_end + g_end * xi_min
        checks.less(abs(s_end - 2 * b * r), 1e-12 * b * r, "family (25): critical at ξ_min")
        probe = xi_min * np.logspace(0, 8, 200)
        sp_ = a_end + g_end * probe
        cp_ = 2 * b * np.sqrt(probe)
        # D = (s − 2c)(s + 2c) ≥ 0, with s − 2c = 0 at ξ_min up to rounding ~4ε(s + 2c)
        checks.less(
            float(-((sp_ - cp_) / (sp_ + cp_)).min()),
            8 * EPS,
            "family (25): no complex mode on [ξ_min, ∞)",
        )
    # max_euler_step: stable at τ, unstable just above, on [ξ_min, ξ_max]
    xi_grid = xi_min * np.concatenate(
        [np.logspace(0, math.log10(case["xi_max_factor"]), 50), [case["xi_max_factor"]]]
    )
    modes = np.array(
        [z for x in xi_grid for z in mp_roots(float(x), best.alpha, beta, best.gamma)]
        + [-best.alpha]
    )
    tau = best.max_euler_step
    checks.less(float(np.abs(1 + tau * modes).max()) - 1, 1e-12, "|1+τλ| at max_euler_step")
    checks.true(
        float(np.abs(1 + tau * (1 + 1e-6) * modes).max()) > 1,
        "max_euler_step is the largest: unstable 1e-6 above",
    )
    # max_stable_step against a scan of |R(τλ)|² − 1 in 50 digits
    method = case["method"]
    pick = rng.choice(xi.size, 6)
    lams = np.concatenate([lp[pick], lm[pick]])
    lams = lams[np.abs(lams) > 0]
    if lams.size:
        step = lgan.max_stable_step(lams, method=method)
        order = lgan.METHODS[method]

        def excess(t: float) -> float:
            worst = -math.inf
            for z in lams:
                zz = mpmath.mpc(z.real, z.imag) * t
                total = sum(zz**j / mpmath.factorial(j) for j in range(order + 1))
                worst = max(worst, float(abs(total) ** 2 - 1))
            return worst

        # stability holds on (0, τ*] up to the 1e-12 round-off allowance for real parts
        # (max_stable_step treats |Re λ|/|λ| < 1e-12 as 0); above τ*, some mode grows
        if math.isinf(step):
            checks.true(False, "max_stable_step = inf with non-zero λ")
        else:
            probe = np.linspace(0, 1, 41)[1:] * step
            allowed = 1e-9
            checks.less(
                max((excess(t) for t in probe), default=-1.0),
                allowed,
                f"{method}: |R(τλ)|² − 1 on (0, τ*]",
            )
            above = step * (1 + 1e-4) if step > 0 else 1e-8 / np.abs(lams).max()
            checks.true(excess(above) > -1e-15, f"{method}: unstable just above τ*")
    # amplification helpers against the polynomials in 50 digits
    z = lams[:4] if lams.size else np.array([-1.0 + 0j])
    t = _log_uniform(rng, 1e-3, 1.0) / max(np.abs(z).max(), 1e-300)
    for name, fn in (
        ("euler", lgan.euler_amplification),
        ("heun", lgan.heun_amplification),
        ("rk4", lgan.rk4_amplification),
    ):
        order = lgan.METHODS[name]
        got = fn(z, t)
        want = [
            float(
                abs(
                    sum(
                        (mpmath.mpc(w.real, w.imag) * t) ** j / mpmath.factorial(j)
                        for j in range(order + 1)
                    )
                )
            )
            for w in z
        ]
        # Horner-free summation of ≤ 5 terms of size ≤ e^{|τλ|}: a few ε e^{|τλ|}
        bound = 16 * EPS * math.exp(float(np.abs(t * z).max()))
        checks.less(float(np.abs(got - want).max()), bound, f"{name}_amplification")
    return checks.outcome(eta=float(lgan.decay_rate(xi_min, alpha=alpha, beta=beta, gamma=gamma)))
