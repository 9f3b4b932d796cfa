"""Remove reasoning from a raw model output before grading (DESIGN.md: reasoning is never graded).

Used by `thinklens grade` for outputs of other tools whose "response" still holds the
reasoning inline.  The client package has its own splitter for live generations; the
two follow the same precedence and will be unified:

1. paired ``<think>...</think>``: the answer is what follows the *last* closing tag
   (models sometimes emit a doubled opening tag, and text after a closing tag is the
   answer even when a stray tag appears inside the reasoning);
2. a lone ``</think>``: the chat template prefilled ``<think>``, so everything before
   the closing tag is reasoning;
3. an opening tag that never closes: the output was cut off while thinking, so there is
   no answer at all (the content is empty);
4. no tag: the whole text is the answer.
"""

from __future__ import annotations

DEFAULT_TAGS: tuple[tuple[str, str], ...] = (("<think>", "</think>"),)


def split_reasoning(
    text: str, tags: tuple[tuple[str, str], ...] | list[tuple[str, str]] = DEFAULT_TAGS
) -> tuple[str, str, str]:
    """Return ``(reasoning, content, source)``; `source` is a `records.ReasoningSource`."""
    for open_tag, close_tag in tags:
        close_at = text.rfind(close_tag)
        if close_at >= 0:
            head = text[:close_at]
            content = text[close_at + len(close_tag) :]
            open_at = head.find(open_tag)
            if open_at >= 0:
                reasoning = head[open_at + len(open_tag) :]
                source = "think_tags"
            else:
                reasoning, source = head, "lone_close_tag"
            return _strip_tags(reasoning, open_tag, close_tag).strip(), content.strip(), source
    for open_tag, close_tag in tags:
        open_at = text.find(open_tag)
        if open_at >= 0:
            reasoning = _strip_tags(text[open_at + len(open_tag) :], open_tag, close_tag)
            return reasoning.strip(), "", "unclosed_open_tag"
    return "", text.strip(), "none"


def _strip_tags(text: str, open_tag: str, close_tag: str) -> str:
    # A doubled "<think>\n<think>" (seen in real QwQ outputs) leaves a stray tag behind.
    return text.replace(open_tag, "").replace(close_tag, "")
