"""maj@k in the viewer: its live scores cannot compute maj@k (that needs the grader's
answer equivalence, which only the report applies), so a live table shows the
report's maj@k lines when report.json has them, and says so either way.

Runs are written through the real store and scored by the real report builder; the
pages are served by the real viewer over HTTP."""

from __future__ import annotations

import asyncio
import html
import os
import re
from pathlib import Path

from thinklens.config import make_config
from thinklens.records import Generation, Sample, Score, Usage
from thinklens.report import build_report, write_report
from thinklens.store import REPORT_FILENAME, RunStore
from thinklens.viewer.i18n import STRINGS
from tests.helpers.viewer_data import ServedViewer

CORRECT = Score(True, "correct", extracted="7")


def _wrong(answer: str) -> Score:
    return Score(False, "not_equivalent", extracted=answer)


def _gen() -> Generation:
    return Generation(content="\\boxed{x}", reasoning="r", reasoning_source="reasoning_content", finish_reason="stop",
                      usage=Usage(prompt_tokens=5, completion_tokens=100, reasoning_tokens=80))


def _store(run_dir: Path, rows: list[tuple[str, int, Score]]) -> RunStore:
    """rows: (sample id, repeat, score), one subset, n = 2, the plan covering them."""
    store = RunStore(run_dir)
    for sid, rep, score in rows:
        sample = Sample(id=sid, dataset="math_500", subset="Level 1", messages=[{"role": "user", "content": "?"}],
                        gold="7")
        store.put_generation(f"{sid}-{rep}", sample, rep, _gen())
        store.put_score(f"{sid}-{rep}", score)
    store.set_plan([(f"{sid}-{rep}", "math") for sid, rep, _ in rows])
    config = make_config({"model": "m", "api_url": ["http://127.0.0.1:9/v1"], "datasets": ["math_500"],
                          "generation_config": {"n": 2}, "output": str(run_dir)})
    store.set_meta("config", config.redacted())
    return store


def _score_rows(body: str) -> dict[tuple[str, str], str]:
    """(metric, subset) -> the score cell's text, from the run page's score table."""
    table = re.search(r'<table class="data scores">(.*?)</table>', body, re.S)
    assert table, "no score table"
    out = {}
    for cells in re.findall(r"<tr[^>]*>(.*?)</tr>", table.group(1), re.S):
        tds = re.findall(r"<td[^>]*>(.*?)</td>", cells, re.S)
        if tds:
            out[(tds[2], tds[3])] = tds[5]
    return out


def test_stale_report_keeps_its_majority_lines_and_says_whose(tmp_path: Path) -> None:
    # q0 answers 8 twice (maj: wrong), q1 answers 7 then 9 (maj: the first seen, correct)
    run = tmp_path / "run"
    store = _store(run, [("q0", 0, _wrong("8")), ("q0", 1, _wrong("8")), ("q1", 0, CORRECT), ("q1", 1, _wrong("9"))])
    config = make_config({"model": "m", "api_url": ["http://127.0.0.1:9/v1"], "datasets": ["math_500"],
                          "generation_config": {"n": 2}, "output": str(run)})
    report = asyncio.run(build_report(store, config, {}, None))
    write_report(report, run)
    maj = report.score("math_500", "Level 1", "maj@2")
    assert maj == 0.5
    # a result after the report: the report is stale, the table goes live
    sample = Sample(id="q2", dataset="math_500", subset="Level 1", messages=[{"role": "user", "content": "?"}], gold="7")
    store.put_generation("q2-0", sample, 0, _gen())
    store.put_score("q2-0", CORRECT)
    store.close()
    old = os.stat(run / REPORT_FILENAME).st_mtime - 3600
    os.utime(run / REPORT_FILENAME, (old, old))

    with ServedViewer(tmp_path) as v:
        status, _, body = v.get("/run/run/")
    assert status == 200
    assert html.escape(STRINGS["en"]["report_stale"], quote=False) in body  # live scores
    rows = _score_rows(body)
    assert ("maj@2", "Level 1") in rows and ("maj@2", "OVERALL") in rows  # the report's, kept
    assert rows[("maj@2", "Level 1")].startswith(f"{maj:.4f}") and "†" in rows[("maj@2", "Level 1")]
    assert "†" not in rows[("AveragePass@1", "Level 1")]  # live lines carry no mark
    note = re.search(r'<p class="note" id="maj-note">(.*?)</p>', body, re.S)
    assert note and "maj@k (†) is the report&#39;s" in note.group(1)
    # the maj@k lines stand with their subset, after its live lines
    order = list(rows)
    assert order.index(("maj@2", "Level 1")) == order.index(("pass@2", "Level 1")) + 1


def test_live_table_without_a_report_says_why_maj_is_missing(tmp_path: Path) -> None:
    _store(tmp_path / "run", [("q0", 0, CORRECT), ("q0", 1, _wrong("8"))]).close()
    with ServedViewer(tmp_path) as v:
        status, _, body = v.get("/run/run/")
    assert status == 200
    rows = _score_rows(body)
    assert ("pass@2", "Level 1") in rows and not any(metric.startswith("maj@") for metric, _ in rows)
    note = re.search(r'<p class="note" id="maj-note">(.*?)</p>', body, re.S)
    assert note and "maj@k is not shown live" in note.group(1)
