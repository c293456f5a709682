"""Thread lanes: bounded pools of our own for work that may wait, off the event loop and off the default pool.

Under ``ainvoke`` a tool flow's own work (guardrail stores, the audit log) can wait on a lock, and a sync
approval callback waits for a person. Run in the event loop they stall every other coroutine; run in the
loop's default executor (``asyncio.to_thread``: ``min(32, cpus + 4)`` threads, six on a two-core host)
a handful of waiting flows takes every thread, and a balance read from another conversation, or the
host's own ``to_thread`` work, queues behind them. So waiting work gets lanes of its own, each bounded:

- ``FLOW_LANE``: a flow's work between its steps (stores, audit), and the tools' input guards;
- ``APPROVAL_LANE``: sync approval callbacks, which may wait minutes for a person.

Threads start only when needed. The caller's context variables (LangGraph's config, the tool-call id)
travel with the work, as with ``asyncio.to_thread``.

Example:
    >>> import asyncio
    >>> asyncio.run(run_in(FLOW_LANE, sum, [1, 2, 3]))
    6
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

FLOW_SIZE = 32
APPROVAL_SIZE = 16

FLOW_LANE = ThreadPoolExecutor(max_workers=FLOW_SIZE, thread_name_prefix="agent-billing-flow")
APPROVAL_LANE = ThreadPoolExecutor(max_workers=APPROVAL_SIZE, thread_name_prefix="agent-billing-approval")


async def run_in(lane: ThreadPoolExecutor, func: Callable[..., T], *args: Any) -> T:
    """Run ``func(*args)`` in ``lane`` with the caller's context; await its result without blocking the loop.

    Example:
        >>> asyncio.run(run_in(APPROVAL_LANE, str.upper, "yes"))
        'YES'
    """
    context = contextvars.copy_context()
    return await asyncio.get_running_loop().run_in_executor(lane, functools.partial(context.run, func, *args))
