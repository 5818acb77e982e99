"""Serve a `FakeFlashduty` (or any ASGI app) over real HTTP, from a background thread."""
from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn


class FakeFlashdutyServer:
    """uvicorn in a daemon thread on `host:port` (0 = a free port).

    `start()` returns the base URL once the server accepts connections; `stop()` shuts
    it down and joins the thread. Also a context manager.
    """

    def __init__(self, fake: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = getattr(fake, "app", fake)  # a FakeFlashduty, or a bare ASGI app
        self.host, self.port = host, port
        self.url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    def start(self, timeout: float = 5.0) -> str:
        if self._thread is not None:
            return self.url
        # Bind here, not in uvicorn, so port 0 resolves before the thread starts.
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self._sock, self.port = sock, sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="off",
            timeout_graceful_shutdown=1, timeout_keep_alive=5,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]},
            name=f"fake-flashduty:{self.port}", daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"fake Flashduty did not start on {self.host}:{self.port}")
            time.sleep(0.005)
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{host}:{self.port}"
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = self._sock = None

    def __enter__(self) -> FakeFlashdutyServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
