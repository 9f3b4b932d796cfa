"""`thinklens view` as a user runs it: a subprocess serving HTTP, and --export."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.helpers.viewer_data import make_run


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-root")
    make_run(root / "run1", questions=4)
    return root


def test_view_serves_until_interrupted(root: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "thinklens", "view", str(root), "--port", "0", "--lang", "zh"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = proc.stdout.readline()  # printed once the socket is bound
        assert line.startswith("thinklens viewer: http://127.0.0.1:"), line + proc.stderr.read()
        url = line.split()[2]
        with urllib.request.urlopen(url, timeout=30) as resp:
            body = resp.read().decode()
        assert resp.status == 200 and "demo-model" in body and "评测记录" in body
        with urllib.request.urlopen(url + "run/run1/samples", timeout=30) as resp:
            assert resp.status == 200
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=20)
    assert proc.returncode in (0, 130)


def test_busy_port_is_a_clear_error(root: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        proc = subprocess.run([sys.executable, "-m", "thinklens", "view", str(root), "--port", str(port)],
                              capture_output=True, text=True, timeout=60)
    err = " ".join(proc.stderr.split())  # the console wraps long lines
    assert proc.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in err and "--port" in err


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "thinklens", "view", str(tmp_path / "nope")],
                          capture_output=True, text=True, timeout=60)
    err = " ".join(proc.stderr.split())
    assert proc.returncode == 2 and "does not exist" in err and "Traceback" not in err


def test_export_command(root: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    proc = subprocess.run([sys.executable, "-m", "thinklens", "view", str(root), "--export", str(out)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stdout and (out / "index.html").is_file()
    assert (out / "runs" / "run1" / "index.html").is_file()
