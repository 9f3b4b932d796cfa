"""The finished run's generations as the traces an efficiency analysis reads."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ..errors import ConfigError
from ..grading.registry import gold_info_of
from ..grading.request import freeze_info
from ..store import RunStore
from ..store.efficiency import planned_datasets, trace_rows

@dataclass(frozen=True)
class Trace:
    """One (sample, repeat) with what the analysis needs: the reasoning, the gold, the grade."""

    key: str
    dataset: str
    subset: str
    group: str  # the subset the figures show (a GPQA domain, a MATH level...)
    sample_id: str
    repeat: int
    problem: str
    gold: str
    choices: tuple[str, ...]
    grader: str
    text: str  # the reasoning analysed; the whole output for a model without reasoning
    content: str  # the answer after the reasoning
    no_reasoning: bool
    reasoning_source: str
    finish_reason: str | None
    correct: bool | None  # the run's own grade of the final answer (None: no verdict)
    extracted: str | None  # the final answer the grader read
    completion_tokens: int | None
    reasoning_tokens: int | None
    gold_info: tuple = ()  # what the grader needs from the gold (GradeRequest.gold_info)

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"


@dataclass
class LoadedRun:
    traces: list[Trace]
    errors: Counter  # group -> generations stored as errors (no output to analyse)
    datasets: list[str]  # every dataset in the run
    dataset: str  # the one analysed
    group_by: str  # resolved ("auto" becomes "subset" or "domain")
    model: str


def grader_for(dataset: str) -> str:
    """The grader the benchmark names, when a run's plan does not say (runs written by
    hand); "math" for a dataset no benchmark is registered under."""
    from ..benchmarks import get_benchmark
    from ..errors import DatasetError

    try:
        return get_benchmark(dataset).grader
    except DatasetError:
        return "math"


def _group_of(group_by: str, subset: str, meta: dict) -> str:
    if group_by == "subset":
        return subset
    value = meta.get(group_by)
    return str(value) if value not in (None, "") else subset


def load_run(store: RunStore, *, dataset: str | None, subsets: tuple[str, ...] | None, group_by: str) -> LoadedRun:
    """Rows of the run's latest plan (every row when it has none), for one dataset."""
    plan = store.plan()
    datasets = planned_datasets(store)
    if not datasets:
        raise ConfigError(f"the run in {store.run_dir} holds no generations yet")
    if dataset is None:
        if len(datasets) > 1:
            raise ConfigError(
                f"the run holds several datasets ({', '.join(datasets)}): choose one with --dataset "
                "(dataset_name in Python)"
            )
        dataset = datasets[0]
    chosen = _match_dataset(dataset, datasets)
    rows = trace_rows(store, chosen)
    if group_by == "auto":
        # GPQA has one subset; its domains are what users compare.
        one_subset = len({r.subset for r in rows}) == 1
        group_by = "domain" if one_subset and all(r.meta.get("domain") for r in rows) else "subset"
    if subsets:
        available = {r.subset for r in rows} | {_group_of(group_by, r.subset, r.meta) for r in rows}
        missing = [s for s in subsets if s not in available]
        if missing:
            raise ConfigError(
                f"no subset {', '.join(map(repr, missing))} in {chosen}; the run has: {', '.join(sorted(available))}"
            )
    traces: list[Trace] = []
    errors: Counter = Counter()
    for r in rows:
        meta = r.meta
        group = _group_of(group_by, r.subset, meta)
        if subsets and r.subset not in subsets and group not in subsets:
            continue
        if r.status != "ok":
            errors[group] += 1
            continue
        no_reasoning = not r.reasoning.strip()
        grader = plan.get(r.key) or grader_for(chosen)
        traces.append(Trace(
            key=r.key, dataset=r.dataset, subset=r.subset, group=group, sample_id=r.sample_id,
            repeat=r.repeat, problem=str(meta.get("problem") or ""), gold=r.gold,
            choices=tuple(str(c) for c in (meta.get("choices") or ())), grader=grader,
            gold_info=freeze_info(gold_info_of(meta, grader)),
            text=r.content if no_reasoning else r.reasoning, content=r.content,
            no_reasoning=no_reasoning, reasoning_source=r.reasoning_source, finish_reason=r.finish_reason,
            correct=r.correct, extracted=r.extracted,
            completion_tokens=r.completion_tokens, reasoning_tokens=r.reasoning_tokens,
        ))
    model = str(store.get_meta("model") or (store.get_meta("config") or {}).get("model") or store.run_dir.name)
    return LoadedRun(traces, errors, datasets, chosen, group_by, model)


def _match_dataset(wanted: str, present: list[str]) -> str:
    if wanted in present:
        return wanted
    norm = wanted.lower().replace("-", "_")
    aliases = {"math500": "math_500", "gpqa_diamond": "gpqa"}
    norm = aliases.get(norm, norm)
    for d in present:
        if d.lower().replace("-", "_") == norm:
            return d
    raise ConfigError(f"dataset {wanted!r} is not in this run; it holds: {', '.join(present)}")
