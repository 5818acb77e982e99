"""Fixtures: emulator sites served over real HTTP on loopback, shared per session and reset per test."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from jira_sync.devtools.fake_jira import FakeJira, FakeJiraServer

from .support import ADMIN, Site


class _Sites:
    def __init__(self) -> None:
        self.running: dict[tuple, tuple[FakeJira, FakeJiraServer, str]] = {}

    def get(self, flavour: str, version: str = "8.20.0", search_lag_s: float = 0.0) -> tuple[FakeJira, str]:
        key = (flavour, version, search_lag_s)
        if key not in self.running:
            fake = FakeJira(flavour, version, search_lag_s=search_lag_s)
            server = FakeJiraServer(fake)
            self.running[key] = (fake, server, server.start())
        fake, _, url = self.running[key]
        fake.reset()
        return fake, url

    def stop_all(self) -> None:
        for _, server, _ in self.running.values():
            server.stop()


@pytest.fixture(scope="session")
def sites() -> Iterator[_Sites]:
    s = _Sites()
    yield s
    s.stop_all()


@pytest.fixture
def make_site(sites: _Sites) -> Iterator[Any]:
    clients: list[httpx.Client] = []

    def make(flavour: str = "cloud", version: str = "8.20.0", search_lag_s: float = 0.0) -> Site:
        fake, url = sites.get(flavour, version, search_lag_s)
        http = httpx.Client(base_url=url, auth=ADMIN["cloud" if fake.cloud else "server"], timeout=5)
        clients.append(http)
        return Site(fake, url, http)

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def cloud(make_site: Any) -> Site:
    return make_site("cloud")


@pytest.fixture
def server(make_site: Any) -> Site:
    return make_site("server", "8.20.0")


@pytest.fixture(params=["cloud", "server"])
def site(request: pytest.FixtureRequest, make_site: Any) -> Site:
    return make_site(request.param)


@pytest.fixture
def receiver() -> Iterator[Any]:
    from .support import Receiver

    r = Receiver()
    yield r
    r.close()
