"""`run_perf(config)`: build the prompts, drive every load level, summarise, write.

    from thinklens.perf import PerfConfig, run_perf
    result = run_perf(PerfConfig(urls=("http://127.0.0.1:8000/v1",), model="QwQ-32B",
                                 concurrency=(1, 8, 32), requests=256, tokenizer="Qwen/QwQ-32B",
                                 input_tokens=(1024,), output_tokens=2048, ignore_eos=True,
                                 output_dir=Path("perf/qwq")))
    result.levels[0].metrics["ttft"]["p99"]

Ctrl-C stops the level in flight; everything measured so far is summarised and written.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from .. import __version__
from ..client import ChatClient, ClientPolicy
from ..errors import RequestFailed
from .config import LevelSpec, PerfConfig
from .console import LevelProgress, print_results
from .eventloop import new_event_loop, quiet_gc
from .itl import chunk_tokenizer
from .loadgen import LevelRunner
from .monitor import GeneratorMonitor
from .output import PerfOutput, now_iso
from .prompts import PerfPrompt, PromptPool, benchmark_prompts, file_prompts, random_prompts
from .records import RequestRecord
from .stats import LevelSummary, summarize_level
from .tokenizer import load_tokenizer

DEFAULT_SEARCH_MAX = {"concurrency": 1024, "rate": 1024.0}


@dataclass
class PerfResult:
    out_dir: Path
    levels: list[LevelSummary]
    records: dict[str, list[RequestRecord]]
    summary: dict[str, Any]
    search: dict[str, Any] | None = None
    interrupted: bool = False
    warnings: list[str] = field(default_factory=list)
    figures: list[Path] = field(default_factory=list)

    def level(self, label: str) -> LevelSummary:
        for lv in self.levels:
            if lv.label == label:
                return lv
        raise KeyError(label)


def run_perf(config: PerfConfig, *, console: Console | None = None) -> PerfResult:
    """Blocking entry point, on its own event loop with precise timers (eventloop.py)."""
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(arun_perf(config, console=console))


class _Prompts:
    """Prompt pools: per input length for random prompts (fresh for every level, so a
    server's prefix cache never sees a prompt twice), one shared pool otherwise."""

    def __init__(self, config: PerfConfig, tokenizer: Any):
        self.config = config
        self.tokenizer = tokenizer
        self._shared: PromptPool | None = None
        self._levels_built = 0

    def needed(self, level: LevelSpec) -> int:
        cfg = self.config
        measured = cfg.requests_for(level)
        if measured is None:  # --duration: unknown in advance
            return cfg.num_prompts or 1000
        # warm-up + the cool-down that holds the load while the last measured finish
        extra = (cfg.warmup.requests or 0) + (level.concurrency or 0) + 8
        if level.mode == "open" and level.rate is not None and math.isfinite(level.rate):
            extra += min(512, math.ceil(level.rate * 5))
        n = measured + extra
        return min(n, cfg.num_prompts) if cfg.num_prompts else n

    async def pool_for(self, level: LevelSpec) -> PromptPool:
        cfg = self.config
        if cfg.uses_random_prompts:
            n_in = level.input_tokens or cfg.effective_input_tokens[0]
            seed = cfg.seed * 1_000_003 + self._levels_built
            self._levels_built += 1
            prompts = await asyncio.to_thread(
                random_prompts,
                self.tokenizer,
                self.needed(level),
                n_in,
                cfg.effective_output_tokens,
                prefix_tokens=cfg.prefix_tokens,
                range_ratio=cfg.range_ratio,
                seed=seed,
            )
            return PromptPool(prompts)
        if self._shared is None:
            self._shared = PromptPool(await asyncio.to_thread(self._load))
        return self._shared

    def _load(self) -> list[PerfPrompt]:
        cfg = self.config
        if cfg.dataset == "file":
            prompts = file_prompts(cfg.dataset_path, tokenizer=self.tokenizer, output_tokens=cfg.output_tokens)  # type: ignore[arg-type]
        else:
            prompts = benchmark_prompts(
                cfg.dataset,
                dataset_path=cfg.dataset_path,
                limit=cfg.num_prompts,
                tokenizer=self.tokenizer,
                output_tokens=cfg.output_tokens,
            )
        return prompts[: cfg.num_prompts] if cfg.num_prompts else prompts


def _token_counter(tokenizer: Any) -> Callable[[str], int] | None:
    """Counts a text's tokens with the run's tokenizer (None: no tokenizer)."""
    if tokenizer is None:
        return None

    def count(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False).ids) if text else 0

    return count


