"""Scheduling and resume: plan (sample x repeat -> key), skip what is stored, run the rest.

`eval_batch_size` worker coroutines each hold one request slot.  A worker stores the
generation the moment it arrives and hands grading to the process pool *without
waiting*: grading and storing never hold a request slot, so the server really sees
`eval_batch_size` requests in flight.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from .backend import Backend, make_backend
from .benchmarks import Benchmark, DatasetArgs, get_benchmark
from .config import TaskConfig, make_config, sample_key
from .errors import ConfigError
from .limits import raise_open_file_limit
from .progress import RunProgress
from .records import Generation, Sample, Score
from .scoring import Scorer
from .report import Report, build_report, print_report, write_report
from .store import RunStore, is_run_folder


@dataclass(frozen=True)
class WorkItem:
    key: str
    sample: Sample
    repeat: int
    grader: str


@dataclass
class RunResult:
    run_dir: Path
    report: Report
    requests_sent: int
    failed: int
    request_seconds: float = 0.0  # first request sent -> last response received


def run_task(task_config: TaskConfig | dict[str, Any], **overrides: Any) -> RunResult:
    """Run (or resume) an evaluation; the Python entry point of the EvalScope guide."""
    if isinstance(task_config, TaskConfig):
        config = task_config.model_copy(update=overrides) if overrides else task_config
    else:
        config = make_config({**task_config, **overrides})
    return asyncio.run(Runner(config).run())


def default_run_dir(model: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", model.split("/")[-1]) or "model"
    return Path("outputs") / f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{safe}"


def plan_items(config: TaskConfig) -> tuple[list[WorkItem], dict[str, Benchmark]]:
    """Load every dataset and expand to (sample, repeat) items with their keys.
    All dataset errors surface here, before any request."""
    benchmarks = {name: get_benchmark(name) for name in config.datasets}
    fingerprint = config.generation_fingerprint()
    items: list[WorkItem] = []
    for name, bench in benchmarks.items():
        raw_args = dict(config.dataset_args.get(name, {}))
        raw_args.setdefault("hub", config.dataset_hub)
        if config.limit is not None:
            raw_args.setdefault("limit", config.limit)
        samples = bench.load(DatasetArgs.from_mapping(raw_args))
        for sample in samples:
            for repeat in range(config.generation_config.n):
                shown = bench.for_repeat(sample, repeat)
                items.append(WorkItem(sample_key(fingerprint, shown.messages, repeat), shown, repeat, bench.grader))
    return items, benchmarks


class Runner:
    def __init__(self, config: TaskConfig, *, console: Console | None = None):
        self.config = config
        self.console = console or Console(stderr=True)
        self.run_dir = Path(config.output) if config.output else default_run_dir(config.model)

    async def run(self) -> RunResult:
        config = self.config
        items, benchmarks = plan_items(config)
        done = _stored_keys(self.run_dir)
        todo = [it for it in items if it.key not in done]
        backend = make_backend(config) if todo else None
        if backend is not None:
            try:
                # Before the run folder is touched: an unreachable server costs nothing.
                for warning in await backend.check():
                    self.console.print(f"[yellow]warning:[/] {warning}")
            except BaseException:
                await backend.close()
                raise
        self.console.print(
            f"[bold]{config.model}[/]: {len(items)} generations planned "
            f"({len(items) - len(todo)} stored, {len(todo)} to run) -> {self.run_dir}"
        )
        store = RunStore(self.run_dir)
        try:
            self._write_config(store, items)
            scorer = Scorer.for_config(config, store)
            try:
                graders = {it.key: it.grader for it in items}
                await self._grade_stored(store, scorer, graders)
                t0 = time.time()
                sent, failed, request_seconds = (
                    await self._execute(todo, backend, store, scorer) if backend else (0, 0, 0.0)
                )
                history = store.get_meta("history", [])
                history.append({"started_at": t0, "ended_at": time.time(), "requests": sent, "failed": failed,
                                "request_seconds": round(request_seconds, 3)})
                store.set_meta("history", history)
                report = await build_report(store, config, benchmarks, scorer.pool)
            finally:
                await scorer.close()
                if backend is not None:
                    await backend.close()
            write_report(report, self.run_dir)
            print_report(report, Console())
            if failed:
                self.console.print(
                    f"[yellow]{failed} request(s) failed after retries[/]: stored as errors, excluded from "
                    "accuracy; run the same command again to retry only those."
                )
            return RunResult(self.run_dir, report, sent, failed, request_seconds)
        finally:
            store.close()

    def _write_config(self, store: RunStore, items: list[WorkItem]) -> None:
        redacted = self.config.redacted()
        redacted["output"] = str(self.run_dir)
        (self.run_dir / "config.yaml").write_text(yaml.safe_dump(redacted, sort_keys=False, allow_unicode=True))
        store.set_meta("config", redacted)
        store.set_meta("model", self.config.model)
        store.set_meta("datasets", self.config.datasets)
        if store.get_meta("created_at") is None:
            store.set_meta("created_at", time.time())
        store.set_meta("updated_at", time.time())
        store.set_plan([(it.key, it.grader) for it in items])

    async def _grade_stored(self, store: RunStore, scorer: Scorer, graders: dict[str, str]) -> None:
        """Generations stored by a run that died before grading them: grade, no request."""
        pending = [r for r in store.ungraded_ok() if r.key in graders]
        if not pending:
            return
        scores = await asyncio.gather(*(scorer.score(r.sample, r.generation, graders[r.key]) for r in pending))
        for r, score in zip(pending, scores):
            store.put_score(r.key, score, commit=False)
        store.commit()

    async def _execute(
        self, todo: list[WorkItem], backend: Backend, store: RunStore, scorer: Scorer
    ) -> tuple[int, int, float]:
        if not todo:
            return 0, 0, 0.0
        queue: Iterator[WorkItem] = iter(todo)
        grading: set[asyncio.Task[None]] = set()
        failed = 0

        async def grade_and_store(item: WorkItem, gen: Generation) -> None:
            score: Score = await scorer.score(item.sample, gen, item.grader)
            store.put_score(item.key, score)

        with RunProgress(len(todo), enabled=self.config.progress, console=self.console,
                         show_tokens=True) as progress:

            async def worker() -> None:
                nonlocal failed
                for item in queue:  # shared iterator: each worker takes the next item
                    gen = await backend.generate(item.sample, item.repeat)
                    store.put_generation(item.key, item.sample, item.repeat, gen)
                    if gen.ok:
                        task = asyncio.create_task(grade_and_store(item, gen))
                        grading.add(task)
                        task.add_done_callback(grading.discard)
                    else:
                        failed += 1
                    progress.advance(error=not gen.ok, tokens=gen.usage.completion_tokens or 0)

            # An in-process engine (vllm) may want more requests in hand than --eval-batch-size's default.
            workers = min(getattr(backend, "max_in_flight", None) or self.config.eval_batch_size, len(todo))
            raise_open_file_limit(workers)
            started = time.perf_counter()
            try:
                async with asyncio.TaskGroup() as tg:  # one worker's fatal error cancels the others
                    for _ in range(workers):
                        tg.create_task(worker())
            except BaseExceptionGroup as group:
                # ServerRefused: stop the run; what is stored stays stored, graded first.
                await asyncio.gather(*list(grading), return_exceptions=True)
                raise group.exceptions[0] from None
            request_seconds = time.perf_counter() - started
            if grading:
                await asyncio.gather(*list(grading))
        return len(todo), failed, request_seconds


def _stored_keys(run_dir: Path) -> set[str]:
    if not is_run_folder(run_dir):
        return set()
    store = RunStore(run_dir)
    try:
        return store.done_keys()
    finally:
        store.close()


def regrade(run_dir: str | Path, *, console: Console | None = None, workers: int | None = None) -> Report:
    """Re-score every stored generation (after a grader fix): no request is sent."""
    run_dir = Path(run_dir)
    if not is_run_folder(run_dir):
        raise ConfigError(f"{run_dir} is not a thinklens run folder (no run.sqlite)")
    return asyncio.run(_regrade(run_dir, console or Console(stderr=True), workers))


async def _regrade(run_dir: Path, console: Console, workers: int | None) -> Report:
    store = RunStore(run_dir)
    try:
        config = make_config(store.get_meta("config"))
        plan = store.plan()
        benchmarks = {name: get_benchmark(name) for name in config.datasets}
        if workers:
            config = config.model_copy(update={"grading_workers": workers})
        scorer = Scorer.for_config(config, store)
        try:
            rows = [r for r in store.iter_results(ok_only=True) if r.key in plan]
            scores = await asyncio.gather(*(scorer.score(r.sample, r.generation, plan[r.key]) for r in rows))
            changed = 0
            for r, score in zip(rows, scores):
                if r.score is None or r.score.correct != score.correct:
                    changed += 1
                store.put_score(r.key, score, commit=False)
            store.commit()
            console.print(f"re-graded {len(rows)} stored generations ({changed} verdicts changed), no requests sent")
            report = await build_report(store, config, benchmarks, scorer.pool)
        finally:
            await scorer.close()
        write_report(report, run_dir)
        print_report(report, Console())
        return report
    finally:
        store.close()
