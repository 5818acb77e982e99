"""The real service (FastAPI app + worker), run two ways with one interface.

- `InProcessService`, the default: no socket. The app's lifespan (and so the worker) runs on
  an event loop in a helper thread; requests go to the app through ASGI, and the service
  reaches the Jira and Flashduty emulators through `Hosts`.
- `ServiceThread`: uvicorn on a loopback port, for what only a socket shows (timeouts, lost
  answers, other processes or a browser talking to it).

Both give `url`, `runtime`, `client()` (an HTTP client of the service with its own cookies)
and `sender()` (Flashduty's webhook sender, aimed at this service).
"""
from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import anyio.from_thread
import httpx
import uvicorn
from anyio.from_thread import BlockingPortal

from jira_sync.devtools.fake_flashduty import WebhookSender
from jira_sync.settings import Settings
from jira_sync.web.app import create_app
from jira_sync.web.server import uvicorn_config

from .configs import FLASHDUTY_URL, JIRA_URL


class Hosts(httpx.AsyncBaseTransport):
    """The service's outgoing HTTP: ASGI apps in this process by host name (the emulators),
    the network for any other host (so an address where nothing listens still fails as it
    would). The strict emulators are unchanged; only the way to them is."""

    def __init__(self, apps: dict[str, Any]) -> None:
        self.apps = {host: httpx.ASGITransport(app=app) for host, app in apps.items()}
        self.network = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.apps.get(request.url.host, self.network).handle_async_request(request)

    async def aclose(self) -> None:
        """Nothing: every client the service makes shares this transport, so one client
        closing must not close it for the others."""


def emulators(jira: Any, flashduty: Any) -> Hosts:
    """The Jira and Flashduty emulators (`FakeJira`, `FakeFlashduty`) in-process, at JIRA_URL
    and FLASHDUTY_URL."""
    return Hosts({httpx.URL(JIRA_URL).host: jira.app, httpx.URL(FLASHDUTY_URL).host: flashduty.app})


class Service:
    """What both ways share: `url`, the app, and its `runtime` once started."""

    url: str
    app: Any

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime


class InProcessService(Service):
    """The app and its lifespan (migrations, the worker) on an event loop in a helper thread
    (an anyio blocking portal); each request goes to the app through httpx's ASGITransport
    on that loop, so the test's own thread stays plain synchronous code."""

    url = "http://service.test"  # any host reaches the app; webhook URLs the service shows use it

    def __init__(self, settings: Settings, *, run_worker: bool = True,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        settings.public_url = self.url
        self.app = create_app(settings, run_worker=run_worker, jira_transport=transport, flashduty_transport=transport)
        self._running = contextlib.ExitStack()

    def start(self) -> "InProcessService":
        with contextlib.ExitStack() as running:
            self.portal = running.enter_context(anyio.from_thread.start_blocking_portal())
            running.enter_context(self.portal.wrap_async_context_manager(self.app.router.lifespan_context(self.app)))
            self._running = running.pop_all()
        return self

    def stop(self) -> None:
        self._running.close()  # the lifespan's end (the worker stops), then the loop's

    def client(self, *, follow_redirects: bool = False, headers: dict[str, str] | None = None) -> httpx.Client:
        return httpx.Client(transport=_OnLoop(self.portal, self.app), base_url=self.url,
                            follow_redirects=follow_redirects, headers=headers)

    def sender(self, url: str, headers: dict[str, str]) -> WebhookSender:
        sender = WebhookSender(url, headers)
        sender._client = self.client()  # Flashduty's sender as it is, its requests in-process
        return sender


class _OnLoop(httpx.BaseTransport):
    """A sync transport into an ASGI app that runs on a portal's event loop."""

    def __init__(self, portal: BlockingPortal, app: Any) -> None:
        self.portal = portal
        self.asgi = httpx.ASGITransport(app=app)  # the client address is 127.0.0.1, as on loopback

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.portal.call(self._send, request)

    async def _send(self, request: httpx.Request) -> httpx.Response:
        answer = await self.asgi.handle_async_request(request)
        raw = b"".join([chunk async for chunk in answer.stream])  # type: ignore[union-attr]
        return httpx.Response(answer.status_code, headers=answer.headers, stream=httpx.ByteStream(raw),
                              extensions=answer.extensions)


class ServiceThread(Service):
    """uvicorn on a loopback port, in a background thread."""

    def __init__(self, settings: Settings, *, run_worker: bool = True) -> None:
        self.settings = settings
        self.app = create_app(settings, run_worker=run_worker)
        # the same limits and protocol as `jira-sync serve`
        config = uvicorn_config(self.app, settings, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = ""

    def start(self) -> "ServiceThread":
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("service did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.settings.public_url = self.url
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)

    def client(self, *, follow_redirects: bool = False, headers: dict[str, str] | None = None) -> httpx.Client:
        return httpx.Client(base_url=self.url, follow_redirects=follow_redirects, headers=headers, timeout=30)

    def sender(self, url: str, headers: dict[str, str]) -> WebhookSender:
        return WebhookSender(url, headers)


class Api:
    """A small client for the REST API with the admin token."""

    def __init__(self, service: Service, token: str) -> None:
        self.http = service.client(headers={"Authorization": f"Bearer {token}"})

    def __getattr__(self, name: str) -> Any:
        return getattr(self.http, name)

    def create_integration(self, config: dict[str, Any], **params: Any) -> dict[str, Any]:
        r = self.http.post("/api/integrations", json=config, params=params)
        assert r.status_code == 201, r.text
        return r.json()

    def incident(self, integration_id: int, incident_id: str) -> dict[str, Any]:
        r = self.http.get(f"/api/integrations/{integration_id}/incidents/{incident_id}")
        assert r.status_code == 200, r.text
        return r.json()

    def wait_synced(self, timeout: float = 15.0) -> dict[str, Any]:
        """Poll the queue until nothing waits or is in flight (what an operator's script does)."""
        deadline = time.time() + timeout
        while True:
            stats = self.http.get("/api/queue").json()
            if stats["waiting"] == 0 and stats["in_flight"] == 0:
                return stats
            if time.time() > deadline:
                raise AssertionError(f"queue not drained: {stats}")
            time.sleep(0.02)
