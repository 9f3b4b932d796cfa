"""Untrusted text (model output, dataset text) to safe HTML: markdown, math, marks.

- Markdown through markdown-it-py with raw HTML *disabled*: `<script>` in a model's
  answer comes out as the text "<script>".
- Links: only http(s) and mailto survive (`javascript:`, `data:`, `vbscript:`, relative
  paths into the viewer are shown as text); images are never loaded (a remote image
  would leak that the page was opened, and the CSP forbids it anyway): they become links.
- Math: `$...$`, `$$...$$`, `\\(...\\)`, `\\[...\\]` outside code are cut out *before*
  markdown (which would eat `\\\\` and `_`), then put back HTML-escaped inside
  `<span class="math">`; the browser renders exactly those spans with the vendored
  KaTeX (`trust: false`, so `\\href{javascript:...}` renders as text).  A lone "$5" stays
  text.
- Marks (thought switches, the first correct step) are placed with private-use
  sentinel characters before rendering and turned into tags after, so the markdown
  parser never sees HTML.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markupsafe import Markup

# Private-use code points: stripped from the input, so only we can place them.
_MATH_OPEN, _MATH_CLOSE = "\ue000", "\ue001"
_MARK_OPEN, _MARK_CLOSE = "\ue002", "\ue003"
_SENTINELS = re.compile("[\ue000-\ue003]")

_SAFE_SCHEMES = ("http://", "https://", "mailto:")

# Fenced code blocks and inline code spans: no math is looked for inside them.
_CODE = re.compile(r"(^|\n)(```|~~~)[^\n]*\n.*?(\n\2[ \t]*(?=\n|$)|$)|(`+)(?!`).+?(?<!`)\4(?!`)", re.S)
_MATH = re.compile(
    r"\$\$(?P<dd>.+?)\$\$"  # $$ display $$
    r"|\\\[(?P<bd>.+?)\\\]"  # \[ display \]
    r"|\\\((?P<bi>.+?)\\\)"  # \( inline \)
    # $inline$: no space inside the delimiters, closing $ not followed by a digit
    # (pandoc's rule, so "costs $5 and $10" stays text)
    r"|(?<![\\$])\$(?P<di>[^\s$](?:[^$\n]|\\\$)*?(?<![\s\\]))\$(?![\d$])",
    re.S,
)
_MAX_MATH_CHARS = 4000


def _validate_link(url: str) -> bool:
    return url.strip().lower().startswith(_SAFE_SCHEMES)


def _make_markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.validateLink = _validate_link

    def link_open(renderer, tokens, idx, options, env):  # type: ignore[no-untyped-def]
        tokens[idx].attrSet("rel", "nofollow noopener noreferrer")
        tokens[idx].attrSet("target", "_blank")
        return renderer.renderToken(tokens, idx, options, env)

    def image(renderer, tokens, idx, options, env):  # type: ignore[no-untyped-def]
        token = tokens[idx]
        src = token.attrGet("src") or ""
        alt = html.escape(token.content or "image")
        return f'<a class="image-link" href="{html.escape(str(src))}" rel="nofollow noopener noreferrer" target="_blank">[{alt}]</a>'

    md.add_render_rule("link_open", link_open)
    md.add_render_rule("image", image)
    return md


_MD = _make_markdown()


def _protect_math(text: str) -> tuple[str, list[tuple[str, bool]]]:
    """Replace math outside code with placeholders; return the text and the formulas."""
    formulas: list[tuple[str, bool]] = []

    def replace_math(segment: str) -> str:
        def sub(m: re.Match[str]) -> str:
            display = m.group("dd") is not None or m.group("bd") is not None
            body = next(g for g in (m.group("dd"), m.group("bd"), m.group("bi"), m.group("di")) if g is not None)
            if len(body) > _MAX_MATH_CHARS or not body.strip():
                return m.group(0)
            formulas.append((body, display))
            return f"{_MATH_OPEN}{len(formulas) - 1}{_MATH_CLOSE}"

        return _MATH.sub(sub, segment)

    out, last = [], 0
    for code in _CODE.finditer(text):
        out.append(replace_math(text[last : code.start()]))
        out.append(code.group(0))
        last = code.end()
    out.append(replace_math(text[last:]))
    return "".join(out), formulas


_PLACEHOLDER = re.compile(f"{_MATH_OPEN}(\\d+){_MATH_CLOSE}")


def _restore_math(rendered: str, formulas: list[tuple[str, bool]]) -> str:
    def sub(m: re.Match[str]) -> str:
        body, display = formulas[int(m.group(1))]
        cls = "math display" if display else "math"
        # The formula's source stays readable (and copyable) if KaTeX cannot render it.
        return f'<span class="{cls}">{html.escape(body, quote=False)}</span>'

    return _PLACEHOLDER.sub(sub, rendered)


def _restore_marks(rendered: str) -> str:
    return rendered.replace(_MARK_OPEN, '<mark class="switch">').replace(_MARK_CLOSE, "</mark>")


def clean(text: str | None) -> str:
    """Remove the sentinel code points (nobody else may place them)."""
    return _SENTINELS.sub("", text or "")


def render_markdown(text: str | None) -> Markup:
    """Safe HTML for one untrusted markdown text (prompt, answer, reasoning step)."""
    return Markup(_render(clean(text)))


# A text with a line this long (a degenerate output: one megabyte without a newline,
# often thousands of formulas in it) is shown as plain text: markdown, KaTeX on every
# formula and wrapping one enormous line stalled the browser for minutes.  The first
# LONG_HEAD_CHARS show at once; the rest sits in a closed <details> ("show all"), which
# the browser does not lay out until it is opened (works in the static export too).
LONG_LINE_CHARS = 20_000
LONG_HEAD_CHARS = 5_000


def _render(text: str) -> str:
    if _longest_line(text) > LONG_LINE_CHARS:
        return _render_long(text)
    protected, formulas = _protect_math(text)
    rendered = _MD.render(protected)
    return _restore_marks(_restore_math(rendered, formulas))


def _longest_line(text: str) -> int:
    if len(text) <= LONG_LINE_CHARS:
        return len(text)
    return max(len(line) for line in text.split("\n"))


def _render_long(text: str) -> str:
    cut = LONG_HEAD_CHARS
    opened = text.rfind(_MARK_OPEN, 0, cut)
    if opened > text.rfind(_MARK_CLOSE, 0, cut):  # never split a thought-switch mark
        close = text.find(_MARK_CLOSE, cut)
        cut = close + 1 if close >= 0 else len(text)
    head, rest = text[:cut], text[cut:]
    note = (f'<p class="longtext-note">A line of {_longest_line(text):,} characters: shown as plain text '
            "(no markdown or math rendering).</p>")
    out = [note, f'<pre class="longtext">{_restore_marks(html.escape(head, quote=False))}</pre>']
    if rest:
        out.append(f'<details class="longtext"><summary>show all ({len(text):,} characters)</summary>'
                   f'<pre class="longtext">{_restore_marks(html.escape(rest, quote=False))}</pre></details>')
    return "".join(out)


# ---- reasoning with steps and marks ---------------------------------------------------
@dataclass(frozen=True)
class Step:
    index: int
    start: int
    end: int
    html: Markup
    switches: tuple[str, ...]
    first_correct: bool
    solution: bool = False  # this step states an answer (a solution round ends here)


def split_paragraphs(text: str) -> list[tuple[int, int]]:
    """(start, end) of each blank-line-separated paragraph: the default step split."""
    spans, start = [], 0
    for m in re.finditer(r"\n[ \t]*\n\s*", text):
        if m.start() > start:
            spans.append((start, m.start()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans or [(0, len(text))]


def render_reasoning(
    text: str,
    *,
    spans: Sequence[tuple[int, int]] | None = None,
    switches: Sequence[tuple[int, str]] = (),
    first_correct_offset: int | None = None,
    first_correct_step: int | None = None,
    solution_steps: Sequence[int] = (),
) -> list[Step]:
    """The reasoning as rendered steps, thought switches wrapped in `<mark>`, the first
    correct step flagged: by its index into `spans`, else by `first_correct_offset`,
    the character offset where that step ends (`thinklens efficiency`)."""
    text = clean(text)
    spans = [(max(0, a), min(len(text), b)) for a, b in (spans or split_paragraphs(text)) if b > a]
    if not spans:
        return []
    steps: list[Step] = []
    # Locate each switch in the whole text first (an offset may land in the blank line
    # before its step), then hand it to the step it falls in.
    located = sorted(
        (at, length, phrase)
        for at, length, phrase in (
            (*_locate(text, o, p, 0, len(text)), p) for o, p in switches if 0 <= o < len(text)
        )
        if length > 0
    )
    for i, (start, end) in enumerate(spans):
        inside = [(at, min(length, end - at), p) for at, length, p in located if start <= at < end]
        segment = _mark(text, start, end, inside)
        if first_correct_step is not None:
            is_first = i == first_correct_step
        else:
            is_first = first_correct_offset is not None and start < first_correct_offset <= end
        steps.append(Step(i, start, end, Markup(_render(segment)), tuple(p for _, _, p in inside), is_first,
                          i in solution_steps))
    if first_correct_step is None and first_correct_offset is not None and not any(s.first_correct for s in steps):
        # The offset falls between steps (in a blank line): flag the next step.
        for j, s in enumerate(steps):
            if s.start >= first_correct_offset:
                steps[j] = Step(s.index, s.start, s.end, s.html, s.switches, True, s.solution)
                break
    return steps


def _mark(text: str, start: int, end: int, marks: Sequence[tuple[int, int, str]]) -> str:
    """text[start:end] with each located (at, length) range wrapped in mark sentinels."""
    out, cursor = [], start
    for at, length, _ in marks:
        if at < cursor:  # overlaps the previous mark
            continue
        out += [text[cursor:at], _MARK_OPEN, text[at : at + length], _MARK_CLOSE]
        cursor = at + length
    out.append(text[cursor:end])
    return "".join(out)


def _locate(text: str, offset: int, phrase: str, lo: int, hi: int) -> tuple[int, int]:
    """(position, length) of a switch phrase: at its offset, else nearby (offsets may
    count from a stripped text), else the word at the offset."""
    phrase = phrase.strip()
    if phrase:
        if text[offset : offset + len(phrase)].lower() == phrase.lower():
            return offset, len(phrase)
        window_start = max(lo, offset - 64)
        near = text[window_start : min(hi, offset + 64 + len(phrase))].lower().find(phrase.lower())
        if near >= 0:
            return window_start + near, len(phrase)
    word = re.match(r"\S+", text[offset:hi])
    return offset, len(word.group(0)) if word else 0


def spans_from_steps(text: str, steps: Sequence[object]) -> list[tuple[int, int]] | None:
    """Step boundaries from the efficiency table, which may store the steps as texts,
    as start offsets, or as [start, end] pairs.  None when they do not fit the text."""
    if not steps:
        return None
    if all(isinstance(s, str) for s in steps):
        spans, cursor = [], 0
        for s in steps:
            at = text.find(s.strip()[:200], cursor) if s.strip() else -1  # type: ignore[union-attr]
            if at < 0:
                return None
            spans.append(at)
            cursor = at + 1
        return [(a, b) for a, b in zip(spans, spans[1:] + [len(text)])]
    if all(isinstance(s, int) for s in steps):
        starts = sorted({int(s) for s in steps if 0 <= int(s) <= len(text)})  # type: ignore[call-overload]
        if not starts:
            return None
        starts[0] = 0  # text before the first step belongs to it: step indexes stay put
        return [(a, b) for a, b in zip(starts, starts[1:] + [len(text)]) if b > a]
    if all(isinstance(s, (list, tuple)) and len(s) == 2 for s in steps):
        return [(int(a), int(b)) for a, b in steps]  # type: ignore[misc]
    return None
