"""The evaluation pipeline end to end, over real HTTP against our mock server.

Real DeepSeek-R1-Distill-Qwen-32B answers on MATH-500 are replayed by the mock server;
thinklens requests, streams, splits reasoning, grades, stores and reports them.  The
pipeline must give exactly the verdicts that grading the same answers directly gives
(the grader itself is checked against hand labels in tests/grading/), whatever the
reasoning format, with faults injected, and across a kill -9.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from thinklens import TaskConfig, run_task
from thinklens.grading import GradeRequest, GradingPool
from thinklens.mock_server import MockServerConfig, run_mock_server
from tests.helpers.shared_data import shared_data_dir

DATA = shared_data_dir()
MATH500 = DATA / "benchmarks" / "math500_test.jsonl"
REPLAY = [
    DATA / "model_outputs" / "meitann_R1-Distill-Qwen-32B_math500_part1_400.jsonl",
    DATA / "model_outputs" / "meitann_R1-Distill-Qwen-32B_math500_part2_100.jsonl",
]
pytestmark = pytest.mark.skipif(
    not (MATH500.exists() and all(p.exists() for p in REPLAY)),
    reason=f"needs MATH-500 and the R1-distill outputs under {DATA} (set THINKLENS_SHARED_DATA)",
)


def _config(url: str, out: Path, **kw) -> TaskConfig:
    base = dict(
        api_url=url, model="DeepSeek-R1-Distill-Qwen-32B", eval_type="service", datasets=["math_500"],
        dataset_args={"math_500": {"dataset_id": str(MATH500), "few_shot_num": 0}},
        eval_batch_size=32, generation_config={"max_tokens": 32000, "temperature": 0.6, "top_p": 0.95},
        output=str(out), progress=False, retry_backoff=0.01, grading_timeout=60,
    )
    base.update(kw)
    return TaskConfig(**base)


def _verdicts(run_dir: Path) -> dict[str, tuple]:
    conn = sqlite3.connect(run_dir / "run.sqlite")
    rows = conn.execute("SELECT key, status, correct, reason, extracted FROM results").fetchall()
    conn.close()
    return {k: (s, c, r, e) for k, s, c, r, e in rows}


def _report(run_dir: Path) -> dict:
    data = json.loads((run_dir / "report.json").read_text())
    return {"rows": data["rows"], "subsets": data["subsets"]}


def _direct_levels() -> dict[str, list[bool]]:
    """Grade the replay file's answers directly (no HTTP, no store): the reference."""
    gold = {}
    for line in MATH500.read_text().splitlines():
        row = json.loads(line)
        gold[row["problem"]] = (row["answer"], f"Level {row['level']}")
    reqs, levels = [], []
    for path in REPLAY:
        for line in path.read_text().splitlines():
            row = json.loads(line)
            answer, level = gold[row["problem"]]
            response = row["result"] if row.get("status") == "success" else ""
            reqs.append(GradeRequest("math", response=response or "", gold=answer, finish_reason="stop",
                                     problem=row["problem"]))
            levels.append(level)
    with GradingPool() as pool:
        scores = pool.grade_many(reqs)
    out: dict[str, list[bool]] = {}
    for level, score in zip(levels, scores):
        out.setdefault(level, []).append(bool(score.correct))
    return out


@pytest.fixture(scope="module")
def replay_server():
    with run_mock_server(MockServerConfig(replay=REPLAY, tokens_per_chunk=64)) as server:
        yield server


@pytest.fixture(scope="module")
def clean_run(replay_server, tmp_path_factory):
    out = tmp_path_factory.mktemp("clean") / "run"
    result = run_task(_config(replay_server.url, out, eval_batch_size=64))
    return out, result


def test_real_r1_answers_give_the_directly_graded_accuracy_per_level(clean_run):
    out, result = clean_run
    report = json.loads((out / "report.json").read_text())
    direct = _direct_levels()
    by_subset = {r["subset"]: r for r in report["rows"] if r["metric"] == "AveragePass@1"}
    for level, verdicts in direct.items():
        assert by_subset[level]["num"] == len(verdicts)
        assert by_subset[level]["score"] == pytest.approx(sum(verdicts) / len(verdicts), abs=1e-4)
    overall = by_subset["OVERALL"]
    assert overall["num"] == 500
    assert 0.88 <= overall["score"] <= 0.96  # published R1-Distill-Qwen-32B MATH-500 ~ 0.94
    # The 14 failed rows of the file come back empty: no answer, counted, never correct.
    stats = {s["subset"]: s for s in report["subsets"]}
    assert stats["OVERALL"]["no_answer"] >= 14 and stats["OVERALL"]["errors"] == 0
    assert set(report) >= {"rows", "subsets", "config"}
    assert {"model", "dataset", "subset", "metric", "num", "score"} <= set(report["rows"][0])
    assert {"truncated", "no_answer", "errors", "mean_completion_tokens", "mean_reasoning_tokens"} <= set(
        report["subsets"][0]
    )
    assert result.requests_sent == 500 and result.failed == 0
    # Every stored row says where its reasoning came from.
    conn = sqlite3.connect(out / "run.sqlite")
    sources = dict(conn.execute("SELECT reasoning_source, COUNT(*) FROM results GROUP BY 1").fetchall())
    conn.close()
    assert sources.get("reasoning_content", 0) >= 480


