"""The viewer on what the real commands write (shared data; skipped when absent).

A mock server replays real DeepSeek-R1-Distill-Qwen-32B MATH-500 outputs; `thinklens
eval` makes two runs of it (two model names), `thinklens efficiency` analyses both with
the real Qwen2 tokenizer, `thinklens efficiency compare` draws them together, and
`thinklens perf` measures the mock server at two concurrency levels.  The pages are then
read over HTTP and checked against the files and tables those commands wrote, so a
change of format in efficiency or perf breaks this test rather than the viewer.
"""

from __future__ import annotations

import html
import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from thinklens.efficiency.report import OVERALL as EFF_OVERALL
from thinklens.efficiency.report import SUMMARY_FILENAME
from thinklens.perf.output import REQUESTS_FILE, SUMMARY_JSON
from tests.helpers.shared_data import shared_data_dir
from tests.helpers.viewer_data import ServedViewer

REPLAY = "model_outputs/meitann_R1-Distill-Qwen-32B_math500_part1_400.jsonl"
MATH500 = "benchmarks/math500_test.jsonl"
TOKENIZER = "tokenizers/qwen2"


def _data(rel: str) -> Path:
    return shared_data_dir() / rel


pytestmark = pytest.mark.skipif(
    not all(_data(r).exists() for r in (REPLAY, MATH500, TOKENIZER)),
    reason=f"shared data absent ({REPLAY}, {MATH500}, {TOKENIZER} under THINKLENS_SHARED_DATA)",
)


def _thinklens(*args: str, timeout: float = 120) -> str:
    done = subprocess.run([sys.executable, "-m", "thinklens", *args], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"thinklens {args[0]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done.stdout + done.stderr


def _eval(url: str, model: str, out: Path, limit: int) -> None:
    _thinklens("eval", "--model", model, "--api-url", url, "--datasets", "math_500",
               "--dataset-path", f"math_500={_data(MATH500)}", "--limit", str(limit), "--output", str(out),
               "--no-progress", "--grading-workers", "1")


def _efficiency(run: Path) -> None:
    _thinklens("efficiency", str(run), "--tokenizer", str(_data(TOKENIZER)), "--method", "verify",
               "--grading-workers", "1")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.helpers.calibration import MockServerProcess

    root = tmp_path_factory.mktemp("viewer-real")
    with MockServerProcess("--replay", str(_data(REPLAY)), "--model", "r1-distill") as server:
        _eval(server.url, "r1-distill", root / "runs" / "a", 30)
        _eval(server.url, "r1-twin", root / "runs" / "b", 12)
        _thinklens("perf", "--url", server.url, "--model", "r1-distill", "--concurrency", "1", "3",
                   "--requests", "4", "--warmup", "1", "--dataset-path", str(_data(MATH500)), "--output-tokens", "40",
                   "--output", str(root / "perf" / "sweep"), "--quiet")
    _efficiency(root / "runs" / "a")
    _efficiency(root / "runs" / "b")
    _thinklens("efficiency", "compare", str(root / "runs" / "a"), str(root / "runs" / "b"),
               "-o", str(root / "runs" / "comparison.png"))
    return root


@pytest.fixture(scope="module")
def viewer(root: Path):
    with ServedViewer(root) as v:
        yield v


def _get(viewer: ServedViewer, path: str) -> str:
    status, _, body = viewer.get(path)
    assert status == 200, f"{path}: HTTP {status}"
    return body


def _metric(v: object) -> str:
    """How the viewer prints an efficiency / perf number (4 significant digits)."""
    if v is None:
        return "–"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}"
    assert isinstance(v, float)
    if v == 0:
        return "0"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


EFF_FORMATS = {"n": ",.0f", "reasoning_tokens": ",.0f", "first_correct_tokens": ",.0f", "reflection_tokens": ",.0f",
               "accuracy": ".3f", "token_efficiency": ".3f", "xi_o": ".3f", "xi_ut": ".3f", "thought_num": ".2f"}


def _eff(key: str, v: object) -> str:
    """How the viewer prints an efficiency metric: one format per column (the console's)."""
    return "–" if v is None else format(v, EFF_FORMATS[key])


def _secs(v: float) -> str:
    """How the viewer prints a latency."""
    if 0 < v < 0.0001:
        return f"{v * 1e6:.1f} µs"
    if v < 0.01:
        return f"{v * 1000:.2f} ms"
    return f"{v * 1000:.0f} ms" if v < 1 else f"{v:.2f} s"


