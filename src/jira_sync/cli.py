"""jira-sync command line: serve | worker | migrate | init | keygen | integrations | users | dev."""
from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import click
import yaml
from pydantic import ValidationError

from .cli_support import load_settings, run_with_runtime as _run
from .crypto import generate_key, new_admin_token


def setup_logging(level: str, fmt: str = "auto") -> None:
    from .observe import logs

    logs.configure(level, fmt)


def setup_process(settings) -> None:  # type: ignore[no-untyped-def]
    """What a long-lived process (`serve`, `worker`) sets up before it imports the service:
    logs, the shared metrics directory (before prometheus_client is imported), traces."""
    from .observe import multiproc, tracing

    setup_logging(settings.log_level, settings.log_format)
    if settings.metrics_dir:
        multiproc.prepare(settings.metrics_dir)
    elif multiproc.directory():  # PROMETHEUS_MULTIPROC_DIR set by hand: cleaned the same way
        multiproc.prepare(multiproc.directory())
    try:
        tracing.configure(settings.tracing)
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def main() -> None:
    """Keep Jira issues in step with Flashduty incidents."""


@main.command()
@click.option("--env-file", default=".env", show_default=True, type=click.Path(dir_okay=False))
def init(env_file: str) -> None:
    """Write a .env with a new encryption key and admin token (keeps existing values)."""
    path = Path(env_file)
    text = path.read_text() if path.exists() else ""
    added = []
    if not re.search(r"^JIRA_SYNC_SECRET_KEY=", text, re.M):
        text += f"JIRA_SYNC_SECRET_KEY={generate_key()}\n"
        added.append("JIRA_SYNC_SECRET_KEY")
    if not re.search(r"^JIRA_SYNC_ADMIN_TOKEN=", text, re.M):
        token = new_admin_token()
        text += f"JIRA_SYNC_ADMIN_TOKEN={token}\n"
        added.append("JIRA_SYNC_ADMIN_TOKEN")
        click.echo(f"admin token (for Authorization: Bearer ...): {token}")
    if added:
        path.write_text(text)
        path.chmod(0o600)
        click.echo(f"wrote {', '.join(added)} to {path}")
    else:
        click.echo(f"{path} already has a secret key and an admin token")


@main.command()
def keygen() -> None:
    """Print a new key for JIRA_SYNC_SECRET_KEY."""
    click.echo(generate_key())


@main.command()
def migrate() -> None:
    """Bring the database schema up to date (also done at every start)."""
    from .store.db import make_engine
    from .store.db import migrate as run

    settings = load_settings()

    async def go() -> None:
        engine = make_engine(settings.database_url)
        try:
            await run(engine)
        finally:
            await engine.dispose()

    asyncio.run(go())
    click.echo("database is up to date")


@main.command()
@click.option("--host", default=None, help="listen address (default: JIRA_SYNC_HOST or 127.0.0.1)")
@click.option("--port", default=None, type=int, help="listen port (default: JIRA_SYNC_PORT or 8080)")
@click.option("--no-worker", is_flag=True, help="serve HTTP only; `jira-sync worker` processes do the syncing")
def serve(host: str | None, port: int | None, no_worker: bool) -> None:
    """Run the HTTP server and the sync worker in one process."""
    settings = load_settings()
    if host:
        settings.host = host
    if port:
        settings.port = port
    setup_process(settings)
    import uvicorn

    from .web.app import create_app
    from .web.server import uvicorn_config

    app = create_app(settings, run_worker=not no_worker, owns_process=True)
    uvicorn.Server(uvicorn_config(app, settings)).run()


@main.command()
def worker() -> None:
    """Run an additional sync worker (PostgreSQL only: workers share the queue)."""
    settings = load_settings()
    if not settings.is_postgres:
        raise click.ClickException(
            "additional workers need PostgreSQL (JIRA_SYNC_DATABASE_URL=postgresql+asyncpg://...); "
            "on SQLite, `jira-sync serve` runs the only worker"
        )
    setup_process(settings)
    from .bootstrap import run_worker_process

    if settings.worker_nice:
        # a webhook has a deadline (Flashduty retries once), a sync only a queue: where workers
        # share cores with `serve`, the webhooks go first (bench/run.py --storm: see the README's
        # "Speed"); on a host of its own a worker loses nothing by it
        os.nice(settings.worker_nice)
    asyncio.run(run_worker_process(settings))


# ------------------------------------------------------------------ integrations
@main.group()
def integrations() -> None:
    """Manage integrations (e.g. kept as YAML files in git)."""


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_env(value: Any) -> Any:
    """`${NAME}` in a YAML file is read from the environment, so secrets stay out of git."""
    if isinstance(value, str):
        def sub(m: re.Match[str]) -> str:
            if m.group(1) not in os.environ:
                raise click.ClickException(f"environment variable {m.group(1)} is not set")
            return os.environ[m.group(1)]

        return _ENV_REF.sub(sub, value)
    if isinstance(value, dict):
        return {k: expand_env(v) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_env(v) for v in value]
    return value


