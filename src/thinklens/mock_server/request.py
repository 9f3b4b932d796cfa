"""Parsing and validating a chat-completions request body (400s with OpenAI-style errors)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from .tokens import count_tokens

MAX_N = 128


class BadRequest(Exception):
    """Answered as HTTP 400 with an OpenAI-style error body."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: list[dict[str, Any]]
    stream: bool = False
    include_usage: bool = False
    continuous_usage: bool = False  # vLLM's stream_options.continuous_usage_stats: usage on every chunk
    max_tokens: int | None = None
    ignore_eos: bool = False
    n: int = 1
    stop: tuple[str, ...] = ()
    seed: int | None = None
    # vLLM / SGLang chat extensions: continue the final (assistant) message instead of
    # starting a new turn.  vLLM's add_generation_prompt defaults to true, and both true is a 400.
    continue_final_message: bool = False
    add_generation_prompt: bool = True

    @cached_property
    def assistant_prefix(self) -> str | None:
        """The text the output continues (continue_final_message), else None."""
        return message_text(self.messages[-1]) if self.continue_final_message else None

    @cached_property
    def last_user_text(self) -> str:
        """The text replay looks up: the last user message (else the last message)."""
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return message_text(message)
        return message_text(self.messages[-1])

    @cached_property
    def prompt_tokens(self) -> int:
        return sum(count_tokens(message_text(m)) for m in self.messages)


def message_text(message: dict[str, Any]) -> str:
    """String content, or the text parts of a content list joined by newlines."""
    content = message.get("content")
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts = [p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"]
    return "\n".join(t for t in parts if isinstance(t, str))


def _number(body: dict, name: str, lo: float, hi: float) -> None:
    value = body.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadRequest(f"'{name}' must be a number, got {value!r}", name)
    if not (lo <= value <= hi):
        raise BadRequest(f"'{name}' must be between {lo} and {hi}, got {value!r}", name)


def _positive_int(body: dict, name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"'{name}' must be an integer, got {value!r}", name)
    if value < 1:
        raise BadRequest(f"'{name}' must be at least 1, got {value}", name)
    return value


def parse_chat_request(raw: bytes) -> ChatRequest:
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("The request body must be a JSON object.")

    messages = body.get("messages")
    if messages is None:
        raise BadRequest("'messages' is a required property.", "messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("'messages' must be a non-empty list of messages.", "messages")
    for i, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise BadRequest(f"messages[{i}] must be an object with a string 'role'.", f"messages[{i}]")
        content = message.get("content")
        if content is not None and not isinstance(content, (str, list)):
            raise BadRequest(f"messages[{i}].content must be a string or a list of parts.", f"messages[{i}].content")

    model = body.get("model", "")
    if not isinstance(model, str):
        raise BadRequest("'model' must be a string.", "model")

    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise BadRequest("'stream' must be a boolean.", "stream")
    stream_options = body.get("stream_options") or {}
    if not isinstance(stream_options, dict):
        raise BadRequest("'stream_options' must be an object.", "stream_options")
    if stream_options and not stream:
        raise BadRequest("'stream_options' is only allowed when 'stream' is true.", "stream_options")

    # OpenAI: max_completion_tokens supersedes the deprecated max_tokens.
    max_completion = _positive_int(body, "max_completion_tokens")
    max_tokens = max_completion if max_completion is not None else _positive_int(body, "max_tokens")
    n = _positive_int(body, "n") or 1
    if n > MAX_N:
        raise BadRequest(f"'n' must be at most {MAX_N}, got {n}", "n")
    _number(body, "temperature", 0.0, 2.0)
    _number(body, "top_p", 0.0, 1.0)
    _number(body, "presence_penalty", -2.0, 2.0)
    _number(body, "frequency_penalty", -2.0, 2.0)
    top_k = body.get("top_k")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < -1 or top_k == 0):
        raise BadRequest(f"'top_k' must be -1 (disabled) or a positive integer, got {top_k!r}", "top_k")

    stop = body.get("stop")
    if stop is None:
        stops: tuple[str, ...] = ()
    elif isinstance(stop, str):
        stops = (stop,) if stop else ()
    elif isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        stops = tuple(s for s in stop if s)
    else:
        raise BadRequest("'stop' must be a string or a list of strings.", "stop")

    seed = body.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise BadRequest("'seed' must be an integer.", "seed")
    ignore_eos = body.get("ignore_eos", False)
    if not isinstance(ignore_eos, bool):
        raise BadRequest("'ignore_eos' must be a boolean.", "ignore_eos")

    continue_final = body.get("continue_final_message", False)
    add_generation = body.get("add_generation_prompt", True)
    for name, value in (("continue_final_message", continue_final), ("add_generation_prompt", add_generation)):
        if not isinstance(value, bool):
            raise BadRequest(f"'{name}' must be a boolean.", name)
    if continue_final and add_generation:
        # vLLM's own check, word for word
        raise BadRequest("Cannot set both `continue_final_message` and `add_generation_prompt` to True.",
                         "continue_final_message")
    if continue_final and messages[-1].get("role") != "assistant":
        raise BadRequest("continue_final_message needs the last message to be the assistant's, to continue it.",
                         "continue_final_message")

    return ChatRequest(
        model=model,
        messages=messages,
        stream=stream,
        include_usage=bool(stream_options.get("include_usage", False)),
        continuous_usage=bool(stream_options.get("continuous_usage_stats", False)),
        max_tokens=max_tokens,
        ignore_eos=ignore_eos,
        n=n,
        stop=stops,
        seed=seed,
        continue_final_message=continue_final,
        add_generation_prompt=add_generation,
    )
