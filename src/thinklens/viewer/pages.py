"""Page contents: what each page shows, gathered from the catalog and the readers.

Each builder returns `(template name, context)`; the server and the static export
render them with their own link builder.  Nothing here knows about HTTP.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from .catalog import Catalog, Entry, NotFound
from .charts import Bar, histogram_svg, score_bars_svg
from .features import (
    EFFICIENCY_FILENAME,
    LATENCY_STATS,
    load_efficiency,
    load_perf,
    figures,
    one_per_figure,
    sample_efficiency,
    stays_inside,
)
from .query import OUTCOME_FILTERS, PER_PAGE_CHOICES, SORT_LABELS, SampleQuery
from ..store.summary import SubsetCounts, message_text
from .paired import paired_view
from .reader import LiveScore, Progress, RunReader
from .render import render_markdown, render_reasoning, spans_from_steps

OVERALL = "OVERALL"
HEADLINE_METRIC = "AveragePass@1"
COMPARE_PER_PAGE = 50

Page = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class ScoreLine:
    """One row of the guide's table: Model | Dataset | Metric | Subset | Num | Score."""

    model: str
    dataset: str
    metric: str
    subset: str
    num: int
    score: float | None
    stderr: float | None
    ci_low: float | None = None  # the report's 95 % interval, when it has one (docs/statistics.md)
    ci_high: float | None = None
    ci_method: str | None = None
    from_report: bool = False  # a report line among live ones (maj@k: Scores.note says why)


@dataclass(frozen=True)
class Scores:
    """The score table a page shows, and where its numbers come from."""

    lines: list[ScoreLine]
    live: bool  # computed from the store: the report is missing or older than the results
    note: str | None = None  # i18n key: how maj@k is shown in a live table ("maj_from_report" | "maj_needs_report")


@dataclass
class RunSummary:
    entry: Entry
    model: str
    datasets: list[str]
    created_at: float | None
    progress: Progress | None
    headline: list[tuple[str, float | None, bool]]  # (dataset, score, live?)
    problem: str | None = None


# ---- shared helpers --------------------------------------------------------------------
def _run_model(meta: dict[str, Any], report: dict[str, Any] | None, entry: Entry) -> str:
    model = meta.get("model") or (report or {}).get("model")
    return str(model) if model else entry.path.name


def report_lines(report: dict[str, Any] | None) -> list[ScoreLine]:
    out = []
    for r in (report or {}).get("rows") or []:
        if not isinstance(r, dict):
            continue
        out.append(ScoreLine(
            str(r.get("model", "")), str(r.get("dataset", "")), str(r.get("metric", "")), str(r.get("subset", "")),
            int(r.get("num") or 0), _num(r.get("score")), _num(r.get("stderr")),
            _num(r.get("ci_low")), _num(r.get("ci_high")), str(r["ci_method"]) if r.get("ci_method") else None,
        ))
    return out


def live_lines(model: str, live: list[LiveScore]) -> list[ScoreLine]:
    return [ScoreLine(model, s.dataset, s.metric, s.subset, s.num, s.score, s.stderr) for s in live]


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and math.isnan(v)):
        return None
    return float(v)


def scores_for(reader: RunReader, model: str) -> Scores:
    """The score table to show: the report's, or live from the store when the report is
    missing or older than the results.  A live table has no maj@k of its own (it needs
    the grader's answer equivalence, which only the report applies): it shows the
    report's maj@k lines when there are any, and says so either way."""
    report = reader.report()
    progress = reader.progress()
    lines = report_lines(report)
    if lines and not progress.report_stale:
        return Scores(lines, False)
    n = None
    if report and isinstance(report.get("n_repeats"), int):
        n = report["n_repeats"]
    else:
        config = reader.meta().get("config")
        if isinstance(config, dict):
            n = (config.get("generation_config") or {}).get("n")
    live = live_lines(model, reader.live_scores(n if isinstance(n, int) else None))
    majority = [replace(line, from_report=True) for line in lines if line.metric.startswith("maj@")]
    if majority:
        return Scores(_with_majority(live, majority), True, "maj_from_report")
    repeated = any(line.metric.startswith("pass@") for line in live)  # maj@k exists for n > 1 only
    return Scores(live, True, "maj_needs_report" if repeated else None)


