"""Results other commands leave beside a run, read tolerantly: efficiency and perf.

These files belong to `thinklens efficiency` and `thinklens perf`; the viewer shows
what is there and never fails on what is not (a missing file, an unknown key, an
older layout): a page without them is still a page.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .reader import RunReader

EFFICIENCY_FILENAME = "efficiency.json"
FIGURE_SUFFIXES = (".png", ".svg", ".jpg", ".jpeg", ".webp")

# Preferred order and labels of the efficiency metrics (others follow, as they come).
EFFICIENCY_METRICS: tuple[tuple[str, str], ...] = (
    ("n", "n"),
    ("accuracy", "accuracy"),
    ("n_reached_correct", "reached a correct answer"),
    ("n_truncated", "truncated"),
    ("n_judge_unparsed", "judge unparsed"),
    ("reasoning_tokens", "reasoning tokens"),
    ("first_correct_tokens", "tokens to first correct"),
    ("reflection_tokens", "reflection tokens"),
    ("token_efficiency", "token efficiency"),
    ("thought_num", "thought switches"),
    ("solutions", "solutions"),
    ("xi_o", "ξ overthinking"),
    ("xi_ut", "ξ underthinking"),
)


@dataclass(frozen=True)
class EfficiencySummary:
    settings: dict[str, Any]
    columns: list[tuple[str, str]]  # (key, label)
    rows: list[tuple[str, dict[str, Any]]]  # (subset or "overall", metrics)
    figures: list[Path]


def load_efficiency(run_dir: Path) -> EfficiencySummary | None:
    path = run_dir / EFFICIENCY_FILENAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    subsets = data.get("subsets") if isinstance(data.get("subsets"), dict) else {}
    rows: list[tuple[str, dict[str, Any]]] = [(str(k), v) for k, v in subsets.items() if isinstance(v, dict)]
    if isinstance(data.get("overall"), dict):
        rows.append(("overall", data["overall"]))
    keys: list[str] = [k for k, _ in EFFICIENCY_METRICS if any(k in m for _, m in rows)]
    for _, metrics in rows:
        keys += [k for k, v in metrics.items() if k not in keys and _is_scalar(v)]
    labels = dict(EFFICIENCY_METRICS)
    settings = data.get("settings") if isinstance(data.get("settings"), dict) else {}
    return EfficiencySummary(settings, [(k, labels.get(k, k)) for k in keys], rows, figures(run_dir, "efficiency"))


def figures(folder: Path, prefix: str = "") -> list[Path]:
    """Image files directly in `folder` whose name starts with `prefix`, sorted."""
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    return [p for p in entries if p.is_file() and p.suffix.lower() in FIGURE_SUFFIXES and p.name.startswith(prefix)]


def _is_scalar(v: Any) -> bool:
    return isinstance(v, (int, float, str, bool)) or v is None


@dataclass(frozen=True)
class SampleEfficiency:
    """One trace's efficiency row (table `efficiency_samples` of the run store)."""

    steps: list[Any] = field(default_factory=list)
    first_correct_step: int | None = None
    first_correct_offset: int | None = None
    switches: list[tuple[int, str]] = field(default_factory=list)
    numbers: dict[str, Any] = field(default_factory=dict)  # every other scalar column


_STRUCTURED = {"key", "steps", "first_correct_step", "first_correct_offset", "thought_switches"}


def sample_efficiency(reader: RunReader, key: str) -> SampleEfficiency | None:
    columns = reader.table_columns("efficiency_samples")
    if "key" not in columns:
        return None
    rows = reader.query_main("SELECT * FROM main.efficiency_samples WHERE key=? LIMIT 1", (key,))
    if not rows:
        return None
    row = dict(rows[0])
    steps = _json_list(row.get("steps"))
    switches: list[tuple[int, str]] = []
    for item in _json_list(row.get("thought_switches")):
        if isinstance(item, (list, tuple)) and len(item) >= 2 and isinstance(item[0], int):
            switches.append((int(item[0]), str(item[1])))
        elif isinstance(item, dict) and isinstance(item.get("offset"), int):
            switches.append((int(item["offset"]), str(item.get("phrase", ""))))
        elif isinstance(item, int):
            switches.append((item, ""))
    numbers = {
        k: v for k, v in row.items()
        if k not in _STRUCTURED and isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v))
    }
    numbers.update({k: v for k, v in row.items() if k not in _STRUCTURED and isinstance(v, str) and len(v) <= 80})
    return SampleEfficiency(
        steps=steps,
        first_correct_step=_int_or_none(row.get("first_correct_step")),
        first_correct_offset=_int_or_none(row.get("first_correct_offset")),
        switches=switches,
        numbers=numbers,
    )


def _json_list(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, (str, bytes)):
        try:
            parsed = json.loads(value)
        except ValueError:
            return []
        return parsed if isinstance(parsed, list) else []
    return []


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# ---- perf ----------------------------------------------------------------------------
PERF_SUMMARY = "summary.json"
PERF_REQUESTS = "requests.jsonl"
LATENCY_METRICS = ("ttft", "ttfat", "tpot", "itl", "e2e")
LATENCY_STATS = ("mean", "p50", "p90", "p95", "p99", "p999", "max")


@dataclass(frozen=True)
class PerfLevel:
    label: str  # "concurrency 8" / "rate 4.0/s"
    values: dict[str, Any]
    latency: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class PerfSummary:
    levels: list[PerfLevel]
    latency_metrics: list[str]
    units: dict[str, str]
    extra: dict[str, Any]
    figures: list[Path]
    files: list[Path]


def is_perf_folder(folder: Path) -> bool:
    return (folder / PERF_SUMMARY).is_file() and (folder / PERF_REQUESTS).is_file()


def load_perf(folder: Path) -> PerfSummary | None:
    try:
        data = json.loads((folder / PERF_SUMMARY).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    levels: list[PerfLevel] = []
    for raw in data.get("levels") or []:
        if not isinstance(raw, dict):
            continue
        if raw.get("concurrency") is not None:
            label = f"concurrency {raw['concurrency']}"
        elif raw.get("rate") is not None:
            label = f"rate {raw['rate']}/s"
        else:
            label = str(raw.get("name", len(levels) + 1))
        latency = {m: raw[m] for m in LATENCY_METRICS if isinstance(raw.get(m), dict)}
        values = {k: v for k, v in raw.items() if _is_scalar(v)}
        levels.append(PerfLevel(label, values, latency))
    present = [m for m in LATENCY_METRICS if any(m in lv.latency for lv in levels)]
    units = data.get("units") if isinstance(data.get("units"), dict) else {}
    extra = {k: v for k, v in data.items() if k not in ("levels", "units") and _is_scalar(v)}
    try:
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".json", ".csv", ".jsonl"))
    except OSError:
        files = []
    return PerfSummary(levels, present, {str(k): str(v) for k, v in units.items()}, extra, figures(folder), files)
