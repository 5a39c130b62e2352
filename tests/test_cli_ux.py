"""What a user of ``gan-pde`` meets (issue 21): one-line errors, the same options on every
command, results.json, progress, Ctrl-C and --resume.

The Ctrl-C tests send SIGINT to a real ``gan-pde`` process (jsd-flow in the default run,
every command under ``-m slow``; docs/cli.md's table comes from those runs) or raise
KeyboardInterrupt inside a command in-process (fast, deterministic).
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from test_cli import SMALL
from tqdm import tqdm

import gan_pde as gp
from gan_pde.cli import main
from gan_pde.commands import COMMANDS, _common
from gan_pde.commands._common import Progress, bar_format

# the small spectrum config of test_cli (N(0, 0.25), 240 P2 cells, k = 4)
SPECTRUM = SMALL

FLOW = """
[target]
kind = "mixture"
means = [[-2.0], [2.0]]
stds = [1.0, 1.0]
weights = [0.5, 0.5]

[initial]
kind = "gaussian"
mean = [0.0]
cov = [[1.0]]

[domain]
kind = "interval"
bounds = [[-10.0, 10.0]]
cells = [{cells}]

[solver]
t_final = {t_final}
dt = 0.05
"""

LGAN = """
[density]
kind = "gaussian"
mean = [0.0]
cov = [[1.0]]

[domain]
kind = "interval"
bounds = [[-8.0, 8.0]]
cells = [40]

[lgan]
alpha = 0.0
beta = 1.0

