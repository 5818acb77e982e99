"""The schema. SQLAlchemy Core tables; Alembic migrations in `store/migrations` create them.

Times are unix seconds as floats (REAL / double precision) so SQLite and PostgreSQL
compare them the same way.
"""
from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

integrations = sa.Table(
    "integrations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False, default=True),
    # IntegrationConfig without its secrets (jira.secret, flashduty.app_key)
    sa.Column("config", sa.JSON, nullable=False),
    sa.Column("jira_secret_enc", sa.Text, nullable=False),
    sa.Column("flashduty_app_key_enc", sa.Text, nullable=True),
    sa.Column("webhook_secret_hash", sa.String(64), nullable=False),
    # the secret before the last rotation, accepted until `previous_secret_until` (SECRET_GRACE_HOURS)
    # so that a rotation does not drop Flashduty's deliveries before its header is changed
    sa.Column("previous_secret_hash", sa.String(64), nullable=True),
    sa.Column("previous_secret_until", sa.Float, nullable=True),
    # two-way sync: the secret of Jira's admin webhook (HMAC key of X-Hub-Signature, or the URL's
    # ?secret= on Server/DC 7.x-8.x), encrypted: verifying a signature needs the secret itself
    sa.Column("jira_webhook_secret_enc", sa.Text, nullable=True),
    # what the last check learned from Jira: priority ids, text field kinds, statuses...
    sa.Column("jira_meta", sa.JSON, nullable=False, default=dict),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

# Incidents linked to a Jira issue, per integration, kept by the worker in the transaction
# that records each first link: list pages add up a few rows instead of counting 100k. Sharded
# by incident row (id % LINK_SHARDS): as one counter on the integration's row, every worker's
# link waited for the one before it to commit (measured under a storm on PostgreSQL, most of
# the workers' time went to that row lock).
LINK_SHARDS = 16
link_counts = sa.Table(
    "link_counts",
    metadata,
    sa.Column("integration_id", sa.Integer, sa.ForeignKey("integrations.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("shard", sa.Integer, primary_key=True),
    sa.Column("linked", sa.Integer, nullable=False),
)

# Every delivery accepted, once: the unique key is what makes a redelivery a no-op.
events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("integration_id", sa.Integer, sa.ForeignKey("integrations.id", ondelete="CASCADE"), nullable=False),
    sa.Column("event_id", sa.String(128), nullable=False),
    sa.Column("incident_id", sa.String(128), nullable=False),
    sa.Column("event_type", sa.String(32), nullable=False),
    sa.Column("event_time", sa.BigInteger, nullable=False),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Column("outcome", sa.String(32), nullable=False),  # queued | stored | stale | ...
    sa.UniqueConstraint("integration_id", "event_id", name="uq_events_integration_event"),
    sa.Index("ix_events_incident", "integration_id", "incident_id", "id"),
    sa.Index("ix_events_received", "integration_id", "received_at"),  # last event; retention
)

# One row per integration x incident: the latest snapshot, the queue entry, and the Jira link.
incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("integration_id", sa.Integer, sa.ForeignKey("integrations.id", ondelete="CASCADE"), nullable=False),
    sa.Column("incident_id", sa.String(128), nullable=False),
    sa.Column("snapshot", sa.JSON, nullable=False),
    sa.Column("snapshot_time", sa.BigInteger, nullable=False),  # event_time (ms) of the snapshot
    sa.Column("title", sa.Text, nullable=False, default=""),
    sa.Column("severity", sa.String(16), nullable=False, default=""),
    sa.Column("progress", sa.String(16), nullable=False, default=""),
    sa.Column("activated", sa.Boolean, nullable=False, default=False),  # the trigger fired
    # queue: change_seq counts accepted changes, synced_seq the last one fully applied
    sa.Column("change_seq", sa.Integer, nullable=False, default=0),
    sa.Column("synced_seq", sa.Integer, nullable=False, default=0),
    sa.Column("comment_seq", sa.Integer, nullable=False, default=0),
    sa.Column("comment_synced_seq", sa.Integer, nullable=False, default=0),
    sa.Column("state", sa.String(16), nullable=False, default="idle"),  # idle | pending | failed
    sa.Column("pending_since", sa.Float, nullable=True),
    sa.Column("due_at", sa.Float, nullable=True),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_until", sa.Float, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_error", sa.Text, nullable=True),
    # when the current run of transient failures began (NULL once in step): after
    # GIVE_UP_HOURS of it the incident is failed
    sa.Column("failing_since", sa.Float, nullable=True),
    # the Jira side: create_state None -> "creating" (outcome may be unknown) -> "created";
    # "deleted" once the issue is found gone (a person may ask for a new one)
    sa.Column("create_state", sa.String(16), nullable=True),
    sa.Column("jira_issue_id", sa.String(32), nullable=True),
    sa.Column("jira_issue_key", sa.String(64), nullable=True),
    sa.Column("jira_status_id", sa.String(32), nullable=True),
    sa.Column("jira_status", sa.String(255), nullable=True),
    sa.Column("jira_priority_id", sa.String(32), nullable=True),
    # while create_state is "creating": no issue numbered at or below create_floor can be the
    # one that create made, and it was sent at create_sent_at (sync/adopt.py)
    sa.Column("create_floor", sa.Integer, nullable=True),
    sa.Column("create_sent_at", sa.Float, nullable=True),
    # the jira_* values above may be stale (a reconcile was cut off after a write, or a write's
    # outcome is unknown): the next reconcile reads the issue from Jira before trusting them
    sa.Column("jira_unverified", sa.Boolean, nullable=False, default=False, server_default=sa.false()),
    sa.Column("last_synced_at", sa.Float, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    # two-way sync (migration 0007): Jira events (hints) counted like change_seq, and per side
    # what was last seen of Jira and last written to Flashduty
    sa.Column("jira_seq", sa.Integer, nullable=False, server_default="0"),
    sa.Column("jira_synced_seq", sa.Integer, nullable=False, server_default="0"),
    sa.Column("jira_seen_status", sa.String(255), nullable=True),
    sa.Column("jira_seen_priority", sa.String(32), nullable=True),
    sa.Column("fd_written_progress", sa.String(16), nullable=True),
    sa.Column("fd_written_severity", sa.String(16), nullable=True),
    sa.UniqueConstraint("integration_id", "incident_id", name="uq_incidents_integration_incident"),
    sa.Index("ix_incidents_queue", "state", "due_at"),
    sa.Index("ix_incidents_list", "integration_id", "id"),
    # the console's "failed only" / "waiting" filters (and the failed count) stay an index
    # range at 100k incidents
    sa.Index("ix_incidents_state_list", "integration_id", "state", "id"),
    # every list page shows the last error: a partial index holds only the rows it reads, so
    # it never walks all of an integration's incidents (bench/console.py)
    sa.Index("ix_incidents_last_error", "integration_id", "updated_at",
             sqlite_where=sa.text("last_error IS NOT NULL"), postgresql_where=sa.text("last_error IS NOT NULL")),
    # the recovery sweep reads an integration's open incidents (migration 0005)
    sa.Index("ix_incidents_open", "integration_id", "id",
             sqlite_where=sa.text("progress != 'Closed'"), postgresql_where=sa.text("progress != 'Closed'")),
    # the claims of a worker found dead are freed by owner: only claimed rows are indexed
    sa.Index("ix_incidents_leased", "lease_owner",
             sqlite_where=sa.text("lease_owner IS NOT NULL"), postgresql_where=sa.text("lease_owner IS NOT NULL")),
)

# Comments copied to Jira, once each. "posting" survives a lost answer: the next
# attempt looks for the comment's ref on the issue before posting again.
comments = sa.Table(
    "comments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("incident_row_id", sa.Integer, sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    sa.Column("source_id", sa.String(128), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # posting | posted
    sa.Column("jira_comment_id", sa.String(32), nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("incident_row_id", "source_id", name="uq_comments_incident_source"),
)

# What was sent to Jira and what Jira answered, secrets removed.
exchanges = sa.Table(
    "exchanges",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("incident_row_id", sa.Integer, sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("method", sa.String(8), nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("request_body", sa.JSON, nullable=True),
    sa.Column("status", sa.Integer, nullable=True),
    sa.Column("response_body", sa.JSON, nullable=True),
    sa.Column("duration_ms", sa.Float, nullable=False),
    sa.Index("ix_exchanges_incident", "incident_row_id", "id"),
    sa.Index("ix_exchanges_at", "at"),  # retention
)

# Console sign-in. Passwords are Argon2id hashes; sessions are kept by the SHA-256 of the
# cookie's token, so the database never holds a value that would sign anyone in.
console_users = sa.Table(
    "console_users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(100), nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("last_login_at", sa.Float, nullable=True),
)

console_sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("console_users.id", ondelete="CASCADE"), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)

# Recovery of missed webhooks (sync/recovery.py): one row per integration. The lease lets
# one process run an integration's recovery at a time; the cursor is how far the history of
# failed deliveries has been read; the last run's report is what /healthz, the API and the
# console show.
recovery_state = sa.Table(
    "recovery_state",
    metadata,
    sa.Column("integration_id", sa.Integer, sa.ForeignKey("integrations.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_until", sa.Float, nullable=True),
    sa.Column("next_run_at", sa.Float, nullable=False),
    sa.Column("history_until_ms", sa.BigInteger, nullable=True),  # failed deliveries read up to here
    sa.Column("last_started_at", sa.Float, nullable=True),
    sa.Column("last_finished_at", sa.Float, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("last_report", sa.JSON, nullable=True),  # what the last run found and recovered
    sa.Column("recovered_total", sa.Integer, nullable=False, server_default="0"),
)

# Processes running a worker, with a heartbeat: a process that starts on the same host sees
# that a predecessor's pid is gone and frees its claims at once; elsewhere a worker whose
# heartbeat stopped loses its claims when their (short) leases run out.
workers = sa.Table(
    "workers",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # the lease owner it claims as
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    # pid namespace and start time of the process: a pid reused later is not mistaken for it
    sa.Column("process", sa.String(64), nullable=True),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("heartbeat_at", sa.Float, nullable=False),
)

# Jira sites (or one account on a site) that the sync waits for: an outage being probed,
# refused credentials, or a Retry-After. A row exists only while something waits; every
# process reads the table into memory (sync/sites.py), never per request.
jira_sites = sa.Table(
    "jira_sites",
    metadata,
    sa.Column("key", sa.String(600), primary_key=True),  # the site, or "site as account"
    sa.Column("url", sa.String(500), nullable=False),
    sa.Column("account", sa.String(255), nullable=True),  # set when credentials were refused
    # the integration whose client probes (its credentials)
    sa.Column("integration_id", sa.Integer, sa.ForeignKey("integrations.id", ondelete="SET NULL"), nullable=True),
    sa.Column("reason", sa.String(32), nullable=False),  # unreachable | rate_limited | credentials
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("since", sa.Float, nullable=False),
    sa.Column("next_probe_at", sa.Float, nullable=True),  # NULL: not probed (rate limit, passwords)
    sa.Column("resume_at", sa.Float, nullable=True),  # Retry-After: nothing is sent before this
    sa.Column("probes", sa.Integer, nullable=False, server_default="0"),  # failed probes so far
    sa.Column("updated_at", sa.Float, nullable=False),
)

# Where each `jira-sync serve` listens (its webhook base URL): the CLI, which runs apart from
# the server, prints webhook URLs that reach the server actually running (`--port` included).
http_listeners = sa.Table(
    "http_listeners",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("base_url", sa.String(500), nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
)

# Two-way sync: what Jira told us (webhook deliveries, changes polling found) and what the sync
# made of each (`source` "sync": a decision on the incident's timeline). Unique per delivery:
# X-Atlassian-Webhook-Identifier, which stays the same across Cloud's retries.
jira_events = sa.Table(
    "jira_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("integration_id", sa.Integer, sa.ForeignKey("integrations.id", ondelete="CASCADE"), nullable=False),
    sa.Column("delivery_id", sa.String(128), nullable=False),
    sa.Column("issue_id", sa.String(32), nullable=True),
    sa.Column("incident_row_id", sa.Integer, sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=True),
    sa.Column("source", sa.String(16), nullable=False),  # webhook | poll | sync
    sa.Column("kind", sa.String(64), nullable=False),  # webhookEvent, "changed" (poll), or the decision
    sa.Column("actor", sa.String(255), nullable=True),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Column("outcome", sa.String(32), nullable=False),  # queued | echo | not_linked | ...
    sa.Column("note", sa.Text, nullable=True),
    sa.UniqueConstraint("integration_id", "delivery_id", name="uq_jira_events_delivery"),
    sa.Index("ix_jira_events_incident", "incident_row_id", "id"),
    sa.Index("ix_jira_events_received", "received_at"),  # retention
)

# Comments written to the Flashduty incident (Jira comments mirrored, the issue-link comment),
# once each: "posting" survives a lost answer, and the next attempt looks for the mark first.
mirrored_comments = sa.Table(
    "mirrored_comments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("incident_row_id", sa.Integer, sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    sa.Column("ref", sa.String(128), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # due | posting | posted | refused
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("incident_row_id", "ref", name="uq_mirrored_comments_ref"),
)

# Polling Jira for changes webhooks did not bring: one row per integration, a lease so one
# process polls it at a time, and the cursor (when the last successful window started).
jira_poll_state = sa.Table(
    "jira_poll_state",
    metadata,
    sa.Column("integration_id", sa.Integer, sa.ForeignKey("integrations.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("lease_until", sa.Float, nullable=True),
    sa.Column("next_run_at", sa.Float, nullable=False),
    sa.Column("cursor", sa.Float, nullable=True),  # our clock: the last successful window began here
    sa.Column("last_finished_at", sa.Float, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("last_report", sa.JSON, nullable=True),
)
