"""`thinklens perf` against the engine's own truth, on one real vLLM server and one load.

    PYTHONPATH=src python bench/bench_vllm_perf.py                       # starts a server on the tiny Qwen2
    PYTHONPATH=src python bench/bench_vllm_perf.py --concurrency 8 --requests 80 --output-len 128
    PYTHONPATH=src python bench/bench_vllm_perf.py --url http://127.0.0.1:8000/v1 --model NAME --tokenizer DIR

In the same run, against the same server, with the same load (closed loop of --concurrency
requests, --requests of them, random prompts of --input-len tokens, exactly --output-len
tokens each with ignore_eos, streaming chat completions):

1. `thinklens perf`,
2. `vllm bench serve` (shipped with vLLM; `--backend openai-chat`),

and around each the server's Prometheus `/metrics` are scraped, so each client's figures sit
next to what the server itself measured for those very requests (TTFT, TPOT, ITL, E2E
histograms; token counters).  Server-side means are exact (_sum/_count); its p50/p99 are
Prometheus histogram_quantile estimates, as precise as the buckets.  Client minus server is
what the client adds: HTTP, SSE parsing, its own event loop.

Needs the vLLM venv (scripts/setup_vllm.sh); writes bench_vllm_perf.json to --output.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))  # the repository root: tests.helpers (never shipped in the wheel)

from tests.helpers.vllm_server import (  # noqa: E402
    PromMetrics, VllmServer, build_vllm_checkpoint, engine_env, skip_reason, vllm_cli,
)

# Server histograms (name, seconds) and the client keys they correspond to.
SERVER = {
    "ttft": "vllm:time_to_first_token_seconds",
    "tpot": "vllm:request_time_per_output_token_seconds",
    "itl": "vllm:inter_token_latency_seconds",
    "e2e": "vllm:e2e_request_latency_seconds",
}


def run_thinklens(server: VllmServer, tokenizer: str, args: argparse.Namespace, out: Path) -> dict:
    cmd = [sys.executable, "-m", "thinklens", "perf", "--url", server.url, "--model", server.model,
           "--concurrency", str(args.concurrency), "--requests", str(args.requests), "--no-hold-load",
           "--input-tokens", str(args.input_len), "--output-tokens", str(args.output_len), "--ignore-eos",
           "--tokenizer", tokenizer, "--no-figures", "--quiet", "-o", str(out)]
    cpu = _children_cpu()
    subprocess.run(cmd, check=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    cpu = _children_cpu() - cpu
    level = json.loads((out / "summary.json").read_text())["levels"][0]
    figures = {"requests_ok": level["requests_ok"], "request_throughput": level["request_throughput"],
               "output_throughput": level["output_throughput"], "client_cpu_s": cpu}
    for key in ("ttft", "tpot", "itl", "e2e"):
        stats = level.get(key) or {}
        figures.update({f"{key}_mean": stats.get("mean"), f"{key}_p50": stats.get("p50"), f"{key}_p99": stats.get("p99")})
    return figures


def run_vllm_bench(server: VllmServer, tokenizer: str, args: argparse.Namespace, out: Path) -> dict:
    cmd = vllm_cli(
        "bench", "serve", "--backend", "openai-chat", "--base-url", server.base_url,
        "--endpoint", "/v1/chat/completions", "--model", server.model, "--tokenizer", tokenizer,
        "--dataset-name", "random", "--random-input-len", str(args.input_len),
        "--random-output-len", str(args.output_len), "--ignore-eos", "--num-prompts", str(args.requests),
        "--max-concurrency", str(args.concurrency), "--request-rate", "inf", "--num-warmups", "0",
        "--percentile-metrics", "ttft,tpot,itl,e2el", "--metric-percentiles", "50,99", "--disable-tqdm",
        "--save-result", "--result-dir", str(out), "--result-filename", "vllm_bench_serve.json", "--seed", "0",
    )
    cpu = _children_cpu()
    subprocess.run(cmd, check=True, env=engine_env(), stdout=subprocess.DEVNULL)
    cpu = _children_cpu() - cpu
    raw = json.loads((out / "vllm_bench_serve.json").read_text())
    ms = 1e-3
    figures = {"requests_ok": raw.get("completed"), "request_throughput": raw.get("request_throughput"),
               "output_throughput": raw.get("output_throughput"), "client_cpu_s": cpu}
    for key, name in (("ttft", "ttft"), ("tpot", "tpot"), ("itl", "itl"), ("e2e", "e2el")):
        figures[f"{key}_mean"] = _scaled(raw.get(f"mean_{name}_ms"), ms)
        figures[f"{key}_p50"] = _scaled(raw.get(f"median_{name}_ms", raw.get(f"p50_{name}_ms")), ms)
        figures[f"{key}_p99"] = _scaled(raw.get(f"p99_{name}_ms"), ms)
    return figures


def _children_cpu() -> float:
    """CPU seconds used by finished child processes (the client under test; on a small machine
    a client's CPU is taken from the server it measures)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _scaled(value: float | None, factor: float) -> float | None:
    return None if value is None else value * factor


def server_figures(delta: PromMetrics) -> dict:
    figures = {"requests_ok": delta.get("vllm:request_success_total"),
               "prompt_tokens": delta.get("vllm:prompt_tokens_total"),
               "generation_tokens": delta.get("vllm:generation_tokens_total")}
    for key, name in SERVER.items():
        figures[f"{key}_mean"] = delta.mean(name)
        figures[f"{key}_p50"] = delta.quantile(name, 0.50)
        figures[f"{key}_p99"] = delta.quantile(name, 0.99)
    return figures


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v * 1e3:.1f}"


