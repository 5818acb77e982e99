"""A Jira emulator: a real HTTP server with in-memory state, as strict as real Jira.

Used by tests, benchmarks and by hand (`jira-sync dev fake-jira`)::

    fake = FakeJira("cloud")                      # or FakeJira("server", "8.13.0")
    with FakeJiraServer(fake) as srv:             # srv.url == "http://127.0.0.1:<port>"
        ...                                       # talk HTTP to srv.url
        fake.issues_with_label("flashduty-42")    # assert on the final state

`fake.app` is a plain ASGI (Starlette) app too, e.g. for `httpx.ASGITransport`; only a
real server can drop a connection, so there "lost_response" raises into the client instead.
For load tests run it in another process (`run_forever`): in-process, the client and the
server share one GIL.

Flavours: "cloud" (/rest/api/2 and /3, deploymentType Cloud), "server" and "datacenter"
(/rest/api/2 only; /3 is a 404). `version` gates Server/DC features: PATs 8.14+, new
createmeta 8.4+, old createmeta gone in 9.0. `search_lag_s` (Cloud) hides issues younger
than that from search, as Cloud's eventually consistent index does.

Seeded users
------------
=========  =======================================  ==========================================
who        Cloud (Basic email:API token)             Server/DC (Basic username:password)
=========  =======================================  ==========================================
admin      admin@example.com : cloud-token           admin : secret; Bearer pat-token (8.14+)
           accountId 5b10ac8d82e05b22cc7d4ef5        key JIRAUSER10000
viewer     viewer@example.com : viewer-token         viewer : viewer; Bearer viewer-pat (8.14+)
           accountId 5b10ac8d82e05b22cc7d4ef6        key JIRAUSER10001
=========  =======================================  ==========================================

admin has every permission; viewer only BROWSE_PROJECTS (no CREATE_ISSUES, EDIT_ISSUES,
TRANSITION_ISSUES, ADD_COMMENTS). Cloud rejects passwords and usernames; Server answers
403 + `X-Authentication-Denied-Reason: CAPTCHA_CHALLENGE; login-url=...` after 3 failed
logins for a user (`clear_captcha()` plays the person who solves it).

Seeded projects (issue types are global: Task "10001", Bug "10002")
-------------------------------------------------------------------
OPS (id 10000)
    Task and Bug. Create screen: summary, description, priority (Highest 1, High 2,
    Medium 3 = default, Low 4, Lowest 5), labels, customfield_10050 "Incident ID"
    (textfield), customfield_10051 "Incident details" (textarea), customfield_10052 "Team"
    (single select: SRE 10100, Platform 10101, Database 10102), reporter.
    Simple workflow, any direction: To Do (new) / In Progress / Done; transitions
    11 "Back to To Do", 21 "Start Progress", 31 "Mark as Done" (no fields; sets resolution Done).
NOPRI (10001)
    Task; create screen has no priority (sending one is a 400). Simple workflow.
REQ (10002)
    Task with required customfield_10060 "Customer" (textfield, no default). Simple workflow.
FLOW (10003)
    Task. Open -11 "Start Triage"-> Triage -21 "Start Progress"-> In Progress -31 "Resolve"->
    Resolved -41 "Close"-> Closed; 12 "Back to Open" (Triage->Open), 22 "Stop Progress"
    (In Progress->Triage), 51 "Reopen" (Resolved/Closed->Open). "Resolve" requires
    `resolution` (Fixed 1, Won't Fix 2, Done 10000). Resolved and Closed are category done.
CN (10004)
    Task; statuses 待办 (new) / 处理中 (indeterminate) / 完成 (done), transitions
    11 退回待办, 21 开始处理, 31 标记完成; priorities 紧急 10000, 高 10001, 中 10002 (default), 低 10003.

Ids: issues from "10000", keys PROJECT-N; comments from "10000".

State and helpers (thread-safe; read state under `fake.lock` if you iterate `fake.issues`):
`issues`, `request_log` [(method, path, status|None)], `issue(id_or_key)`, `issue_by_key`,
`issues_with_label`, `count_requests(method, path_regex)`, `rename_project_key(old, new)`,
`set_status(id_or_key, name)`, `clear_captcha()`, `revoke_credentials(login)`, `reset()`,
and `faults` (see `Faults`: kinds "429", "503", "500", "timeout", "lost_response", "captcha").
An issue's rich text (`issue.fields["description"]`, `comment.body`) is kept as sent (ADF
dict or wiki string); `issue.description_text` / `comment.text` give plain text.
"""
from __future__ import annotations

from .faults import Fault, Faults
from .model import Comment, Issue
from .server import FakeJiraServer, run_forever
from .state import FakeJira

__all__ = ["Comment", "FakeJira", "FakeJiraServer", "Fault", "Faults", "Issue", "run_forever"]
