"""Tests of gan_pde.mesh: builders, bundled meshes, file round trips and quality checks."""

from __future__ import annotations

import importlib.util
import math
import re
from pathlib import Path

import meshio
import numpy as np
import pytest
import skfem
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import gan_pde as gp
from gan_pde import mesh as gmesh
from gan_pde.errors import InvalidInputError, MeshError

# --------------------------------------------------------------------------- builders


def test_interval_nodes_cells_and_bounds():
    m = gmesh.interval(-12.0, 12.0, n=2000)
    assert isinstance(m, skfem.MeshLine1)
    assert m.t.shape == (2, 2000)
    assert m.p.shape == (1, 2001)
    assert m.p[0, 0] == -12.0
    assert m.p[0, -1] == 12.0
    np.testing.assert_allclose(np.diff(m.p[0]), 24.0 / 2000, rtol=1e-12)
    assert gmesh.cell_size(m) == pytest.approx(0.012, rel=1e-12)
    assert gmesh.diameter(m) == 24.0


def test_rectangle_from_the_design_document():
    m = gp.mesh.rectangle((-8.0, 11.0), (-8.0, 10.6), n=(200, 200))
    assert isinstance(m, skfem.MeshTri1)
    assert m.t.shape == (3, 2 * 200 * 200)
    assert m.p.shape == (2, 201 * 201)
    np.testing.assert_array_equal(m.p.min(axis=1), [-8.0, -8.0])
    np.testing.assert_array_equal(m.p.max(axis=1), [11.0, 10.6])
    assert gmesh.cell_volumes(m).sum() == pytest.approx(19.0 * 18.6, rel=1e-12)
    assert gmesh.cell_size(m) == pytest.approx(math.hypot(19.0 / 200, 18.6 / 200), rel=1e-12)


def test_rectangle_quad_with_an_integer_count():
    m = gmesh.rectangle((0.0, 2.0), (1.0, 4.0), n=3, cell="quad")
    assert isinstance(m, skfem.MeshQuad1)
    assert m.t.shape == (4, 9)
    assert m.p.shape == (2, 16)
    np.testing.assert_allclose(gmesh.cell_volumes(m), 6.0 / 9, rtol=1e-12)
    assert gmesh.diameter(m) == pytest.approx(math.hypot(2.0, 3.0))


@pytest.mark.parametrize(
    ("cell", "cls", "n_cells"), [("tet", skfem.MeshTet1, 6 * 24), ("hex", skfem.MeshHex1, 24)]
)
def test_box(cell, cls, n_cells):
    m = gmesh.box((0.0, 1.0), (-1.0, 1.0), (2.0, 5.0), n=(2, 3, 4), cell=cell)
    assert isinstance(m, cls)
    assert m.t.shape[1] == n_cells
    assert m.p.shape == (3, 3 * 4 * 5)
    np.testing.assert_array_equal(m.p.min(axis=1), [0.0, -1.0, 2.0])
    np.testing.assert_array_equal(m.p.max(axis=1), [1.0, 1.0, 5.0])
    assert gmesh.cell_volumes(m).sum() == pytest.approx(6.0, rel=1e-12)


def test_meshes_plug_into_skfem_basis():
    m = gmesh.rectangle((0.0, 2.0), (0.0, 3.0), n=4)
    basis = skfem.Basis(m, skfem.ElementTriP2())
    area = skfem.Functional(lambda w: 1.0 + 0.0 * w.x[0]).assemble(basis)
    assert area == pytest.approx(6.0, rel=1e-12)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: gmesh.interval(1.0, 0.0, n=3), "a < b"),
        (lambda: gmesh.interval(0.0, 0.0, n=3), "a < b"),
        (lambda: gmesh.interval(float("nan"), 1.0, n=3), "a must be finite"),
        (lambda: gmesh.interval(0.0, math.inf, n=3), "b must be finite"),
        (lambda: gmesh.interval("0", 1.0, n=3), "a must be a real number"),
        (lambda: gmesh.interval(0.0, 1.0, n=0), r"n must be an integer >= 1.*got 0"),
        (lambda: gmesh.interval(0.0, 1.0, n=2.5), r"n must be an integer >= 1.*got 2.5"),
        (lambda: gmesh.interval(0.0, 1.0, n=True), "n must be an integer"),
        (lambda: gmesh.rectangle((0.0, 0.0), (0.0, 1.0), n=2), r"x must satisfy lo < hi"),
        (lambda: gmesh.rectangle((0.0, 1.0), (2.0, 1.0), n=2), r"y must satisfy lo < hi"),
        (lambda: gmesh.rectangle((0.0, 1.0), (0.0, float("nan")), n=2), r"y\[1\] must be finite"),
        (lambda: gmesh.rectangle((0.0, 1.0, 2.0), (0.0, 1.0), n=2), "x must be a pair"),
        (lambda: gmesh.rectangle((0.0, 1.0), (0.0, 1.0), n=(2, 0)), r"n\[1\] must be an integer"),
        (lambda: gmesh.rectangle((0.0, 1.0), (0.0, 1.0), n=(2,)), "tuple of 2"),
        (lambda: gmesh.rectangle((0.0, 1.0), (0.0, 1.0), n=2, cell="hex"), "cell must be one"),
        (lambda: gmesh.box((0, 1), (0, 1), (0, 1), n=(1, 2, 3.0)), r"n\[2\] must be an integer"),
        (lambda: gmesh.box((0, 1), (0, 1), (1, -1), n=2), "z must satisfy lo < hi"),
        (lambda: gmesh.box((0, 1), (0, 1), (0, 1), n=2, cell="tri"), "cell must be one"),
    ],
)
def test_builders_reject_bad_input(build, match):
    with pytest.raises(InvalidInputError, match=match):
        build()


