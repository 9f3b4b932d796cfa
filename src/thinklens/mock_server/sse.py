"""Bytes of the streamed chunks, templated once per response.

Streaming thousands of tokens per second on one core leaves no room for a
`json.dumps` per token: each response pre-encodes the constant head of its
chunks (`id`, `created`, `model`, choice index) and per token only the token
text is JSON-escaped (the C escaper) and concatenated.  The output is exactly
what vLLM sends (`model_dump_json(exclude_unset=True)` shape):

    data: {"id":"chatcmpl-…","object":"chat.completion.chunk","created":1700000000,
           "model":"m","choices":[{"index":0,"delta":{"content":"Hi"},
           "logprobs":null,"finish_reason":null}]}
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii as _esc

DONE = b"data: [DONE]\n\n"
_TAIL_OPEN = b'},"logprobs":null,"finish_reason":null}]}\n\n'
_TAILS = {
    None: _TAIL_OPEN,
    "stop": b'},"logprobs":null,"finish_reason":"stop"}]}\n\n',
    "length": b'},"logprobs":null,"finish_reason":"length"}]}\n\n',
}
_CONTENT = b'"content":'
_EMPTY_CONTENT = b'"content":""'


# `choices` values of the wrong_shape fault: valid JSON, not a chat-completion chunk.
WRONG_SHAPES = (
    b"[1]",
    b'[{"index":0,"delta":"tru","finish_reason":null}]',
    b'[{"index":0,"delta":{"content":42},"finish_reason":null}]',
    b"{}",
)


def esc(text: str) -> bytes:
    """JSON string literal of `text` (ASCII-only output: safe for any input)."""
    return _esc(text).encode("ascii")


class ChunkEncoder:
    """Encodes the SSE events of one response."""

    __slots__ = ("completion_id", "created", "model", "_heads", "_reasoning_key", "_prompt_tokens")

    def __init__(self, completion_id: str, created: int, model: str, n: int, reasoning_field: str) -> None:
        self.completion_id = completion_id
        self.created = created
        self.model = model
        base = (
            f'data: {{"id":{_esc(completion_id)},"object":"chat.completion.chunk",'
            f'"created":{created},"model":{_esc(model)},"choices":[{{"index":'
        )
        self._heads = [f'{base}{i},"delta":{{'.encode("ascii") for i in range(n)]
        self._reasoning_key = f'"{reasoning_field}":'.encode("ascii")
        self._prompt_tokens: int | None = None

    def running_usage(self, prompt_tokens: int) -> None:
        """vLLM's `continuous_usage_stats`: every chunk carries the usage so far (its
        choice's completion tokens up to and including the chunk)."""
        self._prompt_tokens = prompt_tokens

    def _tail(self, finish_reason: str | None, completion: int) -> bytes:
        tail = _TAILS[finish_reason]
        p = self._prompt_tokens
        if p is None:
            return tail
        return tail[:-3] + b',"usage":{"prompt_tokens":%d,"total_tokens":%d,"completion_tokens":%d}}\n\n' % (
            p, p + completion, completion)

    def role(self, choice: int) -> bytes:
        return self._heads[choice] + b'"role":"assistant","content":""' + self._tail(None, 0)

    def tokens(self, choice: int, texts: list[str], start: int, stop: int, field_split: int,
               finish_reason: str | None) -> bytes:
        """One event carrying tokens texts[start:stop]; those before `field_split` are reasoning."""
        if stop <= start:
            delta = _EMPTY_CONTENT
        elif stop - start == 1:
            delta = (self._reasoning_key if start < field_split else _CONTENT) + esc(texts[start])
        elif stop <= field_split:
            delta = self._reasoning_key + esc("".join(texts[start:stop]))
        elif start >= field_split:
            delta = _CONTENT + esc("".join(texts[start:stop]))
        else:  # the event spans the end of the reasoning: both fields, as vLLM does
            delta = (self._reasoning_key + esc("".join(texts[start:field_split])) + b","
                     + _CONTENT + esc("".join(texts[field_split:stop])))
        return self._heads[choice] + delta + self._tail(finish_reason, stop)

    def usage(self, usage: dict) -> bytes:
        body = {
            "id": self.completion_id, "object": "chat.completion.chunk", "created": self.created,
            "model": self.model, "choices": [], "usage": usage,
        }
        return b"data: " + json.dumps(body, separators=(",", ":")).encode("ascii") + b"\n\n"

    def wrong_shape(self, variant: int) -> bytes:
        """An event of well-formed JSON in the wrong shape (a broken proxy or server)."""
        head = f'data: {{"id":{_esc(self.completion_id)},"object":"chat.completion.chunk","choices":'.encode("ascii")
        return head + WRONG_SHAPES[variant % len(WRONG_SHAPES)] + b"}\n\n"

    def malformed(self) -> bytes:
        """An event whose data is cut-off JSON (what a broken proxy delivers)."""
        return self._heads[0] + b'"content":"tru\n\n'
