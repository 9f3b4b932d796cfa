"""Accuracy statistics over repeated samples: avg@n, pass@k (unbiased), maj@k, std error.

A score counts only answers proven correct.  Every answered generation (status ok)
casts a vote: an ungraded one (the grader timed out or refused: no verdict) is shown
and counted apart as "ungraded", never called wrong, but it votes "not correct" and
never leaves the denominator; otherwise an absurd answer that defeats the grader
would raise the score.  Only a failed request (stored as an error, re-run by the next
resume) casts no vote.  `vote_correct` is that rule; the report, the viewer and
`thinklens efficiency` all apply it, and `question_votes` / `dataset_votes` are the one
place the report and the viewer assemble votes from stored rows.

Each question may therefore have its own number of votes n_i; pass@k and maj@k use
the questions with n_i >= k, and `num` says how many that was.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

OVERALL = "OVERALL"
GOLD_CLASS = "=gold"  # the answer class of every answer proven correct


@dataclass(frozen=True)
class Vote:
    """One verdict on one repeat of a question."""

    repeat: int
    correct: bool
    answer_class: str | None  # equivalence class of the extracted answer (None: no answer)


def vote_correct(status: str, correct: bool | None) -> bool | None:
    """The vote a stored generation casts: None (no vote) for a failed request, else
    True only for an answer proven correct (ungraded and pending count as not correct)."""
    if status != "ok":
        return None
    return correct is True


class VoteSource(Protocol):
    """A stored (sample, repeat) as far as its vote goes (store rows of the report and
    of the viewer both have these fields)."""

    @property
    def sample_id(self) -> str: ...
    @property
    def repeat(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def correct(self) -> bool | None: ...


# (sample_id, repeat) -> answer class (None: no answer, abstains from the majority vote)
AnswerClasses = Mapping[tuple[str, int], "str | None"]


def question_votes(rows: Iterable[VoteSource], classes: AnswerClasses | None = None) -> dict[str, list[Vote]]:
    """question id -> its votes, for the rows of one subset.  Every question with a row
    is present (a question whose requests all failed has no votes).  Without `classes`
    (the grader's answer equivalence: report/build.py) an answer proven correct is in the
    gold's class and every other answer abstains, so maj@k must not be read from these."""
    questions: dict[str, list[Vote]] = {}
    for r in rows:
        votes = questions.setdefault(r.sample_id, [])
        vote = vote_correct(r.status, r.correct)
        if vote is None:
            continue
        answer_class = (GOLD_CLASS if vote else None) if classes is None else classes.get((r.sample_id, r.repeat))
        votes.append(Vote(r.repeat, vote, answer_class))
    return questions


def dataset_votes(
    subsets: Mapping[str, Sequence[VoteSource]], classes: Mapping[str, AnswerClasses] | None = None
) -> list[tuple[str, dict[str, list[Vote]]]]:
    """(subset, questions) for each subset of one dataset in the given order, then
    (OVERALL, every subset's questions) when there is any subset: an OVERALL even for a
    single subset, as report.json.  In OVERALL a question is keyed by subset and id, so
    the same id in two subsets stays two questions."""
    out: list[tuple[str, dict[str, list[Vote]]]] = []
    overall: dict[str, list[Vote]] = {}
    for subset, rows in subsets.items():
        questions = question_votes(rows, None if classes is None else classes.get(subset, {}))
        out.append((subset, questions))
        overall.update({f"{subset}\x00{q}": v for q, v in questions.items()})
    if out:
        out.append((OVERALL, overall))
    return out


@dataclass(frozen=True)
class MetricValue:
    metric: str
    num: int
    score: float
    stderr: float | None


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased estimator of P(at least one of k draws is correct) from n draws, c correct
    (Chen et al. 2021): 1 - C(n-c, k) / C(n, k), computed as a stable product."""
    if k > n:
        raise ValueError(f"k={k} > n={n}")
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):
        prod *= 1.0 - k / i
    return 1.0 - prod


def majority_correct(votes: list[Vote]) -> bool:
    """Majority vote over equivalence classes of answers; answerless votes abstain.
    Ties go to the class that appeared first (lowest repeat), as a user reading the
    samples in order would break them."""
    classes = [v for v in sorted(votes, key=lambda v: v.repeat) if v.answer_class is not None]
    if not classes:
        return False
    counts = Counter(v.answer_class for v in classes)
    first_seen: dict[str, int] = {}
    for i, v in enumerate(classes):
        first_seen.setdefault(v.answer_class, i)  # type: ignore[arg-type]
    winner = max(counts, key=lambda cls: (counts[cls], -first_seen[cls]))
    return any(v.correct for v in classes if v.answer_class == winner)


def k_values(n: int) -> list[int]:
    """1, 2, 4, ... up to n, and n itself."""
    ks, k = [], 1
    while k <= n:
        ks.append(k)
        k *= 2
    if ks and ks[-1] != n:
        ks.append(n)
    return ks


def _mean_stderr(values: list[float]) -> tuple[float, float | None]:
    m = sum(values) / len(values)
    if len(values) < 2:
        return m, None
    var = sum((v - m) ** 2 for v in values) / (len(values) - 1)
    return m, math.sqrt(var / len(values))


def subset_metrics(questions: dict[str, list[Vote]], n_repeats: int) -> list[MetricValue]:
    """The metric rows for one subset: AveragePass@1 (avg@n) always; pass@k and maj@k
    for k = 2, 4, ... n when n > 1."""
    graded = {qid: votes for qid, votes in questions.items() if votes}
    out: list[MetricValue] = []
    if not graded:
        return [MetricValue("AveragePass@1", 0, float("nan"), None)]
    per_question = [sum(v.correct for v in votes) / len(votes) for votes in graded.values()]
    m, se = _mean_stderr(per_question)
    out.append(MetricValue("AveragePass@1", len(graded), m, se))
    if n_repeats > 1:
        for k in k_values(n_repeats)[1:]:
            vals = [
                pass_at_k(len(votes), sum(v.correct for v in votes), k) for votes in graded.values() if len(votes) >= k
            ]
            if vals:
                m, se = _mean_stderr(vals)
                out.append(MetricValue(f"pass@{k}", len(vals), m, se))
        for k in k_values(n_repeats)[1:]:
            vals = []
            for votes in graded.values():
                first_k = sorted(votes, key=lambda v: v.repeat)[:k]
                if len(first_k) >= k:
                    vals.append(float(majority_correct(first_k)))
            if vals:
                m, se = _mean_stderr(vals)
                out.append(MetricValue(f"maj@{k}", len(vals), m, se))
    return out
