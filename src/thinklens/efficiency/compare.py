"""`thinklens efficiency compare RUN...`: several models on one grid, and a CSV of the numbers."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..plotting import NO_FIGURES_NOTE, figures_available
from .metrics import METRICS
from .report import OVERALL, read_summary
from .selection import natural_key

CSV_FIELDS = ("model", "run_dir", "dataset", "subset", "n", "n_complete", "n_reached_correct", "n_truncated",
              "n_graded", "n_judge_unparsed", *METRICS, "xi_o", "xi_ut", "solutions", "split", "method",
              "tokenizer", "tokens_exact")


@dataclass
class Comparison:
    figures: list[Path]
    csv_path: Path
    models: list[str]
    subsets: list[str]
    notes: list[str] = field(default_factory=list)  # e.g. figures skipped (no matplotlib)


def _figure_stem(output: str | Path) -> Path:
    out = Path(output)
    if out.suffix.lower() in (".png", ".svg", ".pdf", ".csv"):
        return out.with_suffix("")
    return out / "comparison" if out.is_dir() or not out.suffix else out


def compare_runs(run_dirs: list[str | Path], output: str | Path = "comparison.png",
                 labels: list[str] | None = None) -> Comparison:
    """Read each run's efficiency.json; one line per model; writes PNG, SVG and CSV."""
    if not run_dirs:
        raise ConfigError("give at least one run folder to compare")
    if labels and len(labels) != len(run_dirs):
        raise ConfigError(f"{len(labels)} labels for {len(run_dirs)} runs: give one label per run")
    summaries = [read_summary(d) for d in run_dirs]
    names = labels or [str(s["model"]) for s in summaries]
    # Two runs of one model (e.g. two settings) must stay apart in the legend.
    seen: dict[str, int] = {}
    unique = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        unique.append(n if seen[n] == 1 else f"{n} ({seen[n]})")
    order: list[str] = []
    for s in summaries:
        order.extend(g for g in s["subset_order"] if g not in order)
    if len(summaries) > 1 and len({tuple(sorted(s["subset_order"])) for s in summaries}) > 1:
        order.sort(key=natural_key)
    datasets = sorted({str(s["dataset"]) for s in summaries})
    stem = _figure_stem(output)
    title = f"Reasoning efficiency on {', '.join(datasets)}"
    figures: list[Path] = []
    notes: list[str] = []
    if figures_available():
        from .figures import plot_grid

        figures = plot_grid([(n, s["subsets"]) for n, s in zip(unique, summaries)], order, title, stem)
    else:  # the CSV below holds every number; only the picture needs the extra
        stem.parent.mkdir(parents=True, exist_ok=True)
        notes.append(NO_FIGURES_NOTE)
    csv_path = stem.with_suffix(".csv")
    with open(csv_path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
        writer.writeheader()
        for name, s, d in zip(unique, summaries, run_dirs):
            for subset in [*order, OVERALL]:
                m = s["subsets"].get(subset)
                if m is None:
                    continue
                writer.writerow(_csv_row(name, str(d), s, subset, m))
    return Comparison(figures, csv_path, unique, order, notes)


def _csv_row(name: str, run_dir: str, s: dict[str, Any], subset: str, m: dict[str, Any]) -> dict[str, Any]:
    row = {"model": name, "run_dir": run_dir, "dataset": s["dataset"], "subset": subset}
    for f in CSV_FIELDS:
        if f in m:
            row[f] = "" if m[f] is None else m[f]
    st = s["settings"]
    row.update(split=st.get("split"), method=st.get("method"), tokenizer=st.get("tokenizer") or "",
               tokens_exact=st.get("tokens_exact"))
    return row
