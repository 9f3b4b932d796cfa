"""The viewer's compare page shows the paired differences `thinklens compare` computes:
the same intervals, p-values and A|B counts, "not significant" said plainly, and a
one-line reason when the runs cannot be paired.  Served over real HTTP."""

from __future__ import annotations

import html
import re
import sqlite3
from pathlib import Path

import pytest

from thinklens.comparison import compare_runs, load_run
from tests.helpers.viewer_data import ServedViewer, make_run


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("paired")
    make_run(root / "a", questions=40, repeats=1)
    make_run(root / "same", model="same-model", questions=40, repeats=1)
    make_run(root / "flipped", model="flipped-model", questions=40, repeats=1, flip=True)
    make_run(root / "gsm", model="other-benchmark", dataset="gsm8k", questions=10, repeats=1)
    # A much better model on the same problems: every graded answer right.
    make_run(root / "better", model="better-model", questions=40, repeats=1)
    conn = sqlite3.connect(root / "better" / "run.sqlite")
    with conn:
        conn.execute("UPDATE results SET correct=1 WHERE graded=1 AND correct IS NOT NULL")
    conn.close()
    return root


def _cells(body: str) -> list[list[str]]:
    section = body.split('id="paired-differences"', 1)[1].split("</section>", 1)[0]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", section, re.S)
    return [[html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
            for r in rows if "<td" in r]


def test_the_page_shows_what_thinklens_compare_computes(root: Path):
    names = ("a", "same", "flipped", "better")
    expected = compare_runs([load_run(root / n) for n in names])
    with ServedViewer(root) as v:
        status, _, body = v.get("/compare?" + "&".join(f"run={n}" for n in names))
    assert status == 200
    cells = _cells(body)
    assert len(cells) == len(expected) == 3 * 3  # three pairs x (Level 1, Level 2, OVERALL)
    for row, exp in zip(cells, expected):
        r = exp.result
        assert row[0] == exp.dataset and row[2] == exp.subset and row[3] == str(r.n)
        assert row[6] == f"{100 * r.diff.estimate:+.1f}"
        assert row[7] == f"{100 * r.diff.low:+.1f}, {100 * r.diff.high:+.1f}"
        assert row[8] == ("<.0001" if r.p_value < 1e-4 else f"{r.p_value:.4f}")
        assert row[9] == f"{r.a_only}|{r.b_only}"
        assert row[11] == ("significant" if r.significant else "not significant")
    # Identical verdicts, or as many problems won as lost: "not significant", said plainly.
    for model in ("same-model", "flipped-model"):
        assert all(c[11] == "not significant" for c in cells if c[1] == f"{model} vs demo-model")
    better = [c for c in cells if c[1] == "better-model vs demo-model"]
    assert better[-1][2] == "OVERALL" and better[-1][11] == "significant" and better[-1][6].startswith("+")


def test_runs_that_cannot_be_paired_say_why(root: Path):
    with ServedViewer(root) as v:
        status, _, body = v.get("/compare?run=a&run=gsm")
    assert status == 200
    # The page's own check (no shared dataset) answers first; the paired block is not shown.
    assert "share no dataset" in body and 'id="paired-differences"' not in body
    from thinklens.viewer.paired import paired_view

    view = paired_view([root / "a", root / "gsm"])
    assert view.lines == [] and "share no benchmark" in view.problem