def test_refine_and_cell_size():
    m = gmesh.rectangle((0.0, 1.0), (0.0, 1.0), n=4)
    fine = gmesh.refine(m, times=2)
    assert isinstance(fine, skfem.MeshTri1)
    assert fine.t.shape[1] == 16 * m.t.shape[1]
    assert gmesh.cell_size(fine) == pytest.approx(gmesh.cell_size(m) / 4, rel=1e-12)
    assert gmesh.refine(m, times=0).t.shape == m.t.shape
    line = gmesh.refine(gmesh.interval(0.0, 1.0, n=3), times=np.int64(1))
    assert line.t.shape[1] == 6
    with pytest.raises(InvalidInputError, match="times must be an integer >= 0"):
        gmesh.refine(m, times=-1)
    with pytest.raises(InvalidInputError, match="first-order scikit-fem mesh"):
        gmesh.refine(skfem.MeshTri2.init_circle(), times=1)


# --------------------------------------------------------------------------- bundled meshes


def test_available_bundled_and_unknown_name():
    assert gmesh.available_bundled() == ["ball", "disk", "lshape"]
    with pytest.raises(InvalidInputError, match="'square'.*available: ball, disk, lshape"):
        gmesh.bundled("square")


def test_disk_area_within_the_polygonal_defect():
    r"""The disk of radius R = 6 is meshed by an inscribed polygon.

    A boundary edge of length :math:`\ell` cuts off a circular segment of area
    :math:`\tfrac{R^2}{2}(\theta - \sin\theta)` with :math:`\theta = 2\arcsin(\ell / 2R)`,
    so the area defect is :math:`D = \sum_i \tfrac{R^2}{2}(\theta_i - \sin\theta_i)`, and
    with :math:`\sum_i \theta_i = 2\pi`, :math:`\theta - \sin\theta \le \theta^3 / 6`:
    :math:`0 < D \le \tfrac{\pi}{6} R^2 \theta_{\max}^2 \approx \tfrac{\pi}{6} h^2`
    (about 0.012 for h = 0.15, i.e. 1e-4 relative).  The segment sum reproduces the
    defect to round-off.
    """
    radius = 6.0
    m = gmesh.bundled("disk")
    assert isinstance(m, skfem.MeshTri1)
    area = skfem.Functional(lambda w: 1.0 + 0.0 * w.x[0]).assemble(
        skfem.Basis(m, skfem.ElementTriP1())
    )
    assert area == pytest.approx(gmesh.cell_volumes(m).sum(), rel=1e-12)
    edges = m.facets[:, m.boundary_facets()]
    np.testing.assert_allclose(np.linalg.norm(m.p[:, np.unique(edges)], axis=0), radius, rtol=1e-9)
    lengths = np.linalg.norm(m.p[:, edges[0]] - m.p[:, edges[1]], axis=0)
    theta = 2.0 * np.arcsin(lengths / (2.0 * radius))
    assert theta.sum() == pytest.approx(2.0 * math.pi, rel=1e-9)
    defect = math.pi * radius**2 - area
    bound = math.pi / 6.0 * radius**2 * theta.max() ** 2
    assert 0.0 < defect <= bound
    segments = 0.5 * radius**2 * (theta - np.sin(theta)).sum()
    assert defect == pytest.approx(segments, rel=1e-6)


def test_lshape_area_is_three():
    m = gmesh.bundled("lshape")
    assert isinstance(m, skfem.MeshTri1)
    assert gmesh.cell_volumes(m).sum() == pytest.approx(3.0, rel=1e-13)
    np.testing.assert_array_equal(m.p.min(axis=1), [-1.0, -1.0])
    np.testing.assert_array_equal(m.p.max(axis=1), [1.0, 1.0])
    centroids = m.p[:, m.t].mean(axis=1)
    assert not np.any((centroids[0] > 0.0) & (centroids[1] < 0.0))
    near_corner = np.linalg.norm(centroids, axis=0) < 0.02
    assert gmesh.cell_size(m) < 0.05
    sizes = np.sqrt(gmesh.cell_volumes(m))
    assert sizes[near_corner].max() < 0.5 * sizes.max()


