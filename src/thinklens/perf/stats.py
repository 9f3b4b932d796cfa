"""Statistics of one level: latency distributions, throughput, goodput, failures.

Percentiles interpolate linearly between order statistics (numpy's default, as vLLM's
`bench serve` does), so figures are comparable with theirs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .records import RequestRecord
from .slo import SLO

PERCENTILES = (("p50", 50.0), ("p90", 90.0), ("p95", 95.0), ("p99", 99.0), ("p999", 99.9))
DIST_KEYS = ("mean", "p50", "p90", "p95", "p99", "p999", "max")
METRICS = ("ttft", "ttfat", "tpot", "itl", "e2e")


def distribution(values: Iterable[float] | np.ndarray) -> dict[str, float | int | None]:
    """{mean, p50, p90, p95, p99, p999, max} (+ min, std, n) of the values, in seconds."""
    arr = values if isinstance(values, np.ndarray) else np.fromiter(values, dtype=float)
    if arr.size == 0:
        return {**{k: None for k in DIST_KEYS}, "min": None, "std": None, "n": 0}
    qs = np.percentile(arr, [q for _, q in PERCENTILES])
    out: dict[str, float | int | None] = {"mean": float(arr.mean())}
    out.update({name: float(v) for (name, _), v in zip(PERCENTILES, qs)})
    out["max"] = float(arr.max())
    out["min"] = float(arr.min())
    out["std"] = float(arr.std(ddof=1)) if arr.size > 1 else 0.0
    out["n"] = int(arr.size)
    return out


@dataclass
class LevelSummary:
    """What one load level measured.  `as_dict()` is its entry in summary.json."""

    label: str
    mode: str  # "closed" | "open"
    concurrency: int | None
    rate: float | None
    input_tokens: int | None
    requests_ok: int
    requests_failed: int
    requests_cancelled: int
    failures: dict[str, int]
    duration: float
    request_throughput: float
    output_throughput: float
    total_throughput: float
    concurrency_achieved: float
    metrics: dict[str, dict[str, Any]]
    tokens: dict[str, Any]
    goodput: dict[str, Any] | None
    generator: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    excluded: dict[str, int] = field(default_factory=dict)
    # connections opened before the level (`warmup_opened`, of `warmup_wanted`) and
    # while it was measured (`opened_during_measure`: should be 0)
    connections: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"level": self.label, "mode": self.mode}
        if self.mode == "closed":
            d["concurrency"] = self.concurrency
        else:
            d["rate"] = _json_rate(self.rate)
            d["max_concurrency"] = self.concurrency
        if self.input_tokens is not None:
            d["input_tokens"] = self.input_tokens
        d.update(
            requests_ok=self.requests_ok,
            requests_failed=self.requests_failed,
            requests_cancelled=self.requests_cancelled,
            failures=self.failures,
            duration=self.duration,
            request_throughput=self.request_throughput,
            output_throughput=self.output_throughput,
            total_throughput=self.total_throughput,
            concurrency_achieved=self.concurrency_achieved,
        )
        d.update(self.metrics)
        d["tokens"] = self.tokens
        d["goodput"] = self.goodput
        d["generator"] = self.generator
        d["excluded"] = self.excluded
        d["connections"] = self.connections
        d["warnings"] = self.warnings
        return d

    @property
    def attainment(self) -> float | None:
        return None if not self.goodput else self.goodput["attainment"]


def _json_rate(rate: float | None) -> float | str | None:
    if rate is None:
        return None
    return "inf" if rate == float("inf") else rate


def failure_reason(record: RequestRecord) -> str:
    """A short, countable reason for a failed request."""
    if record.http_status:
        return f"HTTP {record.http_status}"
    return record.error_kind or "error"


def summarize_level(
    records: list[RequestRecord],
    *,
    label: str,
    mode: str,
    concurrency: int | None,
    rate: float | None,
    input_tokens: int | None = None,
    slo: SLO | None = None,
    attainment_target: float = 0.9,
) -> LevelSummary:
    measured = [r for r in records if r.phase == "measure" and r.status != "cancelled"]
    ok = [r for r in measured if r.ok]
    failed = [r for r in measured if r.status == "error"]
    duration, busy = _window(records, measured)
    prompt_tokens = sum(r.prompt_tokens or 0 for r in ok)
    completion_tokens = sum(r.completion_tokens or 0 for r in ok)

    def rate_of(n: float) -> float:
        return n / duration if duration > 0 else 0.0

    return LevelSummary(
        label=label,
        mode=mode,
        concurrency=concurrency,
        rate=rate,
        input_tokens=input_tokens,
        requests_ok=len(ok),
        requests_failed=len(failed),
        requests_cancelled=sum(1 for r in records if r.phase == "measure" and r.status == "cancelled"),
        failures=dict(Counter(failure_reason(r) for r in failed).most_common()),
        duration=duration,
        request_throughput=rate_of(len(ok)),
        output_throughput=rate_of(completion_tokens),
        total_throughput=rate_of(prompt_tokens + completion_tokens),
        concurrency_achieved=busy / duration if duration > 0 else 0.0,
        metrics=_latency_metrics(ok, measured),
        tokens=_token_summary(ok),
        goodput=_goodput(measured, slo, attainment_target, rate_of) if slo is not None else None,
        excluded=dict(Counter(r.phase for r in records if r.phase != "measure")),
        connections={
            "opened_during_measure": sum(1 for r in records if r.phase == "measure" and r.new_connection),
            "opened_during_level": sum(1 for r in records if r.new_connection),
        },
    )


def _window(records: list[RequestRecord], measured: list[RequestRecord]) -> tuple[float, float]:
    """The measured window's length, and the request-seconds in flight during it."""
    if not measured:
        return 0.0, 0.0
    t0 = min(r.start for r in measured)
    t1 = max(r.end for r in measured)
    # Requests in flight over the window, whatever their phase (the cool-down requests
    # that hold the load count: they load the server too).
    busy = sum(max(0.0, min(r.end, t1) - max(r.start, t0)) for r in records if r.end > t0 and r.start < t1)
    return max(t1 - t0, 1e-9), busy


