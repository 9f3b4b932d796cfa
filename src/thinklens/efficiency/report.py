"""efficiency.json (written before any figure), its figures, and the console table."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from ..atomic import atomic_write_text
from ..console_tables import add_column
from .metrics import METRICS, SampleEfficiency, agreement, summarize

if TYPE_CHECKING:
    from ..judge import Judge
    from .selection import GroupSelection
    from .settings import EfficiencySettings
    from .traces import LoadedRun

SUMMARY_FILENAME = "efficiency.json"
FIGURE_STEM = "efficiency"
OVERALL = "overall"

DEFINITIONS = {
    "reasoning_tokens": "mean T: tokens of the reasoning (whole output when the model has none), complete traces",
    "reasoning_tokens_reached": "mean T over the n_reached_correct traces: the T that first_correct_tokens and "
                                "reflection_tokens are compared with (T^ <= T, T - T^ = reflection_tokens)",
    "first_correct_tokens": "mean T^: tokens from the start of the reasoning to the end of the first step reaching "
                            "the correct answer (that step included), over the n_reached_correct traces",
    "reflection_tokens": "mean T - T^ over the n_reached_correct traces",
    "token_efficiency": "mean T^/T over the n_reached_correct traces",
    "thought_num": "mean number of thought switches (settings.switch_phrases, case-insensitive, word boundaries)",
    "accuracy": "the run's own final-answer accuracy on the selected traces; a trace without a verdict "
                "(n_ungraded) counts as not correct, as in report.json",
    "xi_o": "outcome efficiency: mean over complete traces of sigma*T^/T (sigma: final answer proven correct; "
            "T^ = T when no step is correct)",
    "xi_ut": "underthinking score: mean over complete traces not proven correct (wrong or ungraded) of 1 - T^/T (T^ = T when no step is correct)",
    "solutions": "mean solution rounds: steps that state an answer",
    "truncated": "traces cut by the token limit: counted in n, n_truncated and accuracy; their token metrics are here",
}


def build_summary(
    *,
    settings: "EfficiencySettings",
    run_dir: Path,
    loaded: "LoadedRun",
    selection: dict[str, "GroupSelection"],
    samples: list[SampleEfficiency],
    tokenizer: str | None,
    judge: "Judge | None",
) -> dict[str, Any]:
    from .. import __version__

    by_group: dict[str, list[SampleEfficiency]] = {g: [] for g in selection}
    for s in samples:
        by_group.setdefault(s.group, []).append(s)
    subsets = {g: summarize(items) for g, items in by_group.items()}
    subsets[OVERALL] = summarize(samples)
    public = settings.public()
    public["tokenizer"] = tokenizer
    public["tokens_exact"] = tokenizer is not None
    public["dataset"] = loaded.dataset
    public["group_by"] = loaded.group_by
    public["settings_hash"] = settings.settings_hash()
    summary: dict[str, Any] = {
        "thinklens_version": __version__,
        "created_at": time.time(),
        "run_dir": str(run_dir),
        "model": settings.model_name or loaded.model,
        "dataset": loaded.dataset,
        "settings": public,
        "subset_order": list(selection),
        "selection": {g: sel.to_dict() for g, sel in selection.items()},
        "subsets": subsets,
        "definitions": DEFINITIONS,
    }
    if settings.method == "both":
        summary["agreement"] = {g: agreement(items) for g, items in by_group.items()} | {OVERALL: agreement(samples)}
        as_judge = [_as_method(s, "judge") for s in samples]
        judged: dict[str, list[SampleEfficiency]] = {g: [] for g in selection}
        for s in as_judge:
            judged.setdefault(s.group, []).append(s)
        summary["by_method"] = {
            "verify": subsets,
            "judge": {g: summarize(items) for g, items in judged.items()} | {OVERALL: summarize(as_judge)},
        }
    if judge is not None:
        st = judge.stats
        summary["judge_calls"] = {"requests": st.requests, "cache_hits": st.cache_hits, "errors": st.errors,
                                  "unparsed": st.unparsed, "by_purpose": dict(st.by_purpose)}
    return summary


def _as_method(s: SampleEfficiency, method: str) -> SampleEfficiency:
    import dataclasses

    fc = s.judge if method == "judge" else s.verify
    assert fc is not None
    return dataclasses.replace(s, first_correct=fc, method=method)


def write_summary(summary: dict[str, Any], run_dir: Path) -> Path:
    path = run_dir / SUMMARY_FILENAME
    atomic_write_text(path, json.dumps(summary, indent=2, ensure_ascii=False, allow_nan=False))
    return path


def read_summary(run_dir: str | Path) -> dict[str, Any]:
    from ..errors import ConfigError

    path = Path(run_dir)
    if path.is_dir():
        path = path / SUMMARY_FILENAME
    if not path.is_file():
        raise ConfigError(f"no {SUMMARY_FILENAME} in {path.parent}: run `thinklens efficiency {path.parent}` first")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from None


def draw_figures(summary: dict[str, Any], run_dir: Path, stem: str = FIGURE_STEM) -> list[Path]:
    from .figures import plot_grid

    order = summary["subset_order"]
    title = f"Reasoning efficiency of {summary['model']} on {summary['dataset']} " \
            f"(split {summary['settings']['split']}, method {summary['settings']['method']})"
    return plot_grid([(summary["model"], summary["subsets"])], order, title, run_dir / stem)


def _fmt(v: Any, digits: int = 1) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


@dataclass(frozen=True)
class TableRow:
    """One subset's row of the console table, as printed.  The token means that are
    compared (T, T^, T-T^, T^/T) share one denominator, the `reached` traces, and
    T-T^ is printed as the difference of the printed T and T^, so that the identity
    the reader checks holds as printed (each trace has T^ <= T, so T^ <= T here too)."""

    subset: str
    n: str
    truncated: str
    reached: str
    t: str
    t_hat: str
    reflection: str
    efficiency: str
    t_all: str
    switches: str
    accuracy: str
    xi_o: str
    xi_ut: str
    solutions: str
    unparsed: str


def table_rows(summary: dict[str, Any]) -> list[TableRow]:
    rows = []
    for name in [*summary["subset_order"], OVERALL]:
        m = summary["subsets"].get(name)
        if not m:
            continue
        # An efficiency.json from before reasoning_tokens_reached: no T over the reached traces.
        t = m.get("reasoning_tokens_reached")
        t_hat = m["first_correct_tokens"]
        reflection = "-" if t is None or t_hat is None else str(round(t) - round(t_hat))
        rows.append(TableRow(
            name, str(m["n"]), str(m["n_truncated"]), str(m["n_reached_correct"]), _fmt(t, 0), _fmt(t_hat, 0),
            reflection, _fmt(m["token_efficiency"], 3), _fmt(m["reasoning_tokens"], 0), _fmt(m["thought_num"], 2),
            _fmt(m["accuracy"], 3), _fmt(m["xi_o"], 3), _fmt(m["xi_ut"], 3), _fmt(m["solutions"], 2),
            str(m["n_judge_unparsed"]),
        ))
    return rows


def print_summary(summary: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    s = summary["settings"]
    exact = "" if s.get("tokens_exact") else " [yellow](token counts approximate: no tokenizer)[/]"
    rows = table_rows(summary)
    # Two tables of few columns each, so that 80 columns (a log, a pipe, CI) cut nothing.
    tokens = Table(
        title=f"Efficiency: {summary['model']} on {summary['dataset']}{exact}\n"
              "T, T^ (tokens to the end of the first correct step), T-T^ and T^/T: means over the Reached "
              "traces (complete, reaching a correct answer); T all: mean T over the complete traces (N - Trunc)",
        title_justify="left",
    )
    for c in ("Subset", "N", "Trunc", "Reached", "T", "T^", "T-T^", "T^/T", "T all"):
        add_column(tokens, c, text=c == "Subset")
    for r in rows:
        tokens.add_row(r.subset, r.n, r.truncated, r.reached, r.t, r.t_hat, r.reflection, r.efficiency, r.t_all)
    console.print(tokens)
    behaviour = Table(
        title="Switches, Sol (solution rounds): means over the complete traces; Acc: over all N; xi_O over the "
              "complete traces, xi_UT over those not proven correct; Unparsed: judge answers not understood",
        title_justify="left",
    )
    for c in ("Subset", "Switches", "Sol", "Acc", "xi_O", "xi_UT", "Unparsed"):
        add_column(behaviour, c, text=c == "Subset")
    for r in rows:
        behaviour.add_row(r.subset, r.switches, r.solutions, r.accuracy, r.xi_o, r.xi_ut, r.unparsed)
    console.print(behaviour)
    no_reasoning = summary["subsets"][OVERALL]["n_no_reasoning"]
    if no_reasoning:
        console.print(f"[yellow]{no_reasoning} trace(s) had no reasoning[/] (no reasoning field, no </think>): their "
                      "whole output was analysed as the trace.")
    dropped = sum(v["dropped_by_length"] for v in summary["selection"].values())
    if dropped:
        console.print(f"[yellow]{dropped} trace(s) longer than max_tokens={s['max_tokens']} were left out[/] "
                      "(per subset in efficiency.json `selection`).")
    if "agreement" in summary:
        a = summary["agreement"][OVERALL]
        if a.get("n_compared"):
            console.print(
                f"verify vs judge on {a['n_compared']} traces: same first correct step {a['same_first_correct_step']:.1%}, "
                f"same reached/not reached {a['same_reached_correct']:.1%}"
            )


__all__ = ["METRICS", "TableRow", "build_summary", "draw_figures", "print_summary", "read_summary", "table_rows", "write_summary"]
