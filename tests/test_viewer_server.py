"""The viewer over real HTTP (uvicorn on a free port) on runs written by the real store."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path

import pytest

from thinklens.errors import ConfigError
from thinklens.records import Generation, Sample, Score, Timings, Usage
from thinklens.store import RunStore
from thinklens.viewer.query import OUTCOME_FILTERS
from thinklens.viewer.reader import SYNC_INTERVAL_S
from thinklens.viewer.server import create_app
from tests.helpers.viewer_data import JUDGED, ServedViewer, _outcome_for, make_perf, make_run

QUESTIONS, REPEATS = 14, 2


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("viewer-root")
    make_run(root / "runs" / "a", efficiency=True)
    make_run(root / "runs" / "b", model="<script>window.__xss=1</script>other", flip=True)
    make_perf(root / "perf" / "sweep1")
    return root


@pytest.fixture(scope="module")
def viewer(root: Path):
    with ServedViewer(root) as v:
        yield v


def expected_outcomes() -> Counter[str]:
    return Counter(_outcome_for(i, r) for i in range(QUESTIONS) for r in range(REPEATS))


def filter_count(outcome: str) -> int:
    """How many rows each (non-exclusive) outcome filter must show for run a."""
    e = expected_outcomes()
    return {
        "correct": e["correct"],
        "wrong": e["wrong"] + e["truncated"] + e["no_answer"],
        "truncated": e["truncated"],
        "no_answer": e["truncated"] + e["no_answer"],
        "error": e["error"],
        "ungraded": e["ungraded"] + e["pending"],
    }[outcome]


def table_rows(body: str) -> list[str]:
    return re.findall(r'<tr class="row o-(\w+)">', body)


def sample_keys(body: str) -> list[str]:
    return re.findall(r'class="sample-link" href="/run/[^/]+/sample/([^"?]+)', body)


# ---- runs list -------------------------------------------------------------------------
def test_runs_page_lists_runs_scores_and_perf(viewer: ServedViewer) -> None:
    status, headers, body = viewer.get("/")
    assert status == 200
    assert "demo-model" in body
    assert 'href="/run/runs~a/"' in body and 'href="/run/runs~b/"' in body
    assert "0.2143" in body  # run a's OVERALL AveragePass@1 from report.json
    assert 'href="/perf/perf~sweep1/"' in body
    assert f">{QUESTIONS * REPEATS}</span>" in body  # generations done


def test_empty_folder_says_so(tmp_path: Path) -> None:
    with ServedViewer(tmp_path) as v:
        status, _, body = v.get("/")
    assert status == 200
    assert f"No runs found under {tmp_path.resolve()}" in body
    with ServedViewer(tmp_path, lang="zh") as v:
        assert f"在 {tmp_path.resolve()} 下没有找到评测记录" in v.get("/")[2]


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        create_app(tmp_path / "nope")
    with pytest.raises(ConfigError, match="--lang"):
        create_app(tmp_path, lang="fr")


def test_a_run_folder_itself_can_be_served(root: Path) -> None:
    with ServedViewer(root / "runs" / "a") as v:
        status, _, body = v.get("/")
        assert status == 200 and 'href="/run/a/"' in body
        assert v.get("/run/a/")[0] == 200


# ---- run page ---------------------------------------------------------------------------
def test_run_page_shows_scores_counts_tokens_efficiency_config(viewer: ServedViewer) -> None:
    status, _, body = viewer.get("/run/runs~a/")
    assert status == 200
    for metric in ("AveragePass@1", "pass@2", "maj@2"):
        assert f"<td>{metric}</td>" in body
    # outcome counts link to the filtered samples table, with the store's numbers
    for outcome in OUTCOME_FILTERS:
        link = f'/run/runs~a/samples?dataset=math_500&amp;outcome={outcome}">{filter_count(outcome)}</a>'
        assert link in body, outcome
    assert body.count('<svg class="chart histogram"') == 4  # completion + reasoning, 2 subsets
    # efficiency.json (first_correct_tokens 301.2: a mean token count, shown whole)
    assert "Tokens to first correct" in body and 'data-label="Tokens to first correct">301<' in body
    # xi_o is the outcome efficiency ξ_O, not an overthinking score
    assert "ξ_O outcome efficiency" in body and "ξ_UT underthinking" in body and "overthinking" not in body
    # report.json's judge entry (one sample graded by the judge)
    judge = re.search(r'<p id="judge-summary">(.*?)</p>', body, re.S)
    assert judge and "asked 1, changed 1, failed 0" in judge.group(1)
    assert 'src="/files/runs/a/efficiency.svg"' in body
    assert "sk-secret" not in body and "***" in body  # redacted config
    assert "state s-running" in body  # pending grades + a fresh store


def test_live_counts_agree_with_the_report(root: Path) -> None:
    """The viewer counts outcomes itself (live); its numbers must be the report's."""
    from thinklens.viewer.reader import RunReader

    report = json.loads((root / "runs" / "a" / "report.json").read_text())
    if not report["subsets"]:
        pytest.skip("report.json written without the grading package: no subset counts to compare")
    reader = RunReader(root / "runs" / "a")
    try:
        live = {(c.dataset, c.subset): c for c in reader.subset_counts()}
    finally:
        reader.close()
    assert set(live) == {(s["dataset"], s["subset"]) for s in report["subsets"]}
    for s in report["subsets"]:
        c = live[(s["dataset"], s["subset"])]
        for name in ("samples", "generations", "graded", "truncated", "no_answer", "errors", "ungraded",
                     "tokens_over", "mean_completion_tokens", "mean_reasoning_tokens"):
            assert getattr(c, name) == s[name], (s["subset"], name)


