"""The efficiency table's numbers add up (issue 15): T, T^, T-T^ and T^/T are means over the
same traces, so T^ <= T and T - T^ = reflection hold in the aggregate as printed, whatever
traces reach a correct step (the verify and judge methods pick different ones); and the
tables fit 80 columns without cutting a number or a header.

Property tests over the real R1-distill MATH-500 traces: each trace's steps are its real
paragraphs and its first correct step is drawn at random (seeded), many times over."""

from __future__ import annotations

import io
import random
import re

import pytest
from rich.console import Console

from thinklens.efficiency.metrics import FirstCorrect, SampleEfficiency, summarize
from thinklens.efficiency.report import OVERALL, print_summary, table_rows
from thinklens.efficiency.steps import split_separator
from thinklens.efficiency.tokens import ApproximateTokens

from tests.helpers.efficiency_helpers import MEITANN_PARTS, MATH500, have, meitann_rows

pytestmark = pytest.mark.skipif(not have(*MEITANN_PARTS, MATH500),
                                reason="needs the R1-distill MATH-500 traces from the shared data folder")


@pytest.fixture(scope="module")
def traces():
    out = []
    for row in meitann_rows():
        gen = row.generation
        if not gen.ok:
            continue
        text = gen.reasoning
        view = ApproximateTokens(total=len(text.split()), length=len(text))
        out.append((row, text, split_separator(text), view))
    return out


def _samples(traces, seed: int) -> list[SampleEfficiency]:
    rng = random.Random(seed)
    samples = []
    for row, text, steps, view in traces:
        if rng.random() < 0.3 or not steps:
            fc = FirstCorrect("none")
        elif rng.random() < 0.05:
            fc = FirstCorrect("unparsed")
        else:
            step = rng.randrange(len(steps))
            end = steps[step][1]
            fc = FirstCorrect("found", step, end, view.tokens_before(end))
        samples.append(SampleEfficiency(
            key=row.key, dataset="math_500", subset=row.sample.subset, group=row.sample.subset,
            sample_id=row.sample.id, repeat=0, no_reasoning=False, reasoning_source="reasoning_content",
            truncated=rng.random() < 0.1, correct=rng.random() < 0.8, tokens_exact=False,
            reasoning_tokens=view.count, steps=steps, first_correct=fc, thought_switches=[], solution_steps=[],
            method="verify",
        ))
    return samples


def _summary(samples: list[SampleEfficiency]) -> dict:
    order = sorted({s.group for s in samples})
    subsets = {g: summarize([s for s in samples if s.group == g]) for g in order}
    subsets[OVERALL] = summarize(samples)
    return {"model": "DeepSeek-R1-Distill-Qwen-32B", "dataset": "math_500", "subset_order": order,
            "subsets": subsets, "selection": {}, "settings": {"tokens_exact": False, "max_tokens": 8000}}


@pytest.mark.parametrize("seed", range(20))
def test_identities_hold_in_the_aggregate_as_printed(traces, seed):
    summary = _summary(_samples(traces, seed))
    for name, m in summary["subsets"].items():
        if not m["n_reached_correct"]:
            continue
        t, t_hat, refl = m["reasoning_tokens_reached"], m["first_correct_tokens"], m["reflection_tokens"]
        assert t_hat <= t + 1e-9, name
        assert abs((t - t_hat) - refl) < 1e-3, name
        assert 0 <= m["token_efficiency"] <= 1
    for row in table_rows(summary):
        if row.t == "-":
            continue
        t, t_hat, refl = int(row.t), int(row.t_hat), int(row.reflection)
        assert t_hat <= t and t - t_hat == refl and refl >= 0, row
        assert refl <= t  # the old table printed T - T^ larger than T (T was over other traces)


def test_the_old_denominators_did_disagree(traces):
    # The reason for the change: T over all complete traces is not the T of T^ and T - T^.
    summary = _summary(_samples(traces, 0))
    mismatched = [m for m in summary["subsets"].values()
                  if m["n_reached_correct"] and abs(m["reasoning_tokens"] - m["reasoning_tokens_reached"]) >= 1]
    assert mismatched


def test_efficiency_tables_fit_80_columns(traces):
    summary = _summary(_samples(traces, 1))
    console = Console(width=80, record=True, file=io.StringIO(), force_terminal=False)
    print_summary(summary, console)
    text = console.export_text()
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "…" not in text
    for header in ("Subset", "Trunc", "Reached", "T-T^", "T^/T", "Switches", "Unparsed", "xi_UT"):
        assert re.search(rf"(^|\s){re.escape(header)}(\s|$)", text, re.M), header
    for row in table_rows(summary):
        line = next(line for line in text.splitlines() if line.strip("│┃ ").startswith(row.subset)
                    and row.reached in line)
        for cell in (row.n, row.reached, row.t, row.t_hat, row.reflection, row.efficiency, row.t_all):
            assert re.search(rf"(^|[\s│]){re.escape(cell)}([\s│]|$)", line), (cell, line)
