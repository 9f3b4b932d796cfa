"""`GradingPool`: grading in worker processes with a hard per-item time limit.

A pathological answer (a megabyte of nested braces, a formula sympy cannot settle) must
never hang an evaluation, and a grader timeout is "ungraded": shown apart, and scored as
not correct (a score counts only answers proven correct).  So:

* N worker processes, each fed one item at a time over its own socket pair.  Each is a
  fresh interpreter running ``python -m thinklens.grading._worker`` (see `_WorkerProcess`:
  never multiprocessing, whose spawn/forkserver children re-import the user's
  ``__main__``).  One parent thread per worker sends the item and waits on the pipe with
  a deadline.  Past the deadline, or when the worker dies, the worker is killed
  and replaced, and that item (only that one) is scored ``ungraded``.
* Inside the worker a SIGALRM soft deadline (80 % of the limit) returns "ungraded" without
  losing the process; the hard kill is for C-level work no signal can interrupt.
* Most answers need no algebra at all (no answer, identical normal forms, an option letter,
  an integer): `grade_quick` decides those in the calling process, which is what lets the
  pool keep up with thousands of answers per second.  It returns a verdict only where the
  full grader would return the same one (the full grader starts by calling it).
* `await pool.grade(req)` never blocks the event loop: the worker threads resolve
  `concurrent.futures.Future`s that the coroutine awaits.
"""

from __future__ import annotations

import asyncio
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ..records import Score
from ._worker import READY, request_to_tuple
from .request import GradeRequest


def ungraded(req: GradeRequest, reason: str, *, error: str) -> Score:
    # The graders module (~0.1 s of imports) loads at the first answer, not at pool start:
    # an eval creates its pool before its first request.
    from .graders import ungraded as make_ungraded

    return make_ungraded(req, reason, error=error)

# Responses longer than this skip the in-caller quick path: the caller may be an event
# loop, and even linear-time scans of megabytes are better done in a worker.
QUICK_PATH_MAX_CHARS = 50_000
_STARTUP_TIMEOUT = 120.0  # importing sympy on a loaded machine can take a while


class _WorkerProcess:
    """One grading worker: a fresh interpreter running ``python -m thinklens.grading._worker``.

    Why not multiprocessing: its spawn and forkserver children run the parent's
    ``__main__`` again (``spawn.prepare`` re-executes the main script by path).  A script
    written as the EvalScope guide writes it (``run_task(...)`` at module level, no
    ``if __name__ == "__main__":``) then starts a new evaluation in every worker, without
    end.  Hiding ``__main__`` from multiprocessing takes its private API, which changes
    between Python versions; a subprocess whose main module is ours cannot import the
    user's script at all, whatever shape it has (file, ``-c``, stdin, notebook, runpy).
    The price: each worker imports sympy itself (~2 s of CPU), once, lazily.

    Has the small part of `multiprocessing.Process` the pool uses (pid, exitcode, kill,
    join, is_alive); the channel is a `multiprocessing.connection.Connection`.
    """

    def __init__(self, soft_timeout: float, max_memory_mb: int | None) -> None:
        parent_sock, child_sock = socket.socketpair()
        # The worker imports thinklens from where this process did (a script may have
        # put it on sys.path itself), ahead of whatever PYTHONPATH says.
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        try:
            self._popen = subprocess.Popen(
                [sys.executable, "-m", "thinklens.grading._worker", str(child_sock.fileno()),
                 repr(float(soft_timeout)), str(max_memory_mb or 0)],
                pass_fds=[child_sock.fileno()], env=env, stdin=subprocess.DEVNULL,
                # Own process group: Ctrl-C in the terminal reaches the parent only, which
                # decides; the worker ends when its socket closes.
                start_new_session=True,
            )
        except BaseException:
            parent_sock.close()
            raise
        finally:
            child_sock.close()
        self.pid = self._popen.pid
        self.conn = Connection(parent_sock.detach())

    @property
    def exitcode(self) -> int | None:
        return self._popen.poll()

    def is_alive(self) -> bool:
        return self._popen.poll() is None

    def kill(self) -> None:
        if self._popen.poll() is None:
            self._popen.kill()

    def join(self, timeout: float | None = None) -> None:
        try:
            self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass


@dataclass
class _Job:
    request: GradeRequest
    future: Future


class _Slot:
    """One worker process and the parent thread that drives it."""

    def __init__(self, pool: "GradingPool", index: int) -> None:
        self.pool = pool
        self.index = index
        self.process: Any = None
        self.conn: Any = None
        self.ready = False
        self.ready_event = threading.Event()  # set while the current worker is ready
        self.in_worker = False  # an item is inside the worker (sent, no answer yet)
        self.lock = threading.Lock()
        # Started on the first item that needs it: runs whose answers all take the quick
        # path in the caller never pay the ~2 s of CPU a worker spends importing sympy.
        self.thread = threading.Thread(target=self.run, name=f"thinklens-grader-{index}", daemon=True)
        self.thread.start()

    # -- process lifecycle -------------------------------------------------------------
    def start_process(self) -> None:
        proc = _WorkerProcess(self.pool.soft_timeout, self.pool.max_memory_mb)
        self.process, self.conn, self.ready = proc, proc.conn, False
        self.ready_event.clear()

    def wait_ready(self) -> bool:
        if self.ready:
            return True
        conn = self.conn  # close() may kill the worker meanwhile and clear self.conn
        if conn is None:
            return False
        try:
            if conn.poll(_STARTUP_TIMEOUT) and conn.recv() == READY:
                self.ready = True
                self.ready_event.set()
                return True
        except (EOFError, OSError):
            pass
        return False

    def kill(self) -> int | None:
        proc, conn = self.process, self.conn
        self.process = self.conn = None
        self.ready = False
        self.ready_event.clear()
        if conn is not None:
            conn.close()
        if proc is None:
            return None
        if proc.is_alive():
            proc.kill()
        proc.join(timeout=5)
        return proc.exitcode

    def retire(self) -> None:
        """Kill the worker after a timeout or crash; `run` starts a fresh one."""
        self.kill()
        self.pool.restarts += 1

    def ensure_worker(self) -> None:
        with self.lock:
            if self.process is None and not self.pool._closed:
                self.start_process()
            if self.process is not None and not self.ready:
                self.wait_ready()

    # -- the loop ------------------------------------------------------------------------
    def run(self) -> None:
        jobs = self.pool._jobs
        while True:
            job = jobs.get()
            if job is None:
                break
            if not job.future.set_running_or_notify_cancel():
                continue
            try:
                score = self.grade_one(job.request)
            except BaseException as exc:  # noqa: BLE001 - never leave a future pending
                score = ungraded(job.request, f"grading pool error: {type(exc).__name__}: {exc}", error="pool")
            job.future.set_result(score)
            # Replace a killed worker now, after the caller has its answer, not before.
            self.ensure_worker()
        self.kill()

    def grade_one(self, req: GradeRequest) -> Score:
        self.ensure_worker()
        if not self.ready:
            code = self.process.exitcode if self.process is not None else None
            self.retire()
            return ungraded(req, f"grading worker failed to start (exit code {code})", error="crash")
        try:
            self.conn.send(request_to_tuple(req))
        except (BrokenPipeError, OSError, ValueError):
            code = self.process.exitcode if self.process else None
            self.retire()
            return ungraded(req, f"grading worker died (exit code {code})", error="crash")
        started = time.monotonic()
        self.in_worker = True
        try:
            if self.conn.poll(self.pool.timeout):
                return Score(*self.conn.recv())
        except (EOFError, OSError):
            self.process.join(timeout=1)
            code = self.process.exitcode
            self.retire()
            return ungraded(req, f"grading worker crashed (exit code {code})", error="crash")
        finally:
            self.in_worker = False
        elapsed = time.monotonic() - started
        self.retire()
        self.pool.timeouts += 1
        return ungraded(req, f"timed out after {elapsed:.1f} s (worker killed)", error="timeout")


