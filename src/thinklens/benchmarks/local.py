"""Reading benchmark data from local files and folders.

Formats: JSON Lines, JSON (a list of records or `{"data": [...]}`), CSV, Parquet (with
pyarrow) and zip archives of those, optionally password-protected like GPQA's official
distribution.  Archive members are read in memory and never extracted to disk.  Every
malformed record is reported with its file and line.

Parsed files are cached in memory, keyed by path, modification time, size, archive
member and password, so loading the same data twice in one process costs nothing.
"""

from __future__ import annotations

import csv
import fnmatch
import hashlib
import io
import json
import os
import re
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from ..errors import DatasetError
from .rows import RawRow

DATA_SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".parquet")
ARCHIVE_SUFFIXES = (".zip",)
SUPPORTED = ", ".join(DATA_SUFFIXES + ARCHIVE_SUFFIXES)

PARQUET_HINT = "reading Parquet needs pyarrow: pip install 'thinklens[parquet]'"


@dataclass(frozen=True)
class FileSelection:
    """Which data files of a folder (or archive) belong to a benchmark.

    Candidates are narrowed step by step, each step applied only when it keeps at least
    one file: the benchmark's known file patterns (`test.jsonl`, `main/test-*.parquet`),
    then its name hints (`aime25`, `aime2025`), then the split (`test`), then the config
    (`main`).  A folder that only holds this benchmark's data thus needs no naming
    convention, and one that holds several benchmarks picks the right files.
    """

    patterns: tuple[str, ...] = ()
    hints: tuple[str, ...] = ()
    split: str | None = None
    config: str | None = None

    def select(self, relpaths: Sequence[str]) -> list[str]:
        chosen = list(relpaths)
        for keep in (self._by_pattern, self._by_hint, self._by_split, self._by_config):
            narrowed = [p for p in chosen if keep(p)]
            if narrowed:
                chosen = narrowed
        return chosen

    def _by_pattern(self, path: str) -> bool:
        name = PurePosixPath(path).name
        return any(fnmatch.fnmatch(path, pat) or fnmatch.fnmatch(name, pat) for pat in self.patterns)

    def _by_hint(self, path: str) -> bool:
        name = PurePosixPath(path).name.lower()
        return any(h.lower() in name for h in self.hints)

    def _by_split(self, path: str) -> bool:
        return bool(self.split) and self.split.lower() in _tokens(path)

    def _by_config(self, path: str) -> bool:
        return bool(self.config) and self.config.lower() in _tokens(path)


def _tokens(path: str) -> set[str]:
    stem = path.rsplit(".", 1)[0]
    return {t for t in re.split(r"[^a-z0-9]+", stem.lower()) if t}


# --------------------------------------------------------------------------- parsing


