"""The viewer's layout in headless Chromium at a desktop (1400x1000) and a phone (390x844)
width: nothing wider than the screen, the efficiency table inside its box, wide figures
at the page's width, LaTeX answers rendered, the Chinese font stack applied.
Screenshots of every page at both sizes land in /tmp/viewer-shots/layout/."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.viewer_data import ServedViewer, make_polish_root

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("THINKLENS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SHOTS = Path(os.environ.get("THINKLENS_VIEWER_SHOTS", "/tmp/viewer-shots")) / "layout"
SIZES = {"desktop": (1400, 1000), "phone": (390, 844)}
PAGES = {"runs": "/", "run": "/run/runs~a/", "samples": "/run/runs~tex/samples", "compare": "/compare?run=runs~a&run=runs~b",
         "perf": "/perf/perf~sweep/"}

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium) to run the "
                "browser tests", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install playwright)")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # built before playwright starts its event loop (the report is written with asyncio.run)
    return make_polish_root(tmp_path_factory.mktemp("layout"))


@pytest.fixture(scope="module")
def viewer(root: Path) -> Iterator[ServedViewer]:
    with ServedViewer(root) as v:
        yield v


@pytest.fixture(scope="module")
def browser(root: Path) -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def _open(browser: object, viewer: ServedViewer, path: str, size: str):  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport=dict(zip(("width", "height"), SIZES[size])))  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(viewer.base + path)
    page.wait_for_selector("html[data-viewer-ready='1']", state="attached")
    return page, errors


def _load_images(page) -> None:  # type: ignore[no-untyped-def]
    """Figures load lazily: bring each into view and wait until it has loaded."""
    for img in page.locator("figure img").all():
        img.scroll_into_view_if_needed()
        for _ in range(100):
            if img.evaluate("i => i.complete && i.naturalWidth > 0"):
                break
            page.wait_for_timeout(50)
    page.evaluate("() => window.scrollTo(0, 0)")


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("name", list(PAGES))
def test_no_page_is_wider_than_the_screen(browser: object, viewer: ServedViewer, name: str, size: str) -> None:
    page, errors = _open(browser, viewer, PAGES[name], size)
    try:
        _load_images(page)
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}-{SIZES[size][0]}.png"), full_page=True)
        scroll, client = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert scroll <= client, f"{name} at {size}: page {scroll}px wide on a {client}px screen"
        assert errors == [], errors
    finally:
        page.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_efficiency_table_fits_its_box_and_the_figure_is_readable(browser: object, viewer: ServedViewer, size: str) -> None:
    page, _ = _open(browser, viewer, "/run/runs~a/", size)
    try:
        box = page.locator("#efficiency .scroll").first
        table_w, box_w = box.evaluate("b => [b.querySelector('table').scrollWidth, b.clientWidth]")
        assert table_w <= box_w, f"efficiency table {table_w}px in a {box_w}px box at {size}"
        _load_images(page)
        figure = page.locator("#efficiency figure.wide img")
        width = figure.evaluate("i => i.getBoundingClientRect().width")
        section = page.locator("#efficiency").evaluate("s => s.clientWidth")
        # a 15-inch, six-panel figure gets the section's width (it was 620 px at most)
        assert width >= 0.95 * section and width <= section + 1, (width, section)
        if size == "desktop":
            assert width >= 1100
    finally:
        page.close()


def test_samples_list_answers_are_rendered_by_katex(browser: object, viewer: ServedViewer) -> None:
    page, errors = _open(browser, viewer, "/run/runs~tex/samples", "desktop")
    try:
        cells = page.locator("#samples-table td.answer")
        assert page.locator("#samples-table td.answer .katex").count() >= 6  # 4 gold + 3 LaTeX extracted, \text one too
        assert all("\\frac" not in t for t in cells.all_inner_texts())
        assert errors == []
    finally:
        page.close()


def test_chinese_page_uses_the_cjk_font_stack(browser: object, root: Path) -> None:
    with ServedViewer(root, lang="zh") as v:
        page, _ = _open(browser, v, "/run/runs~a/", "desktop")
        try:
            family = page.evaluate("() => getComputedStyle(document.body).fontFamily")
            assert family.startswith('"Noto Sans CJK SC"'), family
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "run-zh-1400.png"), full_page=False)
        finally:
            page.close()
