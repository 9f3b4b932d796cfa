"""Open-loop arrival times: Poisson or gamma, on an absolute schedule.

Arrival k is due at `t0 + sum(intervals[:k])`, computed from the start, never from the
previous send: a late wake-up delays one request, not every request after it (no drift).
Gamma intervals with shape `burstiness` and mean 1/rate: 1 is Poisson, below 1 bursty,
above 1 more regular (vLLM's `--burstiness`).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator


class ArrivalSchedule:
    def __init__(self, rate: float, *, burstiness: float = 1.0, seed: int = 0):
        if not (rate > 0):
            raise ValueError("rate must be > 0 (use inf for everything at once)")
        if not (burstiness > 0 and math.isfinite(burstiness)):
            raise ValueError("burstiness must be a positive number")
        self.rate = rate
        self.burstiness = burstiness
        self._rng = random.Random(seed)

    @property
    def infinite(self) -> bool:
        return math.isinf(self.rate)

    def interval(self) -> float:
        if self.infinite:
            return 0.0
        if self.burstiness == 1.0:
            return self._rng.expovariate(self.rate)
        # mean = shape * scale = 1/rate
        return self._rng.gammavariate(self.burstiness, 1.0 / (self.rate * self.burstiness))

    def offsets(self) -> Iterator[float]:
        """Due times relative to the start: the first request at 0, then the gaps."""
        t = 0.0
        while True:
            yield t
            t += self.interval()