def _delta(client: float | None, server: float | None) -> str:
    if client is None or server is None:
        return "-"
    d = (client - server) * 1e3
    pct = f" ({100 * (client - server) / server:+.0f}%)" if server else ""
    return f"{d:+.1f}{pct}"


def print_table(results: dict) -> None:
    tl, vb = results["thinklens"], results["vllm_bench_serve"]
    st, sv = results["server_during_thinklens"], results["server_during_vllm_bench"]
    print("\n| metric (ms) | thinklens perf | /metrics (its run) | Δ thinklens−server | vllm bench serve | "
          "/metrics (its run) | Δ bench−server |")
    print("|---|---|---|---|---|---|---|")
    for key in ("ttft", "tpot", "itl", "e2e"):
        for stat in ("mean", "p50", "p99"):
            k = f"{key}_{stat}"
            print(f"| {key.upper()} {stat} | {_ms(tl[k])} | {_ms(st[k])} | {_delta(tl[k], st[k])} | "
                  f"{_ms(vb[k])} | {_ms(sv[k])} | {_delta(vb[k], sv[k])} |")
    print(f"| requests ok | {tl['requests_ok']} | {st['requests_ok']:.0f} | | {vb['requests_ok']} | "
          f"{sv['requests_ok']:.0f} | |")
    print(f"| req/s | {tl['request_throughput']:.2f} | | | {vb['request_throughput']:.2f} | | |")
    print(f"| output tok/s | {tl['output_throughput']:.1f} | | | {vb['output_throughput']:.1f} | | |")
    print(f"| client CPU s (whole process) | {tl['client_cpu_s']:.1f} | | | {vb['client_cpu_s']:.1f} | | |")
    print(f"| generated tokens (server) | | {st['generation_tokens']:.0f} | | | {sv['generation_tokens']:.0f} | |")
    print("\nserver p50/p99 are histogram_quantile estimates (bucket-limited); server means are exact.")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", help="an already running vLLM server (…/v1); default: start one on the tiny Qwen2")
    p.add_argument("--model", help="its served model name (with --url)")
    p.add_argument("--tokenizer", help="the model's tokenizer folder (with --url)")
    p.add_argument("--concurrency", type=int, default=4)
    p.add_argument("--requests", type=int, default=40)
    p.add_argument("--input-len", type=int, default=128)
    p.add_argument("--output-len", type=int, default=64)
    p.add_argument("--bench-first", action="store_true", help="run vllm bench serve first (order effects)")
    p.add_argument("--output", default=None, help="folder for the results (default: a temporary one)")
    args = p.parse_args()
    reason = skip_reason()
    if reason:
        sys.exit(f"cannot run: {reason}")
    work = Path(args.output or tempfile.mkdtemp(prefix="bench-vllm-perf-"))
    work.mkdir(parents=True, exist_ok=True)
    if args.url:
        if not (args.model and args.tokenizer):
            sys.exit("--url needs --model and --tokenizer")
        server = VllmServer.attach(args.url, Path(args.tokenizer))
        server.model = args.model
    else:
        checkpoint = build_vllm_checkpoint(work / "tiny-qwen2")
        server = VllmServer(checkpoint, work / "server.log")
        print(f"vLLM server ready in {server.ready_seconds:.0f} s at {server.url}")
    tokenizer = str(args.tokenizer or server.checkpoint)
    try:
        if args.bench_first:
            b0 = server.metrics()
            bench_figures = run_vllm_bench(server, tokenizer, args, work)
            b1 = t0 = server.metrics()
            thinklens_figures = run_thinklens(server, tokenizer, args, work / "thinklens")
            t1 = server.metrics()
        else:
            t0 = server.metrics()
            thinklens_figures = run_thinklens(server, tokenizer, args, work / "thinklens")
            t1 = b0 = server.metrics()
            bench_figures = run_vllm_bench(server, tokenizer, args, work)
            b1 = server.metrics()
    finally:
        server.stop()
    results = {
        "load": {"concurrency": args.concurrency, "requests": args.requests, "input_len": args.input_len,
                 "output_len": args.output_len, "ignore_eos": True, "endpoint": "chat/completions, streaming"},
        "thinklens": thinklens_figures,
        "server_during_thinklens": server_figures(t1.minus(t0)),
        "vllm_bench_serve": bench_figures,
        "server_during_vllm_bench": server_figures(b1.minus(b0)),
        "order": "vllm bench serve, then thinklens" if args.bench_first else "thinklens, then vllm bench serve",
    }
    (work / "bench_vllm_perf.json").write_text(json.dumps(results, indent=2))
    print_table(results)
    print(f"\nresults: {work / 'bench_vllm_perf.json'}")


if __name__ == "__main__":
    main()
