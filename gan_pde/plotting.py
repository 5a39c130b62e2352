r"""Figures of gan_pde results, fit for papers (matplotlib).

Every function draws one figure of a result on axes it is given and returns them:

* one-panel figures take ``ax=`` (a matplotlib ``Axes``) and return it;
* multi-panel figures take ``axes=`` (a sequence of Axes, as many as the panels) or
  ``fig=`` (a ``Figure`` or ``SubFigure`` to fill) and return the array of panel Axes.

Without them a new pyplot figure (constrained layout) is made, so in a notebook
``traj.plot()`` shows the figure.  The drawings follow one style: labelled axes (the
quantity and its meaning or unit), a colorbar on every 2D field, legends outside the data
(to the right of the axes), fonts of at least 8 pt, and saved times drawn at their true
times.  Any format matplotlib writes works, vector formats (PDF, SVG, EPS) included::

    import gan_pde as gp
    ax = gp.plotting.plot_divergences(traj)
    ax.figure.savefig("divergences.pdf")

The ``gan-pde`` commands draw each of their figures with one of these functions and write it
with :func:`figure_file`; ``docs/gallery.md`` shows them all.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gan_pde.errors import InvalidInputError

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, SubFigure

    from gan_pde.densities import Density
    from gan_pde.spectral.weighted_laplacian import Spectrum

__all__ = [
    "figure_file",
    "figure_path",
    "legend_below",
    "legend_outside",
    "plot_densities",
    "plot_distances",
    "plot_divergences",
    "plot_dual_collapse",
    "plot_dual_convergence",
    "plot_dual_oscillation",
    "plot_eigenfunctions",
    "plot_invariant_density",
    "plot_jsd_comparison",
    "plot_jsd_comparison_samples",
    "plot_jsd_study",
    "plot_lgan_eigenvalues",
    "plot_lgan_norms",
    "plot_lgan_summary",
    "plot_losses",
    "plot_lr_schedule",
    "plot_lsgan_decay",
    "plot_lsgan_rates",
    "plot_meanfield_energy",
    "plot_meanfield_laws",
    "plot_samples",
    "plot_spectrum",
    "plot_stability_region",
    "plot_sweep",
    "plot_toy_phase",
    "plot_training_run",
    "plot_trajectory",
    "plot_wgan_comparison",
    "plot_weak_orders",
    "save_figure",
]

#: Font size (points) of legends, annotations and colorbar labels; never below 8.
SMALL = 8.0
_REGION_FILL, _REGION_EDGE = "#cfe8cf", "#2a7a2a"
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
_DASHES = ("-", "--", "-.", ":")


# ----------------------------------------------------------------------------------------
# figures, axes, legends, saving


def _new_figure(figsize: tuple[float, float]) -> Figure:
    """A new pyplot figure with constrained layout (shown by notebooks and ``plt.show``)."""
    import matplotlib.pyplot as plt

    return plt.figure(figsize=figsize, layout="constrained")


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is None:
        return _new_figure(figsize).subplots()
    if isinstance(ax, np.ndarray | list | tuple):
        msg = f"ax must be one matplotlib Axes; got a sequence of {len(ax)} (use ax=axes[0])"
        raise InvalidInputError(msg)
    return ax


def _panels(
    axes: Sequence[Axes] | None,
    fig: Figure | SubFigure | None,
    count: int,
    *,
    what: str,
    panel_size: tuple[float, float] = (4.2, 3.4),
    rows: int = 1,
) -> np.ndarray:
    """``count`` panel Axes: the given ``axes``, new subplots of ``fig``, or a new figure."""
    if axes is not None:
        if fig is not None:
            msg = "pass either axes= or fig=, not both"
            raise InvalidInputError(msg)
        flat = np.ravel(np.asarray(axes, dtype=object))
        if flat.size != count:
            msg = f"{what} draws {count} panel(s); axes= has {flat.size}"
            raise InvalidInputError(msg)
        return flat
    cols = math.ceil(count / rows)
    if fig is None:
        fig = _new_figure((panel_size[0] * cols, panel_size[1] * rows))
    return np.ravel(fig.subplots(rows, cols, squeeze=False))[:count]


def legend_outside(ax: Axes, *, ncols: int = 1, title: str | None = None, **kwargs: Any) -> Any:
    """A legend to the right of ``ax``, outside the data (None when nothing is labelled)."""
    handles, labels = kwargs.pop("handles", None), kwargs.pop("labels", None)
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    return ax.legend(
        handles,
        labels,
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        borderaxespad=0.0,
        fontsize=SMALL,
        title_fontsize=SMALL,
        ncols=ncols,
        title=title,
        **kwargs,
    )


def legend_below(ax: Axes, *, ncols: int = 2, **kwargs: Any) -> Any:
    """A legend under ``ax``, below its tick labels and axis label (None when nothing is
    labelled); the offset follows the font sizes of the current matplotlib settings."""
    import matplotlib as mpl
    from matplotlib.font_manager import FontProperties
    from matplotlib.transforms import ScaledTranslation

    handles, labels = kwargs.pop("handles", None), kwargs.pop("labels", None)
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    rc = mpl.rcParams
    points = (
        max(rc["xtick.major.size"], 0.0)
        + rc["xtick.major.pad"]
        + FontProperties(size=rc["xtick.labelsize"]).get_size_in_points()
        + rc["axes.labelpad"]
        + FontProperties(size=rc["axes.labelsize"]).get_size_in_points()
        + 8.0
    )
    shift = ScaledTranslation(0.0, -points / 72.0, ax.figure.dpi_scale_trans)
    return ax.legend(
        handles,
        labels,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        bbox_transform=ax.transAxes + shift,
        borderaxespad=0.0,
        fontsize=SMALL,
        ncols=ncols,
        **kwargs,
    )


def _tidy_log(ax: Axes) -> None:
    """Log axes spanning under two decades: ticks at 1, 2, 5 × 10^k (or 1, 2, 3, 5, 7 ×
    10^k, or else a few evenly spaced round numbers, whichever first gives three) labelled
    plainly (``0.05``, not ``5×10^-2``), no
    labels on minor ticks, so labels never collide."""
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

    for axis, (lo, hi) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        if axis.get_scale() != "log" or lo <= 0 or hi <= 0:
            continue
        if abs(math.log10(hi / lo)) >= 2.0:
            continue
        locator: Any = MaxNLocator(nbins=4, steps=[1, 2, 2.5, 5, 10])
        for subs in ((1.0, 2.0, 5.0), (1.0, 2.0, 3.0, 5.0, 7.0)):
            ticks = LogLocator(base=10.0, subs=subs).tick_values(lo, hi)
            if np.count_nonzero((ticks >= min(lo, hi)) & (ticks <= max(lo, hi))) >= 3:
                locator = LogLocator(base=10.0, subs=subs)
                break
        axis.set_major_locator(locator)
        axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        axis.set_minor_formatter(NullFormatter())


def _ticks_at(axis: Any, values: Any) -> None:
    """Major ticks at the (few) parameter values of a study, labelled plainly."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    values = np.unique(np.asarray(values, dtype=float))
    if values.size > 7:
        return
    axis.set_major_locator(FixedLocator(values))
    axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def _nice_levels(lo: float, hi: float, count: int = 20) -> np.ndarray:
    from matplotlib.ticker import MaxNLocator

    if not hi > lo:
        hi = lo + 1.0
    return MaxNLocator(nbins=count).tick_values(lo, hi)


def _colorbar(ax: Axes | Sequence[Axes], mappable: Any, label: str) -> Any:
    from matplotlib.ticker import MaxNLocator

    first = ax[0] if isinstance(ax, Sequence) else ax
    bar = first.figure.colorbar(mappable, ax=ax, shrink=0.9)
    bar.set_label(label, fontsize=SMALL + 1)
    bar.locator = MaxNLocator(nbins=6)
    bar.update_ticks()
    bar.ax.tick_params(labelsize=SMALL)
    return bar


