"""The two setup steps: sign in to Jira (step 1), then configure and save (step 2).

Between the steps the Jira connection, secret included, travels in the form as a Fernet
token sealed with the server's key (`conn_token`): the browser cannot read or alter it,
nothing half-made is stored, and it expires after two hours. Step 2 is one form posted
back for every action (its fields: `setup_form.py`). What Jira says about the chosen project
(`setup_jira.py`) is asked when a project or issue type is chosen or "Load project" is
pressed, and kept a few minutes for the form's other actions.
"""
from __future__ import annotations

import json
import logging
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from ..app.accounts import SignedIn
from ..app.errors import CheckFailed, Conflict, Invalid, JiraFailed, JiraRefused
from ..app.models import RowId
from ..bootstrap import Runtime
from ..domain.conditions import ConditionError
from ..domain.integration import IntegrationConfig, JiraConnection, JiraPlatform
from ..jira.port import JiraError, JiraPort
from ..setup.preview import build_preview, create_test_issue, parse_sample, sample_text
from .auth import checked_form, signed_in
from .secret_flash import NewSecret, connect_path, remember
from .setup_errors import by_field, config_message, field_id, field_label, step1_field
from .setup_form import CONDITION_KEYS, FIELD_SOURCES, PROGRESSES, SEVERITIES, SetupForm
from .setup_jira import Loaded, fill_defaults, load, match_result, meta_for
from .templating import is_partial, render, runtime

log = logging.getLogger(__name__)
router = APIRouter(prefix="/console", include_in_schema=False)
User = Annotated[SignedIn, Depends(signed_in)]
CONN_TOKEN_TTL = 2 * 3600
BLANK_CONNECTION = {"platform": "cloud", "url": "", "auth": "basic", "username": "", "verify_tls": True}
PROBLEM_TITLES = {
    "unreachable": "Jira cannot be reached",
    "timeout": "Jira did not answer in time",
    "tls": "The TLS connection failed",
    "not_jira": "This address is not a Jira",
    "wrong_platform": "Wrong platform type",
    "bad_credentials": "Jira refused the credentials",
    "token_expired_or_revoked": "The token has expired or was revoked",
    "captcha_required": "Jira requires a CAPTCHA",
    "forbidden": "The account is not allowed in",
    "invalid": "Some fields need fixing",
}


# ------------------------------------------------------------------ the sealed connection
def seal(rt: Runtime, conn: JiraConnection) -> str:
    data = conn.model_dump(mode="json")
    data["secret"] = conn.secret.get_secret_value()
    return rt.box.encrypt(json.dumps(data))


def unseal(rt: Runtime, token: str) -> JiraConnection | None:
    try:
        return JiraConnection.model_validate_json(rt.box.decrypt(token, ttl=CONN_TOKEN_TTL))
    except (ValueError, ValidationError):
        return None


def describe(conn: JiraConnection) -> str:
    platform = "Jira Cloud" if conn.platform is JiraPlatform.CLOUD else "Jira Server / Data Center"
    who = f" as {conn.username}" if conn.username else " with a personal access token"
    return f"{platform} at {conn.url}{who}."


# ------------------------------------------------------------------ step 1
def _connection_form(form: Any, stored: JiraConnection | None) -> dict[str, Any]:
    def text(name: str) -> str:
        value = form.get(name)
        return value.strip() if isinstance(value, str) else ""

    return {
        "platform": text("platform") or "cloud",
        "url": text("url"),
        "auth": text("auth") or "basic",
        "username": text("username"),
        "secret": text("secret") or (stored.secret.get_secret_value() if stored else ""),
        "verify_tls": form.get("verify_tls") == "1",
        "ca_bundle": text("ca_bundle") or None,
    }


def _step1(request: Request, values: dict[str, Any], *, integration_id: int | None = None, name: str = "",
           result: Any = None, errors: list[Any] | None = None, status: int = 200) -> Response:
    shown = {k: v for k, v in values.items() if k != "secret"}  # a secret is never sent back to the browser
    errors = [e if isinstance(e, tuple) else (None, e) for e in errors or []]
    action = f"/console/integrations/{integration_id}/edit/connection" if integration_id else "/console/integrations/new"
    cancel = f"/console/integrations/{integration_id}" if integration_id else "/console/"
    return render(request, "setup_connection.html", status, f=shown, integration_id=integration_id,
                  integration_name=name, result=result, errors=errors, field_errors=by_field(errors), action=action,
                  cancel_url=cancel,
                  problem_titles=PROBLEM_TITLES)


