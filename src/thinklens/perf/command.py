"""`thinklens perf`: load-test an OpenAI-compatible server (vLLM, SGLang, Ollama, ...).

    thinklens perf --url http://127.0.0.1:8801/v1 --model QwQ-32B --concurrency 1 8 32 128 \\
        --requests 512 --dataset random --input-tokens 1024 --output-tokens 2048 --ignore-eos \\
        --tokenizer Qwen/QwQ-32B --output perf/qwq
    thinklens perf ... --rate 2 4 8 inf --max-concurrency 256 --duration 120
    thinklens perf ... --dataset math_500
    thinklens perf ... --speed-benchmark
    thinklens perf ... --search concurrency --slo ttft=2s --slo tpot=50ms

Its parser lives in thinklens/commands/perf_args.py (light: built by every `thinklens` call).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .config import PerfConfig, Warmup
from .slo import SLO


def config_from_args(args: argparse.Namespace) -> PerfConfig:
    extra: dict[str, Any] = {}
    if args.extra_body:
        try:
            extra = json.loads(args.extra_body)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--extra-body is not valid JSON: {exc.msg}") from None
        if not isinstance(extra, dict):
            raise ConfigError("--extra-body must be a JSON object")
    dataset = args.dataset
    speed = args.speed_benchmark or dataset == "speed_benchmark"
    if speed:
        dataset = "random"
    if args.speed_benchmark_long and not speed:
        raise ConfigError("--speed-benchmark-long goes with --speed-benchmark")
    if args.dataset_path and dataset == "random" and not speed:
        dataset = "file"  # a prompts file given without --dataset file
    output = Path(args.output) if args.output else Path("outputs") / time.strftime("perf-%Y%m%d-%H%M%S")
    return PerfConfig(
        urls=tuple(args.url),
        model=args.model,
        api_key=args.api_key or os.environ.get("OPENAI_API_KEY") or None,
        concurrency=tuple(args.concurrency),
        rate=tuple(args.rate),
        max_concurrency=args.max_concurrency,
        burstiness=args.burstiness,
        requests=args.requests,
        duration=args.duration,
        warmup=Warmup.parse(args.warmup),
        hold_load=args.hold_load,
        warm_connections=args.warm_connections,
        ramp_up=args.ramp_up,
        grace=args.grace,
        dataset=dataset,
        dataset_path=args.dataset_path,
        input_tokens=tuple(args.input_tokens) if args.input_tokens else (1024,),
        output_tokens=args.output_tokens,
        prefix_tokens=args.prefix_tokens,
        range_ratio=args.range_ratio,
        num_prompts=args.num_prompts,
        tokenizer=args.tokenizer,
        speed_benchmark=speed,
        speed_benchmark_long=args.speed_benchmark_long,
        ignore_eos=args.ignore_eos,
        temperature=args.temperature,
        top_p=args.top_p,
        extra_body=extra,
        continuous_usage_stats=args.continuous_usage_stats,
        slo=SLO.parse(args.slo),
        slo_attainment=args.slo_attainment,
        search=args.search,
        search_max=args.search_max,
        search_tolerance=args.search_tolerance,
        timeout_connect=args.timeout_connect,
        timeout_first_token=args.timeout_first_token,
        timeout_idle=args.timeout_idle,
        timeout_total=args.timeout_total,
        output_dir=output,
        seed=args.seed,
        figures=args.figures,
        save_chunk_times=args.save_chunk_times,
        progress=not args.quiet,
    )


def run_command(args: argparse.Namespace) -> int:
    from .run import run_perf

    from rich.console import Console

    config = config_from_args(args)
    console = Console(stderr=True)
    result = run_perf(config, console=console)
    if result.interrupted:
        console.print("[yellow]interrupted[/]: what was measured is in " + str(result.out_dir))
        return 130
    failed = sum(lv.requests_failed for lv in result.levels)
    ok = sum(lv.requests_ok for lv in result.levels)
    return 1 if ok == 0 and failed > 0 else 0
