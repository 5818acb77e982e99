"""The storm's timeline line (bench/storm.py `slow_windows`): the slowest quarter-seconds of a
paced run, in time order, from when each request was sent (bench/loadgen.py records it)."""
from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import loadgen  # noqa: E402  (bench/ modules import each other by their bare names)
from storm import slow_windows  # noqa: E402


def test_periodic_stalls_show_as_the_slowest_windows_in_time_order() -> None:
    run = loadgen.RunResult()
    for i in range(400):  # 40 per second for 10 s, 2 ms each, but a stall at 2 s, 4 s and 6 s
        sent = 100.0 + i / 40
        stalled = any(t <= sent - 100.0 < t + 0.1 for t in (2.0, 4.0, 6.0))
        run.sent_at.append(sent)
        run.latencies_ms.append(150.0 if stalled else 2.0)
    assert slow_windows(run, most=3) == "2.00: 150, 4.00: 150, 6.00: 150"


def test_the_open_loop_records_when_each_request_was_sent() -> None:
    async def serve_and_load() -> loadgen.RunResult:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while await reader.readuntil(b"\r\n\r\n"):
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")
                await writer.drain()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        request = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        try:
            return await loadgen.open_loop("127.0.0.1", port, [request] * 20, rate=200.0, pool=2)
        finally:
            server.close()

    before = time.perf_counter()
    run = asyncio.run(serve_and_load())
    after = time.perf_counter()
    assert len(run.sent_at) == len(run.latencies_ms) == 20  # one send time for each answer
    assert all(before < sent < after for sent in run.sent_at)
