"""Results other commands leave beside a run, read tolerantly: efficiency and perf.

These files belong to `thinklens efficiency` and `thinklens perf`; the viewer shows
what is there and never fails on what is not (a missing file, an unknown key, an
older layout): a page without them is still a page.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..redaction import redact_url
from .i18n import STRINGS
from .reader import RunReader, read_json_object

EFFICIENCY_FILENAME = "efficiency.json"
FIGURE_SUFFIXES = (".png", ".svg", ".jpg", ".jpeg", ".webp")

# Preferred order of the efficiency metrics (others follow, as they come); their labels
# are `eff.<key>` in i18n.py, in each language.  These are the run page's main table;
# the counts behind the means (n_complete, n_graded, ...) go to a second one, so that
# the main table fits the page.
EFFICIENCY_METRICS: tuple[str, ...] = (
    "n", "accuracy", "n_reached_correct", "n_truncated", "n_judge_unparsed", "reasoning_tokens",
    "first_correct_tokens", "reflection_tokens", "token_efficiency", "thought_num", "solutions", "xi_o", "xi_ut",
)
# Shown in the main table only when some row has a non-zero value (a judge took part).
_ONLY_WHEN_NONZERO = frozenset({"n_judge_unparsed"})
# Said once beside the table (tokens_exact), not as a column of True/False.
_NOT_COLUMNS = frozenset({"tokens_exact"})

# One format per metric, the console table's (efficiency/report.py): a column never
# mixes `1` with `0.9091` or `836` with `672.3`.
METRIC_FORMATS: dict[str, str] = {
    "accuracy": "ratio", "token_efficiency": "ratio", "xi_o": "ratio", "xi_ut": "ratio",
    "thought_num": "mean", "solutions": "mean",
}


def metric_format(key: str) -> str:
    """"count" (1,234), "tokens" (mean token counts: 1,234), "ratio" (0.667) or "mean" (4.20)."""
    if key in METRIC_FORMATS:
        return METRIC_FORMATS[key]
    if key == "n" or key.startswith("n_"):
        return "count"
    if "tokens" in key:
        return "tokens"
    return "ratio"


def token_metric(key: str) -> bool:
    """A mean token count: estimated (not exact) when the run had no tokenizer."""
    return metric_format(key) == "tokens"


def efficiency_label(key: str) -> str:
    """The English label of a metric (its key, in words, when it has none)."""
    return STRINGS["en"].get(f"eff.{key}", key.replace("_", " "))


@dataclass(frozen=True)
class EfficiencySummary:
    settings: dict[str, Any]
    columns: list[tuple[str, str]]  # (key, label)
    rows: list[tuple[str, dict[str, Any]]]  # (subset or "overall", metrics)
    figures: list[Path]
    definitions: dict[str, str] = field(default_factory=dict)  # metric -> what it means (tooltips)
    more_columns: list[tuple[str, str]] = field(default_factory=list)  # the counts behind the means
    tokens_exact: bool | None = None  # False: token counts estimated (no tokenizer); None: not said

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
    keys: list[str] = [k for k in EFFICIENCY_METRICS if any(k in m for _, m in rows)
                       and (k not in _ONLY_WHEN_NONZERO or any(m.get(k) for _, m in rows))]
    more: list[str] = []
    for _, metrics in rows:
        more += [k for k, v in metrics.items()
                 if k not in keys and k not in more and k not in _NOT_COLUMNS and _is_scalar(v)]
    settings = data.get("settings") if isinstance(data.get("settings"), dict) else {}
    definitions = data.get("definitions") if isinstance(data.get("definitions"), dict) else {}
    exact = [m["tokens_exact"] for _, m in rows if isinstance(m.get("tokens_exact"), bool)]
    if isinstance(settings.get("tokens_exact"), bool):
        exact.append(settings["tokens_exact"])
    return EfficiencySummary(
        settings, [(k, efficiency_label(k)) for k in keys], rows, figures(run_dir, "efficiency"),
        {str(k): str(v) for k, v in definitions.items()},
        [(k, efficiency_label(k)) for k in more],
        all(exact) if exact else None,
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
    return one_per_figure(found)


def one_per_figure(paths: list[Path]) -> list[Path]:
    """efficiency, perf and `efficiency compare` draw each figure twice (PNG and SVG):
    show it once, as SVG (sharp at any width)."""
    with_svg = {(p.parent, p.stem) for p in paths if p.suffix.lower() == ".svg"}
    return [p for p in paths if p.suffix.lower() == ".svg" or (p.parent, p.stem) not in with_svg]


_SVG_WIDTH = re.compile(rb'<svg\b[^>]*?\swidth="([\d.]+)(pt|px|in|cm|mm)?"', re.S)
_SVG_UNIT_INCHES = {b"pt": 1 / 72, b"px": 1 / 96, None: 1 / 96, b"in": 1.0, b"cm": 1 / 2.54, b"mm": 1 / 25.4}
WIDE_FIGURE_INCHES = 10.0  # matplotlib figures drawn this wide hold several panels side by side


def figure_inches(path: Path) -> float | None:
    """The width a figure was drawn at, in inches: an SVG's `width` attribute, a PNG's
    pixels over its pHYs resolution (matplotlib writes it; 100 dpi when absent); None
    when the first bytes of the file do not say."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return None
    if head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) >= 24:
        width = struct.unpack(">I", head[16:20])[0]
        at = head.find(b"pHYs")
        per_metre = struct.unpack(">I", head[at + 4 : at + 8])[0] if at > 0 and head[at + 12 : at + 13] == b"\x01" else 0
        return width / (per_metre * 0.0254 if per_metre else 100.0)
    m = _SVG_WIDTH.search(head)
    if m:
        return float(m.group(1)) * _SVG_UNIT_INCHES[m.group(2)]
    return None