def test_ball_volume_within_the_polyhedral_defect():
    r"""The ball of radius R = 5 is meshed by an inscribed polyhedron P.

    The tetrahedra are convex hulls of points of the closed ball, so :math:`P \subset B_R`.
    A ray from the centre leaves P through a boundary face, at a distance at least the
    distance :math:`d_{\min}` from the centre to the nearest plane of a boundary face,
    so :math:`B_{d_{\min}} \subset P` and
    :math:`0 < \tfrac43\pi R^3 - |P| \le \tfrac43\pi (R^3 - d_{\min}^3)`.
    """
    radius = 5.0
    m = gmesh.bundled("ball")
    assert isinstance(m, skfem.MeshTet1)
    volume = gmesh.cell_volumes(m).sum()
    faces = m.facets[:, m.boundary_facets()]
    np.testing.assert_allclose(np.linalg.norm(m.p[:, np.unique(faces)], axis=0), radius, rtol=1e-9)
    a, b, c = (m.p[:, row] for row in faces)
    normals = np.cross(b - a, c - a, axis=0)
    d_min = (np.abs(np.einsum("dn,dn->n", normals, a)) / np.linalg.norm(normals, axis=0)).min()
    exact = 4.0 / 3.0 * math.pi * radius**3
    assert 0.0 < exact - volume <= 4.0 / 3.0 * math.pi * (radius**3 - d_min**3)
    assert (exact - volume) / exact < 0.01


# --------------------------------------------------------------------------- round trips


def _meshes() -> dict[str, skfem.Mesh]:
    return {
        "line": gmesh.interval(-1.3, 2.7, n=7),
        "tri": gmesh.rectangle((-0.1, 1.0 / 3.0), (2.0, 3.5), n=(3, 2)),
        "quad": gmesh.rectangle((0.0, 1.0), (0.0, 2.0), n=(2, 3), cell="quad"),
        "tet": gmesh.box((0.0, 1.0), (0.0, 0.7), (-1.0, 1.0 / 7.0), n=(2, 2, 3)),
        "hex": gmesh.box((0.0, 1.0), (0.0, 0.7), (-1.0, 1.0 / 7.0), n=(2, 2, 3), cell="hex"),
    }


@pytest.mark.parametrize("suffix", [".vtu", ".xdmf", ".msh"])
@pytest.mark.parametrize("kind", ["line", "tri", "quad", "tet", "hex"])
def test_save_load_round_trip(tmp_path, kind, suffix):
    m = _meshes()[kind]
    path = tmp_path / f"{kind}{suffix}"
    gmesh.save(path, m)
    back = gmesh.load(path)
    assert type(back) is type(m)
    np.testing.assert_array_equal(back.p, m.p)
    np.testing.assert_array_equal(back.t, m.t)


def test_save_writes_point_and_cell_data(tmp_path):
    m = _meshes()["tri"]
    path = tmp_path / "data.vtu"
    gmesh.save(path, m, point_data={"u": m.p[0] ** 2}, cell_data={"h": np.arange(m.t.shape[1])})
    raw = meshio.read(path)
    np.testing.assert_array_equal(raw.point_data["u"], m.p[0] ** 2)
    np.testing.assert_array_equal(raw.cell_data["h"][0], np.arange(m.t.shape[1]))


@pytest.mark.parametrize(
    ("kwargs", "name", "match"),
    [
        ({}, "m.foo", "unknown mesh file extension '.foo'"),
        ({"point_data": {"u": np.zeros(3)}}, "m.vtu", r"point_data\['u'\].*first axis 12"),
        ({"cell_data": {"c": np.zeros(5)}}, "m.vtu", r"cell_data\['c'\].*first axis 12"),
        ({"cell_data": [1, 2]}, "m.vtu", "cell_data must be a mapping"),
    ],
)
def test_save_rejects_bad_arguments(tmp_path, kwargs, name, match):
    with pytest.raises(InvalidInputError, match=match):
        gmesh.save(tmp_path / name, _meshes()["tri"], **kwargs)


def test_save_rejects_unsupported_mesh(tmp_path):
    with pytest.raises(InvalidInputError, match="first-order scikit-fem mesh"):
        gmesh.save(tmp_path / "m.vtu", skfem.MeshTri2.init_circle())


# --------------------------------------------------------------------------- load


def _write(path, points, cells):
    meshio.write(path, meshio.Mesh(np.asarray(points, dtype=float), cells))
    return path


