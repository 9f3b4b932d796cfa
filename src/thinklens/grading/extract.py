"""Find the final answer in a response: only the final-answer region counts.

Tiers, strongest first (the tier used is recorded in the score's audit trail):

1. ``boxed``: the last ``\\boxed{...}`` / ``\\fbox{...}``; boxes that directly precede it
   in the same statement ("\\boxed{2} and \\boxed{5}") are joined with commas.
2. ``answer_phrase``: the last explicit statement ("The final answer is $42$.",
   "**Final Answer:** 42", "Answer: 42", GSM8K's "#### 42").
3. ``closing_math`` (math graders) / ``last_number`` (GSM8K): the last formula of the
   closing paragraph, or the last number of the response.  Only for responses that were
   not cut off: a truncated text has no closing paragraph, and a number in unfinished
   work that happens to equal the gold is the commonest false positive of usual graders.

Multiple choice uses only explicit forms (``ANSWER: X`` lines, "the answer is (X)",
``\\boxed{X}``), the last one wins, and never guesses a bare letter.

Every pattern here is linear in the text length: responses can be megabytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# ---------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class Extraction:
    """An answer found in a response: its text, where it starts, and which tier found it."""

    answer: str
    how: str  # "boxed" | "answer_phrase" | "closing_math" | "last_number" | "answer_line"
    start: int


# ---------------------------------------------------------------------------------------
# Braces and \boxed{}

_BRACE_TOKEN_RE = re.compile(r"\\.|[{}]", re.DOTALL)
_BOXED_RE = re.compile(r"\\(?:boxed|fbox)(?![A-Za-z])")
# Text allowed between two boxes that state one answer together: "\boxed{2}, \boxed{5}".
_BOX_JOINER_RE = re.compile(
    r"^(?:\s|\$|\\[()\[\]]|[,;&]|\\quad|\\qquad|\\text\{\s*(?:and|or|,)\s*\}|\band\b|\bor\b|\\,)*$"
)
_MAX_BOX_JOIN_GAP = 40


def _closing_braces(text: str, start: int) -> dict[int, int]:
    """Map each `{` at or after `start` to its matching `}` (escaped braces do not count)."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    for m in _BRACE_TOKEN_RE.finditer(text, start):
        tok = m.group()
        if tok == "{":
            stack.append(m.start())
        elif tok == "}":
            if stack:
                pairs[stack.pop()] = m.start()
    return pairs


def find_boxed(text: str) -> list[tuple[int, int, str]]:
    """All complete boxes as (start, end, content), in order.  Unclosed boxes are skipped."""
    starts = [m for m in _BOXED_RE.finditer(text)]
    if not starts:
        return []
    pairs = _closing_braces(text, starts[0].start())
    boxes: list[tuple[int, int, str]] = []
    for m in starts:
        i = m.end()
        while i < len(text) and text[i] in " \t":
            i += 1
        if i < len(text) and text[i] == "{":
            close = pairs.get(i)
            if close is None or not text[i + 1 : close].strip():
                continue  # cut off inside the box, or an empty box (a template, not an answer)
            boxes.append((m.start(), close + 1, text[i + 1 : close]))
        else:
            # "\boxed 5": the argument is the next token
            tok = re.match(r"[^\s$\\]+|\\[A-Za-z]+", text[i : i + 200])
            if tok:
                boxes.append((m.start(), i + tok.end(), tok.group()))
    # Drop boxes nested inside a later-starting outer box ("\boxed{\boxed{5}}").
    outer: list[tuple[int, int, str]] = []
    for box in boxes:
        while outer and outer[-1][0] >= box[0] and outer[-1][1] <= box[1]:
            outer.pop()
        if outer and box[0] >= outer[-1][0] and box[1] <= outer[-1][1]:
            continue
        outer.append(box)
    return outer


def last_boxed_content(text: str) -> str | None:
    """The stripped content of the last complete outer box, or None (a solution's gold)."""
    boxes = find_boxed(text)
    return boxes[-1][2].strip() if boxes else None