def figure_path(path: str | Path) -> Path:
    """``path`` as a Path whose suffix names a format matplotlib writes.

    The suffix chooses the format, in any case: ``.png`` (raster), ``.svg`` and ``.pdf``
    (vector), or any other of matplotlib's (``.eps``, ``.jpg``, ...).

    Raises
    ------
    InvalidInputError
        If it does not (the message lists the formats).
    """
    from matplotlib.backend_bases import FigureCanvasBase

    path = Path(path)
    supported = FigureCanvasBase.get_supported_filetypes()
    suffix = path.suffix.lstrip(".").lower()
    if suffix not in supported:
        problem = f"its suffix .{suffix} is not" if suffix else "it has no suffix naming"
        msg = (
            f"cannot write a figure to {str(path)!r}: {problem} a figure format; name the "
            "file .png, .svg or .pdf (or another format matplotlib writes: "
            f"{', '.join('.' + s for s in sorted(supported))})"
        )
        raise InvalidInputError(msg)
    return path


def save_figure(figure: Figure | Axes, path: str | Path, *, dpi: float | None = None) -> Path:
    """Write ``figure`` (or the figure of an Axes) to ``path``; the format is the suffix.

    Raster formats (PNG, JPEG) use ``dpi`` (default: matplotlib's ``savefig.dpi`` setting
    when it is a number, else 150); vector formats (PDF, SVG, EPS) are resolution free.
    Constrained-layout figures keep their size (the layout already makes room for
    legends outside the axes); other figures are cropped to a tight bounding box so that
    such legends are kept.  A pyplot figure is closed afterwards.

    Raises
    ------
    InvalidInputError
        If matplotlib cannot write the suffix of ``path``.
    """
    import matplotlib as mpl
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    fig = figure
    while getattr(fig, "figure", fig) is not fig:  # Axes -> (Sub)Figure -> the root Figure
        fig = fig.figure
    path = figure_path(path)
    if dpi is None:
        setting = mpl.rcParams["savefig.dpi"]
        dpi = 150.0 if setting == "figure" else float(setting)
    constrained = isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine)
    fig.savefig(path, dpi=dpi, bbox_inches=None if constrained else "tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


@contextmanager
def figure_file(
    path: str | Path, *, figsize: tuple[float, float] = (6.4, 4.0), dpi: float | None = None
) -> Iterator[Figure]:
    """A new figure (no pyplot, no GUI backend) written to ``path`` when the block ends.

    >>> with figure_file("divergences.pdf", figsize=(6, 4)) as fig:  # doctest: +SKIP
    ...     plot_divergences(traj, ax=fig.subplots())
    """
    from matplotlib.figure import Figure

    figure_path(path)  # a wrong suffix fails before anything is drawn
    fig = Figure(figsize=figsize, layout="constrained")
    yield fig
    save_figure(fig, path, dpi=dpi)


def _time_colors(count: int) -> np.ndarray:
    from matplotlib import colormaps

    return colormaps["viridis"](np.linspace(0.0, 0.9, max(count, 1)))


def _triangulation(mesh: Any) -> Any:
    """A matplotlib triangulation of a 2D triangle or quadrilateral mesh (vertices only)."""
    from matplotlib.tri import Triangulation

    t = np.asarray(mesh.t)
    if t.shape[0] == 4:  # quadrilaterals: two triangles each
        t = np.concatenate([t[[0, 1, 2]], t[[0, 2, 3]]], axis=1)
    elif t.shape[0] != 3:
        msg = (
            "2D figures need a triangle or quadrilateral mesh; this one has "
            f"{t.shape[0]}-vertex cells"
        )
        raise InvalidInputError(msg)
    return Triangulation(mesh.p[0], mesh.p[1], t.T)


def _field(
    ax: Axes,
    tri: Any,
    values: np.ndarray,
    *,
    label: str,
    cmap: str = "viridis",
    levels: Any = 20,
    symmetric: bool = False,
    colorbar: bool = True,
    extend: str = "neither",
) -> Any:
    """Filled contours of a nodal field with a labelled colorbar; equal aspect."""
    if symmetric:
        top = float(np.abs(values).max()) or 1.0
        levels = _nice_levels(-top, top)
    elif isinstance(levels, int):
        levels = _nice_levels(float(values.min()), float(values.max()), levels)
    filled = ax.tricontourf(tri, values, levels=levels, cmap=cmap, extend=extend)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if colorbar:
        _colorbar(ax, filled, label)
    return filled


# ----------------------------------------------------------------------------------------
# weighted-Laplacian spectrum (gan-pde spectrum)


def _vertex_weight(spectrum: Spectrum, density: Density | None) -> np.ndarray:
    mesh = spectrum.basis.mesh
    if density is not None:
        return np.asarray(density.pdf(mesh.p.T), dtype=float)
    log_rho = spectrum.system.log_scale[spectrum.basis.nodal_dofs[0]]
    return np.exp(log_rho - log_rho.max())


def plot_eigenfunctions(
    spectrum: Spectrum,
    density: Density | None = None,
    *,
    modes: int | None = None,
    ax: Axes | Sequence[Axes] | None = None,
    fig: Figure | SubFigure | None = None,
) -> Any:
    r"""The first non-constant eigenfunctions :math:`w_1, w_2, \dots` of a spectrum.

    1D: the eigenfunctions (each scaled to max |w_i| = 1 where ρ ≥ 1e-6 max ρ) over the
    shaded density on one axis ``ax``; returns it.  2D: one panel per eigenfunction
    (filled contours, symmetric colour scale with a colorbar, black lines: level sets of ρ)
    on the Axes of ``ax`` (a sequence; a single Axes draws ``w_1`` alone and is returned)
    or of ``fig``; returns the array of panels.

    Parameters
    ----------
    spectrum
        A :class:`~gan_pde.spectral.weighted_laplacian.Spectrum` (1D or 2D mesh).
    density
        ρ for the shading / level sets (default: the weight the spectrum was computed with).
    modes
        How many eigenfunctions (default 3; 1 for a single Axes in 2D).
    ax, fig
        Where to draw (default: a new figure).

    Examples
    --------
    >>> import gan_pde as gp
    >>> from matplotlib.figure import Figure
    >>> rho = gp.GaussianMixture(means=[[-2.0], [2.0]], stds=[1.0, 1.0])
    >>> spec = gp.weighted_laplacian_spectrum(rho, gp.mesh.interval(-8.0, 8.0, n=100), k=4)
    >>> ax = plot_eigenfunctions(spec, ax=Figure().subplots())
    >>> ax.get_xlabel(), len(ax.get_lines())  # three eigenfunctions (and the line y = 0)
    ('x', 4)
    """
    mesh = spectrum.basis.mesh
    dim = mesh.dim()
    single = ax is not None and not isinstance(ax, np.ndarray | list | tuple)
    if modes is None:
        modes = 1 if (dim == 2 and single) else 3
    count = min(int(modes), spectrum.eigenvalues.size - 1)
    if count < 1:
        msg = "plotting needs k >= 2 eigenpairs (the first is the constant); recompute with k >= 2"
        raise InvalidInputError(msg)
    rho = _vertex_weight(spectrum, density)
    xi = spectrum.eigenvalues
    if dim == 1:
        ax = _axes(ax if fig is None else fig.subplots(), (7.5, 4.0))
        order = np.argsort(mesh.p[0])
        x = mesh.p[0, order]
        visible = rho[order] >= 1e-6 * rho.max()
        ax.fill_between(x, 0, rho[order] / rho.max(), color="0.85", label=r"$\rho$ (max = 1)")
        for i in range(1, count + 1):
            w = spectrum.eigenfunction(i).at_nodes[order]
            w = w / np.abs(w[visible]).max()
            ax.plot(x, w, label=rf"$w_{i}$, $\xi_{i}$ = {xi[i]:.6g}")
        ax.set_xlim(x[visible].min(), x[visible].max())
        ax.set_ylim(-1.1, 1.1)
        ax.axhline(0.0, color="0.5", lw=0.5)
        ax.set_xlabel("x")
        ax.set_ylabel(r"eigenfunction $w_i(x)$ (scaled: max $|w_i|$ = 1)")
        ax.set_title(
            f"weighted-Laplacian eigenfunctions ({spectrum.element}, {spectrum.n_dofs} dofs)"
        )
        legend_outside(ax)
        return ax
    if dim != 2:
        msg = f"eigenfunction figures need a 1D or 2D mesh; this mesh is {dim}D"
        raise InvalidInputError(msg)
    if single:
        if count != 1:
            msg = (
                f"a 2D spectrum draws one panel per mode: pass ax=[...] with {count} Axes, "
                "or modes=1"
            )
            raise InvalidInputError(msg)
        panels = np.array([ax], dtype=object)
    else:
        panels = _panels(ax, fig, count, what="plot_eigenfunctions", panel_size=(4.4, 3.8))
    tri = _triangulation(mesh)
    for i, panel in enumerate(panels, start=1):
        _field(
            panel,
            tri,
            spectrum.eigenfunction(i).at_nodes,
            label=rf"$w_{i}$ ($\int\rho\,w_{i}^2 = 1$)",
            cmap="RdBu_r",
            symmetric=True,
        )
        panel.tricontour(tri, rho, levels=6, colors="k", linewidths=0.5)
        panel.set_title(rf"$w_{i}$, $\xi_{i}$ = {xi[i]:.6g} (lines: $\rho$)", fontsize=10)
    return panels[0] if single else panels


def plot_spectrum(
    spectrum: Spectrum,
    density: Density | None = None,
    path: str | Path | None = None,
    *,
    modes: int | None = None,
    ax: Axes | Sequence[Axes] | None = None,
) -> Any:
    """:func:`plot_eigenfunctions`, and with ``path`` the figure written there (any format).

    The figure of ``gan-pde spectrum --plot FILE``; ``plot_spectrum(spec, rho, "w.pdf")``
    keeps working.  Returns what :func:`plot_eigenfunctions` returns.
    """
    if path is None:
        return plot_eigenfunctions(spectrum, density, modes=modes, ax=ax)
    if ax is not None:
        drawn = plot_eigenfunctions(spectrum, density, modes=modes, ax=ax)
        save_figure(np.ravel(np.asarray(drawn, dtype=object))[0].figure, path)
        return drawn
    count = min(3 if modes is None else int(modes), max(spectrum.eigenvalues.size - 1, 1))
    size = (8.5, 4.0) if spectrum.basis.mesh.dim() == 1 else (4.4 * count, 3.8)
    with figure_file(path, figsize=size) as fig:
        return plot_eigenfunctions(spectrum, density, modes=modes, fig=fig)


# ----------------------------------------------------------------------------------------
# JSD flow (gan-pde jsd-flow)


def _vertex_values(density: Any) -> np.ndarray:
    return np.asarray(density.values)[density.basis.nodal_dofs[0]]


def _target_at_vertices(target: Any, mesh: Any) -> np.ndarray | None:
    if target is None:
        return None
    if hasattr(target, "pdf"):
        return np.asarray(target.pdf(mesh.p.T), dtype=float)
    values = np.asarray(target, dtype=float)
    if values.shape != (mesh.p.shape[1],):
        msg = (
            f"target must be a density or its values at the {mesh.p.shape[1]} mesh vertices; "
            f"got an array of shape {values.shape}"
        )
        raise InvalidInputError(msg)
    return values


def _shown(count: int, most: int) -> np.ndarray:
    return np.unique(np.linspace(0, count - 1, min(count, most)).round()).astype(int)


def plot_densities(
    trajectory: Any,
    target: Any = None,
    *,
    max_times: int | None = None,
    ax: Axes | Sequence[Axes] | None = None,
    fig: Figure | SubFigure | None = None,
) -> Any:
    r"""The density u(t) of a JSD-flow trajectory at (up to ``max_times``) saved times.

    1D: one curve per saved time (colour: time) over the shaded target :math:`\rho_d`, on
    ``ax``; returns it.  2D: one panel per time on a common colour scale with one colorbar
    (white lines: level sets of :math:`\rho_d`), on the Axes of ``ax`` or of ``fig``;
    returns the array of panels.

    Parameters
    ----------
    trajectory
        A :class:`~gan_pde.flows.Trajectory` (or any object with ``times`` and
        ``densities``, a list of :class:`~gan_pde.densities.MeshDensity`).
    target
        :math:`\rho_d` as a density or as values at the mesh vertices (optional).
    max_times
        At most this many evenly chosen saved times (default 10 in 1D, 6 in 2D; the first
        and the last always).
    """
    mesh = trajectory.densities[0].mesh
    dim = mesh.dim()
    if dim not in (1, 2):
        msg = f"density figures need a 1D or 2D mesh; this mesh is {dim}D (open the XDMF file)"
        raise InvalidInputError(msg)
    most = max_times or (10 if dim == 1 else 6)
    shown = _shown(len(trajectory.densities), most)
    times = np.asarray(trajectory.times)[shown]
    values = [_vertex_values(trajectory.densities[k]) for k in shown]
    rho = _target_at_vertices(target, mesh)
    if dim == 1:
        ax = _axes(ax if fig is None else fig.subplots(), (7.5, 4.0))
        order = np.argsort(mesh.p[0])
        x = mesh.p[0, order]
        if rho is not None:
            ax.fill_between(x, 0.0, rho[order], color="0.85", label=r"target $\rho_d$")
        for t, u, color in zip(times, values, _time_colors(times.size), strict=True):
            ax.plot(x, u[order], color=color, label=f"t = {t:g}")
        ax.set_xlabel("x")
        ax.set_ylabel("density u(t, x)")
        curves = [u[order] for u in values] + ([rho[order]] if rho is not None else [])
        largest = np.max(curves, axis=0)
        seen = x[largest >= 1e-4 * largest.max()]
        ax.set_xlim(seen.min(), seen.max())
        ax.set_ylim(bottom=0.0)
        ax.set_title("JSD flow: density u(t) at the saved times")
        legend_outside(ax, title="u(t, x) at")
        return ax
    single = ax is not None and not isinstance(ax, np.ndarray | list | tuple)
    if single:
        panels = np.array([ax], dtype=object)
        times, values = times[-1:], values[-1:]
    else:
        panels = _panels(ax, fig, times.size, what="plot_densities", panel_size=(3.6, 3.6))
    tri = _triangulation(mesh)
    levels = _nice_levels(0.0, max(float(u.max()) for u in values) or 1.0)
    filled = None
    for panel, t, u in zip(panels, times, values, strict=True):
        filled = panel.tricontourf(tri, u, levels=levels, cmap="viridis", extend="min")
        if rho is not None:
            panel.tricontour(tri, rho, levels=6, colors="w", linewidths=0.6)
        panel.set_aspect("equal")
        panel.set_xlabel("$x_1$")
        panel.set_ylabel("$x_2$")
        panel.set_title(f"u(t = {t:g})" + (r" (lines: $\rho_d$)" if rho is not None else ""))
    _colorbar(list(panels), filled, "density u(t, x)")
    return panels[0] if single else panels


def plot_divergences(trajectory: Any, *, ax: Axes | None = None) -> Axes:
    r"""JSD(u, ρ_d), KL(u‖ρ_d) and ‖u − ρ_d‖_{L¹} at the saved times, log scale.

    Zero values (an exact start at the target) are left out of the log scale.
    """
    ax = _axes(ax, (7.0, 4.0))
    series = [
        (trajectory.jsd, r"JSD$(u, \rho_d)$ (nats)"),
        (getattr(trajectory, "kl", None), r"KL$(u \,\|\, \rho_d)$ (nats)"),
        (trajectory.l1, r"$\|u - \rho_d\|_{L^1}$"),
    ]
    times = np.asarray(trajectory.times)
    for (values, label), marker in zip(series, _MARKERS, strict=False):
        if values is None:
            continue
        values = np.asarray(values)
        positive = values > 0
        ax.semilogy(times[positive], values[positive], marker=marker, ms=4, label=label)
    ax.set_xlabel("time t")
    ax.set_ylabel(r"distance of u(t) to the target $\rho_d$")
    ax.set_title("JSD flow: divergences to the target")
    legend_outside(ax)
    _tidy_log(ax)
    return ax


def plot_trajectory(
    trajectory: Any, kind: str = "divergences", *, ax: Any = None, target: Any = None
) -> Any:
    """:meth:`Trajectory.plot <gan_pde.flows.Trajectory.plot>`: ``kind="divergences"``
    (:func:`plot_divergences`) or ``"densities"`` (:func:`plot_densities`)."""
    if kind == "divergences":
        if target is not None:
            msg = "target is drawn by kind='densities' only; leave it out for 'divergences'"
            raise InvalidInputError(msg)
        return plot_divergences(trajectory, ax=ax)
    if kind == "densities":
        return plot_densities(trajectory, target, ax=ax)
    msg = f"kind must be 'divergences' or 'densities'; got {kind!r}"
    raise InvalidInputError(msg)


# ----------------------------------------------------------------------------------------
# linearised GAN (gan-pde lgan)


def _stability_function(scheme: str) -> Any:
    functions = {
        "euler": lambda z: 1 + z,
        "heun": lambda z: 1 + z + z**2 / 2,
        "rk4": lambda z: 1 + z + z**2 / 2 + z**3 / 6 + z**4 / 24,
        "crank-nicolson": lambda z: (1 + z / 2) / (1 - z / 2),
    }
    if scheme not in functions:
        msg = f"scheme must be one of {sorted(functions)}; got {scheme!r}"
        raise InvalidInputError(msg)
    return functions[scheme]


def _span(values: np.ndarray, include: Sequence[float], pad: float = 0.12) -> tuple[float, float]:
    lo = float(min(values.min(), *include))
    hi = float(max(values.max(), *include))
    width = hi - lo or max(abs(lo), 1.0)
    return lo - pad * width, hi + pad * width


def _symlog_threshold(values: np.ndarray) -> float | None:
    """A linear threshold for a symlog axis when |values| span more than 2 decades."""
    size = np.abs(values[values != 0])
    if size.size == 0 or size.max() <= 100 * size.min():
        return None
    return float(size.min())


def _grid(lo: float, hi: float, threshold: float | None, n: int = 400) -> np.ndarray:
    if threshold is None:
        return np.linspace(lo, hi, n)
    parts = [np.linspace(-threshold, threshold, n // 4)]
    if lo < -threshold:
        parts.append(-np.geomspace(threshold, -lo, n // 2))
    if hi > threshold:
        parts.append(np.geomspace(threshold, hi, n // 2))
    return np.unique(np.concatenate(parts))


def _draw_region(ax: Axes, x: np.ndarray, y: np.ndarray, scheme: str, scale: float) -> Any:
    """Shade {z : |R(scale z)| ≤ 1} on the grid x × y, draw its boundary; the legend handle."""
    from matplotlib.patches import Patch

    grid = x[None, :] + 1j * y[:, None]
    with np.errstate(all="ignore"):
        modulus = np.abs(_stability_function(scheme)(scale * grid))
    modulus = np.nan_to_num(modulus, nan=np.inf)
    ax.contourf(x, y, modulus, levels=[0.0, 1.0], colors=[_REGION_FILL], zorder=0)
    ax.contour(x, y, modulus, levels=[1.0], colors=_REGION_EDGE, linewidths=1.0, zorder=1)
    return Patch(
        facecolor=_REGION_FILL, edgecolor=_REGION_EDGE, label=r"stable: $|R(\tau\lambda)| \leq 1$"
    )


def _scatter_complex(ax: Axes, z: np.ndarray, label: str) -> None:
    ax.scatter(z.real, z.imag, s=9, color="C0", zorder=3, label=label, linewidths=0)


def plot_lgan_eigenvalues(
    eigenvalues: Any,
    *,
    scheme: str | None = None,
    tau: float | None = None,
    ax: Axes | None = None,
) -> Axes:
    r"""The lGAN eigenvalues λ in the complex plane, zoomed on them.

    The view spans the eigenvalues and Re λ = 0 (the decay boundary) with a margin; real
    parts spanning more than two decades (overdamped modes) get a symlog scale.  With ``scheme``
    and ``tau`` the part of the scaled stability region :math:`\{\lambda : |R(\tau\lambda)|
    \le 1\}` in view is shaded, under the points; :func:`plot_stability_region` shows the
    whole region.
    """
    lam = np.asarray(eigenvalues, dtype=complex).ravel()
    ax = _axes(ax, (6.0, 4.2))
    x_lo, x_hi = _span(lam.real, (0.0,))
    y_lo, y_hi = _span(lam.imag, (0.0,))
    x_thr = _symlog_threshold(lam.real)
    handles = []
    if scheme is not None and tau is not None:
        handles.append(
            _draw_region(ax, _grid(x_lo, x_hi, x_thr), _grid(y_lo, y_hi, None), scheme, tau)
        )
    else:
        ax.axvline(0.0, color="0.35", lw=0.8, ls="--", zorder=2, label=r"Re $\lambda$ = 0")
    _scatter_complex(ax, lam, r"eigenvalues $\lambda_\pm(\xi)$")
    if x_thr is not None:
        ax.set_xscale("symlog", linthresh=x_thr)
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    ax.set_xlabel(r"Re $\lambda$ (growth rate; < 0 decays)")
    ax.set_ylabel(r"Im $\lambda$ (angular frequency)")
    ax.set_title("lGAN eigenvalues")
    found, labels = ax.get_legend_handles_labels()
    legend_below(ax, handles=found + handles, labels=labels + [h.get_label() for h in handles])
    return ax


#: The window of the τλ plane that holds each scheme's stability region.
_REGION_WINDOW = {
    "euler": (-2.4, 0.6, 1.4),
    "heun": (-2.4, 0.6, 2.0),
    "rk4": (-3.2, 0.6, 3.2),
    "crank-nicolson": (-3.0, 1.0, 3.0),
}


def plot_stability_region(
    eigenvalues: Any, *, scheme: str, tau: float, ax: Axes | None = None
) -> Axes:
    r"""The scaled eigenvalues τλ over the whole stability region of ``scheme``.

    The region :math:`\{z : |R(z)| \le 1\}` is shaded (Euler, Heun, RK4: bounded;
    Crank–Nicolson: the left half plane), the points are :math:`\tau\lambda`; the title
    gives :math:`\max|R(\tau\lambda)|` (≤ 1: stable).
    """
    lam = np.asarray(eigenvalues, dtype=complex).ravel()
    z = float(tau) * lam
    ax = _axes(ax, (5.0, 4.2))
    left, right, height = _REGION_WINDOW.get(scheme, (-3.0, 1.0, 3.0))
    x_lo, x_hi = _span(z.real, (left, right), pad=0.05)
    y_lo, y_hi = _span(z.imag, (-height, height), pad=0.05)
    x_thr = 1.0 if min(x_lo, -x_hi) < -100 else None
    y_thr = 1.0 if max(abs(y_lo), y_hi) > 100 else None
    region = _draw_region(ax, _grid(x_lo, x_hi, x_thr), _grid(y_lo, y_hi, y_thr), scheme, 1.0)
    _scatter_complex(ax, z, r"$\tau\lambda$")
    with np.errstate(all="ignore"):
        worst = float(np.max(np.abs(_stability_function(scheme)(z)))) if z.size else 0.0
    if x_thr is not None:
        ax.set_xscale("symlog", linthresh=x_thr)
    if y_thr is not None:
        ax.set_yscale("symlog", linthresh=y_thr)
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    ax.set_xlabel(r"Re $\tau\lambda$")
    ax.set_ylabel(r"Im $\tau\lambda$")
    verdict = "stable" if worst <= 1.0 + 1e-12 else "UNSTABLE"
    ax.set_title(rf"{scheme}, $\tau$ = {tau:g}: max $|R(\tau\lambda)|$ = {worst:.4g} ({verdict})")
    found, labels = ax.get_legend_handles_labels()
    legend_below(ax, handles=[*found, region], labels=[*labels, region.get_label()])
    return ax


def plot_lgan_norms(trajectory: Any, *, ax: Axes | None = None) -> Axes:
    r"""The decay of :math:`\|u(t)\|_\mu` and :math:`\|v(t)\|_\mu` of an lGAN run, log scale."""
    ax = _axes(ax, (6.0, 4.0))
    times = np.asarray(trajectory.times)
    for values, label in ((trajectory.u_norm, r"$\|u\|_\mu$"), (trajectory.v_norm, r"$\|v\|_\mu$")):
        values = np.asarray(values)
        positive = values > 0
        ax.semilogy(times[positive], values[positive], label=label)
    ax.set_xlabel("time t")
    ax.set_ylabel(r"norm in $L^2(\mu)$")
    ax.set_title(f"lGAN run ({trajectory.scheme}, τ = {trajectory.tau:g})")
    legend_outside(ax)
    _tidy_log(ax)
    return ax


def plot_lgan_summary(
    eigenvalues: Any,
    trajectory: Any = None,
    *,
    scheme: str,
    tau: float,
    note: str | None = None,
    axes: Sequence[Axes] | None = None,
    fig: Figure | SubFigure | None = None,
) -> np.ndarray:
    """The figure of ``gan-pde lgan --plot``: three panels.

    :func:`plot_lgan_eigenvalues` (zoomed on λ), :func:`plot_stability_region` (τλ in the
    whole region) and :func:`plot_lgan_norms` (the run; with ``trajectory=None`` the panel
    says why there is none: ``note``, e.g. the overflow message).
    """
    panels = _panels(axes, fig, 3, what="plot_lgan_summary", panel_size=(5.4, 4.2))
    plot_lgan_eigenvalues(eigenvalues, scheme=scheme, tau=tau, ax=panels[0])
    plot_stability_region(eigenvalues, scheme=scheme, tau=tau, ax=panels[1])
    if trajectory is not None:
        plot_lgan_norms(trajectory, ax=panels[2])
    else:
        ax = panels[2]
        ax.text(
            0.5,
            0.5,
            note or "no run",
            ha="center",
            va="center",
            wrap=True,
            fontsize=SMALL + 1,
            transform=ax.transAxes,
        )
        ax.set_xlabel("time t")
        ax.set_ylabel(r"norm in $L^2(\mu)$")
        ax.set_title("lGAN run: none")
    return panels


# ----------------------------------------------------------------------------------------
# WGAN mean field (gan-pde meanfield)


def _edges(centres: np.ndarray, *, clamp: bool) -> np.ndarray:
    """Cell edges around sorted centres (midpoints; the outer edges at the end centres when
    ``clamp``, else half a spacing beyond)."""
    c = np.asarray(centres, dtype=float)
    if c.size == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = 0.5 * (c[1:] + c[:-1])
    if clamp:
        return np.concatenate([[c[0]], mid, [c[-1]]])
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])


def plot_meanfield_laws(
    trajectory: Any, *, axes: Sequence[Axes] | None = None, fig: Figure | SubFigure | None = None
) -> np.ndarray:
    r"""Per law (μ, ν) and free axis: the marginal over time as a heat map.

    Time runs along x at the true saved times: the state saved at :math:`t_k` fills the
    times nearer to :math:`t_k` than to the other saved times (edges at the midpoints), and
    white ticks mark the saved times, so uneven save times are not drawn as equal columns.
    Colour: the square root of the marginal mass per cell (colorbar).  One panel per free
    axis of μ, then of ν.
    """
    panels_of = [
        ("μ", trajectory.mu, trajectory.mu_grid, trajectory.mu_names),
        ("ν", trajectory.nu, trajectory.nu_grid, trajectory.nu_names),
    ]
    count = sum(len(p[3]) for p in panels_of)
    panels = _panels(axes, fig, count, what="plot_meanfield_laws", panel_size=(3.8, 3.4))
    times = np.asarray(trajectory.times, dtype=float)
    t_edges = _edges(times, clamp=True)
    k = 0
    for law, laws, grid, names in panels_of:
        for axis, name in enumerate(names):
            others = tuple(i + 1 for i in range(laws.ndim - 1) if i != axis)
            marginal = laws.sum(axis=others) if others else laws
            ax = panels[k]
            image = ax.pcolormesh(
                t_edges,
                _edges(grid[axis], clamp=False),
                np.sqrt(marginal.T),
                cmap="magma",
                shading="flat",
            )
            ax.plot(
                times,
                np.ones_like(times),
                "v",
                color="w",
                mec="k",
                mew=0.6,
                ms=6,
                transform=ax.get_xaxis_transform(),
                clip_on=False,
                zorder=3,
            )
            ax.set_xlabel("time t (▼: saved times)")
            ax.set_ylabel(f"{law} parameter {name}")
            ax.set_title(f"{law}: marginal in {name}", fontsize=10, pad=9)
            _colorbar(ax, image, "√(mass per cell)")
            k += 1
    return panels


def plot_toy_phase(toy: Any, paths: Sequence[Any], *, ax: Axes | None = None) -> Axes:
    r"""The toy WGAN's (g, ω) plane: level sets of :math:`E_{\gamma_c}`, the walls
    :math:`|\omega| = 1` and the trajectories ``paths`` (:meth:`ToyWGAN.simulate`)."""
    ax = _axes(ax, (7.5, 4.2))
    reach = max([3.5, *[float(np.abs(p.g).max()) * 1.05 for p in paths]])
    g = np.linspace(-reach, reach, 400)
    w = np.linspace(-1.6, 1.6, 300)
    gg, ww = np.meshgrid(g, w)
    levels = sorted({2.1, 2.5, 3.0, 4.0, 5.0, 10.0, float(toy.critical_energy)})
    contour = ax.contour(gg, ww, toy.energy(gg, ww), levels=levels, colors="0.6", linewidths=0.7)
    ax.clabel(contour, fontsize=SMALL, fmt="%g")
    ax.axhline(1.0, color="k", lw=1.5)
    ax.axhline(-1.0, color="k", lw=1.5, label=r"wall $|\omega| = 1$")
    ax.plot([], [], color="0.6", lw=0.7, label=r"level sets of $E_{\gamma_c}$")
    for p in paths:
        ax.plot(p.g, p.omega, lw=1.0, label=f"start ({p.g[0]:g}, {p.omega[0]:g})")
    ax.set_xlabel("generator parameter g")
    ax.set_ylabel(r"critic parameter $\omega$")
    ax.set_ylim(-1.6, 1.6)
    ax.set_title(rf"toy WGAN, $\gamma_c$ = {toy.gamma_c:g}: $E^*$ = {toy.critical_energy:.4g}")
    legend_outside(ax)
    return ax


def plot_meanfield_energy(
    trajectory: Any, *, axes: Sequence[Axes] | None = None, fig: Figure | SubFigure | None = None
) -> np.ndarray:
    r"""Two panels over the saved times: the energy E[μ, ν] and the ν mass in the wall cells."""
    panels = _panels(axes, fig, 2, what="plot_meanfield_energy", panel_size=(6.0, 2.4), rows=2)
    times = np.asarray(trajectory.times)
    panels[0].plot(times, trajectory.energy, "o-", ms=4)
    panels[0].set_ylabel(r"energy $E[\mu, \nu]$")
    panels[0].set_title("WGAN mean field: energy and wall mass")
    panels[1].plot(times, trajectory.wall_mass, "s-", ms=4, color="C1")
    panels[1].set_ylabel(r"$\nu$ mass in wall cells")
    panels[1].set_xlabel("time t")
    panels[0].set_xlabel("time t")
    return panels


# ----------------------------------------------------------------------------------------
# dual metric flows (gan-pde dual)


def plot_dual_oscillation(
    study: Any,
    x_r: Any,
    *,
    axes: Sequence[Axes] | None = None,
    fig: Figure | SubFigure | None = None,
) -> np.ndarray:
    r"""The oscillating example: :math:`r^2 = |x|^2 + |y - x_r|^2` over time per scheme (at
    the largest τ), and the fitted long-time rate of :math:`\ln r^2` against τ with the
    update-matrix predictions (black lines)."""
    left, right = _panels(axes, fig, 2, what="plot_dual_oscillation", panel_size=(4.6, 3.8))
    target = np.asarray(x_r, dtype=float)
    for i, (scheme, run) in enumerate(study.paths.items()):
        r2 = np.sum(run.x**2, axis=1) + np.sum((run.y - target) ** 2, axis=1)
        dashed = scheme == "alternating"  # identical to "implicit" for the bilinear loss
        color = f"C{i}"
        left.semilogy(run.times, r2, "--" if dashed else "-", color=color, label=scheme)
        right.loglog(
            study.taus,
            np.abs(study.measured[scheme]),
            "x" if dashed else "o",
            color=color,
            label=scheme,
        )
        if np.any(study.predicted[scheme] != 0):
            right.loglog(study.taus, np.abs(study.predicted[scheme]), "-", color="k", lw=0.8)
    right.plot([], [], "k-", lw=0.8, label="prediction\n(update matrix)")
    left.set_xlabel("time t")
    left.set_ylabel(r"$r^2 = |x|^2 + |y - x_r|^2$")
    left.set_title(rf"oscillating example, $\tau$ = {study.taus.max():g}", fontsize=10)
    right.set_xlabel(r"step $\tau$")
    right.set_ylabel(r"|rate of $\ln r^2$| (per unit time)")
    right.set_title("long-time rate against τ", fontsize=10)
    legend_outside(right, title="scheme")
    _tidy_log(left)
    _tidy_log(right)
    _ticks_at(right.xaxis, study.taus)
    return np.array([left, right], dtype=object)


def plot_dual_convergence(study: Any, edi: Any = None, *, ax: Axes | None = None) -> Axes:
    r"""Lemma 1 (:math:`|z^I - z^E|`), both schemes against the dual flow (7) and the EDI
    (21) defect, against τ (log–log, with slopes τ and τ² for reference)."""
    ax = _axes(ax, (7.0, 4.0))
    taus = np.asarray(study.taus)
    rows = [
        (study.implicit_vs_explicit, r"$\max|z^I - z^E|$ (Lemma 1)"),
        (study.implicit_error, "implicit (8)–(9) vs flow (7)"),
        (study.explicit_error, "alternating (1) vs flow (7)"),
    ]
    if edi is not None:
        rows.append((np.abs(np.asarray(edi)), "|EDI (21) defect|"))
    for (values, label), marker in zip(rows, _MARKERS, strict=False):
        ax.loglog(taus, values, marker=marker, ms=4, label=label)
    ax.loglog(taus, taus, "k:", label=r"$\tau$")
    ax.loglog(taus, taus**2, "k--", label=r"$\tau^2$")
    ax.set_xlabel(r"step $\tau$")
    ax.set_ylabel("max distance on [0, T] / EDI defect")
    ax.set_title("tanh game: Lemma 1, convergence, EDI")
    legend_outside(ax)
    _tidy_log(ax)
    _ticks_at(ax.xaxis, taus)
    return ax


def plot_dual_collapse(
    study: Any,
    paths: Mapping[float, Any] | None = None,
    *,
    axes: Sequence[Axes] | None = None,
    fig: Figure | SubFigure | None = None,
) -> np.ndarray:
    r"""Mode collapse: the generator's late spread against τ (measured threshold and the
    flow's bound :math:`1/\max(-\ell'')`), then the atoms over time for each τ of ``paths``
    (step → :class:`~gan_pde.dual.ParticlePath`)."""
    paths = dict(paths or {})
    panels = _panels(axes, fig, 1 + len(paths), what="plot_dual_collapse", panel_size=(4.4, 3.6))
    ax = panels[0]
    ax.semilogx(study.taus, study.spread, "o-", label="measured spread")
    if study.threshold is not None:
        ax.axvline(study.threshold, color="C3", label="measured threshold")
    ax.axvline(study.predicted, color="k", ls="--", label=r"$1/\max(-\ell'')$ (flow)")
    ax.set_xlabel(r"step $\tau$")
    ax.set_ylabel(r"std($\mu$) / std($\mu_r$), late times")
    ax.set_title("generator spread against τ", fontsize=10)
    legend_below(ax, ncols=1)
    _tidy_log(ax)
    _ticks_at(ax.xaxis, study.taus)
    for panel, (tau, run) in zip(panels[1:], paths.items(), strict=True):
        panel.plot(run.times, run.particles[:, :: max(1, run.particles.shape[1] // 16)], lw=0.6)
        panel.set_xlabel("time t")
        panel.set_ylabel("atom position x")
        panel.set_title(f"generator atoms, τ = {tau:g}", fontsize=10)
    return panels


# ----------------------------------------------------------------------------------------
# SDE approximations (gan-pde sde)


def plot_weak_orders(study: Mapping[str, Any], *, ax: Axes | None = None) -> Axes:
    """Exact weak errors against the learning rate η (log–log), one line per pair, with the
    fitted slopes in the legend (:func:`gan_pde.sde.studies.exact_weak_orders`)."""
    ax = _axes(ax, (7.0, 4.0))
    for (label, errors), marker in zip(study["errors"].items(), _MARKERS, strict=False):
        ax.loglog(
            study["etas"],
            errors,
            marker=marker,
            ms=4,
            label=f"{label}: slope {study['slopes'][label]:.2f}",
        )
    ax.set_xlabel(r"learning rate $\eta$")
    ax.set_ylabel(r"$\max_t\,\max_f |E f(\mathrm{SGA}) - E f(\mathrm{SDE})|$")
    ax.set_title("weak errors, exact moments (location-scale WGAN)")
    legend_outside(ax)
    _tidy_log(ax)
    _ticks_at(ax.xaxis, study["etas"])
    return ax


def plot_invariant_density(
    stationary: Any,
    mean: Any = None,
    cov: Any = None,
    samples: Any = None,
    *,
    ax: Axes | None = None,
) -> Axes:
    r"""The FEM invariant density of a 2D SDE (colorbar), with optional long-run samples and
    the 2σ ellipse of the exact Gaussian moments (``mean``, ``cov``).

    P1 round-off below 0 (about 1e-3 of the peak, in the far field) is drawn as 0.
    """
    from matplotlib.lines import Line2D

    ax = _axes(ax, (7.0, 4.8))
    handles: list[Any] = []
    mesh = stationary.basis.mesh
    values = np.maximum(np.asarray(stationary.values)[stationary.basis.nodal_dofs[0]], 0.0)
    _field(ax, _triangulation(mesh), values, label="invariant density p(θ, ω)")
    if samples is not None:
        samples = np.asarray(samples)[:400]
        ax.plot(samples[:, 0], samples[:, 1], ".", color="w", ms=2, alpha=0.6)
        handles.append(
            Line2D(
                [],
                [],
                ls="",
                marker="o",
                mfc="w",
                mec="0.3",
                ms=4,
                label=f"SDE long run ({len(samples)} paths)",
            )
        )
    if mean is not None and cov is not None:
        mean, cov = np.asarray(mean, dtype=float), np.asarray(cov, dtype=float)
        angle = np.linspace(0, 2 * np.pi, 200)
        variances, vectors = np.linalg.eigh(cov)
        ellipse = mean[:, None] + 2 * vectors @ (
            np.sqrt(variances)[:, None] * np.stack([np.cos(angle), np.sin(angle)])
        )
        ax.plot(ellipse[0], ellipse[1], "r-", label="exact 2σ ellipse")
    ax.set_xlabel(r"generator parameter $\theta$")
    ax.set_ylabel(r"critic parameter $\omega$")
    ax.set_title("invariant measure of the ALT-SDE (Theorem 4.1)", fontsize=10)
    found, labels = ax.get_legend_handles_labels()
    legend_below(ax, handles=handles + found, labels=[h.get_label() for h in handles] + labels)
    return ax


def plot_lr_schedule(
    scheduled: Mapping[str, Any],
    constant: Mapping[str, Any],
    *,
    axes: Sequence[Axes] | None = None,
    fig: Figure | SubFigure | None = None,
) -> np.ndarray:
    r"""The FDR2 learning-rate schedule (Remark 4.3) beside a constant rate: η and
    :math:`\|\nabla\Phi\|` against the iteration (runs of
    :func:`gan_pde.sde.scheduler.train_sml`)."""
    left, right = _panels(axes, fig, 2, what="plot_lr_schedule", panel_size=(4.2, 3.6))
    steps = np.arange(np.asarray(scheduled["lr"]).size)
    left.semilogy(steps, scheduled["lr"], label="FDR2 schedule")
    left.semilogy(steps, constant["lr"], "--", label="constant η")
    left.set_xlabel("iteration")
    left.set_ylabel(r"learning rate $\eta$")
    left.set_title("learning rate", fontsize=10)
    right.semilogy(steps, scheduled["grad_norm"], lw=0.6, label="FDR2 schedule")
    right.semilogy(steps, constant["grad_norm"], lw=0.6, alpha=0.7, label="constant η")
    right.set_xlabel("iteration")
    right.set_ylabel(r"gradient norm $\|\nabla\Phi\|$")
    right.set_title("gradient norm", fontsize=10)
    legend_outside(right)
    _tidy_log(left)
    _tidy_log(right)
    return np.array([left, right], dtype=object)


# ----------------------------------------------------------------------------------------
# parameter sweeps (gan-pde sweep)


#: Readable axis labels of the parameters and values of the bundled sweep tasks.
_SWEEP_NAMES = {
    "separation": "separation M of the two modes",
    "xi_min": r"Poincaré constant $\xi_{\min}$",
    "eta": r"decay rate $\eta$",
    "cells": "mesh cells",
    "alpha": r"$\alpha$",
    "beta": r"$\beta$",
    "gamma": r"$\gamma$",
}


def plot_sweep(
    result: Any, *, x: str | None = None, value: str | None = None, ax: Axes | None = None
) -> Axes:
    """A sweep's value against one parameter, one line per setting of the other parameters.

    ``x`` defaults to the first parameter, ``value`` to the first key of dict values (or
    the value itself).  Lines differ in marker and dash, so lines that coincide stay
    visible.
    """
    records = list(result.records)
    if not records:
        msg = "the sweep has no points to plot"
        raise InvalidInputError(msg)
    names = list(
        getattr(result, "names", None) or [k for k in records[0] if k not in ("value", "seconds")]
    )
    x = x or names[0]
    if x not in names:
        msg = f"x must be a parameter of the sweep ({names}); got {x!r}"
        raise InvalidInputError(msg)
    first = records[0]["value"]
    if isinstance(first, Mapping):
        value = value or next(iter(first))
        pick = lambda r: r["value"][value]  # noqa: E731
    else:
        pick = lambda r: r["value"]  # noqa: E731
        value = value or "value"
    others = [n for n in names if n != x]
    lines: dict[tuple, list[tuple[float, float]]] = {}
    for record in records:
        lines.setdefault(tuple(record[n] for n in others), []).append((record[x], pick(record)))
    ax = _axes(ax, (7.0, 4.0))
    for i, (label, points) in enumerate(lines.items()):
        points.sort()
        text = ", ".join(f"{n} = {v}" for n, v in zip(others, label, strict=True))
        ax.plot(
            *zip(*points, strict=True),
            marker=_MARKERS[i % len(_MARKERS)],
            ls=_DASHES[i % len(_DASHES)],
            ms=6 - 4 * i / max(len(lines), 1),
            label=text or None,
        )
    ax.set_xlabel(_SWEEP_NAMES.get(x, x))
    ax.set_ylabel(_SWEEP_NAMES.get(value, value))
    task = result.info.get("function") if hasattr(result, "info") else None
    ax.set_title(f"sweep: {value} against {x}" + (f" ({task})" if task else ""), fontsize=10)
    if len(lines) > 1:
        legend_outside(ax)
    return ax


# ----------------------------------------------------------------------------------------
# network training (gan-pde train)


def plot_losses(run: Any, *, ax: Axes | None = None) -> Axes:
    """The losses of a :class:`~gan_pde.nn.TrainingRun` against the training step (the
    ensemble mean, with the spread of the runs shaded, for an ensemble)."""
    ax = _axes(ax, (7.0, 4.0))
    for name, values in run.losses.items():
        values = np.asarray(values)
        steps = np.arange(1, values.shape[-1] + 1)
        if values.ndim == 1:
            ax.plot(steps, values, label=name)
            continue
        (line,) = ax.plot(steps, values.mean(axis=0), label=f"{name} (mean of {values.shape[0]})")
        ax.fill_between(
            steps,
            values.min(axis=0),
            values.max(axis=0),
            alpha=0.2,
            color=line.get_color(),
            linewidth=0,
        )
    ax.set_xlabel("training step")
    ax.set_ylabel("loss")
    ax.set_title(f"{run.algorithm}: losses")
    legend_outside(ax)
    return ax


def plot_training_run(run: Any, kind: str = "losses", *, ax: Any = None, **options: Any) -> Any:
    """:meth:`TrainingRun.plot <gan_pde.nn.TrainingRun.plot>`: ``kind="losses"``
    (:func:`plot_losses`) or ``"samples"`` (:func:`plot_samples`, ``ax`` a sequence of
    Axes, one per shown time)."""
    if kind == "losses":
        if options:
            msg = f"kind='losses' takes no options; got {sorted(options)}"
            raise InvalidInputError(msg)
        return plot_losses(run, ax=ax)
    if kind == "samples":
        return plot_samples(run, axes=ax, **options)
    msg = f"kind must be 'losses' or 'samples'; got {kind!r}"
    raise InvalidInputError(msg)


def _histograms(
    panels: np.ndarray,
    times: np.ndarray,
    samples: Mapping[str, np.ndarray],
    *,
    pde: Any,
    target: Any,
    bounds: tuple[float, float],
) -> None:
    x = np.linspace(bounds[0], bounds[1], 800)[:, None]
    for j, (ax, t) in enumerate(zip(panels, times, strict=True)):
        if target is not None:
            ax.fill_between(x[:, 0], target.pdf(x), color="0.85", label=r"target $\rho_d$")
        for name, draws in samples.items():
            ax.hist(draws[j], bins=50, range=bounds, density=True, alpha=0.5, label=name)
        if pde is not None:
            ax.plot(x[:, 0], pde[j].pdf(x), "k", lw=1.2, label="u(t) (JSD flow)")
        ax.set_title(f"t = {t:g}", fontsize=10)
        ax.set_xlim(*bounds)
        ax.set_xlabel("x")
        ax.set_ylabel("density")
    top = max(ax.get_ylim()[1] for ax in panels)
    for ax in panels:
        ax.set_ylim(0.0, top)
    legend_outside(panels[-1])


def plot_samples(
    run: Any,
    trajectory: Any = None,
    target: Any = None,
    *,
    bounds: tuple[float, float] | None = None,
    max_times: int = 4,
    axes: Sequence[Axes] | None = None,
    fig: Figure | SubFigure | None = None,
) -> np.ndarray:
    r"""Histograms of a 1D run's samples at up to ``max_times`` saved times, over the PDE
    solution u(t) (``trajectory``, saved at the run's times) and the target ρ_d."""
    samples = np.asarray(run.samples)
    if samples.ndim == 4:
        samples = samples[0]
    if samples.ndim != 3 or samples.shape[-1] != 1:
        msg = f"plot_samples draws 1D samples (n_saved, n, 1); got shape {samples.shape}"
        raise InvalidInputError(msg)
    shown = _shown(samples.shape[0], max_times)
    if bounds is None:
        lo, hi = float(samples.min()), float(samples.max())
        bounds = (lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo))
    panels = _panels(axes, fig, shown.size, what="plot_samples", panel_size=(3.2, 3.2))
    pde = None if trajectory is None else [trajectory.densities[k] for k in shown]
    _histograms(
        panels,
        np.asarray(run.times)[shown],
        {f"samples ({run.algorithm})": samples[shown, :, 0]},
        pde=pde,
        target=target,
        bounds=tuple(bounds),
    )
    return panels


def plot_distances(
    distances: Mapping[str, Any],
    *,
    metric: str = "w1",
    label: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    r"""A distance of a run to the PDE solution over time, from
    :func:`gan_pde.compare.distances_over_time` (±2 standard errors shaded for ensembles)."""
    ax = _axes(ax, (7.0, 4.0))
    times = np.asarray(distances["times"])
    values = np.asarray(distances[metric])
    ax.plot(times, values, "o-", ms=4, label=label or metric)
    stderr = distances.get(metric + "_stderr")
    if stderr is not None and np.all(np.isfinite(stderr)):
        ax.fill_between(
            times,
            values - 2 * np.asarray(stderr),
            values + 2 * np.asarray(stderr),
            alpha=0.3,
            label="±2 standard errors",
        )
    names = {"w1": "$W_1$", "w2": "$W_2$", "l1": "$L^1$", "jsd": "JSD", "mmd": "MMD²"}
    ax.set_xlabel("PDE time t = kε")
    ax.set_ylabel(f"{names.get(metric, metric)}(samples, u(t))")
    ax.set_title("samples against the JSD flow")
    legend_outside(ax)
    return ax


# ----------------------------------------------------------------------------------------
# networks against the PDE limits (gan-pde compare)


def plot_jsd_comparison(result: Any, *, ax: Axes | None = None) -> Axes:
    """W₁ of each run (particles, GAN, Algorithm 2, FEM particles) to the JSD flow u(t)
    over time (:class:`~gan_pde.compare.experiments.JSDComparison`)."""
    ax = _axes(ax, (7.0, 4.0))
    for (name, values), marker in zip(result.w1.items(), _MARKERS, strict=False):
        ax.plot(result.times, values, marker=marker, ms=4, label=name)
    ax.set_xlabel("PDE time t = kε")
    ax.set_ylabel(r"$W_1$(samples, u(t))")
    ax.set_title("networks vs JSD flow (paper 002)")
    legend_outside(ax, title="run")
    return ax


def plot_jsd_comparison_samples(
    result: Any,
    *,
    max_times: int = 4,
    bounds: tuple[float, float] = (-6.0, 6.0),
    axes: Sequence[Axes] | None = None,
    fig: Figure | SubFigure | None = None,
) -> np.ndarray:
    """Histograms of the particle and Algorithm 2 samples over u(t) at up to ``max_times``
    saved times (:class:`~gan_pde.compare.experiments.JSDComparison`)."""
    shown = _shown(np.asarray(result.times).size, max_times)
    panels = _panels(
        axes, fig, shown.size, what="plot_jsd_comparison_samples", panel_size=(3.2, 3.2)
    )
    names = [n for n in ("particles", "algorithm2") if n in result.runs]
    _histograms(
        panels,
        np.asarray(result.times)[shown],
        {n: np.asarray(result.runs[n].samples)[shown, :, 0] for n in names},
        pde=[result.trajectory.densities[k] for k in shown],
        target=None,
        bounds=bounds,
    )
    return panels


def plot_jsd_study(
    result: Any, *, axes: Sequence[Axes] | None = None, fig: Figure | SubFigure | None = None
) -> np.ndarray:
    """W₁ of particle runs against the particle count, the discriminator steps and ε
    (mean over time and final), one panel each."""
    study = dict(result.study)
    panels = _panels(axes, fig, len(study), what="plot_jsd_study", panel_size=(3.6, 3.2))
    names = {
        "n_particles": "particles N",
        "discriminator_steps": "discriminator steps",
        "epsilon": "step ε",
    }
    for ax, (name, entry) in zip(panels, study.items(), strict=True):
        ax.loglog(entry["values"], entry["mean_w1"], "o-", label="mean over t")
        ax.loglog(entry["values"], entry["final_w1"], "s--", label="final t")
        ax.set_xlabel(names.get(name, name))
        ax.set_ylabel(r"$W_1$(samples, u(t))")
        _tidy_log(ax)
        _ticks_at(ax.xaxis, entry["values"])
    legend_outside(panels[-1])
    return panels


_SETTING_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def plot_lsgan_decay(
    results: Sequence[Any],
    *,
    axes: Sequence[Axes] | None = None,
    fig: Figure | SubFigure | None = None,
) -> np.ndarray:
    r""":math:`\|D(t)\|^2` of the five LSGAN settings, one panel per separation M
    (:class:`~gan_pde.compare.experiments.LSGANComparison`)."""
    panels = _panels(axes, fig, len(results), what="plot_lsgan_decay", panel_size=(4.4, 3.6))
    for ax, result in zip(panels, results, strict=True):
        for i, (name, values) in enumerate(zip(result.names, result.d_norm2, strict=True)):
            ax.semilogy(result.times, values, color=f"C{i}", label=name)
        ax.set_title(
            rf"M = {result.separation:g}, $\xi_{{\min}}$ = {result.xi_min:.3g}", fontsize=10
        )
        ax.set_xlabel("time t = kτ")
        ax.set_ylabel(r"$\|D(t)\|^2_{\mu_n}$")
        _tidy_log(ax)
    legend_outside(panels[-1], title="setting")
    return panels


def plot_lsgan_rates(results: Sequence[Any], *, ax: Axes | None = None) -> Axes:
    r"""Measured against predicted decay rates η of the LSGAN settings: colour = separation
    M, marker = setting (legend), the diagonal dotted."""
    from matplotlib.lines import Line2D

    ax = _axes(ax, (6.5, 4.4))
    names: list[str] = []
    for j, result in enumerate(results):
        for i, (name, p, m) in enumerate(
            zip(result.names, result.predicted_rates, result.measured_rates, strict=True)
        ):
            ax.plot(
                p,
                m,
                _SETTING_MARKERS[i % len(_SETTING_MARKERS)],
                color=f"C{j}",
                ms=7,
                mfc="none",
                mew=1.5,
            )
            if name not in names:
                names.append(name)
    values = np.concatenate(
        [np.concatenate([r.predicted_rates, r.measured_rates]) for r in results]
    )
    low, high = float(np.nanmin(values)), float(np.nanmax(values))
    ax.plot([low, high], [low, high], "k:", lw=0.8)
    handles = [
        Line2D([], [], color=f"C{j}", lw=6, label=f"M = {r.separation:g}")
        for j, r in enumerate(results)
    ]
    handles += [
        Line2D(
            [],
            [],
            ls="",
            marker=_SETTING_MARKERS[i % len(_SETTING_MARKERS)],
            color="0.2",
            mfc="none",
            label=name,
        )
        for i, name in enumerate(names)
    ]
    handles.append(Line2D([], [], color="k", ls=":", lw=0.8, label="measured = predicted"))
    ax.set_xlabel(r"predicted rate $\eta$ (FEM $\xi_{\min}$)")
    ax.set_ylabel(r"measured rate $\eta$ (networks)")
    ax.set_title("LSGAN decay rates (paper 004)")
    legend_outside(ax, handles=handles, labels=[h.get_label() for h in handles])
    return ax


def plot_wgan_comparison(
    result: Any, *, axes: Sequence[Axes] | None = None, fig: Figure | SubFigure | None = None
) -> np.ndarray:
    """W₂ of the neuron laws to the mean-field PDE over time per width N (one panel per free
    axis), and the critic mass at the wall of Q
    (:class:`~gan_pde.compare.experiments.WGANComparison`)."""
    names = list(result.w2)
    panels = _panels(axes, fig, len(names) + 1, what="plot_wgan_comparison", panel_size=(3.8, 3.4))
    for ax, name in zip(panels[:-1], names, strict=True):
        for i, (n, values) in enumerate(zip(result.widths, result.w2[name], strict=True)):
            ax.plot(
                result.times,
                values,
                marker=_MARKERS[i % len(_MARKERS)],
                ms=4,
                color=f"C{i}",
                label=f"N = {n}",
            )
        ax.set_xlabel("PDE time t = nh/N")
        ax.set_ylabel(f"$W_2$ to the PDE ({name})")
    ax = panels[-1]
    ax.plot(result.times, result.wall_pde, "k-", lw=2, label="PDE")
    for i, (n, values) in enumerate(zip(result.widths, result.wall_networks, strict=True)):
        ax.plot(
            result.times,
            values,
            marker=_MARKERS[i % len(_MARKERS)],
            ls="--",
            ms=4,
            color=f"C{i}",
            label=f"N = {n}",
        )
    ax.set_xlabel("PDE time t = nh/N")
    ax.set_ylabel("critic mass at the wall of Q")
    legend_outside(ax)
    return panels
