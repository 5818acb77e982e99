"""The service's Prometheus metrics, shaped like Alertmanager's notifier metrics.

Counters and histograms are counted where things happen (a webhook answered, a Jira request
answered, a reconcile ended, a recovery run ended): one dictionary look-up and one increment,
never a query. The queue and the Jira sites are gauges read from the store when `/metrics`
is scraped (`app/monitoring.py`), so every process sees the same numbers.

Labels are bounded: an integration id (or `unknown` for ids no integration has), a Jira site
URL, an operation name from a fixed list, a status class, a reason from a fixed list. Never an
incident id or an issue key. Each label set an alert may look for is created at zero before its
first event (per integration and site the scrape sees), so `rate()` and `absent()` work at once.

In multiprocess mode (`multiproc.py`) each process's counters live in mmap files and the
scrape adds them up, so a `jira-sync worker`'s Jira requests show in `serve`'s `/metrics`.
"""
from __future__ import annotations

import platform
import re
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from . import multiproc

# No `*_created` series: they double the output, and multiprocess mode has none anyway, so a
# scrape looks the same however the service runs.
disable_created_metrics()

UNKNOWN = "unknown"  # the integration label of a webhook for an id no integration has
WEBHOOK_OUTCOMES = ("accepted", "duplicate", "rejected")
# why a webhook was refused: 401, 400, 413, 415, 503
REJECT_REASONS = ("unauthorized", "bad_payload", "too_large", "unsupported_media_type", "unavailable")
# Alertmanager's reasons (contextDeadlineExceeded is named for what it is here: timeout)
SYNC_FAILURE_REASONS = ("clientError", "serverError", "authError", "rateLimited", "timeout", "other")
STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx", "error")  # error: no answer (timeout, refused, reset)
JIRA_OPERATIONS = (
    "create_issue", "get_issue", "update_issue", "get_transitions", "transition", "add_comment", "get_comments",
    "comment_property", "search", "myself", "server_info", "projects", "createmeta", "permissions", "other",
)
RECOVERY_OUTCOMES = ("ok", "error")
RECOVERED_HOW = ("replayed", "sweep")  # a failed delivery replayed; a change found by the sweep
SITE_PAUSE_REASONS = ("unreachable", "credentials", "rate_limited")

JIRA_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# from the change's arrival to the Jira write: milliseconds normally, up to hours through an outage
SYNC_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0)

# (method or None, pattern on the path after the API prefix) -> operation; first match wins
_OPERATION_RULES: tuple[tuple[str | None, re.Pattern[str], str], ...] = tuple(
    (method, re.compile(pattern), op) for method, pattern, op in (
        (None, r"/search", "search"),
        (None, r"/issue/createmeta", "createmeta"),
        ("POST", r"/issue/[^/]+/transitions$", "transition"),
        (None, r"/issue/[^/]+/transitions$", "get_transitions"),
        ("POST", r"/issue/[^/]+/comment$", "add_comment"),
        ("GET", r"/issue/[^/]+/comment$", "get_comments"),
        (None, r"/issue/[^/]+/comment/", "comment_property"),
        ("POST", r"/issue$", "create_issue"),
        ("GET", r"/issue/[^/]+$", "get_issue"),
        ("PUT", r"/issue/[^/]+$", "update_issue"),
        (None, r"/myself$", "myself"),
        (None, r"/serverInfo$|tenant_info$", "server_info"),
        (None, r"/project", "projects"),
        (None, r"/mypermissions$", "permissions"),
    )
)


def jira_operation(method: str, path: str) -> str:
    """The operation a Jira request performs, from a fixed list (never the issue in its path)."""
    path = path.split("?", 1)[0]
    for wanted, pattern, op in _OPERATION_RULES:
        if (wanted is None or wanted == method) and pattern.search(path):
            return op
    return "other"


def status_class(status: int | None) -> str:
    if status is None or not 100 <= status < 600:
        return "error"
    return f"{status // 100}xx" if status >= 200 else "error"


def build_version() -> str:
    try:
        return version("jira-sync")
    except PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class QueueGauges:
    """One integration's queue, read at scrape time."""

    depth: int  # pending incidents, in flight included
    oldest_waiting_seconds: float  # 0 when nothing waits
    failed: int


