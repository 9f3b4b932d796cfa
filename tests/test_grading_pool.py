"""GradingPool: real worker processes, hard per-item limits, crashes, asyncio."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time

import pytest

from thinklens.grading import GradeRequest, GradingPool, grade

# sympy evaluates this power in pure arithmetic for tens of seconds: a real hang (the
# subtraction keeps the size bounds of magnitude.py from deciding it first).
HANG = GradeRequest("math", r"\boxed{10^{9999 \cdot 9999} - 1}", "5")

MIXED = [
    GradeRequest("math", r"so \boxed{\dfrac{14}{3}}", r"\frac{14}{3}"),
    GradeRequest("math", r"\boxed{\frac{\cos x}{\sin x}}", r"\cot x"),
    GradeRequest("math", r"\boxed{0.75}", r"\frac34", problem="Express your answer as a common fraction."),
    GradeRequest("math", r"\boxed{-2, 1}", "1,-2"),
    GradeRequest("math", r"\boxed{[2, \infty)}", r"(2,\infty)"),
    GradeRequest("math", "no idea", "4"),
    GradeRequest("math", "2 + 2 = 4 and", "4", finish_reason="length"),
    GradeRequest("integer", r"\boxed{23}", "023"),
    GradeRequest("choice", r"\boxed{42}", "B", choices=("17", "42", "7", "3")),
    GradeRequest("gsm8k", "She pays $1,080.", "1080"),
    GradeRequest("math", r"\boxed{10^{10^{10}}}", "5"),
] * 3


def _wait_for(condition, what: str, timeout: float = 30.0) -> None:
    """Poll the pool's public state until `condition()` holds (no sleep standing in for an event)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


@pytest.fixture(scope="module")
def pool():
    with GradingPool(workers=2, timeout=5.0) as p:
        yield p


def test_grade_many_keeps_order_and_matches_in_process(pool: GradingPool) -> None:
    expected = [grade(r) for r in MIXED]
    assert pool.grade_many(MIXED) == expected
    pool.quick_path = False  # every item through the worker processes
    try:
        assert pool.grade_many(MIXED) == expected
    finally:
        pool.quick_path = True


def test_async_grade(pool: GradingPool) -> None:
    async def main():
        return await asyncio.gather(*(pool.grade(r) for r in MIXED))

    assert asyncio.run(main()) == [grade(r) for r in MIXED]


def test_thousands_of_trivial_items(pool: GradingPool) -> None:
    reqs = [GradeRequest("math", f"so \\boxed{{{i % 50}}}", str(i % 40)) for i in range(3000)]
    pool.quick_path = False
    try:
        start = time.perf_counter()
        scores = pool.grade_many(reqs)
        elapsed = time.perf_counter() - start
    finally:
        pool.quick_path = True
    assert [s.correct for s in scores] == [(i % 50) == (i % 40) for i in range(3000)]
    assert elapsed < 15, f"3000 trivial items took {elapsed:.1f} s"


@pytest.mark.parametrize(
    "response",
    [
        r"\boxed{10^{10^{10}}}",
        r"\boxed{2^{3^{4^{5}}}}",
        r"\boxed{" + "{" * 5000 + "1" + "}" * 5000 + "}",
        "\\boxed{" + "x" * 1_000_000 + "}",
        "y" * 1_000_000 + r" so \boxed{4}",
        r"\boxed{\frac{1}{2} + \left( \sqrt{ }",
        "\x00\\boxed{4\x00}\x00",
        r"\boxed{\frac{1}{0}}",
        r"\boxed{\begin{pmatrix} 1 & 2 \\ 3 \end{pmatrix}}",
    ],
)
def test_adversarial_answers_end_within_the_limit(pool: GradingPool, response: str) -> None:
    start = time.perf_counter()
    score = pool.grade_many([GradeRequest("math", response, "4")])[0]
    assert time.perf_counter() - start < pool.timeout + 30  # + a worker restart on a loaded machine
    assert score.reason in {"correct", "not_equivalent", "no_answer", "ungraded"}
    assert (score.correct is None) == (score.reason == "ungraded")
    # the pool still grades after it
    assert pool.grade_many([GradeRequest("math", r"\boxed{\frac{\cos x}{\sin x}}", r"\cot x")])[0].correct is True