def _measuring_policy(config: PerfConfig) -> ClientPolicy:
    return ClientPolicy(
        timeout_connect=config.timeout_connect,
        timeout_first_token=config.timeout_first_token,
        timeout_idle=config.timeout_idle,
        timeout_total=config.timeout_total,
        max_retries=0,  # every attempt is a measurement: never retried behind the user's back
    )


def _figures(
    config: PerfConfig, levels: list[LevelSummary], records: dict[str, list[RequestRecord]], warnings: list[str],
    console: Console,
) -> list[Path]:
    from ..plotting import NO_FIGURES_NOTE, figures_available

    if not figures_available():  # the numbers are in summary.json/csv; only the pictures need the extra
        warnings.append(NO_FIGURES_NOTE)
        console.print(NO_FIGURES_NOTE, style="yellow", markup=False)
        return []
    from .figures import write_figures

    return write_figures(levels, records, config.output_dir)


async def arun_perf(config: PerfConfig, *, console: Console | None = None) -> PerfResult:
    console = console or Console(stderr=True)
    tokenizer = load_tokenizer(config.effective_tokenizer) if config.effective_tokenizer else None
    token_counter = _token_counter(tokenizer)
    chunk_counter = chunk_tokenizer(tokenizer) if tokenizer is not None else None
    prompts = _Prompts(config, tokenizer)
    out: PerfOutput | None = None  # created once the server answered: no empty result folders
    levels: list[LevelSummary] = []
    records: dict[str, list[RequestRecord]] = {}
    warnings: list[str] = []
    interrupted = False
    search_result: dict[str, Any] | None = None
    clock = {"monotonic": asyncio.get_running_loop().time(), "unix": time.time()}
    progress = LevelProgress(console, enabled=config.progress)

    async def run_level(spec: LevelSpec) -> LevelSummary:
        pool = await prompts.pool_for(spec)
        monitor = GeneratorMonitor()
        runner = LevelRunner(
            client, config, spec, pool, monitor=monitor, token_counter=token_counter, chunk_tokenizer=chunk_counter
        )
        progress.start(runner)
        try:
            with quiet_gc():
                monitor.start()
                await runner.run()
        finally:
            await progress.stop()
            await monitor.stop()
            summary = _summarize(config, spec, runner, monitor, pool)
            if runner.interrupted:
                summary.warnings.append("interrupted (Ctrl-C): the figures cover the requests finished before it")
            levels.append(summary)
            records[spec.label] = runner.records
            assert out is not None
            out.write_many(sorted(runner.records, key=lambda r: r.index))
            if config.progress:
                console.print(_level_line(summary))
        if runner.abort_reason:
            summary.warnings.append(f"level stopped: {runner.abort_reason}")
            raise RequestFailed(
                f"{runner.abort_reason}. Check --model and the request options (--extra-body, --output-tokens); "
                f"rows so far are in {config.output_dir}"
            )
        return summary

    try:
        async with ChatClient(list(config.urls), api_key=config.api_key, policy=_measuring_policy(config)) as client:
            warnings.extend(await client.check(config.model))
            for w in warnings:
                console.print(f"[yellow]warning[/]: {w}")
            out = PerfOutput(config.output_dir)
            try:
                if config.search:
                    search_result = await _search(config, run_level)
                else:
                    for spec in config.levels():
                        await run_level(spec)
            except asyncio.CancelledError:
                interrupted = True
                task = asyncio.current_task()
                if task is not None and hasattr(task, "uncancel"):
                    task.uncancel()
    finally:
        summary = _summary_document(config, levels, search_result, interrupted, warnings, clock)
        if out is not None:
            try:
                out.write_summary(summary, _ordered(levels))
            finally:
                out.close()
    figures = _figures(config, _ordered(levels), records, warnings, console) if config.figures and levels else []
    if config.progress or interrupted:
        print_results(_ordered(levels), console)
        if search_result:
            console.print(_search_line(search_result))
        console.print(f"results: {config.output_dir}")
    return PerfResult(
        out_dir=Path(config.output_dir),
        levels=_ordered(levels),
        records=records,
        summary=summary,
        search=search_result,
        interrupted=interrupted,
        warnings=warnings,
        figures=figures,
    )


