"""Every console page: labelled fields, one h1, a main landmark, no inline script (CSP)."""
from __future__ import annotations

from html.parser import HTMLParser

from e2e.conftest import Stack, wait_until

from .conftest import Console, start_setup, step2


class Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.label_depth = 0
        self.h1 = 0
        self.main = 0
        self.inline_scripts = 0
        self.inline_handlers: list[str] = []
        self.lang = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if tag == "label":
            self.label_depth += 1
            if a.get("for"):
                self.label_for.add(a["for"] or "")
        if tag in ("input", "select", "textarea"):
            if a.get("type") not in ("hidden", "submit", "button"):
                self.fields.append({**a, "_wrapped": "1" if self.label_depth else None, "_tag": tag})
        if tag == "h1":
            self.h1 += 1
        if tag == "main":
            self.main += 1
        if tag == "script" and not a.get("src"):
            self.inline_scripts += 1
        self.inline_handlers += [k for k in a if k.startswith("on")]

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.label_depth -= 1


def check_page(html_text: str, what: str) -> None:
    m = Markup()
    m.feed(html_text)
    assert m.lang == "en", what
    assert m.h1 == 1 and m.main == 1, what
    assert m.inline_scripts == 0 and not m.inline_handlers, what  # the CSP forbids them
    unlabelled = [f for f in m.fields
                  if not f["_wrapped"] and not f.get("aria-label") and (f.get("id") or "") not in m.label_for]
    assert not unlabelled, f"{what}: fields without a label: {unlabelled}"


def test_every_page_is_labelled_and_has_no_inline_script(cloud_console: Stack) -> None:
    c = Console(cloud_console.service)
    check_page(c.get("/console/login").text, "sign-in")
    c.sign_in()
    check_page(c.last.text, "integrations, empty")  # type: ignore[union-attr]
    check_page(c.get("/console/integrations/new").text, "step 1")
    start_setup(c, cloud_console)
    check_page(c.last.text, "step 2")  # type: ignore[union-attr]
    step2(c, "pick_project:OPS", name="markup")
    step2(c, "add_group")
    step2(c, "add_field")
    check_page(step2(c, "preview").text, "step 2 with a condition, a field mapping and a preview")
    check_page(step2(c, "save").text, "saved")
    integration_id, hook = cloud_console.integration()
    new = cloud_console.flashduty.open_incident()
    cloud_console.send(hook, new)
    incident_id = new["incident"]["incident_id"]
    wait_until(lambda: cloud_console.jira.issues_with_label(f"flashduty-{incident_id}"), what="synced")
    check_page(c.get("/console/").text, "integrations")
    check_page(c.get(f"/console/integrations/{integration_id}").text, "integration")
    check_page(c.get(f"/console/integrations/{integration_id}/incidents/{incident_id}").text, "incident")
    check_page(c.get(f"/console/integrations/{integration_id}/delete").text, "delete")
    missing = c.get("/console/integrations/999")
    assert missing.status_code == 404
    check_page(missing.text, "not found")
    c.close()
