"""Results other commands leave beside a run, read tolerantly: efficiency and perf.

These files belong to `thinklens efficiency` and `thinklens perf`; the viewer shows
what is there and never fails on what is not (a missing file, an unknown key, an
older layout): a page without them is still a page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .i18n import STRINGS
from .reader import RunReader, read_json_object

EFFICIENCY_FILENAME = "efficiency.json"
FIGURE_SUFFIXES = (".png", ".svg", ".jpg", ".jpeg", ".webp")

# Preferred order of the efficiency metrics (others follow, as they come); their labels
# are `eff.<key>` in i18n.py, in each language.
EFFICIENCY_METRICS: tuple[str, ...] = (
    "n", "accuracy", "n_reached_correct", "n_truncated", "n_judge_unparsed", "reasoning_tokens",
    "first_correct_tokens", "reflection_tokens", "token_efficiency", "thought_num", "solutions", "xi_o", "xi_ut",
)


def efficiency_label(key: str) -> str:
    """The English label of a metric (its key when it has none)."""
    return STRINGS["en"].get(f"eff.{key}", key)


@dataclass(frozen=True)
class EfficiencySummary:
    settings: dict[str, Any]
    columns: list[tuple[str, str]]  # (key, label)
    rows: list[tuple[str, dict[str, Any]]]  # (subset or "overall", metrics)
    figures: list[Path]
    definitions: dict[str, str] = field(default_factory=dict)  # metric -> what it means (tooltips)

    @property
    def settings_hash(self) -> str | None:
        value = self.settings.get("settings_hash")
        return value if isinstance(value, str) else None

    @property
    def overall(self) -> dict[str, Any] | None:
        return dict(self.rows).get(OVERALL)


OVERALL = "overall"


def load_efficiency(run_dir: Path) -> EfficiencySummary | None:
    """efficiency.json as `thinklens efficiency` writes it: `subsets` (with `overall`
    among them, in `subset_order`), `settings`, `definitions`; an `overall` at the top
    level is accepted too."""
    data = read_json_object(run_dir / EFFICIENCY_FILENAME)
    if data is None:
        return None
    subsets = data.get("subsets") if isinstance(data.get("subsets"), dict) else {}
    subsets = {str(k): v for k, v in subsets.items() if isinstance(v, dict)}
    if isinstance(data.get("overall"), dict):
        subsets.setdefault(OVERALL, data["overall"])
    order = [str(g) for g in data.get("subset_order") or [] if str(g) in subsets and str(g) != OVERALL]
    order += [g for g in subsets if g not in order and g != OVERALL]
    if OVERALL in subsets:
        order.append(OVERALL)
    rows = [(g, subsets[g]) for g in order]
    keys: list[str] = [k for k in EFFICIENCY_METRICS if any(k in m for _, m in rows)]
    for _, metrics in rows:
        keys += [k for k, v in metrics.items() if k not in keys and _is_scalar(v)]
    settings = data.get("settings") if isinstance(data.get("settings"), dict) else {}
    definitions = data.get("definitions") if isinstance(data.get("definitions"), dict) else {}
    return EfficiencySummary(
        settings, [(k, efficiency_label(k)) for k in keys], rows, figures(run_dir, "efficiency"),
        {str(k): str(v) for k, v in definitions.items()},
    )


def stays_inside(path: Path, folder: Path) -> bool:
    """`path` is a regular file that resolves (symlinks followed) inside `folder`: a
    symlink out of a run folder is never listed, served or copied."""
    try:
        target = path.resolve(strict=True)
        return target.is_file() and target.is_relative_to(folder.resolve(strict=True))
    except (OSError, RuntimeError):
        return False


def figures(folder: Path, prefix: str = "") -> list[Path]:
    """Image files directly in `folder` whose name starts with `prefix`, sorted."""
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    found = [p for p in entries
             if p.suffix.lower() in FIGURE_SUFFIXES and p.name.startswith(prefix) and stays_inside(p, folder)]
    # efficiency and perf draw each figure twice (PNG and SVG): show it once, as SVG
    stems_with_svg = {p.stem for p in found if p.suffix.lower() == ".svg"}
    return [p for p in found if p.suffix.lower() == ".svg" or p.stem not in stems_with_svg]


def _is_scalar(v: Any) -> bool:
    return isinstance(v, (int, float, str, bool)) or v is None


@dataclass(frozen=True)
class SampleEfficiency:
    """One trace's efficiency row (table `efficiency_samples` of the run store)."""

    steps: list[Any] = field(default_factory=list)  # [[start, end], ...] (texts or offsets accepted)
    first_correct_step: int | None = None  # index into `steps`
    first_correct_offset: int | None = None  # end of that step in the reasoning
    switches: list[tuple[int, str]] = field(default_factory=list)
    solution_steps: list[int] = field(default_factory=list)  # steps that state an answer
    no_reasoning: bool = False  # offsets are into the content: the model gave no reasoning
    numbers: dict[str, Any] = field(default_factory=dict)
    detail: Any = None


