"""The labelled corpus (tests/grading/, see its README.md).

Invented cases cover every answer form, were labelled when written, and always run: their
accuracy is an independent check.  Real cases are rebuilt from the shared data folder by
reference (skipped when absent); their labels equal the grader's own verdicts when they
were labelled, so they are a regression snapshot: a grader change that flips a verdict
fails here, and 100 % there says nothing about accuracy.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from thinklens.grading import grade
from tests.helpers.corpus import CORPUS_DIR, load_invented, load_real
from tests.helpers.realdata import shared_data_available

MIN_AGREEMENT_REAL = 1.0  # 934 / 934: the snapshot (labels = thinklens' verdicts when labelled)
MIN_ACCURACY_INVENTED = 1.0  # 223 / 223
REQUIRED_FORMS = {
    "integer", "real", "fraction", "radical", "expression", "equation", "assignment", "interval", "set", "tuple",
    "matrix", "complex", "text", "units", "degrees", "percent", "dollars", "thousands", "base", "region",
    "aime", "choice", "gsm8k",
}

needs_data = pytest.mark.skipif(
    not shared_data_available(), reason="shared data folder absent (set THINKLENS_SHARED_DATA to ../shared/data)"
)


@pytest.fixture(scope="module")
def real_cases():
    return load_real()  # reads the tar.gz once for the module


def _mismatches(cases):
    wrong = []
    for case in cases:
        score = grade(case.request)
        if score.correct is not case.correct or (case.expected_reason and score.reason != case.expected_reason):
            wrong.append(f"{case.id}: label {case.correct} ({case.note}); got {score.correct} {score.reason} "
                         f"extracted={score.extracted!r}")
    return wrong


def test_invented_corpus_covers_every_answer_form() -> None:
    cases = load_invented()
    assert len(cases) >= 200
    forms = Counter(c.form for c in cases)
    assert REQUIRED_FORMS <= set(forms), REQUIRED_FORMS - set(forms)
    # every form has both right and wrong answers
    for form in REQUIRED_FORMS:
        labels = {c.correct for c in cases if c.form == form}
        assert labels == {True, False}, form


def test_invented_corpus_accuracy() -> None:
    cases = load_invented()
    wrong = _mismatches(cases)
    accuracy = 1 - len(wrong) / len(cases)
    assert accuracy >= MIN_ACCURACY_INVENTED, "\n".join(wrong)


@needs_data
def test_real_corpus_labels_cover_every_real_answer(real_cases) -> None:
    cases = real_cases
    assert len(cases) == 934
    labels = [json.loads(line) for line in (CORPUS_DIR / "real_labels.jsonl").open(encoding="utf-8")]
    assert all(lab["note"].strip() for lab in labels)
    # every case where the graders disagreed when labelled has its own reason, not a default
    for lab in labels:
        votes = lab["graders_at_labelling"]
        if len({votes["math_verify"], votes["strict_string"], votes["thinklens"]}) > 1:
            assert lab["note"] != "all three graders agree", lab["ref"]


@needs_data
def test_grading_regression_snapshot_of_real_answers(real_cases) -> None:
    """Not an accuracy measure (tests/grading/README.md): every verdict as it was when labelled."""
    cases = real_cases
    changed = _mismatches(cases)
    agreement = 1 - len(changed) / len(cases)
    assert agreement >= MIN_AGREEMENT_REAL, "\n".join(changed)


@needs_data
def test_truncated_qwq_generations_are_never_correct(real_cases) -> None:
    truncated = [c for c in real_cases if c.request.finish_reason == "length"]
    assert len(truncated) == 13
    for case in truncated:
        score = grade(case.request)
        assert score.correct is False and score.reason == "truncated", case.id
        # the raw generation still holds the reasoning: graded as a whole it must not pass either
        assert "<think>" in case.raw_output
    in_reasoning = [c for c in truncated if "</think>" not in c.raw_output]
    assert len(in_reasoning) == 12


@needs_data
def test_failed_requests_count_as_no_answer(real_cases) -> None:
    failed = [c for c in real_cases if c.id.startswith("meitann_math500") and not c.request.response]
    assert len(failed) >= 14
    assert all(grade(c.request).reason == "no_answer" for c in failed)


def test_every_corpus_verdict_is_identical_to_the_snapshot() -> None:
    """The grader registry refactor (and any later one) changes no verdict, reason,
    extracted answer or audit trail on the labelled corpus: digests, not copies."""
    from tests.helpers.corpus import load_corpus
    from tests.helpers.verdicts import load_snapshot, verdict_digest

    snapshot = load_snapshot()
    cases = [c for c in load_corpus() if c.id in snapshot]
    if shared_data_available():
        assert len(cases) == len(snapshot)
    changed = [c.id for c in cases if verdict_digest(grade(c.request)) != snapshot[c.id]]
    assert not changed, f"{len(changed)} verdicts changed: {changed[:20]}"


# ---------------------------------------------------------------------------------------
# SkyThought outputs on the reasoning suite (skythought_labels.jsonl): every disagreement
# between thinklens, plain math-verify and the Qwen2.5-Math grader decided by hand.

# Where thinklens was wrong when labelled (all false negatives: answers stated in prose
# without a box or answer phrase, a multi-part final answer, a gold math-verify cannot
# parse, sinh for its exponential form, `37m/4` read as 37/4 metres, one boxed 90 degrees
# for a gold of two 90-degree angles).  A change that fixes one shrinks this set; a new
# error fails the test.
SKYTHOUGHT_KNOWN_FN = {
    "skythought_skyt1gemma_amc23:2", "skythought_skyt1gemma_amc23:21", "skythought_skyt1gemma_amc23:33",
    *(f"skythought_skyt1gemma_minerva_math:{i}" for i in
      (7, 27, 48, 66, 77, 107, 134, 169, 176, 217, 224, 237, 268, 269, 271)),
    *(f"skythought_qwen14b_minerva_math:{i}" for i in (27, 71, 104)),
    "skythought_qwen14b_olympiadbench:31",
}

# Every answer of every SkyThought file is labelled: (model, benchmark) -> answers.
SKYTHOUGHT_LABELLED = {
    "qwen14b_amc23": 40, "skyt1gemma_amc23": 40, "skyt1gemma_minerva_math": 272,
    "qwen14b_minerva_math": 272, "qwen14b_olympiadbench": 675,
}


def _skythought_labels() -> list[dict]:
    return [json.loads(line) for line in (CORPUS_DIR / "skythought_labels.jsonl").open(encoding="utf-8")]


def test_skythought_labels_every_disagreement_has_its_reason() -> None:
    labels = _skythought_labels()
    assert Counter(lab["ref"].split(":")[0].removeprefix("skythought_") for lab in labels) == SKYTHOUGHT_LABELLED
    assert len({lab["ref"] for lab in labels}) == len(labels) == 1299
    disagreements = {lab["ref"] for lab in labels if len(set(lab["graders_at_labelling"].values())) > 1}
    assert len(disagreements) == 73 + 86 + 88
    for lab in labels:
        if lab["ref"] in disagreements:
            assert lab["note"] != "all three graders agree", lab["ref"]
        else:  # an agreed case is labelled as the three graders said
            assert lab["correct"] is lab["graders_at_labelling"]["thinklens"], lab["ref"]


@needs_data
def test_skythought_answers_thinklens_errors_are_the_known_ones() -> None:
    from tests.helpers.corpus import load_skythought

    cases = load_skythought()
    assert len(cases) == sum(SKYTHOUGHT_LABELLED.values())
    wrong = {c.id for c in cases if (grade(c.request).correct is True) != c.correct}
    false_positives = {c.id for c in cases if not c.correct and grade(c.request).correct is True}
    assert not false_positives
    assert wrong <= SKYTHOUGHT_KNOWN_FN, sorted(wrong - SKYTHOUGHT_KNOWN_FN)