@router.get("/integrations/new")
async def new_integration(request: Request, user: User) -> Response:
    return _step1(request, BLANK_CONNECTION)


@router.get("/integrations/{integration_id}/edit/connection")
async def edit_connection(request: Request, user: User, integration_id: RowId) -> Response:
    stored = await runtime(request).integrations.get(integration_id)
    values = stored.config.jira.model_dump(mode="json", exclude={"secret"})
    return _step1(request, values, integration_id=integration_id, name=stored.config.name)


@router.post("/integrations/new")
async def check_new_connection(request: Request, user: User) -> Response:
    return await _check_connection(request, user, None)


@router.post("/integrations/{integration_id}/edit/connection")
async def check_edited_connection(request: Request, user: User, integration_id: RowId) -> Response:
    return await _check_connection(request, user, integration_id)


async def _check_connection(request: Request, user: SignedIn, integration_id: int | None) -> Response:
    form = await checked_form(request, user)
    rt = runtime(request)
    stored = await rt.integrations.get(integration_id) if integration_id else None
    values = _connection_form(form, stored.config.jira if stored else None)
    name = stored.config.name if stored else ""
    try:
        conn = JiraConnection.model_validate(values)
    except ValidationError as exc:
        errors = [(step1_field(e["loc"], e["msg"]), f"{field_label(e['loc'])}{e['msg'].removeprefix('Value error, ')}")
                  for e in exc.errors()]
        return _step1(request, values, integration_id=integration_id, name=name, errors=errors, status=422)
    reused = stored is not None and not str(form.get("secret") or "").strip() and conn == stored.config.jira
    result = await rt.lookups.check(conn, worked_before=reused and stored is not None and stored.jira_meta.checked)
    if not result.ok:
        log.info("console: Jira connection check for %s failed: %s", conn.url, result.problem)
        return _step1(request, values, integration_id=integration_id, name=name, result=result, status=422)
    if stored is not None:
        f = SetupForm.from_config(stored.id, stored.config, stored.jira_meta, seal(rt, conn))
    else:
        f = SetupForm(conn_token=seal(rt, conn))
    f.sample = sample_text()
    return await _step2(request, rt, f, conn, "load", connection_note=result.message)


# ------------------------------------------------------------------ step 2
@router.get("/integrations/{integration_id}/edit")
async def edit_integration(request: Request, user: User, integration_id: RowId) -> Response:
    rt = runtime(request)
    stored = await rt.integrations.get(integration_id)
    f = SetupForm.from_config(stored.id, stored.config, stored.jira_meta, seal(rt, stored.config.jira))
    f.sample = sample_text()
    return await _step2(request, rt, f, stored.config.jira, "load")


@router.get("/integrations/setup")
async def configure_without_form(user: User) -> Response:
    # the configuration step only exists as a form post (it carries the sealed connection)
    return RedirectResponse("/console/integrations/new", status_code=303)


@router.post("/integrations/setup")
async def configure(request: Request, user: User) -> Response:
    form = await checked_form(request, user)
    rt = runtime(request)
    f = SetupForm.parse(form)
    conn = unseal(rt, f.conn_token)
    if conn is None:
        return _step1(request, BLANK_CONNECTION, integration_id=f.integration_id, status=400,
                      errors=["The setup form expired (after two hours) or was altered: sign in to Jira again."])
    action = str(form.get("action") or "load")
    target = request.headers.get("x-console-target") if is_partial(request) else None
    if action == "match":
        match = match_result(f)
        if target == "#match-result":
            return render(request, "_match.html", match=match, fragment=True)
        return await _step2(request, rt, f, conn, action, match=match)
    if action == "search_projects" and target == "#project-matches":
        return await _project_matches(request, rt, conn, f.project)
    if action.startswith("pick_project:"):
        f.project = action.split(":", 1)[1]
    f.apply_edit(action)
    return await _step2(request, rt, f, conn, action, loaded_for=str(form.get("loaded_for") or ""))


