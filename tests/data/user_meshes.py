"""gmsh meshes "of a user's own" for tests/test_mesh.py, and the fixtures in this folder.

Run ``python tests/data/user_meshes.py`` (needs the ``gmsh`` module, ``pip install gmsh``)
to rewrite the committed fixtures, which let the tests run without gmsh (CI installs only
``.[test]``):

- ``annulus.msh`` (gmsh 4.1, ASCII): the annulus 0.8 < r < 2, triangles of size 0.6, with
  the physical surface "domain", the physical curves "outer" and "hole" and the physical
  points "anchor" (on the outer circle) and "centre" (the centre of the circles, a node of
  no triangle);
- ``two_boxes.msh`` (gmsh 2.2, ASCII): [0, 2] x [0, 1] x [0, 1] cut at x = 1 into the
  physical volumes "left" and "right" (tetrahedra of size 0.5), with the physical surfaces
  "walls" (the outer boundary) and "interface" (x = 1, interior facets);
- ``tri_quad.msh`` (gmsh 4.1, ASCII): [0, 2] x [0, 1], triangles on the left half and
  recombined quadrilaterals on the right half -- a mesh that scikit-fem cannot hold.
"""

from __future__ import annotations

import math
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _start():
    import gmsh

    gmsh.initialize()
    gmsh.option.setNumber("General.Terminal", 0)
    gmsh.option.setNumber("General.NumThreads", 1)
    return gmsh


def _write(gmsh, path, version: float, save_all: bool = False) -> Path:
    gmsh.option.setNumber("Mesh.MshFileVersion", version)
    gmsh.option.setNumber("Mesh.Binary", 0)
    gmsh.option.setNumber("Mesh.SaveAll", int(save_all))
    gmsh.write(str(path))
    return Path(path)


def annulus(
    path,
    *,
    h: float = 0.6,
    inner: float = 0.8,
    outer: float = 2.0,
    version: float = 4.1,
    save_all: bool = False,
) -> Path:
    """The annulus ``inner < r < outer`` (built-in kernel; centre = construction point)."""
    gmsh = _start()
    try:
        geo = gmsh.model.geo
        centre = geo.addPoint(0.0, 0.0, 0.0, h)
        loops, arcs = [], {}
        for radius, name in ((outer, "outer"), (inner, "hole")):
            corners = [
                geo.addPoint(radius * math.cos(a), radius * math.sin(a), 0.0, h)
                for a in (0.0, math.pi / 2, math.pi, 3 * math.pi / 2)
            ]
            arcs[name] = [
                geo.addCircleArc(corners[i], centre, corners[(i + 1) % 4]) for i in range(4)
            ]
            loops.append(geo.addCurveLoop(arcs[name]))
            if name == "outer":
                anchor = corners[0]
        surface = geo.addPlaneSurface(loops)
        geo.synchronize()
        gmsh.model.addPhysicalGroup(2, [surface], name="domain")
        gmsh.model.addPhysicalGroup(1, arcs["outer"], name="outer")
        gmsh.model.addPhysicalGroup(1, arcs["hole"], name="hole")
        gmsh.model.addPhysicalGroup(0, [anchor], name="anchor")
        # the centre is a construction point, no vertex of a triangle: its node is written
        # (for this group) but belongs to no triangle -- an orphan node for the loader
        gmsh.model.addPhysicalGroup(0, [centre], name="centre")
        gmsh.option.setNumber("Mesh.Algorithm", 6)
        gmsh.model.mesh.generate(2)
        return _write(gmsh, path, version, save_all)
    finally:
        gmsh.finalize()


def two_boxes(path, *, h: float = 0.5, version: float = 2.2) -> Path:
    """[0, 2] x [0, 1]^2 cut at x = 1 into two physical volumes (OpenCASCADE)."""
    gmsh = _start()
    try:
        occ = gmsh.model.occ
        left, right = occ.addBox(0, 0, 0, 1, 1, 1), occ.addBox(1, 0, 0, 1, 1, 1)
        occ.fragment([(3, left)], [(3, right)])
        occ.synchronize()
        volumes = sorted(
            (gmsh.model.occ.getCenterOfMass(3, tag)[0], tag) for _, tag in gmsh.model.getEntities(3)
        )
        gmsh.model.addPhysicalGroup(3, [volumes[0][1]], name="left")
        gmsh.model.addPhysicalGroup(3, [volumes[1][1]], name="right")
        walls, interface = [], []
        for _, tag in gmsh.model.getEntities(2):
            up, _ = gmsh.model.getAdjacencies(2, tag)
            (interface if len(up) == 2 else walls).append(tag)
        gmsh.model.addPhysicalGroup(2, walls, name="walls")
        gmsh.model.addPhysicalGroup(2, interface, name="interface")
        gmsh.model.mesh.setSize(gmsh.model.getEntities(0), h)
        gmsh.model.mesh.generate(3)
        return _write(gmsh, path, version)
    finally:
        gmsh.finalize()


def tri_quad(path, *, h: float = 0.5, version: float = 4.1) -> Path:
    """[0, 2] x [0, 1]: triangles on the left half, quadrilaterals on the right half."""
    gmsh = _start()
    try:
        occ = gmsh.model.occ
        left, right = occ.addRectangle(0, 0, 0, 1, 1), occ.addRectangle(1, 0, 0, 1, 1)
        occ.fragment([(2, left)], [(2, right)])
        occ.synchronize()
        surfaces = sorted(
            (gmsh.model.occ.getCenterOfMass(2, tag)[0], tag) for _, tag in gmsh.model.getEntities(2)
        )
        gmsh.model.addPhysicalGroup(2, [tag for _, tag in surfaces], name="plate")
        gmsh.model.mesh.setRecombine(2, surfaces[1][1])
        gmsh.model.mesh.setSize(gmsh.model.getEntities(0), h)
        gmsh.model.mesh.generate(2)
        return _write(gmsh, path, version)
    finally:
        gmsh.finalize()


def main() -> None:
    """Rewrite the committed fixtures."""
    for path in (
        annulus(HERE / "annulus.msh"),
        two_boxes(HERE / "two_boxes.msh"),
        tri_quad(HERE / "tri_quad.msh"),
    ):
        print(f"{path.name}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
