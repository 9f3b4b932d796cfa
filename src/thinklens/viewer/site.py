"""Template rendering shared by the server and the static export."""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from .. import __version__
from ..errors import ConfigError
from .features import PERF_FORMATS, is_wide_figure, metric_format, token_metric
from .i18n import LANGUAGES, translator

STATIC_DIR = Path(__file__).parent / "static"

# Defence in depth behind escaping: no inline script, nothing from elsewhere.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'"
)
SERVED_CSP = CSP + "; frame-ancestors 'none'"
FILE_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'"


def viewer_root(root: str | Path, lang: str) -> Path:
    """The folder to show, checked with the language (server and export alike): a clear
    error before anything starts."""
    if lang not in LANGUAGES:
        raise ConfigError(f"--lang must be one of {', '.join(LANGUAGES)}, got {lang!r}")
    root_path = Path(root).expanduser()
    if not root_path.exists():
        raise ConfigError(f"{root_path} does not exist: pass a run folder or a folder holding runs")
    return root_path


def _num(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        if digits == 0 and float(value).is_integer():
            return f"{int(value):,}"
        return f"{value:,.{digits or 1}f}"
    return str(value)


def _metric(value: Any) -> str:
    """Efficiency / perf numbers of any scale: 4 significant digits."""
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if math.isnan(value):
        return "–"
    if value == 0 or abs(value) >= 1000:
        return f"{value:,.0f}" if abs(value) >= 1000 else "0"
    return f"{value:.4g}"


def _effnum(value: Any, key: str) -> str:
    """An efficiency metric in its column's one format (features.metric_format)."""
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return _metric(value)
    if isinstance(value, float) and math.isnan(value):
        return "–"
    kind = metric_format(key)
    if kind in ("count", "tokens"):
        return f"{value:,.0f}"
    return f"{value:.2f}" if kind == "mean" else f"{value:.3f}"


def _perfnum(value: Any, key: str) -> str:
    """A throughput-table number in its column's one format (features.PERF_FORMATS)."""
    if key == "duration":
        return _secs(value)
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return _metric(value)
    spec = PERF_FORMATS.get(key)
    if spec is None:
        return _metric(value)
    return f"{value:,.0f}" if spec == "count" else format(value, spec)


def _cap(text: Any) -> str:
    """First letter upper case for a header label ("SLO attainment" keeps its capitals);
    only a-z: "ξ_O" is a symbol, not a word."""
    text = str(text)
    return text[:1].upper() + text[1:] if text[:1].isascii() else text


_TICKS = re.compile(r"`([^`]+)`")


def _ticks(text: str) -> Markup:
    """A UI string's `command` as <code>command</code>, the rest escaped."""
    return Markup(_TICKS.sub(lambda m: f"<code>{m.group(1)}</code>", str(escape(text))))


def _secs(value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "–"
    if value == 0:
        return "0"
    if 0 < value < 0.0001:
        return f"{value * 1e6:.1f} µs"  # a local mock server's per-token gaps
    if value < 0.01:
        return f"{value * 1000:.2f} ms"  # per-token latencies (tpot, itl) are a few ms
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 60:
        return f"{value:.2f} s"
    minutes, secs = divmod(value, 60)
    return f"{int(minutes)}m {secs:04.1f}s"


def _when(ts: Any) -> str:
    if not isinstance(ts, (int, float)) or isinstance(ts, bool) or ts <= 0:
        return "–"
    return _dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


_TEX = re.compile(r"[\\^_{}]")


def _texlike(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 300 and bool(_TEX.search(value))


def pager(page: int, pages: int, width: int = 2) -> list[int | None]:
    """Page numbers around the current one, with None for gaps: 1 … 4 5 [6] 7 8 … 40."""
    wanted = {1, pages, *range(page - width, page + width + 1)}
    out: list[int | None] = []
    for p in sorted(x for x in wanted if 1 <= x <= pages):
        if out and out[-1] is not None and p - out[-1] > 1:  # type: ignore[operator]
            out.append(None)
        out.append(p)
    return out


def make_environment() -> Environment:
    env = Environment(
        loader=PackageLoader("thinklens.viewer", "templates"),
        autoescape=True,  # every {{ }} is escaped unless it is a Markup from render.py
        undefined=StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    env.filters.update(num=_num, metric=_metric, secs=_secs, when=_when, pretty=_pretty, effnum=_effnum, perfnum=_perfnum, cap=_cap,
                       ticks=_ticks)
    env.tests["texlike"] = _texlike
    env.tests["wide_figure"] = is_wide_figure
    env.tests["token_metric"] = token_metric
    env.globals.update(pager=pager, version=__version__, csp=CSP)
    return env


class Renderer:
    """Renders pages for one served root and language."""

    def __init__(self, root: Path, lang: str):
        self.env = make_environment()
        self.t = translator(lang)
        self.lang = lang
        self.root = root

    def render(self, template: str, links: Any, context: dict[str, Any]) -> str:
        base = {"t": self.t, "lang": self.lang, "links": links, "root": str(self.root),
                "live_ids": [], "versions": {}, "compare_action": ""}
        return self.env.get_template(template).render({**base, **context})