def _cells(row_html: str) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row_html, re.S)]


def _table(body: str, table_class: str) -> tuple[list[str], list[list[str]]]:
    m = re.search(rf'<table class="[^"]*\b{table_class}\b[^"]*">(.*?)</table>', body, re.S)
    assert m, f"no table .{table_class}"
    head = _cells(re.search(r"<thead>(.*?)</thead>", m.group(1), re.S).group(1))
    rows = [_cells(r) for r in re.findall(r"<tr[^>]*>(.*?)</tr>", re.search(r"<tbody>(.*?)</tbody>", m.group(1), re.S).group(1), re.S)]
    return head, rows


def test_run_page_shows_the_real_efficiency_numbers(root: Path, viewer: ServedViewer) -> None:
    summary = json.loads((root / "runs" / "a" / SUMMARY_FILENAME).read_text())
    body = _get(viewer, "/run/runs~a/")
    head, rows = _table(body, "efficiency")
    by_name = {r[0]: dict(zip(head[1:], r[1:])) for r in rows}
    assert [r[0] for r in rows] == [*summary["subset_order"], "Overall"]
    labels = {"n": "n", "accuracy": "accuracy", "reasoning_tokens": "reasoning tokens",
              "first_correct_tokens": "tokens to first correct", "reflection_tokens": "reflection tokens",
              "token_efficiency": "token efficiency", "thought_num": "thought switches",
              "xi_o": "ξ_O outcome efficiency", "xi_ut": "ξ_UT underthinking"}
    for subset in [*summary["subset_order"], EFF_OVERALL]:
        shown = by_name["Overall" if subset == EFF_OVERALL else subset]
        for key, label in labels.items():
            assert shown[label.capitalize() if label[0].isascii() else label] == _eff(
                key, summary["subsets"][subset].get(key)), (subset, key)
    assert "ξ overthinking" not in body
    # the figure `thinklens efficiency` drew, served from the run folder
    assert 'src="/files/runs/a/efficiency.png"' in body or 'src="/files/runs/a/efficiency.svg"' in body
    status, headers, _ = viewer.get("/files/runs/a/efficiency.png")
    assert status == 200 and headers["content-type"] == "image/png"
    # the score table and the outcomes have report.json's OVERALL
    report = json.loads((root / "runs" / "a" / "report.json").read_text())
    _, counts = _table(body, "counts")
    overall = [r for r in counts if r[1] == "OVERALL"]
    expected = next(s for s in report["subsets"] if s["subset"] == "OVERALL")
    assert len(overall) == 1 and overall[0][2:5] == [str(expected[k]) for k in ("samples", "generations", "graded")]


def _efficiency_rows(run: Path) -> list[sqlite3.Row]:
    summary = json.loads((run / SUMMARY_FILENAME).read_text())
    conn = sqlite3.connect(run / "run.sqlite")
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(
            "SELECT * FROM efficiency_samples WHERE settings_hash=? ORDER BY key",
            (summary["settings"]["settings_hash"],),
        ).fetchall()
    finally:
        conn.close()


def test_sample_page_marks_the_real_first_correct_step_and_switches(root: Path, viewer: ServedViewer) -> None:
    rows = _efficiency_rows(root / "runs" / "a")
    assert rows, "thinklens efficiency wrote no efficiency_samples rows"
    marked = [r for r in rows if r["first_correct_status"] == "found" and r["thought_num"] > 0
              and not r["no_reasoning"]]
    assert marked
    checked = 0
    for row in marked[:3]:
        body = _get(viewer, f"/run/runs~a/sample/{row['key']}")
        steps = json.loads(row["steps"])
        reasoning = re.search(r'<section id="reasoning">(.*?)</section>', body, re.S).group(1)
        step_divs = re.findall(r'<div class="step([^"]*)" id="step-(\d+)">', reasoning)
        assert len(step_divs) == len(steps), row["key"]
        first = [int(i) for cls, i in step_divs if "first-correct" in cls]
        assert first == [row["first_correct_step"]], row["key"]
        assert f"first correct step: {row['first_correct_step'] + 1}" in html.unescape(reasoning)
        # one <mark> per recorded switch, on the recorded phrase
        marks = [html.unescape(m) for m in re.findall(r'<mark class="switch">(.*?)</mark>', reasoning, re.S)]
        phrases = [p for _, p in json.loads(row["thought_switches"])]
        assert [m.lower() for m in marks] == [p.lower() for p in phrases], row["key"]
        # the per-trace numbers come from the same row
        eff = re.search(r'<section id="sample-efficiency">(.*?)</section>', body, re.S).group(1)
        numbers = dict(_cells(r) for r in re.findall(r"<tr>(.*?)</tr>", eff, re.S))
        assert numbers["reasoning_tokens"] == _metric(row["reasoning_tokens"])
        assert numbers["first_correct_tokens"] == _metric(row["first_correct_tokens"])
        checked += 1
    assert checked


