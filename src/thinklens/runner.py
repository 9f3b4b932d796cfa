"""Scheduling and resume: plan (sample x repeat -> key), skip what is stored, run the rest.

`eval_batch_size` worker coroutines each hold one request slot.  A worker stores the
generation the moment it arrives and hands grading to the process pool *without
waiting*: grading and storing never hold a request slot, so the server really sees
`eval_batch_size` requests in flight.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from rich.console import Console

from .atomic import atomic_write_text
from .backend import Backend, make_backend
from .benchmarks import Benchmark, DatasetArgs, get_benchmark
from .budget.forcing import budget_fingerprint, for_budget, with_forcing
from .config import TaskConfig, make_config, sample_key
from .errors import ConfigError, ServerRefused
from .limits import raise_open_file_limit
from .progress import RunProgress
from .redaction import redact_url
from .records import Generation, Sample, Score
from .runlock import RunLock
from .scoring import Scorer
from .store import RunStore, is_run_folder, storage_errors

if TYPE_CHECKING:  # pragma: no cover
    from .report import Report


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
        fraction = config.limit if isinstance(config.limit, float) else None
        if config.limit is not None and fraction is None:
            raw_args.setdefault("limit", config.limit)
        samples = bench.load(DatasetArgs.from_mapping(raw_args))
        if fraction is not None and "limit" not in raw_args:
            # A share of the dataset (EvalScope's limit=0.1): its first ceil(F x size) samples,
            # in the data's own order like a count, and never none.
            samples = samples[: max(1, math.ceil(fraction * len(samples) - 1e-9))]
        for sample in samples:
            for repeat in range(config.generation_config.n):
                shown = bench.for_repeat(sample, repeat)
                if not config.thinking_budget:
                    items.append(WorkItem(sample_key(fingerprint, shown.messages, repeat), shown, repeat, bench.grader))
                    continue
                for budget in config.thinking_budget:  # budget forcing: each budget its own key
                    key = sample_key(budget_fingerprint(fingerprint, config, budget), shown.messages, repeat)
                    items.append(WorkItem(key, for_budget(shown, budget), repeat, bench.grader))
    return items, benchmarks


class Runner:
    def __init__(self, config: TaskConfig, *, console: Console | None = None):
        self.config = config
        self.console = console or Console(stderr=True)
        self.run_dir = Path(config.output) if config.output else default_run_dir(config.model)
        self.first_failure: str | None = None  # its status and message are printed at the end

    async def run(self) -> RunResult:
        self._lock: RunLock | None = None
        try:
            with storage_errors(self.run_dir):  # corrupt store, read-only folder, full disk: one line
                # An existing folder is locked first (fail fast); a new one only once the server
                # has answered, so that an unreachable server leaves nothing behind.
                if self.run_dir.exists():
                    self._take_lock()
                return await self._run()
        finally:
            if self._lock is not None:
                self._lock.release()

    def _take_lock(self) -> None:
        if self._lock is None:
            self._lock = RunLock(self.run_dir, wait=self.config.wait_lock,
                                 on_wait=lambda msg: self.console.print(f"[yellow]{msg}[/]")).acquire()

    async def _run(self) -> RunResult:
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
                self._take_lock()
            except BaseException:
                await backend.close()
                raise
            # Under the lock: what a process that held the folder before us has stored.
            done = _stored_keys(self.run_dir)
            todo = [it for it in items if it.key not in done]
        else:
            self._take_lock()
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
                from .report import build_report  # after the requests: no start-up cost (numpy)

                report = await build_report(store, config, benchmarks, scorer.pool)
            finally:
                await scorer.close()
                if backend is not None:
                    await backend.close()
            from .report import print_report, write_report

            write_report(report, self.run_dir)
            print_report(report, Console())
            if config.write_predictions:
                from .report.predictions import write_predictions

                path, n = write_predictions(store, self.run_dir)
                self.console.print(f"wrote {n} predictions to {path}", highlight=False)
            if failed:
                self.console.print(
                    f"[yellow]{failed} request(s) failed after retries[/]: stored as errors, excluded from "
                    "accuracy; run the same command again to retry only those."
                )
                if self.first_failure:
                    self.console.print(f"first failure: {self.first_failure}", markup=False, highlight=False)
            return RunResult(self.run_dir, report, sent, failed, request_seconds)
        finally:
            store.close()

    def _write_config(self, store: RunStore, items: list[WorkItem]) -> None:
        redacted = self.config.redacted()
        redacted["output"] = str(self.run_dir)
        self._note_changed_plan(store, items, redacted)
        atomic_write_text(self.run_dir / "config.yaml", yaml.safe_dump(redacted, sort_keys=False, allow_unicode=True))
        store.set_meta("config", redacted)
        store.set_meta("model", self.config.model)
        store.set_meta("datasets", self.config.datasets)
        if store.get_meta("created_at") is None:
            store.set_meta("created_at", time.time())
        store.set_meta("updated_at", time.time())
        store.set_plan([(it.key, it.grader) for it in items])

    def _note_changed_plan(self, store: RunStore, items: list[WorkItem], redacted: dict[str, Any]) -> None:
        """A reused folder whose stored plan is not part of the new one (another model,
        sampling, prompt or a smaller --limit): say so, keep the old config on record, and
        move the files derived from the old plan (efficiency.json, its figures, predictions)
        aside, so that nothing shows them next to the new run."""
        old_plan = store.plan()
        keys = {it.key for it in items}
        if not old_plan or set(old_plan) <= keys:
            return
        old_config = store.get_meta("config") or {}
        changed = any(old_config.get(f) != redacted.get(f) for f in ("model", "generation_config", "datasets",
                                                                      "dataset_args", "limit"))
        tag = hashlib.sha256(json.dumps(old_config, sort_keys=True, default=str).encode()).hexdigest()[:10]
        done = store.done_keys()
        matched = sum(1 for k in keys if k in done)
        previous = store.get_meta("previous_configs", [])
        if not any(p.get("tag") == tag for p in previous):
            previous.append({"tag": tag, "config": old_config, "planned": len(old_plan), "replaced_at": time.time()})
            store.set_meta("previous_configs", previous)
        moved = _move_derived_files(self.run_dir, self.run_dir / f"superseded-{tag}")
        what = "config changed" if changed else "plan changed"
        self.console.print(
            f"[yellow]{what}:[/] {matched} of {len(items)} planned samples are stored already; the "
            f"{len(old_plan)} of the previous plan stay in run.sqlite under config {tag} (meta previous_configs)"
            + (f"; moved {', '.join(moved)} of that plan to superseded-{tag}/" if moved else ""),
            highlight=False,
        )

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
        plan = getattr(backend, "plan", None)
        if plan is not None:  # budget forcing's trace reuse: the budgets each (sample, repeat) still needs
            plan([(it.sample, it.repeat) for it in todo])
        queue: Iterator[WorkItem] = iter(todo)
        grading: set[asyncio.Task[None]] = set()
        tasks: list[asyncio.Task[None]] = []
        grading_errors: list[BaseException] = []  # a score that could not be stored (full disk)
        failed = 0

        def grading_done(task: asyncio.Task[None]) -> None:
            grading.discard(task)
            if not task.cancelled() and task.exception() is not None:  # retrieved here, reported below
                grading_errors.append(task.exception())  # type: ignore[arg-type]
                for worker_task in tasks:  # stop sending requests whose results cannot be kept
                    worker_task.cancel()

        async def grade_and_store(item: WorkItem, gen: Generation) -> None:
            score: Score = await scorer.score(item.sample, gen, item.grader)
            store.put_score(item.key, score)

        with RunProgress(len(todo), enabled=self.config.progress, console=self.console,
                         show_tokens=True) as progress:

            async def worker() -> None:
                nonlocal failed
                for item in queue:  # shared iterator: each worker takes the next item
                    gen = await backend.generate(item.sample, item.repeat)
                    gen.endpoint = redact_url(gen.endpoint)  # a key in the URL never reaches the store
                    store.put_generation(item.key, with_forcing(item.sample, gen), item.repeat, gen)
                    if gen.ok:
                        task = asyncio.create_task(grade_and_store(item, gen))
                        grading.add(task)
                        task.add_done_callback(grading_done)
                    else:
                        failed += 1
                        if self.first_failure is None:
                            self.first_failure = gen.error
                    progress.advance(error=not gen.ok, tokens=gen.usage.completion_tokens or 0)

            # An in-process engine (vllm) may want more requests in hand than --eval-batch-size's default.
            workers = min(getattr(backend, "max_in_flight", None) or self.config.eval_batch_size, len(todo))
            raise_open_file_limit(workers)
            started = time.perf_counter()
            tasks.extend(asyncio.create_task(worker()) for _ in range(workers))
            try:
                await asyncio.gather(*tasks)
                request_seconds = time.perf_counter() - started
                if grading:
                    await asyncio.gather(*list(grading))
            except BaseException as exc:
                # A worker failed (the server refuses, a full disk), a grading task failed, or
                # the run was interrupted (Ctrl-C): stop every other task and collect its
                # outcome, so that none is left to print "Task exception was never retrieved".
                # What is stored stays.  A refusal stops the requests only: the answers
                # already in hand are still graded and stored.
                keep_grading = isinstance(exc, ServerRefused)
                pending = [*tasks, *grading]
                for task in tasks if keep_grading else pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                if grading_errors:
                    raise grading_errors[0] from None
                raise
            if grading_errors:
                raise grading_errors[0]
        return len(todo), failed, request_seconds


# Files computed from a run's plan by later steps (efficiency, predictions).
_DERIVED_FILES = ("efficiency.json", "efficiency.png", "efficiency.svg", "predictions.jsonl")


def _move_derived_files(run_dir: Path, to: Path) -> list[str]:
    moved = []
    for name in _DERIVED_FILES:
        path = run_dir / name
        if path.is_file():
            to.mkdir(exist_ok=True)
            path.replace(to / name)
            moved.append(name)
    return moved


def _stored_keys(run_dir: Path) -> set[str]:
    if not is_run_folder(run_dir):
        return set()
    store = RunStore(run_dir)
    try:
        return store.done_keys()
    finally:
        store.close()


def regrade(run_dir: str | Path, *, console: Console | None = None, workers: int | None = None,
            wait_lock: bool = False) -> Report:
    """Re-score every stored generation (after a grader fix): no request is sent."""
    run_dir = Path(run_dir)
    if not is_run_folder(run_dir):
        raise ConfigError(f"{run_dir} is not a thinklens run folder (no run.sqlite)")
    console = console or Console(stderr=True)
    with storage_errors(run_dir), RunLock(run_dir, wait=wait_lock,
                                          on_wait=lambda msg: console.print(f"[yellow]{msg}[/]")):
        return asyncio.run(_regrade(run_dir, console, workers))


async def _regrade(run_dir: Path, console: Console, workers: int | None) -> Report:
    from .report import build_report, print_report, write_report

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
