"""Gather concurrent `generate` calls into batches for one worker thread.

The runner keeps `eval_batch_size` coroutines each awaiting one generation, as it
does for a server.  A local model serves them best in batches: this collects the
waiting calls (up to `max_batch`), runs the batch function in a single worker thread
(the event loop never blocks on torch), and resolves each caller's future.

When a batch finishes, its callers store their result and ask for the next sample
within the same loop iteration, so one yield lets the next batch fill up; a short
window (`gather_window`) catches callers that need a few more awaits.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

Req = TypeVar("Req")
Res = TypeVar("Res")


class MicroBatcher(Generic[Req, Res]):
    def __init__(
        self,
        run_batch: Callable[[Sequence[Req]], Sequence[Res]],
        *,
        max_batch: int,
        executor: ThreadPoolExecutor,
        gather_window: float = 0.005,
    ):
        if max_batch < 1:
            raise ValueError("max_batch must be >= 1")
        self.run_batch = run_batch
        self.max_batch = max_batch
        self.executor = executor
        self.gather_window = gather_window
        self._queue: deque[tuple[Req, asyncio.Future[Res]]] = deque()
        self._arrived: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self.batch_sizes: list[int] = []  # for tests and the closing log line

    async def submit(self, request: Req) -> Res:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Res] = loop.create_future()
        self._queue.append((request, future))
        if self._arrived is None:
            self._arrived = asyncio.Event()
        self._arrived.set()
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._drain())
        return await future

    async def _gather(self) -> None:
        await asyncio.sleep(0)  # callers woken by the last batch re-submit in this iteration
        if len(self._queue) >= self.max_batch or not self._queue:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.gather_window
        assert self._arrived is not None
        while len(self._queue) < self.max_batch:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except asyncio.TimeoutError:
                return

    def _take(self) -> list[tuple[Req, asyncio.Future[Res]]]:
        batch = []
        while self._queue and len(batch) < self.max_batch:
            request, future = self._queue.popleft()
            if not future.cancelled():  # the caller gave up while waiting
                batch.append((request, future))
        return batch

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queue:
            await self._gather()
            batch = self._take()
            if not batch:
                continue
            self.batch_sizes.append(len(batch))
            try:
                results = await loop.run_in_executor(self.executor, self.run_batch, [r for r, _ in batch])
                if len(results) != len(batch):
                    raise RuntimeError(f"batch function returned {len(results)} results for {len(batch)} requests")
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results):
                if not future.done():
                    future.set_result(result)

    async def close(self) -> None:
        """Stop taking batches; the batch in the worker thread (if any) runs to its end."""
        task, self._task = self._task, None
        for _, future in self._queue:
            future.cancel()
        self._queue.clear()
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
