"""Results open where users look: ParaView reads the XDMF files; files have normal modes.

The ParaView tests run ``pvpython`` (Debian: ``apt-get install python3-paraview``; or set
``GAN_PDE_PVPYTHON`` to a pvpython executable) on XDMF time series written by
:func:`gan_pde.io.write_xdmf` on 1D, 2D and 3D meshes, open each with every XDMF reader of
ParaView and compare what ParaView reads (points, cells, cell types, time steps, point
data, the length/area/volume of the cells) with what was written.  Without pvpython they
are skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import textwrap
from pathlib import Path

import numpy as np
import pytest

import gan_pde as gp
from gan_pde import io as gio
from gan_pde.checkpoint import save_checkpoint
from gan_pde.flows import JSDFlow
from gan_pde.sweep import SweepResult

PVPYTHON = os.environ.get("GAN_PDE_PVPYTHON") or shutil.which("pvpython")
needs_paraview = pytest.mark.skipif(
    PVPYTHON is None,
    reason="pvpython not found: install ParaView's Python (Debian/Ubuntu: "
    "apt-get install python3-paraview) or set GAN_PDE_PVPYTHON",
)

#: VTK cell type numbers ParaView may give each mesh (a two-node Polyline is a VTK_POLY_LINE
#: (4); a reader may also make it a VTK_LINE (3)).
VTK_TYPES = {
    "MeshLine1": {3, 4},
    "MeshTri1": {5},
    "MeshQuad1": {9},
    "MeshTet1": {10},
    "MeshHex1": {12},
}
READERS = ("XDMFReader", "Xdmf3ReaderS", "Xdmf3ReaderT", "OpenDataFile")

#: Run by pvpython: open each file with each reader, update every time step, and write one
#: JSON line per (file, reader) to the output file (a "start" line first, so a reader that
#: crashes ParaView is named).
PARAVIEW_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from paraview import simple, servermanager
    from vtkmodules.vtkFiltersVerdict import vtkCellSizeFilter

    out_path, readers, files = sys.argv[1], sys.argv[2].split(","), sys.argv[3:]

    def leaves(data):
        if data is not None and data.IsA("vtkCompositeDataSet"):
            it = data.NewIterator()
            it.InitTraversal()
            while not it.IsDoneWithTraversal():
                yield it.GetCurrentDataObject()
                it.GoToNextItem()
        elif data is not None:
            yield data

    def array(values):
        return [values.GetTuple1(i) for i in range(values.GetNumberOfTuples())]

    def describe(grid):
        sizes = vtkCellSizeFilter()
        sizes.SetInputData(grid)
        sizes.Update()
        cell_data = sizes.GetOutput().GetCellData()
        measure = {name: sum(array(cell_data.GetArray(name)))
                   for name in ("Length", "Area", "Volume") if cell_data.GetArray(name)}
        point_data = grid.GetPointData()
        return {
            "n_points": grid.GetNumberOfPoints(),
            "n_cells": grid.GetNumberOfCells(),
            "cell_types": sorted({grid.GetCellType(i) for i in range(grid.GetNumberOfCells())}),
            "cell_sizes": sorted({grid.GetCell(i).GetNumberOfPoints()
                                  for i in range(grid.GetNumberOfCells())}),
            "points": [list(grid.GetPoint(i)) for i in range(grid.GetNumberOfPoints())],
            "measure": measure,
            "ranges": {point_data.GetArrayName(i): list(point_data.GetArray(i).GetRange())
                       for i in range(point_data.GetNumberOfArrays())},
            "values": {point_data.GetArrayName(i): array(point_data.GetArray(i))
                       for i in range(point_data.GetNumberOfArrays())},
        }

    with open(out_path, "w") as out:
        for path in files:
            for name in readers:
                out.write(json.dumps({"start": [path, name]}) + "\\n")
                out.flush()
                try:
                    if name == "OpenDataFile":
                        reader = simple.OpenDataFile(path)
                    elif name == "XDMFReader":
                        reader = simple.XDMFReader(FileNames=[path])
                    else:
                        reader = getattr(simple, name)(FileName=[path])
                    times = reader.TimestepValues
                    times = [] if times is None else (
                        list(times) if hasattr(times, "__len__") else [times])
                    steps = []
                    for time in times or [None]:
                        if time is None:
                            reader.UpdatePipeline()
                        else:
                            reader.UpdatePipeline(time)
                        grids = list(leaves(servermanager.Fetch(reader)))
                        step = describe(grids[0]) if grids else {}
                        step["blocks"] = len(grids)
                        steps.append(step)
                    result = {"reader": reader.GetXMLName(), "times": times, "steps": steps}
                    simple.Delete(reader)
                except Exception as error:
                    result = {"error": type(error).__name__ + ": " + str(error)}
                out.write(json.dumps({"path": path, "name": name, "result": result}) + "\\n")
                out.flush()
    """
)