def test_load_keeps_top_cells_and_drops_unused_nodes(tmp_path):
    points = [[5.0, 5.0, 0.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 1.0, 0.0]]
    cells = [
        ("line", np.array([[1, 2], [2, 4]])),
        ("triangle", np.array([[1, 2, 4]])),
        ("vertex", np.array([[0], [3]])),
        ("triangle", np.array([[2, 3, 4]])),
    ]
    m = gmesh.load(_write(tmp_path / "square.vtu", points, cells))
    assert isinstance(m, skfem.MeshTri1)
    np.testing.assert_array_equal(m.p, [[0.0, 1.0, 1.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
    assert m.t.shape == (3, 2)
    assert gmesh.cell_volumes(m).sum() == pytest.approx(1.0)


def test_load_line_cells_on_the_x_axis(tmp_path):
    points = [[0.0, 0.0, 0.0], [0.5, 0.0, 0.0], [2.0, 0.0, 0.0]]
    m = gmesh.load(_write(tmp_path / "line.vtu", points, [("line", np.array([[0, 1], [1, 2]]))]))
    assert isinstance(m, skfem.MeshLine1)
    np.testing.assert_array_equal(m.p, [[0.0, 0.5, 2.0]])
    points[1][1] = 0.1
    with pytest.raises(MeshError, match=r"line\.vtu.*x-axis"):
        gmesh.load(_write(tmp_path / "line.vtu", points, [("line", np.array([[0, 1], [1, 2]]))]))


@pytest.mark.parametrize(
    ("points", "cells", "match"),
    [
        (
            [[0, 0, 1], [1, 0, 1], [0, 1, 1]],
            [("triangle", np.array([[0, 1, 2]]))],
            "the plane z = 0",
        ),
        (
            [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0.5, 0, 0], [0.5, 0.5, 0], [0, 0.5, 0]],
            [("triangle6", np.array([[0, 1, 2, 3, 4, 5]]))],
            "second-order cells.*export first-order cells",
        ),
        (
            [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [2, 0, 0]],
            [("quad", np.array([[0, 1, 2, 3]])), ("triangle", np.array([[1, 4, 2]]))],
            "mixed cell types",
        ),
        (
            [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1]],
            [("wedge", np.array([[0, 1, 2, 3, 4, 5]]))],
            "unsupported cell type 'wedge'",
        ),
        (
            [[0, 0, 0], [1, 0, 0], [0, 1, 0]],
            [("vertex", np.array([[0], [1], [2]]))],
            "no cells",
        ),
    ],
)
def test_load_rejects_unsupported_content(tmp_path, points, cells, match):
    path = _write(tmp_path / "bad.vtu", points, cells)
    with pytest.raises(MeshError, match=match) as info:
        gmesh.load(path)
    assert str(path) in str(info.value)


def test_load_missing_file(tmp_path):
    path = tmp_path / "missing.msh"
    with pytest.raises(MeshError, match="no such file") as info:
        gmesh.load(path)
    assert str(path) in str(info.value)


def test_load_garbage_file(tmp_path):
    path = tmp_path / "x.msh"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(MeshError, match="cannot read mesh file") as info:
        gmesh.load(path)
    assert str(path) in str(info.value)


def test_load_unknown_extension(tmp_path):
    path = tmp_path / "mesh.foo"
    path.write_text("not a mesh")
    with pytest.raises(MeshError, match="cannot read mesh file") as info:
        gmesh.load(path)
    assert str(path) in str(info.value)


def test_load_file_with_only_points(tmp_path):
    path = tmp_path / "points.msh"
    path.write_text(
        "$MeshFormat\n2.2 0 8\n$EndMeshFormat\n$Nodes\n3\n1 0 0 0\n2 1 0 0\n3 0 1 0\n$EndNodes\n"
    )
    with pytest.raises(MeshError, match="no cells") as info:
        gmesh.load(path)
    assert str(path) in str(info.value)


# --------------------------------------------------------------------------- quality


def _two_triangles(top_right: list[float]) -> skfem.MeshTri1:
    p = np.array([[0.0, 1.0, 0.0, top_right[0]], [0.0, 0.0, 1.0, top_right[1]]])
    return skfem.MeshTri1(p, np.array([[0, 1], [1, 3], [2, 2]]), sort_t=False)


def test_degenerate_triangle_is_rejected():
    with pytest.raises(MeshError, match=r"1 zero-volume.*first: cell 1"):
        gmesh.check_quality(_two_triangles([-1.0, 2.0]))


def test_folded_triangle_is_rejected():
    gmesh.check_quality(_two_triangles([1.0, 1.0]))
    with pytest.raises(MeshError, match=r"1 inverted \(folded\).*nodes \[1, 2\].*cells 0 and 1"):
        gmesh.check_quality(_two_triangles([0.2, 0.3]))


def test_duplicated_cell_is_rejected():
    p = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    with pytest.raises(MeshError, match="inverted"):
        gmesh.check_quality(skfem.MeshTri1(p, np.array([[0, 1], [1, 2], [2, 0]])))


def test_folded_node_in_a_structured_mesh_is_rejected():
    m = gmesh.rectangle((0.0, 1.0), (0.0, 1.0), n=4)
    p = m.p.copy()
    centre = np.flatnonzero(np.all(np.isclose(p, 0.5), axis=0))[0]
    p[:, centre] = [0.5, 0.81]
    with pytest.raises(MeshError, match="inverted"):
        gmesh.check_quality(skfem.MeshTri1(p, m.t))


def test_folded_tetrahedron_is_rejected():
    m = gmesh.box((0.0, 1.0), (0.0, 1.0), (0.0, 1.0), n=2)
    p = m.p.copy()
    centre = np.flatnonzero(np.all(np.isclose(p, 0.5), axis=0))[0]
    p[:, centre] = [0.5, 0.5, 1.3]
    with pytest.raises(MeshError, match="inverted"):
        gmesh.check_quality(skfem.MeshTet1(p, m.t))


def test_folded_interval_is_rejected():
    m = skfem.MeshLine1(np.array([[0.0, 1.0, 0.5]]), np.array([[0, 1], [1, 2]]))
    with pytest.raises(MeshError, match="inverted"):
        gmesh.check_quality(m)


@pytest.mark.parametrize(
    "corners",
    [
        [(0.0, 0.0), (2.0, 0.0), (0.0, 1.0), (1.0, 1.0)],
        [(0.0, 0.0), (2.0, 0.0), (0.5, 0.5), (0.0, 2.0)],
    ],
    ids=["bow-tie", "non-convex"],
)
def test_twisted_quad_is_rejected(corners):
    p = np.array(corners).T
    with pytest.raises(MeshError, match=r"1 inverted \(twisted or non-convex\).*cell 0"):
        gmesh.check_quality(skfem.MeshQuad1(p, np.array([[0], [1], [2], [3]])))


def test_facet_shared_by_three_cells_is_rejected():
    p = np.array([[0.0, 1.0, 0.5, 0.5, 0.6], [0.0, 0.0, 1.0, -1.0, 2.0]])
    t = np.array([[0, 0, 0], [1, 1, 1], [2, 3, 4]])
    with pytest.raises(MeshError, match="more than two cells"):
        gmesh.check_quality(skfem.MeshTri1(p, t))


def test_non_finite_coordinates_are_rejected():
    m = gmesh.rectangle((0.0, 1.0), (0.0, 1.0), n=2)
    p = m.p.copy()
    p[1, 4] = np.nan
    with pytest.raises(MeshError, match=r"NaN or infinite.*node 4"):
        gmesh.check_quality(skfem.MeshTri1(p, m.t))


@pytest.mark.parametrize(
    ("kind", "reverse"),
    [
        ("line", [1, 0]),
        ("tri", [0, 2, 1]),
        ("quad", [0, 3, 2, 1]),
        ("tet", [0, 2, 1, 3]),
        ("hex", [0, 1, 3, 2, 5, 4, 6, 7]),
    ],
)
def test_clockwise_meshes_pass(kind, reverse):
    m = _meshes()[kind]

    def signs(t: np.ndarray) -> np.ndarray:
        mapping = type(m)(m.p, t, sort_t=False)._mapping()
        return np.sign(mapping.detDF(np.full((m.dim(), 1), 0.25))[:, 0])

    counter_clockwise = np.where(signs(m.t) > 0, m.t, m.t[reverse])
    clockwise = counter_clockwise[reverse]
    assert np.all(signs(counter_clockwise) == 1)
    assert np.all(signs(clockwise) == -1)
    flipped = type(m)(m.p, clockwise, sort_t=False)
    gmesh.check_quality(flipped)
    np.testing.assert_allclose(gmesh.cell_volumes(flipped), gmesh.cell_volumes(m))


@settings(max_examples=25, deadline=None)
@given(
    matrix=st.lists(st.floats(-3.0, 3.0), min_size=4, max_size=4),
    shift=st.lists(st.floats(-100.0, 100.0), min_size=2, max_size=2),
)
def test_affine_images_pass_and_scale_the_area(matrix, shift):
    a = np.array(matrix).reshape(2, 2)
    det = np.linalg.det(a)
    assume(abs(det) > 1e-2 * max(1.0, np.abs(a).max() ** 2))
    m = gmesh.rectangle((0.0, 1.0), (0.0, 2.0), n=(3, 4))
    image = skfem.MeshTri1(a @ m.p + np.array(shift)[:, None], m.t)
    gmesh.check_quality(image)
    assert gmesh.cell_volumes(image).sum() == pytest.approx(2.0 * abs(det), rel=1e-8)


def test_mixed_orientation_passes():
    m = gmesh.rectangle((0.0, 1.0), (0.0, 1.0), n=3)
    assert set(np.unique(m.orientation())) == {-1, 1}
    gmesh.check_quality(m)


def test_check_quality_rejects_unsupported_mesh():
    with pytest.raises(InvalidInputError, match="first-order scikit-fem mesh"):
        gmesh.check_quality(skfem.MeshTri2.init_circle())


# --------------------------------------------------------------------------- user meshes

DATA = Path(__file__).resolve().parent / "data"


def _user_meshes():
    """tests/data/user_meshes.py (gmsh builders of the committed fixtures)."""
    spec = importlib.util.spec_from_file_location("user_meshes", DATA / "user_meshes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _needs_gmsh():
    try:
        import gmsh  # noqa: F401
    except ImportError as err:  # gmsh is in the mesh/dev extras, not in test (CI)
        pytest.skip(f"the gmsh Python module is not importable ({err}); pip install gmsh")
    return _user_meshes()


def _annulus_neumann_xi1(inner: float = 0.8, outer: float = 2.0) -> float:
    """First non-zero Neumann eigenvalue of the annulus: k^2, angular number 1, where
    J1'(k a) Y1'(k b) = J1'(k b) Y1'(k a)."""
    from scipy.optimize import brentq
    from scipy.special import jvp, yvp

    def f(k):
        return jvp(1, inner * k) * yvp(1, outer * k) - jvp(1, outer * k) * yvp(1, inner * k)

    ks = np.linspace(0.05, 3.0, 300)
    values = f(ks)
    i = int(np.flatnonzero(np.sign(values[1:]) != np.sign(values[:-1]))[0])
    return brentq(f, ks[i], ks[i + 1]) ** 2


def _boundary_length(m, facets):
    basis = skfem.FacetBasis(m, skfem.ElementTriP1(), facets=facets)
    return skfem.Functional(lambda w: 1.0 + 0.0 * w.x[0]).assemble(basis)


def test_annulus_fixture_keeps_its_physical_groups():
    """A committed gmsh 4.1 file with a hole, a physical surface, two named physical curves
    and a physical point (vertex element): the groups are kept by name."""
    m = gmesh.load(DATA / "annulus.msh")
    assert isinstance(m, skfem.MeshTri1)
    assert set(m.subdomains) == {"domain"}
    np.testing.assert_array_equal(m.subdomains["domain"], np.arange(m.t.shape[1]))
    assert set(m.boundaries) == {"outer", "hole"}  # the physical point is not a facet group
    both = np.concatenate([m.boundaries["outer"], m.boundaries["hole"]])
    np.testing.assert_array_equal(np.sort(both), np.sort(m.boundary_facets()))
    radii = np.linalg.norm(m.p[:, m.facets[:, m.boundaries["hole"]]], axis=0)
    np.testing.assert_allclose(radii, 0.8, rtol=1e-12)
    radii = np.linalg.norm(m.p[:, m.facets[:, m.boundaries["outer"]]], axis=0)
    np.testing.assert_allclose(radii, 2.0, rtol=1e-12)
    # inscribed polygons: the perimeters are slightly below 2 pi r
    assert _boundary_length(m, m.boundaries["hole"]) == pytest.approx(2 * np.pi * 0.8, rel=0.03)
    assert _boundary_length(m, m.boundaries["outer"]) == pytest.approx(4 * np.pi, rel=0.02)
    # the node of the physical point "centre" is in no triangle: dropped as an orphan
    assert m.p.shape[1] == len(meshio.read(DATA / "annulus.msh").points) - 1
    assert np.unique(m.t).size == m.p.shape[1]


def test_spectrum_and_flow_run_on_the_annulus_fixture():
    m = gmesh.load(DATA / "annulus.msh")
    uniform = gp.Uniform(lower=[-3.0, -3.0], upper=[3.0, 3.0])
    spectrum = gp.weighted_laplacian_spectrum(uniform, m, k=4, element="P2")
    exact = _annulus_neumann_xi1()  # 0.53420...
    assert abs(spectrum.eigenvalues[0]) < 1e-10
    # h = 0.6 (triangles inscribed in the circles): 2.3 % above; rotation: a double pair
    assert spectrum.eigenvalues[1] == pytest.approx(exact, rel=0.03)
    assert spectrum.eigenvalues[2] == pytest.approx(spectrum.eigenvalues[1], rel=1e-6)
    gaussian = gp.weighted_laplacian_spectrum(gp.Gaussian(mean=[0, 0], cov=np.eye(2)), m, k=4)
    assert np.all(np.isfinite(gaussian.eigenvalues)) and gaussian.eigenvalues[1] > 0.1
    flow = gp.JSDFlow(
        gp.Gaussian(mean=[0.5, 0.0], cov=np.eye(2)), gp.Gaussian(mean=[-0.5, 0.0], cov=np.eye(2)), m
    )
    trajectory = flow.solve(0.2, 0.05)
    np.testing.assert_allclose(trajectory.mass, 1.0, atol=1e-12)
    assert np.all(np.diff(trajectory.jsd) < 0)


def test_two_boxes_fixture_keeps_volumes_and_an_interior_interface():
    """A committed gmsh 2.2 tetrahedral mesh with two physical volumes, the physical
    surface of its walls and an interior physical surface between the volumes."""
    m = gmesh.load(DATA / "two_boxes.msh")
    assert isinstance(m, skfem.MeshTet1)
    assert set(m.subdomains) == {"left", "right"}
    volumes = gmesh.cell_volumes(m)
    assert volumes[m.subdomains["left"]].sum() == pytest.approx(1.0, rel=1e-12)
    assert volumes[m.subdomains["right"]].sum() == pytest.approx(1.0, rel=1e-12)
    assert np.intersect1d(m.subdomains["left"], m.subdomains["right"]).size == 0
    centroids = m.p[:, m.t].mean(axis=1)
    assert np.all(centroids[0, m.subdomains["left"]] < 1.0)
    np.testing.assert_array_equal(np.sort(m.boundaries["walls"]), np.sort(m.boundary_facets()))
    interface = m.facets[:, m.boundaries["interface"]]
    np.testing.assert_allclose(m.p[0, interface], 1.0, atol=1e-12)
    assert np.all(m.f2t[1, m.boundaries["interface"]] >= 0)  # interior facets
    # the Neumann spectrum of [0, 2] x [0, 1]^2: (pi/2)^2, then pi^2 three times
    spectrum = gp.weighted_laplacian_spectrum(
        gp.Uniform(lower=[-1.0] * 3, upper=[3.0] * 3), m, k=5, element="P2"
    )
    np.testing.assert_allclose(spectrum.eigenvalues[1], np.pi**2 / 4, rtol=0.01)
    np.testing.assert_allclose(spectrum.eigenvalues[2:], np.pi**2, rtol=0.01)
    flow = gp.JSDFlow(
        gp.Gaussian(mean=[1.0, 0.5, 0.5], cov=0.3 * np.eye(3)),
        gp.Gaussian(mean=[0.8, 0.5, 0.5], cov=0.3 * np.eye(3)),
        m,
    )
    np.testing.assert_allclose(flow.solve(0.1, 0.05).mass, 1.0, atol=1e-12)


def test_mixed_triangles_and_quads_are_refused_with_advice():
    path = DATA / "tri_quad.msh"
    with pytest.raises(MeshError) as info:
        gmesh.load(path)
    message = str(info.value)
    assert str(path) in message
    assert re.search(r"mixed cell types of dimension 2: \d+ quad, \d+ triangle", message)
    assert "Mesh.RecombineAll = 0" in message
    assert "triangles only" in message


def test_surface_of_a_3d_mesh_without_volume_group_names_the_fix(tmp_path):
    """gmsh writes only physical groups: a 3-D mesh with only a physical surface holds
    triangles in space; the error says what is missing."""
    points = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]]
    cells = [("triangle", np.array([[0, 1, 2], [0, 1, 3], [0, 2, 3], [1, 2, 3]]))]
    path = _write(tmp_path / "surface.vtu", points, cells)
    with pytest.raises(MeshError, match=r"plane z = 0.*Physical Volume.*Mesh.SaveAll = 1"):
        gmesh.load(path)


