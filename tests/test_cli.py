"""The gan-pde command line and its TOML configs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from gan_pde.cli import main
from gan_pde.config import bundled_config_text, load_spectrum_config
from gan_pde.errors import ConfigError

SMALL = """
[density]
kind = "gaussian"
mean = [0.0]
cov = [[0.25]]

[domain]
kind = "interval"
bounds = [[-6.0, 6.0]]
cells = [240]

[solver]
k = 4
element = "P2"
"""


def _write(tmp_path, text, name="c.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_spectrum_json_gives_exact_gaussian_eigenvalues(tmp_path, capsys):
    assert main(["spectrum", str(_write(tmp_path, SMALL)), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    # N(0, 0.5^2): eigenvalues 4k.  P2 with h = 0.1 sigma: the cubic mode (xi = 12) has the
    # O(h^4) error ~3e-7 relative (the 1D constant of test_spectrum); rtol 1e-6
    np.testing.assert_allclose(payload["eigenvalues"][1:], [4.0, 8.0, 12.0], rtol=1e-6)
    assert payload["poincare_constant"] == pytest.approx(4.0, rel=1e-7)
    assert payload["config"]["solver"]["k"] == 4
    assert payload["n_dofs"] == 481


def test_spectrum_default_config_and_plot(tmp_path, capsys):
    figure = tmp_path / "modes.png"
    assert main(["spectrum", "--plot", str(figure)]) == 0
    out = capsys.readouterr().out
    assert "Poincaré constant xi_min = 0.119" in out  # 1/2 N(-2,1) + 1/2 N(2,1)
    assert figure.stat().st_size > 10_000
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_spectrum_on_a_bundled_2d_mesh_with_plot(tmp_path, capsys):
    config = """
[density]
kind = "mixture"
means = [[-1.5, 0.0], [1.5, 0.0]]
stds = [1.0, 1.0]

[domain]
kind = "bundled"
name = "disk"

[solver]
k = 3
"""
    figure = tmp_path / "disk.svg"
    assert main(["spectrum", str(_write(tmp_path, config)), "--plot", str(figure)]) == 0
    assert "<svg" in figure.read_text()[:500]


def test_config_show_and_list(capsys):
    assert main(["config", "list"]) == 0
    assert "spectrum" in capsys.readouterr().out.split()
    assert main(["config", "show", "spectrum"]) == 0
    assert capsys.readouterr().out == bundled_config_text("spectrum")


def test_unknown_key_names_key_file_and_line(tmp_path, capsys):
    path = _write(tmp_path, SMALL.replace('element = "P2"', 'element = "P2"\nelemnt = "P1"'))
    with pytest.raises(ConfigError, match=r"unknown key 'elemnt' in \[solver\] .*line 15"):
        load_spectrum_config(path)
    assert main(["spectrum", str(path)]) == 2
    assert "unknown key 'elemnt'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("k = 4", 'k = "four"'), r"key 'k' in \[solver\] .*line 13.* must be int"),
        (("k = 4", "k = 4.0"), r"key 'k' .* must be int"),
        (('element = "P2"', 'element = "P7"'), r"must be one of \('P1', 'P2', 'Q1', 'Q2'\)"),
        (('kind = "gaussian"', 'kind = "cauchy"'), r"key 'kind' in \[density\]"),
        (("[solver]", "[solvr]"), r"unknown section \[solvr\]"),
        (("cells = [240]", ""), r"needs 'bounds' and 'cells'"),
        (("bounds = [[-6.0, 6.0]]", "bounds = [[-6.0, 6.0], [0.0, 1.0]]"), r"needs 1 bounds"),
        (("cov = [[0.25]]", "cov = [[-0.25]]"), r"positive definite"),
        (("[domain]", "[domain"), r"not valid TOML"),
    ],
)
def test_bad_configs_fail_clearly(tmp_path, edit, message):
    path = _write(tmp_path, SMALL.replace(*edit))
    with pytest.raises(ConfigError if "positive" not in message else Exception, match=message):
        config = load_spectrum_config(path)
        config.density.build()
        config.domain.build()


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_spectrum_config(tmp_path / "nope.toml")


def test_unreadable_mesh_file_is_a_clean_cli_error(tmp_path, capsys):
    garbage = tmp_path / "bad.msh"
    garbage.write_bytes(b"\x00\x01garbage")
    config = SMALL.replace(
        'kind = "interval"\nbounds = [[-6.0, 6.0]]\ncells = [240]',
        f'kind = "file"\npath = "{garbage}"',
    )
    assert main(["spectrum", str(_write(tmp_path, config))]) == 2
    err = capsys.readouterr().err
    assert "bad.msh" in err
    assert re.search(r"\[domain\] path \(.*c.toml, line 9\): cannot read mesh file", err), err


def test_verify_is_registered_and_writes_a_report(tmp_path, capsys):
    out = tmp_path / "report"
    code = main(["verify", "--quick", "--only", "lgan.discrete", "--out", str(out), "--quiet"])
    assert code == 0
    assert "1/1 checks passed" in capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())["checks"]
    assert [r["name"] for r in results] == ["lgan.discrete_spectrum"]
    assert results[0]["passed"] is True
    assert (out / "index.html").read_text().startswith("<!DOCTYPE html>")


ANNULUS = Path(__file__).resolve().parent / "data" / "annulus.msh"


def test_spectrum_on_a_user_gmsh_file_with_a_hole(tmp_path, capsys):
    """A gmsh file of one's own (tests/data/annulus.msh: hole, physical groups, vertex
    and line elements beside the triangles) as [domain] kind = "file"."""
    config = f"""
