"""The Python entry points: the guide's `run_task`, `combine_results`, grouping and
multiple choice, reruns, and efficiency.json written before any figure.  Invented
questions only (no shared data needed)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.helpers.efficiency_helpers import RunRow, write_run
from thinklens.efficiency import combine_results, run_task
from thinklens.efficiency.analysis import analyse_run
from thinklens.efficiency.settings import make_settings
from thinklens.records import Generation, Sample, Usage

# Invented multiple-choice questions (GPQA-shaped rows: options in meta, a domain, a letter gold).
MC = [
    ("Physics", "A ball is dropped from rest. Which quantity stays constant while it falls (no air)?",
     ("its acceleration", "its speed", "its height", "its kinetic energy"), "A",
     "Speed grows, height drops.\n\nKinetic energy grows too.\n\nSo the constant one is acceleration: the answer is (A).",
     "ANSWER: A"),
    ("Physics", "Which unit measures electric charge?", ("volt", "ohm", "coulomb", "watt"), "C",
     "Volt is potential. Ohm is resistance.\n\nHmm, watt is power. Alternatively think of Q = I t.\n\n"
     "That is ampere-seconds, i.e. the coulomb. So option C is correct.", "ANSWER: C"),
    ("Chemistry", "Which of these is a noble gas?", ("nitrogen", "neon", "oxygen", "hydrogen"), "B",
     "Nitrogen and oxygen are diatomic.\n\nWait, neon is in group 18.\n\nThe answer is (B).", "ANSWER: D"),
]


def _mc_rows() -> list[RunRow]:
    rows = []
    for i, (domain, q, options, gold, reasoning, answer) in enumerate(MC):
        sample = Sample(id=f"mc{i}", dataset="gpqa", subset="gpqa_diamond", messages=[{"role": "user", "content": q}],
                        gold=gold, meta={"problem": q, "choices": list(options), "domain": domain})
        gen = Generation(content=answer, reasoning=reasoning, reasoning_source="reasoning_content",
                         finish_reason="stop", usage=Usage(completion_tokens=len(reasoning) // 4 + 3,
                                                           reasoning_tokens=len(reasoning) // 4))
        rows.append(RunRow(sample, gen, "choice"))
    return rows


def test_multiple_choice_grouped_by_domain_with_option_letters(tmp_path):
    run = write_run(tmp_path / "run", _mc_rows(), model="mc-model")
    result = analyse_run(run, make_settings(max_tokens=None, count=None, grading_workers=1), progress=False,
                         figures=False)
    s = result.summary
    assert s["settings"]["group_by"] == "domain" and s["subset_order"] == ["Chemistry", "Physics"]
    by_id = {x.sample_id: x for x in result.samples}
    assert by_id["mc0"].first_correct.step == 2  # "the answer is (A)"
    assert by_id["mc1"].first_correct.step == 2  # "option C is correct"
    assert [p for _, p in by_id["mc1"].thought_switches] == ["hmm", "alternatively"]
    # Chemistry: the reasoning reached (B) but the final answer was D: the run graded it wrong.
    chem = s["subsets"]["Chemistry"]
    assert (chem["accuracy"], chem["n_reached_correct"], chem["n_incorrect"]) == (0.0, 1, 1)
    assert chem["xi_ut"] == pytest.approx(1 - by_id["mc2"].ratio)
    assert s["subsets"]["Physics"]["accuracy"] == 1.0


def test_run_task_with_the_guides_model_config(tmp_path):
    run = write_run(tmp_path / "outputs" / "20250301-mc", _mc_rows(), model="mc-model")
    out = tmp_path / "figures"
    result = run_task(
        dict(report_path=str(run / "report.json"), model_name="MC-7B", tokenizer_path=None, dataset_name="gpqa",
             subsets=["Physics", "Chemistry"], split_strategies="keywords"),
        output_dir=str(out), max_tokens=8000, count=100, progress=False,
    )
    s = json.loads((run / "efficiency.json").read_text())
    assert s["model"] == "MC-7B" and s["settings"]["split"] == "keywords" and s["settings"]["method"] == "verify"
    assert s["subset_order"] == ["Physics", "Chemistry"]  # the order asked for
    assert s["settings"]["tokens_exact"] is False  # no tokenizer: server counts, marked approximate
    assert {p.name for p in out.iterdir()} == {"MC-7B_gpqa_efficiency.json", "MC-7B_gpqa_efficiency.png",
                                               "MC-7B_gpqa_efficiency.svg"}
    assert result.summary == s
    cmp = combine_results([dict(report_path=str(run), model_name="MC-7B")], str(tmp_path / "cmp.png"))
    assert cmp.models == ["MC-7B"] and (tmp_path / "cmp.csv").exists()


def test_efficiency_json_is_written_before_any_figure(tmp_path, monkeypatch):
    run = write_run(tmp_path / "run", _mc_rows(), model="mc-model")
    from thinklens.efficiency import figures

    seen = {}

    def failing_plot(*args, **kwargs):
        seen["json"] = json.loads((run / "efficiency.json").read_text())
        raise RuntimeError("figure backend exploded")

    monkeypatch.setattr(figures, "plot_grid", failing_plot)
    with pytest.raises(RuntimeError, match="exploded"):
        analyse_run(run, make_settings(max_tokens=None, count=None, grading_workers=1), progress=False)
    assert seen["json"]["subsets"]["overall"]["n"] == 3
    conn = sqlite3.connect(run / "run.sqlite")
    assert conn.execute("SELECT COUNT(*) FROM efficiency_samples").fetchone()[0] == 3
    conn.close()


def test_rerun_replaces_rows_of_the_same_settings(tmp_path):
    run = write_run(tmp_path / "run", _mc_rows(), model="mc-model")
    settings = make_settings(max_tokens=None, count=None, grading_workers=1)
    analyse_run(run, settings, progress=False, figures=False)
    analyse_run(run, settings, progress=False, figures=False)
    conn = sqlite3.connect(run / "run.sqlite")
    assert conn.execute("SELECT COUNT(*) FROM efficiency_samples").fetchone()[0] == 3
    assert conn.execute("SELECT COUNT(*) FROM efficiency_runs").fetchone()[0] == 1
    conn.close()


def test_unknown_dataset_or_subset_is_a_clear_error(tmp_path):
    from thinklens.errors import ConfigError

    run = write_run(tmp_path / "run", _mc_rows(), model="mc-model", grade=False)
    with pytest.raises(ConfigError, match="dataset 'math_500' is not in this run; it holds: gpqa"):
        analyse_run(run, make_settings(dataset="math_500"), progress=False, figures=False)
    with pytest.raises(ConfigError, match="no subset 'Biology'.*Chemistry, Physics, gpqa_diamond"):
        analyse_run(run, make_settings(subsets=["Biology"]), progress=False, figures=False)


def test_ungraded_traces_count_apart_and_as_not_correct(tmp_path):
    # counted apart (n_ungraded), but never out of the denominator: as report.json
    run = write_run(tmp_path / "run", _mc_rows(), model="mc-model", grade=False)
    result = analyse_run(run, make_settings(max_tokens=None, count=None, grading_workers=1), progress=False,
                         figures=False)
    overall = result.summary["subsets"]["overall"]
    assert overall["n"] == 3 and overall["n_graded"] == 0 and overall["n_ungraded"] == 3
    assert overall["accuracy"] == 0.0
    assert overall["xi_o"] == 0.0 and overall["n_reached_correct"] == 3


def test_a_run_with_several_datasets_needs_one_chosen(tmp_path):
    from thinklens.errors import ConfigError

    math = RunRow(Sample(id="m0", dataset="math_500", subset="Level 1", messages=[{"role": "user", "content": "1+1?"}],
                         gold="2", meta={"problem": "1+1?"}),
                  Generation(content="\\boxed{2}", reasoning="1+1 = 2.", reasoning_source="reasoning_content",
                             finish_reason="stop"), "math")
    run = write_run(tmp_path / "run", [*_mc_rows(), math], model="m")
    with pytest.raises(ConfigError, match=r"several datasets \(gpqa, math_500\).*--dataset"):
        analyse_run(run, make_settings(), progress=False, figures=False)
    result = analyse_run(run, make_settings(dataset="math500", grading_workers=1), progress=False, figures=False)
    assert result.summary["dataset"] == "math_500" and result.samples[0].first_correct.step == 0
