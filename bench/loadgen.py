"""A lean HTTP/1.1 load generator: raw asyncio streams, keep-alive, precomputed request bytes.

Why not httpx: at a few thousand requests per second its per-request Python work (URL
and header models, the connection pool) costs about as much CPU as a small server does,
and on a 2-core machine the client would become the bottleneck it is meant to measure.
Here a request is one `write()` of bytes built before the clock starts, and reading an
answer is one `readuntil()` plus one `readexactly()`.

Latency is measured from just before the write to the end of the response body.
"""
from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

ANSWER_TIMEOUT = 30.0  # seconds; a request that takes longer counts as an error
# uvicorn closes a keep-alive connection after 5 s idle (timeout_keep_alive). A request
# written just as it does so is lost in the race, so, like HTTP clients' keep-alive
# expiry, a connection idle for longer than this is replaced before it is used.
IDLE_LIMIT = 4.0


class Connection:
    """One keep-alive connection that sends prebuilt requests and reads whole answers."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.last_used = 0.0

    async def open(self) -> Connection:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.last_used = time.monotonic()
        return self

    def _stale(self) -> bool:
        assert self.reader is not None
        return self.reader.at_eof() or time.monotonic() - self.last_used > IDLE_LIMIT

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def exchange(self, request: bytes) -> int:
        """Send one request, read its whole answer, return the status code."""
        if self.writer is not None and self._stale():
            self.close()
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        length = _content_length(lower)
        if length is None:
            raise RuntimeError("answer without content-length (chunked answers are not expected here)")
        if length:
            await self.reader.readexactly(length)
        self.last_used = time.monotonic()
        if b"\r\nconnection: close" in lower:
            self.close()  # the server will not reuse it; the next exchange reconnects
        return status


def _content_length(lower_head: bytes) -> int | None:
    at = lower_head.find(b"\r\ncontent-length:")
    if at < 0:
        return None
    end = lower_head.find(b"\r\n", at + 2)
    return int(lower_head[at + 17:end].strip())


@dataclass
class RunResult:
    sent: int = 0
    elapsed_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)  # perf_counter() when each answered request was sent
    statuses: Counter = field(default_factory=Counter)
    errors: int = 0  # timeouts, resets: no answer at all
    error_kinds: Counter = field(default_factory=Counter)
    max_schedule_lag_ms: float = 0.0  # open loop: how late the generator sent (should stay ~0)
    extra_connections: int = 0  # open loop: connections opened because all were busy
    cpu: dict[str, float] = field(default_factory=dict)  # filled by the caller (see run.py: with_cpu)

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed_s if self.elapsed_s else 0.0

    @property
    def non_200(self) -> int:
        return self.errors + sum(n for s, n in self.statuses.items() if s != 200)


async def _timed(conn: Connection, request: bytes, result: RunResult) -> None:
    t0 = time.perf_counter()
    try:
        status = await asyncio.wait_for(conn.exchange(request), ANSWER_TIMEOUT)
    except (TimeoutError, OSError, asyncio.IncompleteReadError, RuntimeError, ValueError) as exc:
        result.errors += 1
        result.error_kinds[type(exc).__name__] += 1
        conn.close()  # its state is unknown: start the next request on a fresh connection
        return
    result.latencies_ms.append((time.perf_counter() - t0) * 1000.0)
    result.sent_at.append(t0)
    result.statuses[status] += 1


async def closed_loop(host: str, port: int, requests: list[bytes], concurrency: int) -> RunResult:
    """`concurrency` connections, each sending its next request as soon as the last is answered."""
    result = RunResult(sent=len(requests))
    conns = [await Connection(host, port).open() for _ in range(concurrency)]
    pending = iter(requests)  # shared: asyncio is single-threaded, so each item goes to one sender

    async def sender(conn: Connection) -> None:
        for request in pending:
            await _timed(conn, request, result)

    t0 = time.perf_counter()
    try:
        await asyncio.gather(*(sender(c) for c in conns))
    finally:
        result.elapsed_s = time.perf_counter() - t0
        for c in conns:
            c.close()
    return result


async def open_loop(host: str, port: int, requests: list[bytes], rate: float, pool: int = 16) -> RunResult:
    """Send request i at start + i/rate whatever the answers do (no coordinated omission:
    a slow answer never delays the next send; a busy pool opens another connection)."""
    result = RunResult(sent=len(requests))
    idle = [await Connection(host, port).open() for _ in range(pool)]
    in_flight: list[asyncio.Task[None]] = []

    async def one(request: bytes, due: float) -> None:
        if idle:
            conn = idle.pop()
        else:
            result.extra_connections += 1
            conn = Connection(host, port)
        result.max_schedule_lag_ms = max(result.max_schedule_lag_ms, (time.perf_counter() - due) * 1000.0)
        await _timed(conn, request, result)
        idle.append(conn)

    start = time.perf_counter() + 0.05
    try:
        for i, request in enumerate(requests):
            due = start + i / rate
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            in_flight.append(asyncio.create_task(one(request, due)))
        await asyncio.gather(*in_flight)
    finally:
        result.elapsed_s = time.perf_counter() - start
        for task in in_flight:
            task.cancel()
        for c in idle:
            c.close()
    return result


def run(coro):  # type: ignore[no-untyped-def]
    """Run a load coroutine on uvloop when it is installed (it is, with uvicorn[standard])."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def event_loop_name() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"
