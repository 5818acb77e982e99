"""Who is signed in to the console, and whether a form really comes from their session.

Accounts, password hashes, sessions and CSRF tokens themselves live in `app/accounts.py`;
this module reads them from cookies and forms.
"""
from __future__ import annotations

from fastapi import Request
from starlette.datastructures import FormData

from ..app.accounts import Accounts, SignedIn
from .templating import runtime

SESSION_COOKIE = "jira_sync_session"
LOGIN_CSRF_COOKIE = "jira_sync_login_csrf"


class SignInRequired(Exception):
    """Raised by `signed_in`; answered with a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class CsrfRejected(Exception):
    pass


class UnstorableForm(Exception):
    """A form field holds a NUL character (`%00`), which PostgreSQL cannot store: answered 400.
    (Lone surrogates cannot arrive: form decoding replaces invalid UTF-8 with U+FFFD.)"""


def accounts(request: Request) -> Accounts:
    return runtime(request).accounts


async def signed_in(request: Request) -> SignedIn:
    """Dependency of every console page but the sign-in page."""
    user = await accounts(request).session(request.cookies.get(SESSION_COOKIE))
    if user is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(path if request.method == "GET" else "/console/")
    request.state.user = user
    return user


async def checked_form(request: Request, user: SignedIn) -> FormData:
    """The posted form, after its CSRF token was checked against the session."""
    form = await request.form()
    token = form.get("csrf_token") or request.headers.get("x-csrf-token")
    if not accounts(request).csrf_ok(user.token, token if isinstance(token, str) else None):
        raise CsrfRejected()
    if any(isinstance(value, str) and "\x00" in value for value in form.values()):
        raise UnstorableForm()
    return form