def _with_majority(live: list[ScoreLine], majority: list[ScoreLine]) -> list[ScoreLine]:
    """Each report maj@k line after the live lines of its (dataset, subset), where the
    report puts it; a group the store no longer has goes last."""
    out = list(live)
    for line in majority:
        group = (line.dataset, line.subset)
        at = max((i + 1 for i, x in enumerate(out) if (x.dataset, x.subset) == group), default=len(out))
        out.insert(at, line)
    return out


def headline(lines: list[ScoreLine]) -> list[tuple[str, float | None]]:
    """AveragePass@1 per dataset: the OVERALL row, or the only subset's row."""
    out: dict[str, float | None] = {}
    by_dataset: dict[str, list[ScoreLine]] = {}
    for line in lines:
        if line.metric == HEADLINE_METRIC:
            by_dataset.setdefault(line.dataset, []).append(line)
    for dataset, rows in by_dataset.items():
        overall = [r for r in rows if r.subset == OVERALL]
        out[dataset] = (overall[0] if overall else rows[0]).score if (overall or len(rows) == 1) else None
    return list(out.items())


def _rel(catalog: Catalog, path: Path) -> str:
    return path.resolve().relative_to(catalog.root).as_posix()


# ---- runs ----------------------------------------------------------------------------
def runs_page(catalog: Catalog) -> Page:
    summaries: list[RunSummary] = []
    for entry in catalog.runs():
        try:
            reader = catalog.reader(entry.id)
            meta = reader.meta()
            report = reader.report()
            progress = reader.progress()
            model = _run_model(meta, report, entry)
            scores = scores_for(reader, model)
            datasets = meta.get("datasets") if isinstance(meta.get("datasets"), list) else None
            datasets = [str(d) for d in (datasets or [d for d, _ in reader.datasets_and_subsets()])]
            created = meta.get("created_at") if isinstance(meta.get("created_at"), (int, float)) else None
            summaries.append(RunSummary(entry, model, datasets, created, progress,
                                        [(d, s, scores.live) for d, s in headline(scores.lines)]))
        except Exception as exc:  # one unreadable run must not hide the others
            summaries.append(RunSummary(entry, entry.path.name, [], None, None, [], problem=f"{type(exc).__name__}: {exc}"))
    summaries.sort(key=lambda s: -(s.created_at or 0))
    perfs = []
    for entry in catalog.perfs():
        perf = load_perf(entry.path)
        perfs.append((entry, len(perf.levels) if perf else 0))
    return "runs.html", {
        "runs": summaries,
        "perfs": perfs,
        "live_ids": [s.entry.id for s in summaries if s.progress is not None],
        "versions": {s.entry.id: s.progress.version for s in summaries if s.progress is not None},
        "all_ids": [s.entry.id for s in summaries if s.progress is not None],
    }


# ---- run -----------------------------------------------------------------------------
@dataclass(frozen=True)
class TokenStats:
    n: int
    mean: float | None
    p50: float | None
    p90: float | None
    max: float | None


def _stats(values: list[int]) -> TokenStats:
    if not values:
        return TokenStats(0, None, None, None, None)
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)]
    return TokenStats(len(values), round(statistics.fmean(values), 1), statistics.median(ordered), p90, ordered[-1])


@dataclass
class SubsetTokens:
    dataset: str
    subset: str
    completion: TokenStats
    reasoning: TokenStats
    completion_svg: Any
    reasoning_svg: Any
    query: SampleQuery = field(default_factory=SampleQuery)


