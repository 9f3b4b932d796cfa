"""What is under the served folder: run folders (run.sqlite) and perf folders
(summary.json + requests.jsonl), each with a stable URL id, and one shared reader per
run.  Rescanned at most every few seconds, so runs started after the viewer appear."""

from __future__ import annotations

import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..store import is_run_folder
from .features import is_perf_folder, stays_inside
from .reader import RunReader

RESCAN_INTERVAL_S = 5.0
MAX_OPEN_READERS = 64
COMPARISON_PREFIX = "comparison"


@dataclass(frozen=True)
class Entry:
    id: str  # URL-safe, unique under the root
    path: Path  # resolved
    rel: str  # path relative to the root, for display


class NotFound(LookupError):
    pass


def _slug(rel: str, fallback: str) -> str:
    text = fallback if rel in ("", ".") else rel
    text = text.replace("/", "~")
    return re.sub(r"[^A-Za-z0-9._~-]+", "_", text).strip("._") or "run"


class Catalog:
    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self._lock = threading.Lock()
        self._scanned_at = 0.0
        self._runs: dict[str, Entry] = {}
        self._perfs: dict[str, Entry] = {}
        self._comparisons: list[Path] = []
        self._readers: OrderedDict[str, RunReader] = OrderedDict()

    # ---- discovery -----------------------------------------------------------------
    def scan(self, *, force: bool = False) -> None:
        with self._lock:
            if not force and time.monotonic() - self._scanned_at < RESCAN_INTERVAL_S:
                return
            runs, perfs, comparisons = [], [], []
            if self.root.is_dir():
                for dirpath, dirnames, filenames in os.walk(self.root, followlinks=False):
                    # hidden folders (.git, .venv) hold no runs worth walking
                    dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                    folder = Path(dirpath)
                    names = set(filenames)
                    # A perf folder keeps its requests in a run.sqlite too: it is a perf
                    # result, not an evaluation run.
                    if "summary.json" in names and "requests.jsonl" in names and is_perf_folder(folder):
                        perfs.append(folder)
                    elif is_run_folder(folder):
                        runs.append(folder)
                    comparisons += [
                        folder / n for n in sorted(names)
                        if n.startswith(COMPARISON_PREFIX) and n.lower().endswith((".png", ".svg"))
                        and stays_inside(folder / n, folder)
                    ]
            self._runs = self._index(runs)
            self._perfs = self._index(perfs)
            self._comparisons = comparisons
            self._scanned_at = time.monotonic()
            # Readers of vanished runs are dropped, not closed: a request may still hold
            # one; the connection closes when the last reference goes.
            for rid in [r for r in self._readers if r not in self._runs]:
                self._readers.pop(rid)

    def _index(self, folders: list[Path]) -> dict[str, Entry]:
        out: dict[str, Entry] = {}
        for folder in folders:
            rel = folder.relative_to(self.root).as_posix()
            base = _slug(rel, folder.name)
            rid, n = base, 2
            while rid in out:
                rid, n = f"{base}-{n}", n + 1
            out[rid] = Entry(rid, folder, rel if rel != "." else folder.name)
        return out

    def runs(self) -> list[Entry]:
        self.scan()
        return list(self._runs.values())

    def perfs(self) -> list[Entry]:
        self.scan()
        return list(self._perfs.values())

    def comparison_figures(self, folders: list[Path]) -> list[Path]:
        """Comparison figures (`thinklens efficiency compare`) that concern these runs:
        those in a compared run's folder, in their common parent, or at the root."""
        self.scan()
        places = {f.resolve() for f in folders} | {self.root}
        if folders:
            places.add(Path(os.path.commonpath([str(f) for f in folders])))
        return [p for p in self._comparisons if p.parent in places]

    def run(self, rid: str) -> Entry:
        return self._find(lambda: self._runs, rid)

    def perf(self, pid: str) -> Entry:
        return self._find(lambda: self._perfs, pid)

    def _find(self, entries: Callable[[], dict[str, Entry]], ident: str) -> Entry:
        """An entry by id; an unknown id rescans at once first (a folder just created).
        `entries` is read after each scan: a scan replaces the tables."""
        self.scan()
        if ident not in entries():
            self.scan(force=True)
        try:
            return entries()[ident]
        except KeyError:
            raise NotFound(ident) from None

    def reader(self, rid: str) -> RunReader:
        entry = self.run(rid)
        with self._lock:
            reader = self._readers.get(rid)
            if reader is None:
                reader = RunReader(entry.path)
                self._readers[rid] = reader
                while len(self._readers) > MAX_OPEN_READERS:
                    self._readers.popitem(last=False)
            else:
                self._readers.move_to_end(rid)
            return reader

    def close(self) -> None:
        with self._lock:
            for reader in self._readers.values():
                reader.close()
            self._readers.clear()

    # ---- files ---------------------------------------------------------------------
    def contained_file(self, base: Path, name: str) -> Path:
        """`base/name` if it is a regular file inside `base`, the served root and the
        folder that holds it (symlinks and `..` resolved first): a symlink out of a
        run folder is never served or copied.  NotFound otherwise."""
        if not name or "\x00" in name:
            raise NotFound(name)
        try:
            target = (base / name).resolve(strict=True)
            holder = (base / name).parent.resolve(strict=True)
        except (OSError, RuntimeError):
            raise NotFound(name) from None
        inside = target.is_relative_to(base.resolve()) and target.is_relative_to(self.root)
        if not (inside and target.is_relative_to(holder)) or not target.is_file():
            raise NotFound(name)
        return target
