"""Storage faults and interruptions: a corrupt store, a read-only folder, a full disk and
Ctrl-C each give one line and the right exit code (2, or 130), lose nothing stored, and
leave no partial report.json or temporary file.  Invented questions only.

The read-only and full-disk cases mount a tiny tmpfs in a private mount namespace
(`unshare -m`, which needs root): chmod does not stop root, a real file system does.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from thinklens.atomic import atomic_write_text
from thinklens.cli import main
from thinklens.mock_server import MockServerConfig, run_mock_server

SRC = Path(__file__).resolve().parents[1] / "src"
DEADLINE = 120.0


def _questions(path: Path, n: int) -> Path:
    path.write_text("\n".join(json.dumps({"problem": f"What is {i} + 3?", "answer": str(i + 3), "level": 1 + i % 3,
                                          "unique_id": f"fault/{i}"}) for i in range(n)) + "\n")
    return path


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))}


def _eval_cmd(url: str, data: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "thinklens", "eval", "--api-url", url, "--model", "mock-model", "--datasets",
            "math_500", "--dataset-path", f"math_500={data}", "--no-progress", "--output", str(out), *extra]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*.tmp"))


def _one_line_error(err: str) -> str:
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture(scope="module")
def server():
    with run_mock_server(MockServerConfig(answer=r"\boxed{4}", tokens=20)) as handle:
        yield handle


def test_corrupt_store_exits_2_with_one_line(server, tmp_path):
    data, out = _questions(tmp_path / "q.jsonl", 3), tmp_path / "run"
    out.mkdir()
    garbage = b"this is not a database, just some bytes\n" * 100
    (out / "run.sqlite").write_bytes(garbage)
    proc = subprocess.run(_eval_cmd(server.url, data, out), capture_output=True, text=True, env=_env(),
                          timeout=DEADLINE)
    assert proc.returncode == 2
    line = _one_line_error(proc.stderr)
    assert str(out / "run.sqlite") in line and "not a thinklens run store" in line and "Move it away" in line
    assert (out / "run.sqlite").read_bytes() == garbage  # nothing overwritten
    assert not (out / "report.json").exists() and not _leftovers(out)
    # the same for --regrade and efficiency, which write to the folder too
    for argv in (["eval", "--regrade", str(out)], ["efficiency", str(out), "--no-figures", "--no-progress"]):
        proc = subprocess.run([sys.executable, "-m", "thinklens", *argv], capture_output=True, text=True,
                              env=_env(), timeout=DEADLINE)
        assert proc.returncode == 2, proc.stderr
        assert "not a thinklens run store" in _one_line_error(proc.stderr)


def _mount_namespace_or_skip() -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) to mount a tmpfs in a private mount namespace")
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt && umount /mnt"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs in a private mount namespace here: {probe.stderr.strip()}")


def _in_namespace(script: str, **env: str) -> subprocess.CompletedProcess:
    """A bash script in a private mount namespace: its mounts vanish with it."""
    return subprocess.run(["unshare", "-m", "bash", "-c", script], capture_output=True, text=True,
                          env={**_env(), **env}, timeout=4 * DEADLINE)


def _rcs(stdout: str) -> dict[str, int]:
    return {k: int(v) for k, v in (line.split("=") for line in stdout.split() if line.startswith("rc"))}


def test_read_only_folder_exits_2_and_changes_nothing(server, tmp_path):
    _mount_namespace_or_skip()
    data, run = _questions(tmp_path / "q.jsonl", 3), tmp_path / "run"
    assert main(["eval", "--api-url", server.url, "--model", "mock-model", "--datasets", "math_500",
                 "--dataset-path", f"math_500={data}", "--no-progress", "--output", str(run), "--n", "1"]) == 0
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    # A resume asking for more repeats than stored, on a folder that cannot be written.
    script = """
        mount -t tmpfs -o size=16m tmpfs "$MNT" && cp -a "$RUN" "$MNT/run" && mount -o remount,ro "$MNT" || exit 99
        "$PY" -m thinklens eval --api-url "$URL" --model mock-model --datasets math_500 \\
            --dataset-path "math_500=$DATA" --no-progress --n 2 --output "$MNT/run" 2> "$ERR"
        echo rc1=$?
        cmp -s "$MNT/run/report.json" "$RUN/report.json"; echo rc_same_report=$?
        "$PY" -m thinklens eval --regrade "$MNT/run" 2> "$ERR2"; echo rc2=$?
    """
    proc = _in_namespace(script, MNT=str(mnt), RUN=str(run), PY=sys.executable, URL=server.url, DATA=str(data),
                         ERR=str(tmp_path / "err"), ERR2=str(tmp_path / "err2"))
    rcs = _rcs(proc.stdout)
    assert rcs.get("rc1") == 2, (proc.stdout, proc.stderr, (tmp_path / "err").read_text())
    line = _one_line_error((tmp_path / "err").read_text())
    assert "not writable" in line and str(mnt / "run") in line
    assert rcs["rc_same_report"] == 0
    assert rcs["rc2"] == 2 and "not writable" in _one_line_error((tmp_path / "err2").read_text())
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before


def test_full_disk_exits_2_keeps_what_is_stored_and_resumes(tmp_path):
    _mount_namespace_or_skip()
    n = 150
    data, mnt = _questions(tmp_path / "q.jsonl", n), tmp_path / "mnt"
    mnt.mkdir()
    # Long answers (~10 kB each): a 1 MB disk fills in the middle of the run.
    with run_mock_server(MockServerConfig(answer=r"\boxed{4}", tokens=2000)) as big:
        script = """
            mount -t tmpfs -o size=1m tmpfs "$MNT" || exit 99
            "$PY" -m thinklens eval --api-url "$URL" --model mock-model --datasets math_500 \\
                --dataset-path "math_500=$DATA" --no-progress --eval-batch-size 8 --output "$MNT/run" 2> "$ERR1"
            echo rc1=$?
            ls -A "$MNT/run" > "$FILES1"
            "$PY" -c "import sqlite3,sys; print('stored=%d' % sqlite3.connect(sys.argv[1]).execute(
                'SELECT COUNT(*) FROM results').fetchone()[0])" "$MNT/run/run.sqlite" 2>/dev/null || echo stored=-1
            mount -o remount,size=64m tmpfs "$MNT"        # space freed: the same command resumes
            "$PY" -m thinklens eval --api-url "$URL" --model mock-model --datasets math_500 \\
                --dataset-path "math_500=$DATA" --no-progress --eval-batch-size 8 --output "$MNT/run" 2> "$ERR2"
            echo rc2=$?
            cp "$MNT/run/report.json" "$REPORT"
        """
        proc = _in_namespace(script, MNT=str(mnt), PY=sys.executable, URL=big.url, DATA=str(data),
                             ERR1=str(tmp_path / "err1"), ERR2=str(tmp_path / "err2"),
                             FILES1=str(tmp_path / "files1"), REPORT=str(tmp_path / "report.json"))
    rcs = _rcs(proc.stdout)
    err1 = (tmp_path / "err1").read_text()
    assert rcs.get("rc1") == 2, (proc.stdout, proc.stderr, err1)
    line = _one_line_error(err1)
    assert "disk is full" in line and "run the same command again" in line
    files = (tmp_path / "files1").read_text().split()
    assert "report.json" not in files and not [f for f in files if f.endswith(".tmp")], files
    stored = int(proc.stdout.split("stored=")[1].split()[0])
    assert 0 < stored < n  # it filled up in the middle; what was stored is readable
    err2 = (tmp_path / "err2").read_text()
    assert rcs["rc2"] == 0, err2
    resumed = re.search(r"\((\d+) stored, (\d+) to run\)", " ".join(err2.split()))
    assert resumed and int(resumed[1]) > 0 and int(resumed[1]) + int(resumed[2]) == n  # nothing stored was lost
    overall = [r for r in json.loads((tmp_path / "report.json").read_text())["rows"] if r["subset"] == "OVERALL"]
    assert overall[0]["num"] == n


def test_ctrl_c_prints_one_line_and_exits_130(tmp_path):
    # Slow streams (and answers that need the grading workers): Ctrl-C lands mid-run.
    slow = MockServerConfig(answer=r"The answer is \boxed{\frac{8}{2}+0\cdot x}", tokens=200, tpot=0.01)
    data, out = _questions(tmp_path / "q.jsonl", 40), tmp_path / "run"
    with run_mock_server(slow) as server:
        proc = subprocess.Popen(_eval_cmd(server.url, data, out, "--eval-batch-size", "4"), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=_env())
        deadline = time.monotonic() + DEADLINE
        stored = 0
        while stored < 2:  # some samples stored, most still to come
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read() if proc.poll() else ""
            try:
                conn = sqlite3.connect(out / "run.sqlite", timeout=1)
                stored = conn.execute("SELECT COUNT(*) FROM results WHERE graded = 1").fetchone()[0]
                conn.close()
            except sqlite3.OperationalError:
                pass
            time.sleep(0.05)  # polling interval, not ordering
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=DEADLINE)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "never retrieved" not in err and "Exception" not in err, err
    assert len([line for line in err.splitlines() if "interrupted" in line]) == 1, err
    conn = sqlite3.connect(out / "run.sqlite")
    kept = conn.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    conn.close()
    assert stored <= kept < 40
    assert not (out / "report.json").exists() and not _leftovers(out)


def test_interrupted_atomic_write_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "report.json"
    target.mkdir()  # os.replace of a file over a directory fails after the data was written
    (target / "keep").write_text("x")
    with pytest.raises(OSError):
        atomic_write_text(target, "{}" * 100_000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]
    assert (target / "keep").read_text() == "x"
    atomic_write_text(tmp_path / "config.yaml", "a: 1\n")
    atomic_write_text(tmp_path / "config.yaml", "a: 2\n")
    assert (tmp_path / "config.yaml").read_text() == "a: 2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", "report.json"]