def last_boxed(text: str) -> Extraction | None:
    """The last box, joined with the boxes that state the same answer just before it."""
    boxes = find_boxed(text)
    if not boxes:
        return None
    group = [boxes[-1]]
    for box in reversed(boxes[:-1]):
        gap = text[box[1] : group[0][0]]
        if len(gap) > _MAX_BOX_JOIN_GAP or not _BOX_JOINER_RE.match(gap):
            break
        group.insert(0, box)
    answer = ", ".join(_unwrap_box(b[2]).strip() for b in group)
    return Extraction(answer=answer, how="boxed", start=group[0][0])


def _unwrap_box(content: str) -> str:
    """`\boxed{\boxed{4}}` -> `4`."""
    for _ in range(10):
        inner = find_boxed(content)
        if len(inner) == 1 and inner[0][0] == len(content) - len(content.lstrip()) and inner[0][1] == len(content.rstrip()):
            content = inner[0][2]
        else:
            break
    return content


# ---------------------------------------------------------------------------------------
# Math environments

_MATH_ENV_RE = re.compile(
    r"\$\$(?P<dd>.+?)\$\$"
    r"|\\\[(?P<br>.+?)\\\]"
    r"|\\\((?P<pa>.+?)\\\)"
    r"|(?<![\\$])\$(?P<d>[^$\n]+?)(?<!\\)\$",
    re.DOTALL,
)


def _math_envs(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), next(g for g in m.groups() if g is not None)) for m in _MATH_ENV_RE.finditer(text)]


# ---------------------------------------------------------------------------------------
# Answer phrases

# "final answer" anchors are the strongest; "answer is" / "answer:" next.  The last anchor
# in the response wins.  `####` is GSM8K's own answer marker.
_ANSWER_ANCHOR_RE = re.compile(
    r"(?:\bfinal\s+answer\b(?:[ \t]*(?:is\b|:|=|\*\*))+"
    r"|^[ \t#*]*final\s+answer[ \t]*$"
    r"|\banswer\s*(?:\*\*)?\s*(?:is\b|:|=)(?:\s*(?:\*\*|:))*"
    r"|^[ \t]*####)",
    re.IGNORECASE | re.MULTILINE,
)
_PHRASE_WINDOW = 400
_LEADING_FILLER_RE = re.compile(r"^(?:\s|\*\*|\*|:|=|\bis\b|\bthat\b|\bthus\b|\btherefore\b|,|-)*", re.IGNORECASE)
_SENTENCE_END_RE = re.compile(r"\.(?:\s|$)|\n|\*\*|;\s")


def _answer_after_anchor(text: str, pos: int) -> str | None:
    window = text[pos : pos + _PHRASE_WINDOW]
    lead = _LEADING_FILLER_RE.match(window)
    offset = lead.end() if lead else 0
    rest = window[offset:]
    if not rest.strip():
        return None
    env = _MATH_ENV_RE.match(rest)
    if env:
        return next(g for g in env.groups() if g is not None).strip()
    end = _SENTENCE_END_RE.search(rest)
    line = rest[: end.start()] if end else rest
    # A formula inside the sentence ("is $\frac{1}{2}$ dollars") is the answer.
    envs = _math_envs(line)
    if envs:
        return envs[0][2].strip()
    line = line.strip().rstrip(".").strip()
    return line or None


def answer_phrase(text: str) -> Extraction | None:
    """The answer stated after the last "final answer" / "answer is" / "####" anchor."""
    anchors = list(_ANSWER_ANCHOR_RE.finditer(text))
    for m in reversed(anchors[-5:]):
        answer = _answer_after_anchor(text, m.end())
        if answer:
            return Extraction(answer=answer, how="answer_phrase", start=m.start())
    return None


_CLOSING_TAIL_RE = re.compile(r"^[\s.!,;:*_)\]]*$")


