"""`thinklens mock-server`: the CLI flags mirror MockServerConfig's fields."""

from __future__ import annotations

import argparse
from pathlib import Path

from .config import DEFAULT_FAULTS, REASONING_FIELDS, REASONING_FORMATS, MockServerConfig

DEFAULT_PORT = 8801


def _seconds(text: str) -> float:
    """Seconds as a number, or with a unit: 200ms, 0.2s, 1m."""
    t = text.strip().lower()
    for suffix, scale in (("ms", 1e-3), ("us", 1e-6), ("s", 1.0), ("m", 60.0)):
        if t.endswith(suffix):
            try:
                return float(t[: -len(suffix)]) * scale
            except ValueError:
                break
    try:
        return float(t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (e.g. 0.2, 200ms, 2s)") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "mock-server",
        help="an OpenAI-compatible chat server for tests, demos and load-test calibration",
        description=(
            "OpenAI-compatible /v1/chat/completions that replays recorded outputs (--replay) or "
            "generates filler tokens, with exact TTFT/TPOT timing, reasoning as a field or in "
            "<think> tags, and seeded fault injection.  GET /stats tells what it did."
        ),
    )
    net = p.add_argument_group("network")
    net.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    net.add_argument("--port", type=int, default=DEFAULT_PORT,
                     help=f"port (default {DEFAULT_PORT}); 0 picks a free one, printed as 'listening on URL'")
    net.add_argument("--model", default="mock-model", help="model name listed by /v1/models")

    out = p.add_argument_group("output")
    out.add_argument("--replay", action="extend", nargs="+", default=[], metavar="FILE",
                     help="JSONL of recorded outputs (problem/prompt/question, reasoning/full_reasoning/"
                          "reasoning_content, content/result/response); repeatable")
    out.add_argument("--unmatched-content", default=MockServerConfig.unmatched_content,
                     help="answer for a replay request that matches no record")
    out.add_argument("--unmatched-reasoning", default="", help="reasoning for an unmatched request")
    out.add_argument("--tokens", type=int, default=MockServerConfig.tokens,
                     help="synthetic mode: content tokens per answer (default %(default)s)")
    out.add_argument("--reasoning-tokens", type=int, default=0, help="synthetic mode: reasoning tokens")
    out.add_argument("--answer", default=None, help=r"synthetic mode: the content ends with this, e.g. '\boxed{42}'")
    out.add_argument("--reasoning-format", choices=REASONING_FORMATS, default="field",
                     help="field: delta.reasoning_content; inline: <think>r</think>c; "
                          "lone-close: r</think>c; none: no reasoning")
    out.add_argument("--reasoning-field", choices=REASONING_FIELDS, default="reasoning_content",
                     help="name of the reasoning field in --reasoning-format field")

    timing = p.add_argument_group("timing (token i is written at arrival + ttft + i * tpot)")
    timing.add_argument("--ttft", type=_seconds, default=0.0, help="seconds before the first token (0.2, 200ms)")
    timing.add_argument("--tpot", type=_seconds, default=0.0, help="seconds between tokens (0.005, 5ms)")
    timing.add_argument("--tokens-per-chunk", type=int, default=1, help="tokens per SSE event (default 1)")
    timing.add_argument("--timer-quantum", type=_seconds, default=MockServerConfig.timer_quantum,
                        help="wake-up grid in seconds (default 100us; 0: wake at each due time exactly)")

    faults = p.add_argument_group("fault injection")
    faults.add_argument("--fault-rate", type=float, default=0.0, help="share of requests that fail (0..1)")
    faults.add_argument("--faults", default=",".join(DEFAULT_FAULTS),
                        help="comma-separated kinds to draw from (default %(default)s)")
    faults.add_argument("--seed", type=int, default=0, help="seed of the fault sequence")
    faults.add_argument("--retry-after", type=_seconds, default=1.0, help="Retry-After of a 429, seconds")
    faults.add_argument("--stall-seconds", type=_seconds, default=3600.0,
                        help="how long a stalled stream stays silent (default 3600)")

    misc = p.add_argument_group("reporting")
    misc.add_argument("--record-timings", action="store_true",
                      help="keep per-request timing records in /stats")
    misc.add_argument("--access-log", action="store_true", help="log every request (slower)")
    misc.add_argument("--request-log", type=Path, default=None, metavar="FILE",
                      help="append a JSON line per chat request at arrival (id, prompt_digest, fault, at: wall-clock time)")
    misc.add_argument("--quiet", action="store_true", help="print nothing but the 'listening on' line")
    p.set_defaults(func=run)


def config_from_args(args: argparse.Namespace) -> MockServerConfig:
    return MockServerConfig(
        host=args.host, port=args.port, model=args.model, replay=tuple(args.replay),
        unmatched_content=args.unmatched_content, unmatched_reasoning=args.unmatched_reasoning,
        tokens=args.tokens, reasoning_tokens=args.reasoning_tokens, answer=args.answer,
        reasoning_format=args.reasoning_format, reasoning_field=args.reasoning_field,
        ttft=args.ttft, tpot=args.tpot, tokens_per_chunk=args.tokens_per_chunk, timer_quantum=args.timer_quantum,
        fault_rate=args.fault_rate, faults=tuple(f for f in args.faults.split(",") if f.strip()),
        seed=args.seed, retry_after=args.retry_after, stall_seconds=args.stall_seconds,
        record_timings=args.record_timings, quiet=args.quiet, access_log=args.access_log,
        request_log=args.request_log,
    )


def run(args: argparse.Namespace) -> int:
    from .server import serve  # aiohttp is imported only when the server really runs

    config = config_from_args(args)
    if args.access_log:
        import logging

        logging.basicConfig(level=logging.INFO, format="%(message)s")
    return serve(config)
