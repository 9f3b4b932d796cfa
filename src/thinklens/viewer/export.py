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
from .i18n import LANGUAGES
from .links import ExportLinks, export_filter_name, export_key_name
from .query import OUTCOME_FILTERS, SampleQuery
from .site import STATIC_DIR, Renderer

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
    if lang not in LANGUAGES:
        raise ConfigError(f"--lang must be one of {', '.join(LANGUAGES)}, got {lang!r}")
    started = time.perf_counter()
    root_path = Path(root).expanduser()
    if not root_path.exists():
        raise ConfigError(f"{root_path} does not exist: pass a run folder or a folder holding runs")
    out = Path(out_dir).expanduser().resolve()
    _prepare(out, root_path.resolve())
    catalog = Catalog(root_path)
    renderer = Renderer(catalog.root, lang)
    wanted: set[str] = set()
    written = 0

    def write(path: str, template: str, context: dict) -> None:
        nonlocal written
        links = ExportLinks(path, wanted)
        html = renderer.render(template, links, context)
        target = out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
        written += 1

    shutil.copytree(STATIC_DIR, out / "static")
    template, ctx = pages.runs_page(catalog)
    write("index.html", template, ctx)

    broken: list[str] = []

    def warning(message: str) -> None:
        if warn:
            warn(message)

    good_runs: list[str] = []
    for entry in catalog.runs():
        if progress:
            progress(f"run {entry.rel}")
        try:
            by_workers = _export_run(catalog, renderer, entry.id, out, lang, workers, wanted, write, progress)
            written += by_workers  # after the call: `write` counts the pages it wrote itself
            good_runs.append(entry.id)
        except Exception as exc:  # one unreadable run must not stop the others
            reason = f"{entry.rel}: {type(exc).__name__}: {exc}"
            broken.append(entry.rel)
            warning(f"run {reason}; exported as a broken-run page")
            write(f"runs/{entry.id}/index.html", "error.html", {"title": renderer.t("broken_run"), "message": reason})

    if len(good_runs) >= 2:
        template, ctx = pages.compare_page(catalog, good_runs)
        write("compare/all-1.html", template, ctx)
        for page_no in range(2, ctx.get("pages", 1) + 1):
            template, ctx = pages.compare_page(catalog, good_runs, page=page_no)
            write(f"compare/all-{page_no}.html", template, ctx)

    for entry in catalog.perfs():
        template, ctx = pages.perf_page(catalog, entry.id)
        write(f"perf/{entry.id}/index.html", template, ctx)

    copied = 0
    for rel in sorted(wanted):
        try:
            source = catalog.contained_file(catalog.root, rel)
        except NotFound:
            warning(f"file {rel} is not a regular file inside its folder (a symlink out of it?); not copied")
            continue
        target = out / "files" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        copied += 1
    (out / MARKER).write_text("written by thinklens view --export; safe to delete\n")
    catalog.close()
    return ExportResult(out, written, copied, time.perf_counter() - started, broken)


def _export_run(catalog: Catalog, renderer: Renderer, rid: str, out: Path, lang: str, workers: int | None,
                wanted: set[str], write: Callable[[str, str, dict], None],
                progress: Callable[[str], None] | None) -> int:
    """Every page of one run; returns how many sample pages the worker processes wrote
    (`write` counts its own)."""
    written = 0
    reader = catalog.reader(rid)
    template, ctx = pages.run_page(catalog, rid, renderer.t)
    write(f"runs/{rid}/index.html", template, ctx)
    for base in _filter_bases(reader.datasets_and_subsets()):
        for outcome in ("", *OUTCOME_FILTERS):
            query = SampleQuery(dataset=base.dataset, subset=base.subset, outcome=outcome)
            first = reader.page(query)
            for page_no in range(1, first.pages + 1):
                q = query.with_(page=page_no)
                template, ctx = pages.samples_page(catalog, rid, q)
                write(f"runs/{rid}/samples/{export_filter_name(q)}-{page_no}.html", template, ctx)
    keys = reader.natural_keys()
    n_workers = min(workers or os.cpu_count() or 1, 8)
    if n_workers > 1 and len(keys) >= PARALLEL_FROM:
        chunks = [keys[i : i + CHUNK] for i in range(0, len(keys), CHUNK)]
        with ProcessPoolExecutor(n_workers) as pool:
            jobs = [pool.submit(_sample_pages, str(catalog.root), str(out), lang, rid, chunk) for chunk in chunks]
            for done, job in enumerate(jobs, 1):
                n, files = job.result()
                written += n
                wanted.update(files)
                if progress:
                    progress(f"  {min(done * CHUNK, len(keys))}/{len(keys)} samples")
    else:
        for i, key in enumerate(keys):
            template, ctx = pages.sample_page(catalog, rid, key, SampleQuery())
            write(f"runs/{rid}/s/{export_key_name(key)}.html", template, ctx)
            if progress and (i + 1) % 500 == 0:
                progress(f"  {i + 1}/{len(keys)} samples")

    return written


def _sample_pages(root: str, out: str, lang: str, rid: str, keys: list[str]) -> tuple[int, set[str]]:
    """One worker process: render the sample pages of `keys` (its own reader)."""
    catalog = Catalog(root)
    renderer = Renderer(catalog.root, lang)
    wanted: set[str] = set()
    try:
        for key in keys:
            path = f"runs/{rid}/s/{export_key_name(key)}.html"
            template, ctx = pages.sample_page(catalog, rid, key, SampleQuery())
            target = Path(out) / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(renderer.render(template, ExportLinks(path, wanted), ctx), encoding="utf-8")
    finally:
        catalog.close()
    return len(keys), wanted


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
