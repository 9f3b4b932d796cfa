"""One bad entry never takes the viewer or the export down with it.

A corrupt run.sqlite is shown as a broken run (with the reason) on the runs list and
its own page; the other runs work.  A file in a run folder that is a symlink resolving
outside the run folder is never served, listed or copied, and does not break the page.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from thinklens.viewer.export import export_site
from tests.helpers.viewer_data import ServedViewer, make_run

SECRET = "top-secret-outside-the-run"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("broken-root")
    make_run(root / "runs" / "good", questions=4)
    make_run(root / "runs" / "also", model="second-model", questions=4)
    make_run(root / "runs" / "bad", model="bad-model", questions=4)
    store = root / "runs" / "bad" / "run.sqlite"
    store.write_bytes(b"this is not a database" * 100)  # a corrupt store (truncated copy, disk error...)
    for extra in ("run.sqlite-wal", "run.sqlite-shm"):
        (root / "runs" / "bad" / extra).unlink(missing_ok=True)
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.png").write_text(SECRET)
    (outside / "config.yaml").write_text(SECRET)
    # symlinks out of the run folder: a figure, and the config the run page shows
    os.symlink(outside / "secret.png", root / "runs" / "good" / "figure_leak.png")
    (root / "runs" / "good" / "config.yaml").unlink()
    os.symlink(outside / "config.yaml", root / "runs" / "good" / "config.yaml")
    return root


@pytest.fixture(scope="module")
def viewer(root: Path):
    with ServedViewer(root) as v:
        yield v


def test_runs_list_shows_the_broken_run_and_the_others(viewer: ServedViewer) -> None:
    status, _, body = viewer.get("/")
    assert status == 200
    assert 'href="/run/runs~good/"' in body and 'href="/run/runs~also/"' in body
    assert "runs/bad" in body and "DatabaseError" in body  # shown as broken, with the reason


def test_broken_run_page_says_why(viewer: ServedViewer) -> None:
    status, _, body = viewer.get("/run/runs~bad/")
    assert status == 500
    assert "run store unreadable" in body and "runs/bad" in body


def test_symlink_out_of_the_run_is_neither_listed_nor_served(viewer: ServedViewer) -> None:
    status, _, body = viewer.get("/run/runs~good/")
    assert status == 200, body[:2000]
    assert "figure_leak" not in body and SECRET not in body
    status, _, body = viewer.get("/files/runs/good/figure_leak.png")
    assert status == 404 and SECRET not in body


def test_export_writes_the_good_runs_and_marks_the_broken_one(root: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    warnings: list[str] = []
    result = export_site(root, out, warn=warnings.append)
    assert (out / "runs" / "runs~good" / "index.html").is_file()
    assert (out / "runs" / "runs~also" / "index.html").is_file()
    assert len(list((out / "runs" / "runs~good" / "s").glob("*.html"))) == 8
    broken = (out / "runs" / "runs~bad" / "index.html").read_text(encoding="utf-8")
    assert "run store unreadable" in broken and "DatabaseError" in broken
    assert result.broken == ["runs/bad"]
    assert any("runs/bad" in w for w in warnings)
    # the comparison page still covers the two good runs
    assert (out / "compare" / "all-1.html").is_file()
    # nothing from outside the run folders was copied or rendered
    assert not list(out.rglob("figure_leak*"))
    for page in out.rglob("*.html"):
        assert SECRET not in page.read_text(encoding="utf-8"), page


def test_export_command_exits_zero_with_a_warning(root: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from thinklens.cli import main

    code = main(["view", str(root), "--export", str(tmp_path / "site")])
    err = capsys.readouterr().err
    assert code == 0
    assert "warning" in err.lower() and "runs/bad" in err
