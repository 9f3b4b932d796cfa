"""Efficiency building blocks: switches, steps, llm-split mapping, candidates, prescreen,
tokens, selection, metrics, settings."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.helpers.efficiency_helpers import QWEN2_TOKENIZER, data_path, have
from thinklens.efficiency import settings_from_model_config
from thinklens.efficiency.candidates import find_candidates, latex_from_unicode
from thinklens.efficiency.llm_split import map_breaks
from thinklens.efficiency.metrics import FirstCorrect, SampleEfficiency, agreement, summarize
from thinklens.efficiency.prescreen import as_number, prescreen, same_text
from thinklens.efficiency.selection import select
from thinklens.efficiency.settings import make_settings
from thinklens.efficiency.steps import split_keywords, split_separator
from thinklens.efficiency.switches import DEFAULT_SWITCH_PHRASES, find_switches, normalize_phrases
from thinklens.efficiency.tokens import ApproximateTokens, load_token_counter
from thinklens.efficiency.traces import Trace
from thinklens.errors import ConfigError

PHRASES = normalize_phrases(DEFAULT_SWITCH_PHRASES)


# ---- thought switches ----------------------------------------------------------------------
def test_switches_are_case_insensitive_on_word_boundaries_without_overlap():
    text = "Wait, 2+2=4. I await the result. But wait, hmm... BUT   WAIT. Hmmm. Alternatively,\nanother  approach."
    found = find_switches(text, PHRASES)
    assert [p for _, p in found] == ["wait", "but wait", "hmm", "but wait", "alternatively", "another approach"]
    assert found[0][0] == 0 and text[found[1][0]:].startswith("But wait")  # offsets into the original


def test_switch_phrases_are_configurable_and_validated():
    assert [p for _, p in find_switches("Let me double-check: ok. let me DOUBLE-CHECK", ("let me double-check",))] \
        == ["let me double-check"] * 2
    with pytest.raises(ValueError):
        normalize_phrases(["  ", ""])


# ---- steps -----------------------------------------------------------------------------------
def test_separator_steps_are_trimmed_spans_of_the_original():
    text = "  First idea.\n\n\nSecond\nline two.\n \t\nThird.  \n"
    spans = split_separator(text)
    assert [text[a:b] for a, b in spans] == ["First idea.", "Second\nline two.", "Third."]


def test_keyword_steps_start_at_each_switch_phrase():
    text = "Try x=1. Wait, that fails. Alternatively, use x=2. Await nothing."
    spans = split_keywords(text, PHRASES)
    assert [text[a:b] for a, b in spans] == ["Try x=1.", "Wait, that fails.", "Alternatively, use x=2. Await nothing."]


# ---- llm split: judge breaks mapped back onto the original ---------------------------------
ORIGINAL = ("We need the sum of 3 and 4. The sum is 3 + 4 = 7.\nLet me double-check: 7 - 4 = 3, fine. "
            "Alternatively, count up from 3: 4, 5, 6, 7. So the answer is 7.")


def test_llm_breaks_map_back_despite_rewrapped_whitespace():
    judged = ("We need the sum of 3 and 4.  The sum is 3 + 4 = 7.\n\nLet me double-check:\n7 - 4 = 3, fine.\n\n"
              "Alternatively, count up from 3: 4, 5, 6, 7.\n\nSo the answer is 7.")
    m = map_breaks(ORIGINAL, judged)
    assert [ORIGINAL[a:b] for a, b in m.spans] == [
        "We need the sum of 3 and 4. The sum is 3 + 4 = 7.",
        "Let me double-check: 7 - 4 = 3, fine.",
        "Alternatively, count up from 3: 4, 5, 6, 7.",
        "So the answer is 7.",
    ]
    assert (m.proposed, m.mapped, m.truncated) == (3, 3, False)


def test_llm_breaks_that_cannot_be_found_are_dropped_not_guessed():
    judged = ("Here is the text split into steps:\n\nWe need the sum of 3 and 4. The sum is 3 + 4 = 7.\n\n"
              "Let me re-verify this entirely differently now please.\n\nAlternatively, count up from 3: 4, 5, 6, 7. "
              "So the answer is 7.")
    m = map_breaks(ORIGINAL, judged)
    texts = [ORIGINAL[a:b] for a, b in m.spans]
    assert texts[0] == "We need the sum of 3 and 4. The sum is 3 + 4 = 7.\nLet me double-check: 7 - 4 = 3, fine."
    assert texts[1].startswith("Alternatively") and len(texts) == 2
    assert m.proposed == 3 and m.mapped == 1  # the preamble and the rewritten paragraph gave no break


def test_truncated_judge_copy_keeps_its_breaks_then_blank_lines():
    original = "Step one is here.\n\nStep two is here.\n\nStep three is here.\n\nStep four is here."
    judged = "Step one is here.\n\nStep two is"  # cut off by max_tokens
    m = map_breaks(original, judged, truncated=True)
    assert [original[a:b] for a, b in m.spans] == ["Step one is here.", "Step two is here.", "Step three is here.",
                                                   "Step four is here."]
    assert m.truncated


# ---- candidates ------------------------------------------------------------------------------
@pytest.mark.parametrize("step, expected", [
    ("So, 9 eggs times $2 per egg equals $18.", ["18"]),
    ("r = √(0² + 3²) = √(0 + 9) = √9 = 3", ["3"]),
    ("Therefore, the value of \\(99^2 + 99 + 1\\) is \\(9901\\).", ["9901"]),
    ("so the perimeter is 12 cm.", ["12"]),
    ("So the answer is $\\frac{\\pi}{2}$, which is nice.", ["\\frac{\\pi}{2}"]),
    ("**Final Answer**\n\n\\[ \\boxed{\\left(3,\\,\\frac{\\pi}{2}\\right)} \\]", ["\\left(3,\\,\\frac{\\pi}{2}\\right)"]),
    ("The roots are \\boxed{3}, \\boxed{5}, and \\boxed{7}.", ["3", "3, 5, 7", "5", "7"]),
    ("Finally, the simplified expression is 6r² - 4r - 24.", ["6r^2 - 4r - 24"]),
    ("x <= 3 and y >= 2 means nothing here", []),
    ("which is negative.", []),
])
def test_candidates_of_a_step(step, expected):
    assert [c.text for c in find_candidates(step, "math")] == expected


def test_computed_expressions_in_unknowns_are_not_candidates_for_a_numeric_answer():
    step = "Expanding gives 6r + 24 - 6r"
    assert find_candidates(step, "math", numeric_gold=False)[0].text == "6r + 24 - 6r"
    assert find_candidates(step, "math", numeric_gold=True) == []
    # Stated answers stay candidates whatever they hold.
    assert [c.kind for c in find_candidates("the answer is \\boxed{x+1}", "math", numeric_gold=True)] == ["boxed"]


def test_multiple_choice_candidates_are_letters_only_when_stated():
    step = "Option B looks wrong. I think option C is correct. So the answer is (D). ANSWER: D"
    assert [c.text for c in find_candidates(step, "choice")] == ["C", "D"]
    assert find_candidates("B and C are both plausible", "choice") == []
    assert [c.text for c in find_candidates("\\boxed{A}", "choice")] == ["A"]


def test_unicode_math_becomes_latex():
    assert latex_from_unicode("√3/3") == "\\sqrt{3}/3"
    assert latex_from_unicode("2π − 1") == "2\\pi - 1"


# ---- prescreen -----------------------------------------------------------------------------
@pytest.mark.parametrize("cand, gold, verdict", [
    ("18", "18", True),
    ("\\dfrac{3}{4}", "\\frac34", None),  # could be equal: the grader decides
    ("10", "27648", False),
    ("1,000", "1000", None),
    ("-1/12", "27", False),
    ("3/4", "\\frac{3}{4}", None),
    ("0.75", "\\frac{3}{4}", None),  # equal value: form rules are the grader's
    ("4", "\\begin{pmatrix} 1/5 \\\\ -18/5 \\end{pmatrix}", False),
    ("4", "(3, 5)", False),
    ("6r + 24 - 6r", "24", None),  # the grader simplifies symbolically
    ("25", "25\\%", None),
    ("0.25", "25\\%", None),
])
def test_prescreen_only_settles_what_no_grader_could_flip(cand, gold, verdict):
    assert prescreen(cand, gold) is verdict


def test_numbers_and_spellings():
    assert as_number("\\frac{-3}{4}") == as_number("-3/4") == as_number("-0.75")
    assert as_number("x") is None and as_number("1/0") is None
    assert same_text("\\left(3, \\dfrac{\\pi}{2}\\right)", "(3,\\frac{\\pi}{2})")


# ---- tokens --------------------------------------------------------------------------------
needs_tokenizer = pytest.mark.skipif(not have(QWEN2_TOKENIZER), reason="shared data: Qwen2 tokenizer absent")


@needs_tokenizer
def test_qwen2_tokenizer_offsets_count_prefixes_of_the_original_text():
    counter = load_token_counter(str(data_path(QWEN2_TOKENIZER)))
    text = "Hello world, 12345 π café\n\n  x = \\frac{1}{2}"
    (view,) = counter.tokenize([text])
    assert view.count == counter.count([text])[0]
    for cut in (0, 5, 13, 18, 20, len(text)):
        # tokens needed to write text[:cut] == tokens of the prefix when the cut is a token boundary
        if cut in view.starts or cut == len(text):
            assert view.tokens_before(cut) == counter.count([text[:cut]])[0]
    assert view.tokens_before(len(text)) == view.count


def test_tokenizer_errors_are_clear(tmp_path):
    with pytest.raises(ConfigError, match="no tokenizer.json"):
        load_token_counter(str(tmp_path))
    with pytest.raises(ConfigError, match="neither an existing path nor a hub id"):
        load_token_counter("not/a/real/thing")


def test_approximate_tokens_scale_by_character_share():
    v = ApproximateTokens(total=100, length=400)
    assert (v.count, v.tokens_before(200), v.tokens_before(400), v.tokens_before(9999)) == (100, 50, 100, 100)


# ---- selection ------------------------------------------------------------------------------
def _trace(i: int, group: str, *, correct=True, finish="stop") -> Trace:
    return Trace(key=f"k{group}{i}", dataset="d", subset=group, group=group, sample_id=str(i), repeat=0, problem="p",
                 gold="1", choices=(), grader="math", text="t" * i, content="", no_reasoning=False,
                 reasoning_source="reasoning_content", finish_reason=finish, correct=correct, extracted="1",
                 completion_tokens=i, reasoning_tokens=i)


def test_selection_is_a_seeded_random_sample_after_the_length_filter():
    traces = [_trace(i, g) for g in ("Level 2", "Level 10") for i in range(1, 201)]
    lengths = {t.key: int(t.sample_id) * 50 for t in traces}  # trace i has 50*i output tokens
    sel = select(traces, lengths, max_tokens=8000, count=30, seed=0, errors=Counter({"Level 2": 3}))
    assert list(sel) == ["Level 2", "Level 10"]  # natural order
    s = sel["Level 2"]
    assert (s.available, s.dropped_by_length, len(s.selected), s.errors) == (200, 40, 30, 3)
    ids = [int(t.sample_id) for t in s.selected]
    assert max(ids) > 100  # not the first (shortest) 30
    again = select(traces, lengths, max_tokens=8000, count=30, seed=0)
    assert [t.key for t in again["Level 2"].selected] == [t.key for t in s.selected]
    other = select(traces, lengths, max_tokens=8000, count=30, seed=1)
    assert [t.key for t in other["Level 2"].selected] != [t.key for t in s.selected]
    everything = select(traces, lengths, max_tokens=None, count=None, seed=0)
    assert len(everything["Level 10"].selected) == 200


# ---- metrics --------------------------------------------------------------------------------
def _sample(T, that=None, *, correct=True, truncated=False, status=None, switches=0, group="g") -> SampleEfficiency:
    status = status or ("found" if that is not None else "none")
    fc = FirstCorrect(status, 0 if that is not None else None, 10 if that is not None else None, that)
    return SampleEfficiency(
        key=f"k{T}{that}{correct}{truncated}{status}", dataset="d", subset=group, group=group, sample_id="s",
        repeat=0, no_reasoning=False, reasoning_source="reasoning_content", truncated=truncated, correct=correct,
        tokens_exact=True, reasoning_tokens=T, steps=[(0, 10)], first_correct=fc,
        thought_switches=[(0, "wait")] * switches, solution_steps=[0], method="verify", verify=fc,
    )


def test_summary_definitions():
    samples = [
        _sample(100, 25, correct=True, switches=2),  # T^/T = .25
        _sample(200, 100, correct=False, switches=4),  # correct step reached, final answer wrong: xi_ut 0.5
        _sample(300, None, correct=False),  # never reached: T^ = T, xi_ut 0
        _sample(400, None, correct=True),  # correct, never stated in the reasoning: xi_o 1
        _sample(1000, 10, correct=False, truncated=True),  # apart
        _sample(500, None, correct=True, status="unparsed"),  # undetermined
    ]
    m = summarize(samples)
    assert (m["n"], m["n_complete"], m["n_truncated"], m["n_judge_unparsed"]) == (6, 5, 1, 1)
    assert m["reasoning_tokens"] == pytest.approx((100 + 200 + 300 + 400 + 500) / 5)
    assert m["n_reached_correct"] == 2
    assert m["first_correct_tokens"] == pytest.approx((25 + 100) / 2)
    assert m["reflection_tokens"] == pytest.approx((75 + 100) / 2)
    assert m["token_efficiency"] == pytest.approx((0.25 + 0.5) / 2)
    assert m["accuracy"] == pytest.approx(3 / 6)  # the run's grades, truncated included
    assert m["xi_o"] == pytest.approx((0.25 + 0 + 0 + 1.0) / 4)
    assert (m["n_incorrect"], m["xi_ut"]) == (2, pytest.approx((0.5 + 0.0) / 2))
    assert m["thought_num"] == pytest.approx(6 / 5)
    assert m["truncated"]["n"] == 1 and m["truncated"]["reasoning_tokens"] == 1000


def test_agreement_between_methods():
    a = _sample(100, 25)
    a.judge = FirstCorrect("found", 0, 10, 25)
    b = _sample(100, 50)
    b.verify = FirstCorrect("found", 2, 30, 50)
    b.judge = FirstCorrect("found", 1, 20, 40)
    c = _sample(100, None)
    c.judge = FirstCorrect("found", 3, 40, 60)
    d = _sample(100, None)
    d.judge = FirstCorrect("unparsed")
    ag = agreement([a, b, c, d])
    assert ag["n_compared"] == 3 and ag["same_first_correct_step"] == pytest.approx(1 / 3, abs=1e-3)
    assert ag["same_reached_correct"] == pytest.approx(2 / 3, abs=1e-3) and ag["only_judge_found"] == 1
    assert ag["judge_earlier"] == 1


# ---- settings --------------------------------------------------------------------------------
def test_settings_need_a_judge_for_judge_methods_and_llm_split():
    with pytest.raises(ConfigError, match="--method judge.*need an LLM judge"):
        make_settings(method="judge")
    with pytest.raises(ConfigError, match="--split llm"):
        make_settings(split="llm")
    with pytest.raises(ConfigError, match="count"):
        make_settings(count=-1)
    s = make_settings(method="judge", judge={"base_url": "http://h/v1", "model_name": "m", "api_key": "secret"})
    assert s.public()["judge"] == {"model": "m", "api_url": "http://h/v1", "temperature": 0.0, "max_tokens": 2048}
    assert "secret" not in str(s.public())
    assert s.settings_hash() != make_settings(method="verify").settings_hash()


def test_guide_model_config_is_accepted_and_checked(tmp_path):
    with pytest.raises(ConfigError, match="not a thinklens run folder"):
        settings_from_model_config({"report_path": str(tmp_path)})
    (tmp_path / "run.sqlite").write_bytes(b"")
    (tmp_path / "report.json").write_text("{}")
    run_dir, s = settings_from_model_config(
        dict(report_path=str(tmp_path / "report.json"), model_name="QwQ", tokenizer_path="Qwen/QwQ-32B",
             dataset_name="math_500", subsets=["Level 1"], split_strategies="keywords",
             judge_config=dict(api_key="EMPTY", base_url="http://127.0.0.1:8801/v1", model_name="Qwen2.5-72B")),
        max_tokens=8000, count=50,
    )
    assert run_dir == tmp_path
    assert (s.split, s.method, s.tokenizer, s.max_tokens, s.count, s.subsets) == (
        "keywords", "judge", "Qwen/QwQ-32B", 8000, 50, ("Level 1",))
    with pytest.raises(ConfigError, match="unknown model_config key"):
        settings_from_model_config({"report_path": str(tmp_path), "tokeniser_path": "x"})


def test_spearman_with_ties():
    from tests.helpers.stats import average_ranks, spearman

    assert average_ranks([10, 20, 20, 5]) == [2.0, 3.5, 3.5, 1.0]
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]) == pytest.approx(0.8)
    with pytest.raises(ValueError):
        spearman([1, 1], [1, 2])
