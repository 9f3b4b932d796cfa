"""A sample whose reasoning and answer hold a one-megabyte line loads in seconds.

Before the fix such a page stalled Chromium for minutes: every formula of the line
went through KaTeX, in batches that each re-laid out the enormous paragraph.  Measured
in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.helpers.viewer_data import ServedViewer
from thinklens.config import make_config
from thinklens.records import Generation, Sample, Score, Usage
from thinklens.store import RunStore

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("THINKLENS_CHROMIUM", "/usr/bin/chromium"))
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium) to run the "
                "browser tests", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install playwright)")

LINES = {
    "formulas": "Let $x_{1}=2$ so " * 60_000,  # ~1 MB, 60k formulas, no newline
    "digits": "1234567890" * 100_000,  # 1 MB without a single break opportunity
}
BUDGET_S = 10.0  # "a few seconds" on a loaded 2-core machine; it took > 300 s before


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("long-lines")
    run = root / "run"
    store = RunStore(run)
    config = make_config({"model": "m", "api_url": ["http://127.0.0.1:9/v1"], "datasets": ["math_500"],
                          "output": str(run)})
    store.set_meta("config", config.redacted())
    keys = []
    for name, line in LINES.items():
        sample = Sample(id=name, dataset="math_500", subset="A", messages=[{"role": "user", "content": "Find x."}],
                        gold="7")
        gen = Generation(content=f"So {line}\n\nThe answer is $\\boxed{{7}}$.", reasoning=f"First.\n\n{line}\n\nDone.",
                         reasoning_source="reasoning_content", finish_reason="stop",
                         usage=Usage(completion_tokens=300_000, reasoning_tokens=290_000))
        store.put_generation(name, sample, 0, gen)
        store.put_score(name, Score(True, "correct", extracted="7"))
        keys.append(name)
    store.set_plan([(k, "math") for k in keys])
    store.close()
    return root


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


def _ready(page, timeout_s: float) -> None:
    page.wait_for_function("() => document.documentElement.getAttribute('data-viewer-ready') === '1'",
                           timeout=timeout_s * 1000, polling=100)


@pytest.mark.parametrize("name", list(LINES))
def test_sample_page_with_a_megabyte_line_loads_in_seconds(root: Path, browser, name: str) -> None:
    with ServedViewer(root) as v:
        page = browser.new_page()
        start = time.perf_counter()
        page.goto(f"{v.base}/run/run/sample/{name}", wait_until="domcontentloaded", timeout=BUDGET_S * 1000)
        _ready(page, BUDGET_S)
        # and painted: two animation frames after the viewer's JS is done
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        elapsed = time.perf_counter() - start
        assert elapsed < BUDGET_S, f"{name}: {elapsed:.1f} s"
        assert page.locator("text=show all").count() >= 1  # the whole text is one click away
        # opening the reasoning and "show all" stays quick too
        start = time.perf_counter()
        page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        assert time.perf_counter() - start < BUDGET_S
        assert page.evaluate("() => window.__xss") is None
        page.close()
