"""The grading worker process (`python -m thinklens.grading._worker`, started by the pool):
receive one request, grade it, send the score back.

Runs `grade` in the process's main thread, so a signal-based soft deadline works (it
returns "ungraded" without losing the worker); the parent's hard deadline kills the
process when the soft one cannot fire (long C-level arithmetic such as 10**(10**10)).
Requests and scores travel as plain tuples: cheaper to pickle than dataclasses.
"""

from __future__ import annotations

import signal
from typing import Any

READY = "ready"


class SoftDeadline(BaseException):
    """Raised by SIGALRM; a BaseException so that `except Exception` in sympy lets it through."""


def _on_alarm(signum: int, frame: Any) -> None:
    raise SoftDeadline()


def score_to_tuple(score: Any) -> tuple[Any, ...]:
    return (score.correct, score.reason, score.extracted, score.method, score.normalized_pred,
            score.normalized_gold, score.detail)


def request_to_tuple(req: Any) -> tuple[Any, ...]:
    return (req.grader, req.response, req.gold, req.finish_reason, req.problem, req.choices, req.gold_info)


def _limit_memory(max_memory_mb: int | None) -> None:
    if not max_memory_mb:
        return
    try:
        import resource

        limit = int(max_memory_mb) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):  # not on this platform: the deadline still holds
        pass


# One comparison of each kind: sympy imports its simplification, matrix and set machinery
# lazily (up to a second on first use); pay that at start-up, not inside an item's deadline.
_WARM_UP_CASES = (
    ("\\boxed{\\frac{\\cos x}{\\sin x}}", "\\cot x"),
    ("\\boxed{\\begin{pmatrix} \\frac{1}{2} \\\\ 2 \\end{pmatrix}}", "\\begin{pmatrix} 1/2 \\\\ 2 \\end{pmatrix}"),
    ("\\boxed{-2, 1}", "1,-2"),
    ("\\boxed{[2, \\infty)}", "(2,\\infty)"),
    ("\\boxed{[-2, 7]}", "x \\in [-2,7]"),
    ("\\boxed{y = 3 + 2x}", "y = 2x + 3"),
    ("\\boxed{0.5}", "\\frac{1}{2}"),
)


_warmed = False


def _warm_up(grade: Any, request_cls: Any) -> None:
    """First calls fill sympy's and the LaTeX parser's caches; done once per process
    (at worker start, so that no item pays for it inside its deadline)."""
    global _warmed
    if _warmed:
        return
    _warmed = True
    for response, gold in _WARM_UP_CASES:
        try:
            grade(request_cls("math", response, gold))
        except Exception:  # noqa: BLE001 - warming up must never stop a worker
            pass


def worker_main(conn: Any, soft_timeout: float, max_memory_mb: int | None) -> None:
    # Ctrl-C goes to the whole process group; the parent decides what to do, not us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _limit_memory(max_memory_mb)
    from .graders import grade, ungraded
    from .request import GradeRequest

    _warm_up(grade, GradeRequest)
    signal.signal(signal.SIGALRM, _on_alarm)
    conn.send(READY)
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg is None:
            return
        req = GradeRequest(*msg)
        try:
            signal.setitimer(signal.ITIMER_REAL, soft_timeout)
            try:
                score = grade(req)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except SoftDeadline:
            score = ungraded(req, f"timed out after {soft_timeout:.1f} s", error="timeout")
        except MemoryError:
            score = ungraded(req, "ran out of memory", error="memory")
        except RecursionError:
            score = ungraded(req, "expression nested too deeply", error="recursion")
        except Exception as exc:  # noqa: BLE001 - a grader bug must cost one item, not the run
            score = ungraded(req, f"grader error: {type(exc).__name__}: {exc}"[:500], error="exception")
        try:
            conn.send(score_to_tuple(score))
        except (BrokenPipeError, OSError):
            return


def _main(argv: list[str]) -> None:
    """``python -m thinklens.grading._worker FD SOFT_TIMEOUT MAX_MEMORY_MB`` (started by the pool)."""
    from multiprocessing.connection import Connection

    fd, soft_timeout, max_memory_mb = int(argv[0]), float(argv[1]), int(argv[2])
    worker_main(Connection(fd), soft_timeout, max_memory_mb or None)


if __name__ == "__main__":
    import sys

    _main(sys.argv[1:])
