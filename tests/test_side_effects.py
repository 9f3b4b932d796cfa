"""Using thinklens as a library leaves the process as it found it: the matplotlib
backend, the open-file limit, the garbage collector's settings.

The backend and limit checks run in a fresh interpreter: the test process has long
since chosen its backend and may have changed its limits."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import pytest

import thinklens

SRC = str(Path(thinklens.__file__).resolve().parents[1])


def _python(code: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), "MPLBACKEND": ""}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env,
                          cwd=tmp_path)


def test_drawing_figures_keeps_the_users_matplotlib_backend(tmp_path):
    pytest.importorskip("matplotlib", reason="figures are the [figures] extra")
    code = """
import sys
from pathlib import Path
import matplotlib
matplotlib.use("svg")  # the user's choice (a notebook would have its inline backend)
import thinklens.perf.figures
from thinklens.efficiency.figures import plot_grid
from thinklens.efficiency.metrics import METRICS
entries = {"Level 1": {m: 1.0 for m in METRICS}, "Level 2": {m: 0.5 for m in METRICS}}
paths = plot_grid([("model", entries)], ["Level 1", "Level 2"], "title", Path("fig"))
assert all(p.stat().st_size > 0 for p in paths), paths
print(matplotlib.get_backend(), "matplotlib.pyplot" in sys.modules)
"""
    out = _python(code, tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["svg", "False"]


def test_the_in_process_mock_server_leaves_the_open_file_limit_alone(tmp_path):
    resource = pytest.importorskip("resource", reason="POSIX only")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard <= 512:
        pytest.skip(f"the hard limit ({hard}) leaves nothing to raise")
    code = """
import resource
from thinklens.mock_server import run_mock_server
_, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (512, hard))
with run_mock_server() as server:
    during = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
print(during, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
"""
    out = _python(code, tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["512", "512"]


def test_the_perf_gc_settings_hold_only_inside_a_level():
    from thinklens.perf.eventloop import quiet_gc

    before = (gc.get_threshold(), gc.get_freeze_count(), gc.isenabled())
    with pytest.raises(RuntimeError):
        with quiet_gc():
            assert gc.get_threshold()[0] >= 35_000 and gc.get_freeze_count() > 0
            raise RuntimeError("a level that failed")
    assert (gc.get_threshold(), gc.get_freeze_count(), gc.isenabled()) == before
