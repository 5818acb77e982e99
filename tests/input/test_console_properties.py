"""Property: the console's forms answer every input with a page (2xx, 3xx or 4xx), never a
5xx, and the log holds no traceback. Forms carry what browsers send: any text (a browser
replaces lone surrogates before sending), and raw percent-escapes of invalid UTF-8."""
from __future__ import annotations

import os
import re

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.conftest import form_fields
from input.conftest import Intake
from support.hostile import ODD_PIECES

EXAMPLES = max(20, int(os.environ.get("JIRA_SYNC_FUZZ_EXAMPLES", "150")) // 3)
FORMS = settings(max_examples=EXAMPLES, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
BROWSER_PIECES = [p for p in ODD_PIECES if not 0xD800 <= ord(p[0]) <= 0xDFFF]
form_text = st.one_of(
    st.text(max_size=30),
    st.lists(st.sampled_from(BROWSER_PIECES) | st.text(max_size=3), max_size=6).map("".join),
    st.sampled_from(["", "1", "0", "-1", "9223372036854775808", "cloud", "server", "basic", "pat", "é漢字"]),
    st.integers(min_value=300, max_value=20_000).map(lambda n: "é" * n),
)
short_text = st.one_of(form_text.filter(lambda t: len(t) < 300), st.just("é" * 1500))  # what fits in a URL
RAW_ESCAPES = st.sampled_from([b"%ED%A0%80", b"%00", b"%FF%FE", b"%C3", b"%E6%BC", b"%0A%0D", b"%25", b"%"])


def assert_clean(intake: Intake, response: httpx.Response, mark: int) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:300])
    assert intake.log.tracebacks(mark) == []


@FORMS
@given(fields=st.dictionaries(st.sampled_from(["username", "password", "login_csrf", "next"]), form_text),
       same_cookie=st.booleans())
def test_the_sign_in_form_answers_every_input_cleanly(intake: Intake, fields, same_cookie):
    mark = intake.log.mark()
    with httpx.Client(base_url=intake.url) as browser:
        page = browser.get("/console/login")
        token = re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        if same_cookie:
            fields = {**fields, "login_csrf": token}
        r = browser.post("/console/login", data=fields)
    assert_clean(intake, r, mark)
    assert r.status_code in (303, 400, 401, 429)


@FORMS
@given(values=st.fixed_dictionaries({}, optional={
    "platform": form_text, "auth": form_text, "username": form_text, "secret": form_text, "verify_tls": form_text,
    "ca_bundle": form_text,
    "url": st.one_of(form_text, st.sampled_from(["JIRA", "http://127.0.0.1:1"]).flatmap(
        lambda base: form_text.map(lambda tail: base + tail)))}))
def test_setup_step_1_answers_every_input_cleanly(intake: Intake, values):
    mark = intake.log.mark()
    c = intake.console
    c.get("/console/integrations/new")
    if values.get("url", "").startswith("JIRA"):
        values["url"] = intake.stack.jira_url + values["url"][4:]
    r = c.post("/console/integrations/new", values)
    assert_clean(intake, r, mark)


@FORMS
@given(changes=st.dictionaries(st.sampled_from(["name", "trigger", "project", "issue_type", "channels", "action",
                                                "severity_map.Critical", "status_map.triggered", "field_map.0.target",
                                                "field_map.0.source", "cond.0.0.key", "cond.0.0.oper",
                                                "cond.0.0.vals", "sample"]), form_text, max_size=5),
       action=st.sampled_from(["refresh", "preview", "save", "check", form_text]))
def test_setup_step_2_answers_every_input_cleanly(intake: Intake, changes, action):
    mark = intake.log.mark()
    c = intake.console
    c.get("/console/integrations/new")
    step2 = c.post("/console/integrations/new", {"platform": "cloud", "url": intake.stack.jira_url, "auth": "basic",
                                                 "username": "admin@example.com", "secret": "cloud-token",
                                                 "verify_tls": "1"})
    assert step2.status_code == 200
    fields = {**form_fields(step2.text, "setup"), **changes, "action": action if isinstance(action, str) else "save"}
    r = c.http.post("/console/integrations/setup", data=fields)
    assert_clean(intake, r, mark)
    r = c.http.post("/console/integrations/setup", data={**fields, "action": "search_projects"},
                    headers={"X-Console-Partial": "1", "X-Console-Target": "#project-matches"})
    assert_clean(intake, r, mark)


@FORMS
@given(params=st.dictionaries(st.sampled_from(["state", "q", "before", "notice", "error"]), short_text, max_size=4),
       raw=RAW_ESCAPES)
def test_incident_lists_and_pages_answer_every_query_cleanly(intake: Intake, params, raw):
    mark = intake.log.mark()
    c = intake.console
    base = f"/console/integrations/{intake.integration_id}"
    assert_clean(intake, c.get(base, params=params), mark)
    assert_clean(intake, c.get(f"{base}/incidents/{raw.decode()}x"), mark)
    assert_clean(intake, c.get(f"{base}?q={raw.decode()}&before={raw.decode()}"), mark)


@FORMS
@given(raw=st.lists(RAW_ESCAPES | st.binary(max_size=6), max_size=6).map(b"".join),
       name=st.sampled_from(["username", "csrf_token", "secret", "url", "next"]))
def test_raw_invalid_utf8_in_any_form_is_answered_cleanly(intake: Intake, raw, name):
    mark = intake.log.mark()
    c = intake.console
    c.get("/console/")
    body = b"csrf_token=" + c.csrf().encode() + b"&" + name.encode() + b"=" + raw
    for path in ("/console/login", "/console/integrations/new",
                 f"/console/integrations/{intake.integration_id}/disable"):
        r = c.http.post(path, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert_clean(intake, r, mark)
    c.http.post(f"/console/integrations/{intake.integration_id}/enable",
                data={"csrf_token": c.csrf()})  # as it was