async def _project_matches(request: Request, rt: Runtime, conn: JiraConnection, query: str) -> Response:
    """The type-ahead: projects whose key or name contains what was typed, searched by Jira
    (sites with thousands of projects never send them all), as the same buttons the page shows."""
    try:
        found = await rt.lookups.projects(conn, query, 50)
    except JiraFailed as exc:  # Jira refusing the query is the query's fault (422); Jira failing is 502
        return render(request, "_projects.html", 422 if isinstance(exc, JiraRefused) else 502, project_matches=[],
                      project_error=exc.message)
    return render(request, "_projects.html", project_matches=found, project_query=query.strip())


async def _step2(request: Request, rt: Runtime, f: SetupForm, conn: JiraConnection, action: str, *,
                 match: dict[str, Any] | None = None, loaded_for: str = "", connection_note: str = "") -> Response:
    ctx: dict[str, Any] = {"errors": [], "preview": None, "preview_error": None, "test_issue": None}
    async with rt.integrations.jira(conn) as jira:
        try:
            loaded = await load(jira, f, rt.setup_answers, account=conn.account_key,
                                search=action == "search_projects",
                                fresh=action == "load" or action.startswith("pick_project:"))
        except JiraError as exc:
            loaded = Loaded(error=f"Jira answered: {exc.message}")
        now_for = f"{f.project}/{f.issue_type}"
        # defaults for a project / issue type chosen just now; a saved integration's own
        # choices are kept when its form first opens (loaded_for is empty then)
        fill_defaults(f, loaded, first_load=now_for != loaded_for and (f.integration_id is None or bool(loaded_for)))
        if action in ("preview", "test_issue", "save") and loaded.screen is not None:
            await _act(request, rt, jira, f, conn, loaded, action, ctx)
            if isinstance(ctx.get("response"), Response):
                return ctx["response"]
    screen = loaded.screen
    prio = screen.priorities() if screen else {"available": False, "priorities": [], "reason": None}
    text_fields = screen.text_fields() if screen else []
    try:
        sample_keys = sorted({f"labels.{k}" for k in parse_sample(f.sample).labels})
    except ValueError:
        sample_keys = []
    if action == "search_projects" and loaded.project is None:
        loaded.error = None  # what was typed is a search, not a project that failed to load
    match = match if match is not None else match_result(f)
    errors: list[tuple[str | None, str]] = ctx.pop("errors")
    field_errors = by_field(errors)
    if match.get("channels_error") and "channels" not in field_errors:
        field_errors["channels"] = match["channels_error"]
    issue_type_name = next((t["name"] for t in loaded.issue_types if t["id"] == f.issue_type), f.issue_type)
    context = dict(
        f=f, action="/console/integrations/setup", back_url=_back_url(f), connection_summary=connection_note or describe(conn),
        project=loaded.project, project_matches=loaded.project_matches,
        project_query=f.project if action == "search_projects" else "", issue_types=loaded.issue_types,
        issue_type_name=issue_type_name, screen_loaded=screen is not None, priorities=prio, text_fields=text_fields,
        text_field_ids={t["id"] for t in text_fields}, required_gaps=_required_gaps(f, loaded),
        statuses=(loaded.statuses or {}).get("statuses", []), status_language=(loaded.statuses or {}).get("language"),
        meta_error=loaded.error, match=match, severities=SEVERITIES,
        progresses=PROGRESSES, field_sources=FIELD_SOURCES, condition_keys=CONDITION_KEYS, sample_keys=sample_keys,
        loaded_for=f"{f.project}/{f.issue_type}", errors=errors, field_errors=field_errors,
        **await _channel_picker(rt, f), **ctx,
    )
    status = 422 if errors else 200
    target = request.headers.get("x-console-target") if is_partial(request) else None
    if target == "#preview":
        return render(request, "_preview.html", status, fragment=True, **context)
    if target == "#required-fields":
        return render(request, "_required.html", status, **context)
    return render(request, "setup_configure.html", status, **context)


def _required_gaps(f: SetupForm, loaded: Loaded) -> list[dict[str, Any]]:
    """Required fields the form's mappings would leave empty, for the box under the mappings."""
    if loaded.screen is None:
        return []
    return loaded.screen.required_gaps(f.mappings(), priority_mapped=bool(f.severity))