[integrator]
scheme = "rk4"
tau = 0.5
steps = 200
"""

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"}


def _write(tmp_path: Path, text: str, name: str = "c.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _one_line_error(err: str) -> str:
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


# ---------------------------------------------------------------- one set of options

#: An invocation of every command (config takes an action first).
INVOCATIONS = {name: [name] for name in ("verify", "spectrum", "lgan", "jsd-flow", "sweep")}
INVOCATIONS.update({name: [name] for name in ("meanfield", "dual", "sde", "train", "compare")})
INVOCATIONS["config"] = ["config", "show", "spectrum"]


def test_the_invocations_cover_every_command():
    assert len(INVOCATIONS) == len(COMMANDS)


@pytest.mark.parametrize("command", sorted(INVOCATIONS))
def test_every_command_takes_the_common_options_before_and_after(command):
    from gan_pde.cli import _parser

    parser, _ = _parser()
    words = INVOCATIONS[command]
    args = parser.parse_args(["-v", *words, "-v", "--quiet", "--json", "--out", "d"])
    assert (args.verbose, args.sub_verbose, args.quiet, args.json, args.out) == (
        1,
        1,
        True,
        True,
        "d",
    )
    args = parser.parse_args([*words, "-vv", "-q"])
    assert (args.verbose + args.sub_verbose, args.quiet) == (2, True)


def test_verbose_after_the_command_turns_on_logging(tmp_path, capsys):
    logger = logging.getLogger("gan_pde")
    before = logger.level
    try:
        assert main(["spectrum", _write(tmp_path, SPECTRUM), "-v", "-q"]) == 0
        assert logger.level == logging.INFO
        assert main(["-vv", "spectrum", _write(tmp_path, SPECTRUM), "-q"]) == 0
        assert logger.level == logging.DEBUG
    finally:
        logger.setLevel(before)


def test_help_documents_the_exit_statuses(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for status in ("0 ", "1 ", "2 ", "130"):
        assert f"\n  {status}" in text
    assert "interrupted (Ctrl-C)" in text and "results.json" in text


@pytest.mark.parametrize("command", ["compare", "sde", "train"])
def test_quick_and_full_are_exclusive(command, capsys):
    from gan_pde.cli import _parser

    parser, _ = _parser()
    assert parser.parse_args([command, "--quick"]).quick
    assert parser.parse_args([command, "--full"]).full
    with pytest.raises(SystemExit):
        parser.parse_args([command, "--quick", "--full"])


def test_train_quick_sets_the_documented_sizes(tmp_path, monkeypatch, capsys):
    from gan_pde.commands import train

    seen = {}

    def fake(config, *, device, progress, **checkpointing):
        seen["config"] = config
        raise KeyboardInterrupt

    monkeypatch.setattr(train, "train_from_config", fake)
    monkeypatch.setattr(_common, "check_device", lambda device: None)
    monkeypatch.setattr(train, "check_device", lambda device: None)
    assert main(["train", "--quick", "-q", "--out", str(tmp_path / "o")]) == 130
    config = seen["config"]
    assert config.run.steps == train.SIZES["quick"]["run"]["steps"] == 10
    assert config.training.n_particles == 250


# ---------------------------------------------------------------- --out, --plot, configs


@pytest.mark.parametrize("command", sorted(INVOCATIONS))
def test_out_that_is_a_file_is_a_one_line_error(command, tmp_path, capsys):
    if command in ("train", "compare"):
        pytest.importorskip("torch")
    afile = tmp_path / "afile"
    afile.write_text("")
    assert main([*INVOCATIONS[command], "--out", str(afile)]) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert f"--out {afile}: is a file, not a folder" in line
    assert main([*INVOCATIONS[command], "--out", str(afile / "sub")]) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert f"{afile} is a file, not a folder" in line


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
@pytest.mark.parametrize("command", ["jsd-flow", "dual", "meanfield", "verify"])
def test_out_that_cannot_be_written_is_a_one_line_error(command, capsys):
    # /proc refuses new files even to root, for whom permission bits do not count
    assert main([command, "--out", "/proc"]) == 2
    assert "--out /proc: cannot write in this folder" in _one_line_error(capsys.readouterr().err)
    assert main([command, "--out", "/proc/gan-pde-test"]) == 2
    assert "cannot create the folder" in _one_line_error(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("command", "config", "module"),
    [
        ("spectrum", SPECTRUM, "gan_pde.spectral.weighted_laplacian.weighted_laplacian_spectrum"),
        ("lgan", LGAN, "gan_pde.spectral.lgan_system.LGANSystem"),
    ],
)
def test_plot_format_is_checked_before_the_solve(command, config, module, tmp_path, capsys):
    def never(*args, **kwargs):
        raise AssertionError("the solve started before --plot was checked")

    name, attribute = module.rsplit(".", 1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(
            sys.modules.get(name) or __import__(name, fromlist=[attribute]), attribute, never
        )
        assert main([command, _write(tmp_path, config), "--plot", "figure.jpgx"]) == 2
        line = _one_line_error(capsys.readouterr().err)
        assert "'.jpgx' is not a figure format; use one of" in line
        assert ".png" in line and ".pdf" in line and ".svg" in line
        assert main([command, _write(tmp_path, config), "--plot", "figure"]) == 2
        assert "has no extension" in _one_line_error(capsys.readouterr().err)
        missing = tmp_path / "nowhere" / "f.png"
        assert main([command, _write(tmp_path, config), "--plot", str(missing)]) == 2
        assert "does not exist" in _one_line_error(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        ('kind = "file"', r"\[domain\] path \(.*c.toml.*\): missing; kind = 'file' needs"),
        ('kind = "bundled"', r"\[domain\] name .*missing; .* one of 'ball', 'disk', 'lshape'"),
        ('kind = "bundled"\nname = "nope"', r"\[domain\] name \(.*line 9\) = 'nope': no bundled"),
    ],
)
def test_domain_without_its_file_or_name(domain, message, tmp_path, capsys):
    text = SPECTRUM.replace('kind = "interval"\nbounds = [[-6.0, 6.0]]\ncells = [240]', domain)
    assert main(["spectrum", _write(tmp_path, text)]) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert re.search(message, line), line
    assert "None" not in line


@pytest.mark.parametrize(
    ("command", "text", "key"),
    [
        ("spectrum", SPECTRUM.replace("cells = [240]", "cells = [0]"), "[domain] cells"),
        ("sweep", "[parameters]\nseparation = [3.0]\ncells = [0]\n", "[parameters] cells"),
        (
            "train",
            '[target]\nkind = "gaussian"\nmean = [0.0]\ncov = [[1.0]]\n[pde]\ncells = 0\n',
            "[pde] cells",
        ),
        ("compare", "[jsd]\nsteps = 0\n", "[jsd] steps"),
        ("sde", "[invariant]\ncells = 1\n", "'cells' in [invariant]"),
    ],
)
def test_range_errors_name_the_config_key(command, text, key, tmp_path, capsys):
    assert main([command, _write(tmp_path, text), "--out", str(tmp_path / "o")]) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert key in line
    assert not re.search(r"\bn must\b", line)


@pytest.mark.parametrize("command", ["train", "compare"])
def test_cuda_without_a_gpu_suggests_the_cpu(command, tmp_path, capsys):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    assert main([command, "--device", "cuda", "--out", str(tmp_path / "o")]) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert "no CUDA device is available" in line and "--device cpu" in line
    assert not (tmp_path / "o" / "results.json").exists()


def test_lgan_unstable_step_names_the_bound_and_fails(tmp_path, capsys):
    assert main(["lgan", _write(tmp_path, LGAN), "-q"]) == 1
    captured = capsys.readouterr()
    line = _one_line_error(captured.err)
    bound = float(re.search(r"the stable step bound is tau <= ([\d.]+)", line).group(1))
    assert 0.1 < bound < 0.5  # RK4 on the imaginary axis: tau sqrt(xi_max) <= 2.83
    assert "[integrator] tau = 0.5 is unstable" in line
    stable = LGAN.replace("tau = 0.5", f"tau = {0.9 * bound:.4f}")
    assert main(["lgan", _write(tmp_path, stable), "-q"]) == 0


# ---------------------------------------------------------------- results.json and --json


def test_json_on_stdout_is_results_json(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["spectrum", _write(tmp_path, SPECTRUM), "--json", "--out", str(out), "-q"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((out / "results.json").read_text())
    np.testing.assert_allclose(printed["eigenvalues"][1:], [4.0, 8.0, 12.0], rtol=1e-6)
    flow = _write(tmp_path, FLOW.format(cells=100, t_final=0.5))
    assert main(["jsd-flow", flow, "--json", "-q", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((out / "results.json").read_text())
    assert printed["times"][-1] == 0.5 and len(printed["jsd"]) == len(printed["times"])
    assert main(["config", "list", "--json"]) == 0
    assert "spectrum" in json.loads(capsys.readouterr().out)
    assert main(["lgan", _write(tmp_path, LGAN), "--json", "-q"]) == 1  # unstable: still JSON
    assert json.loads(capsys.readouterr().out)["stability"]["stable"] is False


def test_summary_says_which_time_it_describes(tmp_path, capsys):
    flow = _write(tmp_path, FLOW.format(cells=100, t_final=0.5))
    assert main(["jsd-flow", flow, "-q", "--out", str(tmp_path / "o")]) == 0
    assert re.search(
        r"JSD [\d.]+ at t = 0 -> [\d.e-]+ at t = 0.5 \(final\)", capsys.readouterr().out
    )


# ---------------------------------------------------------------- progress


def test_progress_lines_off_a_terminal_are_rounded_and_every_tenth(monkeypatch, capsys):
    monkeypatch.setattr(_common, "PROGRESS_DELAY", 0.0)
    monkeypatch.setattr(_common, "LINE_GAP", 0.0)
    with Progress(7.05, unit="t", command="demo") as progress:
        for k in range(31):
            progress.update(k * 0.23500000000000001)  # 0.705 = 3 * 0.235 shows as 0.705
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("gan-pde demo: t = 0 of 7.05 (0 %)")
    assert any(line.startswith("gan-pde demo: t = 0.705 of 7.05 (10 %)") for line in lines), lines
    assert "00000" not in "".join(lines)
    assert 10 <= len(lines) <= 13 and lines[-1].startswith("gan-pde demo: done")


def test_progress_is_silent_when_quiet_or_short(capsys):
    with Progress(10, unit="step", quiet=True) as progress:
        progress.update(5)
    with Progress(10, unit="step") as progress:  # under a second: nothing
        progress.update(10)
    assert capsys.readouterr().err == ""


def test_bar_positions_are_rounded():
    text = tqdm.format_meter(0.23500000000000001, 30.0, 3.0, bar_format=bar_format("t"), ncols=90)
    assert "t = 0.235/30 " in text and "0.2350000" not in text
    assert "7/50 steps" in tqdm.format_meter(7, 50, 1.0, bar_format=bar_format("step"), ncols=90)


# ---------------------------------------------------------------- Ctrl-C and --resume


def test_ctrl_c_in_jsd_flow_says_where_and_how_to_resume(tmp_path, monkeypatch, capsys):
    from gan_pde.flows.jsd import JSDFlow

    def interrupted(self, t_final, dt, *, callback, **options):
        callback(1.5, None)
        raise KeyboardInterrupt

    monkeypatch.setattr(JSDFlow, "solve", interrupted)
    config = _write(tmp_path, FLOW.format(cells=100, t_final=5.0))
    assert main(["jsd-flow", config, "-q", "--out", str(tmp_path / "o")]) == 130
    line = _one_line_error(capsys.readouterr().err)
    assert line.startswith("gan-pde jsd-flow: interrupted at t = 1.5 of 5; no checkpoint")


@pytest.mark.parametrize(
    ("command", "target", "message"),
    [
        ("train", "gan_pde.commands.train.train_from_config", r"after 7 of 50 steps; train keeps"),
        (
            "sde",
            "gan_pde.sde.studies.exact_weak_orders",
            r"in the weak-order study \(part 1 of 4\)",
        ),
        ("dual", "gan_pde.dual.oscillation_study", r"in the oscillating example \(part 1 of 4\)"),
        (
            "sweep",
            "gan_pde.sweep.sweep",
            r"after 0 of 14 points; 0 of 14 points are cached in .*"
            r"continue with: gan-pde sweep -q --out .* --resume",
        ),
        (
            "verify",
            "gan_pde.verify.run_checks",
            r"after 1 of \d+ checks \(last: first\); no report",
        ),
    ],
)
def test_ctrl_c_in_each_command_is_one_line(
    command, target, message, tmp_path, monkeypatch, capsys
):
    if command == "train":
        pytest.importorskip("torch")

    def interrupted(*args, progress=None, **kwargs):
        if progress is not None and command == "train":
            progress(7, {"loss": 0.5})
        if progress is not None and command == "verify":
            progress(type("Check", (), {"name": "first"})())
        raise KeyboardInterrupt

    name, attribute = target.rsplit(".", 1)
    monkeypatch.setattr(__import__(name, fromlist=[attribute]), attribute, interrupted)
    out = ["--out", str(tmp_path / "o")]
    assert main([command, "-q", *out, *(["--quick"] if command == "verify" else [])]) == 130
    line = _one_line_error(capsys.readouterr().err)
    assert re.search(rf"^gan-pde {command}: interrupted {message}", line), line


def test_resume_without_a_checkpoint_says_so_and_starts(tmp_path, capsys):
    config = _write(tmp_path, FLOW.format(cells=100, t_final=0.5))
    out = tmp_path / "o"
    assert main(["jsd-flow", config, "-q", "--out", str(out), "--resume"]) == 0
    err = capsys.readouterr().err
    assert err == f"gan-pde jsd-flow: no checkpoint in {out}: starting from t = 0\n"


def _interrupt(args: list[str], cwd: Path, *, when=None) -> tuple[int, str]:
    """Run ``gan-pde ARGS`` and send SIGINT once ``when()`` is true (default: once a
    progress line is on stderr)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "gan_pde", *args],
        cwd=cwd,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = []
    if when is None:
        for line in process.stderr:
            seen.append(line)
            if "elapsed" in line:
                break
    else:
        deadline = time.monotonic() + 120
        while not when() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
    if process.poll() is not None:
        pytest.fail(f"finished (status {process.returncode}) before it could be interrupted")
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=300)
    return process.returncode, "".join(seen) + err


