"""Figures of spectra (matplotlib, non-interactive Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gan_pde.errors import InvalidInputError

if TYPE_CHECKING:
    from gan_pde.densities import Density
    from gan_pde.spectral.weighted_laplacian import Spectrum

__all__ = ["plot_spectrum"]


def plot_spectrum(spectrum: Spectrum, density: Density, path: str | Path, *, modes: int = 3):
    """Plot the first non-constant eigenfunctions over the density and save to ``path``.

    1D: the eigenfunctions (scaled to unit maximum on the region where ρ ≥ 1e-6·max ρ)
    and ρ on one axis.  2D: one panel per eigenfunction (filled contours) with contour
    lines of ρ.  The format follows the file extension (PNG, SVG, PDF).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.tri import Triangulation

    mesh = spectrum.basis.mesh
    count = min(modes, spectrum.eigenvalues.size - 1)
    if count < 1:
        msg = "plotting needs k >= 2 eigenpairs (the first is the constant)"
        raise InvalidInputError(msg)
    nodes = mesh.p.T
    rho = density.pdf(nodes)
    if mesh.dim() == 1:
        order = np.argsort(nodes[:, 0])
        x = nodes[order, 0]
        fig, ax = plt.subplots(figsize=(7, 4))
        visible = rho[order] >= 1e-6 * rho.max()
        for i in range(1, count + 1):
            w = spectrum.eigenfunction(i).at_nodes[order]
            w = w / np.abs(w[visible]).max()
            ax.plot(x, w, label=f"$w_{i}$, $\\xi_{i}$ = {spectrum.eigenvalues[i]:.6g}")
        ax.fill_between(x, 0, rho[order] / rho.max(), color="0.85", label="ρ (scaled)")
        ax.set_xlim(x[visible].min(), x[visible].max())
        ax.set_ylim(-1.1, 1.1)
        ax.set_xlabel("x")
        ax.legend(loc="lower right", fontsize=8)
    elif mesh.dim() == 2:
        if mesh.t.shape[0] != 3:
            msg = "2D plots need a triangle mesh"
            raise InvalidInputError(msg)
        tri = Triangulation(nodes[:, 0], nodes[:, 1], mesh.t.T)
        fig, axes = plt.subplots(1, count, figsize=(4.2 * count, 3.8), squeeze=False)
        for i, ax in enumerate(axes[0], start=1):
            w = spectrum.eigenfunction(i).at_nodes
            ax.tricontourf(tri, w, levels=21, cmap="RdBu_r")
            ax.tricontour(tri, rho, levels=6, colors="k", linewidths=0.5)
            ax.set_title(f"$w_{i}$, $\\xi_{i}$ = {spectrum.eigenvalues[i]:.6g}")
            ax.set_aspect("equal")
    else:
        msg = f"plot_spectrum supports 1D and 2D meshes; this mesh is {mesh.dim()}D"
        raise InvalidInputError(msg)
    fig.suptitle(f"weighted-Laplacian eigenfunctions ({spectrum.element}, {spectrum.n_dofs} dofs)")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
