"""The integration page shows recovery of missed webhooks, and its Run now button works;
the setup form carries the recovery settings."""
from __future__ import annotations

import time

from e2e.conftest import Stack, wait_until

from .conftest import Console


def test_the_integration_page_shows_the_last_recovery_run_and_runs_one_on_request(cloud_console: Stack) -> None:
    stack = cloud_console
    iid, sender = stack.integration()
    stack.flashduty.add_webhook(sender.url, headers={"X-Jira-Sync-Secret": sender.headers["X-Jira-Sync-Secret"]},
                                down="refused")
    inc = stack.flashduty.open_incident()["incident"]["incident_id"]  # refused: lost unless recovered
    web = Console(stack.service)
    try:
        web.sign_in()
        page = web.get(f"/console/integrations/{iid}").text
        assert "Recovery of missed webhooks" in page and "X-Jira-Sync-Secret value" in page
        started = time.time()
        web.post(f"/console/integrations/{iid}/recovery", {})
        assert web.last is not None and "Recovery run started" in web.last.text

        def ran() -> bool:
            view = stack.api.get(f"/api/integrations/{iid}/recovery").json()
            return (view["last_finished_at"] or 0) > started
        wait_until(ran, what="the recovery run")
        stack.synced()
        stack.issue_for(inc)
        page = web.get(f"/console/integrations/{iid}").text
        assert "1 of ours" in page and "1 replayed" in page and stack.flashduty.app_key not in page
    finally:
        web.close()


def test_recovery_off_is_said_on_the_page(cloud_console: Stack) -> None:
    stack = cloud_console
    iid, _ = stack.integration(flashduty={"base_url": stack.flashduty_url, "app_key": stack.flashduty.app_key,
                                          "recover_missed": False, "webhook_integration_id": 42})
    assert stack.api.get(f"/api/integrations/{iid}").json()["config"]["flashduty"]["webhook_integration_id"] == 42
    web = Console(stack.service)
    try:
        web.sign_in()
        assert "Not running: switched off" in web.get(f"/console/integrations/{iid}").text
        assert stack.api.post(f"/api/integrations/{iid}/recovery/run").status_code == 409
    finally:
        web.close()
