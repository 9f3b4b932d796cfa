"""Seeded fault injection: which request fails, how, and after how many tokens.

The k-th valid chat request received always gets the k-th draw of
`random.Random(seed)`, three numbers per request whether it faults or not, so the
fault sequence is the same from run to run (by arrival order).
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class FaultDraw:
    kind: str | None  # None: no fault; else "429" | "500" | "reset" | "stall" | "malformed" | "wrong_shape"
    position: float  # in [0, 1): where in the stream a mid-stream fault strikes

    def step(self, steps: int) -> int:
        """The stream step at which a mid-stream fault strikes: after >= 1 step when
        the stream has more than one ("sends some tokens, then ...")."""
        if steps <= 1:
            return 0
        return 1 + int(self.position * (steps - 1))


class FaultInjector:
    def __init__(self, rate: float, kinds: tuple[str, ...], seed: int) -> None:
        self.rate = rate
        self.kinds = kinds
        self._rng = random.Random(seed)

    def draw(self) -> FaultDraw:
        rng = self._rng
        u, k, position = rng.random(), rng.random(), rng.random()
        if self.rate <= 0 or u >= self.rate or not self.kinds:
            return FaultDraw(None, position)
        return FaultDraw(self.kinds[int(k * len(self.kinds))], position)
