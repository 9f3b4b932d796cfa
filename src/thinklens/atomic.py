"""Atomic file writes: a reader (the viewer, a rerun) sees the old file or the new one,
never half of one, and an interrupted write leaves no temporary file behind."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> None:
    """Write to a temporary file in the same folder (same file system, so `os.replace`
    is atomic), then rename it over `path`.  The temporary file is removed on any
    failure, Ctrl-C and a full disk included."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding=encoding) as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
