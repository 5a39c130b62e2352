"""Mutation study of ``gan-pde verify``: is every small bug in a model caught by some check?

Each mutation below is one small source change, the kind of bug a careful reader could miss
in review: a wrong constant (0.5 -> 0.45), a wrong sign, a factor 2, an off-by-one, a wrong
exponent, a stale variable.  There is at least one in every model (JSD flow, weighted
Laplacian spectrum and its finite-element forms, lGAN closed forms and system, WGAN mean
field, SDE, dual flows, networks, densities).  They were chosen from the library code alone,
as an independent tester would, without reading the checks, and only in code that the checks
of the chosen verify size execute (a mutation no code path reaches is no test).

For each mutation the script copies the package ``gan_pde/`` to a fresh temporary folder,
applies the change there (the original snippet must occur exactly once in its file), and
runs ``python -m gan_pde verify --quick --quiet --out <tmp>/report`` with
``PYTHONPATH=<tmp>`` and ``cwd=<tmp>``, so that the mutated copy is imported and not the
editable install (asserted before the study: ``import gan_pde`` must resolve inside the
copy).  A mutation is *detected* when at least one check fails, or when verify crashes
(exits with an error other than failing checks; recorded separately).  An unmutated copy
runs first as the baseline: every check must pass there, else the study stops.

Usage::

    python benchmarks/mutation_study.py                    # all quick mutations, 2 jobs
    python benchmarks/mutation_study.py --jobs 4 --timeout 1200
    python benchmarks/mutation_study.py --size default     # + mutations only default checks reach
    python benchmarks/mutation_study.py --list             # print the mutations and exit
    python benchmarks/mutation_study.py --only jsd-flux-factor --only sde-fdr-temperature
    python benchmarks/mutation_study.py --only lgan-alpha-half --checks 'lgan.*'   # a trial
    python benchmarks/mutation_study.py --table-only       # re-render docs from the JSON

Results go to ``benchmarks/results/mutation_study.json`` (``--only`` merges into it) and a
table between the two ``<!-- mutation-study -->`` markers of ``docs/checks.md`` (a section
``## Mutation study`` with them is appended if missing).  With ``--checks PATTERN``
(passed to verify as ``--only``, repeatable) the run is a trial: its results go to
``benchmarks/results/mutation_study.trial.json`` and the docs are left alone.

Threads: every verify runs with OMP/OPENBLAS/MKL threads 1 and ``MPLBACKEND=Agg``; the
quick baseline takes about half a minute on one core, so ``--jobs`` near the number of
cores is about right.  Exit status 0 when every mutation run was detected, 1 otherwise.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import datetime
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gan_pde"
RESULTS = ROOT / "benchmarks" / "results" / "mutation_study.json"
TRIAL_RESULTS = ROOT / "benchmarks" / "results" / "mutation_study.trial.json"
DOCS = ROOT / "docs" / "checks.md"
MARKER = "<!-- mutation-study -->"
SCHEMA = "gan_pde.benchmarks.mutation_study"
SCHEMA_VERSION = 1
SIZES = ("quick", "default", "full")


@dataclass(frozen=True)
class Mutation:
    """One source mutation: ``original`` (exactly once in ``file``) becomes ``replacement``.

    ``file`` is relative to the package folder ``gan_pde/``; ``level`` is the smallest
    verify size whose checks execute the mutated line (quick checks run at every size).
    """

    id: str
    model: str
    file: str
    original: str
    replacement: str
    description: str
    level: str = "quick"


MUTATIONS: tuple[Mutation, ...] = (
    # --- JSD flow (paper 002) -------------------------------------------------------------
    Mutation(
        "jsd-flux-factor",
        "JSD flow",
        "flows/operator.py",
        "return 0.5 * self._pair_sums(self._pair_eq * self._pair_differences(s))",
        "return 0.55 * self._pair_sums(self._pair_eq * self._pair_differences(s))",
        "weak operator of v_t = ½Δ_μ ln(1+v) with 0.55 for ½: the flow runs 10 % fast",
    ),
    Mutation(
        "jsd-density-constant",
        "JSD flow",
        "flows/jsd.py",
        "    return 0.5 * (first + second)\n",
        "    return 0.45 * (first + second)\n",
        "JSD integrand j(v) = ½[v ln(2v/(1+v)) + ln(2/(1+v))] with 0.45 for ½: JSD 10 % low",
    ),
    Mutation(
        "jsd-dissipation-factor",
        "JSD flow",
        "flows/jsd.py",
        "return 0.25 * self.operator.dirichlet_form(np.log(x) - phi, phi)",
        "return 0.5 * self.operator.dirichlet_form(np.log(x) - phi, phi)",
        "dissipation ∫|∇δJ/δρ|²u = ¼ψᵀKφ computed with ½ (factor 2)",
    ),
    # --- weighted-Laplacian spectrum and FEM forms (paper 004) --------------------------
    Mutation(
        "spec-poincare-index",
        "spectrum",
        "spectral/weighted_laplacian.py",
        "return float(self.eigenvalues[1])",
        "return float(self.eigenvalues[2])",
        "Spectrum.poincare_constant returns ξ_2 instead of ξ_1 (off by one)",
    ),
    Mutation(
        "fem-stiffness-weight",
        "FEM forms",
        "fem/forms.py",
        'return w["rho"] * dot(grad(u), grad(v))',
        'return w["rho"] ** 2 * dot(grad(u), grad(v))',
        "weighted stiffness ∫ρ∇u·∇v (P2 and general meshes) with the weight squared",
    ),
    Mutation(
        "fem-p1-stiffness-mean",
        "FEM forms",
        "fem/forms.py",
        "total = weights.sum(axis=0)\n    half = np.exp(",
        "total = weights.mean(axis=0)\n    half = np.exp(",
        "P1 simplex stiffness (blocked assembly of the spectrum): cell weight ∫_e ρ as the "
        "mean instead of the sum of the quadrature terms",
    ),
    # --- densities -----------------------------------------------------------------------
    Mutation(
        "dens-gaussian-exponent",
        "densities",
        "densities.py",
        "squares *= -0.5\n",
        "squares *= -0.45\n",
        "Gaussian log-density c − ½|L⁻¹(x−m)|² with 0.45 for ½ (variance 11 % too large)",
    ),
    # --- lGAN closed forms and system (paper 004) ----------------------------------------
    Mutation(
        "lgan-discriminant",
        "lGAN closed forms",
        "spectral/lgan.py",
        "return s, c, s - 2.0 * c",
        "return s, c, s - 2.2 * c",
        "discriminant (α+γξ)² − 4β²ξ of (22) factored with 2.2|β|√ξ instead of 2|β|√ξ",
    ),
    Mutation(
        "lgan-alpha-half",
        "lGAN system",
        "spectral/lgan_assembly.py",
        "-self.alpha * self.u_mass - self.gamma * self.stiffness,",
        "-0.5 * self.alpha * self.u_mass - self.gamma * self.stiffness,",
        "discriminator damping −αM_u of the lGAN operator with α/2 (the α convention of "
        "Theorem 1 instead of (6))",
    ),
    Mutation(
        "lgan-coupling-sign",
        "lGAN system",
        "spectral/lgan_assembly.py",
        "-self.beta * self.coupling.T,",
        "self.beta * self.coupling.T,",
        "sign of the coupling −βBᵀ in the u-equation of the lGAN operator flipped",
    ),
    # --- WGAN mean field (paper 001) -----------------------------------------------------
    Mutation(
        "mf-logistic-pdf-exponent",
        "WGAN mean field (toy)",
        "meanfield/toy.py",
        "return 0.25 / np.cosh(0.5 * np.asarray(g)) ** 2",
        "return 0.25 / np.cosh(0.5 * np.asarray(g))",
        "latent density Φ'(g) = 1/(4cosh²(g/2)) with the square dropped",
    ),
    Mutation(
        "mf-critic-velocity",
        "WGAN mean field (toy)",
        "meanfield/toy.py",
        "return self.gamma_c * (0.5 - float(logistic_cdf(g)))",
        "return self.gamma_c * (0.45 - float(logistic_cdf(g)))",
        "common critic velocity γ_c(½ − Φ(g)) of the toy mean field with 0.45 for ½",
    ),
    Mutation(
        "mf-upwind-width",
        "WGAN mean field (transport)",
        "meanfield/transport.py",
        "        ) / h\n        rates[tuple(left)] -= flux",
        "        ) / (2.0 * h)\n        rates[tuple(left)] -= flux",
        "upwind finite-volume flux divided by 2h instead of h: transport at half speed",
    ),
    # --- SDE (paper 000) -----------------------------------------------------------------
    Mutation(
        "sde-alt-correction",
        "SDE (quadratic)",
        "sde/quadratic.py",
        "factor = eye + 0.5 * eta * r",
        "factor = eye + 0.25 * eta * r",
        "ALT-SDE drift correction (I + ½ηR)M₀ with ¼η for ½η",
    ),
    Mutation(
        "sde-fdr-temperature",
        "SDE (quadratic)",
        "sde/quadratic.py",
        "inverse_beta = eta / (2 * batch)",
        "inverse_beta = eta / batch",
        "FDR temperature β⁻¹ = η/(2B) without the 2",
    ),
    Mutation(
        "sde-moment-noise",
        "SDE (quadratic)",
        "sde/quadratic.py",
        "return generator + eta / batch * noise.reshape((d + 1) ** 2, (d + 1) ** 2)",
        "return generator + eta / (2 * batch) * noise.reshape((d + 1) ** 2, (d + 1) ** 2)",
        "moment generator of the SDE with the noise covariance η/B·Σ halved",
    ),
    Mutation(
        "sde-hvp-correction-sign",
        "SDE (coefficients)",
        "sde/coefficients.py",
        "return 0.5 * self._torch.cat([first, -q[p:]])",
        "return 0.5 * self._torch.cat([first, q[p:]])",
        "Hessian-vector-product drift correction: sign of the ω-block flipped",
    ),
    # --- dual flows (paper 003) ----------------------------------------------------------
    Mutation(
        "dual-implicit-stale-x",
        "dual flows",
        "dual/schemes.py",
        "return x_new, proximal_y(game, x_new, y, tau), 0",
        "return x_new, proximal_y(game, x, y, tau), 0",
        "implicit scheme (8)–(9) on bilinear games: the y-step uses the old x (Jacobi, not "
        "Gauss–Seidel)",
    ),
    Mutation(
        "dual-alternating-stale-x",
        "dual flows",
        "dual/schemes.py",
        "            x = x - tau * game.gradient_x(x, y)\n"
        "            y = y - tau * game.gradient_y(x, y)\n",
        "            x_old = x\n"
        "            x = x - tau * game.gradient_x(x, y)\n"
        "            y = y - tau * game.gradient_y(x_old, y)\n",
        "alternating explicit scheme (1): the y-step uses the old x (simultaneous updates)",
    ),
    Mutation(
        "dual-oscillating-gradient",
        "dual flows (games)",
        "dual/games.py",
        "grad_y=lambda x, y: x.copy(),",
        "grad_y=lambda x, y: 0.9 * x,",
        "oscillating game (1)–(2): ∇_y of x·(y − x_r) as 0.9x",
    ),
    # --- networks (papers 002, 004, 001) -------------------------------------------------
    Mutation(
        "nn-ode-velocity",
        "networks (GAN)",
        "nn/gan.py",
        "return 0.5 * torch.sigmoid(_logit(discriminator, params, x))[:, None] * grad",
        "return 0.45 * torch.sigmoid(_logit(discriminator, params, x))[:, None] * grad",
        "particle velocity ½σ(D)∇D of Algorithm 2 with 0.45 for ½",
    ),
    Mutation(
        "nn-generator-loss-sign",
        "networks (GAN)",
        "nn/gan.py",
        "                return torch.nn.functional.logsigmoid(\n"
        "                    -_logit(discriminator, d_params, fake_p)\n",
        "                return torch.nn.functional.logsigmoid(\n"
        "                    _logit(discriminator, d_params, fake_p)\n",
        "GAN generator step minimises ln σ(D(G)) instead of ln σ(−D(G)) (sign of the logit)",
    ),
    Mutation(
        "nn-particle-time",
        "networks (GAN)",
        "nn/gan.py",
        "time_per_step = 2.0 * lr_g / m_g",
        "time_per_step = lr_g / m_g",
        "flow time per generator step 2·lr/m without the 2",
    ),
    # --- mutations that only default-size checks execute --------------------------------
    Mutation(
        "mf-generator-ascent",
        "WGAN mean field (model)",
        "meanfield/model.py",
        '(gen, self.z, mu_weights, -1.0, "mu"),',
        '(gen, self.z, mu_weights, 1.0, "mu"),',
        "generator velocity V_μ = +∇_θ δE/δμ (ascent) instead of −∇_θ δE/δμ",
    ),
    Mutation(
        "nn-wgan-critic-rate",
        "networks (WGAN)",
        "nn/wgan.py",
        "d_params = tree_map(lambda p, g: (p + lr * g).clamp(-CLIP, CLIP), d_params, grads)",
        "d_params = tree_map(lambda p, g: (p + 0.5 * lr * g).clamp(-CLIP, CLIP), d_params, grads)",
        "clipped critic ascent with half the learning rate (γ_c halved)",
    ),
    Mutation(
        "nn-lsgan-alpha",
        "networks (LSGAN)",
        "nn/lsgan.py",
        'f = (0.5 * hyper["alpha"] * d_real**2 + hyper["beta"] * d_real).mean()',
        'f = (hyper["alpha"] * d_real**2 + hyper["beta"] * d_real).mean()',
        "LSGAN loss φ₁(x) = αx²/2 + βx without the ½",
    ),
    Mutation(
        "nn-poincare-centring",
        "networks (Poincaré)",
        "nn/poincare.py",
        "v = (w - w.mean()) ** 2",
        "v = w**2",
        "held-out Rayleigh quotient divides by the second moment, not the variance",
    ),
    Mutation(
        "sde-fp-diffusion",
        "SDE (Fokker–Planck)",
        "sde/fokker_planck.py",
        "flux = flux + 0.5 * a[i, j] * u.grad[j]",
        "flux = flux + a[i, j] * u.grad[j]",
        "stationary Fokker–Planck flux without the ½ of ½∇·(Aρ)",
    ),
    Mutation(
        "sde-em-noise",
        "SDE (simulation)",
        "sde/simulate.py",
        "math.sqrt(dt) * self._noise(state, xi_t, xi_w)",
        "math.sqrt(0.5 * dt) * self._noise(state, xi_t, xi_w)",
        "Euler–Maruyama increment with variance dt/2 instead of dt",
    ),
)


# --------------------------------------------------------------------------- mutations


def mutation_by_id() -> dict[str, Mutation]:
    table = {m.id: m for m in MUTATIONS}
    if len(table) != len(MUTATIONS):
        msg = "mutation ids must be unique"
        raise SystemExit(msg)
    return table


def apply_mutation(package: Path, mutation: Mutation) -> None:
    """Apply ``mutation`` to the package folder ``package`` (a copy), in place."""
    path = package / mutation.file
    text = path.read_text(encoding="utf-8")
    count = text.count(mutation.original)
    if count != 1:
        msg = (
            f"mutation {mutation.id}: the original snippet occurs {count} times in "
            f"{mutation.file} (expected exactly once)"
        )
        raise AssertionError(msg)
    if mutation.replacement == mutation.original:
        msg = f"mutation {mutation.id}: the replacement equals the original"
        raise AssertionError(msg)
    path.write_text(text.replace(mutation.original, mutation.replacement), encoding="utf-8")


def copy_package(workdir: Path, mutation: Mutation | None) -> Path:
    """Copy ``gan_pde/`` into ``workdir`` (no caches) and apply ``mutation`` to the copy."""
    target = workdir / "gan_pde"
    shutil.copytree(PACKAGE, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    if mutation is not None:
        apply_mutation(target, mutation)
    return target


def environment(workdir: Path) -> dict[str, str]:
    """The environment of a run: the copy in ``workdir`` first on the path, one thread."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(workdir)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["MPLBACKEND"] = "Agg"
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = "1"
    return env


