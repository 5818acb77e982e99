"""Request input rules at the HTTP edge (README, "Input rules").

- `BodyDeadline`: a request body must arrive within `BODY_TIMEOUT` seconds; a client that
  trickles it (one byte a second) gets 408 and its connection is closed, instead of holding
  a connection and a task forever.
- `StrictJsonRoute`: the REST API reads JSON bodies with `domain/json_input.py`'s rules
  (int64 integers, finite numbers, bounded nesting, no lone surrogates or NUL in any text);
  a body that breaks one is a 422 that names the problem, never a 500 from a store or from
  the JSON encoder of the answer. People send these bodies, so nothing is repaired: they
  are told, and send it again.
"""
from __future__ import annotations

import asyncio
from typing import Any, Callable, Coroutine

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute

from ..domain import json_input

ASGIApp = Callable[..., Coroutine[Any, Any, None]]


class BodyTimeout(HTTPException):
    """The request body did not arrive in time: 408, and the connection is closed. An
    HTTPException, so that FastAPI's own body reading passes it on instead of calling it
    a parse error (`web/errors.py` logs it in one line)."""

    def __init__(self, detail: str) -> None:
        super().__init__(408, detail, headers={"Connection": "close"})


class BodyDeadline:
    """Pure ASGI middleware: a deadline for reading each request's body (never for waiting on a
    disconnect once the body is in). Costs one timer per body read."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        deadline = asyncio.get_running_loop().time() + self.seconds
        body_done = False

        async def timed_receive() -> dict[str, Any]:
            nonlocal body_done
            if body_done:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyTimeout(f"the request body did not arrive within {self.seconds:g} s") from None
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await self.app(scope, timed_receive, send)


_PROBLEM = "jira_sync.json_problem"


class _StrictJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = None
            try:
                value = json_input.loads(await self.body())
            except json_input.JsonRejected as exc:
                self.scope[_PROBLEM] = str(exc)
                return None
            if json_input.too_deep(value):
                self.scope[_PROBLEM] = f"body nests deeper than {json_input.MAX_DEPTH} levels"
            elif where := json_input.unstorable(value):
                self.scope[_PROBLEM] = f"{where[:200]}: lone surrogates (U+D800-U+DFFF) and NUL characters cannot be stored"
            else:
                self._json = value
        return self._json


def refuse_unreadable_json(request: Request) -> None:
    """A router dependency, after the admin token's: FastAPI reads a body before it solves
    dependencies, so the body's problem is kept and said here, and a caller without the
    token hears 401 whatever the body holds."""
    problem = request.scope.get(_PROBLEM)
    if problem:
        raise HTTPException(422, problem)


class StrictJsonRoute(APIRoute):
    """A FastAPI route whose JSON body goes through `domain/json_input.py` first (the router
    must also depend on `refuse_unreadable_json`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(_StrictJsonRequest(request.scope, request.receive))

        return strict
