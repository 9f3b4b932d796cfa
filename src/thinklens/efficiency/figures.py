"""Figures: the six metrics across subsets on a 2x3 grid, PNG and SVG (matplotlib, Agg;
the `[figures]` extra, see thinklens/plotting.py).

Axes are scaled to the data (no fixed ranges that clip a model), every point is
labelled with its value, and each x tick names the subset with the number of traces
behind it.  A metric no trace could give (e.g. no trace reached a correct answer)
is left as a gap, never drawn as 0.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..plotting import new_figure
from .metrics import METRIC_TITLES, METRICS

_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")


def _value(entry: dict[str, Any] | None, metric: str) -> float:
    v = (entry or {}).get(metric)
    return float(v) if isinstance(v, (int, float)) else math.nan


def _fmt(v: float, metric: str) -> str:
    if metric in ("token_efficiency", "accuracy"):
        return f"{v:.2f}"
    if metric in ("thought_num",):
        return f"{v:.1f}"
    return f"{v:.0f}"


def _scale(ax: Any, values: list[float], metric: str) -> None:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        ax.set_ylim(0, 1)
        return
    lo, hi = min(finite), max(finite)
    pad = (hi - lo) * 0.15 or max(abs(hi) * 0.1, 0.05 if metric in ("token_efficiency", "accuracy") else 1.0)
    low = lo - pad
    if lo >= 0:
        low = max(0.0, low)
    high = hi + pad
    if metric in ("token_efficiency", "accuracy"):
        high = min(high, 1.05)
    ax.set_ylim(low, high)


def plot_grid(
    series: list[tuple[str, dict[str, dict[str, Any]]]],
    subsets: list[str],
    title: str,
    stem: Path,
) -> list[Path]:
    """One line per (label, {subset: metrics}) on the 2x3 grid; writes stem.png and stem.svg."""
    fig = new_figure(figsize=(15, 8.5), layout="constrained")
    axes = fig.subplots(2, 3)
    x = list(range(len(subsets)))
    single = len(series) == 1
    for ax, metric in zip(axes.flat, METRICS):
        all_values: list[float] = []
        for i, (label, entries) in enumerate(series):
            values = [_value(entries.get(s), metric) for s in subsets]
            all_values.extend(values)
            color = _COLORS[i % len(_COLORS)]
            ax.plot(x, values, marker="o", color=color, label=label, linewidth=1.8)
            for xi, v in zip(x, values):
                if math.isfinite(v):
                    ax.annotate(_fmt(v, metric), (xi, v), textcoords="offset points", xytext=(0, 6),
                                ha="center", fontsize=8, color=color)
        _scale(ax, all_values, metric)
        ax.set_title(METRIC_TITLES[metric])
        ax.set_xticks(x)
        if single:
            entries = series[0][1]
            key = "n_reached_correct" if metric in ("first_correct_tokens", "reflection_tokens", "token_efficiency") \
                else "n" if metric == "accuracy" else "n_complete"
            labels = [f"{s}\nn={(entries.get(s) or {}).get(key, 0)}" for s in subsets]
        else:
            labels = subsets
        ax.set_xticklabels(labels, fontsize=8, rotation=0 if len(subsets) <= 6 else 30)
        ax.grid(True, alpha=0.3)
        if metric in ("reasoning_tokens", "first_correct_tokens", "reflection_tokens"):
            ax.set_ylabel("tokens")
    if not single:
        handles, labels = axes.flat[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncol=min(len(series), 5))
    fig.suptitle(title)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    fig.savefig(paths[0], dpi=120)
    fig.savefig(paths[1])
    return paths
