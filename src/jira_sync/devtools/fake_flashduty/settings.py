"""The emulator's knobs, one dataclass (`FakeFlashduty.settings`); tests change them freely.

Each default is Flashduty's documented behaviour where the docs say it (flashcatcloud/
flashduty-docs, `api-reference/on-call.openapi.en.json`, `en/openapi/*.mdx`,
`en/on-call/integration/webhooks/incident-webhook.mdx`); "inferred" marks a choice made
where they are silent.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta, timezone, tzinfo

NOOP_ACTIONS = ("ack", "unack", "resolve", "reopen")


@dataclass
class FakeSettings:
    # -- rate limits, per account (every operation's "Restrictions" table in the spec)
    rate_per_second: int | None = 50  # None = no limit
    rate_per_minute: int | None = 1000
    retry_after: float | None = None  # the spec documents no Retry-After header: none sent

    # -- writes
    comment_max_length: int = 1024  # current spec; the legacy spec said 500 (set it to play it)
    # The spec: mute_reply "do[es] not trigger webhook reply actions". Whether the incident
    # webhook still gets i_comm is unverified; inferred: it does (False). True suppresses it.
    mute_reply_skips_webhook: bool = False
    # What ack on a non-Triggered incident, unack on a non-Processing one, resolve on a
    # Closed one and reopen on an open one answer: "skip" = 200, no change, no feed entry,
    # no webhook (inferred); "error" = 400 InvalidParameter and nothing changes.
    noop_answer: dict[str, str] = field(default_factory=lambda: dict.fromkeys(NOOP_ACTIONS, "skip"))
    list_by_ids_limit: int = 100  # the spec gives none for /incident/list-by-ids (inferred)

    # -- webhook delivery
    deliver_in_background: bool = False  # True: every delivery goes to the worker thread
    # Every integration's receiver is "down": False, True/"refused" (connection refused,
    # never retried), "timeout" (no answer within 2 s: not retried, the docs exclude
    # "awaiting headers"), "eof" (the peer hangs up: retried once). No network is used.
    webhooks_down: bool | str = False
    webhook_timeout: float = 2.0
    # The docs retry only "context deadline exceeded (excluding awaiting headers)",
    # "i/o timeout" and "eof"; "connection refused" is none of them (inferred: no retry).
    retry_connection_refused: bool = False

    # -- delivery history (/webhook/history/list)
    history_retention: float = 7 * 86400  # seconds; the console shows 7 days (API: inferred)
    # The spec's example gives a history record its own id ("20260412Xatt9hrXsgmFkBR78WF655")
    # while its request_body carries the payload's 32-hex event_id: "record" plays that;
    # "payload" reuses the payload's event_id instead.
    history_event_id: str = "record"
    time_zone: tzinfo = field(default_factory=lambda: timezone(timedelta(hours=8)))  # +08:00 as in the spec

    # -- snapshots: every change moves updated_at by >= 1 s, so a sweep always sees it.
    # Real Flashduty stores seconds (two changes in a second share it): set False to play that.
    strict_updated_at: bool = True
