from __future__ import annotations

import httpx
import pytest

from jira_sync.devtools.fake_flashduty import FakeFlashduty, FakeFlashdutyServer
from jira_sync.sources.flashduty_api import FlashdutyApi

APP_KEY = "fd-app-key"


@pytest.fixture
def fake() -> FakeFlashduty:
    return FakeFlashduty(app_key=APP_KEY)


@pytest.fixture
def fd_url(fake):
    with FakeFlashdutyServer(fake) as server:
        yield server.url


@pytest.fixture
async def api(fd_url):
    client = FlashdutyApi(fd_url, APP_KEY)
    yield client
    await client.aclose()


@pytest.fixture
def call(fake, fd_url):
    """POST an Open API path of the served fake: call(path, key=APP_KEY, **body)."""
    client = httpx.Client(base_url=fd_url, timeout=10)

    def post(path: str, key: str | None = APP_KEY, **body) -> httpx.Response:
        return client.post(path, params={} if key is None else {"app_key": key}, json=body)

    yield post
    client.close()
