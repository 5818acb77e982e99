"""Background work takes turns on the event loop, so a request never waits behind a burst of it.

On SQLite, `serve` runs the worker on the same event loop as the webhooks. asyncio runs
every callback that is ready in one pass before it looks at the sockets again: when a Jira
site answers sixteen reconciles at once, all sixteen continue (build the next request,
record the exchange, write the database) before a webhook that arrived meanwhile is even
read. Against a fast Jira that held the loop for 30-40 ms at a time, and the webhook's p99
followed (`bench/run.py --storm`: with turns, automatic mode's p50/p99 7.8/16.5 and
7.9/14.9 ms; without, 17.1/39.5 and 10.1/18.1 ms, same code otherwise).

A reconcile therefore marks its task as background work (`background`), and after each
wait that can end for many of them at once (a Jira answer, a database transaction) it
waits for its turn (`take`): one such task goes on per pass of the loop, and the loop looks
at its sockets between two of them. A webhook's steps are never held back (its task is not
background work); they wait behind at most one background step instead of sixteen.

Nothing is held while waiting for a turn (no lock, no database connection, no Jira slot),
so turns cannot deadlock; a turn costs one pass of the loop, microseconds when it is idle.
"""
from __future__ import annotations

import asyncio
import collections
import contextvars


class Turnstile:
    """Lets one waiting task go on per pass of the event loop, in the order they came."""

    def __init__(self) -> None:
        self._waiting: collections.deque[asyncio.Future[None]] = collections.deque()
        self._releasing = False

    async def take(self) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        if not self._releasing:
            self._releasing = True
            # a callback scheduled now runs in the next pass, after the loop has polled its sockets
            waiter.get_loop().call_soon(self._release_one)
        await waiter

    def _release_one(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():  # a cancelled waiter gives its turn to the next one
                waiter.set_result(None)
                break
        if self._waiting:
            asyncio.get_running_loop().call_soon(self._release_one)  # the next one goes in the next pass
        else:
            self._releasing = False


# the turnstile of the background task running in this context, if any
background: contextvars.ContextVar[Turnstile | None] = contextvars.ContextVar("background", default=None)


async def take() -> None:
    """In background work: wait for this task's turn. Anywhere else: return at once."""
    turnstile = background.get()
    if turnstile is not None:
        await turnstile.take()