def test_boundary_group_off_the_mesh_is_refused(tmp_path):
    points = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [5, 5, 0]]
    path = tmp_path / "off.msh"
    raw = meshio.Mesh(
        np.asarray(points, dtype=float),
        [("line", np.array([[0, 3]])), ("triangle", np.array([[0, 1, 2]]))],
        cell_data={
            "gmsh:physical": [np.array([7]), np.array([1])],
            "gmsh:geometrical": [np.array([1]), np.array([1])],
        },
        field_data={"wire": np.array([7, 1]), "plate": np.array([1, 2])},
    )
    meshio.write(path, raw, file_format="gmsh22", binary=False)
    with pytest.raises(
        MeshError,
        match=r"physical group 'wire': 1 of its 1 line elements are "
        r"not facets of the triangle mesh",
    ):
        gmesh.load(path)


def test_saved_and_reloaded_meshes_are_unchanged_by_groups(tmp_path):
    """gan_pde's own .msh files carry one unnamed physical group, '1', of every cell."""
    m = _meshes()["tri"]
    gmesh.save(tmp_path / "m.msh", m)
    back = gmesh.load(tmp_path / "m.msh")
    np.testing.assert_array_equal(back.t, m.t)
    assert set(back.subdomains) == {"1"}
    assert back.subdomains["1"].size == m.t.shape[1]
    assert back.boundaries is None


