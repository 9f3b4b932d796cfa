#!/usr/bin/env bash
# The main job, end to end on a fresh machine: install, start a mock OpenAI-compatible
# server that replays real DeepSeek-R1-Distill-Qwen-32B answers on MATH-500, evaluate
# against it, print the score table.  Point --api-url at vLLM/SGLang/Ollama for a real model.
#
# The mock server takes a free port (PORT=N to choose one: the script fails if it is taken)
# and the script checks that the server answering is the one it started, so it never
# evaluates whatever else listens there.  THINKLENS_BIN: a thinklens to use instead of
# installing one into .venv (the tests use it).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [ -n "${THINKLENS_BIN:-}" ]; then
  TL="$THINKLENS_BIN"
else
  bash scripts/setup.sh
  TL="$ROOT/.venv/bin/thinklens"
fi
DATA="${THINKLENS_SHARED_DATA:-$ROOT/../shared/data}"
OUT="${1:-outputs/quickstart}"
PORT="${PORT:-0}"

eval_args=(--datasets math_500 --limit "${LIMIT:-100}")
if [ -d "$DATA/model_outputs" ]; then
  MODEL="DeepSeek-R1-Distill-Qwen-32B"  # the replayed answers are that model's
  server_args=(--replay "$DATA"/model_outputs/meitann_R1-Distill-Qwen-32B_math500_part1_400.jsonl
               --replay "$DATA"/model_outputs/meitann_R1-Distill-Qwen-32B_math500_part2_100.jsonl)
  eval_args+=(--dataset-path "math_500=$DATA/benchmarks/math500_test.jsonl")
else
  # No real answers to replay: the server answers \boxed{42} to everything, and the run is
  # named for what it is, never after a real model.
  MODEL="mock-synthetic-boxed-42"
  echo "(no shared data at $DATA: the mock server answers synthetically, as model '$MODEL', and MATH-500 comes from the HF Hub)"
  server_args=(--tokens 200 --answer '\boxed{42}')
fi
SERVER_LOG="$(mktemp)"
"$TL" mock-server --port "$PORT" --model "$MODEL" --ttft 0.05 --tpot 0.0005 --quiet "${server_args[@]}" \
  >"$SERVER_LOG" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; rm -f "$SERVER_LOG"' EXIT
URL=""
for _ in $(seq 600); do
  URL="$(sed -n 's/^listening on //p' "$SERVER_LOG" | head -n 1)"
  [ -n "$URL" ] && break
  if ! kill -0 "$SERVER" 2>/dev/null; then
    echo "error: the mock server did not start (port $PORT):" >&2
    cat "$SERVER_LOG" >&2
    exit 1
  fi
  sleep 0.1
done
if [ -z "$URL" ]; then
  echo "error: the mock server did not start within 60 s:" >&2
  cat "$SERVER_LOG" >&2
  exit 1
fi
# The server that answers must be ours: alive, and serving the model name we gave it.
if ! kill -0 "$SERVER" 2>/dev/null || ! curl -sf "$URL/models" | grep -q "\"$MODEL\""; then
  echo "error: the server at $URL is not the mock server this script started" >&2
  exit 1
fi
"$TL" eval --api-url "$URL" --model "$MODEL" \
  "${eval_args[@]}" --concurrency 32 --max-tokens 32000 --temperature 0.6 --top-p 0.95 --output "$OUT"
echo "report: $OUT/report.json   tables again: thinklens report $OUT   browse: thinklens view $OUT"
if [ -z "${THINKLENS_BIN:-}" ]; then
  echo "thinklens is installed in .venv: run 'source .venv/bin/activate' to have it on your PATH"
fi