def _summarize(
    config: PerfConfig, spec: LevelSpec, runner: LevelRunner, monitor: GeneratorMonitor, pool: PromptPool
) -> LevelSummary:
    summary = summarize_level(
        runner.records,
        label=spec.label,
        mode=spec.mode,
        concurrency=spec.concurrency,
        rate=spec.rate,
        input_tokens=spec.input_tokens,
        slo=config.slo,
        attainment_target=config.slo_attainment,
    )
    gen, gen_warnings = monitor.report(len(runner.records), rate=spec.rate)
    summary.generator = gen
    summary.warnings.extend(gen_warnings)
    _connection_figures(summary, runner)
    if runner.measure_repeats:
        what = "random prompts" if config.uses_random_prompts else "prompts"
        summary.warnings.append(
            f"{runner.measure_repeats} measured requests reused {what} sent earlier (the pool has {len(pool)}; "
            "raise --num-prompts): a server with prefix caching answers repeats faster"
        )
    ok = [r for r in runner.records if r.phase == "measure" and r.ok]
    if ok and any(r.tokens_source != "server" for r in ok):
        summary.warnings.append(
            "the server reported no usage for some requests: their completion tokens were counted "
            f"{'with the client tokenizer' if config.effective_tokenizer else 'as streamed chunks (give --tokenizer)'}"
        )
    if ok and config.effective_output_tokens and (config.ignore_eos or config.speed_benchmark):
        short = sum(
            1
            for r in ok
            if (r.completion_tokens or 0) < (config.effective_output_tokens or 0) * (1 - config.range_ratio)
        )
        if short:
            summary.warnings.append(
                f"{short} requests produced fewer tokens than asked: the server may ignore ignore_eos"
            )
    return summary


SEND_LAG_WARN = 0.005  # s, p99


def _connection_figures(summary: LevelSummary, runner: LevelRunner) -> None:
    """The warm-up's connections and the send lag, with a warning when either means the
    load did not arrive as intended."""
    warm = runner.warm
    if warm is not None:
        summary.connections.update(warmup_wanted=warm.wanted, warmup_ready=warm.ready, warmup_opened=warm.opened)
        if warm.error:
            summary.warnings.append(f"opening the level's connections beforehand failed: {warm.error}")
    opened = summary.connections.get("opened_during_measure", 0)
    if opened:
        summary.warnings.append(
            f"{opened} connections were opened while the level was measured (the server closed idle ones, "
            "or the level needed more than were opened beforehand): their requests paid the set-up"
        )
    lag = summary.metrics.get("send_lag", {}).get("p99")
    if lag is not None and lag > SEND_LAG_WARN:
        summary.warnings.append(
            f"requests left the client {lag * 1e3:.1f} ms after they were issued (send lag p99): the offered "
            "load was late by "
            "that much (connection set-up or a busy load generator); latencies are timed from the send"
        )


def _level_line(s: LevelSummary) -> str:
    ttft = s.metrics["ttft"].get("p50")
    tpot = s.metrics["tpot"].get("p50")
    return (
        f"[bold]{s.label}[/]: {s.requests_ok} ok, {s.requests_failed} failed, {s.request_throughput:.2f} req/s, "
        f"{s.output_throughput:.1f} tok/s, TTFT p50 {'-' if ttft is None else f'{ttft * 1e3:.1f} ms'}, "
        f"TPOT p50 {'-' if tpot is None else f'{tpot * 1e3:.2f} ms'}"
    )


