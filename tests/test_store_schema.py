"""The store's versioned schema, on folders written by the previous release.

tests/fixtures/schema_v1 holds a run (eval + efficiency) and a perf folder written by
schema version 1 (see its README).  Today's code must read them as they are, migrate
them on a writer's open, report them identically and show them in the viewer; a
folder from a newer release is refused with a clear message.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from thinklens.benchmarks import get_benchmark
from thinklens.config import make_config
from thinklens.report import build_report
from tests.helpers.shared_data import shared_data_dir
from thinklens.errors import StoreError
from thinklens.store import SCHEMA_VERSION, NewerSchemaError, RunStore, is_run_folder, schema
from thinklens.viewer.reader import RunReader

FIXTURE = Path(__file__).parent / "fixtures" / "schema_v1"


def _version(path: Path) -> int:
    conn = sqlite3.connect(path / "run.sqlite")
    try:
        return conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()


def _tables(path: Path) -> dict[str, list[str]]:
    conn = sqlite3.connect(path / "run.sqlite")
    try:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY 1")]
        return {n: [r[1] for r in conn.execute(f"PRAGMA table_info({n})")] for n in names}
    finally:
        conn.close()


@pytest.fixture
def v1(tmp_path: Path) -> Path:
    """A private copy of the version-1 folders (the fixture itself stays untouched)."""
    shutil.copytree(FIXTURE, tmp_path / "v1")
    return tmp_path / "v1"


def test_fixture_is_version_1():
    assert _version(FIXTURE / "run") == 1 and _version(FIXTURE / "perf") == 1
    assert "inputs_hash" not in _tables(FIXTURE / "run")["efficiency_runs"]
    assert SCHEMA_VERSION > 1


def test_reader_reads_version_1_without_migrating(v1):
    run = v1 / "run"
    with RunStore(run, readonly=True) as store:
        assert store.schema_version == 1
        rows = list(store.iter_results(planned_only=True))
    assert len(rows) == 8 and all(r.score is not None for r in rows)
    assert _version(run) == 1  # a reader never writes


def test_writer_migrates_to_the_fresh_schema(v1, tmp_path):
    for folder in (v1 / "run", v1 / "perf"):
        with RunStore(folder) as store:
            assert store.schema_version == SCHEMA_VERSION
        assert _version(folder) == SCHEMA_VERSION
    fresh = tmp_path / "fresh"
    RunStore(fresh).close()
    # A migrated folder and a new one end with the same tables and columns.
    assert _tables(v1 / "run") == _tables(fresh) == _tables(v1 / "perf")
    assert "inputs_hash" in _tables(fresh)["efficiency_runs"] and "record" in _tables(fresh)["efficiency_samples"]
    # nothing lost: the version-1 rows are all there
    conn = sqlite3.connect(v1 / "run" / "run.sqlite")
    assert conn.execute("SELECT COUNT(*) FROM results").fetchone()[0] == 8
    assert conn.execute("SELECT COUNT(*) FROM efficiency_samples WHERE record IS NULL").fetchone()[0] == 8
    conn.close()
    conn = sqlite3.connect(v1 / "perf" / "run.sqlite")
    assert conn.execute("SELECT COUNT(*) FROM perf_requests").fetchone()[0] >= 6
    conn.close()


def test_migrated_run_reports_identically(v1):
    run = v1 / "run"
    before = json.loads((run / "report.json").read_text())
    with RunStore(run) as store:
        config = make_config(store.get_meta("config"))
        benchmarks = {name: get_benchmark(name) for name in config.datasets}
        report = asyncio.run(build_report(store, config, benchmarks, None)).to_dict()
    # the same numbers; later releases only add fields (the score's interval)
    assert [{k: r[k] for k in old} for r, old in zip(report["rows"], before["rows"])] == before["rows"]
    assert len(report["rows"]) == len(before["rows"]) and all("ci_method" in r for r in report["rows"])
    # tokens_over (what the token means are over) is new; the old counts are unchanged
    assert [{k: s[k] for k in old} for s, old in zip(report["subsets"], before["subsets"])] == before["subsets"]
    assert all(s["tokens_over"] == s["generations"] - s["errors"] for s in report["subsets"])


def test_viewer_shows_version_1_and_migrated_runs(v1):
    from tests.helpers.viewer_data import ServedViewer

    report = json.loads((v1 / "run" / "report.json").read_text())
    for migrate in (False, True):
        if migrate:
            RunStore(v1 / "run").close()
        reader = RunReader(v1 / "run")
        try:
            counts = {c.subset: c for c in reader.subset_counts()}
            progress = reader.progress()
        finally:
            reader.close()
        assert progress.generated == 8 and progress.state == "complete"
        for s in report["subsets"]:
            assert (counts[s["subset"]].generations, counts[s["subset"]].graded) == (s["generations"], s["graded"])
        with ServedViewer(v1) as viewer:
            status, _, body = viewer.get("/run/run/")
            assert status == 200 and "tiny-r1" in body
            status, _, body = viewer.get("/perf/perf/")
            assert status == 200


def _make_newer(folder: Path) -> None:
    conn = sqlite3.connect(folder / "run.sqlite")
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()


def test_newer_folder_is_refused_clearly(v1):
    run = v1 / "run"
    _make_newer(run)
    for readonly in (False, True):
        with pytest.raises(NewerSchemaError, match="newer thinklens.*upgrade"):
            RunStore(run, readonly=readonly)
    with pytest.raises(NewerSchemaError):
        RunReader(run)
    assert _version(run) == SCHEMA_VERSION + 1  # left as found
    done = subprocess.run([sys.executable, "-m", "thinklens", "export", str(run)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "written by a newer thinklens" in done.stderr and "upgrade" in done.stderr


def test_failed_migration_rolls_back(v1, monkeypatch):
    run = v1 / "run"

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x)")
        raise sqlite3.OperationalError("disk full in the middle of a migration")

    steps = (*schema.MIGRATIONS, (SCHEMA_VERSION + 1, broken))
    monkeypatch.setattr(schema, "MIGRATIONS", steps)
    monkeypatch.setattr(schema, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(StoreError, match="disk full") as raised:  # one line for the user, exit 2
        RunStore(run)
    assert isinstance(raised.value.__cause__, sqlite3.OperationalError)
    # every step of the failed open is undone: still version 1, no new table or column
    assert _version(run) == 1
    tables = _tables(run)
    assert "half_done" not in tables and "inputs_hash" not in tables["efficiency_runs"]


def test_is_run_folder(v1, tmp_path):
    assert is_run_folder(v1 / "run") and is_run_folder(v1 / "perf")
    assert not is_run_folder(v1) and not is_run_folder(tmp_path / "missing")
    (tmp_path / "odd" / "run.sqlite").mkdir(parents=True)
    assert not is_run_folder(tmp_path / "odd")


# ---- an efficiency rerun on unchanged inputs reuses the stored per-trace results ----
QWEN2_TOKENIZER = shared_data_dir() / "tokenizers" / "qwen2"


def _without_time(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k != "created_at"}


@pytest.mark.skipif(not QWEN2_TOKENIZER.exists(), reason="shared data folder absent (set THINKLENS_SHARED_DATA)")
def test_efficiency_rerun_reuses_stored_results_and_a_change_recomputes(v1):
    from thinklens.efficiency.analysis import analyse_run
    from thinklens.efficiency.settings import make_settings

    run = v1 / "run"
    old = json.loads((run / "efficiency.json").read_text())  # written by schema-1 code
    settings = make_settings(tokenizer=str(QWEN2_TOKENIZER), max_tokens=None, count=None, grading_workers=1)

    def analyse():
        return analyse_run(run, settings, progress=False, figures=False)

    first = analyse()  # rows of the version-1 analysis have no record: computed again
    assert (first.analysed, first.reused) == (8, 0) and first.grader_calls > 0
    # the same numbers as the old release; later releases only add fields (n_ungraded)
    assert {g: {k: m[k] for k in old["subsets"][g]} for g, m in first.summary["subsets"].items()} == old["subsets"]
    assert first.summary["selection"] == old["selection"]
    first_json = json.loads((run / "efficiency.json").read_text())

    again = analyse()
    assert (again.analysed, again.reused, again.grader_calls) == (0, 8, 0)
    assert _without_time(json.loads((run / "efficiency.json").read_text())) == _without_time(first_json)
    assert again.samples == first.samples

    # Another label is not another analysis; the stored result is relabelled.
    labelled = analyse_run(run, settings.model_copy(update={"model_name": "Tiny"}), progress=False, figures=False)
    assert labelled.analysed == 0 and labelled.summary["model"] == "Tiny"

    # A stored grade changes (a regrade): every trace is analysed again.
    with RunStore(run) as store:
        row = next(r for r in store.iter_results() if r.score is not None and r.score.correct)
        store.put_score(row.key, dataclasses.replace(row.score, correct=False))
    changed = analyse()
    assert (changed.analysed, changed.reused) == (8, 0) and changed.grader_calls > 0
    assert changed.summary["subsets"]["overall"]["accuracy"] < first.summary["subsets"]["overall"]["accuracy"]