@dataclass(frozen=True)
class Snapshot:
    """The gauges read from the store for one scrape (`app/monitoring.py`)."""

    queues: dict[int, QueueGauges] = field(default_factory=dict)  # per integration
    paused: dict[str, set[str]] = field(default_factory=dict)  # site -> reasons it waits for (may be empty)


class Metrics:
    """The counters and histograms of one process (one `Runtime`), on a registry of its own so
    that services started side by side in one test process count apart."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.webhooks = Counter(
            "jira_sync_webhooks", "Webhook deliveries answered, by integration and outcome "
            "(accepted, duplicate, rejected).", ["integration", "outcome"], registry=r)
        self.webhooks_rejected = Counter(
            "jira_sync_webhooks_rejected", "Webhook deliveries refused, by integration and reason.",
            ["integration", "reason"], registry=r)
        self.jira_requests = Counter(
            "jira_sync_jira_requests", "Requests sent to Jira, by site, operation and status class "
            "(error: no answer).", ["site", "operation", "status_class"], registry=r)
        self.jira_latency = Histogram(
            "jira_sync_jira_request_duration_seconds", "Time from sending a Jira request to its answer "
            "(or failure), the wait for the site gate included.", ["site", "operation"], buckets=JIRA_BUCKETS,
            registry=r)
        self.syncs = Counter(
            "jira_sync_syncs", "Reconciles that ran (attempts to bring one incident's issue in step; waits for "
            "a paused site are not attempts), by integration.",
            ["integration"], registry=r)
        self.syncs_failed = Counter(
            "jira_sync_syncs_failed", "Reconciles that ended in an error (retried or failed), by integration "
            "and reason.", ["integration", "reason"], registry=r)
        self.sync_latency = Histogram(
            "jira_sync_sync_latency_seconds", "Time from a change's arrival (the incident becoming pending) "
            "to the reconcile that wrote it to Jira.", ["integration"], buckets=SYNC_BUCKETS, registry=r)
        self.recovery_runs = Counter(
            "jira_sync_recovery_runs", "Runs recovering missed webhooks, by integration and outcome.",
            ["integration", "outcome"], registry=r)
        self.recovered = Counter(
            "jira_sync_recovery_events_recovered", "Events recovered from Flashduty's Open API, by "
            "integration and how (replayed: a failed delivery; sweep: a change found by reading the incident).",
            ["integration", "how"], registry=r)
        # children by label values: one dict look-up per event instead of labels()' lock and checks
        self._webhook: dict[tuple[str, str], Any] = {}
        self._rejected: dict[tuple[str, str], Any] = {}
        self._jira: dict[tuple[str, str, str], tuple[Any, Any]] = {}
        self._known: set[int] = set()
        self.integrations([])
        self.jira_sites([])

    # ------------------------------------------------------------------ pre-initialisation
    def integrations(self, ids: Iterable[int]) -> None:
        """Create every label set of these integrations at zero (and of `unknown`)."""
        labels = [UNKNOWN]
        for iid in ids:
            if iid not in self._known:
                self._known.add(iid)
                labels.append(str(iid))
        for label in labels:
            for outcome in WEBHOOK_OUTCOMES:
                self._webhook_child(label, outcome)
            for reason in REJECT_REASONS:
                self._rejected_child(label, reason)
            if label == UNKNOWN:
                continue
            self.syncs.labels(label)
            for reason in SYNC_FAILURE_REASONS:
                self.syncs_failed.labels(label, reason)
            self.sync_latency.labels(label)
            for outcome in RECOVERY_OUTCOMES:
                self.recovery_runs.labels(label, outcome)
            for how in RECOVERED_HOW:
                self.recovered.labels(label, how)

    def jira_sites(self, sites: Iterable[str]) -> None:
        """Create the request counters of the sync's operations on these sites at zero."""
        for site in sites:
            for op in JIRA_OPERATIONS:
                for cls in STATUS_CLASSES:
                    self._jira_children(site, op, cls)

    def integration_label(self, integration_id: int) -> str:
        """The label of an integration seen to exist; `unknown` for any other id, so that a
        client trying ids cannot make series without end."""
        return str(integration_id) if integration_id in self._known else UNKNOWN

    def known_integration(self, integration_id: int) -> None:
        if integration_id not in self._known:
            self.integrations([integration_id])

    # ------------------------------------------------------------------ counting
    def webhook(self, integration: str, outcome: str, reason: str | None = None) -> None:
        """`outcome` accepted | duplicate | rejected (with a `reason` from REJECT_REASONS)."""
        child = self._webhook.get((integration, outcome)) or self._webhook_child(integration, outcome)
        child.inc()
        if reason is not None:
            rejected = self._rejected.get((integration, reason)) or self._rejected_child(integration, reason)
            rejected.inc()

    def jira_request(self, site: str, method: str, path: str, status: int | None, seconds: float) -> None:
        op = jira_operation(method, path)
        cls = status_class(status)
        children = self._jira.get((site, op, cls)) or self._jira_children(site, op, cls)
        children[0].inc()
        children[1].observe(seconds)

    def sync_ended(self, integration_id: int, failure: str | None, latency: float | None) -> None:
        """A reconcile that called Jira ended: `failure` is a SYNC_FAILURE_REASONS entry or None;
        `latency`, when it wrote something, is the time since the change arrived."""
        label = str(integration_id)
        self.syncs.labels(label).inc()
        if failure is not None:
            self.syncs_failed.labels(label, failure).inc()
        if latency is not None:
            self.sync_latency.labels(label).observe(max(0.0, latency))

    def recovery_run(self, integration_id: int, *, error: bool, replayed: int, swept: int) -> None:
        label = str(integration_id)
        self.recovery_runs.labels(label, "error" if error else "ok").inc()
        if replayed:
            self.recovered.labels(label, "replayed").inc(replayed)
        if swept:
            self.recovered.labels(label, "sweep").inc(swept)

    def _webhook_child(self, integration: str, outcome: str) -> Any:
        child = self._webhook[(integration, outcome)] = self.webhooks.labels(integration, outcome)
        return child

    def _rejected_child(self, integration: str, reason: str) -> Any:
        child = self._rejected[(integration, reason)] = self.webhooks_rejected.labels(integration, reason)
        return child

    def _jira_children(self, site: str, op: str, cls: str) -> tuple[Any, Any]:
        pair = self._jira[(site, op, cls)] = (self.jira_requests.labels(site, op, cls),
                                              self.jira_latency.labels(site, op))
        return pair

    # ------------------------------------------------------------------ the scrape
    def exposition(self, snapshot: Snapshot) -> tuple[bytes, str]:
        """The text format of every metric: this process's (or, in multiprocess mode, every
        process's) counters, then the gauges of `snapshot` and the build info."""
        self.integrations(snapshot.queues)
        self.jira_sites(snapshot.paused)
        path = multiproc.directory()
        if path:
            counted = CollectorRegistry(auto_describe=True)
            MultiProcessCollector(counted, path=path)
        else:
            counted = self.registry
        gauges = CollectorRegistry(auto_describe=True)
        gauges.register(_SnapshotCollector(snapshot))
        return generate_latest(counted) + generate_latest(gauges), CONTENT_TYPE_LATEST


