"""The server's reply, validated at the boundary: nothing unchecked gets past the client.

A server (or a proxy in front of it) may send well-formed JSON of the wrong shape:
`choices: [1]`, `delta: "x"`, `content: 42`, `usage.completion_tokens: "many"`.
Such a reply is `MalformedResponse` (the attempt's error, retried), never a crash
and never a stored answer.

The per-token path (`stream_delta`) returns a plain tuple instead of a record:
a dataclass per chunk would cost a quarter of the parse time; the records
(`WireUsage`, `WireMessage`) are built once per response.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# (content, reasoning, reasoning_source, finish_reason) of one streamed choice delta
DeltaFields = tuple["str | None", "str | None", str, "str | None"]


class MalformedResponse(ValueError):
    """The reply is JSON, but not of the OpenAI chat-completions shape."""


@dataclass(frozen=True, slots=True)
class WireUsage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    reasoning_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class WireMessage:
    """A non-streamed completion's first choice."""

    content: str
    reasoning: str
    reasoning_source: str
    finish_reason: str | None
    usage: WireUsage | None


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def token_count(value: Any, name: str) -> int | None:
    """A usage field: a non-negative int or None.  A bool is not a count; an integral
    float (`12.0`, some proxies re-encode numbers) is accepted."""
    t = type(value)
    if t is int:
        if value >= 0:
            return value
    elif value is None:
        return None
    elif t is float and value.is_integer() and value >= 0:
        return int(value)
    raise MalformedResponse(f"usage.{name} is {value!r}, not a token count")


def parse_usage(raw: Any) -> WireUsage | None:
    if raw is None:
        return None
    if type(raw) is not dict:
        raise MalformedResponse(f"usage is a {_kind(raw)}, not an object")
    details = raw.get("completion_tokens_details")
    if details is None:
        reasoning = None
    elif type(details) is dict:
        reasoning = token_count(details.get("reasoning_tokens"), "completion_tokens_details.reasoning_tokens")
    else:
        raise MalformedResponse(f"usage.completion_tokens_details is a {_kind(details)}, not an object")
    return WireUsage(
        token_count(raw.get("prompt_tokens"), "prompt_tokens"),
        token_count(raw.get("completion_tokens"), "completion_tokens"),
        reasoning,
    )


def _text(value: Any, where: str) -> str | None:
    if value is None or type(value) is str:
        return value
    raise MalformedResponse(f"{where} is a {_kind(value)}, not a string")


def reasoning_of(obj: dict[str, Any], where: str) -> tuple[str, str]:
    """The reasoning carried by a message or delta, and the field it came in."""
    text = _text(obj.get("reasoning_content"), f"{where}.reasoning_content")
    if text:
        return text, "reasoning_content"
    text = obj.get("reasoning")
    # `reasoning` is a string on Ollama/OpenRouter/newer vLLM; other servers use the
    # name for an object (effort settings): not text, so not reasoning, not an error.
    if text and type(text) is str:
        return text, "reasoning"
    details = obj.get("reasoning_details")
    if details and type(details) is list:
        parts = [d.get("text") or d.get("summary") or "" for d in details if type(d) is dict]
        joined = "".join(p for p in parts if type(p) is str)
        if joined:
            return joined, "reasoning_details"
    return "", "none"


def first_choice(choices: Any) -> dict[str, Any]:
    if type(choices) is not list:
        raise MalformedResponse(f"choices is a {_kind(choices)}, not a list")
    choice = choices[0]
    if type(choice) is not dict:
        raise MalformedResponse(f"choices[0] is a {_kind(choice)}, not an object")
    return choice


def finish_reason_of(choice: dict[str, Any]) -> str | None:
    return _text(choice.get("finish_reason"), "choices[0].finish_reason")


def stream_delta(choices: Any) -> DeltaFields:
    """Validated fields of a streamed chunk's first choice (`choices` is non-empty).
    Runs once per token: the common shape is checked first, the rare fields only when present."""
    # first_choice(), inlined: a call per token is measurable here
    if type(choices) is not list:
        raise MalformedResponse(f"choices is a {_kind(choices)}, not a list")
    choice = choices[0]
    if type(choice) is not dict:
        raise MalformedResponse(f"choices[0] is a {_kind(choice)}, not an object")
    delta = choice.get("delta")
    if type(delta) is not dict:
        if delta is not None:
            raise MalformedResponse(f"choices[0].delta is a {_kind(delta)}, not an object")
        delta = {}
    piece = delta.get("content")
    if piece is not None and type(piece) is not str:
        raise MalformedResponse(f"choices[0].delta.content is a {_kind(piece)}, not a string")
    reasoning = delta.get("reasoning_content")
    if reasoning and type(reasoning) is str:
        source = "reasoning_content"
    elif reasoning or len(delta) > 1 or piece is None:
        reasoning, source = reasoning_of(delta, "choices[0].delta")
    else:
        source = "none"
    reason = choice.get("finish_reason")
    if reason is not None and type(reason) is not str:
        raise MalformedResponse(f"choices[0].finish_reason is a {_kind(reason)}, not a string")
    return piece, reasoning or None, source, reason


def error_message(err: Any) -> str:
    """The text of an OpenAI-style `error` member (an object with `message`, or a string)."""
    if type(err) is dict:
        return str(err.get("message") or err)
    return str(err)


def parse_message(data: Any) -> WireMessage:
    """A decoded non-streamed completion."""
    if type(data) is not dict:
        raise MalformedResponse(f"the reply is a {_kind(data)}, not an object")
    choices = data.get("choices")
    if not choices:
        raise MalformedResponse("the reply has no choices")
    choice = first_choice(choices)
    message = choice.get("message")
    if message is None:
        message = {}
    elif type(message) is not dict:
        raise MalformedResponse(f"choices[0].message is a {_kind(message)}, not an object")
    content = _text(message.get("content"), "choices[0].message.content") or ""
    reasoning, source = reasoning_of(message, "choices[0].message")
    return WireMessage(content, reasoning, source, finish_reason_of(choice), parse_usage(data.get("usage")))