@pytest.mark.parametrize("version", [2.2, 4.1])
def test_gmsh_annulus_both_formats_orphans_and_refinement(tmp_path, version):
    """Fresh gmsh files of both formats (the physical point "centre" writes a node of no
    triangle: an orphan): same groups, spectrum converging to the exact Neumann
    eigenvalue of the annulus."""
    builders = _needs_gmsh()
    exact = _annulus_neumann_xi1()
    uniform = gp.Uniform(lower=[-3.0, -3.0], upper=[3.0, 3.0])
    errors = []
    for h in (0.3, 0.15):
        path = builders.annulus(tmp_path / f"a{h}.msh", h=h, version=version)
        raw = meshio.read(path)
        m = gmesh.load(path)
        assert set(m.subdomains) == {"domain"} and set(m.boundaries) == {"outer", "hole"}
        assert m.p.shape[1] == len(raw.points) - 1  # the orphan centre is dropped
        assert np.unique(m.t).size == m.p.shape[1]
        assert np.linalg.norm(m.p, axis=0).min() == pytest.approx(0.8, rel=1e-12)
        xi = gp.weighted_laplacian_spectrum(uniform, m, k=3, element="P2").eigenvalues[1]
        errors.append(abs(xi / exact - 1))
    assert errors[1] < errors[0] / 2.5  # O(h^2): the polygonal boundary
    assert errors[1] < 0.005


