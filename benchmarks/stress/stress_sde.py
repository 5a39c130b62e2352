"""Stress campaign of the SDE approximations (paper 000, Cao–Guo): ``gan_pde.sde``.

Random games of the two quadratic families whose moments close — ``location_gan``
(G = θ + z, D = ωx + κx²/2: additive noise) and ``location_scale_wgan`` (G = θ₁ + θ₂z,
D = ωx: multiplicative noise) — with random data x, z (random densities), weight decay,
curvature, learning rate η, batch size B and start γ0.  Five kinds of cases:

``sde-ensemble`` (torch)
    ``simulate_sde`` (Euler–Maruyama + Richardson) against the *exact* expectation of
    what it estimates, 2E f(X^{h/2}) − E f(X^h): the Euler–Maruyama moments of an affine
    SDE with affine-in-γ noise close, and are computed here from the paper's drift
    (9)–(10)/(14) and diffusion (11) independently of the package; tolerance 5 standard
    errors.  The discretisation bias against the exact SDE moments (``sde_moments``) must
    fall at weak order 1 (Euler–Maruyama) and 2 (Richardson);
``sga-ensemble`` (torch)
    ``simulate_sga`` against the exact SGA moments (``sga_moments``) within 5 standard
    errors, and the weak orders of Theorems 3.1/3.2: ALT~ALT-SDE 2, SML~SML-SDE 1;
``invariant`` (numpy)
    ``stationary_moments`` against an independent solve of the stationary moment equations
    (a Lyapunov equation for additive noise); FDR1 (both SDEs) and FDR2 (SML-SDE) as
    identities at the invariant moments; a refusal ("moments grow without bound") must
    agree with the independent generator's spectral abscissa;
``fokker-planck`` (numpy)
    ``stationary_fokker_planck`` in 1D for b = −k(x − m), a = α + β(x − c)², whose
    zero-flux solution p ∝ a⁻¹exp∫2b/a is closed form (also on the truncated box), P1/P2,
    error against the interpolation bound and its order under refinement;
``schedule`` (torch)
    ``FDR2Scheduler`` against the closed form η_t = max(η_min, η0(1 − δ)^⌊t/W⌋) when the
    observed FDR2 ratio stays within ε of 1 (and η constant when it stays outside), and
    ``fdr2_statistics`` against its formula.

Every Monte-Carlo run is seeded from the case (``seed``).
"""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import scipy.linalg
from campaign import Checks, refused, wrong

from gan_pde.errors import NumericalBreakdownError
from gan_pde.mesh import interval
from gan_pde.sde.fokker_planck import stationary_fokker_planck
from gan_pde.sde.quadratic import location_gan, location_scale_wgan

SOLVER = "sde"
DESCRIPTION = (
    "SGA/SDE ensembles, exact moments, weak orders, invariant moments and FDRs of random "
    "quadratic GANs; stationary Fokker-Planck FEM; the FDR2 learning-rate schedule"
)
CHECKS = (
    "exact Euler-Maruyama/SGA moments within 5 SE; weak orders 1/2; Lyapunov/independent "
    "stationary moments, FDR identities; closed-form 1D invariant density; η0(1-δ)^⌊t/W⌋"
)
FULL_COUNT = 300
CI_COUNT = 6

KINDS = ("sde-ensemble", "sga-ensemble", "invariant", "fokker-planck", "schedule", "long-run")
WEIGHTS = (0.22, 0.2, 0.18, 0.18, 0.08, 0.14)
TORCH_KINDS = ("sde-ensemble", "sga-ensemble", "schedule", "long-run")
EPS = np.finfo(float).eps
#: Monte-Carlo band: 5 standard errors (two-sided normal tail 5.7e-7 per estimate).
N_SE = 5.0


# --------------------------------------------------------------------------- the games


