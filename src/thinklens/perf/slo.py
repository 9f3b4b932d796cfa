"""Service-level objectives (`--slo ttft=2s --slo tpot=50ms`) and goodput.

A request meets the SLOs when it succeeded and every named metric is at or below its
threshold; goodput is the rate of such requests (DistServe's definition).  A level
meets the SLOs when at least `attainment` of its measured requests (failures count
against it) meet them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..errors import ConfigError
from .records import RequestRecord

SLO_METRICS = ("ttft", "ttfat", "tpot", "e2e")
_UNITS = {"": 1.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "min": 60.0}
_VALUE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e-?[0-9]+)?)\s*(min|ms|us|µs|s)?\s*$", re.IGNORECASE)


def parse_duration(text: str, *, what: str) -> float:
    """'2s', '50ms', '1.5', '300us', '2min' -> seconds."""
    m = _VALUE.match(str(text))
    if not m:
        raise ConfigError(f"{what}: {text!r} is not a duration (examples: 2s, 50ms, 0.5)")
    value = float(m.group(1)) * _UNITS[(m.group(2) or "").lower()]
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{what}: {text!r} must be a positive duration")
    return value


@dataclass(frozen=True)
class SLO:
    thresholds: tuple[tuple[str, float], ...]  # (metric, seconds)

    @classmethod
    def parse(cls, items: list[str] | None) -> "SLO | None":
        if not items:
            return None
        found: dict[str, float] = {}
        for item in items:
            for part in str(item).split(","):
                if not part.strip():
                    continue
                name, sep, value = part.partition("=")
                name = name.strip().lower()
                if not sep or name not in SLO_METRICS:
                    raise ConfigError(
                        f"--slo {part.strip()!r}: write METRIC=DURATION with METRIC one of "
                        f"{', '.join(SLO_METRICS)} (e.g. --slo ttft=2s --slo tpot=50ms)"
                    )
                found[name] = parse_duration(value, what=f"--slo {name}")
        return cls(tuple(found.items()))

    def met_by(self, record: RequestRecord) -> bool:
        if not record.ok:
            return False
        for metric, limit in self.thresholds:
            value = getattr(record, metric)
            if value is None:
                if metric == "tpot" and (record.completion_tokens or 0) < 2:
                    continue  # a one-token answer has no time per output token to miss
                return False
            if value > limit:
                return False
        return True

    def as_dict(self) -> dict[str, float]:
        return dict(self.thresholds)

    def describe(self) -> str:
        return ", ".join(f"{m}<={_fmt(v)}" for m, v in self.thresholds)


def _fmt(seconds: float) -> str:
    return f"{seconds * 1e3:g}ms" if seconds < 1 else f"{seconds:g}s"