async def _channel_picker(rt: Runtime, f: SetupForm) -> dict[str, Any]:
    """Channels seen on recent incidents (this integration's, or any for a new one: Flashduty's
    Open API lists no channels), ticked when chosen; the typed box keeps the other ids."""
    seen = await rt.integrations.seen_channels(f.integration_id)
    seen_ids = {c["id"] for c in seen}
    try:
        chosen = f.channel_ids()
    except ValueError:  # shown at the field: keep what was typed as it was
        return {"seen_channels": seen, "picked_channels": {int(p) for p in f.channel_picks}, "typed_channels": f.channels}
    typed = ", ".join(str(c) for c in chosen if c not in seen_ids)
    return {"seen_channels": seen, "picked_channels": set(chosen), "typed_channels": typed}


def _who(request: Request) -> str:
    user = getattr(request.state, "user", None)
    return user.username if user else "?"


def _back_url(f: SetupForm) -> str:
    return f"/console/integrations/{f.integration_id}/edit/connection" if f.integration_id else "/console/integrations/new"


async def _act(request: Request, rt: Runtime, jira: JiraPort, f: SetupForm, conn: JiraConnection, loaded: Loaded, action: str,
               ctx: dict[str, Any]) -> None:
    """Preview, create a test issue, or save: `ctx` gets what to show (or a `response`)."""
    problems = f.problems()
    if problems:
        ctx["errors"] += problems
        return
    data = f.config_data(conn, f.flashduty_key or None)
    if action != "save":
        data["name"] = data["name"] or "preview"
    try:
        cfg = IntegrationConfig.model_validate(data)
    except ValidationError as exc:
        ctx["errors"] += [(field_id(e["loc"], f), config_message(e)) for e in exc.errors()]
        return
    if action == "save":
        await _save(request, rt, f, cfg, ctx)
        return
    assert loaded.screen is not None
    meta = meta_for(loaded, f)
    try:
        snap = parse_sample(f.sample)
    except ValueError as exc:
        ctx["preview_error"] = str(exc)
        return
    fields = {t["id"]: t["name"] for t in loaded.screen.text_fields()}
    required = frozenset(r["id"] for r in loaded.screen.unfilled_required(set(), priority_mapped=False))
    ctx["preview"] = build_preview(cfg, meta, snap, field_names=fields, required=required)
    status = (loaded.statuses or {}).get("defaults", {})
    ctx["preview_status"] = f.statuses.get(snap.progress.lower()) or status.get(snap.progress.lower()) or "(Jira's initial status)"
    if action == "test_issue":
        try:
            ref = await create_test_issue(jira, cfg, meta, snap)
        except JiraError as exc:
            ctx["preview_error"] = f"Jira refused the test issue: {exc.message}"
            return
        ctx["test_issue"] = {"key": ref.key, "url": f"{conn.url}/browse/{ref.key}"}


async def _save(request: Request, rt: Runtime, f: SetupForm, cfg: Any, ctx: dict[str, Any]) -> None:
    try:
        if f.integration_id is None:
            saved = await rt.integrations.create(cfg)
            log.info("console: %s created integration %d (%s)", _who(request), saved.id, cfg.name)
        else:
            # python mode keeps the secrets as SecretStr; an app key left empty (None) keeps the
            # stored one; enabling has its own button
            changes = cfg.model_dump(mode="python", exclude={"enabled"})
            saved = await rt.integrations.update(f.integration_id, changes)
            log.info("console: %s changed integration %d (%s)", _who(request), saved.id, cfg.name)
    except CheckFailed as exc:
        where = exc.report.where
        ctx["errors"] += [(field_id(where[e], f) if e in where else None, e) for e in exc.report.errors]
        return
    except Conflict as exc:  # the name is taken
        ctx["errors"].append(("name", str(exc)))
        return
    except ConditionError as exc:
        ctx["errors"].append(("conditions", str(exc)))
        return
    except Invalid as exc:
        ctx["errors"].append((None, str(exc)))
        return
    if f.integration_id is not None:
        notice = "Saved. " + " ".join(saved.check.warnings)
        ctx["response"] = RedirectResponse(f"/console/integrations/{saved.id}?{urlencode({'notice': notice.strip()})}", 303)
        return
    # POST -> redirect -> GET: a refresh of the next page shows the secret again instead of
    # posting the form again (secret_flash.py)
    response = RedirectResponse(connect_path(saved.id), 303)
    user = request.state.user
    remember(request, response, user, saved.id, NewSecret(saved.webhook.secret or "", "save", saved.check.warnings))
    ctx["response"] = response
