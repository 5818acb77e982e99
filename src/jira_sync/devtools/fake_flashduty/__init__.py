"""A Flashduty emulator for tests and local runs: incidents, webhooks, Open API.

Objects
- `FakeFlashduty(app_key="fd-app-key", *, read_only_app_key="fd-read-key", member="Jira Sync",
  console_url, account_id, account_name, settings=FakeSettings())`: the state (state.py).
- `FakeFlashdutyServer(fake)`: its `.app` (or any ASGI app) over real HTTP on loopback.
- `WebhookSender(url, headers)`: delivers payloads you pass it, Flashduty's timeout and retry.
- `WebhookIntegration`: one Incident Webhook integration (delivery.py).
- `FakeSettings`: every knob, documented in settings.py. `DOCUMENTED_EXAMPLE`: the docs' body.

Changing incidents (each returns the webhook payload, appends the feed entry and pushes the
payload to every matching integration): `open_incident`, `ack`, `unack`, `resolve`
(root_cause, resolution), `reopen` (reason), `add_comment` (mute_reply), `set_severity`,
`change_title`, `change_description`, `reset`, `set_field`, `set_labels`, `custom_action`,
`emit` (any event type); `add_feed_entry` (feed only). Reading: `incident`, `timeline`,
`person`, `events`, `requests`.

Helpers
- `add_webhook(endpoint, headers=, channel_ids=, event_types=, verify=, down=, name=,
  integration_id=) -> WebhookIntegration`, `remove_webhook(integration_id)`.
- `deliveries()`: the history records as the API shows them; `wait_deliveries(timeout)` /
  `await settle_deliveries(timeout)`: until background deliveries are done; `close()`.
- `fail_next(status, times=, code=, message=, body=, delay=, headers=, path=)`: faults.
- `add_app_key(key, member, manage=)`, `key_member(key)`; `clock` (seconds, replaceable).
- Settings: `rate_per_second`/`rate_per_minute`/`retry_after`, `comment_max_length`,
  `mute_reply_skips_webhook`, `noop_answer[action]` ("skip"/"error"), `list_by_ids_limit`,
  `deliver_in_background`, `webhooks_down` (False/True/"refused"/"timeout"/"eof"),
  `webhook_timeout`, `retry_connection_refused`, `history_retention`, `history_event_id`
  ("record"/"payload"), `time_zone`, `strict_updated_at`.

Open API (`POST path?app_key=`; envelope, errors and rate limits: api.py)
- Reads (either key): `/incident/feed`, `/person/infos`, `/member/info`, `/incident/info`,
  `/incident/list-by-ids`, `/incident/list` (api_incidents.py), `/webhook/history/list`,
  `/webhook/history/detail` (api_history.py).
- Writes (manage key; the read-only key gets 403 AccessDenied): `/incident/ack`,
  `/incident/unack`, `/incident/resolve`, `/incident/reopen`, `/incident/comment`,
  `/incident/reset` (api_writes.py). Any other path: 404 RouteNotFound.
"""
from jira_sync.devtools.fake_flashduty.delivery import WebhookIntegration
from jira_sync.devtools.fake_flashduty.example import DOCUMENTED_EXAMPLE
from jira_sync.devtools.fake_flashduty.sender import WebhookSender
from jira_sync.devtools.fake_flashduty.server import FakeFlashdutyServer
from jira_sync.devtools.fake_flashduty.settings import FakeSettings
from jira_sync.devtools.fake_flashduty.state import FakeFlashduty, Fault

__all__ = ["DOCUMENTED_EXAMPLE", "FakeFlashduty", "FakeFlashdutyServer", "FakeSettings", "Fault",
           "WebhookIntegration", "WebhookSender"]
