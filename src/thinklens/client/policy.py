"""The one timeout and retry policy for every request (eval, judge, perf)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
import time


@dataclass(frozen=True)
class ClientPolicy:
    """Seconds.  Defaults fit reasoning models: answers take many minutes, and a busy
    server may queue a request for long before its first token, but once a stream has
    started, minutes of silence mean it is stuck."""

    timeout_connect: float = 30.0
    timeout_first_token: float = 1800.0  # request sent -> first byte of the response body
    timeout_idle: float = 300.0  # silence between chunks once streaming has started
    timeout_total: float | None = None  # per attempt; off by default
    max_retries: int = 5
    retry_backoff: float = 1.0  # first wait; doubles each retry
    retry_backoff_max: float = 60.0
    # A failing replica (of several) is ejected this long, doubling each time it fails again.
    eject_backoff: float = 1.0
    eject_backoff_max: float = 60.0
    # Stop (raise ServerRefused) after this many identical refusals (same 4xx, same
    # message) in a row with no success between; 0: never (each is the sample's error).
    refusals_to_stop: int = 0

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Wait before retry number `attempt` (1-based): Retry-After if the server gave
        one, else exponential with jitter (half fixed, half random) so that many
        clients failing together do not retry in lockstep."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_backoff_max * 10)
        ceiling = min(self.retry_backoff_max, self.retry_backoff * (2 ** (attempt - 1)))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is either delay-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None
