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


def _cli(*argv: str, columns: int = 200) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), "COLUMNS": str(columns)}
    return subprocess.run([sys.executable, "-m", "thinklens", *argv], capture_output=True, text=True, timeout=300,
                          env=env)


def _finished_run(tmp_path: Path, shared_data, *extra: str,
                  model: str = "mock-model") -> tuple[Path, subprocess.CompletedProcess]:
    data = shared_data("benchmarks/math500_test.jsonl")
    part1 = shared_data("model_outputs/meitann_R1-Distill-Qwen-32B_math500_part1_400.jsonl")
    out = tmp_path / "run"
    with MockServerProcess("--replay", str(part1), "--model", model) as server:
        done = _cli("eval", "--api-url", server.url, "--model", model, "--datasets", "math_500",
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


def test_tables_in_an_80_column_pipe_cut_no_name_header_or_number(tmp_path, shared_data):
    model = "DeepSeek-R1-Distill-Qwen-32B"
    out, _ = _finished_run(tmp_path, shared_data, model=model)
    shown = _cli("report", str(out), columns=80)  # stdout is a pipe: what a log or CI sees
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert all(len(line) <= 80 for line in text.splitlines()), text
    assert "…" not in text
    assert model in text and "math_500" in text
    for header in ("Dataset", "Metric", "Subset", "Num", "Score", "Gens", "Trunc", "NoAns", "Err", "Ungr", "Tok",
                   "Think"):
        assert f" {header} " in text, header
    report = json.loads((out / "report.json").read_text())
    for row in report["rows"]:
        assert f"{row['score']:.4f}" in text
    for s in report["subsets"]:
        assert f"{s['mean_completion_tokens']:.0f}" in text and f"{s['mean_reasoning_tokens']:.0f}" in text
