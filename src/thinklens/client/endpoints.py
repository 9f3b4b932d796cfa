"""Spread requests over several replicas of the same model by load."""

from __future__ import annotations


class EndpointPool:
    """Pick the endpoint with the fewest requests in flight (ties: round robin).

    In-flight count is a better signal than round robin for reasoning models: answer
    lengths vary 100x, so equal request counts are far from equal load.
    """

    def __init__(self, urls: list[str]):
        if not urls:
            raise ValueError("at least one endpoint URL is needed")
        self.urls = list(urls)
        self.in_flight = {u: 0 for u in self.urls}
        self.sent = {u: 0 for u in self.urls}
        self._next = 0

    def acquire(self) -> str:
        if len(self.urls) == 1:
            url = self.urls[0]
        else:
            n = len(self.urls)
            order = [self.urls[(self._next + i) % n] for i in range(n)]
            url = min(order, key=self.in_flight.__getitem__)
            self._next = (self.urls.index(url) + 1) % n
        self.in_flight[url] += 1
        self.sent[url] += 1
        return url

    def release(self, url: str) -> None:
        self.in_flight[url] -= 1
