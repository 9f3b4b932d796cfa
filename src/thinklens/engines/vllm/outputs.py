"""One finished vLLM request -> `Generation`, read exactly like a server's reply.

Pure (no vLLM import).  The answer/reasoning split is the API path's `split_reasoning`;
token counts come from the engine's token ids, so they are exact: the reasoning ends at
the last closing tag's token (not re-encoded text, which can differ).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ...client.reasoning import split_reasoning
from ...records import Generation, Timings, Usage


@dataclass(frozen=True)
class FinishedRequest:
    """What the backend keeps of a vLLM RequestOutput (the first, and only, completion)."""

    text: str
    token_ids: Sequence[int]
    prompt_tokens: int
    finish_reason: str | None  # "stop" | "length" | "abort"
    start: float  # time.time() at submission
    e2e: float  # seconds from submission to the last token
    ttft: float | None = None  # seconds from submission to the first token, when the engine says


def reasoning_tokens(split_source: str, answer_offset: int, text: str, token_ids: Sequence[int],
                     close_ids: frozenset[int]) -> tuple[int, bool]:
    """(reasoning tokens, estimated?): up to and including the last closing-tag token."""
    n = len(token_ids)
    if split_source == "none" or n == 0:
        return 0, False
    if split_source == "unclosed_open_tag":
        return n, False  # never closed: every generated token was reasoning
    for i in range(n - 1, -1, -1):
        if token_ids[i] in close_ids:
            return i + 1, False
    # The closing tag is not one token in this vocabulary: share of characters, marked so.
    return round(n * answer_offset / max(len(text), 1)), True


def to_generation(done: FinishedRequest, *, prefilled: bool, think_tags: Sequence[tuple[str, str]],
                  close_ids: frozenset[int], endpoint: str) -> Generation:
    if done.finish_reason == "abort":
        return Generation(error="vLLM aborted the request", endpoint=endpoint,
                          timings=Timings(start=done.start, e2e=done.e2e))
    split = split_reasoning(done.text, tuple(tuple(t) for t in think_tags), prefilled=prefilled)
    count, estimated = reasoning_tokens(split.source, split.answer_offset, done.text, done.token_ids, close_ids)
    return Generation(
        content=split.content,
        reasoning=split.reasoning,
        reasoning_source=split.source,  # type: ignore[arg-type]
        finish_reason=done.finish_reason,
        usage=Usage(prompt_tokens=done.prompt_tokens, completion_tokens=len(done.token_ids),
                    reasoning_tokens=count, reasoning_tokens_estimated=estimated),
        timings=Timings(start=done.start, ttft=done.ttft, e2e=done.e2e),
        endpoint=endpoint,
    )
