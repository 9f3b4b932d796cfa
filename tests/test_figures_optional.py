"""Without the `[figures]` extra (no matplotlib) every number is still written; only
the pictures are skipped, with a note that says how to get them.  Invented questions."""

from __future__ import annotations

import json
import sys

import pytest

from tests.helpers.efficiency_helpers import RunRow, write_run
from thinklens.efficiency import combine_results, run_task
from thinklens.plotting import FIGURES_EXTRA, FiguresUnavailable, new_figure
from thinklens.records import Generation, Sample, Usage


def _rows() -> list[RunRow]:
    rows = []
    for i, (a, b) in enumerate([(2, 3), (4, 5), (6, 7)]):
        q = f"What is {a} + {b}?"
        sample = Sample(id=f"s{i}", dataset="math_500", subset="Level 1", messages=[{"role": "user", "content": q}],
                        gold=str(a + b), meta={"problem": q})
        reasoning = f"Add them.\n\nWait, {a} + {b} = {a + b}.\n\nSo the answer is {a + b}."
        gen = Generation(content=f"\\boxed{{{a + b}}}", reasoning=reasoning, reasoning_source="reasoning_content",
                         finish_reason="stop", usage=Usage(completion_tokens=30, reasoning_tokens=25))
        rows.append(RunRow(sample, gen, "math"))
    return rows


@pytest.fixture
def no_matplotlib(monkeypatch):
    # `import matplotlib` (and any submodule an earlier test loaded) now raises ImportError
    for name in [n for n in sys.modules if n == "matplotlib" or n.startswith("matplotlib.")] + ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)


def test_efficiency_without_matplotlib_writes_the_numbers_and_says_how_to_get_figures(tmp_path, no_matplotlib):
    run = write_run(tmp_path / "run", _rows(), model="m")
    out = tmp_path / "out"
    result = run_task(dict(report_path=str(run), model_name="M", dataset_name="math_500"), output_dir=str(out),
                      max_tokens=None, count=None, progress=False)
    assert json.loads((run / "efficiency.json").read_text())["subsets"]["overall"]["n"] == 3
    assert result.figures == [] and any(FIGURES_EXTRA in note for note in result.notes)
    assert {p.suffix for p in out.iterdir()} == {".json"}

    cmp = combine_results([dict(report_path=str(run), model_name="M")], str(tmp_path / "cmp" / "c.png"))
    assert cmp.figures == [] and (tmp_path / "cmp" / "c.csv").exists()
    assert any(FIGURES_EXTRA in note for note in cmp.notes)


def test_drawing_without_matplotlib_is_a_clear_error(no_matplotlib):
    with pytest.raises(FiguresUnavailable, match=r"thinklens\[figures\]"):
        new_figure()


def test_the_cli_note_names_the_extra(tmp_path, no_matplotlib, capsys):
    from thinklens.cli import main

    run = write_run(tmp_path / "run", _rows(), model="m")
    assert main(["efficiency", str(run), "--no-progress"]) == 0
    assert main(["efficiency", "compare", str(run), "-o", str(tmp_path / "c.png")]) == 0
    err = capsys.readouterr().err.replace("\n", " ")
    assert err.count("pip install 'thinklens[figures]'") == 2  # printed as text, not read as rich markup
    assert not list(tmp_path.rglob("*.png"))
