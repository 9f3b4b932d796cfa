"""Generation throughput of `--eval-type vllm` against vLLM's own best, and against transformers.

    PYTHONPATH=src python bench/bench_vllm_throughput.py                  # tiny Qwen2, 16 questions x 4, 128 tokens
    PYTHONPATH=src python bench/bench_vllm_throughput.py --questions 32 --n 8 --max-tokens 256
    PYTHONPATH=src python bench/bench_vllm_throughput.py --model ./checkpoints/step-1200 --skip-transformers

One checkpoint, one prompt set: the first --questions MATH-500 questions as thinklens renders
them (its prompt template, the checkpoint's chat template), --n samples each, exactly
--max-tokens tokens per sample (ignore_eos), temperature 1.0, top_p 1.0:

1. `vllm bench throughput` (vLLM's offline `LLM.generate` on the same prompts, rendered with
   the same chat template, n samples each: the engine's own best),
2. `thinklens eval --eval-type vllm` (AsyncLLM, every sample its own request, committed to the
   store as it finishes, graded on the side),
3. `thinklens eval --eval-type checkpoint` (transformers `generate`, static batches).

Generated tokens per second over the generation phase (engine start-up excluded: vLLM's
figure excludes it too; thinklens's is the store's first-request-to-last-response time),
and each as a ratio of (1).  Wall time including start-up is printed beside it.
Needs the vLLM venv (scripts/setup_vllm.sh); (3) needs torch + transformers in this venv.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))  # the repository root: tests.helpers (never shipped in the wheel)

from tests.helpers.vllm_server import (  # noqa: E402
    MATH500, build_vllm_checkpoint, engine_env, skip_reason, vllm_cli, vllm_python,
)
from thinklens.config import make_config  # noqa: E402
from thinklens.runner import plan_items  # noqa: E402
from thinklens.store import RunStore  # noqa: E402


def eval_args(args: argparse.Namespace, model: str, out: Path) -> list[str]:
    return ["eval", "--model", model, "--datasets", "math_500", "--dataset-path", f"math_500={MATH500}",
            "--limit", str(args.questions), "--n", str(args.n), "--max-tokens", str(args.max_tokens),
            # No --seed: vLLM's bench seeds no request (per-request generators cost a little).
            "--temperature", "1.0", "--top-p", "1.0", "--extra-body", '{"ignore_eos": true}',
            "--no-progress", "-o", str(out)]


def store_throughput(out: Path) -> dict:
    store = RunStore(out)
    try:
        results = [r for r in store.iter_results() if r.generation.ok]
        seconds = store.get_meta("history", [])[-1]["request_seconds"]
    finally:
        store.close()
    tokens = sum(r.generation.usage.completion_tokens or 0 for r in results)
    return {"samples": len(results), "output_tokens": tokens, "seconds": seconds,
            "output_tok_s": tokens / seconds if seconds else None}


def run_vllm_bench(args: argparse.Namespace, model: str, work: Path) -> dict:
    config = make_config({"model": model, "eval_type": "vllm", "datasets": ["math_500"],
                          "dataset_args": {"math_500": {"dataset_id": str(MATH500)}}, "limit": args.questions,
                          "generation_config": {"n": 1}})
    items, _ = plan_items(config)
    # vLLM's throughput bench reads ShareGPT files of raw prompts: render each question with the
    # checkpoint's chat template first (in the vLLM venv, with its transformers), so the engine
    # sees the very tokens `--eval-type vllm` submits.
    messages = work / "messages.json"
    messages.write_text(json.dumps([it.sample.messages for it in items]))
    prompts = work / "prompts_sharegpt.json"
    render = ("import json, sys\nfrom transformers import AutoTokenizer\n"
              "tok = AutoTokenizer.from_pretrained(sys.argv[1])\n"
              "rows = [{'conversations': [{'from': 'human', 'value': tok.apply_chat_template(m, tokenize=False, "
              "add_generation_prompt=True)}, {'from': 'gpt', 'value': 'x'}]} for m in json.load(open(sys.argv[2]))]\n"
              "json.dump(rows, open(sys.argv[3], 'w'))\n")
    subprocess.run([str(vllm_python()), "-c", render, model, str(messages), str(prompts)], check=True, env=engine_env())
    result_json = work / "vllm_bench_throughput.json"
    cmd = vllm_cli("bench", "throughput", "--model", model, "--backend", "vllm", "--dataset-name", "sharegpt",
                   "--dataset-path", str(prompts), "--output-len", str(args.max_tokens),
                   "--num-prompts", str(len(items)), "--n", str(args.n),
                   "--max-model-len", str(args.max_model_len), "--output-json", str(result_json), "--seed", "0")
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=engine_env(), capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"vllm bench throughput failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    m = re.search(r"([\d.]+) output tokens/s", proc.stdout + proc.stderr)
    out_tokens = re.search(r"Total num output tokens:\s+(\d+)", proc.stdout + proc.stderr)
    raw = json.loads(result_json.read_text())
    return {"samples": raw["num_requests"] * args.n, "output_tokens": int(out_tokens.group(1)) if out_tokens else None,
            "seconds": raw["elapsed_time"], "output_tok_s": float(m.group(1)) if m else None, "wall_s": wall}


def run_thinklens(args: argparse.Namespace, model: str, out: Path, *, eval_type: str) -> dict:
    if eval_type == "vllm":
        python, env = str(vllm_python()), engine_env()
        extra = ["--eval-type", "vllm", "--engine-args", json.dumps({"max_model_len": args.max_model_len})]
    else:
        python, env = sys.executable, {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        extra = ["--eval-type", "checkpoint", "--device", "cpu", "--dtype", args.transformers_dtype,
                 "--eval-batch-size", str(min(args.questions * args.n, args.transformers_batch))]
    t0 = time.perf_counter()
    proc = subprocess.run([python, "-m", "thinklens", *eval_args(args, model, out), *extra], env=env,
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"thinklens --eval-type {eval_type} failed:\n{proc.stderr[-3000:]}")
    return {**store_throughput(out), "wall_s": wall}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", help="checkpoint folder (default: build the tiny random Qwen2)")
    p.add_argument("--questions", type=int, default=16)
    p.add_argument("--n", type=int, default=4)
    p.add_argument("--max-tokens", type=int, default=128)
    p.add_argument("--max-model-len", type=int, default=2048)
    p.add_argument("--skip-transformers", action="store_true")
    p.add_argument("--transformers-dtype", default="bfloat16")
    p.add_argument("--transformers-batch", type=int, default=64)
    p.add_argument("--output", help="folder for the results (default: a temporary one)")
    args = p.parse_args()
    reason = skip_reason()
    if reason:
        sys.exit(f"cannot run: {reason}")
    work = Path(args.output or tempfile.mkdtemp(prefix="bench-vllm-throughput-"))
    work.mkdir(parents=True, exist_ok=True)
    model = args.model or str(build_vllm_checkpoint(work / "tiny-qwen2"))
    results = {"load": {"questions": args.questions, "n": args.n, "max_tokens": args.max_tokens,
                        "temperature": 1.0, "ignore_eos": True, "model": model}}
    results["vllm_bench_throughput"] = run_vllm_bench(args, model, work)
    results["thinklens_vllm"] = run_thinklens(args, model, work / "run-vllm", eval_type="vllm")
    if not args.skip_transformers:
        results["thinklens_transformers"] = run_thinklens(args, model, work / "run-transformers", eval_type="checkpoint")
    (work / "bench_vllm_throughput.json").write_text(json.dumps(results, indent=2))
    best = results["vllm_bench_throughput"]["output_tok_s"]
    print(f"\n{args.questions} questions x {args.n} samples x {args.max_tokens} tokens (ignore_eos, T=1.0)\n")
    print("| engine | samples | output tokens | generation s | output tok/s | ratio to vllm bench throughput | wall s (incl. start-up) |")
    print("|---|---|---|---|---|---|---|")
    for name, label in (("vllm_bench_throughput", "vllm bench throughput (LLM.generate)"),
                        ("thinklens_vllm", "thinklens --eval-type vllm"),
                        ("thinklens_transformers", f"thinklens --eval-type checkpoint ({args.transformers_dtype})")):
        r = results.get(name)
        if not r:
            continue
        ratio = f"{r['output_tok_s'] / best:.2f}" if best and r["output_tok_s"] else "-"
        print(f"| {label} | {r['samples']} | {r['output_tokens']} | {r['seconds']:.1f} | {r['output_tok_s']:.0f} | "
              f"{ratio} | {r['wall_s']:.0f} |")
    print(f"\nresults: {work / 'bench_vllm_throughput.json'}")


if __name__ == "__main__":
    main()
