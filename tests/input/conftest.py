"""One service per database for the input-rule tests: real uvicorn (the limits of `serve`), the
Jira emulator, an automatic integration, a console account, and a log watcher.

Module-scoped: the property tests send thousands of deliveries to one service."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Iterator

import pytest

from console.conftest import ADMIN, Console, add_user
from e2e.conftest import Stack, make_stack
from jira_sync.crypto import generate_key
from jira_sync.devtools.fake_flashduty import WebhookSender
from jira_sync.settings import Settings
from support import ADMIN_TOKEN
from support.databases import postgres_url
from support.hostile import IntakeModel


class LogWatch(logging.Handler):
    """Every record the service logs at WARNING or above, and which of them carry a traceback."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def mark(self) -> int:
        return len(self.records)

    def since(self, mark: int) -> list[logging.LogRecord]:
        return self.records[mark:]

    def tracebacks(self, mark: int = 0) -> list[str]:
        return [f"{r.name}: {r.getMessage()}" for r in self.records[mark:] if r.exc_info]


@dataclass
class Intake:
    stack: Stack
    integration_id: int
    sender: WebhookSender
    secret: str
    console: Console
    log: LogWatch
    database: str
    model: IntakeModel

    @property
    def url(self) -> str:
        return self.stack.service.url

    @property
    def api(self) -> Any:
        return self.stack.api

    def post(self, body: bytes, path: str | None = None, **headers: str) -> Any:
        return self.api.http.post(path or f"/webhooks/flashduty/{self.integration_id}", content=body,
                                  headers={"Content-Type": "application/json", "X-Jira-Sync-Secret": self.secret,
                                           **headers})

    def incident(self, incident_id: str) -> Any:
        return self.api.http.get(f"/api/integrations/{self.integration_id}/incidents/{_quote(incident_id)}")


def _quote(ident: str) -> str:
    from urllib.parse import quote

    return quote(ident, safe="")


def limited_settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, secret_key=generate_key(), admin_token=ADMIN_TOKEN, _env_file=None,
                    body_timeout=1.5, header_timeout=2.0)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def intake(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Intake]:
    url = f"sqlite:///{tmp_path_factory.mktemp('input')}/jira-sync.db" if request.param == "sqlite" else postgres_url()
    watch = LogWatch()
    logging.getLogger().addHandler(watch)
    # over HTTP: slow bodies, dropped uploads and header limits need a real server and socket
    stack, stop = make_stack(limited_settings(url), "cloud", over_http=True)
    try:
        add_user(stack.service, *ADMIN)
        created = stack.api.create_integration(stack.config(), check="true")
        hook = created["webhook"]
        sender = WebhookSender(hook["url"], {hook["header"]: hook["secret"]})
        stack.senders.append(sender)
        console = Console(stack.service)
        console.sign_in()
        model = IntakeModel(created["id"], hook["secret"])
        yield Intake(stack, created["id"], sender, hook["secret"], console, watch, request.param, model)
        console.close()
    finally:
        stop()
        logging.getLogger().removeHandler(watch)