def run_page(catalog: Catalog, rid: str, t: Any) -> Page:
    entry = catalog.run(rid)
    reader = catalog.reader(rid)
    meta = reader.meta()
    report = reader.report()
    progress = reader.progress()
    model = _run_model(meta, report, entry)
    scores = scores_for(reader, model)
    counts = reader.subset_counts()
    efficiency = load_efficiency(entry.path)
    eff_names = {p.name for p in (efficiency.figures if efficiency else [])}
    other_figures = [p for p in figures(entry.path) if p.name not in eff_names]
    return "run.html", {
        "entry": entry,
        "rid": rid,
        "model": model,
        "meta": meta,
        "progress": progress,
        "lines": scores.lines,
        "live": scores.live,
        "scores_note": scores.note,
        "has_report": report is not None,
        "judge": _judge_counts(report),
        "counts": counts,
        "count_queries": {(c.dataset, c.subset): _count_query(c) for c in counts},
        "tokens": _subset_tokens(reader, t),
        "efficiency": efficiency,
        "efficiency_file": EFFICIENCY_FILENAME,
        "figure_rel": lambda p: _rel(catalog, p),
        "other_figures": other_figures,
        "config_text": _config_text(entry, meta),
        "live_ids": [rid],
        "versions": {rid: progress.version},
    }


def _subset_tokens(reader: RunReader, t: Any) -> list[SubsetTokens]:
    """Token statistics and histograms per subset, in benchmark order."""
    structure = reader.datasets_and_subsets()
    rank = {(d, sub): (i, j) for i, (d, subs) in enumerate(structure) for j, sub in enumerate(subs)}
    return [
        SubsetTokens(
            dataset, subset,
            _stats([v for v, _ in tv.completion]), _stats([v for v, _ in tv.reasoning]),
            histogram_svg(tv.completion, label=t("completion_tokens")),
            histogram_svg(tv.reasoning, label=t("reasoning_tokens")) if tv.reasoning else None,
            SampleQuery(dataset=dataset, subset=subset),
        )
        for (dataset, subset), tv in sorted(reader.token_values().items(), key=lambda kv: rank.get(kv[0], (0, 0)))
    ]


def _config_text(entry: Entry, meta: dict[str, Any]) -> str:
    """config.yaml as written, else the config stored in the run's meta."""
    config_path = entry.path / "config.yaml"
    if stays_inside(config_path, entry.path):  # never a file a symlink points to elsewhere
        return config_path.read_text(encoding="utf-8", errors="replace")
    if isinstance(meta.get("config"), dict):
        return yaml.safe_dump(meta["config"], sort_keys=False, allow_unicode=True)
    return ""


def _judge_counts(report: dict[str, Any] | None) -> dict[str, Any] | None:
    """report.json's `judge` entry ({strategy, asked, changed, failed}), when a judge took part."""
    judge = (report or {}).get("judge")
    if not isinstance(judge, dict):
        return None
    return {k: judge.get(k, "–") for k in ("strategy", "asked", "changed", "failed")}


def _sample_judge(score: Any) -> dict[str, Any] | None:
    """`grade_detail["judge"]`: the LLM judge's verdict on this answer, when it was asked."""
    judge = score.detail.get("judge") if score is not None and isinstance(score.detail, dict) else None
    return judge if isinstance(judge, dict) else None


def _count_query(c: SubsetCounts) -> SampleQuery:
    return SampleQuery(dataset=c.dataset, subset="" if c.subset == OVERALL else c.subset)


# ---- samples -------------------------------------------------------------------------
def samples_page(catalog: Catalog, rid: str, query: SampleQuery) -> Page:
    entry = catalog.run(rid)
    reader = catalog.reader(rid)
    page = reader.page(query)
    query = query.with_(page=page.page) if page.page != query.page else query
    structure = reader.datasets_and_subsets()
    progress = reader.progress()
    return "samples.html", {
        "entry": entry,
        "rid": rid,
        "model": _run_model(reader.meta(), None, entry),
        "query": query,
        "page": page,
        "outcome_counts": reader.outcome_counts(query),
        "outcomes": list(OUTCOME_FILTERS),
        "structure": structure,
        "many_datasets": len(structure) > 1,
        "repeats": reader.repeats(),
        "sorts": SORT_LABELS,
        "per_page_choices": PER_PAGE_CHOICES,
        "progress": progress,
        "live_ids": [rid],
        "versions": {rid: progress.version},
    }


