#!/usr/bin/env bash
# The main job, end to end on a fresh machine: install, start a mock OpenAI-compatible
# server that replays real DeepSeek-R1-Distill-Qwen-32B answers on MATH-500, evaluate
# against it, print the score table.  Point --api-url at vLLM/SGLang/Ollama for a real model.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
TL="$ROOT/.venv/bin/thinklens"
DATA="${THINKLENS_SHARED_DATA:-$ROOT/../shared/data}"
OUT="${1:-outputs/quickstart}"
PORT="${PORT:-8801}"

server_args=(--port "$PORT" --ttft 0.05 --tpot 0.0005 --quiet)
eval_args=(--datasets math_500 --limit "${LIMIT:-100}")
if [ -d "$DATA/model_outputs" ]; then
  server_args+=(--replay "$DATA"/model_outputs/meitann_R1-Distill-Qwen-32B_math500_part1_400.jsonl
                --replay "$DATA"/model_outputs/meitann_R1-Distill-Qwen-32B_math500_part2_100.jsonl)
  eval_args+=(--dataset-path "math_500=$DATA/benchmarks/math500_test.jsonl")
else
  echo "(no shared data at $DATA: the mock server answers synthetically and MATH-500 comes from the HF Hub)"
  server_args+=(--tokens 200 --answer '\boxed{42}')
fi
"$TL" mock-server "${server_args[@]}" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.1; done
"$TL" eval --api-url "http://127.0.0.1:$PORT/v1" --model DeepSeek-R1-Distill-Qwen-32B \
  "${eval_args[@]}" --eval-batch-size 32 --max-tokens 32000 --temperature 0.6 --top-p 0.95 --output "$OUT"
echo "report: $OUT/report.json   browse: $TL view $OUT"
