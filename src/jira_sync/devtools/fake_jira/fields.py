"""Field values on create, edit and transition screens, checked the way Jira checks them.

Jira validates every field of a request and answers all problems at once:
`400 {"errorMessages": [], "errors": {"<field id>": "<message>"}}`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

from . import validation
from .model import FieldDef, JiraHTTPError, Project, User
from .seed import RESOLUTIONS

NOT_ON_SCREEN = "Field '{}' cannot be set. It is not on the appropriate screen, or unknown."
NOT_ADF = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
NOT_STRING = "Operation value must be a string"
TOO_LONG = "The entered text is too long. It exceeds the allowed limit of {:,} characters."
RICH_TEXT_LIMIT = 32767  # JRASERVER-64351
TEXTFIELD_LIMIT = 255


@dataclass(slots=True)
class Context:
    """Who writes, through which API, to which project."""

    project: Project
    user: User
    adf: bool  # Cloud /rest/api/3: rich text is ADF
    find_user: Callable[[dict[str, Any]], User | None]


class FieldError(Exception):
    pass


def check(
    screen: dict[str, FieldDef], values: dict[str, Any], ctx: Context, *, complete: bool
) -> tuple[dict[str, Any], dict[str, str]]:
    """Normalised values to store, and errors keyed by field id (empty when all is well).

    `complete`: the request must carry every required field without a default (create and
    transition screens); an edit only may not blank one.
    """
    stored: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for fid, value in values.items():
        fdef = screen.get(fid)
        if fdef is None or fdef.kind in ("project", "issuetype"):  # the caller resolved these on create
            errors[fid] = NOT_ON_SCREEN.format(fid)
            continue
        try:
            stored[fid] = _normalise(fdef, value, ctx)
        except FieldError as e:
            errors[fid] = str(e)
    for fid, fdef in screen.items():
        if fdef.kind in ("project", "issuetype") or not fdef.required or fid in errors:
            continue
        missing = (fid not in values and complete and not fdef.has_default) or (
            fid in values and stored.get(fid) in (None, "", [])
        )
        if missing:
            errors[fid] = _required_message(fdef)
    return stored, errors


def _required_message(fdef: FieldDef) -> str:
    return "You must specify a summary of the issue." if fdef.id == "summary" else f"{fdef.name} is required."


def _normalise(fdef: FieldDef, value: Any, ctx: Context) -> Any:
    kind = fdef.kind
    if kind == "summary":
        return _summary(value)
    if kind in ("description", "textarea"):
        return _rich_text(value, ctx)
    if kind == "textfield":
        return _plain_text(value, TEXTFIELD_LIMIT)
    if kind == "priority":
        return _priority(value, ctx.project)
    if kind == "labels":
        return _labels(value)
    if kind == "select":
        return _option(value, fdef)
    if kind == "reporter":
        return _reporter(value, ctx)
    if kind == "resolution":
        return resolution(value)
    raise FieldError(NOT_ON_SCREEN.format(fdef.id))


def _summary(value: Any) -> str:
    if value is not None and not isinstance(value, str):
        raise FieldError(NOT_STRING)
    if not value or not value.strip():
        return ""  # reported as required
    if "\n" in value or "\r" in value:
        raise FieldError("The summary is invalid because it contains newline characters.")
    if len(value) > 255:
        raise FieldError("Summary must be less than 255 characters.")
    return value


def _rich_text(value: Any, ctx: Context) -> Any:
    if value is None:
        return None
    if ctx.adf:
        if not isinstance(value, dict) or validation.adf_error(value) is not None:
            raise FieldError(NOT_ADF)
    elif not isinstance(value, str):
        raise FieldError(NOT_STRING)
    if len(to_json(value)) > RICH_TEXT_LIMIT:
        raise FieldError(TOO_LONG.format(RICH_TEXT_LIMIT))
    return value


def to_json(value: Any) -> str:
    """What counts against Jira's size limits: the text, or the serialised ADF."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _plain_text(value: Any, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise FieldError(NOT_STRING)
    if len(value) > limit:
        raise FieldError(TOO_LONG.format(limit))
    return value


def _ref(value: Any, *names: str) -> tuple[str, str] | None:
    """(attribute, value) of an {"id": ...} / {"name": ...} reference, ids coerced to str."""
    if not isinstance(value, dict):
        return None
    for name in names:
        v = value.get(name)
        if isinstance(v, (str, int)) and not isinstance(v, bool):
            return name, str(v)
    return None


def _priority(value: Any, project: Project) -> dict[str, str]:
    ref = _ref(value, "id", "name")
    if ref is None:
        raise FieldError("Specify the Priority (id or name) in the string format")
    p = project.priority(id=ref[1]) if ref[0] == "id" else project.priority(name=ref[1])
    if p is None:
        raise FieldError("The priority selected is invalid.")
    return {"id": p.id, "name": p.name}


def _labels(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FieldError("data was not an array")
    for label in value:
        if not label or any(c.isspace() for c in label):
            raise FieldError(f"The label '{label}' contains spaces which is invalid.")
        if len(label) > 255:
            raise FieldError(f"The label '{label}' exceeds the maximum length for a single label of 255 characters.")
    return sorted(set(value))  # Jira keeps labels as a sorted set


def _option(value: Any, fdef: FieldDef) -> dict[str, str] | None:
    if value is None:
        return None
    ref = _ref(value, "id", "value")
    if ref is None:
        raise FieldError(f"Specify a valid 'id' or 'name' for {fdef.name}")
    for option in fdef.allowed:
        if option[ref[0]] == ref[1]:
            return dict(option)
    raise FieldError(f"Option {ref[0]} '{ref[1]}' is not valid")


def _reporter(value: Any, ctx: Context) -> User:
    if "MODIFY_REPORTER" not in ctx.user.permissions:
        raise FieldError("You do not have permission to modify the reporter.")
    user = ctx.find_user(value) if isinstance(value, dict) else None
    if user is None:
        raise FieldError("The reporter specified is not a user.")
    return user


def resolution(value: Any) -> dict[str, str]:
    ref = _ref(value, "id", "name")
    if ref is None:
        raise FieldError("Resolution is required.")
    for r in RESOLUTIONS:
        if r[ref[0]] == ref[1]:
            return dict(r)
    raise FieldError(f"The resolution {ref[0]} '{ref[1]}' is invalid.")


def values_from(body: Any, labels: list[str] | None) -> dict[str, Any]:
    """`fields` merged with the `update` operations Jira accepts (set; add/remove on labels)."""
    fields, update = (body.get("fields") or {}, body.get("update") or {}) if isinstance(body, dict) else (None, None)
    if not isinstance(fields, dict) or not isinstance(update, dict):
        raise JiraHTTPError(400, ["Can not deserialize the request body: 'fields' and 'update' must be JSON objects."])
    values = dict(fields)
    for fid, ops in update.items():
        if fid in values:
            raise JiraHTTPError(400, [], {fid: f"Field '{fid}' cannot be set in both 'fields' and 'update'."})
        for op in ops if isinstance(ops, list) else [None]:
            if not isinstance(op, dict) or len(op) != 1:
                raise JiraHTTPError(400, [f"Invalid update operation for field '{fid}'."])
            (verb, arg), = op.items()
            if verb == "set":
                values[fid] = arg
            elif fid == "labels" and verb in ("add", "remove"):
                current = list(values.get("labels", labels or []))
                values["labels"] = current + [arg] if verb == "add" else [x for x in current if x != arg]
            else:
                raise JiraHTTPError(400, [f"The Jira emulator does not support the '{verb}' operation on '{fid}'."])
    return values
