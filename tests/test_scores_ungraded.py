"""One scoring rule everywhere: an answer without a verdict is "ungraded", shown apart,
and never leaves a denominator (report.json, the console table, the viewer's live
scores, `thinklens efficiency` accuracy).  Token means share one denominator.

Runs are written through the real store and scored by the real report builder.
"""

from __future__ import annotations

import asyncio
import json
import random
from pathlib import Path

import pytest
from rich.console import Console

from thinklens.config import make_config
from thinklens.efficiency.metrics import FirstCorrect, SampleEfficiency, summarize
from thinklens.records import Generation, Sample, Score, Usage
from thinklens.report import build_report
from thinklens.report.console import print_report
from tests.helpers.shared_data import shared_data_dir
from thinklens.store import RunStore
from thinklens.viewer.reader import RunReader

CORRECT = Score(True, "correct", extracted="7")
WRONG = Score(False, "not_equivalent", extracted="8")
UNGRADED = Score(None, "ungraded", extracted="10^{10^{10}} - 1", detail={"notes": ["timed out"]})


def _config(run_dir: Path, n: int):
    return make_config({"model": "m", "api_url": ["http://127.0.0.1:9/v1"], "datasets": ["math_500"],
                        "generation_config": {"n": n}, "output": str(run_dir)})


def _write(run_dir: Path, rows: list[tuple[str, str, int, Generation, Score | None]], n: int):
    """rows: (sample id, subset, repeat, generation, score or None)."""
    store = RunStore(run_dir)
    keys = []
    for sid, subset, rep, gen, score in rows:
        key = f"{sid}-{rep}"
        keys.append(key)
        sample = Sample(id=sid, dataset="math_500", subset=subset, messages=[{"role": "user", "content": "?"}], gold="7")
        store.put_generation(key, sample, rep, gen)
        if score is not None:
            store.put_score(key, score)
    store.set_plan([(k, "math") for k in keys])
    config = _config(run_dir, n)
    store.set_meta("config", config.redacted())
    report = asyncio.run(build_report(store, config, {}, None))
    store.close()
    return report


def _gen(completion: int | None = 100, reasoning: int | None = 80) -> Generation:
    return Generation(content="\\boxed{7}", reasoning="r", reasoning_source="reasoning_content", finish_reason="stop",
                      usage=Usage(prompt_tokens=5, completion_tokens=completion, reasoning_tokens=reasoning))


def _score(report, subset: str, metric: str) -> tuple[int, float]:
    row = next(r for r in report.rows if (r.subset, r.metric) == (subset, metric))
    return row.num, row.score


def test_ungraded_answers_stay_in_every_denominator(tmp_path: Path) -> None:
    # q0: correct + ungraded; q1: ungraded twice; q2: failed request + wrong.
    failed = Generation(error="HTTP 500", attempts=3)
    rows = [("q0", "A", 0, _gen(), CORRECT), ("q0", "A", 1, _gen(), UNGRADED),
            ("q1", "A", 0, _gen(), UNGRADED), ("q1", "A", 1, _gen(), UNGRADED),
            ("q2", "A", 0, failed, None), ("q2", "A", 1, _gen(), WRONG)]
    report = _write(tmp_path / "run", rows, n=2)
    # per question: 1/2, 0/2, 0/1 (the failed request casts no vote); before the fix the
    # ungraded votes were dropped: q0 = 1/1, q1 absent, so 0.5 instead of 1/6
    assert _score(report, "A", "AveragePass@1") == (3, round((0.5 + 0 + 0) / 3, 4))
    assert _score(report, "OVERALL", "AveragePass@1") == (3, round(1 / 6, 4))
    # pass@2 and maj@2 over the questions with two votes (q0, q1): q0 reaches the gold
    # once in two draws; q1's ungraded pair is never correct
    assert _score(report, "A", "pass@2") == (2, 0.5)
    assert _score(report, "A", "maj@2")[0] == 2
    stats = next(s for s in report.subsets if s.subset == "A")
    assert (stats.ungraded, stats.graded, stats.errors) == (3, 2, 1)  # still shown apart

    # the viewer's live scores (no report.json on disk) say the same
    reader = RunReader(tmp_path / "run")
    live = {(s.subset, s.metric): (s.num, s.score) for s in reader.live_scores(2)}
    for subset, metric in (("A", "AveragePass@1"), ("OVERALL", "AveragePass@1"), ("A", "pass@2")):
        num, score = _score(report, subset, metric)
        assert live[(subset, metric)][0] == num and round(live[(subset, metric)][1], 4) == score, (subset, metric)
    counts = {c.subset: c for c in reader.subset_counts()}
    assert counts["A"].ungraded == 3
    # the run page's "correct / graded" is over every graded answer, ungraded included
    progress = reader.progress()
    assert (progress.correct, progress.graded) == (1, 5)

    # the console table names the column and what it means
    console = Console(record=True, width=250)
    print_report(report, console)
    text = console.export_text()
    assert "Ungr = no verdict, scored as not correct" in text