def _decode(data: bytes, display: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DatasetError(f"{display}, line {line}: not UTF-8 text ({exc.reason})") from None


def _jsonl_record(line: str, lineno: int, display: str) -> dict[str, Any]:
    """One line of a .jsonl file as a JSON object, or an error naming the line."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DatasetError(
            f"{display}, line {lineno}: invalid JSON ({exc.msg}, column {exc.colno}). "
            "Each line of a .jsonl file must be one JSON object."
        ) from None
    if not isinstance(record, dict):
        raise DatasetError(f"{display}, line {lineno}: expected a JSON object, got {type(record).__name__}")
    return record


def _parse_jsonl(data: bytes, display: str) -> list[RawRow]:
    rows: list[RawRow] = []
    for lineno, line in enumerate(_decode(data, display).splitlines(), start=1):
        if line.strip():
            rows.append(RawRow(_jsonl_record(line, lineno, display), display, len(rows), lineno))
    return rows


def _parse_json(data: bytes, display: str) -> list[RawRow]:
    text = _decode(data, display)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = " (JSON Lines? name the file .jsonl)" if exc.msg == "Extra data" else ""
        raise DatasetError(f"{display}, line {exc.lineno}: invalid JSON ({exc.msg}, column {exc.colno}){hint}") from None
    records = doc.get("data") if isinstance(doc, dict) else doc
    if not isinstance(records, list):
        raise DatasetError(f"{display}: expected a JSON list of records or an object {{\"data\": [...]}}")
    rows: list[RawRow] = []
    for i, record in enumerate(records):
        if not isinstance(record, dict):
            raise DatasetError(f"{display}, record {i + 1}: expected a JSON object, got {type(record).__name__}")
        rows.append(RawRow(record, display, i, None))
    return rows


def _parse_csv(data: bytes, display: str) -> list[RawRow]:
    # GPQA's CSV has fields as large as whole explanations: lift the csv module's 128 KiB cap.
    csv.field_size_limit(min(2**31 - 1, 1 << 30))
    reader = csv.DictReader(io.StringIO(_decode(data, display), newline=""))
    rows: list[RawRow] = []
    start = 2  # line 1 is the header
    try:
        if not reader.fieldnames:
            raise DatasetError(f"{display}: empty CSV file (no header line)")
        width = len(reader.fieldnames)
        for record in reader:
            if None in record:
                raise DatasetError(
                    f"{display}, line {start}: {width + len(record[None])} fields but the header has {width}"
                )
            if any(v is None for v in record.values()):
                got = sum(v is not None for v in record.values())
                raise DatasetError(f"{display}, line {start}: {got} fields but the header has {width}")
            rows.append(RawRow(record, display, len(rows), start))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DatasetError(f"{display}, line {reader.line_num}: malformed CSV ({exc})") from None
    return rows


def _parse_parquet(data: bytes, display: str) -> list[RawRow]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise DatasetError(f"{display}: {PARQUET_HINT}") from None
    try:
        table = pq.read_table(pa.BufferReader(data))
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError subclasses
        raise DatasetError(f"{display}: unreadable Parquet file ({exc})") from None
    return [RawRow(record, display, i, None) for i, record in enumerate(table.to_pylist())]


_PARSERS = {
    ".jsonl": _parse_jsonl,
    ".ndjson": _parse_jsonl,
    ".json": _parse_json,
    ".csv": _parse_csv,
    ".parquet": _parse_parquet,
}


def _suffix(name: str) -> str:
    return PurePosixPath(name).suffix.lower()


# --------------------------------------------------------------------------- cache

_CACHE_SIZE = 64
_cache: OrderedDict[tuple, tuple[RawRow, ...]] = OrderedDict()
_cache_lock = threading.Lock()


def _cache_key(path: Path, member: str, password: str | None, display: str) -> tuple:
    st = path.stat()
    # Only a digest of the password is kept, never the password itself.
    pwd = hashlib.sha256(password.encode()).hexdigest() if password else ""
    return (str(path.resolve()), st.st_mtime_ns, st.st_size, member, pwd, display)


def _cached(key: tuple, parse) -> tuple[RawRow, ...]:
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    rows = tuple(parse())
    with _cache_lock:
        _cache[key] = rows
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return rows


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()


# --------------------------------------------------------------------------- files, folders, archives


def read_file(path: Path, *, display: str | None = None) -> list[RawRow]:
    """Parse one data file (not an archive)."""
    display = display or path.name
    parse = _PARSERS.get(_suffix(path.name))
    if parse is None:
        raise DatasetError(f"{path}: unsupported file type; supported: {SUPPORTED}")
    return list(_cached(_cache_key(path, "", None, display), lambda: parse(path.read_bytes(), display)))


def _iter_jsonl(path: Path, display: str) -> Iterator[RawRow]:
    index = 0
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise DatasetError(f"{display}, line {lineno}: not UTF-8 text ({exc.reason})") from None
            if not line.strip():
                continue
            yield RawRow(_jsonl_record(line, lineno, display), display, index, lineno)
            index += 1


def _iter_csv(path: Path, display: str) -> Iterator[RawRow]:
    csv.field_size_limit(min(2**31 - 1, 1 << 30))
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames:
                raise DatasetError(f"{display}: empty CSV file (no header line)")
            width = len(reader.fieldnames)
            start, index = 2, 0  # line 1 is the header
            for record in reader:
                if None in record or any(v is None for v in record.values()):
                    got = width + len(record[None]) if None in record else sum(v is not None for v in record.values())
                    raise DatasetError(f"{display}, line {start}: {got} fields but the header has {width}")
                yield RawRow(record, display, index, start)
                index += 1
                start = reader.line_num + 1
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{display}: not UTF-8 text ({exc.reason})") from None
    except csv.Error as exc:
        raise DatasetError(f"{display}: malformed CSV ({exc})") from None


def _iter_parquet(path: Path, display: str) -> Iterator[RawRow]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DatasetError(f"{display}: {PARQUET_HINT}") from None
    try:
        batches = pq.ParquetFile(path).iter_batches(batch_size=256)  # row groups are read as needed
        index = 0
        for batch in batches:
            for record in batch.to_pylist():
                yield RawRow(record, display, index, None)
                index += 1
    except DatasetError:
        raise
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError subclasses
        raise DatasetError(f"{display}: unreadable Parquet file ({exc})") from None


_STREAMERS = {".jsonl": _iter_jsonl, ".ndjson": _iter_jsonl, ".csv": _iter_csv, ".parquet": _iter_parquet}


def iter_path(path: Path, *, password: str | None, selection: FileSelection) -> Iterator[RawRow]:
    """Rows of `path` as they are read, for a caller that may stop early (`--limit`): a
    JSON Lines, CSV or Parquet file is streamed (a 200 MB file with `--limit 3` reads a few
    lines), never cached whole.  Folders, archives and JSON documents are read whole, as
    `read_path` reads them (a JSON document cannot be parsed in parts with the stdlib)."""
    stream = _STREAMERS.get(_suffix(path.name))
    if stream is not None and path.is_file():
        return stream(path, path.name)
    return iter(read_path(path, password=password, selection=selection))


def read_archive(path: Path, *, password: str | None, selection: FileSelection) -> list[RawRow]:
    """Parse the benchmark's data members of a zip archive, in memory."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise DatasetError(f"{path}: not a valid zip archive") from None
    with archive:
        members = [
            info.filename
            for info in archive.infolist()
            if not info.is_dir() and _suffix(info.filename) in _PARSERS and not _hidden(info.filename)
        ]
        if not members:
            raise DatasetError(f"{path}: the archive holds no data files ({', '.join(DATA_SUFFIXES)})")
        chosen = selection.select(members)
        rows: list[RawRow] = []
        for member in chosen:
            info = archive.getinfo(member)
            encrypted = bool(info.flag_bits & 0x1)
            display = f"{path.name}!{member}"

            def parse(member: str = member, display: str = display, encrypted: bool = encrypted) -> list[RawRow]:
                if encrypted and not password:
                    raise DatasetError(
                        f"{path} is password-protected: pass the password with --dataset-password "
                        "or dataset_args {'password': ...}"
                    )
                try:
                    data = archive.read(member, pwd=password.encode() if password else None)
                except RuntimeError as exc:  # zipfile's "Bad password for file"
                    if "password" in str(exc).lower():
                        raise DatasetError(f"{path}: wrong password for the archive") from None
                    raise DatasetError(f"{display}: cannot read the archive member ({exc})") from None
                except (zipfile.BadZipFile, NotImplementedError, OSError) as exc:
                    raise DatasetError(f"{display}: cannot read the archive member ({exc})") from None
                return _PARSERS[_suffix(member)](data, display)

            rows.extend(_cached(_cache_key(path, member, password if encrypted else None, display), parse))
        return rows


def _hidden(relpath: str) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in PurePosixPath(relpath).parts)


