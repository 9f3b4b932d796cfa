"""`thinklens budget`: accuracy if the reasoning were cut at B tokens, estimated from traces.

Hand-made traces pin down the assumptions (what is forced at B, no candidate yet,
closed traces, truncated traces).  On real data: DeepSeek-R1-Distill-Qwen-32B's
MATH-500 traces replayed through the mock server into a real run; the curve ends at
the run's own accuracy, a rerun grades nothing again (verdicts cached in the store),
and the estimator's "the answer has settled" point agrees with the 357 LLM-judged
minimum-valid-prefix labels better than a length-only guess does.
"""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3

import pytest

from thinklens.budget.agreement import agreement, settle_checks, settle_tokens, spearman
from thinklens.budget.estimate import at_budget, curve, doubling_grid
from thinklens.budget.estimator import BudgetSettings, estimate_budget, token_views
from thinklens.budget.timeline import build_timeline
from thinklens.budget.verdicts import CandidateVerdicts
from thinklens.cli import main
from thinklens.cost import Prices
from thinklens.efficiency.tokens import ApproximateTokens
from thinklens.efficiency.traces import Trace, load_run
from thinklens.grading import GradingPool
from thinklens.store import RunStore
from thinklens.store.budget import CandidateKey, TraceUsage
from tests.helpers.math500_runs import QWEN2_TOKENIZER, R1_LABELS, R1_OUTPUTS, have_r1, replay_run, rows_file


def _trace(key: str, text: str, *, correct: bool, finish: str = "stop", content: str = "The answer is 7.") -> Trace:
    return Trace(
        key=key, dataset="math_500", subset="Level 1", group="Level 1", sample_id=key, repeat=0,
        problem="An invented problem.", gold="7", choices=(), grader="math", text=text, content=content,
        no_reasoning=False, reasoning_source="reasoning_content", finish_reason=finish, correct=correct,
        extracted="7" if correct else "5", completion_tokens=None, reasoning_tokens=None,
    )


def _one_token_per_char(trace: Trace) -> ApproximateTokens:
    return ApproximateTokens(len(trace.text), len(trace.text))


TEXT = "Let me set up the sum.\n\nFirst guess: x = 3.\n\nWait, recheck.\n\nSo the answer is 7.\n\nDouble-checked."


def test_the_forced_answer_is_the_last_candidate_stated_before_the_budget():
    t = _trace("a", TEXT, correct=True)
    tl = build_timeline(t, _one_token_per_char(t))
    ends = {s: TEXT.index(s) + len(s) for s in ("x = 3.", "answer is 7.")}
    assert [(p.tokens, p.answer) for p in tl.points] == [(ends["x = 3."], "3"), (ends["answer is 7."], "7")]
    assert tl.forced(ends["x = 3."] - 1) is None  # the step is not finished: nothing stated yet
    assert tl.forced(ends["x = 3."]) == "3"
    assert tl.forced(ends["answer is 7."] - 1) == "3"
    assert tl.forced(len(TEXT)) == "7" and tl.closed