def _trace(correct: bool | None) -> SampleEfficiency:
    return SampleEfficiency(
        key="k", dataset="d", subset="s", group="s", sample_id="q", repeat=0, no_reasoning=False,
        reasoning_source="reasoning_content", truncated=False, correct=correct, tokens_exact=True, reasoning_tokens=100,
        steps=[(0, 10)], first_correct=FirstCorrect("found", 0, 10, 40), thought_switches=[], solution_steps=[0],
        method="verify",
    )


def test_efficiency_accuracy_counts_ungraded_as_not_correct() -> None:
    summary = summarize([_trace(True), _trace(None), _trace(None), _trace(False)])
    assert summary["accuracy"] == 0.25 and (summary["n_graded"], summary["n_ungraded"]) == (2, 2)
    assert summary["xi_o"] == round(0.4 / 4, 4)  # σ = 0 for the ungraded traces


# ---- token means ---------------------------------------------------------------------
def _assert_means_ordered(report, reader: RunReader) -> None:
    viewer = {(c.dataset, c.subset): c for c in reader.subset_counts()}
    for s in report.subsets:
        if s.mean_completion_tokens is None:
            continue
        assert s.mean_reasoning_tokens <= s.mean_completion_tokens, s
        v = viewer[(s.dataset, s.subset)]
        assert (v.mean_completion_tokens, v.mean_reasoning_tokens, v.tokens_over) == (
            s.mean_completion_tokens, s.mean_reasoning_tokens, s.tokens_over)


@pytest.mark.parametrize("seed", range(6))
def test_mean_reasoning_never_exceeds_mean_completion(tmp_path: Path, seed: int) -> None:
    """Property: per-sample reasoning <= completion implies the same for the means, in
    report.json and in the viewer.  Rows mimic what the client stores: an empty
    completion (0) has no reasoning count; a server without usage leaves both out."""
    rng = random.Random(seed)
    rows = []
    for i in range(40):
        kind = rng.random()
        if kind < 0.2:
            gen = _gen(0, None)  # empty completion: the client stores no reasoning count
        elif kind < 0.3:
            gen = _gen(None, None)  # no usage reported
        else:
            completion = rng.randint(1, 5000)
            gen = _gen(completion, rng.randint(0, completion))
        rows.append((f"q{i}", rng.choice(["A", "B"]), 0, gen, rng.choice([CORRECT, WRONG, UNGRADED])))
    report = _write(tmp_path / "run", rows, n=1)
    _assert_means_ordered(report, RunReader(tmp_path / "run"))
    a = next(s for s in report.subsets if s.subset == "OVERALL")
    assert a.tokens_over == sum(1 for r in rows if r[3].usage.completion_tokens is not None)


def test_token_means_on_real_reasoning_traces(tmp_path: Path) -> None:
    """Replay-like rows from real R1-distill AIME 2024 outputs (token counts = words):
    its failed rows have empty outputs, stored as an empty completion."""
    path = shared_data_dir() / "model_outputs" / "meitann_R1-Distill-Qwen-32B_aime24.jsonl"
    if not path.exists():
        pytest.skip(f"shared data absent: {path} (set THINKLENS_SHARED_DATA to ../shared/data)")
    rows = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        d = json.loads(line)
        reasoning = len((d.get("full_reasoning") or "").split())
        completion = reasoning + len((d.get("result") or "").split())
        gen = _gen(completion, reasoning or None) if completion else _gen(0, None)
        rows.append((f"a{i}", "I" if i % 2 else "II", 0, gen, CORRECT if i % 3 else UNGRADED))
    # the empty completions that made "Think tok" exceed "Tok" before the fix
    rows += [(f"e{i}", "I", 0, _gen(0, None), WRONG) for i in range(5)]
    report = _write(tmp_path / "run", rows, n=1)
    _assert_means_ordered(report, RunReader(tmp_path / "run"))
    assert json.loads(json.dumps(report.to_dict()))["subsets"][0]["tokens_over"] > 0
