"""The load generator watching itself: event-loop lag, CPU use, arrival lag.

A Python client measures a chunk's arrival when its coroutine runs, so a saturated
event loop inflates every latency it reports.  `GeneratorMonitor` samples how late a
10 ms timer fires (loop lag) and the process CPU time; the level summary carries the
figures and a warning when they say the client, not the server, set the pace.
"""

from __future__ import annotations

import asyncio
import resource
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .eventloop import cancel_and_wait

LAG_PERIOD = 0.01
# Warn above these: timing error of this size is no longer negligible next to the 1-2 ms
# accuracy promised, and above ~85 % of one core the event loop is queueing work.
LAG_P99_WARN = 0.005
CPU_WARN = 0.85
ARRIVAL_LAG_P99_WARN = 0.005


def _cpu_seconds() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


@dataclass
class GeneratorMonitor:
    lags: list[float] = field(default_factory=list)
    arrival_lags: list[float] = field(default_factory=list)
    arrival_times: list[float] = field(default_factory=list)
    _task: asyncio.Task | None = None
    _cpu0: float = 0.0
    _wall0: float = 0.0
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0

    def start(self) -> None:
        self._cpu0 = _cpu_seconds()
        self._wall0 = time.perf_counter()
        self._task = asyncio.get_running_loop().create_task(self._sample())

    async def _sample(self) -> None:
        loop = asyncio.get_running_loop()
        lags = self.lags
        while True:
            due = loop.time() + LAG_PERIOD
            await asyncio.sleep(LAG_PERIOD)
            lags.append(max(0.0, loop.time() - due))

    async def stop(self) -> None:
        self.cpu_seconds = _cpu_seconds() - self._cpu0
        self.wall_seconds = time.perf_counter() - self._wall0
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None

    def note_arrival(self, due: float, now: float) -> None:
        self.arrival_lags.append(now - due)
        self.arrival_times.append(now)

    def report(self, requests: int, *, rate: float | None = None) -> tuple[dict[str, Any], list[str]]:
        """Figures for summary.json and the warnings they call for."""
        warnings: list[str] = []
        cpu_frac = self.cpu_seconds / self.wall_seconds if self.wall_seconds > 0 else 0.0
        lag = np.asarray(self.lags) if self.lags else np.zeros(1)
        out: dict[str, Any] = {
            "cpu_seconds": self.cpu_seconds,
            "cpu_utilization": cpu_frac,  # of one core: the event loop runs on one
            "cpu_per_request_ms": (self.cpu_seconds / requests * 1e3) if requests else None,
            "loop_lag_p50": float(np.percentile(lag, 50)),
            "loop_lag_p99": float(np.percentile(lag, 99)),
            "loop_lag_max": float(lag.max()),
        }
        if cpu_frac > CPU_WARN:
            warnings.append(
                f"the load generator used {cpu_frac:.0%} of a CPU core: it may be the bottleneck and its "
                "latencies may be inflated (run fewer levels at once, or several thinklens processes)"
            )
        if out["loop_lag_p99"] > LAG_P99_WARN:
            warnings.append(
                f"the client's event loop ran late (p99 {out['loop_lag_p99'] * 1e3:.1f} ms): timings carry "
                "that much client-side error"
            )
        if self.arrival_lags:
            arr = np.asarray(self.arrival_lags)
            out["arrival_lag_p50"] = float(np.percentile(arr, 50))
            out["arrival_lag_p99"] = float(np.percentile(arr, 99))
            out["arrival_lag_max"] = float(arr.max())
            if out["arrival_lag_p99"] > ARRIVAL_LAG_P99_WARN:
                warnings.append(
                    f"arrivals left late (p99 {out['arrival_lag_p99'] * 1e3:.1f} ms behind schedule): the "
                    "generator could not keep the requested rate exactly"
                )
            span = self.arrival_times[-1] - self.arrival_times[0]
            if rate and span > 0 and len(arr) >= 20 and rate != float("inf"):
                achieved = (len(arr) - 1) / span
                out["arrival_rate_achieved"] = achieved
                # Poisson counts vary by ~1/sqrt(n): only a shortfall well beyond that is ours.
                if achieved < rate * (1 - 3 / np.sqrt(len(arr))) and out["arrival_lag_p99"] > ARRIVAL_LAG_P99_WARN:
                    warnings.append(
                        f"requested {rate:g} req/s but sent {achieved:.2f} req/s: the generator could not keep up"
                    )
        return out, warnings