def test_gmsh_save_all_files(tmp_path):
    """Mesh.SaveAll = 1 writes every geometry point as a vertex element: in format 2.2
    the mesh loads (orphans dropped; gmsh gives every element physical tag 0, so there are
    no groups); in format 4.1 meshio cannot read the file, and the error says what to do."""
    builders = _needs_gmsh()
    m = gmesh.load(builders.annulus(tmp_path / "a22.msh", version=2.2, save_all=True))
    assert isinstance(m, skfem.MeshTri1) and np.unique(m.t).size == m.p.shape[1]
    path = builders.annulus(tmp_path / "a41.msh", version=4.1, save_all=True)
    try:
        gmesh.load(path)
    except MeshError as err:  # meshio 5.3
        assert "Mesh.SaveAll = 1" in str(err) and "2.2" in str(err)


def test_gmsh_cell_in_two_physical_groups(tmp_path):
    """A surface in two physical groups and an unnamed curve group (tag 7): gmsh 2.2 writes
    every triangle twice, gmsh 4.1 once; both load to the same mesh and groups."""
    gmsh = _needs_gmsh() and __import__("gmsh")
    loaded = []
    for version in (2.2, 4.1):
        gmsh.initialize()
        try:
            gmsh.option.setNumber("General.Terminal", 0)
            square = gmsh.model.occ.addRectangle(0, 0, 0, 1, 1)
            gmsh.model.occ.synchronize()
            gmsh.model.addPhysicalGroup(2, [square], name="a")
            gmsh.model.addPhysicalGroup(2, [square], name="b")
            gmsh.model.addPhysicalGroup(1, [1, 2], tag=7)
            gmsh.model.mesh.setSize(gmsh.model.getEntities(0), 0.25)
            gmsh.model.mesh.generate(2)
            gmsh.option.setNumber("Mesh.MshFileVersion", version)
            gmsh.write(str(tmp_path / f"two{version}.msh"))
        finally:
            gmsh.finalize()
        loaded.append(gmesh.load(tmp_path / f"two{version}.msh"))
    for m in loaded:
        assert set(m.subdomains) == {"a", "b"} and set(m.boundaries) == {"7"}
        np.testing.assert_array_equal(m.subdomains["a"], np.arange(m.t.shape[1]))
        np.testing.assert_array_equal(m.subdomains["b"], np.arange(m.t.shape[1]))
        assert gmesh.cell_volumes(m).sum() == pytest.approx(1.0, rel=1e-12)
        assert _boundary_length(m, m.boundaries["7"]) == pytest.approx(2.0, rel=1e-12)
    np.testing.assert_array_equal(loaded[0].t, loaded[1].t)


