"""End to end: `thinklens eval` against the mock server replaying two real models, then
`thinklens efficiency` on each run and `thinklens efficiency compare`, all through the CLI.

MATH-500 problems 100-139: DeepSeek-R1-Distill-Qwen-32B (reasoning in a separate
field) and QwQ-32B (reasoning inside <think>, 3 of these 40 cut at its 14000-token cap:
real truncation).  Plus the CLI's errors, and efficiency.json before any figure.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.helpers.efficiency_helpers import MATH500, MEITANN_PARTS, QWEN2_TOKENIZER, data_path, have, read_jsonl
from thinklens.mock_server import MockServerConfig, run_mock_server

QWQ_TAR = "model_outputs/dongximing_QwQ-32B_math500_idx100-499_seed123.tar.gz"
FIRST, LAST = 100, 139  # MATH-500 rows; 103, 110 and 136 are QwQ traces cut at the token cap

pytestmark = pytest.mark.skipif(not have(MATH500, QWQ_TAR, QWEN2_TOKENIZER, *MEITANN_PARTS),
                                reason="shared data folder absent (set THINKLENS_SHARED_DATA)")


def thinklens(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "thinklens", *args], capture_output=True, text=True, timeout=timeout)


def _qwq_replay(path: Path, problems: set[str]) -> Path:
    """The QwQ generations as a replay file: raw output with its <think> (the mock splits it)."""
    with tarfile.open(data_path(QWQ_TAR), "r:gz") as tar, path.open("w", encoding="utf-8") as out:
        for m in tar.getmembers():
            if m.isfile() and m.name.endswith("generation.json"):
                d = json.load(tar.extractfile(m))[0]  # type: ignore[arg-type]
                if d["input_text"] in problems:
                    out.write(json.dumps({"problem": d["input_text"], "content": "<think>\n" + d["real_answer"]}) + "\n")
    return path


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pipeline")
    rows = read_jsonl(MATH500)[FIRST: LAST + 1]
    dataset = tmp / "math500_100_139.jsonl"
    dataset.write_text("".join(json.dumps(r) + "\n" for r in rows))
    qwq = _qwq_replay(tmp / "qwq.jsonl", {r["problem"] for r in rows})
    runs = {}
    for name, replay in (("r1", [data_path(p) for p in MEITANN_PARTS]), ("qwq", [qwq])):
        with run_mock_server(MockServerConfig(replay=tuple(replay), quiet=True)) as server:
            out = tmp / name
            done = thinklens("eval", "--model", name, "--api-url", server.url, "--datasets", "math_500",
                             "--dataset-path", f"math_500={dataset}", "--output", str(out), "--no-progress")
            assert done.returncode == 0, done.stderr[-2000:]
        runs[name] = out
    return runs


def test_efficiency_cli_on_eval_runs_then_compare(two_runs, tmp_path):
    tokenizer = str(data_path(QWEN2_TOKENIZER))
    for name, run in two_runs.items():
        done = thinklens("efficiency", str(run), "--tokenizer", tokenizer, "--max-tokens", "0", "--count", "0",
                         "--grading-workers", "1", "--no-progress", "--model-name", f"{name}-32B")
        assert done.returncode == 0, done.stderr[-2000:]
        assert "Level 3" in done.stdout  # the console table
        for f in ("efficiency.json", "efficiency.png", "efficiency.svg"):
            assert (run / f).stat().st_size > 0
    r1 = json.loads((two_runs["r1"] / "efficiency.json").read_text())
    qwq = json.loads((two_runs["qwq"] / "efficiency.json").read_text())
    assert set(r1) >= {"settings", "subsets", "selection", "subset_order", "model", "dataset", "definitions"}
    assert r1["settings"]["switch_phrases"][:3] == ["alternatively", "but wait", "wait"]
    assert r1["settings"]["tokenizer"] == tokenizer and r1["settings"]["tokens_exact"] is True
    keys = {"n", "n_reached_correct", "n_truncated", "n_judge_unparsed", "reasoning_tokens", "first_correct_tokens",
            "reflection_tokens", "token_efficiency", "thought_num", "accuracy", "xi_o", "xi_ut", "solutions"}
    assert keys <= set(r1["subsets"]["overall"]) and keys <= set(qwq["subsets"]["Level 1"])
    assert r1["subsets"]["overall"]["n"] == 40 and r1["subsets"]["overall"]["n_truncated"] == 0

    # QwQ's three traces cut at the cap: counted, graded (as wrong), token metrics apart.
    q = qwq["subsets"]["overall"]
    assert q["n"] == 40 and q["n_truncated"] == 3 and q["n_complete"] == 37
    assert q["truncated"]["n"] == 3 and q["truncated"]["reasoning_tokens"] > 10_000
    assert q["reasoning_tokens"] < q["truncated"]["reasoning_tokens"]
    report = json.loads((two_runs["qwq"] / "report.json").read_text())
    assert report  # the run's own report; accuracy here is the run's grading of the same traces
    conn = sqlite3.connect(two_runs["qwq"] / "run.sqlite")
    graded = conn.execute("SELECT AVG(correct) FROM results WHERE correct IS NOT NULL").fetchone()[0]
    row = conn.execute("SELECT steps, first_correct_step, first_correct_offset, thought_switches, reasoning_tokens, "
                       "settings_hash, key FROM efficiency_samples WHERE truncated=0 AND first_correct_step IS NOT NULL "
                       "LIMIT 1").fetchone()
    reasoning = conn.execute("SELECT reasoning FROM results WHERE key=?", (row[6],)).fetchone()[0]
    conn.close()
    assert q["accuracy"] == pytest.approx(graded, abs=1e-4)
    steps = json.loads(row[0])
    assert row[2] == steps[row[1]][1] <= len(reasoning)  # the end of the first correct step, in the reasoning
    for offset, phrase in json.loads(row[3]):
        assert reasoning[offset: offset + len(phrase)].lower() == phrase or phrase in ("but wait", "another approach",
                                                                                        "another way")

    # The default guide settings: the length filter drops QwQ's capped traces, and says so.
    done = thinklens("efficiency", str(two_runs["qwq"]), "--tokenizer", tokenizer, "--grading-workers", "1",
                     "--no-progress", "--no-figures")
    assert done.returncode == 0, done.stderr[-2000:]
    filtered = json.loads((two_runs["qwq"] / "efficiency.json").read_text())
    dropped = sum(v["dropped_by_length"] for v in filtered["selection"].values())
    assert dropped >= 3 and filtered["subsets"]["overall"]["n"] == 40 - dropped
    assert "longer than max_tokens=8000" in done.stdout

    # compare: one line per model, PNG + SVG + CSV.
    done = thinklens("efficiency", "compare", str(two_runs["r1"]), str(two_runs["qwq"]), "-o",
                     str(tmp_path / "cmp" / "comparison.png"))
    assert done.returncode == 0, done.stderr[-2000:]
    for suffix in (".png", ".svg", ".csv"):
        assert (tmp_path / "cmp" / f"comparison{suffix}").stat().st_size > 0
    with open(tmp_path / "cmp" / "comparison.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["model"] for r in rows} == {"r1-32B", "qwq"}  # qwq's last analysis had no --model-name
    assert [r["subset"] for r in rows if r["model"] == "r1-32B"] == [
        "Level 1", "Level 2", "Level 3", "Level 4", "Level 5", "overall"]
    r1_overall = next(r for r in rows if r["model"] == "r1-32B" and r["subset"] == "overall")
    assert float(r1_overall["token_efficiency"]) == pytest.approx(r1["subsets"]["overall"]["token_efficiency"])


def test_cli_errors_are_clear(tmp_path):
    def error(*args: str) -> str:
        done = thinklens(*args)
        assert done.returncode == 2 and "Traceback" not in done.stderr
        return " ".join(done.stderr.split())  # the console wraps long lines

    assert "not a thinklens run folder" in error("efficiency", str(tmp_path))
    (tmp_path / "run.sqlite").write_bytes(b"")
    msg = error("efficiency", str(tmp_path), "--method", "judge")
    assert "need an LLM judge" in msg and "--judge-url" in msg
    assert "no efficiency.json" in error("efficiency", "compare", str(tmp_path))
    assert "efficiency compare" in error("efficiency", str(tmp_path), str(tmp_path))
