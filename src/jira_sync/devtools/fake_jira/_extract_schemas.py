"""Regenerate `schemas/openapi-subset.json` and `schemas/scopes.json` from the official Jira
Cloud OpenAPI spec.

The spec is 2.4 MB; the emulator needs only the component schemas of the request bodies
it validates (create/edit issue, transition, add comment, POST search/jql, changelog
bulkfetch) and of the responses its own tests check shapes against, plus the OAuth scopes
(`x-atlassian-oauth2-scopes`: "Current" = classic, "Beta" = granular) of the operations
it serves, which the gateway checks for scoped API tokens. Run:

    python -m jira_sync.devtools.fake_jira._extract_schemas path/to/jira-cloud-platform-openapi-v3.json
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOTS = [
    # request bodies validated on /rest/api/3
    "IssueUpdateDetails", "Comment", "SearchAndReconcileRequestBean",
    # response shapes the emulator's tests check against
    "CreatedIssue", "IssueBean", "ErrorCollection", "ServerInformation", "User",
    "PageBeanProject", "Project", "Permissions", "IssueTypeWithStatus",
    "PageOfCreateMetaIssueTypes", "PageOfCreateMetaIssueTypeWithField", "IssueCreateMetadata",
    "Transitions", "PageOfComments", "SearchAndReconcileResults",
    # changelog and comment properties
    "BulkChangelogRequestBean", "BulkChangelogResponseBean", "PageBeanChangelog", "PropertyKeys",
    "EntityProperty", "Comment",
]
# Operations whose scopes the gateway checks: the families the emulator serves.
SCOPE_PATHS = re.compile(r"^/rest/api/3/(serverInfo|myself|mypermissions|project|issue|comment|search|changelog)")
_REF = re.compile(r"#/components/schemas/([A-Za-z0-9_.-]+)")


def extract(spec: dict) -> dict:
    schemas = spec["components"]["schemas"]
    seen: set[str] = set()
    todo = list(ROOTS)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(_REF.findall(json.dumps(schemas[name])))
    return {
        "info": {"source": "Jira Cloud platform OpenAPI", "version": spec["info"]["version"]},
        "components": {"schemas": {n: schemas[n] for n in sorted(seen)}},
    }


def scopes(spec: dict) -> dict:
    """{"GET /rest/api/3/issue/{issueIdOrKey}": {"classic": [...], "granular": [...]}, ...}"""
    out: dict[str, dict] = {}
    for path, ops in spec["paths"].items():
        if not SCOPE_PATHS.match(path):
            continue
        for method, op in ops.items():
            if not isinstance(op, dict) or "x-atlassian-oauth2-scopes" not in op:
                continue
            by_state = {s.get("state"): s["scopes"] for s in op["x-atlassian-oauth2-scopes"]}
            out[f"{method.upper()} {path}"] = {"classic": by_state.get("Current"), "granular": by_state.get("Beta")}
    return {"info": {"source": "Jira Cloud platform OpenAPI, x-atlassian-oauth2-scopes",
                     "version": spec["info"]["version"]}, "operations": out}


def main(argv: list[str]) -> None:
    spec = json.loads(Path(argv[1]).read_text())
    folder = Path(__file__).parent / "schemas"
    for name, data in (("openapi-subset.json", extract(spec)), ("scopes.json", scopes(spec))):
        (folder / name).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        print(f"wrote {folder / name}")


if __name__ == "__main__":
    main(sys.argv)
