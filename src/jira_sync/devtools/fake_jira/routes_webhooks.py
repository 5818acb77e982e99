"""Admin webhooks over REST: `/rest/webhooks/1.0/webhook[/{id}]` (Jira administrators only).

POST registers (201 + the webhook), GET lists (array) or reads one, PUT replaces one,
DELETE removes one (204). Unknown id: 404. Not an administrator: 403 (wording inferred).
Registry, payloads and delivery: webhooks.py and delivery.py.
"""
from __future__ import annotations

from starlette.responses import Response

from .http import Call, no_content, ok


def _base(c: Call) -> str:
    return c.view.base


def create(c: Call) -> Response:
    hook = c.site.hooks.register(c.user, c.json())
    return ok(c.site.hooks.json(_base(c), hook), 201)


def list_all(c: Call) -> Response:
    c.site.hooks.require_admin(c.user)
    return ok([c.site.hooks.json(_base(c), h) for h in c.site.hooks.registered.values()])


def get_one(c: Call) -> Response:
    c.site.hooks.require_admin(c.user)
    return ok(c.site.hooks.json(_base(c), c.site.hooks.get(c.path("id"))))


def replace(c: Call) -> Response:
    c.site.hooks.require_admin(c.user)
    existing = c.site.hooks.get(c.path("id"))
    hook = c.site.hooks.register(c.user, c.json(), existing)
    return ok(c.site.hooks.json(_base(c), hook))


def delete(c: Call) -> Response:
    c.site.hooks.require_admin(c.user)
    hook = c.site.hooks.get(c.path("id"))
    del c.site.hooks.registered[hook.id]
    return no_content()
