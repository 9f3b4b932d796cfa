"""Charts drawn as inline SVG on the server: no chart library, no JavaScript, nothing to
fetch, identical in the static export.  Colours come from CSS classes (viewer.css),
never from style attributes, so the page's strict CSP holds."""

from __future__ import annotations

import html
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

# outcome -> stacking group (bottom to top) and its CSS class
GROUPS = ("correct", "wrong", "cut", "other")
_GROUP_OF = {
    "correct": "correct",
    "wrong": "wrong",
    "truncated": "cut",
    "no_answer": "cut",
    "ungraded": "other",
    "pending": "other",
    "error": "other",
}


def nice_step(span: float, target_bins: int) -> float:
    """A round bin width (1, 2, 2.5, 5 x 10^k) giving about `target_bins` bins."""
    if span <= 0:
        return 1.0
    raw = span / target_bins
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def _fmt(v: float) -> str:
    if abs(v) >= 1000:
        return f"{v / 1000:g}k"
    return f"{v:g}"


def histogram_svg(
    values: Sequence[tuple[float, str]],
    *,
    label: str,
    bins: int = 24,
    width: int = 420,
    height: int = 170,
) -> Markup:
    """A histogram of `values` (value, outcome), bars stacked by outcome group, with the
    median as a dashed line.  Hovering a bar shows its range and counts (SVG <title>)."""
    if not values:
        return Markup("")
    nums = [float(v) for v, _ in values]
    hi = max(nums)
    step = nice_step(hi, bins) if hi > 0 else 1.0
    nbins = max(1, math.floor(hi / step) + 1)
    counts = [[0] * len(GROUPS) for _ in range(nbins)]
    for v, outcome in values:
        b = min(nbins - 1, int(float(v) // step))
        counts[b][GROUPS.index(_GROUP_OF.get(outcome, "other"))] += 1
    top = max(sum(c) for c in counts) or 1
    left, right, top_pad, bottom = 38, 8, 8, 34
    pw, ph = width - left - right, height - top_pad - bottom
    bw = pw / nbins
    parts = [
        f'<svg class="chart histogram" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{html.escape(label)}" xmlns="http://www.w3.org/2000/svg">'
    ]
    # y axis: whole counts only (0, about half, the top)
    for tick in sorted({0, top, top // 2} if top >= 2 else {0, top}):
        y = top_pad + ph * (1 - tick / top)
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="tick" x="{left - 4}" y="{y + 3:.1f}" text-anchor="end">{_fmt(tick)}</text>')
    for i, stack in enumerate(counts):
        x = left + i * bw
        y = top_pad + ph
        lo, hi_edge = i * step, (i + 1) * step
        tip = html.escape(
            f"{_fmt(lo)}–{_fmt(hi_edge)} {label}: " + ", ".join(f"{n} {g}" for g, n in zip(GROUPS, stack) if n)
        )
        parts.append(f"<g><title>{tip}</title>")
        for g, n in zip(GROUPS, stack):
            if not n:
                continue
            h = ph * n / top
            y -= h
            parts.append(f'<rect class="bar-{g}" x="{x + 0.5:.1f}" y="{y:.1f}" width="{max(bw - 1, 0.5):.1f}" height="{h:.1f}"/>')
        parts.append("</g>")
    # x axis ticks: about 5 labels
    every = max(1, round(nbins / 5))
    for i in range(0, nbins + 1, every):
        x = left + i * bw
        parts.append(f'<text class="tick" x="{x:.1f}" y="{top_pad + ph + 13}" text-anchor="middle">{_fmt(i * step)}</text>')
    med = statistics.median(nums)
    mx = left + pw * (med / (nbins * step))
    parts.append(f'<line class="median" x1="{mx:.1f}" x2="{mx:.1f}" y1="{top_pad}" y2="{top_pad + ph}"><title>median {_fmt(round(med))}</title></line>')
    parts.append(f'<text class="axis-label" x="{left + pw / 2:.1f}" y="{height - 4}" text-anchor="middle">{html.escape(label)} (n={len(nums)}, median {_fmt(round(med))})</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True)
class Bar:
    """One run's score on one dataset, with its 95 % interval when the report has one."""

    series: int  # the run's index: its colour (series-N) and its key in the run list
    label: str  # the run's model
    value: float | None
    low: float | None = None
    high: float | None = None


def score_bars_svg(
    groups: Sequence[tuple[str, Sequence[Bar]]],
    *,
    width: int = 480,
    maximum: float = 1.0,
    empty: str = "–",
) -> Markup:
    """Horizontal bars, one per run, grouped by dataset: the run's name on the left, its
    score written at the bar's end and its interval as a whisker.  Its height follows
    the number of bars, so one dataset of two runs is a small chart, not a wide empty one."""
    if not groups or not any(bars for _, bars in groups):
        return Markup("")
    label_w, value_w, right = 110, 112, 6
    left = label_w
    pw = width - left - value_w - right
    row, head, axis = 22, 22, 22
    height = int(sum(head + row * len(bars) for _, bars in groups) + axis + 4)
    y_axis = height - axis
    parts = [
        f'<svg class="chart bars" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg">'
    ]
    for frac in (0, 0.25, 0.5, 0.75, 1):
        x = left + pw * frac
        parts.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="4" y2="{y_axis:.1f}"/>')
        parts.append(f'<text class="tick" x="{x:.1f}" y="{y_axis + 14:.1f}" text-anchor="middle">{maximum * frac:g}</text>')
    y = 4.0
    for glabel, bars in groups:
        parts.append(f'<text class="group-label" x="4" y="{y + 15:.1f}">{html.escape(glabel[:60])}</text>')
        y += head
        for bar in bars:
            cy = y + row / 2
            name = bar.label if len(bar.label) <= 16 else bar.label[:15] + "…"
            parts.append(f'<text class="bar-label" x="{left - 8}" y="{cy + 4:.1f}" text-anchor="end">'
                         f"<title>{html.escape(bar.label)}</title>{html.escape(name)}</text>")
            if bar.value is None:
                parts.append(f'<text class="value" x="{left + 4}" y="{cy + 4:.1f}">{html.escape(empty)}</text>')
                y += row
                continue
            w = pw * max(0.0, min(bar.value, maximum)) / maximum
            tip = html.escape(f"{bar.label} · {glabel}: {bar.value:.4f}")
            parts.append(f'<rect class="series-{bar.series % 8}" x="{left}" y="{y + 3:.1f}" width="{w:.1f}" '
                         f'height="{row - 6}"><title>{tip}</title></rect>')
            text = f"{bar.value:.4f}"
            if bar.low is not None and bar.high is not None:
                lo = left + pw * max(0.0, min(bar.low, maximum)) / maximum
                hi = left + pw * max(0.0, min(bar.high, maximum)) / maximum
                parts.append(f'<path class="whisker" d="M{lo:.1f} {cy:.1f}H{hi:.1f}M{lo:.1f} {cy - 4:.1f}V{cy + 4:.1f}'
                             f'M{hi:.1f} {cy - 4:.1f}V{cy + 4:.1f}"/>')
                text += f" ± {(bar.high - bar.low) / 2:.4f}"
            parts.append(f'<text class="value" x="{left + pw + 6:.1f}" y="{cy + 4:.1f}">{html.escape(text)}</text>')
            y += row
    parts.append("</svg>")
    return Markup("".join(parts))
