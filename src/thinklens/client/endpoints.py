"""Spread requests over several replicas of the same model by load; eject the ones that fail."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


# Failures (5xx, timeouts, dropped streams) in a row, with no success between,
# that eject a replica; one refused connection ejects it at once.
FAULTS_TO_EJECT = 3


@dataclass
class Replica:
    url: str
    in_flight: int = 0
    sent: int = 0
    faults: int = 0  # failures since the last success
    ejections: int = 0  # consecutive ejections: the backoff doubles with each
    ejected_until: float = 0.0  # 0: live
    probing: bool = False  # a request is testing whether an ejected replica is back


class EndpointPool:
    """Pick the live endpoint with the fewest requests in flight (ties: round robin).

    In-flight count is a better signal than round robin for reasoning models: answer
    lengths vary 100x, so equal request counts are far from equal load.  But a dead
    replica has zero in flight and fails at once, so "fewest in flight" alone would
    send it everything: a replica that cannot be reached, or fails FAULTS_TO_EJECT
    times in a row, is ejected for `backoff` seconds (doubling up to `backoff_max`),
    then one request probes it; a success brings it back.
    """

    def __init__(
        self, urls: list[str], *, backoff: float = 1.0, backoff_max: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        if not urls:
            raise ValueError("at least one endpoint URL is needed")
        self.urls = list(urls)
        self.replicas = {u: Replica(u) for u in self.urls}
        self.backoff = backoff
        self.backoff_max = backoff_max
        self._clock = clock
        self._next = 0

    def live(self) -> list[str]:
        now = self._clock()
        return [u for u, r in self.replicas.items() if r.ejected_until <= now]

    def acquire(self, avoid: str | None = None) -> str:
        """The endpoint for the next request; `avoid` (where the last attempt failed)
        is taken only when no other replica is live."""
        if len(self.urls) == 1:
            replica = self.replicas[self.urls[0]]
        else:
            replica = self._choose(avoid)
        replica.in_flight += 1
        replica.sent += 1
        return replica.url

    def _choose(self, avoid: str | None) -> Replica:
        now = self._clock()
        n = len(self.urls)
        order = [self.replicas[self.urls[(self._next + i) % n]] for i in range(n)]
        # An ejected replica whose backoff is over gets one request (the probe); else the
        # healthy one with the fewest in flight; the avoided one only as a last resort.
        probe = [r for r in order if 0.0 < r.ejected_until <= now and not r.probing and r.url != avoid]
        healthy = [r for r in order if r.ejected_until == 0.0 and r.url != avoid]
        if probe:
            chosen = probe[0]
            chosen.probing = True
        elif healthy:
            chosen = min(healthy, key=_load)
        else:
            live = [r for r in order if r.ejected_until == 0.0]
            # Everything is down: the replica back soonest (the retry's own backoff paces it).
            chosen = min(live, key=_load) if live else min(order, key=lambda r: r.ejected_until)
        self._next = (self.urls.index(chosen.url) + 1) % n
        return chosen

    def release(self, url: str) -> None:
        r = self.replicas[url]
        r.in_flight -= 1
        r.probing = False  # a probe that ended without a verdict (cancelled): the next request probes

    def succeeded(self, url: str) -> None:
        """The replica answered (HTTP 200): it is live."""
        r = self.replicas[url]
        r.faults = 0
        r.ejections = 0
        r.ejected_until = 0.0
        r.probing = False

    def failed(self, url: str, *, unreachable: bool = False) -> None:
        """A failure that is the replica's, not the request's (never a 4xx)."""
        r = self.replicas[url]
        r.faults += 1
        if len(self.urls) == 1:
            return  # nowhere else to go: the retry backoff paces it
        if unreachable or r.faults >= FAULTS_TO_EJECT or r.probing:
            self.eject(url)

    def eject(self, url: str) -> None:
        r = self.replicas[url]
        wait = min(self.backoff_max, self.backoff * (2 ** r.ejections))
        r.ejections += 1
        r.ejected_until = self._clock() + wait
        r.probing = False


def _load(r: Replica) -> int:
    return r.in_flight
