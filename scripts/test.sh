#!/usr/bin/env bash
# Install everything the tests need (from the project files alone) and run them.
#   bash scripts/test.sh            # the whole suite, as CI runs it
#   bash scripts/test.sh -k grading # extra arguments go to pytest
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
EXTRAS=test bash scripts/setup.sh
VPY="$ROOT/.venv/bin/python"
# The transformers backend's tests: CPU torch (resolves offline here) + transformers.
if ! "$VPY" -c "import torch, transformers" 2>/dev/null; then
  "$VPY" -m pip install -q --disable-pip-version-check "torch==2.13.0" "transformers>=4.51" \
    || echo "warning: torch/transformers not installed: the local-backend tests will be skipped"
fi
# The vLLM tests (marker vllm): vLLM in its own venv, .venv-vllm (~3.5 GB, ~5 min the first time).
bash scripts/setup_vllm.sh \
  || echo "warning: vLLM not installed: the vllm tests will be skipped"
# Browser tests: Debian's Chromium (never a downloaded browser build).
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "warning: chromium not installed: the browser tests will be skipped"
fi
exec "$VPY" -m pytest -q -p no:cacheprovider "$@"
