"""The accuracy-vs-budget figure (PNG and SVG; matplotlib is the [figures] extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..plotting import new_figure
from .estimate import OVERALL


def draw_curve(summary: dict[str, Any], stem: Path) -> list[Path]:
    rows = summary["rows"]
    subsets = list(dict.fromkeys(r["subset"] for r in rows))
    fig = new_figure(figsize=(7.5, 4.5), dpi=120)
    ax = fig.add_subplot(1, 1, 1)
    for name in subsets:
        pts = [r for r in rows if r["subset"] == name]
        xs, ys = [r["budget"] for r in pts], [r["accuracy"] for r in pts]
        overall = name == OVERALL
        ax.plot(xs, ys, marker="o", linewidth=2.5 if overall else 1.2, color="black" if overall else None,
                label=f"{name} (n={pts[0]['traces']})", zorder=3 if overall else 2)
        if overall and all(r["ci_low"] is not None for r in pts):
            ax.fill_between(xs, [r["ci_low"] for r in pts], [r["ci_high"] for r in pts], color="grey", alpha=0.2,
                            label="OVERALL 95% interval")
    ax.set_xscale("log", base=2)
    ax.set_xticks(summary["budgets"], [str(b) for b in summary["budgets"]], fontsize=8)
    ax.minorticks_off()
    ax.set_xlabel("thinking budget B (reasoning tokens, " + summary["tokens"].split(":")[0] + ")")
    ax.set_ylabel("accuracy with the answer forced at B")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(f"{summary['model']} on {summary['dataset']}: accuracy vs thinking budget (estimated)", fontsize=10)
    fig.tight_layout()
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    for p in paths:
        fig.savefig(p)
    return paths
