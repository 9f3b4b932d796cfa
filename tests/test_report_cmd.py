"""`thinklens report RUN` (alias `show`) reprints a finished run's tables without a request,
and `--write-predictions` writes predictions.jsonl next to report.json (issue 15)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import thinklens
from thinklens.cli import main

from tests.helpers.calibration import MockServerProcess

SRC = str(Path(thinklens.__file__).resolve().parents[1])


def _cli(*argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "thinklens", *argv], capture_output=True, text=True, timeout=300,
                          env=env)


def _finished_run(tmp_path: Path, shared_data, *extra: str) -> tuple[Path, subprocess.CompletedProcess]:
    data = shared_data("benchmarks/math500_test.jsonl")
    part1 = shared_data("model_outputs/meitann_R1-Distill-Qwen-32B_math500_part1_400.jsonl")
    out = tmp_path / "run"
    with MockServerProcess("--replay", str(part1)) as server:
        done = _cli("eval", "--api-url", server.url, "--model", "mock-model", "--datasets", "math_500",
                    "--dataset-path", f"math_500={data}", "--limit", "6", "--n", "2", "--output", str(out),
                    "--no-progress", *extra)
    assert done.returncode == 0, done.stderr[-3000:]
    return out, done


def test_report_reprints_the_tables_without_evaluating(tmp_path, shared_data):
    out, done = _finished_run(tmp_path, shared_data)
    # the server is gone: a request would fail
    for name in ("report", "show"):
        again = _cli(name, str(out))
        assert again.returncode == 0, again.stderr
        assert again.stdout == done.stdout  # the same tables, byte for byte
    assert "AveragePass@1" in done.stdout and "OVERALL" in done.stdout
    assert not (out / "predictions.jsonl").exists()


def test_write_predictions_from_eval_and_from_report(tmp_path, shared_data):
    out, done = _finished_run(tmp_path, shared_data, "--write-predictions")
    lines = [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(lines) == 12  # 6 samples x 2 repeats
    assert {(x["id"], x["repeat"]) for x in lines} == {(x["id"], r) for x in lines for r in (0, 1)}
    first = lines[0]
    for field in ("id", "dataset", "subset", "repeat", "messages", "gold", "reasoning", "answer", "finish_reason",
                  "completion_tokens", "extracted", "correct", "reason"):
        assert field in first
    assert all(x["dataset"] == "math_500" and isinstance(x["correct"], bool) for x in lines)
    report = json.loads((out / "report.json").read_text())
    overall = next(r for r in report["rows"] if r["subset"] == "OVERALL" and r["metric"] == "AveragePass@1")
    assert abs(sum(x["correct"] for x in lines) / 12 - overall["score"]) < 1e-4
    (out / "predictions.jsonl").unlink()
    again = _cli("report", str(out), "--write-predictions")
    assert again.returncode == 0, again.stderr
    assert [json.loads(x) for x in (out / "predictions.jsonl").read_text().splitlines()] == lines


def test_report_of_a_folder_that_is_not_a_finished_run(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "not a thinklens run folder" in capsys.readouterr().err
