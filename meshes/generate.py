"""Regenerate the gmsh meshes of this folder from their ``.geo`` sources.

Run ``python meshes/generate.py`` (needs the ``gmsh`` Python module, e.g. ``pip install
gmsh``).  Every ``<name>.geo`` listed in ``MESHES`` is meshed in its dimension and written
as ``<name>.msh`` (gmsh format 4.1, ASCII) next to it.  ``gan_pde/data/meshes/`` holds
symbolic links to these files (the wheel stores their contents), from where
``gan_pde.mesh.bundled(name)`` loads them.
"""

from __future__ import annotations

from pathlib import Path

import gmsh

HERE = Path(__file__).resolve().parent
#: Mesh name -> dimension of its cells.
MESHES = {"disk": 2, "lshape": 2, "ball": 3}


def generate(name: str, dim: int) -> Path:
    """Mesh ``<name>.geo`` in dimension ``dim`` and write ``<name>.msh``; return its path."""
    target = HERE / f"{name}.msh"
    gmsh.initialize()
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.option.setNumber("General.NumThreads", 1)
        gmsh.open(str(HERE / f"{name}.geo"))
        gmsh.model.mesh.generate(dim)
        gmsh.option.setNumber("Mesh.MshFileVersion", 4.1)
        gmsh.option.setNumber("Mesh.Binary", 0)
        gmsh.option.setNumber("Mesh.SaveAll", 0)
        gmsh.write(str(target))
    finally:
        gmsh.finalize()
    return target


def main() -> None:
    """Regenerate every mesh."""
    for name, dim in MESHES.items():
        path = generate(name, dim)
        print(f"{path.name}: {path.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
