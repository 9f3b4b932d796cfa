"""HTTP client for OpenAI-compatible servers (eval, judge, perf) and reasoning extraction."""

from .http import AttemptError, ChatClient, ChatRequest, StreamTrace
from .policy import ClientPolicy
from .reasoning import ReasoningSplit, split_reasoning

__all__ = [
    "AttemptError", "ChatClient", "ChatRequest", "ClientPolicy", "ReasoningSplit", "StreamTrace", "split_reasoning",
]