def is_wide_figure(path: Path) -> bool:
    """A figure of several panels side by side (efficiency, latency vs throughput): shown
    across the whole page; in half of it, its text would be too small to read."""
    inches = figure_inches(path)
    return inches is not None and inches >= WIDE_FIGURE_INCHES


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
class PerfHeader:
    """What was measured, for the page's header: the model, where, how, when."""

    model: str | None = None
    urls: list[str] = field(default_factory=list)  # redacted: a key may hide in a URL
    mode: str | None = None  # "closed" (concurrency levels) or "open" (request rates)
    levels: str | None = None  # "1, 3" (concurrency) or "2, 4 /s" (rate)
    requests: Any = None  # per level
    duration: Any = None  # seconds per level, when the run was timed instead of counted
    output_tokens: Any = None
    dataset: str | None = None
    created_at: float | None = None  # a timestamp (summary.json writes ISO 8601)
    version: str | None = None
    interrupted: bool = False
    other: dict[str, Any] = field(default_factory=dict)  # top-level facts this viewer does not know


@dataclass(frozen=True)
class PerfSummary:
    levels: list[PerfLevel]
    latency_metrics: list[str]
    header: PerfHeader
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
    config = data.get("config") if isinstance(data.get("config"), dict) else None
    if config and isinstance(config.get("urls"), list):  # perf stores them redacted; a hand-made file may not
        config = {**config, "urls": [redact_url(str(u)) for u in config["urls"]]}
    warnings = [str(w) for w in data.get("warnings") or [] if w] if isinstance(data.get("warnings"), list) else []
    try:
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".json", ".csv", ".jsonl"))
    except OSError:
        files = []
    return PerfSummary(levels, present, _perf_header(data, config or {}), config, warnings, figures(folder), files)


# summary.json's top-level keys the header shows in its own words (or on purpose not:
# `units` says "seconds", while the page prints each latency with its own unit).
_PERF_KNOWN = {"levels", "config", "warnings", "thinklens_version", "created_at", "interrupted", "units", "clock",
               "search"}


def _timestamp(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return datetime.fromisoformat(str(value)).timestamp() if value else None
    except ValueError:
        return None


# One format per throughput column (site.perf_number).
PERF_FORMATS: dict[str, str] = {
    "requests_ok": "count", "requests_failed": "count", "requests_cancelled": "count",
    "request_throughput": ",.2f", "output_throughput": ",.0f", "total_throughput": ",.0f",
    "concurrency_achieved": ".2f", "goodput_attainment": ".3f",
}


def _perf_header(data: dict[str, Any], config: dict[str, Any]) -> PerfHeader:
    urls = config.get("urls") if isinstance(config.get("urls"), list) else [config.get("url")]
    mode = config.get("mode") if isinstance(config.get("mode"), str) else None
    steps = config.get("rate") if mode == "open" else config.get("concurrency")
    levels = ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in steps) if isinstance(steps, list) else None
    if levels and mode == "open":
        levels += " /s"
    dataset = config.get("dataset")
    if dataset == "file" and isinstance(config.get("dataset_path"), str):
        dataset = Path(config["dataset_path"]).name
    return PerfHeader(
        model=str(config["model"]) if config.get("model") else None,
        urls=[u for u in (redact_url(str(x)) for x in urls if x) if u],
        mode=mode,
        levels=levels or None,
        requests=config.get("requests"),
        duration=config.get("duration"),
        output_tokens=config.get("output_tokens"),
        dataset=str(dataset) if dataset else None,
        created_at=_timestamp(data.get("created_at")),
        version=str(data["thinklens_version"]) if data.get("thinklens_version") else None,
        interrupted=data.get("interrupted") is True,
        other={k: v for k, v in data.items() if k not in _PERF_KNOWN and _is_scalar(v) and v is not None},
    )
