"""What every CLI command shares: the settings (with a plain error when they are incomplete) and
a started runtime for one command. Apart from cli.py so that command modules (cli_users.py)
can use them without importing the whole CLI."""
from __future__ import annotations

import asyncio

import click
from pydantic import ValidationError


def load_settings():  # type: ignore[no-untyped-def]
    from .settings import Settings

    try:
        return Settings()  # type: ignore[call-arg]
    except ValidationError as exc:
        lines = [f"  {'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()]
        raise click.ClickException(
            "settings are incomplete or invalid (environment JIRA_SYNC_* or .env):\n"
            + "\n".join(lines)
            + "\nRun `jira-sync init` to write a .env with a new secret key and admin token."
        ) from None


def run_with_runtime(coro_fn):  # type: ignore[no-untyped-def]
    from .bootstrap import start_runtime

    settings = load_settings()

    async def go():  # type: ignore[no-untyped-def]
        rt = await start_runtime(settings)
        try:
            return await coro_fn(rt)
        finally:
            await rt.aclose()

    return asyncio.run(go())