# ---- one sample ----------------------------------------------------------------------
def sample_page(catalog: Catalog, rid: str, key: str, query: SampleQuery) -> Page:
    entry = catalog.run(rid)
    reader = catalog.reader(rid)
    found = reader.sample(key)
    if found is None:
        raise NotFound(key)
    result, summary = found
    neighbors = reader.neighbors(query, key)
    summary_eff = load_efficiency(entry.path)
    eff = sample_efficiency(reader, key, summary_eff.settings_hash if summary_eff else None)
    reasoning = result.generation.reasoning or ""
    # A trace without reasoning was analysed on its whole output: its steps, switches and
    # first correct step are offsets into the answer, so the marks go there.
    marks_on_answer = bool(eff and eff.no_reasoning and not reasoning and result.generation.content)
    analysed = result.generation.content if marks_on_answer else reasoning
    spans = spans_from_steps(analysed, eff.steps) if eff else None
    steps = render_reasoning(
        analysed,
        spans=spans,
        switches=eff.switches if eff else (),
        first_correct_offset=eff.first_correct_offset if eff else None,
        first_correct_step=eff.first_correct_step if (eff and spans) else None,
        solution_steps=eff.solution_steps if (eff and spans) else (),
    ) if analysed else []
    messages = _prompt(result.sample.messages)
    score = result.score
    return "sample.html", {
        "entry": entry,
        "rid": rid,
        "model": _run_model(reader.meta(), None, entry),
        "query": query,
        "result": result,
        "summary": summary,
        "neighbors": neighbors,
        "messages": messages,
        "steps": [] if marks_on_answer else steps,
        "answer_steps": steps if marks_on_answer else [],
        "switch_count": sum(len(s.switches) for s in steps),
        "first_correct": next((s for s in steps if s.first_correct), None),
        "efficiency": eff,
        "answer_html": render_markdown(result.generation.content),
        "score": score,
        "judge": _sample_judge(score),
        "grade_detail": json.dumps(score.detail, indent=2, ensure_ascii=False) if score and score.detail else "",
        "meta_fields": [(k, _meta_value(v)) for k, v in result.sample.meta.items()],
        "efficiency_detail": json.dumps(eff.detail, indent=2, ensure_ascii=False) if eff and eff.detail else "",
    }


def _prompt(messages: list[Any]) -> list[tuple[str, Any]]:
    """(role, rendered text) per prompt message; content parts become paragraphs."""
    return [(str(m.get("role", "?")) if isinstance(m, dict) else "?", render_markdown(message_text(m, "\n\n")))
            for m in messages]


def _meta_value(v: Any) -> tuple[str, Any]:
    """("md", html) for text, ("json", text) for anything else."""
    if isinstance(v, str):
        return "md", render_markdown(v)
    return "json", json.dumps(v, ensure_ascii=False, indent=1) if isinstance(v, (dict, list)) else json.dumps(v)


# ---- compare -------------------------------------------------------------------------
Ident = tuple[str, str, str, int]


@dataclass
class CompareRun:
    entry: Entry
    model: str
    lines: list[ScoreLine]
    live: bool
    datasets: list[str]
    efficiency: Any


@dataclass
class Disagreement:
    ident: Ident
    verdicts: list[Any]  # Verdict per run (None when the run lacks this sample)


def _resolve_runs(catalog: Catalog, rids: list[str]) -> list[str]:
    seen: list[str] = []
    for rid in rids:
        catalog.run(rid)  # NotFound for an unknown id
        if rid not in seen:
            seen.append(rid)
    return seen


