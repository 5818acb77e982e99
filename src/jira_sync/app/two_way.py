"""Two-way sync's setup: Jira's webhook (its URL and secret, registered for you or entered by
hand), whether the Flashduty app key may write incidents, and the polling backstop's state."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..crypto import new_webhook_secret
from ..domain.integration import JiraConnection, JiraPlatform
from ..jira.client_body import jql_string
from ..jira.port import JiraAuthError, JiraError, JiraPort
from ..settings import Settings
from ..sources.flashduty_api import FlashdutyApiError
from ..store import jira_inbound
from ..store.db import Engine, read
from .errors import Invalid, JiraFailed
from .integrations import Integrations
from .models import AppKeyCheck, JiraWebhookSetup, TwoWayStatus

EVENTS = ["jira:issue_updated", "comment_created"]


@dataclass
class TwoWay:
    engine: Engine
    integrations: Integrations
    settings: Settings
    jira_factory: Callable[[JiraConnection], JiraPort]
    flashduty_factory: Callable[[Any], Any]

    def webhook_url(self, integration_id: int) -> str:
        return f"{self.settings.base_url}/webhooks/jira/{integration_id}"

    async def status(self, integration_id: int) -> TwoWayStatus:
        row = await self.integrations.row(integration_id)
        cfg = row.public_config()
        async with read(self.engine) as conn:
            poll = await jira_inbound.poll_state(conn, integration_id)
        tw = cfg.two_way
        return TwoWayStatus(
            enabled=tw.any, poll_seconds=tw.poll_interval(cfg.jira.platform),
            fields={name: {"direction": f.direction, "owner": f.owner}
                    for name, f in (("status", tw.status), ("comments", tw.comments), ("priority", tw.priority))},
            webhook_url=self.webhook_url(integration_id), webhook_secret_set=row.jira_webhook_secret_enc is not None,
            last_poll_at=poll.last_finished_at if poll else None, last_poll_error=poll.last_error if poll else None,
            last_poll=poll.last_report if poll else None, next_poll_at=poll.next_run_at if poll else None,
        )

    async def new_webhook(self, integration_id: int, *, register: bool) -> JiraWebhookSetup:
        """A new secret for Jira's webhook (the old one stops working), and the settings to enter
        in Jira; with `register`, jira-sync registers the webhook itself (a Jira administrator's
        credentials are needed: Jira lets only administrators manage webhooks)."""
        stored = await self.integrations.get(integration_id)
        cfg = stored.config
        secret = new_webhook_secret()
        jql = f"project = {jql_string(stored.jira_meta.project_key or cfg.project)}"
        url = self.webhook_url(integration_id)
        unsigned = cfg.jira.platform is JiraPlatform.SERVER  # 7.x-8.x sign nothing: the URL carries it
        if unsigned:
            url = f"{url}?secret={secret}"
        registered_id = None
        if register:
            client = self.jira_factory(cfg.jira)
            try:
                registered_id = await client.register_webhook(f"jira-sync: {cfg.name}", url, jql, secret)
            except JiraAuthError as exc:
                raise JiraFailed("forbidden", f"Jira refused to register the webhook: {exc.message} Registering "
                                 "webhooks needs a Jira administrator; enter it by hand with the steps instead.") from None
            except JiraError as exc:
                raise JiraFailed("jira_failed", f"Jira could not register the webhook: {exc.message}") from None
            finally:
                await client.aclose()
        await self.integrations.set_jira_webhook_secret(integration_id, secret)
        steps = [
            "In Jira, open Settings (⚙) → System → WebHooks (a Jira administrator's page) and choose Create a WebHook.",
            f"Name: jira-sync: {cfg.name}. URL: {url}",
            "Secret: the secret above (Jira Cloud and Data Center 10+ sign each delivery with it)."
            if not unsigned else "Secret: leave it empty on Server/Data Center 7.x-8.x (the URL carries it); "
                                 "on Data Center 10+ enter the secret above.",
            f"Events: Issue updated, and Comment created. JQL filter: {jql}",
            "Save. jira-sync also polls the project for changes a delivery missed.",
        ]
        return JiraWebhookSetup(url=url, secret=secret, events=EVENTS, jql=jql, registered=registered_id is not None,
                                webhook_id=registered_id, steps=steps)

    async def check_app_key(self, integration_id: int) -> AppKeyCheck:
        stored = await self.integrations.get(integration_id)
        if stored.config.flashduty.app_key is None:
            raise Invalid("the integration has no Flashduty app key")
        writer = self.flashduty_factory(stored.config.flashduty)
        try:
            member = await writer.member()
            ok, message = await writer.may_write()
        except FlashdutyApiError as exc:
            return AppKeyCheck(may_write=False, message=exc.message)
        finally:
            await writer.aclose()
        return AppKeyCheck(may_write=ok, message=message, member=member.name or None)