def test_sigint_in_jsd_flow_then_resume(tmp_path, capsys):
    config = _write(tmp_path, FLOW.format(cells=400, t_final=30.0))
    args = ["jsd-flow", config, "--out", "o", "--checkpoint-every", "0"]
    status, err = _interrupt(args, tmp_path, when=(tmp_path / "o" / "checkpoint.npz").exists)
    assert status == 130
    last = _one_line_error(err.splitlines()[-1])
    match = re.fullmatch(
        r"gan-pde jsd-flow: interrupted at t = ([\d.]+) of 30; o/checkpoint.npz holds the run "
        r"at t = ([\d.]+); continue with: gan-pde jsd-flow \S+c.toml --out o --checkpoint-every "
        r"0 --resume",
        last,
    )
    assert match, last
    assert 0 < float(match.group(2)) <= float(match.group(1)) < 30
    cwd = Path.cwd()
    os.chdir(tmp_path)
    try:
        assert main([*args, "--resume", "-q"]) == 0
    finally:
        os.chdir(cwd)
    captured = capsys.readouterr()
    resumed = re.search(r"resumed from t = ([\d.]+) \(step (\d+) of 600\)", captured.err)
    assert resumed and float(resumed.group(1)) >= float(match.group(2)), captured.err
    assert "at t = 30 (final)" in captured.out