def test_gmsh_mixed_and_3d_meshes_from_the_builders(tmp_path):
    builders = _needs_gmsh()
    with pytest.raises(MeshError, match=r"mixed cell types of dimension 2"):
        gmesh.load(builders.tri_quad(tmp_path / "tq.msh", version=2.2))
    m = gmesh.load(builders.two_boxes(tmp_path / "boxes.msh", h=0.4, version=4.1))
    assert set(m.subdomains) == {"left", "right"}
    assert set(m.boundaries) == {"walls", "interface"}
    assert gmesh.cell_volumes(m)[m.subdomains["right"]].sum() == pytest.approx(1.0, rel=1e-12)


def test_interval_with_named_end_points(tmp_path):
    """A 1-D gmsh 2.2 file: physical points are the facets of a line mesh, and an orphan
    node (index 0) is dropped."""
    points = np.array([[9.0, 0, 0], [0.0, 0, 0], [0.5, 0, 0], [2.0, 0, 0]])
    raw = meshio.Mesh(
        points,
        [("vertex", np.array([[1], [3]])), ("line", np.array([[1, 2], [2, 3]]))],
        cell_data={
            "gmsh:physical": [np.array([1, 2]), np.array([3, 3])],
            "gmsh:geometrical": [np.array([1, 2]), np.array([1, 1])],
        },
        field_data={"left": np.array([1, 0]), "right": np.array([2, 0]), "rod": np.array([3, 1])},
    )
    meshio.write(tmp_path / "rod.msh", raw, file_format="gmsh22", binary=False)
    m = gmesh.load(tmp_path / "rod.msh")
    np.testing.assert_array_equal(m.p, [[0.0, 0.5, 2.0]])
    assert set(m.subdomains) == {"rod"} and set(m.boundaries) == {"left", "right"}
    assert m.p[0, m.facets[0, m.boundaries["left"]]].tolist() == [0.0]
    assert m.p[0, m.facets[0, m.boundaries["right"]]].tolist() == [2.0]