def assert_copy_imported(workdir: Path) -> str:
    """Raise unless ``import gan_pde`` resolves to the copy in ``workdir``."""
    out = subprocess.run(
        [sys.executable, "-c", "import gan_pde; print(gan_pde.__file__)"],
        cwd=workdir,
        env=environment(workdir),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    where = Path(out.stdout.strip()).resolve()
    if not where.is_relative_to(workdir.resolve()):
        msg = (
            f"import gan_pde resolves to {where}, not to the copy in {workdir}: the study "
            "would test the unmutated package"
        )
        raise AssertionError(msg)
    return str(where)


# --------------------------------------------------------------------------- running


def verify_command(out: Path, size: str, checks: list[str]) -> list[str]:
    command = [sys.executable, "-m", "gan_pde", "verify", "--quiet", "--out", str(out)]
    if size == "quick":
        command.append("--quick")
    elif size == "full":
        command.append("--full")
    for pattern in checks:
        command += ["--only", pattern]
    return command


def _run(command: list[str], cwd: Path, env: dict[str, str], timeout: float):
    """(returncode or None on timeout, stdout, stderr); the whole process group is killed
    on timeout."""
    with subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # verify and anything it started
            stdout, stderr = process.communicate()
            return None, stdout, stderr
    return process.returncode, stdout, stderr


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def run_verify(mutation: Mutation | None, size: str, checks: list[str], timeout: float) -> dict:
    """Copy, mutate, run verify on the copy; the record of one run."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gan_pde_mutation_") as tmp:
        workdir = Path(tmp)
        package = copy_package(workdir, None)
        # the guard runs before the mutation, so a mutation that breaks the import is
        # recorded as a crash of verify and not as a failure of the harness
        imported = assert_copy_imported(workdir)
        if mutation is not None:
            apply_mutation(package, mutation)
        report = workdir / "report"
        code, stdout, stderr = _run(
            verify_command(report, size, checks), workdir, environment(workdir), timeout
        )
        document = None
        results = report / "results.json"
        if results.is_file():
            try:
                document = json.loads(results.read_text(encoding="utf-8"))
            except json.JSONDecodeError:
                document = None
    record = {
        "returncode": code,
        "seconds": round(time.perf_counter() - start, 1),
        "imported": imported,
        "stdout_tail": _tail(stdout),
        "stderr_tail": _tail(stderr),
    }
    record.update(classify(code, document))
    return record


def classify(code: int | None, document: dict | None) -> dict:
    """Outcome of one verify run from its exit status and results.json.

    ``failed-checks``: at least one check failed (detected); ``crashed``: verify exited
    with an error and no check failed, or wrote no results (detected); ``timeout``: no
    verdict (not detected); ``undetected``: every check passed.
    """
    failing, skipped, total = [], [], 0
    if document is not None:
        checks = document.get("checks", [])
        total = len(checks)
        for check in checks:
            if check.get("skipped"):
                skipped.append(check["name"])
            elif not check.get("passed"):
                details = check.get("details")
                error = details.get("error") if isinstance(details, dict) else None
                failing.append(
                    {
                        "name": check["name"],
                        "criteria": [
                            c.get("label", "?")
                            for c in check.get("criteria") or []
                            if not c.get("passed")
                        ],
                        "error": None if error is None else str(error)[:300],
                    }
                )
    if code is None:
        outcome = "timeout"
    elif failing:
        outcome = "failed-checks"
    elif code != 0 or document is None:
        outcome = "crashed"
    else:
        outcome = "undetected"
    return {
        "outcome": outcome,
        "detected": outcome in ("failed-checks", "crashed"),
        "failing_checks": failing,
        "skipped_checks": skipped,
        "n_checks": total,
    }


# --------------------------------------------------------------------------- study


def baseline(size: str, checks: list[str], timeout: float) -> dict:
    print(f"baseline: unmutated copy, verify size {size} ...", flush=True)
    record = run_verify(None, size, checks, timeout)
    verdict = "all passed" if record["outcome"] == "undetected" else record["outcome"]
    print(
        f"baseline: {verdict}, {record['n_checks']} checks, {record['seconds']} s "
        f"(imported {record['imported']})",
        flush=True,
    )
    if record["outcome"] != "undetected" or record["n_checks"] == 0:
        names = [f["name"] for f in record["failing_checks"]]
        detail = ", ".join(names) or record["stderr_tail"] or f"after {record['seconds']} s"
        msg = f"the unmutated package does not pass verify ({record['outcome']}): {detail}"
        raise SystemExit(msg)
    if record["skipped_checks"]:
        print(f"warning: skipped in the baseline: {record['skipped_checks']}", file=sys.stderr)
    return record


def study(selected: list[Mutation], size: str, checks: list[str], jobs: int, timeout: float):
    base = baseline(size, checks, timeout)
    records: dict[str, dict] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(run_verify, m, size, checks, timeout): m for m in selected}
        for future in concurrent.futures.as_completed(futures):
            mutation = futures[future]
            try:
                record = future.result()
            except AssertionError:
                raise
            except Exception as exc:  # a harness failure is recorded, not fatal
                record = {
                    "outcome": "harness-error",
                    "detected": False,
                    "failing_checks": [],
                    "skipped_checks": [],
                    "n_checks": 0,
                    "returncode": None,
                    "seconds": 0.0,
                    "stderr_tail": f"{type(exc).__name__}: {exc}",
                }
            records[mutation.id] = {**asdict(mutation), **record}
            names = ", ".join(f["name"] for f in record["failing_checks"]) or "-"
            print(
                f"{mutation.id:28s} {record['outcome']:14s} {record['seconds']:7.1f} s  {names}",
                flush=True,
            )
    ordered = [records[m.id] for m in selected]
    return base, ordered


def document(base: dict, records: list[dict], size: str, checks: list[str]) -> dict:
    detected = [r["id"] for r in records if r["detected"]]
    return {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "size": size,
        "checks_pattern": checks,
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
        },
        "baseline": {
            "n_checks": base["n_checks"],
            "seconds": base["seconds"],
            "skipped_checks": base["skipped_checks"],
        },
        "summary": {
            "mutations": len(records),
            "detected": len(detected),
            "undetected": [r["id"] for r in records if not r["detected"]],
        },
        "mutations": records,
    }


def merge(previous: dict | None, new: dict) -> dict:
    """``new`` with the mutations of ``previous`` that it did not rerun (same size only)."""
    if previous is None or previous.get("size") != new["size"] or previous.get("checks_pattern"):
        return new
    rerun = {r["id"] for r in new["mutations"]}
    known = mutation_by_id()
    kept = [r for r in previous.get("mutations", []) if r["id"] not in rerun and r["id"] in known]
    order = {m.id: i for i, m in enumerate(MUTATIONS)}
    merged = sorted(kept + new["mutations"], key=lambda r: order[r["id"]])
    out = dict(new)
    out["mutations"] = merged
    out["summary"] = {
        "mutations": len(merged),
        "detected": sum(r["detected"] for r in merged),
        "undetected": [r["id"] for r in merged if not r["detected"]],
    }
    return out


# --------------------------------------------------------------------------- docs


def _cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _detected_by(record: dict) -> tuple[str, str]:
    outcome = record["outcome"]
    if outcome == "failed-checks":
        names = ", ".join(f"`{f['name']}`" for f in record["failing_checks"])
        labels = "; ".join(
            label for f in record["failing_checks"] for label in f["criteria"]
        ) or "; ".join(f["error"] for f in record["failing_checks"] if f["error"])
        return names, labels or "—"
    if outcome == "crashed":
        last = record.get("stderr_tail", "").strip().splitlines()
        return "verify crashed", last[-1] if last else f"exit status {record['returncode']}"
    if outcome == "timeout":
        return "**no verdict (timeout)**", "—"
    return "**not detected**", "—"


def table(doc: dict) -> str:
    """The markdown table of a results document."""
    summary = doc["summary"]
    lines = [
        f"{summary['detected']} of {summary['mutations']} mutations detected "
        f"(`gan-pde verify` size `{doc['size']}`, {doc['baseline']['n_checks']} checks "
        f"pass on the unmutated package; "
        f"{doc['date'][:10]}, {doc['machine']['cpus']} CPUs; "
        "generated by `python benchmarks/mutation_study.py`).",
        "",
        "| Mutation | Model | File | Change | Detected by | Failing criteria | s |",
        "|---|---|---|---|---|---|---:|",
    ]
    for r in doc["mutations"]:
        by, criteria = _detected_by(r)
        lines.append(
            f"| `{r['id']}` | {_cell(r['model'])} | `{r['file']}` | {_cell(r['description'])} "
            f"| {_cell(by)} | {_cell(criteria)} | {r['seconds']:.0f} |"
        )
    if summary["undetected"]:
        lines += ["", "Not detected: " + ", ".join(f"`{i}`" for i in summary["undetected"]) + "."]
    return "\n".join(lines)


SECTION_INTRO = """\
## Mutation study

`benchmarks/mutation_study.py` applies small source mutations, the kind of bug a reader
could miss in review (a wrong constant, a wrong sign, a factor 2, an off-by-one, a wrong
exponent, a stale variable), one at a time to a copy of the package, at least one in
every model, and runs `gan-pde verify` on each copy (size `quick` unless the table says
otherwise).  The mutations were chosen
from the library code alone, without reading the checks, in code the checks execute.  A
mutation is detected when at least one check fails (or verify crashes); the unmutated copy
passes every check.
"""


def update_docs(doc: dict, path: Path = DOCS) -> None:
    """Write the table between the two markers of ``path`` (append the section if missing)."""
    text = path.read_text(encoding="utf-8")
    block = f"{MARKER}\n{table(doc)}\n{MARKER}"
    count = text.count(MARKER)
    if count == 0:
        text = text.rstrip("\n") + "\n\n" + SECTION_INTRO + "\n" + block + "\n"
    elif count == 2:
        head, _, rest = text.partition(MARKER)
        _, _, tail = rest.partition(MARKER)
        text = head + block + tail
    else:
        msg = f"{path} has {count} {MARKER!r} markers; expected 0 or 2"
        raise SystemExit(msg)
    path.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------- command line


def _print_list(mutations: list[Mutation]) -> None:
    for m in mutations:
        print(f"{m.id}  [{m.model}; {m.file}; level {m.level}]")
        print(f"    {m.description}")
        for sign, snippet in (("-", m.original), ("+", m.replacement)):
            for line in textwrap.dedent(snippet).rstrip("\n").splitlines():
                print(f"    {sign} {line}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only", metavar="ID", action="append", help="run this mutation only (repeatable)"
    )
    parser.add_argument("--jobs", type=int, default=2, help="parallel verify runs (default 2)")
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="seconds per verify run (default 900)"
    )
    parser.add_argument(
        "--size",
        choices=SIZES,
        default="quick",
        help="verify size (default quick); default and full also run the mutations that only "
        "default-size checks reach",
    )
    parser.add_argument(
        "--checks",
        metavar="PATTERN",
        action="append",
        default=[],
        help="pass --only PATTERN to verify (repeatable): a fast trial, results to "
        f"{TRIAL_RESULTS.name}, docs untouched",
    )
    parser.add_argument("--list", action="store_true", help="print the mutations and exit")
    parser.add_argument(
        "--table-only",
        action="store_true",
        help=f"re-render the docs table from {RESULTS.name} without running anything",
    )
    args = parser.parse_args(argv)

    known = mutation_by_id()
    if args.only:
        unknown = [i for i in args.only if i not in known]
        if unknown:
            parser.error(f"unknown mutation id(s) {unknown}; see --list")
        selected = [known[i] for i in dict.fromkeys(args.only)]
    else:
        reach = SIZES.index(args.size)
        selected = [m for m in MUTATIONS if SIZES.index(m.level) <= reach]
    if args.list:
        _print_list(selected)
        return 0
    if args.table_only:
        doc = json.loads(RESULTS.read_text(encoding="utf-8"))
        update_docs(doc)
        print(f"table of {RESULTS} written to {DOCS}")
        return 0
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    for m in selected:  # every snippet applies before anything runs
        text = (PACKAGE / m.file).read_text(encoding="utf-8")
        if text.count(m.original) != 1 or m.original == m.replacement:
            parser.error(f"mutation {m.id} does not apply to {m.file}")
        if SIZES.index(m.level) > SIZES.index(args.size):
            print(
                f"warning: {m.id} is only reached by {m.level}-size checks; it runs at size "
                f"{args.size}",
                file=sys.stderr,
            )

    base, records = study(selected, args.size, args.checks, args.jobs, args.timeout)
    doc = document(base, records, args.size, args.checks)
    if args.checks:
        path = TRIAL_RESULTS
    else:
        path = RESULTS
        previous = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
        doc = merge(previous, doc) if args.only else doc
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"results in {path}")
    if not args.checks:
        update_docs(doc)
        print(f"table in {DOCS}")
    summary = doc["summary"]
    print(f"{summary['detected']} of {summary['mutations']} mutations detected")
    if summary["undetected"]:
        print("not detected: " + ", ".join(summary["undetected"]))
    return 0 if not summary["undetected"] else 1


if __name__ == "__main__":
    sys.exit(main())
