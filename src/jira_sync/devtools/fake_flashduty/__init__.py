"""A Flashduty emulator for tests and local runs.

- `FakeFlashduty`: incidents and timelines; each change returns the webhook payload
  Flashduty would push; `.app` serves the Open API (`/incident/feed`, `/person/infos`).
- `FakeFlashdutyServer`: that app (or any ASGI app) over real HTTP on loopback.
- `WebhookSender`: delivers payloads with Flashduty's timeout and retry rules.
- `DOCUMENTED_EXAMPLE`: the webhook body from Flashduty's docs, verbatim.
"""
from jira_sync.devtools.fake_flashduty.example import DOCUMENTED_EXAMPLE
from jira_sync.devtools.fake_flashduty.sender import WebhookSender
from jira_sync.devtools.fake_flashduty.server import FakeFlashdutyServer
from jira_sync.devtools.fake_flashduty.state import FakeFlashduty, Fault

__all__ = ["DOCUMENTED_EXAMPLE", "FakeFlashduty", "FakeFlashdutyServer", "Fault", "WebhookSender"]
