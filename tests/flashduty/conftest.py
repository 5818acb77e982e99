from __future__ import annotations

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
