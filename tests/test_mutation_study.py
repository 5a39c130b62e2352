"""benchmarks/mutation_study.py: every mutation applies to the package as it is now.

Fast: no verify runs.  A snippet that no longer occurs exactly once (the code moved on) makes
the study refuse to start, so it is caught here first.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
SCRIPT = ROOT / "benchmarks" / "mutation_study.py"


@pytest.fixture(scope="module")
def study():
    name = "mutation_study_under_test"
    spec = importlib.util.spec_from_file_location(name, SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules[name]


def test_snippets_occur_exactly_once(study):
    assert len(study.MUTATIONS) >= 12
    for m in study.MUTATIONS:
        path = study.PACKAGE / m.file
        assert path.is_file(), f"{m.id}: no file {m.file}"
        count = path.read_text(encoding="utf-8").count(m.original)
        assert count == 1, f"{m.id}: the snippet occurs {count} times in {m.file}"
        assert m.replacement != m.original, f"{m.id}: the replacement changes nothing"


def test_ids_levels_and_coverage_of_the_models(study):
    ids = [m.id for m in study.MUTATIONS]
    assert len(set(ids)) == len(ids)
    assert all(m.level in study.SIZES for m in study.MUTATIONS)
    quick = [m for m in study.MUTATIONS if m.level == "quick"]
    assert len(quick) >= 12
    folders = {m.file.split("/")[0] for m in quick}
    for part in ("flows", "spectral", "fem", "meanfield", "sde", "dual", "nn", "densities.py"):
        assert part in folders, f"no quick mutation in {part}"
    assert {"spectral/lgan.py", "spectral/lgan_assembly.py"} <= {m.file for m in quick}


def test_apply_mutation_to_a_copy(study, tmp_path):
    m = study.mutation_by_id()["dens-gaussian-exponent"]
    (tmp_path / "densities.py").write_text((study.PACKAGE / m.file).read_text(encoding="utf-8"))
    study.apply_mutation(tmp_path, m)
    text = (tmp_path / "densities.py").read_text(encoding="utf-8")
    assert m.replacement in text and m.original not in text
    with pytest.raises(AssertionError, match="occurs 0 times"):
        study.apply_mutation(tmp_path, m)


def test_classify(study):
    def check(name, passed, labels=(), skipped=None):
        criteria = [{"label": label, "passed": False} for label in labels]
        return {"name": name, "passed": passed, "skipped": skipped, "criteria": criteria}

    failing = {"checks": [check("a", True), check("b", False, ["x < 1"])]}
    record = study.classify(1, failing)
    assert record["outcome"] == "failed-checks" and record["detected"]
    assert record["failing_checks"] == [{"name": "b", "criteria": ["x < 1"], "error": None}]
    assert study.classify(0, {"checks": [check("a", True)]})["outcome"] == "undetected"
    assert study.classify(1, None)["outcome"] == "crashed"
    assert study.classify(1, None)["detected"]
    timeout = study.classify(None, None)
    assert timeout["outcome"] == "timeout" and not timeout["detected"]
    skipped = study.classify(0, {"checks": [check("a", False, skipped="no torch")]})
    assert skipped["outcome"] == "undetected" and skipped["skipped_checks"] == ["a"]


def test_docs_section_is_appended_then_replaced(study, tmp_path):
    record = {
        **study.asdict(study.MUTATIONS[0]),
        **study.classify(1, {"checks": [{"name": "c", "passed": False, "criteria": []}]}),
        "returncode": 1,
        "seconds": 3.0,
    }
    base = {"n_checks": 1, "seconds": 1.0, "skipped_checks": []}
    doc = study.document(base, [record], "quick", [])
    page = tmp_path / "checks.md"
    page.write_text("# Checks\n\ntext\n", encoding="utf-8")
    study.update_docs(doc, page)
    study.update_docs(doc, page)
    text = page.read_text(encoding="utf-8")
    assert text.startswith("# Checks\n\ntext\n")
    assert text.count("## Mutation study") == 1
    assert text.count(study.MARKER) == 2
    assert "1 of 1 mutations detected" in text and "`c`" in text