class _SnapshotCollector:
    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterable[Any]:
        info = InfoMetricFamily("jira_sync_build", "The running version of jira-sync.")
        info.add_metric([], {"version": build_version(), "python_version": platform.python_version()})
        yield info
        depth = GaugeMetricFamily("jira_sync_queue_depth", "Incidents waiting to be synced to Jira, in flight "
                                  "included, by integration.", labels=["integration"])
        oldest = GaugeMetricFamily("jira_sync_queue_oldest_waiting_seconds", "Age of the oldest change not yet "
                                   "in Jira, by integration (0 when nothing waits).", labels=["integration"])
        failed = GaugeMetricFamily("jira_sync_incidents_failed", "Incidents in the failed state (waiting for a "
                                   "person's retry), by integration.", labels=["integration"])
        for iid, q in sorted(self.snapshot.queues.items()):
            depth.add_metric([str(iid)], q.depth)
            oldest.add_metric([str(iid)], q.oldest_waiting_seconds)
            failed.add_metric([str(iid)], q.failed)
        paused = GaugeMetricFamily("jira_sync_jira_site_paused", "1 while the sync waits for a Jira site (or an "
                                   "account on it), by reason: unreachable, credentials refused, rate_limited.",
                                   labels=["site", "reason"])
        for site, reasons in sorted(self.snapshot.paused.items()):
            for reason in SITE_PAUSE_REASONS:
                paused.add_metric([site, reason], 1.0 if reason in reasons else 0.0)
        yield from (depth, oldest, failed, paused)
