"""Who is calling: Basic (Cloud email + API token; Server username + password) or Bearer PAT.

- Cloud accepts only `email:api_token`; a password or a username is a 401. An expired token
  gets the same 401 as a wrong one. A scoped token (service accounts' always are) is a 401 at
  the site URL and works only through the gateway, within its scopes (gateway.py).
- Server/DC: `username:password`; from 8.14 also `Authorization: Bearer <PAT>` (a PAT is not
  a Basic password). After 3 failed logins for a user, Jira wants a CAPTCHA: every Basic
  request for that user answers 403 with `X-Authentication-Denied-Reason` until a person
  logs in through the browser (`FakeJira.clear_captcha`).
"""
from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING

from .model import JiraHTTPError, User

if TYPE_CHECKING:
    from .state import FakeJira

MAX_FAILED_LOGINS = 3


class AuthError(JiraHTTPError):
    """401/403 answered with a short plain-text body, as Jira's auth filter does."""

    def __init__(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, [], {}, headers)
        self.text = text
        self.media_type = "text/plain"


def unauthenticated(site: "FakeJira") -> AuthError:
    if site.cloud:
        return AuthError(401, "Client must be authenticated to access this resource.",
                         {"WWW-Authenticate": 'Basic realm="protected"'})
    return AuthError(401, "", {"X-Seraph-LoginReason": "AUTHENTICATED_FAILED",
                               "WWW-Authenticate": 'Basic realm="protected"'})


def captcha(base: str) -> AuthError:
    return AuthError(403, "", {
        "X-Seraph-LoginReason": "AUTHENTICATION_DENIED",
        "X-Authentication-Denied-Reason": f"CAPTCHA_CHALLENGE; login-url={base}/login.jsp",
    })


class ScopeError(AuthError):
    """The gateway's answer when a scoped token lacks the operation's scopes (JSON, not Jira's shape)."""

    def __init__(self) -> None:
        super().__init__(401, '{"code":401,"message":"Unauthorized; scope does not match"}')
        self.media_type = "application/json"


def authenticate(site: "FakeJira", authorization: str | None, base: str, *,
                 gateway: bool = False, method: str = "GET", path: str = "") -> User:
    """The calling user, or raises AuthError. Call with `site.lock` held.

    `gateway`: the request came through `/ex/jira/{cloudId}` (Cloud); `method` and `path`
    (without the prefix) select the scopes a scoped token needs there."""
    if not authorization:
        raise unauthenticated(site)
    scheme, _, credentials = authorization.strip().partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer":
        user = site.users_by_pat.get(credentials.strip()) if site.accepts_pat else None
        if user is None or user.token_expired:
            raise unauthenticated(site)
        return user
    if scheme != "basic":
        raise unauthenticated(site)
    try:
        login, _, secret = base64.b64decode(credentials.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise unauthenticated(site) from None
    if site.cloud:
        user = site.users_by_email.get(login.lower())
        if user is None or secret != user.secret or user.token_expired:
            raise unauthenticated(site)
        if user.scopes is not None:
            from .gateway import scopes_allow

            if not gateway:
                raise unauthenticated(site)
            if not scopes_allow(user.scopes, method, path):
                raise ScopeError()
        return user
    user = site.users_by_name.get(login.lower())
    if user is None:
        raise unauthenticated(site)
    if site.failed_logins.get(user.name, 0) >= MAX_FAILED_LOGINS:
        raise captcha(base)
    if secret != user.secret:
        site.failed_logins[user.name] = site.failed_logins.get(user.name, 0) + 1
        raise unauthenticated(site)
    site.failed_logins.pop(user.name, None)
    return user