def _draw_game(rng):
    family = str(rng.choice(["location", "wgan"]))
    x = rng.normal(rng.normal(), rng.uniform(0.3, 1.5), int(rng.integers(2, 6)))
    z = rng.normal(0.0, rng.uniform(0.5, 1.5), int(rng.integers(2, 5)))
    game = {"family": family, "x": [float(v) for v in x], "z": [float(v) for v in z]}
    if family == "location":
        kappa = float(rng.uniform(0.0, 1.0))
        game.update(curvature=kappa, weight_decay=float(kappa + rng.uniform(0.2, 1.5)))
    else:
        game.update(weight_decay=float(rng.uniform(0.2, 1.5)))
    return game


def make_game(spec):
    if spec["family"] == "location":
        return location_gan(
            spec["x"], spec["z"], curvature=spec["curvature"], weight_decay=spec["weight_decay"]
        )
    return location_scale_wgan(spec["x"], spec["z"], weight_decay=spec["weight_decay"])


def make_sde(spec):
    """The torch GANSDE of the same per-sample loss."""
    from gan_pde.sde import GANSDE

    lam = spec["weight_decay"]
    if spec["family"] == "location":
        kappa = spec["curvature"]

        def loss(theta, omega, x, z):
            g = theta[0] + z
            critic = omega[0] * x + 0.5 * kappa * x**2 - omega[0] * g - 0.5 * kappa * g**2
            return critic + 0.5 * lam * (theta[0] ** 2 - omega[0] ** 2)

        return GANSDE(loss, spec["x"], spec["z"], d_theta=1, d_omega=1)

    def loss(theta, omega, x, z):
        return (
            omega[0] * x
            - omega[0] * (theta[0] + theta[1] * z)
            + 0.5 * lam * ((theta**2).sum() - (omega**2).sum())
        )

    return GANSDE(loss, spec["x"], spec["z"], d_theta=2, d_omega=1)


# ------------------------------------------------- independent moment equations (paper 000)


class Moments:
    """E ξξᵀ (ξ = (γ, 1)) of the SDE dγ = (Mγ + v)dt + σdW, σσᵀ = (η/B)·blockdiag Σ(γ).

    The drift from the paper: b0 = S∇Φ (9), S = diag(−I_θ, I_ω); ALT-SDE b0 + ηb1 with
    b1 = ½[[H_θθ, −H_θω], [−H_ωθ, −H_ωω]]b0 (10); (14) b0 − (η/2)∇b0·b0.  Σ(γ) is the
    covariance of the per-sample gradients c_k = K̂_kξ, K̂_k = [H_k − H̄, h_k − h̄].
    """

    def __init__(self, game, kind, eta, batch):
        h, lin, p = game.hessians, game.linear, game.d_theta
        d = h.shape[1]
        hbar, lbar = h.mean(0), lin.mean(0)
        s = np.diag(np.r_[-np.ones(p), np.ones(d - p)])
        m0, v0 = s @ hbar, s @ lbar
        if kind == "alt":
            r = -hbar.copy()
            r[:p, :p] = hbar[:p, :p]
            factor = np.eye(d) + 0.5 * eta * r
        elif kind == "sml2":
            factor = np.eye(d) - 0.5 * eta * m0
        else:
            factor = np.eye(d)
        self.mhat = np.zeros((d + 1, d + 1))
        self.mhat[:d, :d] = factor @ m0
        self.mhat[:d, d] = factor @ v0
        self.khat = np.concatenate([h - hbar, (lin - lbar)[:, :, None]], axis=2)
        self.mask = np.zeros((d, d))
        self.mask[:p, :p] = self.mask[p:, p:] = 1.0
        self.scale = eta / batch
        self.d = d

    def noise(self, q):
        """E a(γ) padded to (d+1)²: (η/B)·mask∘mean_k K̂_k Q K̂_kᵀ."""
        out = np.zeros_like(q)
        a = np.einsum("kia,ab,kjb->ij", self.khat, q, self.khat) / self.khat.shape[0]
        out[: self.d, : self.d] = self.scale * self.mask * a
        return out

    def euler(self, q0, h, steps):
        """Exact E ξξᵀ of Euler–Maruyama with step h after ``steps`` steps, every step."""
        a = np.eye(self.d + 1) + h * self.mhat
        out = [q0]
        q = q0
        for _ in range(steps):
            q = a @ q @ a.T + h * self.noise(q)
            out.append(q)
        return np.array(out)

    def generator(self):
        """The matrix of Q ↦ M̂Q + QM̂ᵀ + E a(Q) on vec(Q), column by column."""
        n = (self.d + 1) ** 2
        cols = []
        for j in range(n):
            e = np.zeros(n)
            e[j] = 1.0
            q = e.reshape(self.d + 1, self.d + 1)
            cols.append((self.mhat @ q + q @ self.mhat.T + self.noise(q)).reshape(-1))
        return np.array(cols).T


