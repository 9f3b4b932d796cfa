"""The checkpoint backend's dependencies: imported only when used, a clear message when missing.

These tests need no torch: they simulate its absence (with torch absent for real, the
message lists it too, and the `transformers` case still holds).  The version check needs
transformers and skips without it.
"""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from thinklens.backend import make_backend
from thinklens.config import make_config
from thinklens.errors import ConfigError

pytestmark = pytest.mark.local


def _forget_local_package(monkeypatch) -> None:
    for name in list(sys.modules):
        if name == "thinklens.local" or name.startswith("thinklens.local."):
            monkeypatch.delitem(sys.modules, name)


@pytest.mark.parametrize("missing", ["torch", "transformers"])
def test_missing_torch_or_transformers_is_a_config_error_with_the_install_hint(monkeypatch, missing):
    _forget_local_package(monkeypatch)
    monkeypatch.setitem(sys.modules, missing, None)  # `import <missing>` now raises ImportError
    config = make_config({"model": "Qwen/Qwen3-0.6B", "eval_type": "checkpoint", "datasets": ["math_500"]})
    with pytest.raises(ConfigError) as info:
        make_backend(config)
    message = str(info.value)
    assert "pip install 'thinklens[local]'" in message and missing in message
    with pytest.raises(ImportError, match=r"needs torch and transformers; missing: (torch .*; )?" + missing):
        importlib.import_module("thinklens.local")


def test_too_old_transformers_is_reported(monkeypatch):
    pytest.importorskip("transformers", reason="transformers is not installed")
    import transformers

    _forget_local_package(monkeypatch)
    monkeypatch.setattr(transformers, "__version__", "4.30.2")
    with pytest.raises(ImportError, match=r"transformers>=4\.45, found 4\.30\.2"):
        importlib.import_module("thinklens.local")


def test_the_service_path_never_imports_torch():
    code = (
        "import sys; import thinklens.runner, thinklens.cli, thinklens.backend; "
        "from thinklens.cli import build_parser; build_parser(); "
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
