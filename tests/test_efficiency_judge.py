"""`--method judge` and `--split llm` against the mock server acting as the judge.

Runs are written in tmp dirs with the RunStore API; the judge's verdicts are replay
records keyed by text that occurs only in the prompt they answer (judge_server.py).
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.helpers.efficiency_helpers import RunRow, write_run
from tests.helpers.judge_server import first_correct_key, judge_server, split_key
from thinklens.efficiency.analysis import analyse_run
from thinklens.efficiency.settings import make_settings
from thinklens.efficiency.steps import split_separator
from thinklens.efficiency.traces import Trace
from thinklens.records import Generation, Sample, Usage

# Invented problems; each reasoning has blank-line paragraphs (the separator steps).
CASES = [
    ("Level 1", "Compute 6 times 7.", "42",
     "6 times 7 is 42.\n\nLet me double-check: 7 + 7 + 7 + 7 + 7 + 7 = 42.\n\nYes, 42.", "\\boxed{0}"),
    ("Level 1", "What is 15 minus 8?", "7",
     "Start with 15.\n\nTake away 5 to get 10.\n\nTake away 3 more to get 7.\n\nCheck: 7 + 8 = 15. Good.", "\\boxed{2}"),
    ("Level 2", "How many sides does a hexagon have?", "6",
     "A hexagon... hex means six.\n\nSo it has 6 sides.", "I am not sure which paragraph you mean."),
    ("Level 2", "What is the square root of 81?", "9",
     "Squares near 81: 8^2 = 64.\n\n10^2 = 100, too big.\n\nSo it is between, maybe 8.5.", "\\boxed{-1}"),
]


def _row(i: int, case: tuple[str, ...]) -> RunRow:
    subset, problem, gold, reasoning, _ = case
    sample = Sample(id=f"q{i}", dataset="math_500", subset=subset, messages=[{"role": "user", "content": problem}],
                    gold=gold, meta={"problem": problem})
    # No tokenizer in these tests: the server's counts (one token per 3 characters here).
    gen = Generation(content=f"The answer is $\\boxed{{{gold}}}$.", reasoning=reasoning,
                     reasoning_source="reasoning_content", finish_reason="stop",
                     usage=Usage(prompt_tokens=20, completion_tokens=len(reasoning) // 3 + 8,
                                 reasoning_tokens=len(reasoning) // 3))
    return RunRow(sample, gen, "math")


def _trace(case: tuple[str, ...]) -> Trace:
    subset, problem, gold, reasoning, _ = case
    return Trace(key="", dataset="math_500", subset=subset, group=subset, sample_id="", repeat=0, problem=problem,
                 gold=gold, choices=(), grader="math", text=reasoning, content="", no_reasoning=False,
                 reasoning_source="reasoning_content", finish_reason="stop", correct=True, extracted=gold,
                 completion_tokens=None, reasoning_tokens=None)


def _settings(url: str, **kw):
    return make_settings(method=kw.pop("method", "judge"), judge={"base_url": url, "model_name": "mock-judge"},
                         max_tokens=None, count=None, grading_workers=1, **kw)


def _rows(run) -> dict[str, sqlite3.Row]:
    conn = sqlite3.connect(run / "run.sqlite")
    conn.row_factory = sqlite3.Row
    out = {r["sample_id"]: r for r in conn.execute("SELECT * FROM efficiency_samples")}
    conn.close()
    return out


def test_judge_method_one_call_per_sample_none_on_rerun(tmp_path):
    run = write_run(tmp_path / "run", [_row(i, c) for i, c in enumerate(CASES)], model="tiny-model")
    verdicts = [(first_correct_key(_trace(c)), c[4]) for c in CASES]
    with judge_server(tmp_path / "judge.jsonl", verdicts) as server:
        result = analyse_run(run, _settings(server.url), progress=False, figures=False)
        assert server.stats().requests_total == len(CASES)  # exactly one judge call per sample
        assert result.judge_stats.requests == len(CASES)

        rows = _rows(run)
        # Index 0 counts as correct: T^ is the tokens of the first paragraph, not 0.
        q0 = rows["q0"]
        first_para = split_separator(CASES[0][3])[0]
        assert (q0["first_correct_status"], q0["first_correct_step"]) == ("found", 0)
        assert q0["first_correct_offset"] == first_para[1]
        T = len(CASES[0][3]) // 3
        assert q0["reasoning_tokens"] == T and q0["tokens_exact"] == 0
        assert q0["first_correct_tokens"] == round(T * first_para[1] / len(CASES[0][3])) > 0
        assert json.loads(q0["steps"]) == [list(s) for s in split_separator(CASES[0][3])]
        assert rows["q1"]["first_correct_step"] == 2
        # An unreadable verdict is recorded as such, never as "no correct step".
        assert rows["q2"]["first_correct_status"] == "unparsed" and rows["q2"]["first_correct_tokens"] is None
        assert json.loads(rows["q2"]["detail"])["judge"]["raw"] == CASES[2][4]
        assert rows["q3"]["first_correct_status"] == "none"

        s = result.summary["subsets"]
        assert (s["Level 1"]["n"], s["Level 1"]["n_reached_correct"]) == (2, 2)
        assert (s["Level 2"]["n_judge_unparsed"], s["Level 2"]["n_reached_correct"]) == (1, 0)
        assert s["overall"]["n_judge_unparsed"] == 1
        assert result.summary["judge_calls"]["requests"] == len(CASES)
        assert result.summary["settings"]["tokens_exact"] is False

        # Rerun with the same settings on the same run: the stored per-trace results, no judge at all.
        again = analyse_run(run, _settings(server.url), progress=False, figures=False)
        assert server.stats().requests_total == len(CASES)
        assert (again.reused, again.analysed, again.judge_stats) == (len(CASES), 0, None)
        assert again.summary["judge_calls"] == result.summary["judge_calls"]  # the calls behind these results
        # Other settings (a seed) recompute every trace: every verdict from the run store's cache.
        other = analyse_run(run, _settings(server.url, seed=1), progress=False, figures=False)
        assert server.stats().requests_total == len(CASES)
        assert other.analysed == len(CASES) and other.judge_stats.requests == 0
        assert other.judge_stats.cache_hits == len(CASES)
        assert _rows(run)["q1"]["first_correct_step"] == 2


def test_llm_split_two_calls_per_sample_steps_stay_spans_of_the_original(tmp_path):
    reasoning = ("First I add 2 and 3 to get 5. Then I double it: 10. Wait, the question asks for the sum only. "
                 "So the sum is 5. Let me verify: 5 - 3 = 2, right.")
    case = ("Level 1", "What is 2 plus 3?", "5", reasoning, "\\boxed{2}")
    # The judge re-wraps the copy (line breaks, doubled spaces) and inserts paragraph breaks.
    copy = ("First I add 2 and 3 to get 5.\nThen I double it: 10.\n\nWait, the question asks for the sum  only.\n\n"
            "So the sum is 5.\n\nLet me verify: 5 - 3 = 2, right.")
    run = write_run(tmp_path / "run", [_row(0, case)], model="tiny-model")
    # The first-correct prompt shows the mapped steps; its record is keyed by the problem and gold.
    verdicts = [(split_key(reasoning), copy), (first_correct_key(_trace(case)), "\\boxed{2}")]
    with judge_server(tmp_path / "judge.jsonl", verdicts) as server:
        url = server.url
        result = analyse_run(run, _settings(url, split="llm"), progress=False, figures=False)
        assert server.stats().requests_total == 2  # split + first correct step
        row = _rows(run)["q0"]
        steps = [reasoning[a:b] for a, b in json.loads(row["steps"])]
        assert steps == ["First I add 2 and 3 to get 5. Then I double it: 10.",
                         "Wait, the question asks for the sum only.", "So the sum is 5.",
                         "Let me verify: 5 - 3 = 2, right."]
        assert row["first_correct_step"] == 2
        assert row["first_correct_offset"] == reasoning.index("So the sum is 5.") + len("So the sum is 5.")
        detail = json.loads(row["detail"])
        assert detail["split"]["strategy"] == "llm" and detail["split"]["mapped"] == 3
        assert result.judge_stats.by_purpose == {"efficiency.split": 1, "efficiency.first_correct": 1}
        analyse_run(run, _settings(url, split="llm"), progress=False, figures=False)
        assert server.stats().requests_total == 2  # rerun: both answers cached


def test_method_both_reports_agreement_with_the_verifier(tmp_path):
    run = write_run(tmp_path / "run", [_row(i, c) for i, c in enumerate(CASES)], model="tiny-model")
    verdicts = [(first_correct_key(_trace(c)), c[4]) for c in CASES]
    with judge_server(tmp_path / "judge.jsonl", verdicts) as server:
        result = analyse_run(run, _settings(server.url, method="both"), progress=False, figures=False)
    rows = _rows(run)
    # The verifier reads "42" in paragraph 0 and "7" in paragraph 2: the same steps as the judge.
    assert rows["q0"]["verify_first_correct_step"] == 0 and rows["q0"]["judge_first_correct_step"] == 0
    assert rows["q1"]["verify_first_correct_step"] == 2
    ag = result.summary["agreement"]["overall"]
    assert ag["n_compared"] == 3  # q2's judge answer was unparsed
    # q3: the verifier finds nothing (8.5 is not 9) and neither does the judge (-1).
    assert ag["same_first_correct_step"] == 1.0
    assert set(result.summary["by_method"]) == {"verify", "judge"}
    assert result.summary["by_method"]["judge"]["overall"]["n_judge_unparsed"] == 1
    assert result.summary["subsets"]["overall"]["n_judge_unparsed"] == 0  # primary: the verifier


def test_judge_answers_are_not_mixed_across_settings(tmp_path):
    """Keyword steps ask a different question (other tags): a new call, its own rows."""
    run = write_run(tmp_path / "run", [_row(0, CASES[0])], model="tiny-model")
    with judge_server(tmp_path / "judge.jsonl", [(first_correct_key(_trace(CASES[0])), "\\boxed{0}")]) as server:
        a = analyse_run(run, _settings(server.url), progress=False, figures=False)
        b = analyse_run(run, _settings(server.url, split="keywords"), progress=False, figures=False)
        assert server.stats().requests_total == 2
    assert a.summary["settings"]["settings_hash"] != b.summary["settings"]["settings_hash"]
    conn = sqlite3.connect(run / "run.sqlite")
    assert conn.execute("SELECT COUNT(DISTINCT settings_hash) FROM efficiency_samples").fetchone()[0] == 2
    assert conn.execute("SELECT COUNT(*) FROM efficiency_runs").fetchone()[0] == 2
    conn.close()


@pytest.mark.parametrize("verdict", ["\\boxed{7}", "\\boxed{-2}"])
def test_index_out_of_range_is_unparsed(tmp_path, verdict):
    run = write_run(tmp_path / "run", [_row(0, CASES[0])], model="tiny-model")
    with judge_server(tmp_path / "judge.jsonl", [(first_correct_key(_trace(CASES[0])), verdict)]) as server:
        result = analyse_run(run, _settings(server.url), progress=False, figures=False)
    fc = result.samples[0].first_correct
    assert fc.status == "unparsed"
    assert "outside -1..2" in result.samples[0].detail["judge"]["reason"]
