"""A Jira emulator: a real HTTP server with in-memory state, as strict as real Jira.

Used by tests, benchmarks and by hand (`jira-sync dev fake-jira`)::

    fake = FakeJira("cloud")                      # or FakeJira("server", "8.13.0")
    with FakeJiraServer(fake) as srv:             # srv.url == "http://127.0.0.1:<port>"
        ...                                       # talk HTTP to srv.url
        fake.issues_with_label("flashduty-42")    # assert on the final state

`fake.app` is a plain ASGI (Starlette) app too, e.g. for `httpx.ASGITransport`; only a
real server can drop a connection, so there "lost_response"/"reset" raise into the client instead.
For load tests run it in another process (`run_forever`): in-process, the client and the
server share one GIL.

Flavours: "cloud" (/rest/api/2 and /3, deploymentType Cloud), "server" and "datacenter"
(/rest/api/2 only; /3 is a 404). `version` gates Server/DC features: PATs 8.14+, new
createmeta 8.4+, old createmeta gone in 9.0, signed webhooks 10.0+.

Seeded users
------------
=============  =============================================  ======================================
who            Cloud (Basic email:API token)                   Server/DC (Basic username:password)
=============  =============================================  ======================================
admin          admin@example.com : cloud-token                 admin : secret; Bearer pat-token (8.14+)
               accountId 5b10ac8d82e05b22cc7d4ef5              key JIRAUSER10000
viewer         viewer@example.com : viewer-token               viewer : viewer; Bearer viewer-pat
               accountId 5b10ac8d82e05b22cc7d4ef6              key JIRAUSER10001
alice          alice@example.com : alice-token                 alice : alice; Bearer alice-pat
               accountId 5b10ac8d82e05b22cc7d4ef7              key JIRAUSER10002
svc-jira-sync  svc-jira-sync@serviceaccount.atlassian.com :    (Cloud only)
               svc-token, scoped: read:jira-work write:jira-work read:jira-user manage:jira-webhook
svc-readonly   svc-readonly@serviceaccount.atlassian.com :     (Cloud only)
               svc-readonly-token, scoped: read:jira-work read:jira-user
=============  =============================================  ======================================

admin is a Jira administrator (admin webhooks) with every project permission; alice and the
service accounts have every project permission but are not administrators; viewer only
BROWSE_PROJECTS (no CREATE_ISSUES, EDIT_ISSUES, TRANSITION_ISSUES, ADD_COMMENTS, comment
edits). Service accounts (accountType "app") have scoped tokens: refused (401) at the site
URL, accepted through the gateway `/ex/jira/{cloudId}/...` within their scopes (gateway.py).
Cloud rejects passwords and usernames; Server answers 403 +
`X-Authentication-Denied-Reason: CAPTCHA_CHALLENGE; login-url=...` after 3 failed logins
for a user (`clear_captcha()` plays the person who solves it).

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

Ids: issues from "10000", keys PROJECT-N (numbers are not reused after a delete); comments
from "10000"; change groups from "10000"; webhooks from 1. `fake.cloud_id` is a random UUID.

Settings (plain attributes, read on every use: change them at any time, from any thread;
`reset()` restores the values the site was built with)
-----------------------------------------------------------------------------------------
search_lag_s                Cloud search sees the site as it was that many seconds ago: new issues
                            are missing, changed labels/status/updated match by their old values
                            (index.py). `reconcileIssues` ids on /search/jql are exempt. Server: none.
comment_properties_in_list  False (default): the comment list, single comment and create answer never
                            carry `properties` (expand=properties is not in the Cloud spec). True: the
                            emulator's old behaviour (also env FAKE_JIRA_COMMENT_PROPERTIES_IN_LIST=1).
clock_offset_s              Shifts the site's clock (created/updated/changelog/JQL dates/webhook
                            timestamps); `fake.now()` reads it. Time zone: UTC for everything.
missing                     Named endpoint kinds answering 404 (missing.KINDS: mypermissions,
                            issue_by_id, search_jql, changelog, changelog_bulkfetch, comment_properties,
                            new_createmeta, project_search, webhooks, tenant_info, delete_issue);
                            assign a set. `add_missing(path_regex, method=None)` adds any rule.
drop_webhooks               True: each webhook delivery is lost (logged as dropped, never retried).
webhook_retry_delays        Cloud's retry schedule in seconds (default 10, 20, ... 640: ~21 min).
webhook_timeout_s           How long a delivery waits for the receiver (default 20 s).
latency_s                   Every request waits this long before it is handled (default 0): a Jira
                            across a network, where a call takes 50-500 ms (`dev fake-jira --latency-ms`).

State and helpers (thread-safe; read state under `fake.lock` if you iterate `fake.issues`)
------------------------------------------------------------------------------------------
`issues`, `request_log` [(method, path, status|None)], `issue(id_or_key)`, `issue_by_key`,
`issues_with_label`, `count_requests(method, path_regex)`, `user(login)`, `rename_project_key(old, new)`,
`set_status(id_or_key, name, by="alice")` (outside the workflow; recorded and sent as alice's
change), `delete_issue(id_or_key, by="admin")` (then every call on it answers 404
`{"errorMessages":["Issue does not exist or you do not have permission to see it."],"errors":{}}`),
`act_as(login)` -> a person (people.Actor: `create`, `transition(issue, name_or_status)`, `comment`,
`edit_comment`, `delete_comment`, `edit(**fields)`, `set_priority`, `set_labels`, `add_label`,
`delete`; checked like the API, recorded with that author, sent to webhooks),
`clear_captcha()`, `revoke_credentials(login)`, `expire_token(login)` (Cloud API token / Server
PAT: 401 like a wrong token), `set_token(login, token, scopes=None)` (a new token; scopes make
it a scoped Cloud token), `add_webhook(url, events, jql=, secret=, exclude_body=)`, `webhooks`,
`webhook_deliveries` (delivery.Delivery: webhook_id, url, event, identifier, attempt, status,
error, dropped, body, headers, payload), `wait_for_webhooks(timeout)`, `close()` (stops webhook
threads), `reset()`, and `faults` (see `Faults`: kinds "429", "503", "500", "timeout",
"lost_response", "reset", "captcha", "slow"). `FakeJiraServer.down(seconds=None)` / `up()`:
the whole site refuses connections, then listens again at the same URL.

Endpoints beyond the basics: DELETE /issue/{id}; GET|PUT|DELETE /issue/{id}/comment/{cid};
GET /comment/{cid}/properties, GET|PUT|DELETE /comment/{cid}/properties/{key}; GET
/issue/{id}/changelog and POST /changelog/bulkfetch (Cloud; Server/DC 404 as 9.x does);
`expand=changelog` on GET issue, /search (Server) and /search/jql (Cloud); JQL `updated`/`created`
comparisons and `issue in (...)` (jql.py); /rest/webhooks/1.0/webhook[/{id}] (webhooks.py);
GET /_edge/tenant_info and the /ex/jira/{cloudId} gateway (Cloud, gateway.py).

Every change (by anyone, the API user included) bumps `updated`, appends a change group to
`issue.changelog` for field and status changes (changelog.py), re-indexes the issue for
search, and is sent to matching admin webhooks in the background (webhooks.py, delivery.py).
Each module's docstring says what is documented by Atlassian and what is inferred.
An issue's rich text (`issue.fields["description"]`, `comment.body`) is kept as sent (ADF
dict or wiki string); `issue.description_text` / `comment.text` give plain text.
"""
from __future__ import annotations

from .delivery import Delivery
from .faults import Fault, Faults
from .model import ChangeGroup, ChangeItem, Comment, Issue, JiraHTTPError
from .people import Actor
from .server import FakeJiraServer, run_forever
from .state import FakeJira
from .webhooks import Webhook

__all__ = ["Actor", "ChangeGroup", "ChangeItem", "Comment", "Delivery", "FakeJira", "FakeJiraServer", "Fault",
           "Faults", "Issue", "JiraHTTPError", "Webhook", "run_forever"]
