"""Which events start (or keep) an incident's sync (domain/trigger.py): channel scope, the
custom action, automatic mode with and without conditions, manual mode."""
from __future__ import annotations

from typing import Any

import pytest

from jira_sync.domain.incident import IncidentSnapshot, WebhookEvent
from jira_sync.domain.trigger import OUT_OF_SCOPE, QUEUED, STORED, Trigger
from support.configs import integration_config

CRITICAL_ONLY = [[{"key": "severity", "oper": "IN", "vals": ["Critical"]}]]
LIFECYCLE = ["i_new", "i_r_severity", "i_ack", "i_unack", "i_rslv", "i_reopen", "i_comm", "i_teleported"]


def event(event_type: str = "i_new", *, channel: int = 111, severity: str = "Critical") -> WebhookEvent:
    snap = IncidentSnapshot(incident_id="inc1", title="CPU", severity=severity, progress="Triggered", channel_id=channel)
    return WebhookEvent(event_id="e1", event_type=event_type, event_time=1, incident=snap)


def trigger(**overrides: Any) -> Trigger:
    return Trigger(integration_config(**overrides))


@pytest.mark.parametrize("mode", ["automatic", "manual"])
def test_channel_scope_applies_to_every_event_and_to_the_custom_action(mode: str) -> None:
    scoped = trigger(trigger=mode, channels=[111, 112])
    for kind in ["i_new", "i_ack", "i_custom"]:
        assert scoped.decide(event(kind, channel=222)) == (False, OUT_OF_SCOPE)
        assert scoped.decide(event(kind, channel=0)) == (False, OUT_OF_SCOPE)  # no channel is not in scope either
    assert scoped.decide(event("i_custom", channel=112)) == (True, QUEUED)


def test_no_channels_means_every_channel() -> None:
    everywhere = trigger(channels=[])
    for channel in (0, 111, 999):
        assert everywhere.decide(event(channel=channel)) == (True, QUEUED)


@pytest.mark.parametrize("mode", ["automatic", "manual"])
def test_a_custom_action_is_a_manual_trigger_in_both_modes(mode: str) -> None:
    # even where the automatic conditions do not match
    assert trigger(trigger=mode, conditions=CRITICAL_ONLY).decide(event("i_custom", severity="Info")) == (True, QUEUED)


@pytest.mark.parametrize("kind", LIFECYCLE)
def test_automatic_without_conditions_takes_every_event(kind: str) -> None:
    assert trigger(trigger="automatic", conditions=[]).decide(event(kind, severity="Info")) == (True, QUEUED)


def test_automatic_with_conditions_takes_only_matching_snapshots() -> None:
    t = trigger(trigger="automatic", conditions=CRITICAL_ONLY)
    assert t.decide(event("i_new", severity="Critical")) == (True, QUEUED)
    assert t.decide(event("i_new", severity="Warning")) == (False, STORED)  # kept, for a later match or a manual sync
    assert t.decide(event("i_r_severity", severity="Critical")) == (True, QUEUED)  # a later event that matches


def test_conditions_are_groups_ored_of_conditions_anded() -> None:
    t = trigger(conditions=[
        [{"key": "severity", "oper": "IN", "vals": ["Critical"]}, {"key": "labels.host", "oper": "IN", "vals": ["web-*"]}],
        [{"key": "title", "oper": "IN", "vals": ["/disk/"]}],
    ])
    web = IncidentSnapshot(incident_id="i", severity="Critical", labels={"host": "web-01"})
    db = IncidentSnapshot(incident_id="i", severity="Critical", labels={"host": "db-01"})
    disk = IncidentSnapshot(incident_id="i", title="disk full", severity="Info")
    decided = [t.decide(WebhookEvent("e", "i_new", 1, s))[0] for s in (web, db, disk)]
    assert decided == [True, False, True]


@pytest.mark.parametrize("kind", LIFECYCLE)
def test_manual_mode_stores_everything_but_the_custom_action(kind: str) -> None:
    manual = trigger(trigger="manual", conditions=[])  # no conditions would match all, were it automatic
    assert manual.decide(event(kind)) == (False, STORED)
    assert trigger(trigger="manual", conditions=CRITICAL_ONLY).decide(event(kind, severity="Critical")) == (False, STORED)