def closing_math(text: str) -> Extraction | None:
    """The formula that ends the response ("... So the area is $12\\pi$.").

    Only a formula followed by nothing but punctuation counts: a response whose last
    formula is followed by more work (or by a formula cut off half way) has not stated
    an answer.
    """
    stripped = text.rstrip()
    if not stripped:
        return None
    tail_from = max(0, len(stripped) - 2000)
    envs = _math_envs(stripped[tail_from:])
    if not envs:
        return None
    start, end, content = envs[-1]
    if not _CLOSING_TAIL_RE.match(stripped[tail_from + end :]):
        return None
    return Extraction(answer=content.strip(), how="closing_math", start=tail_from + start)


_NUMBER_RE = re.compile(r"-?\$?\s?\d[\d,]*(?:\.\d+)?|-?\.\d+")


def last_number(text: str) -> Extraction | None:
    """GSM8K's fallback: the last number written in the response."""
    last = None
    for last in _NUMBER_RE.finditer(text[-20000:]):
        pass
    if last is None:
        return None
    offset = max(0, len(text) - 20000)
    return Extraction(answer=last.group().strip(), how="last_number", start=offset + last.start())


# ---------------------------------------------------------------------------------------
# Multiple choice

_LETTER_LINE_RE = re.compile(
    r"(?i:\banswer\b)\s*(?:\*\*)?\s*(?i:is)?\s*(?:\*\*)?\s*[:：]?\s*(?:\*\*)?\s*"
    r"(?:\\text\{|\\textbf\{|\\mathrm\{)?\s*[(\[]?\s*(?P<letter>[A-Z])\s*[)\]]?\s*\}?"
    r"(?=\s*(?:\*\*)?\s*(?:[).,;:!\]]|$|\n|\s[-–—(]|\s+\\))",
    re.MULTILINE,
)
_BOXED_LETTER_RE = re.compile(r"^\(?\s*(?P<letter>[A-Z])\s*\)?(?:$|\s*[).:]\s*|\s+)")
_TEXT_WRAPPER_RE = re.compile(r"\\(?:text|textbf|mathrm|mathbf|textit|mbox)\s*\{([^{}]*)\}")


def strip_text_wrappers(s: str) -> str:
    """`\\text{(B)}` -> `(B)`, repeatedly (wrappers nest)."""
    for _ in range(5):
        new = _TEXT_WRAPPER_RE.sub(r"\1", s)
        if new == s:
            break
        s = new
    return s


def letter_of(answer: str, n_choices: int = 4) -> str | None:
    """The option letter an answer names ("B", "(B)", "\\text{B}", "B) 42"), else None."""
    s = strip_text_wrappers(answer).replace("$", "").replace("~", " ").strip()
    m = _BOXED_LETTER_RE.match(s)
    if not m:
        return None
    letter = m.group("letter")
    return letter if ord(letter) - ord("A") < max(n_choices, 1) else None


def choice_answer(text: str, n_choices: int = 4) -> Extraction | None:
    """The last explicit choice: an `ANSWER: X` line / "answer is (X)" or a `\\boxed{}`."""
    candidates: list[Extraction] = []
    for m in _LETTER_LINE_RE.finditer(text):
        letter = m.group("letter")
        if ord(letter) - ord("A") < n_choices:
            candidates.append(Extraction(answer=letter, how="answer_line", start=m.start()))
    boxes = find_boxed(text)
    if boxes:
        start, _, content = boxes[-1]
        candidates.append(Extraction(answer=content.strip(), how="boxed", start=start))
    if not candidates:
        return None
    return max(candidates, key=lambda e: e.start)


# ---------------------------------------------------------------------------------------
# Entry points


def find_answer(text: str, grader: str, *, allow_fallback: bool = True, n_choices: int = 4) -> Extraction | None:
    """The final answer of `text` for `grader`, with the tier that found it (the grader
    declares its tiers: registry.py)."""
    from .registry import get_grader

    return get_grader(grader).find_text(text, allow_fallback=allow_fallback, n_choices=n_choices)


def extract_answer(text: str, grader: str) -> str | None:
    """The final answer's text, or None (see the module docstring for where it looks)."""
    found = find_answer(text, grader)
    return found.answer if found else None
