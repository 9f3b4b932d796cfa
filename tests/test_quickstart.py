"""scripts/quickstart.sh, the user's way (a subprocess, bash): it evaluates its own mock
server, never whatever already holds a port, and names the model for what answers (issue 15).
THINKLENS_BIN points it at this checkout instead of installing into .venv."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import thinklens

ROOT = Path(__file__).resolve().parents[1]
SRC = str(Path(thinklens.__file__).resolve().parents[1])

pytestmark = pytest.mark.skipif(not (shutil.which("bash") and shutil.which("curl")), reason="needs bash and curl")


def _quickstart(tmp_path: Path, out: Path, **env: str) -> subprocess.CompletedProcess:
    wrapper = tmp_path / "thinklens"
    wrapper.write_text(f"#!/bin/sh\nexec {sys.executable} -m thinklens \"$@\"\n")
    wrapper.chmod(0o755)
    full = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "THINKLENS_BIN": str(wrapper), "LIMIT": "5", "COLUMNS": "200"}
    full.pop("PORT", None)  # the caller's environment never chooses the port; a test may
    full.update(env)
    return subprocess.run(["bash", str(ROOT / "scripts" / "quickstart.sh"), str(out)], capture_output=True,
                          text=True, timeout=300, env=full, cwd=tmp_path)


def test_a_taken_port_fails_instead_of_evaluating_its_holder(tmp_path, shared_data):
    shared_data("model_outputs")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _quickstart(tmp_path, tmp_path / "out", PORT=str(port))
    assert done.returncode != 0
    assert "the mock server did not start" in done.stderr
    assert not (tmp_path / "out").exists()


def test_the_quickstart_evaluates_its_own_server_under_the_replayed_models_name(tmp_path, shared_data):
    shared_data("model_outputs")
    with socket.socket() as other:  # another server on some port does not matter: the script picks a free one
        other.bind(("127.0.0.1", 0))
        other.listen()
        done = _quickstart(tmp_path, tmp_path / "out")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "is not in" not in done.stderr  # the mock server serves the model name it was given
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["model"] == "DeepSeek-R1-Distill-Qwen-32B"
    overall = next(r for r in report["rows"] if r["subset"] == "OVERALL")
    assert overall["num"] == 5 and overall["score"] > 0.5  # real answers, not \boxed{42}


def test_without_data_the_synthetic_answers_are_not_named_after_a_real_model(tmp_path):
    # No shared data and no Hub (offline, empty cache): the server starts under its own name,
    # then eval stops at the dataset with the Hub's error; nothing is called DeepSeek.
    done = _quickstart(tmp_path, tmp_path / "out", THINKLENS_SHARED_DATA=str(tmp_path / "none"),
                       HF_HUB_OFFLINE="1", HF_HOME=str(tmp_path / "hf"), HF_HUB_CACHE=str(tmp_path / "hf"))
    assert done.returncode == 2, done.stderr[-3000:]
    assert "as model 'mock-synthetic-boxed-42'" in done.stdout
    assert "cannot reach the Hugging Face Hub" in done.stderr
    assert "DeepSeek" not in done.stdout + done.stderr