def data_files(folder: Path) -> list[str]:
    """Data files and archives below `folder`, as sorted relative POSIX paths (hidden ones skipped)."""
    found: list[str] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__MACOSX")
        for name in files:
            if name.startswith("."):
                continue
            if _suffix(name) in _PARSERS or _suffix(name) in ARCHIVE_SUFFIXES:
                found.append(Path(root, name).relative_to(folder).as_posix())
    return sorted(found, key=natural_key)


def natural_key(path: str) -> list[tuple[int, int | str]]:
    """Order `part_I` before `part_II` and `file2` before `file10` (plain sorting does neither)."""
    key: list[tuple[int, int | str]] = []
    for part in re.split(r"[^A-Za-z0-9]+", path):
        for piece in re.split(r"(\d+)", part):
            if piece:
                key.append((0, int(piece)) if piece.isdigit() else (1, piece.lower()))
        key.append((-1, 0))  # a separator sorts before any continuation of the name
    return key


def read_path(path: Path, *, password: str | None, selection: FileSelection) -> list[RawRow]:
    """Rows of a local file, archive or folder (the folder's files chosen by `selection`)."""
    if not path.exists():
        raise DatasetError(f"no such file or folder: {path}")
    if path.is_dir():
        files = data_files(path)
        if not files:
            raise DatasetError(f"{path}: the folder holds no data files ({SUPPORTED})")
        rows: list[RawRow] = []
        for rel in selection.select(files):
            if _suffix(rel) in ARCHIVE_SUFFIXES:
                rows.extend(read_archive(path / rel, password=password, selection=selection))
            else:
                rows.extend(read_file(path / rel, display=rel))
        return rows
    if _suffix(path.name) in ARCHIVE_SUFFIXES:
        return read_archive(path, password=password, selection=selection)
    return read_file(path)
