"""Fixtures shared by the whole suite.  Helper code lives in tests/helpers/ (imported as
`tests.helpers.<module>`); bench/ scripts import the same helpers by putting the
repository root on sys.path.  None of it ships in the wheel."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.shared_data import shared_data_dir


@pytest.fixture
def shared_data() -> Callable[[str], Path]:
    """`shared_data("benchmarks/math500_test.jsonl")`: the path in the public data folder,
    or the test skips with the reason (the folder is not part of the repository)."""

    def need(rel: str) -> Path:
        path = shared_data_dir() / rel
        if not path.exists():
            pytest.skip(f"needs {rel} from the shared data folder ({shared_data_dir()}; set THINKLENS_SHARED_DATA)")
        return path

    return need


# ---- a real vLLM engine (tests marked `vllm`; helpers in tests/helpers/vllm_server.py) ------
@pytest.fixture(scope="session")
def vllm_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Qwen2 that vLLM runs (built once per session by the vLLM venv)."""
    from tests.helpers import vllm_server

    reason = vllm_server.skip_reason()
    if reason:
        pytest.skip(reason)
    return vllm_server.build_vllm_checkpoint(tmp_path_factory.mktemp("vllm-tiny-qwen2"))


@pytest.fixture(scope="session")
def vllm_server(vllm_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory):
    """vLLM's OpenAI server on that checkpoint, once per session (60-120 s to start on CPU);
    THINKLENS_VLLM_SERVER_URL: use one already serving that checkpoint as `tiny-r1`."""
    from tests.helpers.vllm_server import VllmServer

    if os.environ.get("THINKLENS_VLLM_SERVER_URL"):
        yield VllmServer.attach(os.environ["THINKLENS_VLLM_SERVER_URL"], vllm_checkpoint)
        return

    with VllmServer(vllm_checkpoint, tmp_path_factory.mktemp("vllm-server") / "server.log") as server:
        yield server
