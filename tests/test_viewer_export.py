"""`thinklens view --export`: a static site whose every link resolves inside it."""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from thinklens.errors import ConfigError
from thinklens.viewer.export import MARKER, export_site
from tests.helpers.viewer_data import make_perf, make_run


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    root = tmp_path_factory.mktemp("export-root")
    keys = make_run(root / "runs" / "a", efficiency=True, questions=8)
    make_run(root / "runs" / "b", model="other", flip=True, questions=8)
    make_perf(root / "perf1")
    out = tmp_path_factory.mktemp("export-out") / "site"
    result = export_site(root, out)
    assert result.pages > 2 * len(keys)
    return root, out, keys


def _links(html: str) -> list[str]:
    return re.findall(r'(?:href|src)="([^"]*)"', html)


def test_every_link_is_relative_and_resolves(site: tuple[Path, Path, list[str]]) -> None:
    _, out, _ = site
    pages = list(out.rglob("*.html"))
    checked = 0
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for link in _links(text):
            parts = urlsplit(link)
            if parts.scheme in ("http", "https", "mailto"):
                continue  # links the model wrote, rendered safely
            assert not link.startswith("/"), (page, link)
            if not parts.path:
                continue  # "#step-3" or the reload link
            target = (page.parent / unquote(parts.path)).resolve()
            assert target.is_file(), (page.relative_to(out), link)
            assert target.is_relative_to(out.resolve())
            checked += 1
    assert checked > 500


def test_site_holds_every_page(site: tuple[Path, Path, list[str]]) -> None:
    _, out, keys = site
    assert (out / "index.html").is_file() and (out / MARKER).is_file()
    assert len(list((out / "runs" / "runs~a" / "s").glob("*.html"))) == len(keys)
    assert (out / "compare" / "all-1.html").is_file()
    assert (out / "perf" / "perf1" / "index.html").is_file()
    assert (out / "files" / "runs" / "a" / "efficiency.svg").is_file()
    assert (out / "static" / "vendor" / "katex-0.19.1" / "fonts" / "KaTeX_Main-Regular.woff2").is_file()
    index = html.unescape((out / "index.html").read_text())
    assert '<meta http-equiv="Content-Security-Policy"' in index and "script-src 'self'" in index
    assert "Compare all runs" in index and "Static export" in index
    samples = (out / "runs" / "runs~a" / "samples" / "all-1.html").read_text()
    assert 'id="filter-form"' not in samples  # search needs the server
    assert "data-live-url" not in samples


def test_sample_pages_walk_in_benchmark_order(site: tuple[Path, Path, list[str]]) -> None:
    _, out, keys = site
    second = (out / "runs" / "runs~a" / "s" / f"{keys[1]}.html").read_text()
    assert f'id="prev" href="{keys[0]}.html"' in second and f'id="next" href="{keys[2]}.html"' in second


def test_untrusted_text_stays_inert_in_the_export(site: tuple[Path, Path, list[str]]) -> None:
    _, out, _ = site
    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "<script>window.__xss" not in text and not re.search(r"<img[^>]*onerror", text), page
        for tag in re.findall(r"<script[^>]*>", text):
            assert re.fullmatch(r'<script src="[./]*static/[^"]+">', tag), (page, tag)


def test_parallel_export_writes_the_same_pages(site: tuple[Path, Path, list[str]], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from thinklens.viewer import export

    root, out, keys = site
    monkeypatch.setattr(export, "PARALLEL_FROM", 1)
    monkeypatch.setattr(export, "CHUNK", 5)
    parallel = tmp_path / "parallel"
    result = export_site(root, parallel, workers=2)
    serial = sorted(p.relative_to(out) for p in out.rglob("*.html"))
    assert sorted(p.relative_to(parallel) for p in parallel.rglob("*.html")) == serial
    page = Path("runs") / "runs~a" / "s" / f"{keys[3]}.html"
    assert (parallel / page).read_text() == (out / page).read_text()
    assert result.pages == len(serial)


def test_export_refuses_to_clobber(site: tuple[Path, Path, list[str]], tmp_path: Path) -> None:
    root, out, _ = site
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "thesis.tex").write_text("precious")
    with pytest.raises(ConfigError, match="not empty"):
        export_site(root, busy)
    assert (busy / "thesis.tex").read_text() == "precious"
    with pytest.raises(ConfigError, match="would contain the runs"):
        export_site(root / "runs", root)
    # re-exporting over our own previous export is fine
    assert export_site(root, out).pages > 0
