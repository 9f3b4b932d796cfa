"""`thinklens view PATH --export site/`: the same pages as static, self-contained files.

Every link is relative, every asset (KaTeX, fonts, CSS, figures) is copied in, so the
folder opens from `file://` or any static host, offline.  What needs a server is left
out and said so on each page: free-text search and sorting.  Filtered tables are
pre-rendered for every dataset/subset x outcome combination, so those filters work.

One bad entry never fails the export: a run whose store cannot be read gets a
broken-run page with the reason (linked from the runs list like any run), a figure
that cannot be copied is left out, each with a warning, and the export still exits 0:
the site is complete and says what is missing, which is what a script publishing it
after every run needs (a damaged run is the user's to fix, not a failed export).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from . import pages
from .catalog import Catalog, NotFound
from .links import ExportLinks, export_filter_name, export_key_name
from .query import OUTCOME_FILTERS, SampleQuery
from .site import STATIC_DIR, Renderer, viewer_root

MARKER = ".thinklens-site"
PARALLEL_FROM = 300  # sample pages: below this, one process is faster than starting more
CHUNK = 100
_OWNED = ("index.html", "runs", "compare", "perf", "static", "files", MARKER)


@dataclass(frozen=True)
class ExportResult:
    out_dir: Path
    pages: int
    files: int
    seconds: float
    broken: list[str] = field(default_factory=list)  # run folders (relative) exported as broken


def export_site(
    root: str | Path,
    out_dir: str | Path,
    *,
    lang: str = "en",
    progress: Callable[[str], None] | None = None,
    workers: int | None = None,
    warn: Callable[[str], None] | None = None,
) -> ExportResult:
    """Write the site.  Sample pages (the bulk: each renders a whole trace) are spread
    over `workers` processes (default: the CPUs, at most 8)."""
    started = time.perf_counter()
    root_path = viewer_root(root, lang)
    out = Path(out_dir).expanduser().resolve()
    _prepare(out, root_path.resolve())
    catalog = Catalog(root_path)
    site = _SiteWriter(out, Renderer(catalog.root, lang), warn)
    shutil.copytree(STATIC_DIR, out / "static")
    site.write("index.html", *pages.runs_page(catalog))
    good_runs, broken = _export_runs(catalog, site, lang, workers, progress)
    if len(good_runs) >= 2:
        _export_compare(catalog, site, good_runs)
    for entry in catalog.perfs():
        site.write(f"perf/{entry.id}/index.html", *pages.perf_page(catalog, entry.id))
    copied = _copy_files(catalog, site)
    (out / MARKER).write_text("written by thinklens view --export; safe to delete\n")
    catalog.close()
    return ExportResult(out, site.pages, copied, time.perf_counter() - started, broken)


class _SiteWriter:
    """Renders pages into the export folder with relative links, counting them and
    collecting the result files they link to (`wanted`, copied at the end)."""

    def __init__(self, out: Path, renderer: Renderer, warn: Callable[[str], None] | None = None):
        self.out = out
        self.renderer = renderer
        self.wanted: set[str] = set()
        self.pages = 0
        self._warn = warn

    def write(self, path: str, template: str, context: dict) -> None:
        html = self.renderer.render(template, ExportLinks(path, self.wanted), context)
        target = self.out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
        self.pages += 1

    def warn(self, message: str) -> None:
        if self._warn:
            self._warn(message)


def _export_runs(catalog: Catalog, site: _SiteWriter, lang: str, workers: int | None,
                 progress: Callable[[str], None] | None) -> tuple[list[str], list[str]]:
    """Every run's pages; returns the ids of the runs exported and the folders of those
    exported as broken (one unreadable run must not stop the others)."""
    good_runs: list[str] = []
    broken: list[str] = []
    for entry in catalog.runs():
        if progress:
            progress(f"run {entry.rel}")
        try:
            _export_run(catalog, site, entry.id, lang, workers, progress)
            good_runs.append(entry.id)
        except Exception as exc:
            reason = f"{entry.rel}: {type(exc).__name__}: {exc}"
            broken.append(entry.rel)
            site.warn(f"run {reason}; exported as a broken-run page")
            site.write(f"runs/{entry.id}/index.html", "error.html",
                       {"title": site.renderer.t("broken_run"), "message": reason})
    return good_runs, broken


def _export_compare(catalog: Catalog, site: _SiteWriter, rids: list[str]) -> None:
    """The comparison of every good run, each page of its disagreements."""
    template, ctx = pages.compare_page(catalog, rids)
    site.write("compare/all-1.html", template, ctx)
    for page_no in range(2, ctx.get("pages", 1) + 1):
        site.write(f"compare/all-{page_no}.html", *pages.compare_page(catalog, rids, page=page_no))


def _copy_files(catalog: Catalog, site: _SiteWriter) -> int:
    """Copy the result files the pages link to; returns how many."""
    copied = 0
    for rel in sorted(site.wanted):
        try:
            source = catalog.contained_file(catalog.root, rel)
        except NotFound:
            site.warn(f"file {rel} is not a regular file inside its folder (a symlink out of it?); not copied")
            continue
        target = site.out / "files" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        copied += 1
    return copied


def _export_run(catalog: Catalog, site: _SiteWriter, rid: str, lang: str, workers: int | None,
                progress: Callable[[str], None] | None) -> None:
    """Every page of one run: its page, each filtered samples table, each sample."""
    reader = catalog.reader(rid)
    site.write(f"runs/{rid}/index.html", *pages.run_page(catalog, rid, site.renderer.t))
    for base in _filter_bases(reader.datasets_and_subsets()):
        for outcome in ("", *OUTCOME_FILTERS):
            query = SampleQuery(dataset=base.dataset, subset=base.subset, outcome=outcome)
            first = reader.page(query)
            for page_no in range(1, first.pages + 1):
                q = query.with_(page=page_no)
                site.write(f"runs/{rid}/samples/{export_filter_name(q)}-{page_no}.html",
                           *pages.samples_page(catalog, rid, q))
    keys = reader.natural_keys()
    n_workers = min(workers or os.cpu_count() or 1, 8)
    if n_workers > 1 and len(keys) >= PARALLEL_FROM:
        chunks = [keys[i : i + CHUNK] for i in range(0, len(keys), CHUNK)]
        with ProcessPoolExecutor(n_workers) as pool:
            jobs = [pool.submit(_sample_pages, str(catalog.root), str(site.out), lang, rid, chunk) for chunk in chunks]
            for done, job in enumerate(jobs, 1):
                n, files = job.result()
                site.pages += n
                site.wanted.update(files)
                if progress:
                    progress(f"  {min(done * CHUNK, len(keys))}/{len(keys)} samples")
    else:
        for i, key in enumerate(keys):
            site.write(_sample_path(rid, key), *pages.sample_page(catalog, rid, key, SampleQuery()))
            if progress and (i + 1) % 500 == 0:
                progress(f"  {i + 1}/{len(keys)} samples")


def _sample_path(rid: str, key: str) -> str:
    return f"runs/{rid}/s/{export_key_name(key)}.html"


def _sample_pages(root: str, out: str, lang: str, rid: str, keys: list[str]) -> tuple[int, set[str]]:
    """One worker process: render the sample pages of `keys` (its own reader)."""
    catalog = Catalog(root)
    site = _SiteWriter(Path(out), Renderer(catalog.root, lang))
    try:
        for key in keys:
            site.write(_sample_path(rid, key), *pages.sample_page(catalog, rid, key, SampleQuery()))
    finally:
        catalog.close()
    return site.pages, site.wanted


def _filter_bases(structure: list[tuple[str, list[str]]]) -> list[SampleQuery]:
    bases = [SampleQuery()]
    for dataset, subsets in structure:
        bases.append(SampleQuery(dataset=dataset))
        bases += [SampleQuery(dataset=dataset, subset=s) for s in subsets]
    return bases


def _prepare(out: Path, root: Path) -> None:
    """Refuse to clobber a folder we did not write; clear our own previous export."""
    if out == root or root.is_relative_to(out):
        raise ConfigError(f"--export {out} would contain the runs it exports; choose another folder")
    if out.exists():
        if not out.is_dir():
            raise ConfigError(f"--export {out} is a file; choose a folder")
        entries = list(out.iterdir())
        if entries and not (out / MARKER).exists():
            raise ConfigError(
                f"--export {out} is not empty and was not written by thinklens; choose an empty or new folder"
            )
        for name in _OWNED:
            p = out / name
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()
    out.mkdir(parents=True, exist_ok=True)
