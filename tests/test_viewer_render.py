"""Untrusted text to HTML, URL queries, charts: the viewer's pure parts."""

from __future__ import annotations

import re

import pytest

from thinklens.viewer.charts import histogram_svg, nice_step
from thinklens.viewer.i18n import STRINGS, translator
from thinklens.viewer.links import ExportLinks, ServedLinks, export_filter_name
from thinklens.viewer.query import BadQuery, SampleQuery
from thinklens.viewer.render import render_markdown, render_reasoning, spans_from_steps, split_paragraphs
from thinklens.viewer.site import pager


# ---- markdown safety ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "<svg onload=alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        "<iframe src=//evil></iframe>",
        "```html\n<script>alert(1)</script>\n```",
    ],
)
def test_raw_html_is_text(text: str) -> None:
    html = str(render_markdown(text))
    assert not re.search(r"<(script|img|svg|iframe|a)\b", html)
    assert "&lt;" in html


@pytest.mark.parametrize(
    "link",
    ["javascript:alert(1)", "JaVaScRiPt:alert(1)", "  javascript:alert(1)", "vbscript:x", "data:text/html,<b>",
     "file:///etc/passwd", "/files/../x", "java%0ascript:alert(1)"],
)
def test_unsafe_links_stay_text(link: str) -> None:
    html = str(render_markdown(f"[click]({link})"))
    assert "<a " not in html


def test_safe_links_get_rel_and_images_are_not_loaded() -> None:
    html = str(render_markdown("[docs](https://example.org/a?b=1&c=2) ![chart](https://evil.example/pixel.png)"))
    assert '<a href="https://example.org/a?b=1&amp;c=2" rel="nofollow noopener noreferrer" target="_blank">docs</a>' in html
    assert "<img" not in html and 'class="image-link"' in html


# ---- math ------------------------------------------------------------------------------------
def test_math_survives_markdown() -> None:
    html = str(render_markdown(r"So $a_1 * b_2 = \frac{1}{2}$ and $$x_1^2 \\ y$$, also \(z_*\) and \[ w \]."))
    assert r'<span class="math">a_1 * b_2 = \frac{1}{2}</span>' in html  # no <em> from _ or *
    assert r'<span class="math display">x_1^2 \\ y</span>' in html  # \\ kept (markdown would eat one)
    assert r'<span class="math">z_*</span>' in html and '<span class="math display"> w </span>' in html


def test_dollar_amounts_and_code_are_not_math() -> None:
    html = str(render_markdown("It costs $5 and $10. Use `$x$` or\n\n```\n$y$\n```"))
    assert 'class="math"' not in html
    assert "<code>$x$</code>" in html and "$y$" in html


def test_math_content_is_escaped() -> None:
    html = str(render_markdown("$</span><script>alert(1)</script>$"))
    assert "<script>" not in html and "&lt;/span&gt;&lt;script&gt;" in html


def test_private_use_sentinels_cannot_be_injected() -> None:
    html = str(render_markdown("a \ue002evil\ue003 \ue0000\ue001 b"))
    assert "<mark" not in html and "\ue000" not in html and "evil" in html


# ---- reasoning -------------------------------------------------------------------------------
TRACE = "First, 2+2.\n\nWait, recheck: $2+2=4$.\n\n\nAlternatively count: 4.\n\nDone."


def test_paragraph_steps_switch_marks_and_first_correct_by_offset() -> None:
    assert len(split_paragraphs(TRACE)) == 4
    steps = render_reasoning(
        TRACE, switches=[(TRACE.index("Wait"), "Wait"), (TRACE.index("Alternatively"), "alternatively")],
        first_correct_offset=TRACE.index("recheck"),
    )
    assert [s.first_correct for s in steps] == [False, True, False, False]
    assert '<mark class="switch">Wait</mark>' in steps[1].html
    assert '<mark class="switch">Alternatively</mark>' in steps[2].html  # matched case-insensitively
    assert '<span class="math">2+2=4</span>' in steps[1].html


def test_switch_offsets_slightly_off_still_find_their_phrase() -> None:
    steps = render_reasoning(TRACE, switches=[(TRACE.index("Wait") - 3, "Wait")])
    assert '<mark class="switch">Wait</mark>' in steps[1].html


def test_first_correct_by_step_index_with_efficiency_steps() -> None:
    texts = ["First, 2+2.", "Wait, recheck: $2+2=4$.", "Alternatively count: 4.", "Done."]
    spans = spans_from_steps(TRACE, texts)
    assert spans is not None and len(spans) == 4
    steps = render_reasoning(TRACE, spans=spans, first_correct_step=2)
    assert [s.first_correct for s in steps] == [False, False, True, False]
    # offsets and [start, end] pairs work too; steps that do not fit the text are refused
    assert spans_from_steps(TRACE, [0, TRACE.index("Wait")]) == [(0, TRACE.index("Wait")), (TRACE.index("Wait"), len(TRACE))]
    assert spans_from_steps(TRACE, [[0, 5], [5, 9]]) == [(0, 5), (5, 9)]
    assert spans_from_steps(TRACE, ["not in the trace"]) is None
    assert spans_from_steps(TRACE, []) is None


