"""Recovery of the webhooks Flashduty gave up on, end to end: the service is stopped while the
Flashduty emulator delivers (and, after its one retry rule, gives up on) its events; after the
restart the service reads the failed deliveries and the incidents' snapshots back through the
Open API. The timescale is shortened: a few seconds of downtime and RECOVERY_INTERVAL of seconds.
"""
from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from e2e.conftest import Stack, make_stack, wait_until
from jira_sync.devtools.fake_flashduty import WebhookSender
from jira_sync.settings import Settings
from support import ADMIN_TOKEN
from support.service import Api, ServiceThread

INTERVAL = 10.0  # seconds: RECOVERY_INTERVAL, shortened
STATUS = {"Triggered": "To Do", "Processing": "In Progress", "Closed": "Done"}
PRIORITY = {"Critical": "1", "Warning": "3", "Info": "4"}


@pytest.fixture
def down_stack(settings: Settings):  # type: ignore[no-untyped-def]
    settings.recovery_interval = INTERVAL
    # over HTTP: the Flashduty emulator delivers its webhooks to the service's real address
    stack, stop = make_stack(settings, "cloud", over_http=True)
    first = stack.service
    yield stack
    if stack.service is not first:  # restarted by the test: make_stack stops only the first
        stack.service.stop()
    stop()


def _connect(stack: Stack) -> tuple[int, Any]:
    """An integration, and Flashduty's Incident Webhook pointing at it (the header set as documented)."""
    # without the issue-key comment (issue 11, tested in test_two_way.py): the counts below are of
    # what Flashduty's people did
    iid, sender = stack.integration(flashduty={"base_url": stack.flashduty_url, "app_key": stack.flashduty.app_key,
                                               "comment_issue_link": False})
    hook = stack.flashduty.add_webhook(sender.url, headers={k: v for k, v in sender.headers.items()
                                                            if k != "Content-Type"})
    return iid, hook


def _restart(stack: Stack, hook: Any) -> None:
    stack.service = ServiceThread(stack.service.settings).start()
    stack.api.close()
    stack.api = Api(stack.service, ADMIN_TOKEN)
    path = hook.endpoint.split("/webhooks/", 1)[1]
    hook.endpoint = f"{stack.service.url}/webhooks/{path}"  # the next events reach the new address


def _out_of_step(stack: Stack) -> list[str]:
    """Incidents whose Jira issue does not show what Flashduty holds now."""
    wrong = []
    with stack.flashduty.lock:
        incidents = [dict(i) for i in stack.flashduty.incidents.values()]
    for inc in incidents:
        iid = inc["incident_id"]
        found = stack.jira.issues_with_label(f"flashduty-{iid}")
        comments = [e for e in stack.flashduty.timeline(iid) if e["type"] == "i_comm"]
        if len(found) != 1:
            wrong.append(f"{iid}: {len(found)} issues")
            continue
        issue = found[0]
        if issue.status_name != STATUS[inc["progress"]] or issue.fields["priority"]["id"] != PRIORITY[
                inc["incident_severity"]] or len(issue.comments) != len(comments):
            wrong.append(f"{iid}: {issue.status_name}/{issue.fields['priority']['id']}/{len(issue.comments)}")
    return wrong


def _last_run(stack: Stack, iid: int, after: float) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        view = stack.api.get(f"/api/integrations/{iid}/recovery").json()
        return view if (view["last_finished_at"] or 0) > after else None
    return wait_until(done, timeout=INTERVAL * 2, what="a recovery run")


def test_a_service_down_while_flashduty_gives_up_on_100_events_is_in_step_one_interval_after_restart(
        down_stack: Stack) -> None:
    stack, fd = down_stack, down_stack.flashduty
    iid, hook = _connect(stack)
    old = [fd.open_incident(title=f"before {n}")["incident"]["incident_id"] for n in range(10)]
    stack.synced()
    assert not _out_of_step(stack)

    stack.service.stop()  # down: every delivery is refused, and Flashduty does not retry a refusal
    new = [fd.open_incident(title=f"while down {n}")["incident"]["incident_id"] for n in range(20)]
    for i, inc in enumerate(old):
        fd.ack(inc)
        fd.set_severity(inc, "Warning")
        fd.add_comment(inc, f"looking at {i}", author="Bob")
        if i % 2:
            fd.resolve(inc)
    for i, inc in enumerate(new[:10]):
        fd.ack(inc)
        fd.set_severity(inc, "Info")
        fd.add_comment(inc, f"new {i}")
        if i % 2:
            fd.resolve(inc)
        else:
            fd.set_severity(inc, "Warning")
    for inc in new[10:15]:
        fd.add_comment(inc, "still there?")
    failed = [d for d in fd.deliveries() if d["status"] == "failed"]
    assert len(failed) == 100 and all(d["attempt"] == 1 for d in failed)
    assert len(_out_of_step(stack)) == 30

    restarted = time.time()
    _restart(stack, hook)
    try:
        wait_until(lambda: not _out_of_step(stack), timeout=INTERVAL, what="every incident in step")
    except AssertionError:
        raise AssertionError((_out_of_step(stack), stack.api.get(f"/api/integrations/{iid}/recovery").json(),
                              stack.api.get("/api/queue").json())) from None
    assert time.time() - restarted < INTERVAL

    view = _last_run(stack, iid, restarted)
    assert view["last_started_at"] - restarted < INTERVAL / 2  # the first run comes at the start
    run = view["last_run"]
    assert view["active"] and run["ours"] == 100 and run["replayed"] == 100 and run["refused"] == 0, run
    assert view["recovered_total"] >= 100 and view["last_error"] is None
    health = stack.api.get("/healthz").json()
    assert [r["integration_id"] for r in health["recovery"]] == [iid] and health["recovery"][0]["recovered"] >= 100

    # and live again: the next event arrives by webhook
    fd.reopen(old[1])
    stack.synced()
    assert not _out_of_step(stack)