@pytest.mark.parametrize("fmt", ["inline", "lone-close"])
def test_inline_and_lone_close_reasoning_give_the_same_scores(fmt, clean_run, tmp_path):
    clean_dir, _ = clean_run
    with run_mock_server(MockServerConfig(replay=REPLAY, reasoning_format=fmt, tokens_per_chunk=64)) as server:
        run_task(_config(server.url, tmp_path / fmt, eval_batch_size=64))
    assert _verdicts(tmp_path / fmt) == _verdicts(clean_dir)
    assert _report(tmp_path / fmt) == _report(clean_dir)
    conn = sqlite3.connect(tmp_path / fmt / "run.sqlite")
    sources = dict(conn.execute("SELECT reasoning_source, COUNT(*) FROM results GROUP BY 1").fetchall())
    conn.close()
    expected = "think_tags" if fmt == "inline" else "lone_close_tag"
    assert sources.get(expected, 0) >= 480


def test_injected_faults_change_nothing(replay_server, tmp_path):
    limit = 120
    clean = tmp_path / "clean"
    run_task(_config(replay_server.url, clean, limit=limit))
    faulty = MockServerConfig(replay=REPLAY, tokens_per_chunk=16, fault_rate=0.2, faults=("429", "500", "reset", "stall", "malformed"),
                              seed=3, retry_after=0, stall_seconds=3600)
    with run_mock_server(faulty) as server:
        # A stream may stall before its first token (an empty answer is one step): that is the
        # first-token timeout's case, so both are short here.
        result = run_task(_config(server.url, tmp_path / "faulty", limit=limit, max_retries=15, timeout_idle=1.0,
                                  timeout_first_token=5.0))
        stats = server.stats(with_records=False)
    assert sum(stats.faults.values()) >= 10  # the faults really happened
    assert result.failed == 0
    assert _verdicts(tmp_path / "faulty") == _verdicts(clean)
    assert _report(tmp_path / "faulty") == _report(clean)


def test_kill_9_then_resume_equals_an_uninterrupted_run(tmp_path):
    limit, batch = 60, 6
    slow = MockServerConfig(replay=REPLAY, ttft=0.05, tpot=0.0003, tokens_per_chunk=32)
    with run_mock_server(slow) as server:
        reference = tmp_path / "reference"
        run_task(_config(server.url, reference, limit=limit, eval_batch_size=batch))
        server.reset_stats()
        out = tmp_path / "killed"
        cmd = [sys.executable, "-m", "thinklens", "eval", "--api-url", server.url, "--model",
               "DeepSeek-R1-Distill-Qwen-32B", "--datasets", "math_500", "--dataset-path", f"math_500={MATH500}",
               "--limit", str(limit), "--eval-batch-size", str(batch), "--max-tokens", "32000",
               "--temperature", "0.6", "--top-p", "0.95", "--output", str(out), "--no-progress"]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy())
        deadline = time.time() + 120
        stored = 0
        while time.time() < deadline and proc.poll() is None:
            if (out / "run.sqlite").exists():
                try:
                    conn = sqlite3.connect(out / "run.sqlite", timeout=1)
                    stored = conn.execute("SELECT COUNT(*) FROM results").fetchone()[0]
                    conn.close()
                except sqlite3.OperationalError:
                    pass
                if stored >= limit // 2:
                    break
            time.sleep(0.02)
        assert proc.poll() is None, f"the run finished before it could be killed: {proc.stderr.read()!r}"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert stored < limit
        rerun = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
        assert rerun.returncode == 0, rerun.stderr
        received = server.stats(with_records=False).requests_total
    assert _report(out) == _report(reference)
    assert _verdicts(out) == _verdicts(reference)
    # No sample was requested twice, except those in flight at the kill.
    assert received <= limit + batch


def test_regrade_rescores_without_requests(clean_run, replay_server, tmp_path):
    out, _ = clean_run
    before = replay_server.stats(with_records=False).requests_total
    proc = subprocess.run([sys.executable, "-m", "thinklens", "eval", "--regrade", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "no requests sent" in proc.stderr
    assert replay_server.stats(with_records=False).requests_total == before
    assert _report(out)["rows"] == json.loads((out / "report.json").read_text())["rows"]


def test_rerun_of_a_finished_run_sends_nothing(clean_run, replay_server):
    out, first = clean_run
    before = replay_server.stats(with_records=False).requests_total
    again = run_task(_config(replay_server.url, out, eval_batch_size=64))
    assert again.requests_sent == 0
    assert replay_server.stats(with_records=False).requests_total == before
    assert again.report.rows == first.report.rows


def test_repeats_batch_size_and_several_endpoints(tmp_path):
    """--n 3: each repeat is its own request and key; eval_batch_size is really reached;
    two endpoints share the load."""
    cfg = MockServerConfig(replay=REPLAY, ttft=0.15, tpot=0.0)
    with run_mock_server(cfg) as a, run_mock_server(cfg) as b:
        result = run_task(_config([a.url, b.url], tmp_path / "rep", limit=16, eval_batch_size=16,
                                  generation_config={"max_tokens": 32000, "temperature": 0.6, "n": 3}))
        sa, sb = a.stats(with_records=False), b.stats(with_records=False)
    assert result.requests_sent == 48
    assert sa.requests_total + sb.requests_total == 48 and min(sa.requests_total, sb.requests_total) >= 16
    assert sa.max_in_flight + sb.max_in_flight >= 16 - 1
    rows = {(r.metric, r.subset): r for r in result.report.rows}
    avg = rows[("AveragePass@1", "OVERALL")].score
    # Replayed answers are identical across repeats: pass@k and maj@k equal avg@n.
    assert rows[("pass@2", "OVERALL")].score == pytest.approx(avg)
    assert rows[("pass@3", "OVERALL")].score == pytest.approx(avg)
    assert rows[("maj@3", "OVERALL")].score == pytest.approx(avg)
    assert rows[("pass@3", "OVERALL")].num == 16