def test_outcomes_at_each_budget():
    verdicts = {CandidateKey(k, "3", "7", "math"): False for k in "abc"}
    verdicts |= {CandidateKey(k, "7", "7", "math"): True for k in "abc"}
    right = _trace("a", TEXT, correct=True)
    # Truncated: never closed, so past its end it answers with its last candidate.
    cut = _trace("b", TEXT, correct=False, finish="length", content="")
    # Closed with a wrong final answer: a correct candidate earlier does not rescue it.
    changed = _trace("c", TEXT + "\n\nNo: x = 5.", correct=False)
    tls = {t.key: build_timeline(t, _one_token_per_char(t)) for t in (right, cut, changed)}
    first, seven = TEXT.index("x = 3.") + 6, TEXT.index("answer is 7.") + 12
    assert at_budget(right, tls["a"], first - 1, verdicts).outcome == "none"
    assert not at_budget(right, tls["a"], first, verdicts).correct
    assert at_budget(right, tls["a"], seven, verdicts).correct
    assert at_budget(right, tls["a"], 10_000, verdicts).outcome == "closed"
    end = at_budget(cut, tls["b"], 10_000, verdicts)
    assert (end.outcome, end.correct, end.reasoning_tokens) == ("forced", True, len(TEXT))
    assert at_budget(changed, tls["c"], seven, verdicts).correct  # cut here it would have said 7
    assert at_budget(changed, tls["c"], 10_000, verdicts).outcome == "closed"
    assert not at_budget(changed, tls["c"], 10_000, verdicts).correct

    usage = {k: TraceUsage(100, 200, 150) for k in "abc"}
    rows = curve([right, cut, changed], tls, [seven, 10_000], verdicts, usage, Prices(1.0, 2.0))
    overall = {r.budget: r for r in rows if r.subset == "OVERALL"}
    assert overall[seven].accuracy == 1.0 and (overall[seven].forced, overall[seven].closed) == (3, 0)
    assert overall[10_000].accuracy == pytest.approx(2 / 3, abs=1e-4)
    tokens = overall[seven].tokens  # 3 traces: prompt 100 each, min(length, B) reasoning, 50 answer each
    assert (tokens["prompt_tokens"], tokens["reasoning_tokens"], tokens["answer_tokens"]) == (300, 3 * seven, 150)
    assert tokens["usd"] == pytest.approx((300 * 1.0 + (3 * seven + 150) * 2.0) / 1e6)


def test_grid_and_settings():
    assert doubling_grid(256) == [256]
    assert doubling_grid(3000) == [256, 512, 1024, 2048, 4096]
    assert BudgetSettings(budgets=[4096, 1024, 1024]).budgets == [1024, 4096]
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 2, 3], [3, 2, 2, 1]) == pytest.approx(-1.0)


def test_bad_budgets_are_one_line_errors(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["budget", str(tmp_path), "--budgets", "0"])
    assert "must be at least 1" in capsys.readouterr().err
    assert main(["budget", str(tmp_path)]) == 2
    assert "Traceback" not in capsys.readouterr().err


needs_r1 = pytest.mark.skipif(not have_r1(), reason="needs MATH-500 and the R1-distill outputs under the shared data "
                              "folder (set THINKLENS_SHARED_DATA)")


@pytest.fixture(scope="module")
def r1_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("budget")
    return replay_run(R1_OUTPUTS, "DeepSeek-R1-Distill-Qwen-32B", rows_file(tmp, "all", 0, 500), tmp / "r1")


def _overall_score(run) -> float:
    report = json.loads((run / "report.json").read_text())
    return next(r["score"] for r in report["rows"] if r["subset"] == "OVERALL")