# What the sample page lists about one trace, in this order, when the table has them.
SAMPLE_FIELDS = (
    "method", "first_correct_status", "first_correct_step", "verify_first_correct_step", "judge_first_correct_step",
    "judge_status", "reasoning_tokens", "first_correct_tokens", "reflection_tokens", "token_efficiency",
    "thought_num", "solutions", "tokens_exact", "truncated", "no_reasoning",
)
_IDENTITY = {"record", "settings_hash", "key", "dataset", "subset", "group_label", "sample_id", "repeat", "created_at",
             "correct", "steps", "thought_switches", "solution_steps", "detail", "first_correct_offset"}


def sample_efficiency(reader: RunReader, key: str, settings_hash: str | None = None) -> SampleEfficiency | None:
    """The trace's row for the settings of efficiency.json (rows of other settings may
    sit beside it), else its newest row."""
    row = reader.efficiency_row(key, settings_hash)
    if row is None:
        return None
    switches: list[tuple[int, str]] = []
    for item in _json_list(row.get("thought_switches")):
        if isinstance(item, (list, tuple)) and len(item) >= 2 and isinstance(item[0], int):
            switches.append((int(item[0]), str(item[1])))
        elif isinstance(item, dict) and isinstance(item.get("offset"), int):
            switches.append((int(item["offset"]), str(item.get("phrase", ""))))
        elif isinstance(item, int):
            switches.append((item, ""))
    present = [k for k in SAMPLE_FIELDS if k in row and _is_scalar(row[k]) and row[k] is not None]
    if not present:  # an unknown layout: every scalar that is not an identity column
        present = [k for k, v in row.items() if k not in _IDENTITY and _is_scalar(v) and v is not None]
    detail = row.get("detail")
    if isinstance(detail, str):
        try:
            detail = json.loads(detail)
        except ValueError:
            pass
    return SampleEfficiency(
        steps=_json_list(row.get("steps")),
        first_correct_step=_int_or_none(row.get("first_correct_step")),
        first_correct_offset=_int_or_none(row.get("first_correct_offset")),
        switches=switches,
        solution_steps=[int(i) for i in _json_list(row.get("solution_steps")) if isinstance(i, int)],
        no_reasoning=bool(row.get("no_reasoning")),
        numbers={k: row[k] for k in present},
        detail=detail or None,
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
    label: str  # the level's own label, else "concurrency 8" / "rate 4.0/s"
    values: dict[str, Any]
    latency: dict[str, dict[str, Any]]  # metric -> {mean, p50, ..., max} in seconds
    warnings: list[str]


@dataclass(frozen=True)
class PerfSummary:
    levels: list[PerfLevel]
    latency_metrics: list[str]
    extra: dict[str, Any]
    config: dict[str, Any] | None
    warnings: list[str]
    figures: list[Path]
    files: list[Path]


def is_perf_folder(folder: Path) -> bool:
    return (folder / PERF_SUMMARY).is_file() and (folder / PERF_REQUESTS).is_file()


def load_perf(folder: Path) -> PerfSummary | None:
    """summary.json of `thinklens perf`: `levels` (one entry per concurrency or rate;
    latency distributions in seconds), plus `config` and `warnings`."""
    data = read_json_object(folder / PERF_SUMMARY)
    if data is None:
        return None
    levels: list[PerfLevel] = []
    for raw in data.get("levels") or []:
        if not isinstance(raw, dict):
            continue
        if raw.get("level") is not None:
            label = str(raw["level"])
        elif raw.get("concurrency") is not None:
            label = f"concurrency {raw['concurrency']}"
        elif raw.get("rate") is not None:
            label = f"rate {raw['rate']}/s"
        else:
            label = str(len(levels) + 1)
        latency = {m: raw[m] for m in LATENCY_METRICS if isinstance(raw.get(m), dict)}
        values = {k: v for k, v in raw.items() if _is_scalar(v)}
        goodput = raw.get("goodput")
        if isinstance(goodput, dict) and _is_scalar(goodput.get("attainment")):
            values["goodput_attainment"] = goodput["attainment"]
        warnings = [str(w) for w in raw.get("warnings") or [] if w]
        levels.append(PerfLevel(label, values, latency, warnings))
    present = [m for m in LATENCY_METRICS if any(m in lv.latency for lv in levels)]
    extra = {k: v for k, v in data.items() if k not in ("levels",) and _is_scalar(v)}
    config = data.get("config") if isinstance(data.get("config"), dict) else None
    warnings = [str(w) for w in data.get("warnings") or [] if w] if isinstance(data.get("warnings"), list) else []
    try:
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".json", ".csv", ".jsonl"))
    except OSError:
        files = []
    return PerfSummary(levels, present, extra, config, warnings, figures(folder), files)
