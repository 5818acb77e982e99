"""WebhookSender follows Flashduty's delivery rules (flashduty.md §1), checked on a raw socket
server that can do what a well-behaved ASGI app cannot: hang up without answering."""
from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque

import httpx
import pytest

from jira_sync.devtools.fake_flashduty import WebhookSender

PAYLOAD = {"event_id": "e" * 32, "event_type": "i_new", "incident": {"incident_id": "a" * 24}}


class ScriptedServer:
    """Answers each request with the script's next step: a status code, "eof" (hang up
    without answering), or ("sleep", seconds, status). An empty script answers 200."""

    def __init__(self, *script) -> None:
        self.script = deque(script)
        self.requests: list[dict] = []
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.02)  # close() on Linux does not wake a blocked accept()
        self._closed = threading.Event()
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}/hook?token=t"
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def close(self) -> None:
        self._closed.set()
        for t in self._threads:
            t.join(timeout=5)
        self._sock.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            conn.settimeout(5)
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(t)
            t.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            while (request := _read_request(conn)) is not None:
                self.requests.append(request)
                step = self.script.popleft() if self.script else 200
                if step == "eof":
                    return
                if isinstance(step, tuple):
                    time.sleep(step[1])
                    step = step[2]
                try:
                    conn.sendall(f"HTTP/1.1 {step} X\r\nContent-Length: 0\r\n\r\n".encode())
                except OSError:  # the client gave up waiting
                    return


def _read_request(conn: socket.socket) -> dict | None:
    data = b""
    while b"\r\n\r\n" not in data:
        try:
            chunk = conn.recv(65536)
        except OSError:
            return None
        if not chunk:
            return None
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    while len(body) < int(headers.get("content-length", 0)):
        body += conn.recv(65536)
    return {"line": lines[0], "headers": headers, "body": body}


@pytest.fixture
def serve():
    servers: list[ScriptedServer] = []

    def make(*script) -> ScriptedServer:
        servers.append(ScriptedServer(*script))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


@pytest.fixture(params=["sync", "async"])
async def deliver(request):
    """send() or asend(), on a sender whose pools are closed after the test."""
    senders: list[WebhookSender] = []

    async def call(url: str, payload=PAYLOAD, **kw):
        sender = WebhookSender(url, {"X-Secret": "s3"}, **kw)
        senders.append(sender)
        if request.param == "sync":
            return sender.send(payload)
        return await sender.asend(payload)

    yield call
    for s in senders:
        await s.aclose()


async def test_posts_json_with_the_custom_headers(serve, deliver):
    server = serve(200)
    assert await deliver(server.url) == 200
    [req] = server.requests
    assert req["line"] == "POST /hook?token=t HTTP/1.1"
    assert req["headers"]["x-secret"] == "s3"
    assert req["headers"]["content-type"] == "application/json"
    assert json.loads(req["body"]) == PAYLOAD


@pytest.mark.parametrize("status", [500, 503, 404, 401, 201, 302])
async def test_a_non_200_answer_is_final_and_never_retried(serve, deliver, status):
    server = serve(status, 200)
    assert await deliver(server.url) == status
    assert len(server.requests) == 1


async def test_one_retry_after_a_hang_up(serve, deliver):
    server = serve("eof", 200)
    assert await deliver(server.url) == 200
    assert len(server.requests) == 2


async def test_no_second_retry(serve, deliver):
    server = serve("eof", "eof", 200)
    with pytest.raises(httpx.RemoteProtocolError):
        await deliver(server.url)
    assert len(server.requests) == 2


async def test_one_retry_after_a_timeout(serve, deliver):
    server = serve(("sleep", 0.5, 200), 200)
    assert await deliver(server.url, timeout=0.2) == 200
    assert len(server.requests) == 2


async def test_a_second_timeout_is_raised(serve, deliver):
    server = serve(("sleep", 0.5, 200), ("sleep", 0.5, 200), 200)
    with pytest.raises(httpx.TimeoutException):
        await deliver(server.url, timeout=0.2)
    assert len(server.requests) == 2


async def test_connection_refused_is_raised(deliver):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(httpx.ConnectError):
        await deliver(f"http://127.0.0.1:{port}/")


async def test_bytes_are_sent_verbatim(serve, deliver):
    server = serve(200)
    raw = b'{"incident": {"incident_id": "x"},\n "odd": "spacing"}'
    assert await deliver(server.url, payload=raw) == 200
    assert server.requests[0]["body"] == raw


def test_default_timeout_is_two_seconds_and_connections_are_reused(serve):
    server = serve(200, 200, 200)
    with WebhookSender(server.url, {}) as sender:
        assert sender.timeout == 2.0
        assert [sender.send(PAYLOAD) for _ in range(3)] == [200, 200, 200]
    assert len(server._threads) == 2  # the acceptor and one keep-alive connection
