"""`jira-sync dev`: the emulators and the documented example event, for trying jira-sync
without a real Jira or Flashduty."""
from __future__ import annotations

import json
import sys

import click
from pydantic import ValidationError


@click.group()
def dev() -> None:
    """Emulators for trying jira-sync without a real Jira or Flashduty."""


@dev.command("fake-jira")
@click.option("--flavour", type=click.Choice(["cloud", "server"]), default="cloud", show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8081, type=int, show_default=True)
@click.option("--latency-ms", default=0.0, type=click.FloatRange(min=0), show_default=True,
              help="every answer waits this long, as from a Jira across a network")
def fake_jira(flavour: str, host: str, port: int, latency_ms: float) -> None:
    """Run the Jira emulator (Cloud or Server/DC flavour)."""
    from .devtools.fake_jira import run_forever

    run_forever(flavour, host, port, latency_s=latency_ms / 1000)


@dev.command("send-example")
@click.argument("webhook_url")
@click.option("--secret", required=True, help="the integration's webhook secret")
@click.option("--wait", default=20.0, show_default=True, type=float,
              help="seconds to wait for the Jira issue when the event was queued (0: do not wait); needs the "
                   "admin token from .env or JIRA_SYNC_ADMIN_TOKEN")
def send_example(webhook_url: str, secret: str, wait: float) -> None:
    """Send Flashduty's documented example event to a webhook URL, as Flashduty would, and say what came of it."""
    from .devtools.fake_flashduty import DOCUMENTED_EXAMPLE
    from .devtools.first_try import explain_answer, post_example, wait_for_issue

    try:
        status, answer = post_example(webhook_url, secret, DOCUMENTED_EXAMPLE)
    except Exception as exc:  # noqa: BLE001 - the network's own words are the useful ones
        raise click.ClickException(f"could not deliver to {webhook_url}: {exc or type(exc).__name__}") from None
    click.echo(f"HTTP {status}")
    click.echo(json.dumps(answer, indent=2, ensure_ascii=False) if isinstance(answer, dict) else answer)
    for line in explain_answer(status, answer):
        click.echo(line)
    if status != 200:
        sys.exit(1)
    if isinstance(answer, dict) and answer.get("sync") == "queued" and wait > 0:
        token = _admin_token_if_known()
        if token is None:
            click.echo("(set JIRA_SYNC_ADMIN_TOKEN, or run this where .env is, to wait for the Jira issue here)")
            return
        for line in wait_for_issue(webhook_url, token, answer.get("incident_id") or "", wait):
            click.echo(line)


def _admin_token_if_known() -> str | None:
    from .settings import Settings

    try:
        return Settings().admin_token.get_secret_value()  # type: ignore[call-arg]
    except ValidationError:
        return None
