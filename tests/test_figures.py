"""Figures fit for a paper: every function of gan_pde.plotting draws on the axes it is given
and returns them, labels every axis, puts a colorbar on every 2D field, keeps legends and
tick labels off the data and off each other, uses fonts of at least 8 pt, and writes PDF
and SVG; the ``plot`` methods of the results delegate to it; the gallery lists every figure
that a command writes."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import skfem
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

import gan_pde as gp
from gan_pde import plotting
from gan_pde.errors import InvalidInputError
from gan_pde.nn.run import TrainingRun

ROOT = Path(__file__).parents[1]


# ----------------------------------------------------------------------------------------
# small results (real where cheap, plain records of the right shape otherwise)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    rho = gp.GaussianMixture(means=[[-2.0], [2.0]], stds=[1.0, 1.0], weights=[0.5, 0.5])
    spec1 = gp.weighted_laplacian_spectrum(rho, gp.mesh.interval(-8.0, 8.0, n=80), k=4)
    rho2 = gp.GaussianMixture(means=[[-1.0, 0.0], [1.0, 0.0]], stds=[0.8, 0.8])
    mesh2 = gp.mesh.rectangle((-4.0, 4.0), (-3.0, 3.0), n=(10, 8))
    spec2 = gp.weighted_laplacian_spectrum(rho2, mesh2, k=4)
    flow1 = gp.JSDFlow(rho, gp.Gaussian(mean=[0.0], cov=[[1.0]]), gp.mesh.interval(-8.0, 8.0, n=80))
    traj1 = flow1.solve(1.0, 0.25, save_times=[0.0, 0.5, 1.0])
    flow2 = gp.JSDFlow(rho2, gp.Gaussian(mean=[0.0, 0.0], cov=[[1.0, 0.0], [0.0, 1.0]]), mesh2)
    traj2 = flow2.solve(0.5, 0.25, save_times=[0.0, 0.5])
    times = traj1.times
    samples = np.stack([u.sample(200, rng) for u in traj1.densities])
    run = TrainingRun(
        algorithm="particles",
        steps=np.arange(times.size) * 5,
        times=times,
        samples=samples,
        parameters={},
        losses={"discriminator": rng.normal(1.3, 0.05, 20), "generator": rng.normal(0.7, 0.05, 20)},
        wall_time=0.0,
        device="cpu",
        seed=0,
    )
    ensemble_losses = {"generator": rng.normal(0.7, 0.05, (3, 20))}
    ensemble = TrainingRun(
        "gan", run.steps, times, samples[None].repeat(3, 0), {}, ensemble_losses, 0.0, "cpu", 0
    )
    lam = np.concatenate([-0.125 + 1j * np.linspace(-9.0, 9.0, 60), [-0.25]])
    lgan_traj = SimpleNamespace(
        times=np.linspace(0.0, 5.0, 50),
        u_norm=np.exp(-0.1 * np.linspace(0.0, 5.0, 50)),
        v_norm=np.exp(-0.2 * np.linspace(0.0, 5.0, 50)),
        scheme="crank-nicolson",
        tau=0.05,
    )
    mf_times = np.array([0.0, 0.5, 2.0])
    meanfield = SimpleNamespace(
        times=mf_times,
        mu=rng.dirichlet(np.ones(30), 3).reshape(3, 6, 5),
        nu=rng.dirichlet(np.ones(16), 3).reshape(3, 4, 4),
        mu_grid=[np.linspace(-3, 3, 6), np.linspace(-3, 3, 5)],
        nu_grid=[np.linspace(-0.75, 0.75, 4), np.linspace(-0.75, 0.75, 4)],
        mu_names=("alpha", "gamma"),
        nu_names=("a", "b"),
        energy=np.array([0.01, 0.02, 0.05]),
        wall_mass=np.array([0.0, 0.1, 0.4]),
    )
    toy = gp.meanfield.ToyWGAN(gamma_c=1.0)
    toy_paths = [toy.simulate(g0=2.0, omega0=0.5, t_final=5.0)]
    taus = np.array([0.2, 0.1, 0.05])
    dual_path = SimpleNamespace(
        times=np.linspace(0, 2, 11), x=rng.normal(size=(11, 2)), y=rng.normal(size=(11, 2))
    )
    oscillation = SimpleNamespace(
        taus=taus,
        paths={"implicit": dual_path, "alternating": dual_path},
        measured={"implicit": 1e-4 * taus, "alternating": 1e-4 * taus},
        predicted={"implicit": 0 * taus, "alternating": taus},
    )
    convergence = SimpleNamespace(
        taus=taus, implicit_vs_explicit=taus, implicit_error=taus / 2, explicit_error=taus / 3
    )
    atoms = SimpleNamespace(times=np.linspace(0, 3, 7), particles=rng.normal(size=(7, 8)))
    collapse = SimpleNamespace(
        taus=taus, spread=np.array([1.0, 0.9, 0.3]), threshold=0.15, predicted=0.12
    )
    basis = skfem.Basis(mesh2, skfem.ElementTriP1())
    stationary = SimpleNamespace(basis=basis, values=np.exp(-(basis.doflocs**2).sum(0)))
    sweep = SimpleNamespace(
        records=[
            {"separation": m, "cells": c, "value": {"xi_min": np.exp(-m / 2)}, "seconds": 0}
            for c in (50, 100)
            for m in (0.0, 2.0, 4.0)
        ],
        names=["separation", "cells"],
        info={},
    )
    w1 = {n: rng.uniform(0.05, 0.2, times.size) for n in ("particles", "gan", "algorithm2")}
    jsd = SimpleNamespace(
        times=times,
        w1=w1,
        trajectory=traj1,
        runs={"particles": run, "algorithm2": run},
        study={
            "n_particles": {
                "values": [100, 400, 1600],
                "mean_w1": [0.2, 0.1, 0.05],
                "final_w1": [0.15, 0.08, 0.04],
            },
            "epsilon": {
                "values": [0.2, 0.1, 0.05],
                "mean_w1": [0.2, 0.15, 0.12],
                "final_w1": [0.18, 0.13, 0.1],
            },
        },
    )
    lsgan = [
        SimpleNamespace(
            separation=m,
            xi_min=0.2 / m,
            names=("(a)", "(b)", "(c)"),
            predicted_rates=np.array([-0.1, -0.2, -0.3]) / m,
            measured_rates=np.array([-0.11, -0.19, -0.32]) / m,
            times=np.linspace(0, 10, 30),
            d_norm2=np.exp(-np.outer([0.1, 0.2, 0.3], np.linspace(0, 10, 30))),
        )
        for m in (3.0, 4.0)
    ]
    wgan = SimpleNamespace(
        widths=(10, 40),
        times=mf_times,
        w2={"mu/alpha": rng.uniform(0.01, 0.1, (2, 3))},
        wall_pde=np.array([0.0, 0.1, 0.3]),
        wall_networks=rng.uniform(0.0, 0.3, (2, 3)),
    )
    return SimpleNamespace(**locals())


# ----------------------------------------------------------------------------------------
# every figure: (name, draw(fig) -> what the function returned, 2D field?)


def _one(function, *args, **kwargs):
    """A one-panel figure: the function gets ``ax=`` and must return that Axes."""

    def draw(fig):
        ax = fig.subplots()
        returned = function(*args, ax=ax, **kwargs)
        assert returned is ax
        return [ax]

    return draw


def _many(function, *args, **kwargs):
    """A multi-panel figure: the function gets ``fig=`` and returns its panel Axes."""

    def draw(fig):
        panels = list(np.ravel(function(*args, fig=fig, **kwargs)))
        assert panels and all(isinstance(p, Axes) and p.figure is fig for p in panels)
        return panels

    return draw


FIGURES = {
    "eigenfunctions 1D": (lambda d: _one(plotting.plot_eigenfunctions, d.spec1), False),
    "eigenfunctions 2D": (lambda d: _many(plotting.plot_eigenfunctions, d.spec2, modes=2), True),
    "densities 1D": (lambda d: _one(plotting.plot_densities, d.traj1, d.rho), False),
    "densities 2D": (lambda d: _many(plotting.plot_densities, d.traj2, d.rho2), True),
    "divergences": (lambda d: _one(plotting.plot_divergences, d.traj1), False),
    "lgan eigenvalues": (
        lambda d: _one(plotting.plot_lgan_eigenvalues, d.lam, scheme="heun", tau=0.05),
        False,
    ),
    "stability region": (
        lambda d: _one(plotting.plot_stability_region, d.lam, scheme="rk4", tau=0.1),
        False,
    ),
    "lgan norms": (lambda d: _one(plotting.plot_lgan_norms, d.lgan_traj), False),
    "lgan summary": (
        lambda d: _many(
            plotting.plot_lgan_summary, d.lam, d.lgan_traj, scheme="crank-nicolson", tau=0.05
        ),
        False,
    ),
    "lgan summary, overflow": (
        lambda d: _many(
            plotting.plot_lgan_summary,
            d.lam,
            None,
            scheme="euler",
            tau=1.0,
            note="the run overflowed",
        ),
        False,
    ),
    "meanfield laws": (lambda d: _many(plotting.plot_meanfield_laws, d.meanfield), True),
    "toy phase": (lambda d: _one(plotting.plot_toy_phase, d.toy, d.toy_paths), False),
    "meanfield energy": (lambda d: _many(plotting.plot_meanfield_energy, d.meanfield), False),
    "dual oscillation": (
        lambda d: _many(plotting.plot_dual_oscillation, d.oscillation, [1.0, -0.5]),
        False,
    ),
    "dual convergence": (
        lambda d: _one(plotting.plot_dual_convergence, d.convergence, d.taus**2),
        False,
    ),
    "dual collapse": (
        lambda d: _many(plotting.plot_dual_collapse, d.collapse, {0.1: d.atoms, 0.4: d.atoms}),
        False,
    ),
    "weak orders": (
        lambda d: _one(
            plotting.plot_weak_orders,
            {"etas": d.taus, "errors": {"ALT": d.taus**2}, "slopes": {"ALT": 2.0}},
        ),
        False,
    ),
    "invariant density": (
        lambda d: _one(
            plotting.plot_invariant_density,
            d.stationary,
            np.zeros(2),
            np.eye(2) / 4,
            np.zeros((50, 2)),
        ),
        True,
    ),
    "lr schedule": (
        lambda d: _many(
            plotting.plot_lr_schedule,
            {"lr": np.full(30, 0.1), "grad_norm": np.linspace(1, 0.1, 30)},
            {"lr": np.full(30, 0.1), "grad_norm": np.linspace(1, 0.5, 30)},
        ),
        False,
    ),
    "sweep": (lambda d: _one(plotting.plot_sweep, d.sweep), False),
    "losses": (lambda d: _one(plotting.plot_losses, d.run), False),
    "losses, ensemble": (lambda d: _one(plotting.plot_losses, d.ensemble), False),
    "samples": (lambda d: _many(plotting.plot_samples, d.run, d.traj1, d.rho), False),
    "distances": (
        lambda d: _one(
            plotting.plot_distances,
            {"times": d.times, "w1": d.w1["gan"], "w1_stderr": d.w1["gan"] / 10},
        ),
        False,
    ),
    "jsd comparison": (lambda d: _one(plotting.plot_jsd_comparison, d.jsd), False),
    "jsd comparison samples": (lambda d: _many(plotting.plot_jsd_comparison_samples, d.jsd), False),
    "jsd study": (lambda d: _many(plotting.plot_jsd_study, d.jsd), False),
    "lsgan decay": (lambda d: _many(plotting.plot_lsgan_decay, d.lsgan), False),
    "lsgan rates": (lambda d: _one(plotting.plot_lsgan_rates, d.lsgan), False),
    "wgan comparison": (lambda d: _many(plotting.plot_wgan_comparison, d.wgan), False),
}


def _draw(data, name):
    make, field = FIGURES[name]
    fig = Figure(figsize=(12, 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    panels = make(data)(fig)
    fig.canvas.draw()
    return fig, panels, field


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


@pytest.mark.parametrize("name", list(FIGURES))
def test_figure_is_labelled_and_keeps_legends_and_labels_apart(data, name):
    fig, panels, field = _draw(data, name)
    for ax in panels:
        assert ax.get_xlabel().strip(), f"{name}: a panel has no x label"
        assert ax.get_ylabel().strip(), f"{name}: a panel has no y label"
    colorbars = [ax for ax in fig.axes if ax not in panels]
    if field:  # every 2D field has a colorbar, and the colorbar says what it shows
        mapped = [c for ax in panels for c in ax.collections if getattr(c, "colorbar", None)]
        assert mapped, f"{name}: a 2D field without a colorbar"
        assert all(c.colorbar.ax.get_ylabel().strip() for c in mapped)
    renderer = fig.canvas.get_renderer()
    canvas = fig.bbox
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None:
            continue
        box = legend.get_window_extent(renderer)
        for other in panels + colorbars:  # outside every plotting area
            assert not _overlap(box, other.bbox), f"{name}: a legend covers data"
        assert canvas.x0 - 1 <= box.x0 and box.x1 <= canvas.x1 + 1, f"{name}: legend cut off"
        assert canvas.y0 - 1 <= box.y0 and box.y1 <= canvas.y1 + 1, f"{name}: legend cut off"
    for ax in panels:  # tick labels of one axis never collide
        for axis in (ax.xaxis, ax.yaxis):
            boxes = [
                t.get_window_extent(renderer)
                for t in axis.get_ticklabels(which="both")
                if t.get_visible() and t.get_text()
            ]
            for i, a in enumerate(boxes):
                for b in boxes[i + 1 :]:
                    assert not _overlap(a, b), f"{name}: tick labels overlap"
    small = [
        t.get_text()
        for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip() and t.get_fontsize() < 8
    ]
    assert not small, f"{name}: text below 8 pt: {small[:3]}"


@pytest.mark.parametrize("name", ["eigenfunctions 2D", "lgan summary", "samples"])
@pytest.mark.parametrize("suffix", [".pdf", ".svg"])
def test_figures_write_vector_formats(data, tmp_path, name, suffix):
    fig, _, _ = _draw(data, name)
    path = plotting.save_figure(fig, tmp_path / f"figure{suffix}")
    head = path.read_bytes()[:200]
    assert head.startswith(b"%PDF") if suffix == ".pdf" else b"<svg" in head or b"<?xml" in head
    assert path.stat().st_size > 2000


def test_figure_file_refuses_an_unknown_format_before_drawing(tmp_path):
    with (
        pytest.raises(InvalidInputError, match=r"\.jpgx.*\.pdf"),
        plotting.figure_file(tmp_path / "x.jpgx"),
    ):
        pytest.fail("the block must not run")
    assert not (tmp_path / "x.jpgx").exists()


def test_plot_spectrum_keeps_its_old_call_and_writes_svg(data, tmp_path):
    plotting.plot_spectrum(data.spec1, data.rho, tmp_path / "w.svg")
    plotting.plot_spectrum(data.spec2, data.rho2, tmp_path / "w2.pdf", modes=2)
    assert b"<svg" in (tmp_path / "w.svg").read_bytes()[:400]
    assert (tmp_path / "w2.pdf").read_bytes().startswith(b"%PDF")


# ----------------------------------------------------------------------------------------
# the fixes of issue 21, one by one


def test_lgan_eigenvalues_are_visible_over_the_stability_region(data):
    ax = Figure().subplots()
    plotting.plot_lgan_eigenvalues(data.lam, scheme="crank-nicolson", tau=0.05, ax=ax)
    lo, hi = ax.get_xlim()
    assert lo < -0.25 and hi >= 0.0  # all eigenvalues and Re λ = 0 in view ...
    assert hi - lo < 0.5  # ... zoomed on them, not on the region's −3/τ scale (−60)
    bottom, top = ax.get_ylim()
    assert bottom < -9.0 and top > 9.0 and top - bottom < 25.0
    points = ax.collections[-1]  # drawn last, on top of the shaded region
    assert points.get_zorder() > max(c.get_zorder() for c in ax.collections[:-1])


def test_lgan_eigenvalues_spanning_decades_get_a_symlog_axis():
    lam = np.concatenate([-np.geomspace(1e-3, 1e2, 20), -0.01 + 1j * np.linspace(-1, 1, 5)])
    ax = plotting.plot_lgan_eigenvalues(lam, scheme="euler", tau=0.01, ax=Figure().subplots())
    assert ax.get_xscale() == "symlog"
    assert ax.get_xlim()[0] < -100.0


def test_meanfield_laws_are_drawn_at_the_true_saved_times(data):
    panels = plotting.plot_meanfield_laws(data.meanfield, fig=Figure(layout="constrained"))
    mesh = panels[0].collections[0]
    edges = np.unique(mesh.get_coordinates()[..., 0])
    # saved at 0, 0.5, 2: each state fills the times nearest to it, not an equal column
    np.testing.assert_allclose(edges, [0.0, 0.25, 1.25, 2.0])
    assert panels[0].get_xlim() == (0.0, 2.0)


def test_sweep_lines_that_coincide_stay_distinguishable(data):
    ax = plotting.plot_sweep(data.sweep, ax=Figure().subplots())
    styles = {(line.get_linestyle(), line.get_marker()) for line in ax.get_lines()}
    assert len(styles) == len(ax.get_lines()) == 2
    assert ax.get_xlabel() != "separation"  # a readable name for the bundled parameters


def test_log_axes_over_few_decades_have_plain_labels(data):
    fig, panels, _ = _draw(data, "jsd study")
    labels = [t.get_text() for t in panels[0].get_xticklabels() if t.get_text()]
    assert labels == ["100", "400", "1600"]  # the studied values, not 10^2 mantissas
    study = {"etas": [0.2, 0.1, 0.05], "errors": {"ALT": [0.05, 0.03, 0.012]}, "slopes": {"ALT": 1}}
    ax = plotting.plot_weak_orders(study, ax=Figure().subplots())
    ax.figure.canvas.draw()
    ylim = ax.get_ylim()
    shown = [
        t
        for t in ax.get_yticklabels()
        if t.get_text() and ylim[0] <= t.get_position()[1] <= ylim[1]
    ]
    assert len(shown) >= 2  # a log axis over less than a decade still has labelled ticks ...
    assert all(re.fullmatch(r"[0-9.]+", t.get_text()) for t in shown)  # ... as plain numbers


def test_wrong_axes_and_kinds_get_clear_errors(data):
    with pytest.raises(InvalidInputError, match="3 panel"):
        plotting.plot_lgan_summary(data.lam, scheme="heun", tau=0.1, axes=Figure().subplots(1, 2))
    with pytest.raises(InvalidInputError, match="one panel per mode"):
        plotting.plot_eigenfunctions(data.spec2, modes=2, ax=Figure().subplots())
    with pytest.raises(InvalidInputError, match="scheme must be one of"):
        plotting.plot_stability_region(data.lam, scheme="leapfrog", tau=0.1)
    with pytest.raises(InvalidInputError, match="kind must be"):
        data.traj1.plot("energy")
    with pytest.raises(InvalidInputError, match="kind must be"):
        data.run.plot("weights")


# ----------------------------------------------------------------------------------------
# the plot methods of the results


def test_spectrum_plot_draws_on_the_given_axes(data):
    ax = Figure().subplots()
    assert data.spec1.plot(ax=ax) is ax
    assert len([line for line in ax.get_lines() if line.get_label().startswith("$w_")]) == 3
    ax2 = Figure(layout="constrained").subplots()
    assert data.spec2.plot(ax=ax2) is ax2  # 2D, one Axes: the ξ_min eigenfunction
    assert "xi_1" in ax2.get_title() and any(c.colorbar for c in ax2.collections)
    panels = data.spec2.plot(ax=Figure(layout="constrained").subplots(1, 3))
    assert len(panels) == 3


def test_trajectory_plot_draws_divergences_and_densities(data):
    ax = Figure().subplots()
    assert data.traj1.plot(ax=ax) is ax
    assert {line.get_label() for line in ax.get_lines()} >= {r"JSD$(u, \rho_d)$ (nats)"}
    ax = data.traj1.plot("densities", target=data.rho, ax=Figure().subplots())
    assert len(ax.get_lines()) == data.traj1.times.size and ax.collections  # + ρ_d shaded
    panels = data.traj2.plot("densities", ax=Figure(layout="constrained").subplots(1, 2))
    assert len(panels) == 2


def test_training_run_plot_draws_losses_and_samples(data):
    ax = Figure().subplots()
    assert data.run.plot(ax=ax) is ax
    assert {line.get_label() for line in ax.get_lines()} == {"discriminator", "generator"}
    panels = data.run.plot(
        "samples",
        ax=Figure(layout="constrained").subplots(1, 3),
        trajectory=data.traj1,
        target=data.rho,
    )
    assert len(panels) == 3 and all(ax.patches for ax in panels)  # histograms


def test_plot_without_axes_makes_a_pyplot_figure(data):
    import matplotlib.pyplot as plt

    ax = data.traj1.plot()
    assert ax.figure in [plt.figure(n) for n in plt.get_fignums()]
    plt.close(ax.figure)


# ----------------------------------------------------------------------------------------
# the gallery shows every figure the commands write


def _gallery():
    spec = importlib.util.spec_from_file_location("gallery_hook", ROOT / "docs/hooks/gallery.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


def test_gallery_lists_every_figure_a_command_writes():
    gallery = _gallery()
    shown = {(e.command, e.file) for e in gallery.ENTRIES}
    for source in sorted((ROOT / "gan_pde/commands").glob("*.py")):
        command = source.stem.replace("_", "-")
        for name in set(re.findall(r'"(\w+\.png)"', source.read_text())):
            assert (command, name) in shown, f"{command} writes {name}; the gallery lacks it"
    for command in ("spectrum", "lgan"):  # --plot FILE
        assert any(c == command for c, _ in shown)
    assert set(gallery.BUILDERS) == {c for c, _ in shown}
    markdown = gallery.gallery_markdown()
    for entry in gallery.ENTRIES:
        assert f"({entry.site_path})" in markdown
        for function in entry.function.split("/"):
            assert hasattr(plotting, function.strip()), function
    assert gallery.MARKER in (ROOT / "docs/gallery.md").read_text()


#: The first bytes of each format (SVG: the root element follows the XML declaration).
_SIGNATURES = {"png": b"\x89PNG\r\n\x1a\n", "svg": b"<svg", "pdf": b"%PDF"}


def _written_as(path: Path, fmt: str) -> bool:
    head = path.read_bytes()[:400]
    return b"<svg" in head if fmt == "svg" else head.startswith(_SIGNATURES[fmt])


@pytest.mark.parametrize("suffix", [".png", ".svg", ".pdf", ".PNG", ".Pdf"])
def test_every_figure_writer_writes_the_format_its_suffix_names(data, tmp_path, suffix):
    fmt = suffix.lstrip(".").lower()
    fig = Figure(figsize=(3, 2))
    fig.subplots().plot([0, 1], [1, 0])
    written = [plotting.save_figure(fig, tmp_path / f"save{suffix}")]
    with plotting.figure_file(tmp_path / f"block{suffix}", figsize=(3, 2)) as block:
        block.subplots().plot([0, 1], [0, 1])
    written.append(tmp_path / f"block{suffix}")
    plotting.plot_spectrum(data.spec1, data.rho, tmp_path / f"spectrum{suffix}")
    written.append(tmp_path / f"spectrum{suffix}")
    for path in written:
        assert _written_as(path, fmt), (path.name, path.read_bytes()[:16])
        # and not one of the other two formats under this name
        assert not any(_written_as(path, other) for other in _SIGNATURES if other != fmt)


@pytest.mark.parametrize("name", ["figure", "figure.txt", "figure.png.bak"])
def test_every_figure_writer_refuses_a_name_without_a_figure_suffix(data, tmp_path, name):
    path = tmp_path / name
    fig = Figure(figsize=(3, 2))
    fig.subplots().plot([0, 1], [1, 0])
    suffix = name.rsplit(".", 1)[1] if "." in name else ""
    problem = rf"suffix \.{suffix} is not" if suffix else "has no suffix naming"
    fix = r"a figure format; name the file \.png, \.svg or \.pdf"
    expected = rf"{re.escape(name)}'.*{problem} {fix}"
    with pytest.raises(InvalidInputError, match=expected):
        plotting.save_figure(fig, path)
    with pytest.raises(InvalidInputError, match=expected), plotting.figure_file(path):
        pytest.fail("the block must not run")
    with pytest.raises(InvalidInputError, match=expected):
        plotting.plot_spectrum(data.spec1, data.rho, path)
    assert list(tmp_path.iterdir()) == []
