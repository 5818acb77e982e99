"""A new webhook secret, shown for a few minutes after it was made, and never again.

Saving an integration (or making a new secret) answers with a redirect to the integration's
"Connect Flashduty" page (POST -> redirect -> GET), so a refresh never posts the form again.
The secret travels to that page in a cookie sealed with the server's key (Fernet: the
browser can neither read nor alter it), bound to the console session that made it, limited
to that one page's path, and good for `SHOWN_FOR_SECONDS`. Within that time the page shows
the secret on every refresh; afterwards (or in another session) it says the secret was shown
and offers a new one. Nothing is kept on the server: any `serve` process can show the page,
and the database still holds only the secret's hash.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request, Response

from ..app.accounts import SignedIn
from .templating import runtime

SHOWN_FOR_SECONDS = 600


@dataclass
class NewSecret:
    secret: str
    made_by: str  # "save" (a new integration) or "rotate"
    warnings: list[str] = field(default_factory=list)  # what the save's check warned about


def connect_path(integration_id: int) -> str:
    return f"/console/integrations/{integration_id}/connect"


def _cookie(integration_id: int) -> str:
    return f"jira_sync_new_secret_{integration_id}"


def _session_tag(user: SignedIn) -> str:
    # the session token itself never goes into the cookie, only a hash of it
    return hashlib.sha256(b"new-secret:" + user.token.encode()).hexdigest()[:32]


def remember(request: Request, response: Response, user: SignedIn, integration_id: int, shown: NewSecret) -> None:
    rt = runtime(request)
    sealed = rt.box.encrypt(json.dumps({"i": integration_id, "u": _session_tag(user), "s": shown.secret,
                                        "m": shown.made_by, "w": shown.warnings}))
    response.set_cookie(_cookie(integration_id), sealed, max_age=SHOWN_FOR_SECONDS, httponly=True, samesite="strict",
                        secure=rt.settings.base_url.startswith("https://"), path=connect_path(integration_id))


def recall(request: Request, user: SignedIn, integration_id: int) -> NewSecret | None:
    """The secret made in this session for this integration, if that was recent enough."""
    sealed = request.cookies.get(_cookie(integration_id))
    if not sealed:
        return None
    try:
        data: Any = json.loads(runtime(request).box.decrypt(sealed, ttl=SHOWN_FOR_SECONDS))
    except ValueError:  # expired, altered, or sealed with another key
        return None
    if not isinstance(data, dict) or data.get("i") != integration_id or data.get("u") != _session_tag(user):
        return None
    warnings = data.get("w")
    return NewSecret(str(data.get("s") or ""), str(data.get("m") or "save"),
                     [str(w) for w in warnings] if isinstance(warnings, list) else [])