@needs_r1
@pytest.mark.skipif(not QWEN2_TOKENIZER.exists(), reason="needs the Qwen2 tokenizer files under the shared data folder")
def test_real_curve_ends_at_the_runs_accuracy_and_a_rerun_grades_nothing(r1_run):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["budget", str(r1_run), "--tokenizer", str(QWEN2_TOKENIZER), "--no-figures",
                     "--price-in", "0.5", "--price-out", "2"]) == 0
    text = out.getvalue()
    assert "OVERALL" in text and "exact: tokenizer" in text and "no candidate stated before B" in text
    assert max(len(line) for line in text.splitlines()) <= 80
    data = json.loads((r1_run / "budget.json").read_text())
    budgets = data["budgets"]
    assert budgets[0] == 256 and budgets[-2] < data["longest_trace_tokens"] <= budgets[-1]
    assert all(b == 2 * a for a, b in zip(budgets, budgets[1:]))
    overall = [r for r in data["rows"] if r["subset"] == "OVERALL"]
    assert [r["budget"] for r in overall] == budgets and all(r["traces"] == 500 for r in overall)
    # No R1 trace was truncated: at the largest budget every trace keeps its own grade.
    assert overall[-1]["closed"] == 500 and overall[-1]["accuracy"] == pytest.approx(_overall_score(r1_run), abs=1e-4)
    assert overall[0]["accuracy"] < overall[-1]["accuracy"]
    assert overall[0]["no_candidate"] > 0 and overall[-1]["tokens"]["usd"] > overall[0]["tokens"]["usd"] > 0
    assert {r["subset"] for r in data["rows"]} == {"Level 1", "Level 2", "Level 3", "Level 4", "Level 5", "OVERALL"}
    graded_first = data["grading"]["graded"] + data["grading"]["prescreened"]
    assert graded_first > 0

    again = estimate_budget(r1_run, BudgetSettings(tokenizer=str(QWEN2_TOKENIZER)), figures=False)
    assert again.stats.graded == again.stats.prescreened == 0 and again.stats.cached == graded_first
    key = ("subset", "budget", "accuracy", "ci_low", "closed", "forced", "no_candidate")
    assert [tuple(r.to_dict()[k] for k in key) for r in again.rows] == [tuple(r[k] for k in key) for r in data["rows"]]


@needs_r1
def test_without_a_tokenizer_positions_are_estimated_and_said_so(r1_run):
    result = estimate_budget(r1_run, BudgetSettings(budgets=[1024, 100_000]), figures=False)
    assert result.summary["tokens"].startswith("estimated: ")
    assert result.summary["budgets"] == [1024, 100_000]
    assert any("budgets above the longest trace" in n for n in result.notes)
    conn = sqlite3.connect(r1_run / "run.sqlite")
    try:
        assert conn.execute("SELECT COUNT(*) FROM budget_verdicts").fetchone()[0] > 0
    finally:
        conn.close()


@needs_r1
@pytest.mark.skipif(not (R1_LABELS.exists() and QWEN2_TOKENIZER.exists()),
                    reason="needs the minimum-valid-prefix labels and the Qwen2 tokenizer under the shared data folder")
def test_settle_point_agrees_with_the_min_valid_prefix_labels(r1_run):
    """Per labelled problem: the first budget at which the estimator's forced answer is the
    final answer, against the LLM-judged shortest prefix that gives the final answer."""
    labels = {r["problem"]: r for r in map(json.loads, R1_LABELS.read_text(encoding="utf-8").splitlines())}
    with RunStore(r1_run) as store:
        traces = [t for t in load_run(store, dataset=None, subsets=None, group_by="subset").traces
                  if t.problem in labels and t.extracted]
        views, _ = token_views(traces, str(QWEN2_TOKENIZER))
        tls = {t.key: build_timeline(t, views[t.key]) for t in traces}
        checker = CandidateVerdicts(store, lambda: GradingPool(workers=2, timeout=10), "test")
        try:
            verdicts = checker.resolve(c for t in traces for c in settle_checks(t, tls[t.key]))
        finally:
            checker.close()
    assert len(traces) == len(labels) == 357
    # The labels count tokens with the same tokenizer: the trace lengths agree exactly.
    assert all(tls[t.key].length == labels[t.problem]["original_reasoning_length"] for t in traces)
    est = [settle_tokens(t, tls[t.key], verdicts) for t in traces]
    lab = [labels[t.problem]["min_valid_length"] for t in traces]
    length = [tls[t.key].length for t in traces]
    ours = agreement(est, lab, length)
    # A length-only guess (each label at the median share of its trace) for comparison:
    # token positions correlate through length alone, so the share is the honest measure.
    share = sorted(a / b for a, b in zip(lab, length))[len(lab) // 2]
    guess = agreement([round(share * n) for n in length], lab, length)
    print(f"\nestimator: {ours}\nlength-only guess: {guess}")
    assert ours.spearman_tokens > 0.8
    assert ours.spearman_share > 0.3 > guess.spearman_share
    assert ours.within_2x > 0.65
