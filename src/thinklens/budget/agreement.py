"""Checking the estimator against labelled forced answers.

A label says, per trace, the shortest reasoning prefix (tokens) after which forcing an
answer already gives the trace's final answer.  The estimator's counterpart is the
first budget at which its forced answer (timeline.py) is equivalent to the final
answer, by the run's grader: the first point of the timeline whose answer equals it,
or the trace's length when none does (the full reasoning gives the final answer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..efficiency.traces import Trace
from ..store.budget import CandidateKey
from .timeline import Timeline


def settle_checks(trace: Trace, tl: Timeline) -> list[tuple[Trace, str, str]]:
    """The (trace, candidate, final answer) checks `settle_tokens` needs."""
    if not trace.extracted:
        return []
    return [(trace, p.answer, trace.extracted) for p in tl.points]


def settle_tokens(trace: Trace, tl: Timeline, verdicts: dict[CandidateKey, bool]) -> int:
    """The first budget at which the forced answer is the final answer."""
    for p in tl.points:
        if trace.extracted and verdicts.get(CandidateKey(trace.key, p.answer, trace.extracted, trace.grader)):
            return p.tokens
    return tl.length


def _ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties given their average rank."""
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), dtype=float)
    sx = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and sx[j + 1] == sx[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    ra, rb = _ranks(np.asarray(a, dtype=float)), _ranks(np.asarray(b, dtype=float))
    return float(np.corrcoef(ra, rb)[0, 1])


@dataclass(frozen=True)
class Agreement:
    n: int
    spearman_tokens: float  # rank correlation of the two token positions
    spearman_share: float  # of the positions as shares of each trace (length factored out)
    within_2x: float  # share of traces where estimate / label is within [1/2, 2]
    median_ratio: float  # median of estimate / label
    mean_abs_share_gap: float  # mean |estimate - label| / trace length


def agreement(estimate: Sequence[int], label: Sequence[int], length: Sequence[int]) -> Agreement:
    e, lab, n = (np.asarray(v, dtype=float) for v in (estimate, label, length))
    # A zero-token position (answer stated at once) is one token for the ratio.
    ratio = np.maximum(e, 1) / np.maximum(lab, 1)
    return Agreement(
        n=len(e), spearman_tokens=spearman(e, lab), spearman_share=spearman(e / n, lab / n),
        within_2x=float(np.mean((ratio >= 0.5) & (ratio <= 2))), median_ratio=float(np.median(ratio)),
        mean_abs_share_gap=float(np.mean(np.abs(e - lab) / n)),
    )