def _latency_metrics(ok: list[RequestRecord], measured: list[RequestRecord]) -> dict[str, Any]:
    def per_request(attr: str) -> np.ndarray:
        return np.fromiter((v for r in ok if (v := getattr(r, attr)) is not None), dtype=float)

    itl_parts = [np.frombuffer(r.itl, dtype=float) for r in ok if len(r.itl)]
    metrics = {
        "ttft": distribution(per_request("ttft")),
        "ttfat": distribution(per_request("ttfat")),
        "tpot": distribution(per_request("tpot")),
        "itl": distribution(np.concatenate(itl_parts) if itl_parts else np.empty(0)),
        "e2e": distribution(per_request("e2e")),
    }
    waits = [w for r in measured if (w := r.queue_wait) is not None]
    if waits:
        metrics["queue_wait"] = distribution(waits)
    lags = [w for r in measured if (w := r.send_lag) is not None]
    if lags:
        metrics["send_lag"] = distribution(lags)
    return metrics


def _token_summary(ok: list[RequestRecord]) -> dict[str, Any]:
    prompt_tokens = sum(r.prompt_tokens or 0 for r in ok)
    completion_tokens = sum(r.completion_tokens or 0 for r in ok)
    client_counted = [r.input_tokens for r in ok if r.input_tokens is not None]
    return {
        "prompt_total": prompt_tokens,
        "completion_total": completion_tokens,
        "prompt_mean": prompt_tokens / len(ok) if ok else None,
        "completion_mean": completion_tokens / len(ok) if ok else None,
        "reasoning_mean": (
            sum(r.reasoning_tokens or 0 for r in ok) / len(ok) if ok and any(r.reasoning_tokens for r in ok) else None
        ),
        "input_tokens_client_mean": sum(client_counted) / len(client_counted) if client_counted else None,
        "completion_tokens_source": dict(Counter(r.tokens_source for r in ok)),
        "itl_source": dict(Counter(r.itl_source for r in ok)),
        "finish_reasons": dict(Counter(r.finish_reason or "none" for r in ok)),
    }


def _goodput(
    measured: list[RequestRecord], slo: SLO, attainment_target: float, rate_of: Callable[[float], float]
) -> dict[str, Any]:
    good = sum(1 for r in measured if slo.met_by(r))
    attained = good / len(measured) if measured else 0.0
    return {
        "slo": slo.as_dict(),
        "requests": good,
        "request_throughput": rate_of(good),
        "attainment": attained,
        "attainment_target": attainment_target,
        "met": bool(measured) and attained >= attainment_target,
    }