def test_run_redirects_without_slash(viewer: ServedViewer) -> None:
    status, headers, _ = viewer.get("/run/runs~a")
    assert status == 308 and headers["location"] == "/run/runs~a/"


# ---- samples table ----------------------------------------------------------------------
@pytest.mark.parametrize("outcome", list(OUTCOME_FILTERS))
def test_outcome_filters_match_the_store(viewer: ServedViewer, outcome: str) -> None:
    status, _, body = viewer.get(f"/run/runs~a/samples?outcome={outcome}&per_page=100")
    assert status == 200
    rows = table_rows(body)
    assert len(rows) == filter_count(outcome)
    assert f"{filter_count(outcome)} rows" in body


def test_subset_repeat_and_pagination(viewer: ServedViewer) -> None:
    body = viewer.get("/run/runs~a/samples?dataset=math_500&subset=Level%201&per_page=25")[2]
    assert len(table_rows(body)) == QUESTIONS // 2 * REPEATS
    body = viewer.get("/run/runs~a/samples?repeat=1&per_page=100")[2]
    assert len(table_rows(body)) == QUESTIONS
    first = viewer.get("/run/runs~a/samples?per_page=25")[2]
    second = viewer.get("/run/runs~a/samples?per_page=25&page=2")[2]
    assert len(table_rows(first)) == 25 and len(table_rows(second)) == QUESTIONS * REPEATS - 25
    assert not set(sample_keys(first)) & set(sample_keys(second))
    assert "page 2 of 2" in second
    # a page past the end shows the last page rather than nothing
    assert sample_keys(viewer.get("/run/runs~a/samples?per_page=25&page=9")[2]) == sample_keys(second)


def test_sort_by_tokens_and_latency(viewer: ServedViewer) -> None:
    def tokens(body: str) -> list[int]:
        cells = re.findall(r'<tr class="row o-\w+">(.*?)</tr>', body, re.S)
        return [int(re.findall(r'<td class="num">([\d,]+)</td>', c)[1].replace(",", "")) for c in cells]

    desc = tokens(viewer.get("/run/runs~a/samples?sort=-tokens&outcome=correct&per_page=100")[2])
    assert desc == sorted(desc, reverse=True) and len(desc) > 2
    asc = tokens(viewer.get("/run/runs~a/samples?sort=tokens&outcome=correct&per_page=100")[2])
    assert asc == sorted(asc)
    # failed requests have no tokens: they sort last, whichever the direction
    n_errors = expected_outcomes()["error"]
    for sort in ("tokens", "-tokens"):
        rows = table_rows(viewer.get(f"/run/runs~a/samples?sort={sort}&per_page=100")[2])
        assert rows[-n_errors:] == ["error"] * n_errors and "error" not in rows[:-n_errors]

    def e2e(body: str) -> list[float]:
        cells = re.findall(r'<tr class="row o-\w+">(.*?)</tr>', body, re.S)
        out = []
        for c in cells:
            value, unit = re.findall(r'<td class="num">([\d.]+) (ms|s)</td>', c)[0]
            out.append(float(value) / (1000 if unit == "ms" else 1))
        return out

    fast = e2e(viewer.get("/run/runs~a/samples?sort=latency&per_page=100")[2])
    slow = e2e(viewer.get("/run/runs~a/samples?sort=-latency&per_page=100")[2])
    assert fast == sorted(fast) and slow == sorted(slow, reverse=True) and len(fast) == QUESTIONS * REPEATS


