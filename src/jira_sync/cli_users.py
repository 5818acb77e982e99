"""`jira-sync users`: console accounts (the web console at /console needs one to sign in)."""
from __future__ import annotations

import sys

import click

from .cli_support import run_with_runtime as _run

@click.group()
def users() -> None:
    """Console accounts (the web console at /console needs one to sign in)."""


def _new_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("password", hide_input=True, confirmation_prompt=True)


def _account_change(change, done: str) -> None:  # type: ignore[no-untyped-def]
    """Run `change(accounts)`; an AccountError becomes a plain CLI error."""
    from .app.accounts import AccountError

    try:
        _run(lambda rt: change(rt.accounts))
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(done)


@users.command("add")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input (for scripts)")
def users_add(username: str, password_stdin: bool) -> None:
    """Create a console account (asks for its password)."""
    password = _new_password(password_stdin)
    _account_change(lambda acc: acc.add_user(username, password), f"created console user {username!r}")


@users.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input (for scripts)")
def users_passwd(username: str, password_stdin: bool) -> None:
    """Set a console account's password (signs out its sessions)."""
    password = _new_password(password_stdin)
    _account_change(lambda acc: acc.set_password(username, password), f"password changed for {username!r}")


@users.command("remove")
@click.argument("username")
def users_remove(username: str) -> None:
    """Delete a console account."""
    _account_change(lambda acc: acc.remove_user(username), f"removed console user {username!r}")


@users.command("list")
def users_list() -> None:
    """List console accounts."""
    for name in _run(lambda rt: rt.accounts.usernames()):
        click.echo(name)


@users.command("ensure-admin")
def users_ensure_admin() -> None:
    """First run: when no console account exists, create `admin` with a random password, printed once."""
    from .crypto import new_admin_token

    password = new_admin_token()[:20]

    async def go(rt):  # type: ignore[no-untyped-def]
        acc = rt.accounts
        if await acc.has_users():
            return False
        await acc.add_user("admin", password)
        return True

    if _run(go):
        click.echo(f"console: sign in as admin with password {password}  (shown once; change it with "
                   "`jira-sync users passwd admin`)")