#: Every command under a real SIGINT (docs/cli.md's table): arguments, expected last line.
SIGINT_CASES = {
    "verify": (["verify", "--quick", "--out", "o"], r"interrupted after \d+ of \d+ checks"),
    "spectrum": (["spectrum", "big.toml"], r"interrupted in the eigen-solve \(part 2 of 2\)"),
    "lgan": (["lgan", "lgan.toml"], r"interrupted in the (spectra|mesh and the lGAN|time int)"),
    "jsd-flow": (["jsd-flow", "flow.toml", "--out", "o"], r"interrupted at t = [\d.]+ of 60; "),
    "sweep": (
        ["sweep", "sweep.toml", "--out", "o"],
        r"interrupted after \d+ of 8 points; .*"
        r"continue with: gan-pde sweep sweep.toml --out o --resume$",
    ),
    "meanfield": (["meanfield", "--out", "o"], r"interrupted (at t = [\d.]+ of 4|in the toy)"),
    "dual": (["dual", "--out", "o"], r"interrupted in (the oscillating|Lemma 1|the mode-col)"),
    "sde": (["sde", "--out", "o"], r"interrupted in the (weak-order|invariant|Monte-Carlo)"),
    "train": (["train", "long.toml", "--out", "o"], r"interrupted after \d+ of 2000 steps; "),
    "compare": (["compare", "--quick", "--out", "o"], r"interrupted after \d+ of 3 experiments"),
}


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(SIGINT_CASES))
def test_sigint_in_every_command(command, tmp_path):
    if command in ("train", "compare"):
        pytest.importorskip("torch")
    big = SPECTRUM.replace("[240]", "[200, 200]").replace("[[-6.0, 6.0]]", "[[-6, 6], [-6, 6]]")
    big = big.replace('"interval"', '"rectangle"').replace("[0.0]", "[0.0, 0.0]")
    _write(tmp_path, big.replace("[[0.25]]", "[[0.25, 0.0], [0.0, 0.25]]"), "big.toml")
    _write(tmp_path, FLOW.format(cells=400, t_final=60.0), "flow.toml")
    long = '[run]\nsteps = 2000\n[target]\nkind = "gaussian"\nmean = [1.0]\ncov = [[1.0]]\n'
    _write(tmp_path, long, "long.toml")
    lgan = (Path(gp.__file__).parent / "data" / "lgan.toml").read_text()
    _write(tmp_path, lgan.replace("cells = [80]", "cells = [1000]"), "lgan.toml")
    sweep = "[parameters]\nseparation = [0.0, 1.0, 2.0, 3.0]\ncells = [20000, 40000]\n"
    _write(tmp_path, sweep, "sweep.toml")
    args, message = SIGINT_CASES[command]
    status, err = _interrupt(args, tmp_path)
    assert status == 130, err
    last = err.splitlines()[-1]
    assert "Traceback" not in err, err
    assert re.search(rf"^gan-pde {command}: {message}", last), last


@pytest.mark.parametrize("command", ["lgan", "meanfield", "sde"])
def test_a_negative_checkpoint_interval_is_refused_without_checkpoint_too(
    command, tmp_path, capsys
):
    # was accepted (and ignored) when --checkpoint was not given; the run then went ahead
    code = main([command, "--checkpoint-every", "-3", "--out", str(tmp_path / "o")])
    assert code == 2
    assert "--checkpoint-every must be a non-negative" in capsys.readouterr().err
    assert not (tmp_path / "o" / "results.json").exists()
