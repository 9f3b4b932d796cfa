"""Split a model's output into reasoning and answer (DESIGN.md: reasoning is never graded).

Order of precedence: a reasoning field from the server (handled by the caller), else
paired `<think>...</think>` in the content, else a lone `</think>` (Qwen3/R1 chat
templates prefill `<think>`, so the output starts inside the reasoning), else an
opening tag never closed (cut off while thinking).  Tag pairs are configurable.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_TAGS: tuple[tuple[str, str], ...] = (("<think>", "</think>"),)


@dataclass(frozen=True)
class ReasoningSplit:
    reasoning: str
    content: str
    source: str  # a records.ReasoningSource value
    answer_offset: int  # where the answer starts in the raw text (for time-to-first-answer-token)


def split_reasoning(
    text: str, tags: tuple[tuple[str, str], ...] | list[tuple[str, str]] = DEFAULT_TAGS, *, prefilled: bool = False
) -> ReasoningSplit:
    """Find the reasoning inside `text`.  `prefilled`: no closing tag means all reasoning.

    The answer is what follows the *last* closing tag: text after a closing tag is the
    answer even when a stray tag appears inside the reasoning.
    """
    for open_tag, close_tag in tags:
        close_at = text.rfind(close_tag)
        if close_at >= 0:
            answer_offset = close_at + len(close_tag)
            head = text[:close_at]
            open_at = head.find(open_tag)
            if open_at >= 0:
                # Text before <think> (rare: some models echo a preamble) stays out of both.
                reasoning, source = head[open_at + len(open_tag):], "think_tags"
            else:
                reasoning, source = head, "lone_close_tag"
            reasoning = _strip_tags(reasoning, open_tag, close_tag)
            return ReasoningSplit(reasoning.strip(), text[answer_offset:].strip(), source, answer_offset)
    for open_tag, close_tag in tags:
        open_at = text.find(open_tag)
        if open_at >= 0:
            reasoning = _strip_tags(text[open_at + len(open_tag):], open_tag, close_tag)
            return ReasoningSplit(reasoning.strip(), "", "unclosed_open_tag", len(text))
    if prefilled and text:
        return ReasoningSplit(text.strip(), "", "unclosed_open_tag", len(text))
    return ReasoningSplit("", text.strip(), "none", 0)


def _strip_tags(text: str, open_tag: str, close_tag: str) -> str:
    # A doubled "<think>\n<think>" (seen in real QwQ outputs) leaves a stray tag behind.
    if open_tag in text or close_tag in text:
        return text.replace(open_tag, "").replace(close_tag, "")
    return text