class GradingPool:
    """Grade answers in `workers` processes, each item limited to `timeout` seconds.

    ``with GradingPool(workers=2) as pool: scores = pool.grade_many(requests)``;
    from asyncio: ``score = await pool.grade(request)``.
    """

    def __init__(
        self,
        workers: int | None = None,
        timeout: float = 10.0,
        *,
        quick_path: bool = True,
        max_memory_mb: int | None = 4096,
        soft_timeout: float | None = None,
    ) -> None:
        n = workers if workers is not None else (os.cpu_count() or 1)
        if n < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        if not timeout or timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.workers = n
        self.timeout = float(timeout)
        # The in-worker SIGALRM deadline; above `timeout` it never fires before the kill.
        self.soft_timeout = float(soft_timeout) if soft_timeout else max(0.05, 0.8 * self.timeout)
        self.quick_path = quick_path
        self.max_memory_mb = max_memory_mb
        self.restarts = 0
        self.timeouts = 0
        self._closed = False
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._slots = [_Slot(self, i) for i in range(n)]
        self._finalizer = weakref.finalize(self, _shutdown, self._jobs, list(self._slots))

    # -- submitting --------------------------------------------------------------------------
    def submit(self, req: GradeRequest) -> Future:
        """Schedule one request; the future resolves to its Score (never raises)."""
        if self._closed:
            raise RuntimeError("GradingPool is closed")
        fut: Future = Future()
        if self.quick_path and len(req.response) <= QUICK_PATH_MAX_CHARS:
            from .graders import grade_quick  # cached after the first answer

            try:
                quick = grade_quick(req)
            except Exception:  # noqa: BLE001 - let the worker (and its limits) have a go
                quick = None
            if quick is not None:
                fut.set_result(quick)
                return fut
        self._jobs.put(_Job(req, fut))
        return fut

    async def grade(self, req: GradeRequest) -> Score:
        """Grade one request without blocking the event loop."""
        return await asyncio.wrap_future(self.submit(req))

    def grade_many(self, reqs: Sequence[GradeRequest]) -> list[Score]:
        """Grade in parallel over the workers; results in the order of `reqs`."""
        futures = [self.submit(r) for r in reqs]
        return [f.result() for f in futures]

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        """Finish queued items, stop the workers.  Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._finalizer()

    def __enter__(self) -> "GradingPool":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def wait_ready(self, timeout: float = _STARTUP_TIMEOUT) -> bool:
        """Block until every worker is ready (optional: an item waits for its worker anyway).

        Also after a worker was replaced: the replacement imports sympy before it is ready.
        """
        for slot in self._slots:  # start the lazy workers, importing in parallel
            if slot.process is None:
                threading.Thread(target=slot.ensure_worker, daemon=True).start()
        deadline = time.monotonic() + timeout
        return all(s.ready_event.wait(max(0.0, deadline - time.monotonic())) for s in self._slots)

    def worker_pids(self) -> list[int | None]:
        return [s.process.pid if s.process is not None else None for s in self._slots]

    def items_in_workers(self) -> int:
        """Items sent to a worker and not answered yet (what a monitor or a test waits on)."""
        return sum(1 for s in self._slots if s.in_worker)


def _shutdown(jobs: queue.SimpleQueue, slots: list[_Slot]) -> None:
    for _ in slots:
        jobs.put(None)
    for slot in slots:
        proc = slot.process
        if proc is not None and not slot.ready:
            proc.kill()  # still importing: its thread's wait for READY ends at once
    for slot in slots:
        slot.thread.join(timeout=60)
        if slot.thread.is_alive():  # stuck: kill its worker so the thread's poll returns
            slot.kill()
    for slot in slots:
        if slot.conn is not None:
            try:
                slot.conn.send(None)
            except (BrokenPipeError, OSError, ValueError):
                pass
        slot.kill()