@integrations.command("apply")
@click.argument("file", type=click.File("r"))
@click.option("--no-check", is_flag=True, help="save without checking against Jira")
def integrations_apply(file: Any, no_check: bool) -> None:
    """Create or update the integrations in FILE (YAML: one mapping, or a list), by name."""
    from .app.errors import CheckFailed, Conflict, Invalid
    from .domain.integration import IntegrationConfig

    docs = yaml.safe_load(file)
    docs = docs if isinstance(docs, list) else [docs]
    try:
        configs = [IntegrationConfig.model_validate(expand_env(d)) for d in docs]
    except ValidationError as exc:
        raise click.ClickException(f"{file.name}: {exc}") from None

    async def apply(rt):  # type: ignore[no-untyped-def]
        failed = 0
        url_note = await rt.integrations.use_running_server()
        for cfg in configs:
            found = await rt.integrations.find_by_name(cfg.name)
            existing = found.id if found else None
            try:
                if existing is None:
                    saved = await rt.integrations.create(cfg, check=not no_check)
                    click.echo(f"created {cfg.name!r} (id {saved.id})")
                    click.echo(f"  webhook: {saved.webhook.url}")
                    click.echo(f"  header {saved.webhook.header}: {saved.webhook.secret}  (shown once)")
                    click.echo(f"  try it:  {_me()} dev send-example {saved.webhook.url} --secret {saved.webhook.secret}")
                else:
                    saved = await rt.integrations.update(existing, cfg.model_dump(mode="python"), check=not no_check)
                    click.echo(f"updated {cfg.name!r} (id {saved.id})")
                    click.echo(f"  webhook: {saved.webhook.url}")
                said = " ".join(saved.check.warnings)
                # the check already warns of a missing app key: say it once
                for w in saved.check.warnings + [w for w in saved.warnings if w.split(":")[0] not in said]:
                    click.echo(f"  warning: {w}")
                if saved.webhook.reachability_warning:
                    click.echo(f"  note: {saved.webhook.reachability_warning}")
            except (CheckFailed, Conflict, Invalid) as exc:
                failed += 1
                errors = exc.report.errors if isinstance(exc, CheckFailed) else [str(exc)]
                click.echo(f"NOT saved {cfg.name!r}:", err=True)
                for e in errors:
                    click.echo(f"  error: {e}", err=True)
        if url_note:
            click.echo(f"note: {url_note}")
        return failed

    if _run(apply):
        sys.exit(1)


@integrations.command("list")
@click.option("--json", "as_json", is_flag=True)
def integrations_list(as_json: bool) -> None:
    """List integrations with their sync counters."""
    rows = _run(lambda rt: rt.integrations.list())
    if as_json:
        fields = ("id", "name", "enabled", "last_event_at", "incidents_synced", "failed", "last_error")
        click.echo(json.dumps([r.model_dump(include=set(fields)) for r in rows], indent=2))
        return
    table = [("ID", "STATE", "NAME", "LAST EVENT", "SYNCED", "FAILED", "LAST ERROR")]
    for r in rows:
        last = _ago(r.last_event_at)
        table.append((str(r.id), "enabled" if r.enabled else "disabled", r.name, last, str(r.incidents_synced),
                      str(r.failed), _one_line(r.last_error or "-")))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    for row in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[-1])
    if not rows:
        click.echo("(no integrations yet: `jira-sync integrations apply FILE.yaml`, or the console)")


def _me() -> str:
    """How this command was called (e.g. .venv/bin/jira-sync), for commands printed to copy."""
    return sys.argv[0] if Path(sys.argv[0]).name == "jira-sync" else "jira-sync"


def _ago(at: float | None) -> str:
    if at is None:
        return "never"
    from .domain.durations import format_duration

    return f"{format_duration(max(0.0, time.time() - at))} ago"


def _one_line(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@integrations.command("check")
@click.argument("ident")
def integrations_check(ident: str) -> None:
    """Check a stored integration (id or name) against Jira."""
    from .app.errors import NotFound

    async def go(rt):  # type: ignore[no-untyped-def]
        try:
            row = await rt.integrations.find(ident)
        except NotFound as exc:
            raise click.ClickException(str(exc)) from None
        return await rt.integrations.recheck(row.id)

    report = _run(go)
    for n in report.notes:
        click.echo(f"note: {n}")
    for w in report.warnings:
        click.echo(f"warning: {w}")
    for e in report.errors:
        click.echo(f"error: {e}", err=True)
    click.echo("ok" if report.ok else "check failed")
    sys.exit(0 if report.ok else 1)


@integrations.command("jira-webhook")
@click.argument("ident")
@click.option("--register", is_flag=True, help="register it in Jira (the integration's account must be a Jira admin)")
def integrations_jira_webhook(ident: str, register: bool) -> None:
    """Two-way sync: a new secret for Jira's webhook, and its settings (or register it)."""
    from .app.errors import AppError

    async def go(rt):  # type: ignore[no-untyped-def]
        try:
            return await rt.two_way.new_webhook((await rt.integrations.find(ident)).id, register=register)
        except AppError as exc:
            raise click.ClickException(str(exc)) from None

    setup = _run(go)
    click.echo(f"{'registered in Jira' if setup.registered else 'enter in Jira'}: {setup.url}")
    click.echo(f"  secret: {setup.secret}  (shown once)\n  events: {', '.join(setup.events)}\n  JQL: {setup.jql}")
    for step in [] if setup.registered else setup.steps:
        click.echo(f"  - {step}")


@integrations.command("check-app-key")
@click.argument("ident")
def integrations_check_app_key(ident: str) -> None:
    """Two-way sync: may the Flashduty app key write incidents? (nothing is changed)"""
    from .app.errors import AppError

    async def go(rt):  # type: ignore[no-untyped-def]
        try:
            return await rt.two_way.check_app_key((await rt.integrations.find(ident)).id)
        except AppError as exc:
            raise click.ClickException(str(exc)) from None

    check = _run(go)
    click.echo(check.message + (f" (acting as {check.member})" if check.member else ""))
    sys.exit(0 if check.may_write else 1)


# ------------------------------------------------------------------ console accounts and development
from .cli_dev import dev  # noqa: E402 - the emulators' commands live apart (cli_dev.py)
from .cli_users import users  # noqa: E402 - console accounts (cli_users.py)

main.add_command(users)
main.add_command(dev)
