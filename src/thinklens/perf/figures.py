"""Figures of a load test (PNG + SVG, matplotlib's Agg canvas: no display needed; the
`[figures]` extra, see thinklens/plotting.py).

- `latency_vs_throughput`: median and p99 of TTFT, TPOT and E2E against output
  throughput, one point per level (the serving trade-off curve).
- `ttft_distribution`, `tpot_distribution`: the empirical CDF per level.
"""

from __future__ import annotations

from pathlib import Path

from typing import TYPE_CHECKING

import numpy as np

from ..plotting import new_figure
from .records import RequestRecord
from .stats import LevelSummary

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure


def _save(fig: Figure, out_dir: Path, name: str) -> list[Path]:
    paths = []
    for ext in ("png", "svg"):
        p = out_dir / f"{name}.{ext}"
        fig.savefig(p, dpi=130 if ext == "png" else None, bbox_inches="tight")
        paths.append(p)
    return paths


def latency_vs_throughput(levels: list[LevelSummary], out_dir: Path) -> list[Path]:
    fig = new_figure(figsize=(15, 4.2))
    axes = fig.subplots(1, 3)
    # One curve per prompt length (a speed-benchmark sweep): points of different lengths
    # are not one load curve.
    groups: dict[int | None, list[LevelSummary]] = {}
    for lv in levels:
        groups.setdefault(lv.input_tokens, []).append(lv)
    for ax, metric, title in zip(axes, ("ttft", "tpot", "e2e"), ("TTFT", "TPOT", "E2E latency")):
        for n_in, group in groups.items():
            suffix = "" if n_in is None else f" in={n_in}"
            for key, style in (("p50", "o-"), ("p99", "s--")):
                pts = [
                    (lv.output_throughput, v * 1e3)
                    for lv in group
                    if (v := (lv.metrics.get(metric) or {}).get(key)) is not None
                ]
                if pts:
                    ax.plot([p[0] for p in pts], [p[1] for p in pts], style, label=key + suffix)
        for lv in levels:
            v = (lv.metrics.get(metric) or {}).get("p50")
            if v is not None:
                ax.annotate(
                    lv.label.replace("concurrency=", "c=").replace("rate=", "r=").replace(",input=", " in="),
                    (lv.output_throughput, v * 1e3),
                    textcoords="offset points",
                    xytext=(4, 4),
                    fontsize=7,
                )
        ax.set_title(title)
        ax.set_xlabel("output throughput (tokens/s)")
        ax.set_ylabel("ms")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Latency vs throughput across load levels")
    fig.tight_layout()
    return _save(fig, out_dir, "latency_vs_throughput")


def _cdf(
    levels: list[LevelSummary], records: dict[str, list[RequestRecord]], attr: str, title: str, out_dir: Path, name: str
) -> list[Path]:
    fig = new_figure(figsize=(7, 4.2))
    ax = fig.subplots()
    for lv in levels:
        vals = np.sort(
            np.fromiter(
                (
                    v * 1e3
                    for r in records.get(lv.label, [])
                    if r.phase == "measure" and r.ok and (v := getattr(r, attr)) is not None
                ),
                dtype=float,
            )
        )
        if vals.size:
            ax.step(vals, np.arange(1, vals.size + 1) / vals.size, where="post", label=lv.label)
    ax.set_xlabel(f"{title} (ms)")
    ax.set_ylabel("fraction of requests")
    ax.set_title(f"{title} distribution per level")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, out_dir, name)


def write_figures(
    levels: list[LevelSummary], records: dict[str, list[RequestRecord]], out_dir: str | Path
) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = latency_vs_throughput(levels, out_dir)
    paths += _cdf(levels, records, "ttft", "TTFT", out_dir, "ttft_distribution")
    paths += _cdf(levels, records, "tpot", "TPOT", out_dir, "tpot_distribution")
    return paths