def _ordered(levels: list[LevelSummary]) -> list[LevelSummary]:
    """Levels by input length, then load (search probes run out of order)."""

    def key(lv: LevelSummary) -> tuple[float, float]:
        x = lv.concurrency if lv.mode == "closed" else lv.rate
        return (lv.input_tokens or 0, float(x) if x is not None else 0.0)

    return sorted(levels, key=key)


def _summary_document(
    config: PerfConfig,
    levels: list[LevelSummary],
    search: dict[str, Any] | None,
    interrupted: bool,
    warnings: list[str],
    clock: dict[str, float],
) -> dict[str, Any]:
    return {
        "thinklens_version": __version__,
        "created_at": now_iso(),
        "config": config.public_dict(),
        "clock": clock,
        "levels": [lv.as_dict() for lv in _ordered(levels)],
        "search": search,
        "interrupted": interrupted,
        "warnings": warnings,
        "units": "seconds for every latency; tokens/s and requests/s for throughputs",
    }


# ---- SLO search ------------------------------------------------------------------------
async def _search(config: PerfConfig, run_level: Any) -> dict[str, Any]:
    """Highest concurrency (or rate) whose level meets the SLOs: double until a level
    fails, then bisect between the last pass and the first failure.  Rates stop when
    the bracket is within --search-tolerance; concurrency when it is within one (or
    the tolerance, for large values)."""
    kind = config.search
    assert kind is not None
    tol = config.search_tolerance
    max_x = config.search_max or DEFAULT_SEARCH_MAX[kind]
    if kind == "concurrency":
        start: float = config.concurrency[0] if config.concurrency else 1

        def spec(x: float) -> LevelSpec:
            return LevelSpec("closed", concurrency=int(x))
    else:
        start = config.rate[0] if config.rate and math.isfinite(config.rate[0]) else 1.0

        def spec(x: float) -> LevelSpec:
            return LevelSpec("open", concurrency=config.max_concurrency, rate=float(x))

    probes: list[dict[str, Any]] = []
    tried: dict[float, bool] = {}

    async def probe(x: float) -> bool:
        if x in tried:
            return tried[x]
        s = await run_level(spec(x))
        met = bool(s.goodput and s.goodput["met"])
        tried[x] = met
        probes.append({"level": s.label, kind: x, "attainment": s.attainment, "met": met})
        return met

    passed: float | None = None
    failed: float | None = None
    x = min(start, max_x)
    if await probe(x):
        passed = x
        while passed < max_x:
            nxt = min(max_x, passed * 2)
            if await probe(nxt):
                passed = nxt
            else:
                failed = nxt
                break
    else:
        failed = x
        if kind == "rate":  # look below the start
            for _ in range(8):
                x = x / 2
                if await probe(x):
                    passed = x
                    break
                failed = x
        elif x > 1:  # bisect between 1 and the failing start
            if await probe(1):
                passed = 1
            else:
                failed = 1
    while passed is not None and failed is not None:
        if kind == "concurrency":
            if failed - passed <= max(1, int(passed * tol)):
                break
            mid: float = (passed + failed) // 2
        else:
            if failed / passed <= 1 + tol:
                break
            mid = round((passed + failed) / 2, 6)
        if await probe(mid):
            passed = mid
        else:
            failed = mid
    return {
        "metric": kind,
        "best": passed,
        "first_failing": failed,
        "slo": config.slo.as_dict() if config.slo else None,
        "attainment_target": config.slo_attainment,
        "probes": probes,
        "reached_search_max": passed is not None and passed >= max_x,
    }


def _search_line(result: dict[str, Any]) -> str:
    kind = result["metric"]
    best = result["best"]
    unit = " req/s" if kind == "rate" else ""
    if best is None:
        return f"[red]search[/]: no {kind} tried met the SLOs"
    extra = " (the search maximum: raise --search-max)" if result.get("reached_search_max") else ""
    return f"[green]search[/]: highest {kind} meeting the SLOs: [bold]{best:g}{unit}[/]{extra}"