def run_paraview(files: list[Path], tmp: Path) -> dict[tuple[str, str], dict]:
    """What ParaView reads from ``files``: (path, reader name) -> result."""
    script = tmp / "read_with_paraview.py"
    script.write_text(PARAVIEW_SCRIPT)
    out = tmp / "paraview.jsonl"
    process = subprocess.run(
        [PVPYTHON, str(script), str(out), ",".join(READERS), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    lines = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    results = {(line["path"], line["name"]): line["result"] for line in lines if "path" in line}
    if process.returncode != 0:
        started = [line["start"] for line in lines if "start" in line]
        where = f"while reading {started[-1]}" if started else "before reading any file"
        pytest.fail(
            f"pvpython exited with status {process.returncode} {where}:\n" + process.stderr[-3000:]
        )
    return results


def _solve(mesh, element="P1"):
    d = mesh.dim()
    target = gp.Gaussian(mean=[0.5] + [0.0] * (d - 1), cov=np.eye(d).tolist())
    start = gp.Gaussian(mean=[-0.5] + [0.0] * (d - 1), cov=(1.5 * np.eye(d)).tolist())
    return JSDFlow(target, start, mesh, element=element).solve(0.6, 0.2)


#: name -> (mesh, element, measure of the domain)
CASES = {
    "1d": (lambda: gp.mesh.interval(-5.0, 5.0, 16), "P1", 10.0),
    "1d-P2": (lambda: gp.mesh.interval(-5.0, 5.0, 7), "P2", 10.0),
    "2d-tri": (lambda: gp.mesh.rectangle((-4.0, 4.0), (-3.0, 3.0), n=(5, 4)), "P1", 48.0),
    "2d-quad": (
        lambda: gp.mesh.rectangle((-4.0, 4.0), (-3.0, 3.0), n=(5, 4), cell="quad"),
        "P1",
        48.0,
    ),
    "3d-tet": (lambda: gp.mesh.box((-3.0, 3.0), (-3.0, 3.0), (-2.0, 2.0), n=2), "P1", 144.0),
    "3d-hex": (
        lambda: gp.mesh.box((-3.0, 3.0), (-3.0, 3.0), (-2.0, 2.0), n=(2, 3, 2), cell="hex"),
        "P1",
        144.0,
    ),
}


@pytest.fixture(scope="module")
def paraview_reads(tmp_path_factory):
    """Write every case with write_xdmf (and two meshes with gp.mesh.save), read them all
    in one pvpython run."""
    tmp = tmp_path_factory.mktemp("paraview")
    written = {}
    for name, (make_mesh, element, measure) in CASES.items():
        trajectory = _solve(make_mesh(), element)
        path = gio.write_xdmf(tmp / name / "run.xdmf", trajectory)
        written[name] = (path, trajectory, measure)
    static = {}
    for name in ("1d", "3d-hex"):
        mesh = CASES[name][0]()
        path = tmp / f"mesh-{name}.xdmf"
        gp.mesh.save(path, mesh, point_data={"x": mesh.p[0]})
        static[name] = (path, mesh, CASES[name][2])
    files = [w[0] for w in written.values()] + [s[0] for s in static.values()]
    return written, static, run_paraview(files, tmp)


def _check_grid(step, mesh, measure, where):
    """The grid ParaView read is the mesh that was written."""
    assert step.get("blocks") == 1, f"{where}: ParaView read {step.get('blocks')} blocks"
    assert step["n_points"] == mesh.p.shape[1], where
    assert step["n_cells"] == mesh.t.shape[1], where
    assert set(step["cell_types"]) <= VTK_TYPES[type(mesh).__name__], where
    assert step["cell_sizes"] == [mesh.t.shape[0]], where
    points = np.zeros((mesh.p.shape[1], 3))
    points[:, : mesh.dim()] = mesh.p.T
    np.testing.assert_allclose(np.array(step["points"]), points, rtol=0, atol=1e-12)
    # cells that are ordered wrongly (a twisted hexahedron) do not tile the domain
    key = ("Length", "Area", "Volume")[mesh.dim() - 1]
    assert step["measure"].get(key) == pytest.approx(measure, rel=1e-10), where


@needs_paraview
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("reader", READERS)
def test_paraview_reads_xdmf_time_series(paraview_reads, case, reader):
    written, _, reads = paraview_reads
    path, trajectory, measure = written[case]
    result = reads[(str(path), reader)]
    assert "error" not in result, f"{reader} on {case}: {result.get('error')}"
    if reader == "OpenDataFile":  # ParaView's own choice of reader must work too
        assert result["reader"] in {"XdmfReader", "Xdmf3ReaderS", "Xdmf3ReaderT"}
    np.testing.assert_allclose(result["times"], trajectory.times, rtol=0, atol=1e-14)
    assert len(result["steps"]) == trajectory.times.size
    basis = trajectory.densities[0].basis
    vertices = basis.nodal_dofs[0]
    for k, step in enumerate(result["steps"]):
        where = f"{reader} on {case}, step {k}"
        _check_grid(step, basis.mesh, measure, where)
        expected = {
            "u": trajectory.densities[k].values[vertices],
            "v": np.asarray(trajectory.v[k])[vertices],
        }
        assert sorted(step["ranges"]) == ["u", "v"], where
        for name, values in expected.items():
            assert step["ranges"][name] == pytest.approx([values.min(), values.max()], rel=1e-14)
            np.testing.assert_array_equal(step["values"][name], values, err_msg=where)
    # the steps differ: ParaView did not show the first step at every time
    assert step["values"]["u"] != result["steps"][0]["values"]["u"]


@needs_paraview
@pytest.mark.parametrize("case", ["1d", "3d-hex"])
@pytest.mark.parametrize("reader", READERS)
def test_paraview_reads_meshes_saved_as_xdmf(paraview_reads, case, reader):
    _, static, reads = paraview_reads
    path, mesh, measure = static[case]
    result = reads[(str(path), reader)]
    assert "error" not in result, f"{reader} on {path.name}: {result.get('error')}"
    (step,) = result["steps"]
    _check_grid(step, mesh, measure, f"{reader} on {path.name}")
    np.testing.assert_array_equal(step["values"]["x"], mesh.p[0])


def test_xdmf_layout_names_nodes_per_element(tmp_path):
    """Without pvpython: the 1D file carries what ParaView needs (NodesPerElement="2") and
    a single temporal collection of complete grids (no separate, time-less mesh grid)."""
    from xml.etree import ElementTree as ET

    mesh = gp.mesh.interval(0.0, 1.0, 4)
    path = gio.write_xdmf_series(
        tmp_path / "line.xdmf", mesh, [0.0, 0.5], {"u": [mesh.p[0], 2 * mesh.p[0]]}
    )
    domain = ET.parse(path).getroot().find("Domain")
    (collection,) = list(domain)
    assert collection.get("CollectionType") == "Temporal"
    grids = collection.findall("Grid")
    assert [g.find("Time").get("Value") for g in grids] == ["0.0", "0.5"]
    for grid in grids:
        topology = grid.find("Topology")
        assert topology.get("TopologyType") == "Polyline"
        assert topology.get("NodesPerElement") == "2"
        assert topology.get("NumberOfElements") == "4"
        assert grid.find("Geometry").get("GeometryType") == "XYZ"


def test_xdmf_series_refuses_bad_input(tmp_path):
    mesh = gp.mesh.interval(0.0, 1.0, 4)
    good = {"u": [mesh.p[0], mesh.p[0]]}
    with pytest.raises(gp.errors.InvalidInputError, match="increasing"):
        gio.write_xdmf_series(tmp_path / "a.xdmf", mesh, [0.0, 0.0], good)
    with pytest.raises(gp.errors.InvalidInputError, match=r"expected \(len\(times\), n_v"):
        gio.write_xdmf_series(tmp_path / "a.xdmf", mesh, [0.0, 1.0], {"u": [mesh.p[0]]})
    with pytest.raises(gp.errors.InvalidInputError, match="without '/'"):
        gio.write_xdmf_series(tmp_path / "a.xdmf", mesh, [0.0, 1.0], {"a/b": good["u"]})
    with pytest.raises(gp.errors.InvalidInputError, match=r"ending in \.xdmf"):
        gio.write_xdmf_series(tmp_path / "a.vtu", mesh, [0.0, 1.0], good)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- permissions


@pytest.fixture
def umask():
    """Set the process umask for one test and restore it afterwards."""
    previous = os.umask(0o022)
    os.umask(previous)

    def set_umask(mask):
        os.umask(mask)

    yield set_umask
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _write_every_kind(folder: Path) -> list[Path]:
    """One file of each kind the package writes through a temporary file."""
    from gan_pde.meanfield.toy import ToyWGAN
    from gan_pde.verify.registry import Check
    from gan_pde.verify.report import write_report

    folder.mkdir()
    trajectory = _solve(gp.mesh.interval(-4.0, 4.0, 8))
    toy = ToyWGAN(gamma_c=1.0).simulate(g0=2.0, omega0=0.5, t_final=1.0)
    sweep = SweepResult(records=[{"a": 1, "value": 2.0, "seconds": 0.1}], names=["a"])
    check = Check("demo", "paper", "ref", "claim", 1.0, 1.0, 0.1, True, 0.0)
    xdmf = gio.write_xdmf(folder / "run.xdmf", trajectory)
    index = write_report([check], folder / "report", command="test")
    return [
        gio.save(folder / "trajectory.npz", trajectory),
        gio.save(folder / "toy.npz", toy),
        save_checkpoint(folder / "run.ckpt.npz", kind="demo", fingerprint={}, state={"a": 1}),
        sweep.to_csv(folder / "results.csv"),
        sweep.to_json(folder / "results.json"),
        index,
        index.parent / "results.json",
        xdmf,
        xdmf.with_suffix(".h5"),
    ]


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_written_files_follow_the_umask(tmp_path, umask, mask):
    umask(mask)
    expected = 0o666 & ~mask
    # what a plain open() gives, for comparison
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert _mode(plain) == expected
    files = _write_every_kind(tmp_path / "out")
    assert {f.name: oct(_mode(f)) for f in files} == {f.name: oct(expected) for f in files}
    # nothing temporary is left behind
    leftovers = [p for p in (tmp_path / "out").rglob(".*")]
    assert leftovers == []


def test_rewriting_a_file_keeps_its_mode(tmp_path, umask):
    """As with open(path, "w"), replacing a file keeps the mode the user gave it."""
    umask(0o022)
    path = tmp_path / "run.ckpt.npz"
    save_checkpoint(path, kind="demo", fingerprint={}, state={"a": 1})
    assert _mode(path) == 0o644
    path.chmod(0o640)
    save_checkpoint(path, kind="demo", fingerprint={}, state={"a": 2})
    assert _mode(path) == 0o640