def test_search_quick_and_deep(viewer: ServedViewer) -> None:
    body = viewer.get("/run/runs~a/samples?q=q003")[2]
    assert len(table_rows(body)) == REPEATS
    # "Alternatively" is only in the reasoning: the quick search does not look there
    assert table_rows(viewer.get("/run/runs~a/samples?q=alternatively")[2]) == []
    deep = viewer.get("/run/runs~a/samples?q=alternatively&deep=1&per_page=100")[2]
    assert len(table_rows(deep)) == QUESTIONS * REPEATS - expected_outcomes()["error"]
    # LIKE wildcards in the search text are literal characters
    assert table_rows(viewer.get("/run/runs~a/samples?q=W_it&deep=1")[2]) == []
    assert table_rows(viewer.get("/run/runs~a/samples?q=%25Wait&deep=1")[2]) == []
    assert len(table_rows(viewer.get("/run/runs~a/samples?q=WAIT&deep=1&per_page=100")[2])) == len(table_rows(deep))
    # case-insensitive, and Markdown/HTML-looking text is searchable as text
    assert len(table_rows(viewer.get("/run/runs~a/samples?q=%3CB%3Eq001")[2])) == REPEATS


def test_bad_queries_are_400_with_a_reason(viewer: ServedViewer) -> None:
    status, _, body = viewer.get("/run/runs~a/samples?sort=bogus")
    assert status == 400 and "unknown sort" in body
    assert viewer.get("/run/runs~a/samples?page=abc")[0] == 400
    assert viewer.get("/run/runs~a/samples?per_page=7")[0] == 400
    assert viewer.get("/run/runs~a/samples?outcome=maybe")[0] == 400


def test_unknown_things_are_404_pages(viewer: ServedViewer) -> None:
    for path in ("/run/nope/", "/run/runs~a/sample/nope", "/perf/nope/", "/nothing/here"):
        status, _, body = viewer.get(path)
        assert status == 404 and "Not found" in body, path


# ---- sample page -------------------------------------------------------------------------
def test_sample_page_content_and_neighbours_within_filter(viewer: ServedViewer) -> None:
    listing = viewer.get("/run/runs~a/samples?outcome=wrong&per_page=100")[2]
    keys = sample_keys(listing)
    assert len(keys) == filter_count("wrong")
    status, _, body = viewer.get(f"/run/runs~a/sample/{keys[0]}?outcome=wrong")
    assert status == 200
    assert 'id="prev"' not in body
    assert f'id="next" href="/run/runs~a/sample/{keys[1]}?outcome=wrong"' in body
    assert f"1 of {len(keys)} in this filter" in body
    body = viewer.get(f"/run/runs~a/sample/{keys[-1]}?outcome=wrong")[2]
    assert f'id="prev" href="/run/runs~a/sample/{keys[-2]}?outcome=wrong"' in body and 'id="next"' not in body
    # sorted filters walk in the table's order
    desc = sample_keys(viewer.get("/run/runs~a/samples?sort=-tokens&per_page=100")[2])
    body = viewer.get(f"/run/runs~a/sample/{desc[3]}?sort=-tokens")[2]
    assert f"/sample/{desc[2]}?sort=-tokens" in body and f"/sample/{desc[4]}?sort=-tokens" in body


def test_sample_page_shows_reasoning_marks_and_verdict(viewer: ServedViewer) -> None:
    body = viewer.get("/run/runs~a/sample/math_500-000-0")[2]
    assert '<mark class="switch">Wait</mark>' in body and '<mark class="switch">Alternatively</mark>' in body
    # the efficiency row of efficiency.json's settings (not the older analysis beside it)
    assert 'class="step first-correct' in body and 'href="#step-1"' in body
    assert body.count('<span class="sol"') == 2  # solution_steps [1, 4]
    assert "How the first correct step was found" in body and "&lt;script&gt;window.__xss" in body
    assert '<span class="math">x^2 + y^2 = 25</span>' in body
    assert '<span class="math display"> (x+y)^2 = x^2 + 2xy + y^2 = 49. </span>' in body
    assert "ttft 50 ms" in body and "reasoning_content" in body
    assert 'id="judge-verdict"' not in body  # graded by the rule alone
    error_body = viewer.get("/run/runs~a/sample/math_500-004-0")[2]  # outcome error
    assert "HTTP 500 from server" in error_body and "o-error" in error_body


