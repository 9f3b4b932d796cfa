"""Rerunning into a folder with another config says what happened and moves the files
derived from the old plan aside (issue 15): no efficiency.json of another plan stays
next to the new run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import thinklens
from thinklens.store import RunStore

from tests.helpers.calibration import MockServerProcess

SRC = str(Path(thinklens.__file__).resolve().parents[1])


def _cli(*argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "thinklens", *argv], capture_output=True, text=True, timeout=300,
                          env=env)


def test_a_changed_config_is_announced_and_old_derived_files_move_aside(tmp_path, shared_data):
    data = shared_data("benchmarks/math500_test.jsonl")
    part1 = shared_data("model_outputs/meitann_R1-Distill-Qwen-32B_math500_part1_400.jsonl")
    out = tmp_path / "run"
    with MockServerProcess("--replay", str(part1)) as server:
        def run_eval(*extra: str) -> subprocess.CompletedProcess:
            done = _cli("eval", "--api-url", server.url, "--model", "mock-model", "--datasets", "math_500",
                        "--dataset-path", f"math_500={data}", "--limit", "3", "--output", str(out), "--no-progress",
                        *extra)
            assert done.returncode == 0, done.stderr[-3000:]
            return done

        first = run_eval("--temperature", "0.6")
        assert "config changed" not in first.stderr
        eff = _cli("efficiency", str(out), "--no-figures", "--no-progress", "--grading-workers", "1")
        assert eff.returncode == 0, eff.stderr[-3000:]
        assert (out / "efficiency.json").is_file()
        resumed = run_eval("--temperature", "0.6")  # same config: a plain resume, nothing moved
        assert "config changed" not in resumed.stderr and (out / "efficiency.json").is_file()
        second = run_eval("--temperature", "0.7")
    err = " ".join(second.stderr.split())
    assert "config changed: 0 of 3 planned samples are stored already" in err
    store = RunStore(out, readonly=True)
    try:
        [previous] = store.get_meta("previous_configs")
    finally:
        store.close()
    tag = previous["tag"]
    assert previous["config"]["generation_config"]["temperature"] == 0.6 and previous["planned"] == 3
    assert f"under config {tag}" in err and f"moved efficiency.json of that plan to superseded-{tag}/" in err
    assert not (out / "efficiency.json").exists()
    assert json.loads((out / f"superseded-{tag}" / "efficiency.json").read_text())["subsets"]
