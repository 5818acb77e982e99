"""HTTP answer / transport failure -> `JiraError`: the only place that reads status codes.

Pure functions, so the whole mapping is one table in the tests. `write=True` marks a
non-idempotent request (create issue, add comment, transition): when it may have reached
Jira without us seeing the answer, the error says `outcome_unknown` and the caller must
look (search by label, list comments by ref) before writing again - Jira has no
idempotency key.
"""
from __future__ import annotations

import ssl
from http import HTTPStatus
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Mapping

import httpx

from .port import (
    JiraAuthError,
    JiraConnectError,
    JiraError,
    JiraNotFound,
    JiraPermanentError,
    JiraRetryableError,
)

TOKEN_PAGE = "https://id.atlassian.com/manage-profile/security/api-tokens"


@dataclass(frozen=True, slots=True)
class Site:
    base_url: str
    cloud: bool
    pat: bool = False
    username: str = ""


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Retry-After is either delta-seconds or an HTTP-date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def jira_messages(body: Any) -> tuple[list[str], dict[str, str]]:
    """Jira's `{"errorMessages": [...], "errors": {field: message}}`, tolerating other shapes."""
    if not isinstance(body, dict):
        return [], {}
    messages = [str(m) for m in body.get("errorMessages") or [] if m]
    errors = body.get("errors") if isinstance(body.get("errors"), dict) else {}
    if not messages and isinstance(body.get("message"), str):  # some gateways / DC plugins
        messages = [body["message"]]
    return messages, {str(k): str(v) for k, v in errors.items()}


def _describe(messages: list[str], errors: dict[str, str], fallback: str) -> str:
    parts = messages + [f"{field}: {msg}" for field, msg in errors.items()]
    return "; ".join(parts) if parts else fallback


def status_line(status: int) -> str:
    """`403 Forbidden`: how an answer that is not Jira's JSON is reported. Its body is never
    repeated: behind a URL someone typed it can be any internal page."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _auth_error(headers: Mapping[str, str], text: str, site: Site, **kw: Any) -> JiraAuthError:
    denied = headers.get("x-authentication-denied-reason", "")
    if "captcha" in denied.lower():
        # Jira Server/DC: after several failed logins the account must pass a CAPTCHA in
        # the browser; REST calls keep failing (403) until then, and each retry makes it worse.
        return JiraAuthError(
            f"Jira requires a CAPTCHA for user {site.username or '(unknown)'} after failed logins. "
            f"Log in once through the browser at {site.base_url}/login.jsp to clear it, "
            "check the password, then try again.",
            reason="captcha_required", **kw,
        )
    if kw.get("status") == 403:
        return JiraAuthError(text or f"Jira refused the request ({status_line(403)}): the user lacks a permission.",
                             reason="forbidden", **kw)
    if site.cloud and "scope" in text.lower():
        # the API gateway knows the token, but not for this call ("scope does not match")
        return JiraAuthError(
            f"The scoped API token lacks a scope this call needs (Jira said: {text}). Give it read:jira-work, "
            "write:jira-work and read:jira-user, or use a token without scopes.", reason="forbidden", **kw)
    if site.cloud:
        msg = ("Jira Cloud rejected the email and API token (401). The API token may be wrong, revoked "
               "or expired: API tokens created after December 2024 expire within a year. Create a new "
               f"one at {TOKEN_PAGE}.")
    elif site.pat:
        msg = "Jira rejected the personal access token (401): it may be wrong, expired or revoked."
    else:
        msg = ("Jira rejected the user name and password (401). Repeated failures make Jira "
               "demand a CAPTCHA, so fix them before retrying.")
    return JiraAuthError(msg, reason="bad_credentials", **kw)


def error_for_response(
    status: int, headers: Mapping[str, str], body: Any, *, site: Site, method: str, path: str, write: bool
) -> JiraError | None:
    """None for 2xx; otherwise the error the port promises for this answer."""
    if 200 <= status < 300:
        return None
    messages, errors = jira_messages(body)
    kw: dict[str, Any] = {"status": status, "error_messages": messages, "errors": errors}
    text = _describe(messages, errors, "")
    if 300 <= status < 400:
        # A REST API does not redirect; this is http->https, a missing context path or SSO.
        return JiraConnectError(
            f"{site.base_url} redirected {method} {path} to {headers.get('location', '?')}: "
            "check the base URL (https, context path such as /jira).",
            reason="not_jira", **kw)
    if status in (401, 403):
        return _auth_error(headers, text, site, **kw)
    if status in (429, 503):
        retry_after = parse_retry_after(headers.get("retry-after"))
        what = "rate limited" if status == 429 else "unavailable"
        # A 429 is refused before processing; a 503 from a proxy may not be, so a write
        # is treated as unknown (cheap: the caller only looks before writing again).
        return JiraRetryableError(
            f"Jira is {what} ({status_line(status)}){f'; retry after {retry_after:.0f} s' if retry_after else ''}"
            f"{': ' + text if text else ''}",
            retry_after=retry_after, outcome_unknown=write and status == 503, **kw)
    if status >= 500 or status == 408:
        return JiraRetryableError(f"Jira answered {status_line(status)} to {method} {path}{': ' + text if text else ''}",
                                  outcome_unknown=write, **kw)
    if status in (404, 410):
        gone = " (this Jira API was removed)" if status == 410 else ""
        # Jira's own "not found" has its error body; anything else (Jersey's "null for uri", a
        # proxy's page) means the site has no such endpoint, not that the thing is missing.
        jira_said = isinstance(body, dict) and ("errorMessages" in body or "errors" in body)
        return JiraNotFound(text or f"Jira answered {status_line(status)}{gone} to {method} {path}",
                            endpoint_missing=status == 404 and not jira_said, **kw)
    return JiraPermanentError(text or f"Jira answered {status_line(status)} to {method} {path}", **kw)


def _is_tls(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def error_for_transport(exc: httpx.HTTPError, *, site: Site, method: str, path: str, write: bool) -> JiraError:
    """No answer came. Was the request possibly sent? Only then is a write's outcome unknown."""
    where = f"{method} {path}"
    if isinstance(exc, httpx.ConnectTimeout):
        return JiraConnectError(f"Timed out connecting to {site.base_url}", reason="timeout", timed_out=True)
    if isinstance(exc, httpx.ConnectError):
        if _is_tls(exc):
            return JiraConnectError(
                f"TLS handshake with {site.base_url} failed ({exc}). If Jira uses a private CA, add "
                "its certificate (PEM) to the connection's CA bundle.", reason="tls")
        return JiraConnectError(f"Cannot reach {site.base_url}: {exc or type(exc).__name__}", reason="unreachable")
    if isinstance(exc, httpx.PoolTimeout):
        return JiraRetryableError(f"No free connection to {site.base_url} in time for {where}", timed_out=True)
    if isinstance(exc, httpx.TimeoutException):
        return JiraRetryableError(f"Jira did not answer {where} in time", outcome_unknown=write, timed_out=True)
    # ReadError, WriteError, RemoteProtocolError: reset or closed mid-exchange.
    return JiraRetryableError(f"Connection to Jira broke during {where}: {exc or type(exc).__name__}",
                              outcome_unknown=write)