# ---- untrusted text ------------------------------------------------------------------------
_DANGEROUS = (
    re.compile(r"<script>window\.__xss", re.I),
    re.compile(r"<img[^>]*onerror", re.I),
    re.compile(r"href=\"\s*javascript:", re.I),
    re.compile(r"\son\w+=\"window", re.I),
)


def assert_inert(body: str) -> None:
    for pattern in _DANGEROUS:
        assert not pattern.search(body), pattern.pattern
    for tag in re.findall(r"<script[^>]*>", body):
        assert re.fullmatch(r'<script src="/static/[^"]+">', tag), tag


def test_xss_payloads_render_as_text_everywhere(viewer: ServedViewer) -> None:
    wrong_keys = sample_keys(viewer.get("/run/runs~b/samples?outcome=wrong&per_page=100")[2])
    paths = [
        "/", "/run/runs~a/", "/run/runs~b/", "/run/runs~a/samples?per_page=100",
        "/run/runs~a/samples?q=%3Cscript%3E&deep=1", "/run/runs~a/sample/math_500-000-0",
        "/run/runs~a/sample/math_500-001-0", "/run/runs~a/sample/math_500-002-1",
        "/run/runs~a/sample/math_500-004-0", *(f"/run/runs~b/sample/{k}" for k in wrong_keys[:3]),
        "/compare?run=runs~a&run=runs~b",
        "/compare/sample?run=runs~a&run=runs~b&dataset=math_500&subset=Level%201&sample_id=q000&repeat=0",
    ]
    for path in paths:
        status, _, body = viewer.get(path)
        assert status == 200, path
        assert_inert(body)
    sample = viewer.get("/run/runs~a/sample/math_500-000-0")[2]
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in sample  # shown, as text
    assert "[click me](javascript:window.__xss=1)" in sample
    assert "&lt;b&gt;q001&lt;/b&gt;" in viewer.get("/run/runs~a/samples")[2]


def test_security_headers_on_every_response(viewer: ServedViewer) -> None:
    for path in ("/", "/run/runs~a/", "/static/viewer.js", "/nothing"):
        _, headers, _ = viewer.get(path)
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert headers["x-content-type-options"] == "nosniff"
    # a figure opened on its own is sandboxed: its script cannot run, even inline
    _, headers, _ = viewer.get("/files/runs/a/efficiency.svg")
    csp = headers["content-security-policy"]
    assert csp.startswith("sandbox;") and "script-src" not in csp and "default-src 'none'" in csp


def test_foreign_host_header_is_refused(viewer: ServedViewer) -> None:
    """DNS rebinding: a page on evil.example resolving to 127.0.0.1 gets nothing."""
    status, _, body = viewer.get("/", headers={"Host": "evil.example"})
    assert status == 400 and "demo-model" not in body
    assert viewer.get("/", headers={"Host": "evil.example:7575"})[0] == 400
    assert viewer.get("/", headers={"Host": "[::2]:7575"})[0] == 400
    assert viewer.get("/", headers={"Host": "localhost:7575"})[0] == 200
    assert viewer.get("/", headers={"Host": "[::1]:7575"})[0] == 200
    assert viewer.get("/", headers={"Host": "127.0.0.1"})[0] == 200


# ---- files and path traversal -----------------------------------------------------------
def test_files_are_served_only_from_inside_the_root(root: Path, viewer: ServedViewer, tmp_path_factory) -> None:
    outside = tmp_path_factory.mktemp("outside")
    secret = outside / "secret.json"
    secret.write_text('{"token": "TOPSECRET"}')
    link = root / "runs" / "a" / "leak.json"
    if not link.exists():
        link.symlink_to(secret)
    (root / ".hidden.json").write_text('{"token": "TOPSECRET"}')
    rel_secret = Path("..") / ".." / outside.relative_to(outside.anchor)
    attempts = [
        "/files/../../../../../../etc/passwd",
        "/files/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/files/runs/a/..%2f..%2f..%2f..%2fetc%2fpasswd",
        f"/files/{'../' * 12}{str(secret).lstrip('/')}",
        f"/files/%2F{str(secret).lstrip('/')}",
        f"/files//{str(secret).lstrip('/')}",
        f"/files/{rel_secret}/secret.json",
        "/files/runs/a/leak.json",  # symlink pointing outside
        "/files/.hidden.json",
        "/files/runs/a/run.sqlite",  # not a results file type
        "/static/../server.py",
        "/static/%2e%2e/server.py",
        "/static/..%2fserver.py",
    ]
    for path in attempts:
        status, _, body = viewer.get(path)
        assert status in (400, 404), path
        assert "TOPSECRET" not in body and "root:x:" not in body and "def create_app" not in body, path
    status, headers, body = viewer.get("/files/runs/a/efficiency.json")
    assert status == 200 and headers["content-type"].startswith("text/plain") and "reflection_tokens" in body
    status, headers, _ = viewer.get("/files/runs/a/efficiency.svg")
    assert status == 200 and headers["content-type"] == "image/svg+xml"


