"""The console's templates: the Jinja2 environment, formatting filters, and `render`.

Pages are rendered on the server with Jinja2 (autoescaping on) and work without
JavaScript; `static/console.js` only makes them quicker (partial updates, live checks,
copy buttons, progress). A request made by that script carries `X-Console-Partial: 1`
and may be answered with a fragment.
"""
from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..app.accounts import SignedIn
from ..bootstrap import Runtime

HERE = Path(__file__).parent
# Pages load only our own script and styles; nothing may frame them (clickjacking). Set on
# each page here rather than by a middleware, which would cost every webhook a detour.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # pages hold configuration and incident data
}
templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _span(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{int(seconds // size)} {unit}"
    return f"{int(seconds)} s"


def _ago(ts: float | None) -> str:
    if not ts:
        return "never"
    return f"{_span(max(0, time.time() - ts))} ago"


def _until(ts: float | None) -> str:
    """A moment to come, as people say it: "in 3 min" ("now" once it has passed)."""
    if not ts:
        return ""
    seconds = ts - time.time()
    return f"in {_span(max(1.0, seconds))}" if seconds > 0 else "now"


def _when(ts: float | None) -> str:
    if not ts:
        return ""
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _pretty(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)


def _web_link(url: Any) -> str | None:
    """A URL from a webhook or Jira, only if it is http(s): never a javascript: link."""
    text = str(url or "").strip()
    return text if text.lower().startswith(("https://", "http://")) else None


templates.filters.update(ago=_ago, until=_until, when=_when, pretty=_pretty, web_link=_web_link,
                         urlquote=lambda s: quote(str(s), safe=""))


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def is_partial(request: Request) -> bool:
    return request.headers.get("x-console-partial") == "1"


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    user: SignedIn | None = getattr(request.state, "user", None)
    context.setdefault("user", user)
    context.setdefault("csrf_token", runtime(request).accounts.csrf_token(user.token) if user else "")
    context.setdefault("partial", is_partial(request))
    context.setdefault("path", request.url.path)
    html = templates.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
