"""What the viewer's pages say and how they say it (issue 15): one number format per
column, LaTeX answers rendered, no raw keys or backticks, figures shown once, estimated
token counts marked.  Over real HTTP on runs written by the real store; the layout
itself is checked in Chromium (tests/browser/test_viewer_layout.py)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from thinklens.viewer.export import export_site
from tests.helpers.viewer_data import PERF_URL_WITH_KEY, TEX_ANSWERS, ServedViewer, make_polish_root


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_polish_root(tmp_path_factory.mktemp("polish"))


@pytest.fixture(scope="module")
def viewer(root: Path):
    with ServedViewer(root) as v:
        yield v


def _get(viewer: ServedViewer, path: str) -> str:
    status, _, body = viewer.get(path)
    assert status == 200, path
    return body


def _section(body: str, ident: str) -> str:
    m = re.search(rf'<section id="{ident}">(.*?)</section>', body, re.S)
    assert m, ident
    return m.group(1)


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def _columns(table_html: str) -> dict[str, list[str]]:
    """Column label -> its body cells (td carry their label in data-label)."""
    out: dict[str, list[str]] = {}
    for label, cell in re.findall(r'<td class="num" data-label="([^"]+)">(.*?)</td>', table_html, re.S):
        out.setdefault(html.unescape(label), []).append(_text(cell))
    return out


def test_efficiency_columns_keep_one_number_format(viewer: ServedViewer) -> None:
    section = _section(_get(viewer, "/run/runs~a/"), "efficiency")
    main = re.search(r'<table class="data efficiency stack">(.*?)</table>', section, re.S).group(1)
    cols = _columns(main)
    # efficiency.json has 1 and 0.9091, 836 and 672.3, 2 and 4.1818 in the same columns
    assert cols["Accuracy"] == ["1.000", "0.909", "0.909"]
    assert cols["Reasoning tokens~"[:-1]] == ["836", "672", "672"]
    assert cols["Thought switches"] == ["2.00", "4.18", "4.18"]
    assert cols["Token efficiency"] == ["1.000", "0.612", "0.612"]
    # the counts behind the means are a second table; tokens_exact is a sentence, not a column
    assert "Complete traces" not in cols and "n_complete" not in main
    counts = re.search(r'<details id="efficiency-counts">(.*?)</details>', section, re.S).group(1)
    assert _columns(counts)["Complete traces"] == ["3", "11", "11"]
    tables = re.sub(r"<details><summary>Settings</summary>.*?</details>", "", section, flags=re.S)
    assert "tokens_exact" not in tables and "True" not in tables and "False" not in tables


def test_estimated_token_counts_are_marked(viewer: ServedViewer) -> None:
    section = _section(_get(viewer, "/run/runs~a/"), "efficiency")
    head = re.search(r"<thead>(.*?)</thead>", section, re.S).group(1)
    marked = [_text(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", head, re.S) if 'class="estimated"' in h]
    assert marked == ["Reasoning tokens~", "Tokens to first correct~"]  # token counts, not ratios or counts
    assert "Token counts are estimates" in _text(section)


def test_samples_list_renders_latex_answers(viewer: ServedViewer) -> None:
    body = _get(viewer, "/run/runs~tex/samples")
    table = re.search(r'<table class="data samples" id="samples-table">(.*?)</table>', body, re.S).group(1)
    maths = re.findall(r'<span class="math" title="([^"]*)">(.*?)</span>', table, re.S)
    shown = {html.unescape(src) for src, _ in maths}
    for gold, extracted in TEX_ANSWERS:
        assert gold in shown  # every gold answer here is LaTeX
        assert extracted in shown or "\\" not in extracted
    outside = re.sub(r'<span class="math"[^>]*>.*?</span>', "", table, flags=re.S)
    for raw in ("\\frac", "\\dfrac", "\\circ", "\\text", "\\left"):
        assert raw not in outside, raw  # raw LaTeX only where KaTeX renders it


def test_header_labels_are_capitalised(viewer: ServedViewer) -> None:
    for path in ("/run/runs~a/samples", "/run/runs~a/", "/perf/perf~sweep/"):
        body = _get(viewer, path)
        heads = [_text(h) for head in re.findall(r"<thead>(.*?)</thead>", body, re.S)
                 for h in re.findall(r"<th(?: [^>]*)?>(.*?)</th>", head, re.S)]
        lower = [h for h in heads if h and h[0].isascii() and h[0].islower() and h not in ("n", "p", "p50", "p90", "p95", "p99", "p999", "max", "mean")]
        assert lower == [], (path, lower)


def test_perf_header_names_model_and_url_and_no_raw_keys(viewer: ServedViewer) -> None:
    body = _get(viewer, "/perf/perf~sweep/")
    header = re.search(r'<div class="facts" id="perf-header">(.*?)</div>', body, re.S).group(1)
    text = " ".join(_text(header).split())
    assert "Model perf-model" in text
    assert "closed loop, concurrency 1, 8, 32" in text and "Requests per level 100" in text
    assert "URL http://***@127.0.0.1:9/v1?api_key=***" in text
    for raw in ("thinklens_version", "interrupted", "created_at", "units", "seconds for every latency"):
        assert raw not in text, raw
    assert "sk-perfsecret" not in body and PERF_URL_WITH_KEY not in body
    assert "<h1>Serving performance <span class=\"muted\">· perf-model</span></h1>" in body
    assert 'id="perf-interrupted"' in body  # interrupted: said as a sentence, not "interrupted True"
    # latencies carry their own unit; nothing says they are seconds
    assert "210 ms" in body and "2.10 ms" in body


def test_compare_chart_labels_its_bars_and_figures_appear_once(viewer: ServedViewer) -> None:
    body = _get(viewer, "/compare?run=runs~a&run=runs~b")
    chart = re.search(r'<svg class="chart bars".*?</svg>', body, re.S).group(0)
    assert chart.count("<rect class=\"series-") == 2
    labels = [_text(t) for t in re.findall(r'<text class="value"[^>]*>(.*?)</text>', chart)]
    assert len(labels) == 2 and all(re.fullmatch(r"0\.\d{4} ± 0\.\d{4}", v) for v in labels), labels
    assert all(name in chart for name in ("model-a", "model-b"))
    height = int(re.search(r'height="(\d+)"', chart).group(1))
    assert height < 120  # one dataset, two runs: a small chart, not a wide empty one
    # comparison.png and comparison.svg are one figure: shown once, as SVG
    assert body.count("/files/runs/comparison.") == 2  # <a href> and <img src> of one figure
    assert "/files/runs/comparison.svg" in body and "/files/runs/comparison.png" not in body


def test_compare_marks_estimated_token_counts(viewer: ServedViewer) -> None:
    section = _section(_get(viewer, "/compare?run=runs~a&run=runs~b"), "compare-efficiency")
    rows = {(_text(r[0])): r[1] for r in re.findall(r"<tr><td>(.*?)</td>(.*?)</tr>", section, re.S)}
    assert "tokens_exact" not in section and "Tokens exact" not in section
    assert rows["Reasoning tokens"].count('class="estimated"') == 2
    assert rows["Accuracy"].count('class="estimated"') == 0
    assert "~ marks estimated token counts" in _text(section)


def test_static_export_banner_has_no_backticks(root: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    export_site(root, out)
    for page in (out / "index.html", next(out.glob("runs/*/index.html"))):
        note = re.search(r'<div class="note export-note">(.*?)</div>', page.read_text(), re.S).group(1)
        assert "`" not in note and "<code>thinklens view</code>" in note


def test_chinese_pages_declare_a_cjk_font_stack(viewer: ServedViewer, root: Path) -> None:
    css = _get(viewer, "/static/viewer.css")
    rule = re.search(r":lang\(zh\)[^{]*\{\s*font-family:([^;]+);", css)
    assert rule, "no font stack for :lang(zh)"
    stack = [f.strip().strip('"') for f in rule.group(1).split(",")]
    assert stack[0] == "Noto Sans CJK SC"  # Debian's fonts-noto-cjk (docs/viewer.md)
    assert {"Source Han Sans SC", "PingFang SC", "Microsoft YaHei"} <= set(stack) and stack[-1] == "sans-serif"
    with ServedViewer(root, lang="zh") as v:
        body = v.get("/run/runs~a/")[2]
    assert '<html lang="zh-CN">' in body and "/static/viewer.css" in body