@pytest.fixture(scope="module")
def small_pool():
    with GradingPool(workers=1, timeout=1.0) as p:  # soft deadline at 0.8 s
        assert p.wait_ready()
        yield p


def test_soft_deadline_is_ungraded_and_keeps_the_worker(small_pool: GradingPool) -> None:
    pid = small_pool.worker_pids()[0]
    score = small_pool.grade_many([HANG])[0]
    assert (score.correct, score.reason, score.detail["error"]) == (None, "ungraded", "timeout")
    assert small_pool.worker_pids()[0] == pid and small_pool.restarts == 0
    assert small_pool.grade_many([GradeRequest("math", r"\boxed{1}", "1")])[0].correct is True


def test_async_grade_does_not_block_the_event_loop(small_pool: GradingPool) -> None:
    async def main() -> tuple[int, object]:
        ticks = 0
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        task = asyncio.create_task(ticker())
        score = await small_pool.grade(HANG)  # most of a second of worker time
        stop.set()
        await task
        return ticks, score

    ticks, score = asyncio.run(main())
    assert score.reason == "ungraded"  # type: ignore[attr-defined]
    assert ticks >= 20  # the loop kept running while the worker was busy


def test_hung_and_crashed_workers_are_killed_and_replaced() -> None:
    # soft deadline off: only the parent's hard deadline can stop the item
    with GradingPool(workers=1, timeout=2.0, soft_timeout=120) as p:
        assert p.wait_ready()
        pid = p.worker_pids()[0]
        start = time.perf_counter()
        score = p.grade_many([HANG])[0]
        assert time.perf_counter() - start < 10
        assert (score.correct, score.reason, score.detail["error"]) == (None, "ungraded", "timeout")
        assert "worker killed" in score.detail["notes"][0]
        assert (p.restarts, p.timeouts) == (1, 1)
        assert p.wait_ready()
        pid2 = p.worker_pids()[0]
        assert pid2 not in (None, pid)

        # a worker that dies in the middle of an item (killed from outside)
        future = p.submit(HANG)
        _wait_for(lambda: p.items_in_workers() == 1, "the item to reach the worker")
        os.kill(pid2, signal.SIGKILL)
        score = future.result(timeout=30)
        assert (score.correct, score.reason, score.detail["error"]) == (None, "ungraded", "crash")
        assert "crashed" in score.detail["notes"][0]
        assert p.restarts == 2

        # the replacement grades, with a symbolic comparison too
        after = p.grade_many([GradeRequest("math", r"\boxed{-2,1}", "1,-2"), GradeRequest("math", r"\boxed{7}", "7")])
        assert [s.correct for s in after] == [True, True]
        assert p.worker_pids()[0] not in (pid, pid2)


def test_lifecycle() -> None:
    with pytest.raises(ValueError):
        GradingPool(workers=0)
    with pytest.raises(ValueError):
        GradingPool(workers=1, timeout=0)
    p = GradingPool(workers=1, timeout=5)
    assert p.worker_pids() == [None]  # workers start lazily, on the first item that needs one
    threading.Thread(target=p.wait_ready, daemon=True).start()
    _wait_for(lambda: p.worker_pids()[0] is not None, "the worker process to start")
    pid = p.worker_pids()[0]
    start = time.perf_counter()
    p.close()  # while the worker is still starting
    p.close()  # idempotent
    assert time.perf_counter() - start < 10
    assert p.worker_pids() == [None]
    with pytest.raises(ProcessLookupError):  # killed and reaped
        os.kill(pid, 0)
    with pytest.raises(RuntimeError):
        p.submit(GradeRequest("math", "1", "1"))
