"""Load runs, pair their problems, refuse what cannot be paired, compare per subset.

A problem is identified by (dataset, sample id).  Two runs are comparable on a
problem only when they asked it the same way (same stored messages: template,
few-shot and problem text) and graded it against the same gold (same benchmark
version); otherwise the difference would measure the prompt, not the model, so the
comparison is refused with the reason.

Verdicts: a failed request is no verdict (left out, as in the report); an answer
that was not graded counts as not correct (a score counts only answers proven
correct).  A problem enters a comparison when both runs have at least one verdict.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ..budget.measured import dataset_label
from ..errors import ConfigError, ThinklensError
from ..metrics import OVERALL, vote_correct
from ..stats import PairedComparison, paired_comparison


class RunsNotComparable(ThinklensError):
    """The runs share no problems, or asked/graded the shared ones differently."""


@dataclass
class ProblemVerdicts:
    subset: str
    prompt_hash: str
    gold: str
    verdicts: list[float] = field(default_factory=list)  # 1.0 / 0.0 per answered repeat


@dataclass
class RunOutcomes:
    """One run's verdicts: dataset -> sample id -> its problem's verdicts."""

    path: str
    model: str
    datasets: dict[str, dict[str, ProblemVerdicts]]


@dataclass(frozen=True)
class ComparisonRow:
    """B against A on one subset (or OVERALL) of one dataset."""

    dataset: str
    subset: str
    model_a: str
    model_b: str
    repeats_a: int  # most verdicts per problem (K)
    repeats_b: int
    result: PairedComparison

    def to_dict(self) -> dict:
        r = self.result
        return {
            "dataset": self.dataset, "subset": self.subset, "model_a": self.model_a, "model_b": self.model_b,
            "repeats_a": self.repeats_a, "repeats_b": self.repeats_b, "n": r.n,
            "score_a": r.mean_a, "score_b": r.mean_b, "diff": r.diff.estimate, "stderr": r.diff.stderr,
            "ci_low": r.diff.low, "ci_high": r.diff.high, "ci_method": r.diff.method, "level": r.diff.level,
            "p_value": r.p_value, "test": r.test, "significant": r.significant,
            "a_only": r.a_only, "b_only": r.b_only, "both": r.both, "neither": r.neither,
            "mde": r.mde, "power": r.power,
        }


def load_run(path: str | Path) -> RunOutcomes:
    from ..store import RunStore, is_run_folder
    from ..store.outcomes import planned_outcomes

    run_dir = Path(path)
    if run_dir.name == "report.json":
        run_dir = run_dir.parent
    if not is_run_folder(run_dir):
        raise ConfigError(f"{run_dir} is not a thinklens run folder (no run.sqlite)")
    with RunStore(run_dir, readonly=True) as store:
        model = store.get_meta("model") or run_dir.name
        outcomes = planned_outcomes(store)
    datasets: dict[str, dict[str, ProblemVerdicts]] = defaultdict(dict)
    for o in outcomes:
        # A budget-forcing run: each budget is its own dataset (`math_500 @1024`), paired
        # only with the same budget of another run.
        problem = datasets[dataset_label(o.dataset, o.budget)].setdefault(o.sample_id, ProblemVerdicts(o.subset, o.prompt_hash, o.gold))
        vote = vote_correct(o.status, o.correct)  # the one rule: ungraded is not correct, errors cast none
        if vote is not None:
            problem.verdicts.append(float(vote))
    return RunOutcomes(str(run_dir), str(model), dict(datasets))


def _check_same_problems(a: RunOutcomes, b: RunOutcomes, dataset: str, shared: list[str]) -> None:
    pa, pb = a.datasets[dataset], b.datasets[dataset]
    for what, attr in (("prompt", "prompt_hash"), ("gold answer (benchmark version)", "gold"),
                       ("subset (benchmark version)", "subset")):
        differ = [sid for sid in shared if getattr(pa[sid], attr) != getattr(pb[sid], attr)]
        if differ:
            raise RunsNotComparable(
                f"{a.path} and {b.path} differ in {what} on {len(differ)} of {len(shared)} shared {dataset} "
                f"problems (e.g. {differ[0]!r}): compare runs made with the same prompt and benchmark data"
            )


def _subset_order(problems: dict[str, ProblemVerdicts], ids: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for sid in ids:
        seen.setdefault(problems[sid].subset, None)
    return sorted(seen)


def compare_pair(
    a: RunOutcomes, b: RunOutcomes, *, level: float = 0.95, cluster_overall: bool = False, seed: int = 0,
) -> list[ComparisonRow]:
    """B - A per subset and OVERALL for every dataset both runs evaluated."""
    datasets = [d for d in a.datasets if d in b.datasets]
    if not datasets:
        raise RunsNotComparable(
            f"{a.path} ({', '.join(a.datasets) or 'nothing'}) and {b.path} ({', '.join(b.datasets) or 'nothing'}) "
            "share no benchmark"
        )
    rows: list[ComparisonRow] = []
    for dataset in datasets:
        pa, pb = a.datasets[dataset], b.datasets[dataset]
        shared = [sid for sid in pa if sid in pb]
        if shared:
            _check_same_problems(a, b, dataset, shared)
        answered = [sid for sid in shared if pa[sid].verdicts and pb[sid].verdicts]
        if not answered:
            continue
        for subset in [*_subset_order(pa, answered), OVERALL]:
            ids = [sid for sid in answered if subset == OVERALL or pa[sid].subset == subset]
            clusters = [pa[sid].subset for sid in ids] if subset == OVERALL and cluster_overall else None
            result = paired_comparison([pa[s].verdicts for s in ids], [pb[s].verdicts for s in ids],
                                       level=level, clusters=clusters, seed=seed)
            rows.append(ComparisonRow(dataset, subset, a.model, b.model, max(len(pa[s].verdicts) for s in ids),
                                      max(len(pb[s].verdicts) for s in ids), result))
    if not rows:
        raise RunsNotComparable(f"{a.path} and {b.path} share no answered problem")
    return rows


def compare_runs(runs: list[RunOutcomes], **kw) -> list[ComparisonRow]:
    """Every later run against the first (the baseline)."""
    if len(runs) < 2:
        raise ConfigError("compare needs at least two runs")
    return [row for other in runs[1:] for row in compare_pair(runs[0], other, **kw)]