def test_the_sweep_recovers_linked_incidents_when_the_history_has_nothing(down_stack: Stack) -> None:
    stack, fd = down_stack, down_stack.flashduty
    iid, hook = _connect(stack)
    linked = [fd.open_incident(title=f"linked {n}")["incident"]["incident_id"] for n in range(5)]
    stack.synced()
    stack.service.stop()
    for inc in linked:
        fd.ack(inc)
        fd.set_severity(inc, "Info")
    fd.resolve(linked[0])
    fd.settings.history_retention = 0  # Flashduty has forgotten the failed deliveries
    assert fd.deliveries() == []

    restarted = time.time()
    _restart(stack, hook)
    wait_until(lambda: not _out_of_step(stack), timeout=INTERVAL, what="every incident in step")
    run = _last_run(stack, iid, restarted)["last_run"]
    assert (run["ours"], run["swept"], run["newer_in_flashduty"], run["recovered_by_sweep"]) == (0, 5, 5, 5), run
    timeline = stack.api.incident(iid, linked[0])["events"]
    assert timeline[-1]["event_type"] == "recovered" and timeline[-1]["event_id"].startswith("recovered:")

    # the next sweep finds nothing newer: no second synthetic event
    again = time.time()
    assert stack.api.post(f"/api/integrations/{iid}/recovery/run").status_code == 200
    run = _last_run(stack, iid, again)["last_run"]
    assert (run["swept"], run["newer_in_flashduty"], run["recovered"]) == (4, 0, 0), run


def test_replays_are_safe_paced_and_never_show_the_app_key(down_stack: Stack, caplog: pytest.LogCaptureFixture
                                                           ) -> None:
    caplog.set_level(logging.DEBUG)
    stack, fd = down_stack, down_stack.flashduty
    iid, hook = _connect(stack)
    other = fd.add_webhook("http://127.0.0.1:9/elsewhere", headers={"X-Jira-Sync-Secret": "not-ours"})
    inc = fd.open_incident()["incident"]["incident_id"]
    stack.synced()
    # Flashduty recorded a failure (its 2 s timeout) though we stored the event: replaying it is a no-op
    hook.down = "timeout"
    fd.ack(inc)
    hook.down = False
    sender = WebhookSender(hook.endpoint, hook.headers)
    stack.senders.append(sender)
    stack.send(sender, fd.events[-1])
    record = [d for d in fd.deliveries() if d["integration_id"] == hook.integration_id][-1]
    assert record["status"] == "failed" and record["event_id"] != fd.events[-1]["event_id"]  # its own id

    fd.settings.rate_per_second = 2  # and the account is busy: a 429 first
    fd.fail_next(429, code="RequestTooFrequently", message="Request too frequently.", path="/webhook/history/list")
    fd.fail_next(401, code="Unauthorized", message=f"bad key {fd.app_key}", path="/incident/list-by-ids")
    started = time.time()
    assert stack.api.post(f"/api/integrations/{iid}/recovery/run").status_code == 200
    view = _last_run(stack, iid, started)
    run = view["last_run"]
    assert run["rate_limited"] == 1 and run["already_had"] == 1 and run["replayed"] == 0, run
    assert run["failed_deliveries"] >= 3 and run["ours"] == 1  # the other integration's are not ours
    assert "Unauthorized" in view["last_error"] and fd.app_key not in view["last_error"]
    events = stack.api.incident(iid, inc)["events"]
    assert [e["event_type"] for e in events] == ["i_new", "i_ack"]  # the payload's event id: once

    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert fd.app_key not in logged

    # told which Flashduty integration calls us, recovery asks Flashduty for its failures only
    changed = stack.api.put(f"/api/integrations/{iid}", params={"check": "false"},
                            json={"flashduty": {"webhook_integration_id": hook.integration_id}})
    assert changed.status_code == 200, changed.text
    again = time.time()
    assert stack.api.post(f"/api/integrations/{iid}/recovery/run").status_code == 200
    view = _last_run(stack, iid, again)
    asked = [r["body"] for r in fd.requests if r["path"] == "/webhook/history/list"][-1]
    assert asked["integration_id"] == hook.integration_id != other.integration_id and asked["status"] == "failed"
    assert view["last_run"]["failed_deliveries"] == view["last_run"]["ours"] == 1, view
    assert "integration " + str(hook.integration_id) in view["finds_deliveries_by"]

