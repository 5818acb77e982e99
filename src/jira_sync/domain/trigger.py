"""Whether an event starts (or keeps) an incident's sync: the trigger mode, the channel
scope and the filter conditions of one integration, compiled once per configuration."""
from __future__ import annotations

from typing import Callable

from .conditions import compile_conditions
from .incident import IncidentSnapshot, WebhookEvent
from .integration import IntegrationConfig

# Outcomes recorded with each event received (and shown on an incident's timeline)
QUEUED = "queued"
STORED = "stored"  # automatic conditions did not match, or manual mode without a click
OUT_OF_SCOPE = "out_of_channel_scope"
# queued, but an i_comm's comment cannot be copied: no Flashduty app key to read its text with
COMMENT_SKIPPED = "queued_comment_skipped"
SET_APP_KEY = "set flashduty.app_key (YAML or API) or the console's APP key field (Comments section of the integration's setup)"
NO_APP_KEY = ("the integration has no Flashduty app key, so comments are not copied to Jira (an i_comm event "
              f"carries no text; it is read from Flashduty's Open API): {SET_APP_KEY}")


class Trigger:
    def __init__(self, cfg: IntegrationConfig) -> None:
        self.automatic = cfg.trigger == "automatic"
        self.channels = frozenset(cfg.channels)
        self.match: Callable[[IncidentSnapshot], bool] = compile_conditions(cfg.conditions)

    def decide(self, event: WebhookEvent) -> tuple[bool, str]:
        """(activate?, outcome). A custom action is a manual trigger in either mode, and
        channel scope applies to it too."""
        if self.channels and event.incident.channel_id not in self.channels:
            return False, OUT_OF_SCOPE
        if event.event_type == "i_custom":
            return True, QUEUED
        if self.automatic and self.match(event.incident):
            return True, QUEUED
        return False, STORED

    def why_not(self, event: WebhookEvent, outcome: str) -> str | None:
        """Why an event was stored without queueing a sync, in words (the webhook answer's note)."""
        if outcome == OUT_OF_SCOPE:
            return (f"not synced: channel {event.incident.channel_id} is not one of the integration's channels "
                    f"({', '.join(map(str, sorted(self.channels)))})")
        if outcome != STORED:
            return None
        if not self.automatic:
            return "not synced: the trigger is manual; the Flashduty Custom Action (or POST .../sync) syncs it"
        return ("not synced: the integration's conditions do not match this incident "
                f"(severity {event.incident.severity}, channel {event.incident.channel_id}); it is stored, "
                "and a later event that matches syncs it")
