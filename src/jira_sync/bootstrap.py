"""The one wiring point: settings in, every long-lived object out. Nothing is built at import.

`start_runtime` builds the database engine, the caches, the Jira site gates, the client
factories and the application services, for `jira-sync serve`, `jira-sync worker` and the
CLI alike. `Runtime.background` runs what a long-lived process runs besides HTTP: the
worker, and on PostgreSQL the listener that hears other processes' commits.
"""
from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from dataclasses import dataclass, field
from typing import AsyncIterator

import httpx

from .app.accounts import Accounts
from .app.incidents import Incidents
from .app.integrations import Integrations
from .app.lookups import JiraLookups
from .app.monitoring import Monitoring
from .app.recovery import RecoveryService
from .app.two_way import TwoWay
from .app.sites import JiraSites
from .crypto import SecretBox
from .domain.integration import FlashdutyApi as FlashdutyConfig
from .domain.integration import JiraConnection
from .expiring import Expiring
from .jira.client import SERVER_PROJECTS_TTL, JiraClient
from .jira.port import ExchangeHook, Project
from .jira.ratelimit import SiteGates
from .observe.metrics import Metrics
from .settings import Settings
from .sources.flashduty_writes import FlashdutyWriter
from .sources.flashduty_recovery import Pacers, RecoveryApi
from .store.db import Engine, make_engine, migrate, open_connections
from .store.notify import listen
from .sync.changes import IntegrationChanges, IntegrationRows
from .sync.ingest import Ingestor
from .sync.jira_intake import JiraIntake
from .sync.jira_poll import JiraPoller
from .sync.recovery import Recovery
from .sync.sites import Sites
from .sync.worker import Worker

log = logging.getLogger(__name__)

# How long a cached integration row (secret hash, trigger, configuration) is used without
# asking the database. Changes through this process take effect at once; changes from another
# process reach it by NOTIFY on PostgreSQL, and within this many seconds on SQLite.
INTEGRATION_ROWS_TTL = 2.0
SETUP_ANSWERS_TTL = 300.0


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    box: SecretBox
    wake: asyncio.Event  # set after a commit that queued work; the worker waits on it
    changes: IntegrationChanges  # told of every integration change: caches drop it
    rows: IntegrationRows
    gates: SiteGates
    sites: Sites  # the Jira sites' pauses (outages, refused credentials, Retry-After), shared
    integrations: Integrations
    incidents: Incidents
    lookups: JiraLookups
    accounts: Accounts
    ingestor: Ingestor
    jira_intake: JiraIntake  # two-way sync: Jira's admin webhooks
    jira_sites: JiraSites
    recovery: RecoveryService
    two_way: TwoWay
    recovery_wake: asyncio.Event  # a person asked for a recovery run now
    metrics: Metrics  # this process's counters (observe/metrics.py)
    monitoring: Monitoring  # what /metrics answers
    # Flashduty calls paced per account (recovery keeps to half of the account's rate limits)
    flashduty_pacers: Pacers = field(default_factory=Pacers)
    # What Jira said while a setup form is being filled in (console/setup_jira.py)
    setup_answers: Expiring = field(default_factory=lambda: Expiring(ttl=SETUP_ANSWERS_TTL))
    project_lists: Expiring[list[Project]] = field(default_factory=lambda: Expiring(ttl=SERVER_PROJECTS_TTL))
    # tests reach the emulators in-process through these; None = real sockets
    jira_transport: httpx.AsyncBaseTransport | None = None
    flashduty_transport: httpx.AsyncBaseTransport | None = None

    def jira_client(self, conn: JiraConnection, on_exchange: ExchangeHook | None = None) -> JiraClient:
        """The one way a Jira client is made, for setup and for the sync."""
        return JiraClient(
            conn, gate=self.gates.for_site(conn.url), on_exchange=on_exchange, timeout=self.settings.jira_timeout,
            transport=self.jira_transport, project_lists=self.project_lists,
            gateway_url=self.settings.jira_gateway_url, metrics=self.metrics,
        )

    def flashduty_client(self, cfg: FlashdutyConfig) -> FlashdutyWriter | None:
        """The sync's Open API client: comment reads, and two-way sync's writes, paced per account
        with recovery's pacer so that together they keep within Flashduty's limits."""
        if cfg.app_key is None:
            return None
        key = cfg.app_key.get_secret_value()
        pacer = self.flashduty_pacers.for_account(cfg.base_url, key)
        if self.flashduty_transport is None:
            return FlashdutyWriter(cfg.base_url, key, pacer)
        # FlashdutyApi closes only a client it made itself; a client over an in-process
        # transport holds no connections, so leaving it to the garbage collector is harmless
        return FlashdutyWriter(cfg.base_url, key, pacer, http=httpx.AsyncClient(transport=self.flashduty_transport))

    def recovery_api(self, cfg: FlashdutyConfig) -> RecoveryApi:
        """Recovery's Open API client: paced per account, on the same transport as the sync's."""
        key = cfg.app_key.get_secret_value() if cfg.app_key else ""
        http = httpx.AsyncClient(transport=self.flashduty_transport) if self.flashduty_transport else None
        return RecoveryApi(cfg.base_url, key, self.flashduty_pacers.for_account(cfg.base_url, key), http=http)

    def worker(self) -> Worker:
        return Worker(self.engine, self.settings, self.box, self.wake, self.rows, self.jira_client,
                      self.flashduty_client, self.sites, self.metrics)

    @contextlib.asynccontextmanager
    async def background(self, *, run_worker: bool) -> AsyncIterator[None]:
        """The worker (unless `run_worker` is False) and, on PostgreSQL, the listener for
        other processes' commits (their queued work, their integration edits); both stop,
        reconciles in flight given a grace period, when the block ends."""
        listener = None
        if self.settings.is_postgres:
            listener = await listen(self.settings.database_url, self.wake.set, self.changes.notify, self.sites.changed)
            # what other processes committed before we listened was not heard: read it now (a
            # Retry-After recorded between start_runtime's read and the LISTEN was missed until
            # the next heartbeat, and a worker starting then sent Jira requests during the pause)
            try:
                await self.sites.refresh()
            except BaseException:
                await listener.close()
                raise
        stop = asyncio.Event()
        worker_task = asyncio.create_task(self.worker().run(stop), name="worker") if run_worker else None
        # recovery runs beside every worker; a lease per integration keeps it to one process at a time
        recovery = Recovery(self.engine, self.settings, self.box, self.ingestor, self.recovery_api,
                            self.recovery_wake, self.metrics)
        recovery_task = asyncio.create_task(recovery.run(stop), name="recovery") if run_worker else None
        # two-way sync's polling backstop; a lease per integration keeps it to one process at a time
        poller = JiraPoller(self.engine, self.box, self.jira_client, self.wake)
        self.changes.subscribe(poller.integration_changed)
        poll_task = asyncio.create_task(poller.run(stop), name="jira-poll") if run_worker else None
        try:
            yield
        finally:
            stop.set()
            if worker_task is not None:
                await worker_task
            if recovery_task is not None:
                await _stopped(recovery_task)
            if poll_task is not None:
                await _stopped(poll_task)
            if listener is not None:
                await listener.close()

    async def aclose(self) -> None:
        await self.sites.aclose()
        await self.engine.dispose()


