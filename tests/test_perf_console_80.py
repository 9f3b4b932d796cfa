"""perf's tables in an 80-column pipe (a log, CI) cut no header or number (issue 15)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import thinklens

from tests.helpers.calibration import MockServerProcess

SRC = str(Path(thinklens.__file__).resolve().parents[1])


def test_perf_tables_with_slos_fit_80_columns(tmp_path, shared_data):
    tokenizer = shared_data("tokenizers/qwen2")
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), "COLUMNS": "80"}
    with MockServerProcess("--tokens", "8") as server:
        done = subprocess.run(
            [sys.executable, "-m", "thinklens", "perf", "--url", server.url, "--model", "mock-model",
             "--concurrency", "1", "4", "-n", "8", "--input-tokens", "16", "--output-tokens", "8",
             "--tokenizer", str(tokenizer), "--slo", "ttft=2s", "tpot=1s", "-o", str(tmp_path / "p"), "--no-figures"],
            capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    text = done.stdout + done.stderr
    assert all(len(line) <= 80 for line in text.splitlines()), text
    assert "…" not in text
    for header in ("Level", "OK", "Failed", "Req/s", "Goodput", "SLO", "Metric", "p99.9"):
        assert re.search(rf"[┃ ]{re.escape(header)}[┃ ]", text), header
    assert "c=1" in text and "c=4" in text and re.search(r"(yes|no) \(\d+%\)", text)