def compare_page(catalog: Catalog, rids: list[str], *, dataset: str = "", page: int = 1) -> Page:
    """Several runs side by side: scores, efficiency, and the samples they disagree on."""
    rids = _resolve_runs(catalog, rids)
    if len(rids) < 2:
        return "compare.html", {"runs": [], "rids": rids, "problem": "compare_need_two"}
    readers = [catalog.reader(r) for r in rids]
    runs = [_compare_run(catalog, rid, reader) for rid, reader in zip(rids, readers)]
    common = [d for d in runs[0].datasets if all(d in r.datasets for r in runs[1:])]
    if not common:
        return "compare.html", {"runs": runs, "rids": rids, "problem": "compare_no_common"}
    keys, values = _score_table(runs, common)
    tally, mixed = _disagreements(readers, common, dataset)
    pages = max(1, math.ceil(len(mixed) / COMPARE_PER_PAGE))
    page = min(max(1, page), pages)
    return "compare.html", {
        "runs": runs,
        "rids": rids,
        "problem": None,
        "common": common,
        "keys": keys,
        "values": values,
        "best": {k: _best(v) for k, v in values.items()},
        "chart": score_bars_svg([(d, _headline_bars(runs, d)) for d in common]),
        "tally": tally,
        "mixed": mixed[(page - 1) * COMPARE_PER_PAGE : page * COMPARE_PER_PAGE],
        "mixed_total": len(mixed),
        "dataset": dataset,
        "page": page,
        "pages": pages,
        "eff_columns": _efficiency_columns(runs),
        "eff_overall": [dict(r.efficiency.rows).get("overall") if r.efficiency else None for r in runs],
        # per run: False where its token counts are estimates (no tokenizer), marked ~
        "eff_exact": [r.efficiency.tokens_exact if r.efficiency else None for r in runs],
        "comparison_figures": one_per_figure(catalog.comparison_figures([r.entry.path for r in runs])),
        "paired": paired_view([Path(r.entry.path) for r in runs]),
        "figure_rel": lambda p: _rel(catalog, p),
        "live_ids": rids,
        "versions": {rid: reader.progress().version for rid, reader in zip(rids, readers)},
    }


def _compare_run(catalog: Catalog, rid: str, reader: RunReader) -> CompareRun:
    entry = catalog.run(rid)
    model = _run_model(reader.meta(), reader.report(), entry)
    scores = scores_for(reader, model)
    return CompareRun(entry, model, scores.lines, scores.live, [d for d, _ in reader.datasets_and_subsets()],
                      load_efficiency(entry.path))


ScoreKey = tuple[str, str, str]  # (dataset, subset, metric)


def _score_table(
    runs: list[CompareRun], common: list[str]
) -> tuple[list[ScoreKey], dict[ScoreKey, list[ScoreLine | None]]]:
    """The rows of the common datasets, in table order, each with one line per run
    (None where a run lacks it)."""
    keys: list[ScoreKey] = []
    values: dict[ScoreKey, list[ScoreLine | None]] = {}
    for i, run in enumerate(runs):
        for line in run.lines:
            if line.dataset not in common:
                continue
            k = (line.dataset, line.subset, line.metric)
            if k not in values:
                keys.append(k)
                values[k] = [None] * len(runs)
            values[k][i] = line
    keys.sort(key=lambda k: (common.index(k[0]), k[1] == OVERALL, k[1], _metric_order(k[2])))
    return keys, values


def _disagreements(
    readers: list[RunReader], common: list[str], dataset: str
) -> tuple[dict[str, int], list[Disagreement]]:
    """Over the samples every run has a verdict for (of `dataset`, or of every common
    one): how many all runs got right, all got wrong, and the mixed ones."""
    maps = [reader.verdicts() for reader in readers]
    shared = [i for i in maps[0] if i[0] in common and all(i in m for m in maps[1:])]
    if dataset:
        shared = [i for i in shared if i[0] == dataset]
    tally = {"all_correct": 0, "all_wrong": 0, "mixed": 0}
    mixed: list[Disagreement] = []
    for ident in shared:
        verdicts = [m[ident] for m in maps]
        if any(v.correct is None for v in verdicts):
            continue
        right = sum(bool(v.correct) for v in verdicts)
        if right == len(verdicts):
            tally["all_correct"] += 1
        elif right == 0:
            tally["all_wrong"] += 1
        else:
            tally["mixed"] += 1
            mixed.append(Disagreement(ident, verdicts))
    return tally, mixed


