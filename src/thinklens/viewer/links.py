"""URL builders: the same templates render for the live server (absolute paths with
query strings) and for the static export (relative file paths), so every page of the
export works from `file://` or any static host."""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections.abc import Sequence
from urllib.parse import quote, urlencode

from .query import SampleQuery

KATEX_VERSION = "0.19.1"


def _q(segment: str) -> str:
    return quote(segment, safe="")


def _qpath(path: str) -> str:
    return "/".join(_q(p) for p in path.split("/"))


class ServedLinks:
    static_mode = False

    def __init__(self, asset_version: str = ""):
        self._v = asset_version

    def home(self) -> str:
        return "/"

    def static(self, path: str) -> str:
        suffix = f"?v={self._v}" if self._v and not path.startswith("vendor/") else ""
        return f"/static/{_qpath(path)}{suffix}"

    def katex(self, path: str) -> str:
        return self.static(f"vendor/katex-{KATEX_VERSION}/{path}")

    def run(self, rid: str) -> str:
        return f"/run/{_q(rid)}/"

    def samples(self, rid: str, query: SampleQuery | None = None) -> str:
        params = query.to_params() if query else {}
        return f"/run/{_q(rid)}/samples" + (f"?{urlencode(params)}" if params else "")

    def sample(self, rid: str, key: str, query: SampleQuery | None = None) -> str:
        params = query.to_params(with_page=False) if query else {}
        return f"/run/{_q(rid)}/sample/{_q(key)}" + (f"?{urlencode(params)}" if params else "")

    def file(self, rel: str) -> str:
        """A file below the served root, by its root-relative path."""
        return f"/files/{_qpath(rel)}"

    def compare(self, rids: Sequence[str], *, dataset: str = "", page: int = 1) -> str:
        params: list[tuple[str, str]] = [("run", r) for r in rids]
        if dataset:
            params.append(("dataset", dataset))
        if page != 1:
            params.append(("page", str(page)))
        return "/compare?" + urlencode(params)

    def compare_sample(self, rids: Sequence[str], ident: tuple[str, str, str, int]) -> str | None:
        dataset, subset, sample_id, repeat = ident
        params = [("run", r) for r in rids] + [
            ("dataset", dataset), ("subset", subset), ("sample_id", sample_id), ("repeat", str(repeat)),
        ]
        return "/compare/sample?" + urlencode(params)

    def perf(self, pid: str) -> str:
        return f"/perf/{_q(pid)}/"

    def live(self, rids: Sequence[str]) -> str | None:
        return "/api/live?" + urlencode([("run", r) for r in rids]) if rids else None


def export_key_name(key: str) -> str:
    """A file name for a sample key (keys are hex hashes; anything else is hashed)."""
    if re.fullmatch(r"[A-Za-z0-9_-]{1,64}", key):
        return key
    return "k" + hashlib.sha1(key.encode()).hexdigest()


def export_filter_name(query: SampleQuery) -> str:
    """File name stem of one filtered table of the export (dataset, subset, outcome)."""
    if not (query.dataset or query.subset or query.outcome):
        return "all"
    digest = hashlib.sha1(json.dumps([query.dataset, query.subset, query.outcome]).encode()).hexdigest()[:10]
    return f"f-{digest}"


class ExportLinks:
    """Relative links from the page at `current` (a path inside the site folder).
    Files asked for are recorded, so the exporter copies exactly what pages show."""

    static_mode = True

    def __init__(self, current: str, wanted_files: set[str] | None = None):
        self.current = current
        self.wanted_files = wanted_files if wanted_files is not None else set()

    def _rel(self, target: str) -> str:
        rel = posixpath.relpath(target, posixpath.dirname(self.current) or ".")
        return _qpath(rel)

    def home(self) -> str:
        return self._rel("index.html")

    def static(self, path: str) -> str:
        return self._rel(f"static/{path}")

    def katex(self, path: str) -> str:
        return self.static(f"vendor/katex-{KATEX_VERSION}/{path}")

    def run(self, rid: str) -> str:
        return self._rel(f"runs/{rid}/index.html")

    def samples(self, rid: str, query: SampleQuery | None = None) -> str:
        query = query or SampleQuery()
        return self._rel(f"runs/{rid}/samples/{export_filter_name(query)}-{query.page}.html")

    def sample(self, rid: str, key: str, query: SampleQuery | None = None) -> str:
        return self._rel(f"runs/{rid}/s/{export_key_name(key)}.html")

    def file(self, rel: str) -> str:
        self.wanted_files.add(rel)
        return self._rel(f"files/{rel}")

    def compare(self, rids: Sequence[str], *, dataset: str = "", page: int = 1) -> str:
        return self._rel(f"compare/{'all' if not dataset else 'd-' + hashlib.sha1(dataset.encode()).hexdigest()[:10]}-{page}.html")

    def compare_sample(self, rids: Sequence[str], ident: tuple[str, str, str, int]) -> str | None:
        return None  # the export links each run's own sample page instead

    def perf(self, pid: str) -> str:
        return self._rel(f"perf/{pid}/index.html")

    def live(self, rids: Sequence[str]) -> str | None:
        return None