# ---- compare ------------------------------------------------------------------------------
def test_compare_two_runs(viewer: ServedViewer) -> None:
    status, _, body = viewer.get("/compare?run=runs~a&run=runs~b")
    assert status == 200
    e = expected_outcomes()
    # b flips every correct/wrong verdict of a: those disagree, the rest agree
    assert f"<b>disagree {e['correct'] + e['wrong']}</b>" in body
    assert '<svg class="chart bars"' in body
    assert body.count('class="side-by-side"') == e["correct"] + e["wrong"]
    side = viewer.get(
        "/compare/sample?run=runs~a&run=runs~b&dataset=math_500&subset=Level%201&sample_id=q000&repeat=0"
    )[2]
    assert side.count('<section class="column">') == 2 and "demo-model" in side


def test_compare_needs_two_runs_on_a_shared_benchmark(root: Path, viewer: ServedViewer, tmp_path: Path) -> None:
    assert "Select two or more runs" in viewer.get("/compare?run=runs~a")[2]
    assert viewer.get("/compare?run=runs~a&run=nope")[0] == 404
    other = tmp_path / "other"
    make_run(other / "a", questions=4)
    make_run(other / "g", dataset="gsm8k", questions=4)
    with ServedViewer(other) as v:
        assert "share no dataset" in v.get("/compare?run=a&run=g")[2]


# ---- perf -----------------------------------------------------------------------------------
def test_perf_page(viewer: ServedViewer) -> None:
    status, _, body = viewer.get("/perf/perf~sweep1/")
    assert status == 200
    for label in ("c=1", "c=8", "c=32", "TTFT", "TPOT", "p99", "client CPU busy", "210 ms", "2.10 ms"):
        assert label in body, label
    # its run.sqlite (perf_requests) does not make it an evaluation run
    runs = viewer.get("/")[2]
    assert "/run/perf~sweep1/" not in runs and "OperationalError" not in runs
    assert 'src="/files/perf/sweep1/latency.svg"' in body and 'href="/files/perf/sweep1/summary.csv"' in body
    status, headers, csv = viewer.get("/files/perf/sweep1/summary.csv")
    assert status == 200 and headers["content-type"].startswith("text/plain") and "concurrency" in csv


# ---- languages -------------------------------------------------------------------------------
def test_sample_graded_by_the_judge_shows_its_verdict(viewer: ServedViewer) -> None:
    body = viewer.get("/run/runs~a/sample/math_500-%03d-%d" % JUDGED)[2]
    assert re.search(r'<td id="grade-method">judge</td>', body)
    assert "equivalent (correct)" in body and "judge-model" in body
    assert re.search(r'<td id="judge-status"><span class="">ok</span>', body)
    assert "Both are 7. &lt;script&gt;window.__xss=1&lt;/script&gt;" in body  # the explanation, escaped
    assert_inert(body)


def test_single_subset_dataset_has_an_overall_row(tmp_path: Path) -> None:
    make_run(tmp_path / "one", subsets=("Level 3",), questions=6)
    report = json.loads((tmp_path / "one" / "report.json").read_text())
    assert any(r["subset"] == "OVERALL" for r in report["subsets"])
    with ServedViewer(tmp_path / "one") as v:
        rid = re.search(r'href="/run/([^"/]+)/"', v.get("/")[2]).group(1)
        body = v.get(f"/run/{rid}/")[2]
    counts = re.search(r'<table class="data counts">(.*?)</table>', body, re.S).group(1)
    assert counts.count('<tr class="overall">') == 1 and ">OVERALL</a>" in counts
    scores = re.search(r'<table class="data scores">(.*?)</table>', body, re.S).group(1)
    assert "<td>OVERALL</td>" in scores