def test_sample_without_reasoning_marks_its_answer(root: Path, viewer: ServedViewer) -> None:
    """A trace with no reasoning was analysed on its whole output: the marks go there."""
    rows = [r for r in _efficiency_rows(root / "runs" / "a") if r["no_reasoning"]]
    if not rows:
        pytest.skip("no trace without reasoning among the first 30 (the replay data changed)")
    for row in rows:
        body = _get(viewer, f"/run/runs~a/sample/{row['key']}")
        answer = re.search(r'<section id="answer">(.*?)</section>', body, re.S).group(1)
        assert len(re.findall(r'<div class="step[^"]*" id="step-\d+">', answer)) == len(json.loads(row["steps"]))
        if row["first_correct_status"] == "found":
            assert '<div class="step first-correct' in answer and f'id="step-{row["first_correct_step"]}"' in answer


def test_compare_page_shows_both_runs_and_the_comparison_figure(root: Path, viewer: ServedViewer) -> None:
    body = _get(viewer, "/compare?run=runs~a&run=runs~b")
    assert "r1-distill" in body and "r1-twin" in body
    assert 'src="/files/runs/comparison.png"' in body or 'src="/files/runs/comparison.svg"' in body
    eff = re.search(r'<section id="compare-efficiency">(.*?)</section>', body, re.S).group(1)
    rows = {r[0]: r[1:] for r in (_cells(x) for x in re.findall(r"<tr>(.*?)</tr>", eff, re.S)) if r}
    for i, run in enumerate(("a", "b")):
        overall = json.loads((root / "runs" / run / SUMMARY_FILENAME).read_text())["subsets"][EFF_OVERALL]
        assert rows["ξ_O outcome efficiency"][i] == _eff("xi_o", overall["xi_o"])
        assert rows["Accuracy"][i] == _eff("accuracy", overall["accuracy"])
    # the two runs' OVERALL score rows side by side, from their report.json
    head, score_rows = _table(body, "compare")
    overall = next(r for r in score_rows if r[1] == "OVERALL" and r[2] == "AveragePass@1")
    for i, run in enumerate(("a", "b")):
        report = json.loads((root / "runs" / run / "report.json").read_text())
        expected = next(r for r in report["rows"] if r["subset"] == "OVERALL" and r["metric"] == "AveragePass@1")
        assert overall[3 + i].startswith(f"{expected['score']:.4f}"[:4]), (overall, expected)
        assert f"n={expected['num']}" in overall[3 + i]


def test_perf_page_shows_the_real_summary(root: Path, viewer: ServedViewer) -> None:
    folder = root / "perf" / "sweep"
    summary = json.loads((folder / SUMMARY_JSON).read_text())
    rows = [json.loads(line) for line in (folder / REQUESTS_FILE).read_text().splitlines()]
    assert {r["phase"] for r in rows} >= {"warmup", "measure"}  # the format the viewer must tolerate
    body = _get(viewer, "/perf/perf~sweep/")
    assert len(summary["levels"]) == 2
    for level in summary["levels"]:
        assert html.escape(str(level["level"])) in body
        assert f'{level["request_throughput"]:,.2f}' in body  # requests/s: 2 decimals in every row
        for metric in ("ttft", "e2e", "tpot"):
            assert _secs(level[metric]["p99"]) in body, metric
        measured = [r for r in rows if r["level"] == level["level"] and r["phase"] == "measure" and r["status"] == "ok"]
        assert level["requests_ok"] == len(measured)
    for name in ("ttft_distribution", "latency_vs_throughput"):
        assert f"/files/perf/sweep/{name}." in body
    # the perf folder's run.sqlite does not make it an evaluation run
    assert 'href="/run/perf~sweep/"' not in _get(viewer, "/")
