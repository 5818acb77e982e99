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
