"""Charts drawn as inline SVG on the server: no chart library, no JavaScript, nothing to
fetch, identical in the static export.  Colours come from CSS classes (viewer.css),
never from style attributes, so the page's strict CSP holds."""

from __future__ import annotations

import html
import math
import statistics
from collections.abc import Sequence

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


def grouped_bars_svg(
    groups: Sequence[tuple[str, Sequence[float | None]]],
    series: Sequence[str],
    *,
    width: int = 640,
    height: int = 200,
    maximum: float = 1.0,
) -> Markup:
    """One group of bars per label (e.g. a dataset), one bar per series (a run)."""
    if not groups or not series:
        return Markup("")
    left, right, top_pad, bottom = 38, 8, 10, 40
    pw, ph = width - left - right, height - top_pad - bottom
    gw = pw / len(groups)
    bw = min(36.0, (gw - 12) / len(series))
    parts = [
        f'<svg class="chart bars" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg">'
    ]
    for frac in (0, 0.25, 0.5, 0.75, 1):
        y = top_pad + ph * (1 - frac)
        parts.append(f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="tick" x="{left - 4}" y="{y + 3:.1f}" text-anchor="end">{maximum * frac:g}</text>')
    for gi, (glabel, vals) in enumerate(groups):
        x0 = left + gi * gw + (gw - bw * len(series)) / 2
        for si, v in enumerate(vals):
            if v is None:
                continue
            h = ph * max(0.0, min(v, maximum)) / maximum
            x = x0 + si * bw
            tip = html.escape(f"{series[si]} · {glabel}: {v:.4f}")
            parts.append(
                f'<rect class="series-{si % 8}" x="{x:.1f}" y="{top_pad + ph - h:.1f}" width="{bw - 2:.1f}" '
                f'height="{h:.1f}"><title>{tip}</title></rect>'
            )
        parts.append(
            f'<text class="tick" x="{left + gi * gw + gw / 2:.1f}" y="{top_pad + ph + 14}" text-anchor="middle">'
            f"{html.escape(glabel[:28])}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
