"""End to end in headless Chromium: a real run made by `thinklens eval` against
`thinklens mock-server` replaying real DeepSeek-R1-Distill outputs, browsed like a user.

Debian's Chromium (`apt-get install chromium`, /usr/bin/chromium) driven by the
Playwright Python package; no browser is ever downloaded.  Screenshots of the run
page and a sample page land in /tmp/viewer-shots/.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.shared_data import shared_data_dir
from tests.helpers.viewer_data import ServedViewer
from thinklens.viewer.export import export_site

pytestmark = pytest.mark.browser

CHROMIUM = Path(os.environ.get("THINKLENS_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SHOTS = Path(os.environ.get("THINKLENS_VIEWER_SHOTS", "/tmp/viewer-shots"))
LIMIT = 20

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium) to run the "
                "browser tests", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed (pip install playwright)")

DATA = shared_data_dir()
MATH500 = DATA / "benchmarks" / "math500_test.jsonl"
R1_OUTPUTS = DATA / "model_outputs" / "meitann_R1-Distill-Qwen-32B_math500_part1_400.jsonl"

# Hostile text in the dataset (the problem) and in the model's reasoning and answer.
PAYLOAD = ("<script>window.__xss=1</script> <img src=x onerror=\"window.__xss=1;alert(1)\"> "
           "[click me](javascript:window.__xss=1) <svg onload=alert(1)>")


def _spawn(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "thinklens", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _mock_server(replay: Path | None, extra: list[str]) -> tuple[subprocess.Popen[str], str]:
    args = ["mock-server", "--port", "0", "--ttft", "0.01", "--tpot", "0", "--tokens-per-chunk", "256", "--quiet"]
    if replay:
        args += ["--replay", str(replay)]
    proc = _spawn(args + extra)
    line = proc.stdout.readline()
    match = re.search(r"listening on (http://\S+)", line)
    if not match:
        proc.kill()
        raise RuntimeError(f"mock server did not start: {line}{proc.stdout.read()}")
    return proc, match.group(1)


def _eval(url: str, model: str, dataset: Path, out: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "thinklens", "eval", "--api-url", url, "--model", model, "--datasets", "math_500",
         "--dataset-path", f"math_500={dataset}", "--limit", str(LIMIT), "--output", str(out), "--no-progress"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _add_efficiency_rows(run_dir: Path) -> None:
    """Rows shaped like `thinklens efficiency`'s table (its own module is tested apart):
    paragraph steps, the thought switches found in each real reasoning, and the first
    step holding the gold answer."""
    from thinklens.viewer.render import split_paragraphs

    conn = sqlite3.connect(run_dir / "run.sqlite")  # the eval made it: the store's schema has the table
    # every column but `record` (a rerun's reusable result: none for rows written by hand)
    columns = [c[1] for c in conn.execute("PRAGMA table_info(efficiency_samples)") if c[1] != "record"]
    rows = conn.execute(
        "SELECT key, dataset, subset, sample_id, repeat, reasoning, gold FROM results WHERE status='ok'"
    ).fetchall()
    for key, dataset, subset, sid, rep, reasoning, gold in rows:
        spans = split_paragraphs(reasoning)
        switches = [[m.start(), m.group(0)] for m in re.finditer(r"\b(Wait|Alternatively|Hmm|But wait)\b", reasoning)]
        first = next((i for i, (a, b) in enumerate(spans) if gold and gold in reasoning[a:b]), None)
        conn.execute(
            f"INSERT OR REPLACE INTO efficiency_samples({','.join(columns)}) VALUES ({','.join('?' * len(columns))})",
            ("h", key, dataset, subset, subset, sid, rep, "verify", 0, 0, None, 0, len(reasoning) // 4, None, None,
             None, json.dumps([list(sp) for sp in spans]), "found" if first is not None else "none", first,
             spans[first][1] if first is not None else None, first, None, None, len(switches), json.dumps(switches),
             0, "[]", "{}", time.time()),
        )
    conn.commit()
    conn.close()


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (MATH500.exists() and R1_OUTPUTS.exists()):
        pytest.skip(f"shared data not found under {DATA} (set THINKLENS_SHARED_DATA)")
    work = tmp_path_factory.mktemp("browser")
    rows = [json.loads(line) for line in MATH500.read_text().splitlines()[:LIMIT]]
    rows[0]["problem"] += "\n\n" + PAYLOAD
    dataset = work / "math500_first20.jsonl"
    dataset.write_text("".join(json.dumps(r) + "\n" for r in rows))
    replay_rows = [json.loads(line) for line in R1_OUTPUTS.read_text().splitlines()]
    replay_rows.append({
        "problem": rows[0]["problem"],
        "full_reasoning": "Convert $(0,3)$: $r = \\sqrt{0^2+3^2} = 3$.\n\nWait, the angle is $\\frac{\\pi}{2}$.\n\n" + PAYLOAD,
        "result": f"{PAYLOAD}\n\nSo the answer is $\\boxed{{\\left(3, \\frac{{\\pi}}{{2}}\\right)}}$.",
    })
    replay = work / "replay.jsonl"
    replay.write_text("".join(json.dumps(r) + "\n" for r in replay_rows))
    outputs = work / "outputs"
    server, url = _mock_server(replay, [])
    try:
        _eval(url, "r1-distill-32b", dataset, outputs / "r1")
    finally:
        server.kill()
        server.wait()
    server, url = _mock_server(None, ["--answer", "\\boxed{42}", "--tokens", "40", "--reasoning-tokens", "120"])
    try:
        _eval(url, "always-42", dataset, outputs / "always42")
    finally:
        server.kill()
        server.wait()
    _add_efficiency_rows(outputs / "r1")
    return outputs


@pytest.fixture(scope="module")
def viewer(root: Path) -> Iterator[ServedViewer]:
    with ServedViewer(root) as v:
        yield v


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


class Watched:
    """A page that records dialogs, page errors and console errors (CSP violations)."""

    def __init__(self, browser: object):
        self.page = browser.new_page(viewport={"width": 1300, "height": 900})  # type: ignore[attr-defined]
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)

    def assert_clean(self) -> None:
        assert self.page.evaluate("typeof window.__xss") == "undefined"
        assert self.dialogs == []
        assert self.errors == [], self.errors


@pytest.fixture()
def tab(browser: object) -> Iterator[Watched]:
    w = Watched(browser)
    yield w
    w.page.close()


def _key(run_dir: Path, where: str) -> str:
    conn = sqlite3.connect(run_dir / "run.sqlite")
    try:
        return conn.execute(f"SELECT key FROM results WHERE {where} LIMIT 1").fetchone()[0]  # noqa: S608
    finally:
        conn.close()


# ---- tests ---------------------------------------------------------------------------------
def test_runs_page_and_compare(viewer: ServedViewer, tab: Watched) -> None:
    page = tab.page
    page.goto(viewer.base + "/")
    assert page.locator("a.run-link").count() == 2
    button = page.locator("#compare-button")
    assert button.is_disabled()
    page.locator("input.pick").nth(0).check()
    assert button.is_disabled()
    page.locator("input.pick").nth(1).check()
    assert button.is_enabled()
    button.click()
    page.wait_for_url(re.compile(r"/compare\?run="))
    assert page.locator("#compare-scores table td.best").count() >= 1
    assert page.locator("#disagreements table tbody tr").count() >= 1
    page.locator("a.side-by-side").first.click()
    page.wait_for_url(re.compile(r"/compare/sample\?"))
    assert page.locator("section.column").count() == 2
    assert page.locator(".katex").count() > 0
    tab.assert_clean()


def test_run_page_then_filters_then_a_sample(viewer: ServedViewer, tab: Watched) -> None:
    page = tab.page
    page.goto(viewer.base + "/run/r1/")
    assert page.locator("#scores table tbody tr").count() >= 6  # 5 levels + OVERALL
    assert page.locator("svg.chart.histogram").count() >= 5
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "run-page.png"), full_page=True)
    page.click("#browse-samples")
    page.wait_for_url(re.compile(r"/run/r1/samples"))
    assert page.locator("#samples-table tbody tr").count() == LIMIT
    # outcome tab
    page.locator("a.tab[data-outcome=correct]").click()
    page.wait_for_url(re.compile(r"outcome=correct"))
    badges = page.locator("#samples-table .badge").all_inner_texts()
    assert badges and set(badges) == {"correct"}
    # subset chip keeps the outcome filter
    page.locator("nav.subsets a.chip", has_text="Level 3").click()
    page.wait_for_url(re.compile(r"subset=Level\+3"))
    assert "outcome=correct" in page.url
    n_level3 = page.locator("#samples-table tbody tr").count()
    assert 0 < n_level3 < LIMIT
    # a select applies at once (viewer.js), and the table is re-sorted
    page.select_option("#sort", "-tokens")
    page.wait_for_url(re.compile(r"sort=-tokens"))
    tokens = [int(t.replace(",", "")) for t in page.locator("#samples-table tbody tr td:nth-child(8)").all_inner_texts()]
    assert tokens == sorted(tokens, reverse=True) and len(tokens) == n_level3
    # search
    page.fill("#search", "polar")
    page.press("#search", "Enter")
    page.wait_for_url(re.compile(r"q=polar"))
    # open a sample; previous/next follow the filter
    page.goto(viewer.base + "/run/r1/samples?outcome=correct")
    first = page.locator("a.sample-link").nth(0)
    second_href = page.locator("a.sample-link").nth(1).get_attribute("href")
    first.click()
    page.wait_for_url(re.compile(r"/sample/"))
    assert page.locator("#prompt .katex").count() > 0  # the problem's math rendered
    details = page.locator("#reasoning-details")
    before = page.locator("#reasoning .katex").count()
    page.click("#reasoning-details > summary")
    assert details.evaluate("d => d.open")
    page.wait_for_function("document.querySelectorAll('#reasoning .katex').length > 0")
    assert page.locator("#reasoning .katex").count() > before
    page.keyboard.press("ArrowRight")
    page.wait_for_url(re.compile(re.escape(second_href)))
    tab.assert_clean()


def test_reasoning_marks_and_screenshot(root: Path, viewer: ServedViewer, tab: Watched) -> None:
    page = tab.page
    # a real trace (not the hostile one) with thought switches and a first correct step
    key = _key(root / "r1", """messages NOT LIKE '%__xss%' AND key IN (SELECT key FROM efficiency_samples
               WHERE first_correct_step IS NOT NULL AND thought_switches != '[]') ORDER BY length(reasoning)""")
    page.goto(viewer.base + f"/run/r1/sample/{key}")
    page.click("#reasoning-details > summary")
    assert page.locator("mark.switch").count() >= 1
    assert page.locator(".step.first-correct").count() == 1
    page.click("a.jump")
    assert page.locator(".step.first-correct").is_visible()
    page.wait_for_timeout(200)
    page.screenshot(path=str(SHOTS / "sample-page.png"), full_page=True)
    tab.assert_clean()


def test_injected_script_never_runs(root: Path, viewer: ServedViewer, tab: Watched) -> None:
    page = tab.page
    key = _key(root / "r1", "messages LIKE '%window.__xss%'")
    for path in (f"/run/r1/sample/{key}", "/run/r1/samples?q=__xss&deep=1", "/run/r1/"):
        page.goto(viewer.base + path)
        for summary in page.locator("details > summary").all():
            summary.click()
        page.wait_for_timeout(300)
        tab.assert_clean()
    page.goto(viewer.base + f"/run/r1/sample/{key}")
    assert "<script>window.__xss=1</script>" in page.locator("#prompt").inner_text()  # shown as text
    assert page.locator("#answer a[href^='javascript']").count() == 0
    assert page.locator("#answer img, #prompt img, #reasoning img, #answer svg").count() == 0
    page.click("#reasoning-details > summary")
    tab.assert_clean()


def test_live_banner_appears_when_results_arrive(tmp_path: Path, tab: Watched) -> None:
    from thinklens.records import Generation, Sample, Score, Timings, Usage
    from thinklens.store import RunStore

    store = RunStore(tmp_path / "live")
    store.set_meta("model", "live-model")
    store.set_plan([(f"k{i}", "math") for i in range(3)])

    def add(i: int) -> None:
        s = Sample(f"s{i}", "math_500", "default", [{"role": "user", "content": f"${i}+1$?"}], str(i + 1))
        store.put_generation(f"k{i}", s, 0, Generation(content=f"$\\boxed{{{i + 1}}}$", usage=Usage(5, 9, 0),
                                                       timings=Timings(time.time(), 0.1, 0.1, 0.2)))
        store.put_score(f"k{i}", Score(True, "correct", extracted=str(i + 1)))

    add(0)
    try:
        with ServedViewer(tmp_path) as v:
            page = tab.page
            page.goto(v.base + "/run/live/")
            assert page.locator("#live-banner").is_hidden()
            add(1)
            page.wait_for_selector("#live-banner", state="visible", timeout=15_000)
            page.wait_for_function(
                "document.querySelector('[data-live-field=generated]').textContent.trim() === '2'", timeout=15_000
            )
            tab.assert_clean()
    finally:
        store.close()


def test_exported_site_from_file_url(root: Path, tmp_path: Path, tab: Watched) -> None:
    out = tmp_path / "site"
    export_site(root, out)
    page = tab.page
    page.goto((out / "index.html").as_uri())
    page.locator("a.run-link", has_text="r1-distill-32b").click()
    page.locator("#browse-samples").click()
    page.locator("a.tab[data-outcome=correct]").click()
    page.wait_for_url(re.compile(r"/samples/f-\w+-1\.html$"))
    page.locator("nav.outcomes a.tab", has_text="all").click()
    page.locator("a.sample-link").first.click()  # the problem carrying the payload
    page.wait_for_url(re.compile(r"/s/\w+\.html$"))
    assert page.url.startswith("file://")
    page.wait_for_selector("#prompt .katex", timeout=10_000)
    assert "<script>window.__xss=1</script>" in page.locator("#prompt").inner_text()
    page.click("#reasoning-details > summary")
    page.wait_for_timeout(300)
    tab.assert_clean()
