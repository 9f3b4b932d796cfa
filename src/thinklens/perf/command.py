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
import dataclasses
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
    # Options whose argparse dest is a PerfConfig field carry over by name (one listing of
    # the options: the parser; tests/test_perf_units.py checks the two cannot drift); only
    # those that need parsing or a different shape are named here.
    given = vars(args)
    same_name = {f.name: given[f.name] for f in dataclasses.fields(PerfConfig) if f.name in given}
    return PerfConfig(**{
        **same_name,
        "urls": tuple(args.url),
        "api_key": args.api_key or os.environ.get("OPENAI_API_KEY") or None,
        "concurrency": tuple(args.concurrency),
        "rate": tuple(args.rate),
        "warmup": Warmup.parse(args.warmup),
        "dataset": dataset,
        "input_tokens": tuple(args.input_tokens) if args.input_tokens else (1024,),
        "speed_benchmark": speed,
        "extra_body": extra,
        "slo": SLO.parse(args.slo),
        "output_dir": output,
        "progress": not args.quiet,
    })

# PerfConfig fields that no option sets under their own name (config_from_args sets them).
DERIVED_FIELDS = frozenset({"urls", "output_dir", "progress"})


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
