"""One writer per run folder: a second eval (or --regrade, or efficiency) on a folder in
use exits 2 naming the holder, or waits with --wait-lock; the lock dies with its holder,
even on kill -9.  Invented questions only."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from thinklens.cli import main
from thinklens.mock_server import MockServerConfig, run_mock_server

SRC = Path(__file__).resolve().parents[1] / "src"
DEADLINE = 120.0


def _tiny_math(path: Path, n: int = 3) -> Path:
    path.write_text("\n".join(json.dumps({"problem": f"What is {i} + 2?", "answer": str(i + 2), "level": 1,
                                          "unique_id": f"lock/{i}"}) for i in range(n)) + "\n")
    return path


@pytest.fixture(scope="module")
def server():
    with run_mock_server(MockServerConfig(answer=r"\boxed{3}", tokens=10)) as handle:
        yield handle


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))}


class Holder:
    """Another process holding the folder's lock until its stdin closes."""

    def __init__(self, run_dir: Path):
        code = ("import sys; from thinklens.runlock import RunLock; l = RunLock(sys.argv[1]).acquire(); "
                "print('locked', flush=True); sys.stdin.read()")
        self.proc = subprocess.Popen([sys.executable, "-c", code, str(run_dir)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=_env())
        assert self.proc.stdout.readline().strip() == "locked"

    def release(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(DEADLINE)


def _eval_args(url: str, data: Path, out: Path) -> list[str]:
    return ["eval", "--api-url", url, "--model", "mock-model", "--datasets", "math_500", "--dataset-path",
            f"math_500={data}", "--no-progress", "--output", str(out)]


def test_second_writer_exits_2_naming_the_holder(server, tmp_path, capsys):
    data, out = _tiny_math(tmp_path / "tiny.jsonl"), tmp_path / "run"
    assert main(_eval_args(server.url, data, out)) == 0
    capsys.readouterr()
    report = (out / "report.json").read_text()
    holder = Holder(out)
    try:
        assert main(_eval_args(server.url, data, out)) == 2
        err = capsys.readouterr().err
        assert f"pid {holder.proc.pid}" in err and "--wait-lock" in err and "started" in err
        assert main(["eval", "--regrade", str(out)]) == 2  # re-grading writes too
        assert f"pid {holder.proc.pid}" in capsys.readouterr().err
        assert main(["efficiency", str(out), "--no-figures", "--no-progress"]) == 2
        assert f"pid {holder.proc.pid}" in capsys.readouterr().err
        assert not (out / "efficiency.json").exists()
        assert (out / "report.json").read_text() == report  # nothing touched
        # readers need no lock
        assert main(["export", str(out), "-o", str(tmp_path / "x.jsonl")]) == 0
    finally:
        holder.release()
    assert main(_eval_args(server.url, data, out)) == 0  # released: the folder is free again


def test_wait_lock_waits_for_the_holder(server, tmp_path):
    data, out = _tiny_math(tmp_path / "tiny.jsonl"), tmp_path / "run"
    holder = Holder(out)
    waiter = subprocess.Popen([sys.executable, "-m", "thinklens", *_eval_args(server.url, data, out), "--wait-lock"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    try:
        deadline = time.monotonic() + DEADLINE
        lines = []
        while f"pid {holder.proc.pid}" not in " ".join(lines):  # it saw the holder and waits
            assert time.monotonic() < deadline and waiter.poll() is None, "".join(lines)
            lines.append(waiter.stderr.readline().strip())
        assert "waiting for run folder" in " ".join(lines)
        assert not (out / "run.sqlite").exists()
        holder.release()
        _, err = waiter.communicate(timeout=DEADLINE)
        assert waiter.returncode == 0, err
        assert json.loads((out / "report.json").read_text())["rows"]
    finally:
        if waiter.poll() is None:
            waiter.kill()
        if holder.proc.poll() is None:
            holder.release()


def test_lock_dies_with_a_killed_holder(server, tmp_path):
    data, out = _tiny_math(tmp_path / "tiny.jsonl"), tmp_path / "run"
    holder = Holder(out)
    os.kill(holder.proc.pid, signal.SIGKILL)
    holder.proc.wait(DEADLINE)
    assert (out / ".lock").exists()  # the file stays; the kernel dropped the lock
    assert main(_eval_args(server.url, data, out)) == 0
