"""The parser of `thinklens perf` (the command itself: thinklens/perf/command.py)."""

from __future__ import annotations

import argparse
import math
from typing import Any

from ..errors import ConfigError
from . import lazy_command


def _rate(text: str) -> float:
    t = text.strip().lower()
    if t in ("inf", "infinity", "max"):
        return math.inf
    try:
        value = float(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a rate (requests/s, or inf)") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("a rate must be > 0 requests/s")
    return value


def _seconds(text: str) -> float:
    from ..perf.slo import parse_duration  # here: the perf package imports numpy

    try:
        return parse_duration(text, what="duration")
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _seconds_or_zero(text: str) -> float:
    if text.strip() in ("0", "0s", "0.0"):
        return 0.0
    return _seconds(text)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "perf",
        help="load-test a serving endpoint: TTFT, TPOT, ITL, throughput, goodput",
        description=(
            "Drive load against an OpenAI-compatible chat endpoint and measure it: closed loop "
            "(--concurrency) or open loop (--rate, Poisson/gamma arrivals), sweeps over levels, SLO goodput "
            "and search. Writes requests.jsonl, run.sqlite, summary.json, summary.csv and figures to --output."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    server = p.add_argument_group("server")
    server.add_argument(
        "--url",
        "--api-url",
        dest="url",
        nargs="+",
        required=True,
        metavar="URL",
        help="base URL(s) ending in /v1; several replicas share the load by requests in flight "
        "(--api-url: the same, as in eval)",
    )
    server.add_argument("--model", required=True, help="model name as the server knows it")
    server.add_argument("--api-key", default=None, help="API key (default: $OPENAI_API_KEY)")

    load = p.add_argument_group("load")
    load.add_argument(
        "--concurrency",
        "--parallel",
        nargs="+",
        type=int,
        default=[],
        metavar="N",
        help="closed loop: keep N requests in flight (one level per value)",
    )
    load.add_argument(
        "--rate",
        nargs="+",
        type=_rate,
        default=[],
        metavar="R",
        help="open loop: R requests/s arriving at random (one level per value; inf = all at once)",
    )
    load.add_argument(
        "--max-concurrency",
        type=int,
        default=None,
        metavar="N",
        help="open loop: at most N requests in flight (later arrivals wait; the wait is reported)",
    )
    load.add_argument(
        "--burstiness",
        type=float,
        default=1.0,
        help="gamma shape of inter-arrival times: 1 = Poisson (default), <1 burstier, >1 smoother",
    )
    load.add_argument(
        "--requests",
        "--number",
        "-n",
        type=int,
        default=None,
        metavar="N",
        help="measured requests per level (default: max(100, 4 x concurrency))",
    )
    load.add_argument(
        "--duration",
        type=_seconds,
        default=None,
        metavar="S",
        help="measure each level for S seconds (with --requests: whichever comes first)",
    )
    load.add_argument(
        "--warmup",
        default="0",
        metavar="N|Ss",
        help="excluded start of each level: N requests, or e.g. 10s (default 0)",
    )
    load.add_argument(
        "--ramp-up",
        type=_seconds_or_zero,
        default=0.0,
        metavar="S",
        help="closed loop: start the N workers evenly over S seconds (excluded as warm-up), so "
        "requests do not arrive in synchronised waves",
    )
    load.add_argument(
        "--no-hold-load",
        dest="hold_load",
        action="store_false",
        help="stop issuing as soon as the measured requests are issued (default: keep the load on "
        "until they finish; the extra cool-down requests are excluded)",
    )
    load.add_argument(
        "--no-warm-connections",
        dest="warm_connections",
        action="store_false",
        help="do not open the level's connections before it starts (default: one keep-alive "
        "connection per request in flight is opened first, so the first wave is not a connection storm)",
    )
    load.add_argument(
        "--grace",
        type=_seconds_or_zero,
        default=30.0,
        metavar="S",
        help="--duration: measured requests still running S s after the window are stopped and "
        "counted failed (default 30)",
    )

    prompts = p.add_argument_group("prompts")
    prompts.add_argument(
        "--dataset",
        default="random",
        help="random (default), file, speed_benchmark, or a thinklens benchmark (math_500, aime24, ...)",
    )
    prompts.add_argument(
        "--dataset-path",
        "--prompts-file",
        dest="dataset_path",
        default=None,
        metavar="PATH",
        help="prompts file (jsonl / ShareGPT json / txt) or a local copy of the benchmark's data",
    )
    prompts.add_argument(
        "--input-tokens",
        nargs="+",
        type=int,
        default=None,
        metavar="N",
        help="random prompts: exact prompt length in tokens (several values: a sweep; default 1024)",
    )
    prompts.add_argument(
        "--output-tokens",
        "--max-tokens",
        dest="output_tokens",
        type=int,
        default=None,
        metavar="N",
        help="max_tokens of each request",
    )
    prompts.add_argument(
        "--prefix-tokens",
        type=int,
        default=0,
        metavar="N",
        help="random prompts: the first N tokens are the same in every prompt (prefix caching)",
    )
    prompts.add_argument(
        "--range-ratio",
        type=float,
        default=0.0,
        metavar="R",
        help="random prompts: lengths uniform in [n(1-R), n(1+R)] instead of exactly n",
    )
    prompts.add_argument(
        "--num-prompts",
        type=int,
        default=None,
        metavar="N",
        help="prompt pool size (default: as many as a level sends; 1000 with --duration)",
    )
    prompts.add_argument(
        "--tokenizer",
        "--tokenizer-path",
        dest="tokenizer",
        default=None,
        metavar="PATH_OR_HUB_ID",
        help="tokenizer.json, a folder (tokenizer.json or vocab.json+merges.txt) or a Hub id",
    )
    prompts.add_argument(
        "--speed-benchmark",
        action="store_true",
        help="the Qwen speed-benchmark table: prompts of 1, 6144, 14336, 30720 tokens, 2048 output "
        "tokens (ignore_eos), concurrency 1",
    )
    prompts.add_argument(
        "--speed-benchmark-long",
        action="store_true",
        help="with --speed-benchmark: add the 63488 and 129024-token rows",
    )

    body = p.add_argument_group("request body")
    body.add_argument(
        "--ignore-eos", action="store_true", help="ask for exactly --output-tokens tokens (vLLM/SGLang ignore_eos)"
    )
    body.add_argument("--temperature", type=float, default=None)
    body.add_argument("--top-p", type=float, default=None)
    body.add_argument(
        "--extra-body",
        default=None,
        metavar="JSON",
        help="JSON object merged into every request body, e.g. '{\"min_tokens\": 2048}'",
    )
    body.add_argument(
        "--continuous-usage-stats",
        action="store_true",
        help="ask the server for its token count on every chunk (vLLM): exact ITL when it streams "
        "several tokens per chunk",
    )

    slo = p.add_argument_group("SLOs and search")
    slo.add_argument(
        "--slo",
        nargs="+",
        action="extend",
        default=[],
        metavar="METRIC=DURATION",
        help="per-request objectives (several after one flag, or repeat it): ttft=2s tpot=50ms ttfat=... e2e=...",
    )
    slo.add_argument(
        "--slo-attainment",
        type=float,
        default=0.9,
        metavar="F",
        help="a level meets the SLOs when this fraction of its requests does (default 0.9)",
    )
    slo.add_argument(
        "--search",
        choices=("concurrency", "rate"),
        default=None,
        help="find the highest concurrency (or rate) that meets the SLOs",
    )
    slo.add_argument(
        "--search-max", type=float, default=None, metavar="X", help="upper bound of the search (default 1024)"
    )
    slo.add_argument(
        "--search-tolerance",
        type=float,
        default=0.1,
        metavar="F",
        help="stop bisecting when the bracket is within this fraction (default 0.1)",
    )

    client = p.add_argument_group("client")
    client.add_argument("--timeout-connect", type=_seconds, default=30.0, metavar="S",
                        help="seconds to open a connection (default 30)")
    client.add_argument(
        "--timeout-first-token",
        type=_seconds,
        default=600.0,
        metavar="S",
        help="request sent -> first byte of the response (default 600: a load test reports a server that "
        "queues this long as failing; eval waits 1800 for long reasoning)",
    )
    client.add_argument(
        "--timeout-idle",
        "--stall-timeout",
        dest="timeout_idle",
        type=_seconds,
        default=120.0,
        metavar="S",
        help="silence inside a stream that counts as a stall (default 120: a stall under load is a "
        "finding; eval waits 300)",
    )
    client.add_argument("--timeout-total", type=_seconds, default=None, metavar="S",
                        help="per request (default: off)")

    out = p.add_argument_group("output")
    out.add_argument("--output", "-o", default=None, metavar="DIR", help="results folder (default outputs/perf-<time>)")
    out.add_argument("--seed", type=int, default=0)
    out.add_argument("--no-figures", dest="figures", action="store_false")
    out.add_argument(
        "--save-chunk-times",
        action="store_true",
        help="add every chunk's arrival (seconds from start) and its tokens to requests.jsonl",
    )
    out.add_argument("--quiet", "-q", action="store_true", help="no progress line and no table")
    p.set_defaults(func=lazy_command("thinklens.perf.command", "run_command"))