def _xi(gamma0):
    xi = np.append(np.asarray(gamma0, dtype=float), 1.0)
    return np.outer(xi, xi)


def _observables(q):
    """(γ_i, γ_i²) expectations — ``default_observables`` of the ensembles."""
    d = q.shape[-1] - 1
    return np.concatenate([q[..., :d, d], np.diagonal(q[..., :d, :d], axis1=-2, axis2=-1)], -1)


def _order(e_coarse, e_fine, ratio=2.0):
    return math.log(e_coarse / e_fine) / math.log(ratio)


# ----------------------------------------------------------------------------- drawing


def cases(rng, n, scale):
    ci = scale == "ci"
    out = []
    for i in range(n):
        kind = KINDS[i % len(KINDS)] if ci else str(rng.choice(KINDS, p=WEIGHTS))
        case = {"kind": kind, "seed": int(rng.integers(2**31))}
        if kind in ("sde-ensemble", "sga-ensemble", "invariant", "long-run"):
            case["game"] = _draw_game(rng)
            d = 2 if case["game"]["family"] == "location" else 3
            case["gamma0"] = [float(v) for v in rng.normal(0.0, 0.7, d)]
            n_pairs = len(case["game"]["x"]) * len(case["game"]["z"])
            case["batch_size"] = int(rng.integers(1, min(n_pairs, 6) + 1))
            case["eta"] = float(np.exp(rng.uniform(np.log(0.05), np.log(0.4))))
        if kind == "sde-ensemble":
            case.update(
                sde=str(rng.choice(["alt", "sml", "sml2"])),
                steps=int(rng.integers(1, (3 if ci else 8) + 1)),
                substeps=int(rng.integers(1, 5)),
                n_paths=2000 if ci else 4000,
            )
        elif kind == "sga-ensemble":
            case.update(
                scheme=str(rng.choice(["alt", "sml"])),
                steps=int(rng.integers(1, (4 if ci else 10) + 1)),
                n_paths=3000 if ci else 6000,
            )
        elif kind == "long-run":
            t_final = float(rng.uniform(0.5, 1.5 if ci else 3.0))
            steps = max(1, round(t_final / case["eta"]))
            case.update(
                sde=str(rng.choice(["alt", "sml"])),
                t_final=t_final,
                # at most 80 Euler–Maruyama steps of the coarse run (cost)
                substeps=int(rng.integers(1, max(1, min(4, 80 // steps)) + 1)),
                n_paths=1000 if ci else 2000,
            )
        elif kind == "invariant":
            case["sde"] = str(rng.choice(["alt", "sml"]))
            # larger η/B: also the multiplicative games whose moments blow up (refusals)
            case["eta"] = float(np.exp(rng.uniform(np.log(0.05), np.log(2.0))))
        elif kind == "fokker-planck":
            beta = float(rng.choice([0.0, np.exp(rng.uniform(np.log(0.02), np.log(0.5)))]))
            case.update(
                k=float(np.exp(rng.uniform(np.log(0.3), np.log(3.0)))),
                m=float(rng.normal()),
                alpha=float(np.exp(rng.uniform(np.log(0.2), np.log(3.0)))),
                beta=beta,
                c=float(rng.normal()),
                element=str(rng.choice(["P1", "P2"])),
                cells=int(rng.integers(80, 200 if ci else 400)),
            )
        elif kind == "schedule":
            case.update(
                epsilon=float(rng.uniform(0.02, 0.5)),
                delta=float(rng.uniform(0.05, 0.9)),
                window=int(rng.integers(1, 12)),
                lr=float(np.exp(rng.uniform(np.log(1e-3), np.log(1.0)))),
                min_lr=float(rng.choice([0.0, np.exp(rng.uniform(np.log(1e-5), np.log(1e-2)))])),
                steps=int(rng.integers(5, 80)),
                inside=bool(rng.random() < 0.7),
            )
        out.append(case)
    return out


# ------------------------------------------------------------------------------- runs


def _torch():
    if importlib.util.find_spec("torch") is None:
        return None
    import torch

    torch.set_num_threads(1)
    return torch


def run_sde_ensemble(case):
    from gan_pde.sde import simulate_sde

    checks = Checks()
    game = make_game(case["game"])
    sde = make_sde(case["game"])
    eta, batch, kind = case["eta"], case["batch_size"], case["sde"]
    steps, sub = case["steps"], case["substeps"]
    gamma0 = np.array(case["gamma0"])
    mom = Moments(game, kind, eta, batch)
    q0 = _xi(gamma0)
    h = eta / sub
    coarse = mom.euler(q0, h, steps * sub)[::sub]
    fine = mom.euler(q0, h / 2, 2 * steps * sub)[:: 2 * sub]
    q_r = 2 * fine - coarse
    d = mom.d
    # observables γ_i, γ_i² and (γ_i − c_i)² about the exact final mean c: the centred
    # moments resolve the diffusion (11) itself (relative SE √(2/n)), not only E γ²
    centre = q_r[-1, :d, d]
    torch = _torch()
    c_t = torch.as_tensor(centre)

    def observe(g):
        return torch.cat([g, g**2, (g - c_t) ** 2], dim=-1)

    run = simulate_sde(
        sde,
        gamma0,
        eta=eta,
        batch_size=batch,
        steps=steps,
        kind=kind,
        substeps=sub,
        richardson=True,
        n_paths=case["n_paths"],
        seed=case["seed"],
        observe=observe,
    )
    second = np.diagonal(q_r[-1, :d, :d])
    expected_final = np.concatenate(
        [centre, second, second - 2 * centre * q_r[-1, :d, d] + centre**2]
    )
    # 5 SE: the ensemble estimates E[2f(X^{h/2}) − f(X^h)] exactly (coupled paths share the
    # Brownian increments, each marginal is Euler–Maruyama), so only Monte-Carlo noise is left
    rounding = (
        (case["n_paths"] + 64 * (steps * sub + 1))
        * EPS
        * (1 + np.abs(np.r_[centre, second, second]))
    )
    z = (np.abs(run.mean[-1] - expected_final) - rounding) / np.maximum(run.stderr[-1], 1e-300)
    checks.less(float(np.max(z)), N_SE, "ensemble vs exact Richardson-EM moments (in SE)")
    # discretisation bias against the exact SDE: weak order 1 (EM), 2 (Richardson)
    exact = game.sde_moments(gamma0, eta=eta, batch_size=batch, steps=steps, kind=kind)[-1]
    quarter = mom.euler(q0, h / 4, 4 * steps * sub)[-1]
    e_h = np.abs(coarse[-1] - exact).max()
    e_h2 = np.abs(fine[-1] - exact).max()
    r_h = np.abs(2 * fine[-1] - coarse[-1] - exact).max()
    r_h2 = np.abs(2 * quarter - fine[-1] - exact).max()
    size = np.abs(exact).max()
    metrics = {}
    # orders are asymptotic: measured while the next term is small (h·|M̂| ≤ 0.1) and the
    # bias is above the round-off of the moments (1e-11 relative)
    hm = h * np.abs(np.linalg.eigvals(mom.mhat)).max()
    if hm <= 0.1 and e_h2 > 1e-11 * size:
        p1 = _order(e_h, e_h2)
        metrics["em_order"] = p1
        checks.true(0.75 <= p1 <= 1.3, f"Euler-Maruyama weak order {p1:.3f} not ≈ 1")
    if hm <= 0.1 and r_h2 > 1e-11 * size:
        p2 = _order(r_h, r_h2)
        metrics["richardson_order"] = p2
        checks.true(p2 >= 1.6, f"Richardson weak order {p2:.3f} < 1.6 (claimed 2)")
    return checks.outcome(**metrics)


def run_sga_ensemble(case):
    from gan_pde.sde import simulate_sga
    from gan_pde.sde.studies import PAIRS  # noqa: F401 - the claimed orders are restated

    checks = Checks()
    game = make_game(case["game"])
    sde = make_sde(case["game"])
    eta, batch, scheme, steps = case["eta"], case["batch_size"], case["scheme"], case["steps"]
    gamma0 = np.array(case["gamma0"])
    run = simulate_sga(
        sde,
        gamma0,
        eta=eta,
        batch_size=batch,
        steps=steps,
        scheme=scheme,
        n_paths=case["n_paths"],
        seed=case["seed"],
    )
    exact = _observables(
        game.sga_moments(gamma0, eta=eta, batch_size=batch, steps=steps, scheme=scheme)
    )
    # 5 SE, plus the round-off of the iterates and of a mean over n paths (recursive
    # summation: ≤ n·eps relative; an observable the batches do not touch, e.g. θ1 under
    # SML on the location-scale game, has SE ~ 1e-16 and only round-off is left)
    rounding = (case["n_paths"] + 64 * (steps + 1)) * EPS * (1 + np.abs(exact[-1]))
    z = (np.abs(run.mean[-1] - exact[-1]) - rounding) / np.maximum(run.stderr[-1], 1e-300)
    checks.less(float(np.max(z)), N_SE, "SGA ensemble vs exact moments (in SE)")
    # weak order over a fixed horizon: ALT~ALT-SDE 2 (Thm 3.1), SML~SML-SDE 1 (Thm 3.2).
    # Asymptotic: η0 with η0|H̄| ≤ 0.1, halved twice; the slope deviates from the order by
    # the relative size of the next term, O(η|H̄|)
    order = 2.0 if scheme == "alt" else 1.0
    hnorm = np.linalg.norm(game.hessians.mean(0), 2)
    eta0 = min(eta, 0.1 / hnorm)
    t_final = 1.0
    errors = []
    etas = [eta0, eta0 / 2, eta0 / 4]
    for e in etas:
        n = max(1, round(t_final / e))
        e_eff = t_final / n
        sga = game.sga_moments(gamma0, eta=e_eff, batch_size=batch, steps=n, scheme=scheme)
        sdem = game.sde_moments(gamma0, eta=e_eff, batch_size=batch, steps=n, kind=scheme)
        errors.append(np.abs(_observables(sga) - _observables(sdem)).max())
    slope = float(np.polyfit(np.log(etas), np.log(errors), 1)[0])
    checks.less(abs(slope - order), 0.3, f"weak order {scheme.upper()}~{scheme.upper()}-SDE")
    return checks.outcome(weak_slope=slope)


def run_invariant(case):
    checks = Checks()
    game = make_game(case["game"])
    eta, batch, kind = case["eta"], case["batch_size"], case["sde"]
    mom = Moments(game, kind, eta, batch)
    gen = mom.generator()
    abscissa = float(np.linalg.eigvals(gen).real.max())
    d = mom.d
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            q = game.stationary_moments(kind, eta=eta, batch_size=batch)
    except NumericalBreakdownError as exc:
        # justified iff the independent moment generator has an eigenvalue with Re > 0
        if abscissa > 1e-9 * np.abs(gen).max():
            return refused(
                "second moments grow without bound (independent moment generator has "
                f"Re λ > 0): no invariant measure; {exc}"
            )
        return wrong(f"refused a stable case (spectral abscissa {abscissa:.3e}): {exc}")
    if abscissa > 1e-9 * np.abs(gen).max():
        return wrong(f"returned moments although they grow (abscissa {abscissa:.3e})")
    # independent stationary moments: L(Q) = 0 with Q[d, d] = 1
    n1 = (d + 1) ** 2
    e = np.zeros(n1)
    e[-1] = 1.0
    sol, *_ = np.linalg.lstsq(np.vstack([gen, e]), np.r_[np.zeros(n1), 1.0], rcond=None)
    ref = sol.reshape(d + 1, d + 1)
    ref = 0.5 * (ref + ref.T)
    # conditioning: the solves lose ~cond(L) eps relative
    cond = np.linalg.cond(np.vstack([gen, e]))
    size = np.abs(ref).max()
    tol = 100 * cond * EPS * size
    checks.less(float(np.abs(q - ref).max()), tol, "stationary moments vs independent solve")
    if case["game"]["family"] == "location":
        # additive noise: OU, μ* = N(−M⁻¹v, C) with MC + CMᵀ + A = 0
        m, v = mom.mhat[:d, :d], mom.mhat[:d, d]
        mean = -np.linalg.solve(m, v)
        a = mom.noise(_xi(mean))[:d, :d]
        cov = scipy.linalg.solve_continuous_lyapunov(m, -a)
        checks.less(float(np.abs(q[:d, d] - mean).max()), tol, "stationary mean vs −M⁻¹v")
        checks.less(
            float(np.abs(q[:d, :d] - np.outer(mean, mean) - cov).max()),
            tol,
            "stationary covariance vs Lyapunov",
        )
    fdr = game.fdr_expectations(q, eta=eta, batch_size=batch)
    fscale = abs(fdr["fdr1_lhs"]) + abs(fdr[f"fdr1_rhs_{kind}"]) + 1e-300
    # the FDR sides are linear in Q: the identity holds to the error of Q (tol) times |K|²
    kscale = float(np.abs(game.hessians).max() + np.abs(game.linear).max()) ** 2
    ftol = 10 * (d + 1) ** 2 * tol * kscale + 1e-13 * fscale
    checks.less(abs(fdr["fdr1_lhs"] - fdr[f"fdr1_rhs_{kind}"]), ftol, f"FDR1 ({kind.upper()}-SDE)")
    if kind == "sml":
        checks.less(abs(fdr["fdr2_lhs"] - fdr["fdr2_rhs"]), ftol, "FDR2 (SML-SDE)")
    return checks.outcome(abscissa=abscissa)


def run_long_run(case):
    import warnings

    from gan_pde.sde import long_run

    checks = Checks()
    game = make_game(case["game"])
    sde = make_sde(case["game"])
    eta, batch, kind, sub = case["eta"], case["batch_size"], case["sde"], case["substeps"]
    gamma0 = np.array(case["gamma0"])
    with warnings.catch_warnings():
        # dissipativity is probed by sampling; the moments below hold either way
        warnings.simplefilter("ignore")
        run = long_run(
            sde,
            gamma0,
            eta=eta,
            batch_size=batch,
            t_final=case["t_final"],
            kind=kind,
            n_paths=case["n_paths"],
            substeps=sub,
            seed=case["seed"],
        )
    steps = max(1, round(case["t_final"] / eta))
    mom = Moments(game, kind, eta, batch)
    q0 = _xi(gamma0)
    h = eta / sub
    q_h = mom.euler(q0, h, steps * sub)[-1]
    q_h2 = mom.euler(q0, h / 2, 2 * steps * sub)[-1]
    q_r = 2 * q_h2 - q_h  # what the Richardson estimates average to, exactly
    d = mom.d
    mean = q_r[:d, d]
    cov = q_r[:d, :d] - np.outer(mean, mean)
    n = case["n_paths"]
    rounding = (n + 64 * (steps * sub + 1)) * EPS
    z = (np.abs(run.mean - mean) - rounding * (1 + np.abs(mean))) / run.mean_stderr
    checks.less(float(np.max(z)), N_SE, "long-run mean vs exact Richardson-EM (in SE)")
    # the covariance is centred at the sample mean: its expectation is cov − Cov(R)/n,
    # |Cov(R)/n|_ij <= se_i se_j (Cauchy-Schwarz, se the mean's standard errors)
    centring = np.outer(run.mean_stderr, run.mean_stderr)
    z = (np.abs(run.covariance - cov) - centring - rounding * (1 + np.abs(cov))) / (
        run.covariance_stderr
    )
    checks.less(float(np.max(z)), N_SE, "long-run covariance vs exact Richardson-EM (in SE)")
    # FDR integrands are quadratic in γ: their Richardson expectation is linear in Q
    fine = game.fdr_expectations(q_h2, eta=eta, batch_size=batch)
    coarse = game.fdr_expectations(q_h, eta=eta, batch_size=batch)
    exp = {k: 2 * fine[k] - coarse[k] for k in fine}
    rhs1 = exp["fdr1_rhs_alt"] if kind == "alt" else exp["fdr1_rhs_sml"]
    expected = {
        "fdr1_lhs": exp["fdr1_lhs"],
        "fdr1_rhs": rhs1,
        "fdr1_gap": exp["fdr1_lhs"] - rhs1,
        "fdr2_lhs": exp["fdr2_lhs"],
        "fdr2_rhs": exp["fdr2_rhs"],
        "fdr2_gap": exp["fdr2_lhs"] - exp["fdr2_rhs"],
    }
    worst = 0.0
    for key, value in expected.items():
        estimate, half = run.fdr[key]
        se = half / 1.959963984540054
        dev = abs(estimate - value) - rounding * (1 + abs(value))
        worst = max(worst, dev / se if se > 0 else (np.inf if dev > 0 else 0.0))
    checks.less(worst, N_SE, "long-run FDR estimates vs exact (in SE)")
    return checks.outcome()


def _fp_exact(case):
    """Closed-form zero-flux density ∝ a⁻¹exp∫2b/a for b = −k(x − m), a = α + β(x − c)²."""
    k, m, alpha, beta, c = case["k"], case["m"], case["alpha"], case["beta"], case["c"]

    def log_p(x):
        if beta == 0.0:
            return -k * (x - m) ** 2 / alpha - math.log(alpha)
        a = alpha + beta * (x - c) ** 2
        integral = (
            -2
            * k
            * (
                np.log(a) / (2 * beta)
                + (c - m) / math.sqrt(alpha * beta) * np.arctan(math.sqrt(beta / alpha) * (x - c))
            )
        )
        return integral - np.log(a)

    return log_p


def run_fokker_planck(case):
    checks = Checks()
    k, m, alpha, beta, c = case["k"], case["m"], case["alpha"], case["beta"], case["c"]
    # the box: 6 stationary standard deviations of the OU part (a(m)/(2k)) around m; the
    # zero-flux problem on the box has the same closed form, normalised on the box
    std = math.sqrt((alpha + beta * (m - c) ** 2) / (2 * k))
    lo, hi = m - 6 * std, m + 6 * std
    log_p = _fp_exact(case)
    fine = np.linspace(lo, hi, 200001)
    weights = np.full(fine.size, (hi - lo) / (fine.size - 1))
    weights[0] = weights[-1] = weights[0] / 2
    lp = log_p(fine)
    shift = lp.max()
    norm = float(np.sum(weights * np.exp(lp - shift)))

    def exact(x):
        return np.exp(log_p(x) - shift) / norm

    def drift(pts):
        return -k * (pts - m)

    def diffusion(pts):
        return (alpha + beta * (pts - c) ** 2)[:, :, None]

    def divergence(pts):
        return 2 * beta * (pts - c)

    order = 2 if case["element"] == "P1" else 3
    errors = []
    for cells in (case["cells"], 2 * case["cells"]):
        sol = stationary_fokker_planck(
            drift,
            diffusion,
            interval(lo, hi, cells),
            divergence=divergence,
            element=case["element"],
        )
        nodes = sol.basis.doflocs[0]
        errors.append(float(np.max(np.abs(sol.values - exact(nodes)))))
    # a-priori: interpolation error h^{p+1}/(p+1)!·max|p^{(p+1)}| (P1: h²/8·max|p''|) times a
    # quasi-optimality constant; |p^{(j)}| ≤ max p·(j/ℓ)^j-type growth is bounded with the
    # numerical derivative of the closed form on the fine grid
    hcell = (hi - lo) / case["cells"]
    deriv = exact(fine)
    step = fine[1] - fine[0]
    for _ in range(order):
        deriv = np.gradient(deriv, step)
    bound = 4 * hcell**order / math.factorial(order) * float(np.max(np.abs(deriv)))
    peak = float(np.max(exact(fine)))
    checks.less(errors[0], bound + 1e-10 * peak, "FEM max nodal error vs 4·interpolation bound")
    metrics = {"rel_error": errors[0] / peak}
    if errors[1] > 1e-9 * peak:
        rate = _order(errors[0], errors[1])
        metrics["order"] = rate
        checks.true(rate >= order - 0.5, f"FEM order {rate:.2f} < {order} - 0.5 under h/2")
    return checks.outcome(**metrics)


def run_schedule(case):
    torch = _torch()
    from gan_pde.sde import FDR2Scheduler
    from gan_pde.sde.scheduler import fdr2_statistics

    checks = Checks()
    rng = np.random.default_rng(case["seed"])
    param = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([param], lr=case["lr"])
    sched = FDR2Scheduler(
        opt,
        epsilon=case["epsilon"],
        delta=case["delta"],
        window=case["window"],
        min_lr=case["min_lr"],
    )
    eps_, w = case["epsilon"], case["window"]
    lrs = []
    side = rng.choice([-1.0, 1.0])
    for _ in range(case["steps"]):
        rhs = float(rng.uniform(0.1, 10.0))
        if case["inside"]:
            ratio = 1 + rng.uniform(-0.9, 0.9) * eps_
        else:
            # one side of the band for every observation, so that every window's
            # weighted mean ratio Σ r_i rhs_i / Σ rhs_i stays outside too
            ratio = (
                1 + side * rng.uniform(1.1, 3.0) * eps_
                if side > 0
                else (1 - rng.uniform(1.1, min(3.0, 0.9 / eps_)) * eps_)
            )
        sched.observe(ratio * rhs, rhs)
        param.grad = torch.zeros_like(param)
        opt.step()  # torch wants optimizer.step() before scheduler.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    t = np.arange(1, case["steps"] + 1)
    if case["inside"]:
        # η_t = min(η0, max(η_min, η0(1 − δ)^⌊t/W⌋)): decreases never go below η_min, and
        # never raise a rate that starts below it
        expected = np.minimum(
            case["lr"], np.maximum(case["min_lr"], case["lr"] * (1 - case["delta"]) ** (t // w))
        )
    else:
        expected = np.full(t.size, case["lr"])
    # the scheduler multiplies by (1 − δ) once per decrease: rounding of a product of ≤ t/W
    checks.less(
        float(np.max(np.abs(np.array(lrs) - expected) / expected)),
        64 * EPS * (1 + case["steps"] / w),
        "learning rates vs closed form",
    )
    # fdr2_statistics against its formula on random per-sample gradients
    b, p, q = int(rng.integers(2, 9)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
    theta, omega = rng.normal(size=p), rng.normal(size=q)
    gt, gw = rng.normal(size=(b, p)), rng.normal(size=(b, q))
    eta = case["lr"]
    lhs, rhs = fdr2_statistics(
        torch.tensor(theta), torch.tensor(omega), torch.tensor(gt), torch.tensor(gw), eta=eta
    )
    ref_l = theta @ gt.mean(0) - omega @ gw.mean(0)
    ref_r = (
        eta
        / (2 * b)
        * (
            np.trace(np.cov(gt.T, ddof=1).reshape(p, p))
            + np.trace(np.cov(gw.T, ddof=1).reshape(q, q))
        )
    )
    checks.less(abs(lhs - ref_l), 1e-13 * (1 + abs(ref_l)), "fdr2_statistics lhs")
    checks.less(abs(rhs - ref_r), 1e-13 * (1 + abs(ref_r)), "fdr2_statistics rhs")
    return checks.outcome()


def run(case):
    kind = case["kind"]
    if kind in TORCH_KINDS and _torch() is None:
        return refused("torch not installed (the ensembles and the scheduler need it)")
    if kind == "sde-ensemble":
        return run_sde_ensemble(case)
    if kind == "sga-ensemble":
        return run_sga_ensemble(case)
    if kind == "invariant":
        return run_invariant(case)
    if kind == "fokker-planck":
        return run_fokker_planck(case)
    if kind == "long-run":
        return run_long_run(case)
    return run_schedule(case)
