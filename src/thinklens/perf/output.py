"""What a load test leaves in its folder (all times in seconds):

- `requests.jsonl`: one line per request, written when its level ends (writing while
  a level runs would stall the event loop for milliseconds and show up in the
  latencies; Ctrl-C still writes what was measured): `level, start, ttft, ttfat,
  end, prompt_tokens, completion_tokens, status, error` then extras (`phase`, `e2e`,
  `tpot`, token sources, failure kind...).  `start`/`end` are on one monotonic clock;
  `summary.json` -> `clock` maps it to wall time.  Warm-up and cool-down rows are kept
  with their `phase`; only `phase == "measure"` rows enter the summary.
- `run.sqlite`: the same rows in table `perf_requests` (and `perf_levels`), so the
  viewer reads perf runs from the run store like every other run.
- `summary.json`: `{"levels": [...]}` with one entry per level (see stats.py), plus the
  config, the search result, warnings.
- `summary.csv`: one row per level, flat columns (`ttft_p99`, ...).
"""

from __future__ import annotations

import csv
import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_text
from ..store import RunStore
from ..store import perf as perf_tables
from .records import RequestRecord
from .stats import DIST_KEYS, METRICS, LevelSummary

REQUESTS_FILE = "requests.jsonl"
SUMMARY_JSON = "summary.json"
SUMMARY_CSV = "summary.csv"


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "inf" if value > 0 else ("-inf" if value < 0 else None)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


class PerfOutput:
    """Streams request rows to disk and writes the summaries."""

    def __init__(self, out_dir: str | Path):
        self.dir = Path(out_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._jsonl = open(self.dir / REQUESTS_FILE, "w", encoding="utf-8")
        self.store = RunStore(self.dir)
        perf_tables.clear(self.store)
        self._buffer: list[RequestRecord] = []
        self.rows_written = 0

    def write(self, rec: RequestRecord) -> None:
        """Queue a row; it reaches the disk at the next `flush()` (between levels)."""
        self._buffer.append(rec)

    def write_many(self, recs: list[RequestRecord]) -> None:
        self._buffer.extend(recs)
        self.flush()

    def flush(self) -> None:
        if not self._buffer:
            return
        rows, self._buffer = self._buffer, []
        self._jsonl.write("".join(json.dumps(r.row(), ensure_ascii=False) + "\n" for r in rows))
        self._jsonl.flush()
        perf_tables.add_requests(self.store, rows)
        self.rows_written += len(rows)

    def write_summary(self, summary: dict[str, Any], levels: list[LevelSummary]) -> None:
        self.flush()
        perf_tables.set_levels(self.store, [(lv.label, json.dumps(_json_safe(lv.as_dict()))) for lv in levels])
        self.store.set_meta("kind", "perf")
        self.store.set_meta("perf_config", _json_safe(summary.get("config")))
        atomic_write_text(self.dir / SUMMARY_JSON, json.dumps(_json_safe(summary), indent=2, ensure_ascii=False) + "\n")
        write_summary_csv(self.dir / SUMMARY_CSV, levels)

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._jsonl.close()
            self.store.close()


def csv_columns() -> list[str]:
    cols = [
        "level",
        "mode",
        "concurrency",
        "rate",
        "input_tokens",
        "requests_ok",
        "requests_failed",
        "requests_cancelled",
        "duration",
        "request_throughput",
        "output_throughput",
        "total_throughput",
        "concurrency_achieved",
        "goodput_request_throughput",
        "slo_attainment",
        "prompt_tokens_mean",
        "completion_tokens_mean",
    ]
    for metric in METRICS:
        cols.extend(f"{metric}_{k}" for k in DIST_KEYS)
    cols.extend(["generator_cpu_utilization", "generator_cpu_per_request_ms", "generator_loop_lag_p99", "warnings"])
    return cols


def level_csv_row(lv: LevelSummary) -> dict[str, Any]:
    row: dict[str, Any] = {
        "level": lv.label,
        "mode": lv.mode,
        "concurrency": lv.concurrency,
        "rate": _json_safe(lv.rate),
        "input_tokens": lv.input_tokens,
        "requests_ok": lv.requests_ok,
        "requests_failed": lv.requests_failed,
        "requests_cancelled": lv.requests_cancelled,
        "duration": lv.duration,
        "request_throughput": lv.request_throughput,
        "output_throughput": lv.output_throughput,
        "total_throughput": lv.total_throughput,
        "concurrency_achieved": lv.concurrency_achieved,
        "goodput_request_throughput": lv.goodput["request_throughput"] if lv.goodput else None,
        "slo_attainment": lv.goodput["attainment"] if lv.goodput else None,
        "prompt_tokens_mean": lv.tokens.get("prompt_mean"),
        "completion_tokens_mean": lv.tokens.get("completion_mean"),
        "generator_cpu_utilization": lv.generator.get("cpu_utilization"),
        "generator_cpu_per_request_ms": lv.generator.get("cpu_per_request_ms"),
        "generator_loop_lag_p99": lv.generator.get("loop_lag_p99"),
        "warnings": " | ".join(lv.warnings),
    }
    for metric in METRICS:
        dist = lv.metrics.get(metric) or {}
        for k in DIST_KEYS:
            row[f"{metric}_{k}"] = dist.get(k)
    return row


def write_summary_csv(path: Path, levels: list[LevelSummary]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=csv_columns())
        writer.writeheader()
        for lv in levels:
            writer.writerow({k: ("" if v is None else v) for k, v in level_csv_row(lv).items()})


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def load_requests(path: str | Path) -> list[RequestRecord]:
    """Read a `requests.jsonl` back into records (ITL per token is not stored)."""
    out: list[RequestRecord] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip():
                continue
            r = json.loads(line)
            out.append(
                RequestRecord(
                    level=r["level"],
                    phase=r.get("phase", "measure"),
                    index=r.get("index", len(out)),
                    start=r["start"],
                    end=r["end"],
                    status=r["status"],
                    ttft=r.get("ttft"),
                    ttfat=r.get("ttfat"),
                    prompt_tokens=r.get("prompt_tokens"),
                    completion_tokens=r.get("completion_tokens"),
                    reasoning_tokens=r.get("reasoning_tokens"),
                    tokens_source=r.get("tokens_source", "server"),
                    chunks=r.get("chunks", 0),
                    itl_source=r.get("itl_source", "none"),
                    error=r.get("error"),
                    error_kind=r.get("error_kind"),
                    http_status=r.get("http_status"),
                    scheduled=r.get("scheduled"),
                    finish_reason=r.get("finish_reason"),
                    input_tokens=r.get("input_tokens"),
                    response_id=r.get("id"),
                )
            )
    return out
