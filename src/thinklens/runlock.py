"""One writer per run folder: an OS lock on `DIR/.lock`.

Two processes writing one folder would interleave their plans, reports and configs, so
every writer (eval, --regrade, efficiency) holds `fcntl.flock` on `DIR/.lock` while it
works.  The kernel releases the lock when the process ends, however it ends (kill -9
too): a stale lock file never blocks anyone.  The file holds the holder's pid, start
time and command, for the message the next process prints.  Readers (viewer, export,
report) never take it.  The file is left in place on release: deleting a lock file
races with a process that has opened it and is about to lock it.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import RunLocked

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks; runs are not guarded
    fcntl = None  # type: ignore[assignment]

LOCK_FILENAME = ".lock"


def _command() -> str:
    """What the holder is, without its arguments (they may hold an API key)."""
    prog = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    if prog in ("__main__.py", "-c", "-m", ""):
        prog = "thinklens" if "thinklens" in sys.argv[0] else "python"
    sub = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1].isidentifier() else ""
    return f"{prog} {sub}".strip()


def describe_holder(info: dict[str, Any]) -> str:
    started = info.get("started_at")
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)) if isinstance(started, (int, float)) else "?"
    return f"pid {info.get('pid', '?')}, started {when}, `{info.get('command', '?')}`"


class RunLock:
    """`with RunLock(run_dir, wait=False): ...`; raises RunLocked when another process holds it."""

    def __init__(self, run_dir: str | Path, *, wait: bool = False,
                 on_wait: Callable[[str], None] | None = None) -> None:
        self.path = Path(run_dir) / LOCK_FILENAME
        self.wait = wait
        self.on_wait = on_wait
        self._fd: int | None = None

    def acquire(self) -> "RunLock":
        if fcntl is None or self._fd is not None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = describe_holder(_read(fd))
                if not self.wait:
                    raise RunLocked(
                        f"run folder {self.path.parent} is in use by another thinklens process ({holder}). "
                        "Wait for it to finish, or pass --wait-lock to wait for it (wait_lock=True in Python)."
                    ) from None
                if self.on_wait is not None:
                    self.on_wait(f"waiting for run folder {self.path.parent}: in use by {holder}")
                fcntl.flock(fd, fcntl.LOCK_EX)
            os.ftruncate(fd, 0)
            info = {"pid": os.getpid(), "started_at": time.time(), "command": _command()}
            os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return self

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the descriptor releases the flock

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read(fd: int) -> dict[str, Any]:
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}