def test_chinese_interface(root: Path) -> None:
    with ServedViewer(root, lang="zh") as v:
        body = v.get("/run/runs~a/")[2]
    assert "得分" in body and "各子集结果统计" in body and 'lang="zh-CN"' in body
    assert "ξ_O 结果效率" in body and "ξ_UT 欠思考分数" in body and "LLM 评审" in body


# ---- live run ----------------------------------------------------------------------------------
def _add(store: RunStore, key: str, i: int, *, score: Score | None) -> None:
    sample = Sample(id=f"live{i}", dataset="gsm8k", subset="main", messages=[{"role": "user", "content": f"{i}+1?"}],
                    gold=str(i + 1))
    gen = Generation(content=f"\\boxed{{{i + 1}}}", reasoning="thinking", finish_reason="stop",
                     usage=Usage(10, 50, 30), timings=Timings(time.time(), 0.1, 0.2, 0.5))
    store.put_generation(key, sample, 0, gen)
    if score is not None:
        store.put_score(key, score)


def _live(v: ServedViewer, rid: str) -> dict:
    status, headers, body = v.get(f"/api/live?run={rid}")
    assert status == 200 and headers["content-type"] == "application/json"
    return json.loads(body)["runs"][rid]


def _live_after(v: ServedViewer, rid: str, version: int, timeout: float = 10 * SYNC_INTERVAL_S) -> dict:
    """The live snapshot once the viewer has re-read the store (version moved past
    `version`), polled with a deadline: the viewer re-reads at most every SYNC_INTERVAL_S."""
    deadline = time.monotonic() + timeout
    while (live := _live(v, rid))["version"] <= version:
        assert time.monotonic() < deadline, f"the viewer never re-read the store: {live}"
        time.sleep(0.05)
    return live


def test_run_in_progress_updates_live(tmp_path: Path) -> None:
    run_dir = tmp_path / "live"
    store = RunStore(run_dir)  # the eval's writer connection stays open throughout
    store.set_meta("model", "live-model")
    store.set_meta("datasets", ["gsm8k"])
    keys = [f"k{i}" for i in range(6)]
    store.set_plan([(k, "integer") for k in keys])
    _add(store, keys[0], 0, score=Score(True, "correct", extracted="1"))
    _add(store, keys[1], 1, score=None)  # generated, not graded yet
    try:
        with ServedViewer(tmp_path) as v:
            first = _live(v, "live")
            assert (first["planned"], first["generated"], first["pending"], first["state"]) == (6, 2, 1, "running")
            body = v.get("/run/live/")[2]
            assert "live-model" in body and "Live scores" in body and "data-live-url" in body
            # the eval goes on: a grade lands, new generations, a failure
            store.put_score(keys[1], Score(False, "not_equivalent", extracted="7"))
            _add(store, keys[2], 2, score=Score(True, "correct", extracted="3"))
            store.put_generation(keys[3], Sample("live3", "gsm8k", "main", [{"role": "user", "content": "x"}], "4"), 0,
                                 Generation(error="timeout"))
            second = _live_after(v, "live", first["version"])
            assert (second["generated"], second["pending"], second["errors"], second["correct"]) == (4, 0, 1, 2)
            assert second["version"] > first["version"]
            assert len(table_rows(v.get("/run/live/samples")[2])) == 4
            # a retried error replaces its row (same key): counted once, now ok
            _add(store, keys[3], 3, score=Score(True, "correct", extracted="4"))
            third = _live_after(v, "live", second["version"])
            assert (third["generated"], third["errors"], third["correct"]) == (4, 0, 3)
    finally:
        store.close()


def test_unreadable_run_does_not_hide_the_others(root: Path, tmp_path: Path) -> None:
    make_run(tmp_path / "good", questions=2)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "run.sqlite").write_bytes(b"this is not a database" * 100)
    with ServedViewer(tmp_path) as v:
        status, _, body = v.get("/")
        assert status == 200 and 'href="/run/good/"' in body and "DatabaseError" in body
        status, _, body = v.get("/run/bad/")
        assert status == 500 and "run store unreadable" in body


def test_allowed_hosts_follow_the_bind_address() -> None:
    from thinklens.viewer.server import allowed_hosts_for

    assert allowed_hosts_for("0.0.0.0") == ["*"] and allowed_hosts_for("::") == ["*"]
    assert "192.168.1.5" in allowed_hosts_for("192.168.1.5") and "localhost" in allowed_hosts_for("127.0.0.1")
