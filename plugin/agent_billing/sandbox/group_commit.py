"""Group commit: the requests waiting for a store run back to back in one writer thread, one commit for all.

A SQLite file has one writer at a time, and in one interpreter the request work is serialised anyway, so a
lock held across each request's own commit only makes requests queue behind each other's disk flush. Here
the event loop hands each request to one writer thread (no thread-pool hop per request); the writer takes
what is queued (up to ``max_batch``), runs each job in its own savepoint inside one transaction, commits
once, and only then hands the answers back: nothing is answered before it is durable. A job that raises
has its savepoint rolled back and gets its exception; the others are unaffected. If the commit itself
fails, every job of the batch gets that error (none of their writes stand).

Jobs run in arrival order, so one account's requests keep their order and no client is starved (a lock
is not fair: a thread that just released it often takes it again). With one job waiting the writer
commits at once: a lone request waits for no batch.

Example:
    >>> import asyncio
    >>> from agent_billing.sandbox.store import SqliteStore
    >>> store = SqliteStore(":memory:", schema="CREATE TABLE IF NOT EXISTS t (n INTEGER);")
    >>> writer = GroupCommit(store)
    >>> async def three() -> list[int]:
    ...     return list(await asyncio.gather(*(writer.run(store.insert, "t", n=n) for n in range(3))))
    >>> asyncio.run(three()), store.scalar("SELECT COUNT(*) FROM t")
    ([1, 2, 3], 3)
    >>> writer.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from agent_billing.sandbox.store import SqliteStore

T = TypeVar("T")
MAX_BATCH = 64  # bounds how long the first job of a batch waits for the others
IDLE_SECONDS = 10.0  # an idle writer thread exits (a sandbox nobody closes leaves no thread behind)


@dataclass
class _Job:
    call: Callable[[], Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    outcome: tuple[bool, Any] = field(default=(False, None))  # (raised, result or exception)


def _settle(jobs: list[_Job]) -> None:
    for job in jobs:
        if job.future.done():  # the awaiting request was cancelled (client gone)
            continue
        raised, value = job.outcome
        if raised:
            job.future.set_exception(value)
        else:
            job.future.set_result(value)


class GroupCommit:
    """One writer thread for ``store``, committing the jobs queued together in one transaction.

    The thread starts with the first job and exits after ``idle_seconds`` without one.

    Example:
        >>> import asyncio
        >>> from agent_billing.sandbox.store import SqliteStore
        >>> store = SqliteStore(":memory:", schema="CREATE TABLE IF NOT EXISTS t (n INTEGER NOT NULL);")
        >>> writer = GroupCommit(store)
        >>> async def one_fails() -> list[object]:
        ...     jobs = [writer.run(store.insert, "t", n=1), writer.run(store.insert, "t", n=None)]
        ...     return await asyncio.gather(*jobs, return_exceptions=True)
        >>> [type(r).__name__ for r in asyncio.run(one_fails())], store.scalar("SELECT COUNT(*) FROM t")
        (['int', 'IntegrityError'], 1)
        >>> writer.close()
    """

    def __init__(self, store: SqliteStore, *, max_batch: int = MAX_BATCH, idle_seconds: float = IDLE_SECONDS) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._store = store
        self._max_batch = max_batch
        self._idle_seconds = idle_seconds
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._start = threading.Lock()
        self._thread: threading.Thread | None = None
        self.batches = 0  # commits so far (jobs / batches: how many requests shared a commit)
        self.jobs = 0

    async def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``function(*args, **kwargs)`` in the writer thread, inside a transaction; its result once
        that transaction is committed."""
        loop = asyncio.get_running_loop()
        job = _Job(lambda: function(*args, **kwargs), loop, loop.create_future())
        with self._start:  # queued under the lock the idle writer exits under: a job never waits for no one
            self._queue.put(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="sandbox-writer", daemon=True)
                self._thread.start()
        result: T = await job.future
        return result

    def close(self) -> None:
        """Stop the writer thread once the jobs queued so far are done."""
        with self._start:
            thread = self._thread
            if thread is not None:
                self._queue.put(None)
        if thread is not None:
            thread.join(10)

    def _serve(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self._idle_seconds)
            except queue.Empty:
                with self._start:
                    if self._queue.empty():  # idle: the next job starts a new writer
                        self._thread = None
                        return
                continue
            if first is None:
                with self._start:
                    if self._queue.empty():  # jobs sent after close() are still served
                        self._thread = None
                        return
                continue
            batch = [first]
            while len(batch) < self._max_batch:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    self._queue.put(None)  # stop after this batch
                    break
                batch.append(job)
            self._run(batch)

    def _run(self, batch: list[_Job]) -> None:
        try:
            with self._store.transaction():
                for job in batch:
                    try:
                        with self._store.transaction():  # a savepoint: a job that raises leaves nothing
                            job.outcome = (False, job.call())
                    except Exception as exc:  # handed to the job's caller, the batch goes on
                        job.outcome = (True, exc)
        except Exception as exc:  # the commit (or BEGIN) failed: nothing of this batch stands
            for job in batch:
                job.outcome = (True, exc)
        self.batches += 1
        self.jobs += len(batch)
        by_loop: dict[asyncio.AbstractEventLoop, list[_Job]] = {}
        for job in batch:
            by_loop.setdefault(job.loop, []).append(job)
        for loop, jobs in by_loop.items():
            with contextlib.suppress(RuntimeError):  # that event loop is closed: no one is waiting any more
                loop.call_soon_threadsafe(_settle, jobs)