[density]
kind = "uniform"
lower = [-3.0, -3.0]
upper = [3.0, 3.0]

[domain]
kind = "file"
path = "{ANNULUS}"
refine = 1

[solver]
k = 3
element = "P2"
"""
    assert main(["spectrum", str(_write(tmp_path, config)), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    # the Neumann annulus 0.8 < r < 2: xi_1 = 0.53420 (double).  Refinement keeps the
    # polygons of the h = 0.6 file (boundary nodes are not moved onto the circles): +2.1 %
    np.testing.assert_allclose(payload["eigenvalues"][1:], 0.5342, rtol=0.03)
    assert payload["eigenvalues"][1] == pytest.approx(payload["eigenvalues"][2], rel=1e-8)
    assert payload["config"]["domain"]["refine"] == 1


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("cells = [240]", "cells = [2000000000]"), r"\[domain\] cells \(.*line 10\) = "),
        (("bounds = [[-6.0, 6.0]]", "bounds = [[6.0, -6.0]]"), r"write \[-6, 6\]"),
        (("k = 4", "k = 5000"), r"\[solver\] k \(.*line 13\) = 5000: more eigenpairs than the 481"),
        (("cov = [[0.25]]", "cov = [0.5]"), r"not standard deviations"),
    ],
)
def test_bad_config_values_are_clean_cli_errors_naming_the_key(tmp_path, capsys, edit, message):
    path = _write(tmp_path, SMALL.replace(*edit))
    assert main(["spectrum", str(path)]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err), err
    assert str(path) in err


def test_bundled_configs_pass_the_new_checks():
    from gan_pde.commands import jsd_flow, lgan

    load_spectrum_config()
    jsd_flow.load_config()
    lgan.load_config(None)


def test_jsd_flow_on_a_user_gmsh_file_conserves_mass(tmp_path, capsys):
    config = f"""
[target]
kind = "gaussian"
mean = [0.5, 0.0]
cov = [[1.0, 0.0], [0.0, 1.0]]

[initial]
kind = "mixture"
means = [[-0.5, 0.5], [-0.5, -0.5]]
stds = [1.0, 1.0]
weights = [0.25, 0.75]

[domain]
kind = "file"
path = "{ANNULUS}"

[solver]
t_final = 0.2
dt = 0.05
"""
    out = tmp_path / "out"
    assert main(["jsd-flow", str(_write(tmp_path, config)), "--out", str(out), "--quiet"]) == 0
    assert "mass drift" in capsys.readouterr().out
    from gan_pde.io import load_trajectory

    trajectory = load_trajectory(out / "trajectory.npz")
    np.testing.assert_allclose(trajectory.mass, 1.0, atol=1e-12)
    assert trajectory.jsd[-1] < trajectory.jsd[0]