async def _stopped(task: asyncio.Task[None], grace: float = 10.0) -> None:
    """Wait for a background task told to stop; a run stuck on a slow call is cancelled."""
    done, _ = await asyncio.wait([task], timeout=grace)
    if not done:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def prepare_process(rt: Runtime, *, run_worker: bool) -> None:
    """A process about to take load (`serve`, `worker`): its database connections opened (the
    worker's reconciles each hold one for a statement; webhooks, the API and the caches a few),
    then its start-up heap settled."""
    await open_connections(rt.engine, rt.settings.worker_concurrency + 2 if run_worker else 4)
    settle_heap()


def settle_heap() -> None:
    """Once a process has started (`jira-sync serve`, `jira-sync worker`): what exists now
    (modules, settings, engine, caches) lives as long as the process, so it is moved out of the
    garbage collector's sight (gc.freeze) and its full collections walk only what came after.
    Under 300 webhooks/s a full collection of serve took 30-350 ms while every answer waited."""
    gc.collect()
    gc.freeze()


async def run_worker_process(settings: Settings) -> None:
    """`jira-sync worker`: the worker alone (PostgreSQL), until SIGINT or SIGTERM."""
    import signal

    rt = await start_runtime(settings)
    await prepare_process(rt, run_worker=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with rt.background(run_worker=True):
            await stop.wait()
    finally:
        await rt.aclose()


async def start_runtime(
    settings: Settings, *, run_migrations: bool = True, jira_transport: httpx.AsyncBaseTransport | None = None,
    flashduty_transport: httpx.AsyncBaseTransport | None = None,
) -> Runtime:
    engine = make_engine(settings.database_url, pool_size=settings.worker_concurrency + 4)
    if run_migrations:
        await migrate(engine)
    box = SecretBox(settings.secret_key.get_secret_value())
    wake = asyncio.Event()
    changes = IntegrationChanges()
    rows = IntegrationRows(engine, ttl=INTEGRATION_ROWS_TTL)
    changes.subscribe(rows.forget)
    gates = SiteGates(settings.site_concurrency)
    sites = Sites(engine, gates, probe_seconds=settings.probe_seconds, wake=wake)
    await sites.refresh()  # pauses other processes (or this one before a restart) recorded
    runtime: Runtime

    def setup_jira(conn: JiraConnection) -> JiraClient:
        return runtime.jira_client(conn)

    integrations = Integrations(engine, box, setup_jira, changes, wake, settings, sites)
    recovery_wake = asyncio.Event()
    metrics = Metrics()
    runtime = Runtime(
        settings=settings, engine=engine, box=box, wake=wake, changes=changes, rows=rows, gates=gates, sites=sites,
        integrations=integrations, incidents=Incidents(engine, integrations, changes, wake),
        lookups=JiraLookups(integrations), accounts=Accounts(engine, settings.secret_key.get_secret_value()),
        ingestor=Ingestor(engine, rows, wake, metrics), jira_intake=JiraIntake(engine, rows, box, wake),
        jira_sites=JiraSites(engine), jira_transport=jira_transport, flashduty_transport=flashduty_transport,
        recovery=RecoveryService(engine, integrations, settings, recovery_wake), recovery_wake=recovery_wake,
        metrics=metrics, monitoring=Monitoring(engine, metrics),
        two_way=TwoWay(engine, integrations, settings, setup_jira, lambda cfg: runtime.flashduty_client(cfg)),
    )
    return runtime
