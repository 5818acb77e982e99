"""Regenerate `schemas/openapi-subset.json` from the official Jira Cloud OpenAPI spec.

The spec is 2.4 MB; the emulator needs only the component schemas of the request bodies
it validates (create/edit issue, transition, add comment, POST search/jql) and of the
responses its own tests check shapes against. Run:

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
]
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


def main(argv: list[str]) -> None:
    spec = json.loads(Path(argv[1]).read_text())
    out = Path(__file__).parent / "schemas" / "openapi-subset.json"
    out.write_text(json.dumps(extract(spec), indent=1, sort_keys=True) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv)