def _efficiency_columns(runs: list[CompareRun]) -> list[tuple[str, str]]:
    """Every efficiency column any run has (the main ones, then the counts), in first-seen order."""
    columns: list[tuple[str, str]] = []
    for more in (False, True):
        for run in runs:
            if run.efficiency:
                columns += [c for c in (run.efficiency.more_columns if more else run.efficiency.columns)
                            if c not in columns]
    return columns


def _headline_bars(runs: list[CompareRun], dataset: str) -> list[Bar]:
    """Each run's AveragePass@1 on `dataset` (OVERALL, or its only subset) with its interval."""
    bars = []
    for i, run in enumerate(runs):
        rows = [line for line in run.lines if line.dataset == dataset and line.metric == HEADLINE_METRIC]
        overall = [line for line in rows if line.subset == OVERALL]
        line = overall[0] if overall else (rows[0] if len(rows) == 1 else None)
        if line is None:
            bars.append(Bar(i, run.model, None))
        elif line.ci_low is not None and line.ci_high is not None:
            bars.append(Bar(i, run.model, line.score, line.ci_low, line.ci_high))
        elif line.score is not None and line.stderr is not None:
            bars.append(Bar(i, run.model, line.score, line.score - 1.96 * line.stderr, line.score + 1.96 * line.stderr))
        else:
            bars.append(Bar(i, run.model, line.score))
    return bars


def _metric_order(metric: str) -> tuple[int, int]:
    kind, _, k = metric.partition("@")
    rank = {"AveragePass": 0, "pass": 1, "maj": 2}.get(kind, 3)
    return rank, int(k) if k.isdigit() else 0


def _best(lines: list[ScoreLine | None]) -> int | None:
    scored = [(line.score, i) for i, line in enumerate(lines) if line is not None and line.score is not None]
    if len(scored) < 2:
        return None
    top = max(s for s, _ in scored)
    winners = [i for s, i in scored if s == top]
    return winners[0] if len(winners) == 1 else None


@dataclass
class SideBySide:
    entry: Entry
    model: str
    present: bool
    summary: Any = None
    result: Any = None
    answer_html: Any = None
    steps: list[Any] = field(default_factory=list)


def compare_sample_page(catalog: Catalog, rids: list[str], ident: Ident) -> Page:
    rids = _resolve_runs(catalog, rids)
    columns: list[SideBySide] = []
    prompt: list[tuple[str, Any]] = []
    for rid in rids:
        entry = catalog.run(rid)
        reader = catalog.reader(rid)
        model = _run_model(reader.meta(), None, entry)
        verdict = reader.verdicts().get(ident)
        found = reader.sample(verdict.key) if verdict else None
        if found is None:
            columns.append(SideBySide(entry, model, False))
            continue
        result, summary = found
        if not prompt:
            prompt = _prompt(result.sample.messages)
        columns.append(SideBySide(
            entry, model, True, summary, result, render_markdown(result.generation.content),
            render_reasoning(result.generation.reasoning) if result.generation.reasoning else [],
        ))
    if not any(c.present for c in columns):
        raise NotFound("/".join(map(str, ident)))
    return "compare_sample.html", {"rids": rids, "ident": ident, "columns": columns, "prompt": prompt}


# ---- perf ----------------------------------------------------------------------------
def perf_page(catalog: Catalog, pid: str) -> Page:
    entry = catalog.perf(pid)
    perf = load_perf(entry.path)
    return "perf.html", {
        "entry": entry,
        "perf": perf,
        "stats": LATENCY_STATS,
        "figure_rel": lambda p: _rel(catalog, p),
    }
