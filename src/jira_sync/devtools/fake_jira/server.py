"""Serving a FakeJira over real HTTP: in a background thread (tests) or in the foreground (by hand)."""
from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import uvicorn
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from .state import FakeJira


def _abortable(base: type) -> type:
    """The HTTP protocol, with the connection's transport in the scope so a fault can drop it."""

    class AbortableProtocol(base):  # type: ignore[misc, valid-type]
        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            inner = self.app

            async def app(scope: dict, receive: Any, send: Any) -> None:
                scope["fake_jira.transport"] = transport
                await inner(scope, receive, send)

            self.app = app

    return AbortableProtocol


class _Server(uvicorn.Server):
    """uvicorn's server, but woken at once by stop() instead of polling every 100 ms."""

    wake: asyncio.Event | None = None
    loop: asyncio.AbstractEventLoop | None = None

    async def main_loop(self) -> None:
        self.loop, self.wake = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        while not self.should_exit:
            if await self.on_tick(counter):  # refreshes the Date header; honours limits
                break
            try:
                await asyncio.wait_for(self.wake.wait(), 1.0)
            except asyncio.TimeoutError:
                pass
            counter += 10


def _config(fake: FakeJira) -> uvicorn.Config:
    return uvicorn.Config(
        fake.app, http=_abortable(AutoHTTPProtocol), ws="none", lifespan="off", log_config=None,
        log_level="warning", access_log=False, timeout_graceful_shutdown=1, timeout_keep_alive=30,
    )


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class FakeJiraServer:
    """Runs the emulator on loopback in a background thread.

    `url = server.start()` ... `server.stop()`, or `with FakeJiraServer(fake) as srv: srv.url`.
    `down(seconds=None)` closes the listening socket (connections are refused, open ones are
    closed) and `up()` listens again on the same port: an outage of the whole site.
    """

    def __init__(self, fake: FakeJira, host: str = "127.0.0.1", port: int = 0) -> None:
        self.fake = fake
        self.host, self.port = host, port
        self.url: str | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._timer: threading.Timer | None = None
        self._lifecycle = threading.RLock()

    @property
    def is_up(self) -> bool:
        return self._thread is not None

    def down(self, seconds: float | None = None) -> None:
        """Stop listening (connection refused) until `up()`, or for `seconds` if given."""
        with self._lifecycle:
            if self._thread is None:
                raise RuntimeError("not running")
            self.port = self._sock.getsockname()[1] if self._sock else self.port  # come back on the same port
            self._cancel_timer()
            self._stop()
            if seconds is not None:
                self._timer = threading.Timer(seconds, self._up_quietly)
                self._timer.daemon = True
                self._timer.start()

    def up(self) -> str:
        """Listen again at the same URL after `down()`."""
        with self._lifecycle:
            self._cancel_timer()
            if self._thread is not None:
                return self.url  # type: ignore[return-value]
            return self.start()

    def _up_quietly(self) -> None:
        with self._lifecycle:
            self._timer = None
            if self._thread is None:
                self.start()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def start(self) -> str:
        if self._thread is not None:
            raise RuntimeError("already started")
        self.fake._closing.clear()
        self._sock = _listen(self.host, self.port)
        self.url = _url(self._sock)
        self.fake.base_url = self.url
        self._server = _Server(_config(self.fake))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name=f"fake-jira {self.url}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the fake Jira server did not start")
            time.sleep(0.002)
        return self.url

    def stop(self) -> None:
        with self._lifecycle:
            self._cancel_timer()
            self._stop()

    def _stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self.fake._closing.set()  # wake requests sleeping in a fault
        server.should_exit = True
        if server.loop is not None and server.wake is not None:
            try:
                server.loop.call_soon_threadsafe(server.wake.set)
            except RuntimeError:
                pass  # loop already closed
        thread.join(5)
        if thread.is_alive():
            server.force_exit = True
            thread.join(5)
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = self._sock = None

    def __enter__(self) -> "FakeJiraServer":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_forever(flavour: str = "cloud", host: str = "127.0.0.1", port: int = 8080, *,
                version: str = "8.20.0", search_lag_s: float = 0.0, latency_s: float = 0.0) -> None:
    """Serve a fresh FakeJira in the foreground until Ctrl-C (for `jira-sync dev fake-jira`)."""
    fake = FakeJira(flavour, version, search_lag_s=search_lag_s)
    fake.latency_s = latency_s
    sock = _listen(host, port)
    url = _url(sock)
    fake.base_url = url
    print(f"Fake Jira ({fake.deployment_type} {fake.version}) at {url}")
    if fake.cloud:
        print("  admin:  email admin@example.com   API token cloud-token   (Jira administrator)")
        print("  alice:  email alice@example.com   API token alice-token")
        print("  viewer: email viewer@example.com  API token viewer-token  (browse only)")
        print("  svc:    email svc-jira-sync@serviceaccount.atlassian.com  API token svc-token (scoped)")
        print(f"  gateway: {url}/ex/jira/{fake.cloud_id}  (cloudId from {url}/_edge/tenant_info)")
    else:
        pat = "  or Bearer pat-token" if fake.accepts_pat else "  (PATs need 8.14+)"
        print(f"  admin:  username admin   password secret{pat}")
        print("  alice:  username alice   password alice")
        print("  viewer: username viewer  password viewer  (browse only)")
    print("  projects: OPS, NOPRI, REQ, FLOW, CN  (see jira_sync.devtools.fake_jira docs)", flush=True)
    uvicorn.Server(_config(fake)).run(sockets=[sock])
