"""One efficiency analysis of a finished run, from the stored rows to efficiency.json and figures."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from ..grading import GradingPool
from ..judge import Judge, JudgeStats, JudgeVerdict, ParsedVerdict, Unparseable
from ..progress import RunProgress
from ..runlock import RunLock
from ..store import RunStore, storage_errors
from ..store.efficiency import StoredAnalysis, stored_analysis
from . import llm_split
from .judge_method import judge_first_correct
from .metrics import FirstCorrect, SampleEfficiency
from .report import build_summary, write_summary
from .selection import select
from .settings import EfficiencySettings, resolve_run_dir
from .steps import Span, split_keywords, split_separator
from .switches import find_switches
from .tables import sample_from_record, write_results
from .tokens import ApproximateTokens, TokenCounter, TokenizedText, load_token_counter
from .traces import LoadedRun, Trace, load_run
from .verify import StepVerifier

TokenView = TokenizedText | ApproximateTokens


@dataclass
class EfficiencyResult:
    run_dir: Path
    summary: dict[str, Any]  # the content of efficiency.json
    samples: list[SampleEfficiency]
    figures: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. figures skipped (no matplotlib)
    judge_stats: JudgeStats | None = None
    grader_calls: int = 0
    elapsed: float = 0.0
    reused: int = 0  # traces taken from the store unchanged (a rerun on the same inputs)
    analysed: int = 0  # traces computed by this call

    @property
    def json_path(self) -> Path:
        return self.run_dir / "efficiency.json"


def analyse_run(run_dir: str | Path, settings: EfficiencySettings, **kwargs: Any) -> EfficiencyResult:
    """Synchronous entry point (CLI, `run_task`)."""
    return asyncio.run(analyse_run_async(run_dir, settings, **kwargs))


def _approximate_view(trace: Trace) -> ApproximateTokens:
    """No tokenizer: the server's counts.  The reasoning's own count when the server gave
    one, else the completion tokens split by the character share of the reasoning."""
    n_chars = len(trace.text)
    if trace.no_reasoning:
        total = trace.completion_tokens
    elif trace.reasoning_tokens:
        total = trace.reasoning_tokens
    elif trace.completion_tokens:
        total = round(trace.completion_tokens * n_chars / max(1, n_chars + len(trace.content)))
    else:
        total = None
    if total is None:
        total = round(n_chars / 4)  # no count at all: a rough chars-per-token guess, still marked approximate
    return ApproximateTokens(int(total), n_chars)


def _output_lengths(traces: list[Trace], counter: TokenCounter | None) -> tuple[dict[str, int | None], dict[str, TokenView]]:
    if counter is None:
        lengths: dict[str, int | None] = {t.key: t.completion_tokens for t in traces}
        return lengths, {t.key: _approximate_view(t) for t in traces}
    views = dict(zip((t.key for t in traces), counter.tokenize([t.text for t in traces])))
    with_answer = [t for t in traces if not t.no_reasoning and t.content]
    answer_counts = dict(zip((t.key for t in with_answer), counter.count([t.content for t in with_answer])))
    lengths = {t.key: views[t.key].count + answer_counts.get(t.key, 0) for t in traces}
    return lengths, dict(views)


def _parse_copy(text: str) -> ParsedVerdict:
    if not text.strip():
        raise Unparseable("the judge returned an empty copy of the reasoning")
    return ParsedVerdict(value=text)


class _Analyser:
    def __init__(self, settings: EfficiencySettings, judge: Judge | None, verifier: StepVerifier):
        self.settings = settings
        self.judge = judge
        self.verifier = verifier

    async def split(self, trace: Trace, view: TokenView) -> tuple[list[Span], dict[str, Any]]:
        s = self.settings
        if s.split == "separator":
            return split_separator(trace.text), {"strategy": "separator"}
        if s.split == "keywords":
            return split_keywords(trace.text, s.switch_phrases), {"strategy": "keywords"}
        assert self.judge is not None
        if not trace.text.strip():
            return [], {"strategy": "llm"}
        budget = max(self.judge.config.max_tokens or 0, int(view.count * 1.3) + 256)
        verdict = await self.judge.ask(
            llm_split.PURPOSE, llm_split.split_prompt(trace.problem, trace.text), _parse_copy, max_tokens=budget
        )
        if not verdict.ok:
            # No usable split from the judge: blank lines, and the failure is on record.
            return split_separator(trace.text), {"strategy": "separator (llm split failed)", "judge": verdict.to_detail()}
        mapped = llm_split.map_breaks(trace.text, str(verdict.value), truncated=verdict.finish_reason == "length")
        return mapped.spans, {"strategy": "llm", **mapped.detail(), "cached": verdict.cached}

    async def analyse(self, trace: Trace, view: TokenView) -> SampleEfficiency:
        s = self.settings
        spans, split_detail = await self.split(trace, view)
        verify_task = self.verifier.run(trace, spans)
        if s.method in ("judge", "both"):
            assert self.judge is not None
            outcome, verdict = await asyncio.gather(verify_task, judge_first_correct(self.judge, trace, spans))
        else:
            outcome, verdict = await verify_task, None

        def at_step(step: int | None) -> FirstCorrect:
            if step is None:
                return FirstCorrect("none")
            end = spans[step][1]
            return FirstCorrect("found", step, end, view.tokens_before(end))

        verify_fc = at_step(outcome.first_correct_step)
        judge_fc = _from_verdict(verdict, at_step) if verdict is not None else None
        primary, method = (judge_fc, "judge") if s.method == "judge" else (verify_fc, "verify")
        assert primary is not None
        detail: dict[str, Any] = {"split": split_detail, "verify": outcome.to_detail()}
        if verdict is not None:
            detail["judge"] = verdict.to_detail()
        return SampleEfficiency(
            key=trace.key, dataset=trace.dataset, subset=trace.subset, group=trace.group, sample_id=trace.sample_id,
            repeat=trace.repeat, no_reasoning=trace.no_reasoning, reasoning_source=trace.reasoning_source,
            truncated=trace.truncated, correct=trace.correct, tokens_exact=isinstance(view, TokenizedText),
            reasoning_tokens=view.count, steps=spans, first_correct=primary,
            thought_switches=find_switches(trace.text, s.switch_phrases), solution_steps=outcome.solution_steps,
            method=method, verify=verify_fc, judge=judge_fc, detail=detail,
        )


def _from_verdict(verdict: JudgeVerdict, at_step: Any) -> FirstCorrect:
    if verdict.status == "unparsed":
        return FirstCorrect("unparsed")
    if verdict.status == "error":
        return FirstCorrect("error")
    index = int(verdict.value)
    return at_step(index) if index >= 0 else FirstCorrect("none")


async def analyse_run_async(
    run_dir: str | Path,
    settings: EfficiencySettings,
    *,
    figures: bool = True,
    console: Console | None = None,
    progress: bool = True,
    judge: Judge | None = None,
    wait_lock: bool = False,
) -> EfficiencyResult:
    """Writes into the run folder (tables, efficiency.json, figures): holds its lock."""
    console = console or Console(stderr=True)
    lock = RunLock(resolve_run_dir(run_dir), wait=wait_lock, on_wait=lambda msg: console.print(f"[yellow]{msg}[/]"))
    with storage_errors(resolve_run_dir(run_dir)), lock:
        return await _analyse_run_locked(run_dir, settings, figures=figures, console=console, progress=progress,
                                         judge=judge)


async def _analyse_run_locked(
    run_dir: str | Path,
    settings: EfficiencySettings,
    *,
    figures: bool,
    console: Console,
    progress: bool,
    judge: Judge | None,
) -> EfficiencyResult:
    started = time.perf_counter()
    console = console or Console(stderr=True)
    run_dir = resolve_run_dir(run_dir)
    store = RunStore(run_dir)
    own_judge = judge is None and settings.uses_judge
    pool: GradingPool | None = None
    verifier: StepVerifier | None = None
    reused: list[SampleEfficiency] = []
    try:
        loaded = load_run(store, dataset=settings.dataset, subsets=settings.subsets, group_by=settings.group_by)
        settings_hash = settings.settings_hash()
        inputs_hash = _inputs_hash(settings_hash, loaded)
        stored = stored_analysis(store, settings_hash)
        if _reusable(stored, inputs_hash):
            assert stored is not None and stored.records is not None
            # Same settings, same plan, same stored rows, same release: the stored
            # per-trace results are what this analysis would compute again.
            reused = samples = [sample_from_record(r) for r in stored.records]
            summary = _relabelled(stored.summary, settings, loaded, run_dir)
            console.print(
                f"efficiency of [bold]{summary['model']}[/] on {loaded.dataset}: run and settings unchanged since "
                f"the last analysis; reused its {len(samples)} per-trace results"
            )
            write_summary(summary, run_dir)
        else:
            counter = load_token_counter(settings.tokenizer) if settings.tokenizer else None
            lengths, views = _output_lengths(loaded.traces, counter)
            selection = select(
                loaded.traces, lengths, max_tokens=settings.max_tokens, count=settings.count, seed=settings.seed,
                errors=loaded.errors, order=settings.subsets,
            )
            chosen = [t for sel in selection.values() for t in sel.selected]
            if own_judge:
                assert settings.judge is not None
                judge = Judge(settings.judge, cache=store, max_concurrency=settings.judge_concurrency)
            pool = GradingPool(workers=settings.grading_workers, timeout=settings.grading_timeout)
            verifier = StepVerifier(pool)
            analyser = _Analyser(settings, judge if settings.uses_judge else None, verifier)
            console.print(
                f"efficiency of [bold]{settings.model_name or loaded.model}[/] on {loaded.dataset}: "
                f"{len(chosen)} traces in {len(selection)} subsets (split {settings.split}, method {settings.method})"
            )
            with RunProgress(len(chosen), enabled=progress, console=console, label="efficiency") as bar:

                async def one(trace: Trace) -> SampleEfficiency:
                    result = await analyser.analyse(trace, views[trace.key])
                    bar.advance(error=result.first_correct.status in ("unparsed", "error"))
                    return result

                samples = list(await asyncio.gather(*(one(t) for t in chosen)))
            summary = build_summary(
                settings=settings, run_dir=run_dir, loaded=loaded, selection=selection, samples=samples,
                tokenizer=counter.name if counter else None, judge=judge if settings.uses_judge else None,
            )
            write_results(store, settings_hash, summary["settings"], summary, samples, inputs_hash)
            write_summary(summary, run_dir)  # efficiency.json before any figure is drawn
    finally:
        if pool is not None:
            pool.close()
        if own_judge and judge is not None:
            await judge.close()
        store.close()
    paths: list[Path] = []
    notes: list[str] = []
    if figures:
        from ..plotting import NO_FIGURES_NOTE, figures_available

        if figures_available():
            from .report import draw_figures

            paths = draw_figures(summary, run_dir)
        else:  # efficiency.json holds every number; only the pictures need the extra
            notes.append(NO_FIGURES_NOTE)
    return EfficiencyResult(
        run_dir=run_dir, summary=summary, samples=samples, figures=paths, notes=notes,
        judge_stats=judge.stats if judge is not None else None,
        grader_calls=verifier.grader_calls if verifier is not None else 0,
        elapsed=time.perf_counter() - started, reused=len(reused), analysed=len(samples) - len(reused),
    )


def _inputs_hash(settings_hash: str, loaded: LoadedRun) -> str:
    """Everything an analysis reads: settings, release, and the planned rows of the
    dataset (keys, texts, grades, graders, failed generations per group)."""
    from .. import __version__

    payload = json.dumps(
        [__version__, settings_hash, loaded.dataset, loaded.group_by, sorted(loaded.errors.items()),
         [dataclasses.astuple(t) for t in loaded.traces]],
        ensure_ascii=False, default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _reusable(stored: StoredAnalysis | None, inputs_hash: str) -> bool:
    return stored is not None and stored.inputs_hash == inputs_hash and stored.records is not None


def _relabelled(summary: dict[str, Any], settings: EfficiencySettings, loaded: LoadedRun, run_dir: Path) -> dict[str, Any]:
    """The stored efficiency.json with what is not an input of the analysis brought up
    to date: the model label (not part of the settings hash), the folder, the time."""
    out = dict(summary)
    out["created_at"] = time.time()
    out["run_dir"] = str(run_dir)
    out["model"] = settings.model_name or loaded.model
    out["settings"] = {**summary["settings"], "model_name": settings.model_name}
    return out