# ---- queries and links -------------------------------------------------------------------------
def test_query_round_trip_and_errors() -> None:
    q = SampleQuery.from_params({"dataset": "math_500", "outcome": "wrong", "repeat": "1", "q": " x ", "sort": "-tokens",
                                 "page": "3", "per_page": "100", "deep": "1"})
    assert q.to_params() == {"dataset": "math_500", "outcome": "wrong", "repeat": "1", "q": "x", "deep": "1",
                             "sort": "-tokens", "page": "3", "per_page": "100"}
    assert q.with_(outcome="").page == 1  # any filter change goes back to page 1
    assert SampleQuery.from_params({}).is_default
    for bad in ({"sort": "x"}, {"outcome": "x"}, {"page": "0"}, {"repeat": "-1"}, {"per_page": "3"}, {"q": "x" * 201}):
        with pytest.raises(BadQuery):
            SampleQuery.from_params(bad)


def test_links_served_and_exported() -> None:
    q = SampleQuery(dataset="math_500", subset="Level 1", outcome="wrong", page=2)
    served = ServedLinks()
    assert served.samples("r~1", q) == "/run/r~1/samples?dataset=math_500&subset=Level+1&outcome=wrong&page=2"
    assert served.sample("r", "k/1", q) == "/run/r/sample/k%2F1?dataset=math_500&subset=Level+1&outcome=wrong"
    exported = ExportLinks("runs/r/s/abc.html")
    assert exported.samples("r", q) == f"../samples/{export_filter_name(q)}-2.html"
    assert exported.home() == "../../../index.html"
    assert exported.file("runs/r/fig 1.png") == "../../../files/runs/r/fig%201.png"
    assert exported.wanted_files == {"runs/r/fig 1.png"}


def test_pager() -> None:
    assert pager(1, 1) == [1]
    assert pager(6, 40) == [1, None, 4, 5, 6, 7, 8, None, 40]
    assert pager(2, 5) == [1, 2, 3, 4, 5]


# ---- charts -------------------------------------------------------------------------------------
def test_histogram_counts_every_value_once() -> None:
    values = [(100, "correct")] * 3 + [(950, "wrong")] * 2 + [(960, "truncated"), (4000, "error")]
    svg = str(histogram_svg(values, label="tokens"))
    assert svg.startswith("<svg") and "n=7" in svg and "median 950" in svg
    counts = [int(n) for n in re.findall(r"(\d+) (?:correct|wrong|cut|other)", svg)]
    assert sum(counts) == len(values)
    assert "style=" not in svg  # the CSP forbids inline styles
    assert histogram_svg([], label="x") == ""


def test_nice_step() -> None:
    assert nice_step(30000, 24) == 2000  # 1250 is not a round step
    assert nice_step(10, 10) == 1


# ---- languages ------------------------------------------------------------------------------------
def test_both_languages_have_every_string() -> None:
    assert set(STRINGS["en"]) == set(STRINGS["zh"])
    for lang in STRINGS:
        t = translator(lang)
        assert "/x" in t("no_runs", path="/x")
    with pytest.raises(ValueError):
        translator("fr")


def test_a_megabyte_line_is_plain_text_with_the_rest_behind_show_all() -> None:
    from thinklens.viewer.render import LONG_HEAD_CHARS, render_markdown, render_reasoning

    line = "Let $x_{1}=2$ so <script>window.__xss=1</script> " * 20_000
    out = str(render_markdown("Intro.\n\n" + line))
    assert 'class="math' not in out and "<script>" not in out  # no KaTeX spans; escaped
    assert "show all (" in out and out.count("<pre") == 2
    head = out.split("<details")[0]
    assert len(head) < 2 * LONG_HEAD_CHARS + 1000  # what the browser lays out at first
    # a thought-switch mark across the cut stays balanced
    text = "x" * (LONG_HEAD_CHARS - 3) + " Wait, " + "y" * 30_000
    steps = render_reasoning(text, switches=[(LONG_HEAD_CHARS - 2, "Wait")])
    html = str(steps[0].html)
    assert html.count("<mark") == html.count("</mark>") == 1
    # ordinary long texts (many short lines) keep markdown and math
    normal = str(render_markdown("Let $x=1$.\n" * 5_000))
    assert 'class="math"' in normal and "show all" not in normal
