"""What a run measured, and the markdown it prints and writes to bench/results/latest.md."""
from __future__ import annotations

import datetime as dt
import os
import platform
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import loadgen
from loadgen import RunResult
from payloads import MIX
from stats import fmt_int, fmt_ms, ms_triplet, percentile, ratio
from sync_probe import STEPS, Lifecycle, WriteLatency

BARE = "bare FastAPI"
TARGETS = {
    "ingest": 1000.0,  # events/s, closed loop
    "open_p99_ms": 25.0,  # at 200 events/s, SQLite
    "create_p50_ms": 50.0,  # webhook -> Jira write
}


@dataclass
class TargetResult:
    """Everything measured for one target: the bare app, or the service on one database."""

    name: str
    skipped: str | None = None
    error: str | None = None
    closed: RunResult | None = None  # (a) closed loop, integration in manual mode
    closed_auto: RunResult | None = None  # (a) again, automatic mode: the worker syncs meanwhile
    drain_auto_s: float | None = None
    open: RunResult | None = None  # (b) open loop, automatic mode
    drain_open_s: float | None = None
    issues_check: str = ""
    queue_after: dict[str, Any] = field(default_factory=dict)
    memory_kb: dict[str, int] = field(default_factory=dict)
    latency: WriteLatency | None = None
    lifecycles: list[Lifecycle] = field(default_factory=list)

    @property
    def runs(self) -> list[RunResult]:
        return [r for r in (self.closed, self.closed_auto, self.open) if r is not None]

    @property
    def non_200(self) -> int:
        total = sum(r.non_200 for r in self.runs)
        if self.latency is not None:
            total += self.latency.non_200
        return total + sum(life.non_200 for life in self.lifecycles)

    @property
    def answers(self) -> int:
        total = sum(r.sent for r in self.runs)
        if self.latency is not None:
            total += len(self.latency.answer_ms)
        return total + len(self.lifecycles) * len(STEPS)


# ------------------------------------------------------------------ table cells
def _cell(r: TargetResult, fn: Any) -> str:
    if r.skipped:
        return "skipped"
    try:
        return fn(r)  # after an error, what was measured before it still shows
    except (TypeError, AttributeError, ValueError, IndexError, KeyError):
        return "error" if r.error else "–"  # "–": not measured here (no Jira behind the bare app)


def _rate(run: RunResult | None, bare: RunResult | None) -> str:
    if run is None:
        raise TypeError
    base = bare.rate if bare is not None else None
    return f"{fmt_int(run.rate)}" + ("" if run is bare or base is None else f" ({ratio(run.rate, base)})")


def _steps(life: Lifecycle) -> str:
    return " / ".join(str(len(life.jira[s])) for s, _ in STEPS)


def _steady(lives: list[Lifecycle]) -> str:
    """Per step, the most requests any later lifecycle needed (so a stray one shows)."""
    later = lives[1:]
    if not later:
        raise ValueError
    return " / ".join(str(max(len(life.jira[s]) for life in later)) for s, _ in STEPS)


def _mb(kb: dict[str, int]) -> str:
    return f"{kb['VmHWM'] / 1024:.0f}"


def table(results: list[TargetResult], concurrency: int, rate: float) -> str:
    bare = next((r for r in results if r.name == BARE), None)
    bare_closed = bare.closed if bare else None
    step_names = "/".join(s for s, _ in STEPS)
    rows: list[tuple[str, Any, str]] = [
        (f"Ingest, closed loop, {concurrency} connections (events/s)", lambda r: _rate(r.closed, bare_closed),
         "≥ 1,000"),
        ("… same, integration in automatic mode (worker syncing meanwhile)",
         lambda r: _rate(r.closed_auto, bare_closed), ""),
        (f"Answer time, open loop at {rate:.0f} events/s, automatic mode: p50 / p99 / max (ms)",
         lambda r: ms_triplet(r.open.latencies_ms), "p99 ≤ 25 (SQLite)"),
        ("Webhook → issue created in Jira: p50 / p90 / p99 (ms)",
         lambda r: ms_triplet(r.latency.create_ms, (50, 90, 99), with_max=False), "p50 ≤ 50"),
        ("Webhook → priority updated in Jira: p50 / p90 / p99 (ms)",
         lambda r: ms_triplet(r.latency.update_ms, (50, 90, 99), with_max=False), ""),
        (f"Jira requests, first lifecycle ({step_names})", lambda r: _steps(r.lifecycles[0]), ""),
        ("Jira requests, steady state (most in any later lifecycle)", lambda r: _steady(r.lifecycles),
         "1 per change"),
        ("Server CPU per event in the closed loop (ms), share of one core",
         lambda r: f"{r.closed.cpu['server_ms_per_event']:.2f} ({r.closed.cpu['server_core']:.0%})", ""),
        ("Peak RSS after the ingest runs (MB)", lambda r: _mb(r.memory_kb), ""),
        ("Non-200 answers / answers", lambda r: f"{r.non_200} / {fmt_int(r.answers)}", "0"),
    ]
    head = "| | " + " | ".join(r.name for r in results) + " | target |"
    lines = [head, "|---" * (len(results) + 2) + "|"]
    for label, fn, target in rows:
        lines.append(f"| {label} | " + " | ".join(_cell(r, fn) for r in results) + f" | {target} |")
    return "\n".join(lines)


# ------------------------------------------------------------------ against the targets
def verdicts(results: list[TargetResult]) -> list[str]:
    out: list[str] = []
    for r in results:
        if r.skipped or r.name == BARE:
            continue
        if r.closed:
            out.append(_verdict(f"{r.name}: ingest {fmt_int(r.closed.rate)} events/s", r.closed.rate >= TARGETS["ingest"],
                                "target ≥ 1,000"))
        if r.open and r.name == "SQLite":
            p99 = percentile(r.open.latencies_ms, 99)
            out.append(_verdict(f"{r.name}: p99 {fmt_ms(p99)} ms at 200 events/s", p99 <= TARGETS["open_p99_ms"],
                                "target ≤ 25 ms"))
        if r.latency:
            p50 = percentile(r.latency.create_ms, 50)
            out.append(_verdict(f"{r.name}: webhook → Jira create p50 {fmt_ms(p50)} ms",
                                p50 <= TARGETS["create_p50_ms"], "target ≤ 50 ms"))
        if len(r.lifecycles) > 1:
            steady = all(len(life.jira[s]) == 1 for life in r.lifecycles[1:] for s, _ in STEPS)
            out.append(_verdict(f"{r.name}: steady state {_steady(r.lifecycles)} Jira requests per change",
                                steady, "target 1 each"))
    return out


def _verdict(what: str, met: bool, target: str) -> str:
    return f"- {what} ({target}): {'met' if met else 'NOT met'}"


OTHER_LOAD_WARNING = 0.25  # of a core


def quiet_machine_note(results: list[TargetResult]) -> list[str]:
    """Say so when something outside the run used the CPU: on 2 cores it skews every figure."""
    busy = [(r.name, label, run.cpu["other_core"]) for r in results
            for label, run in (("(a) manual", r.closed), ("(a) automatic", r.closed_auto), ("(b)", r.open))
            if run is not None and run.cpu.get("other_core", 0.0) > OTHER_LOAD_WARNING]
    if not busy:
        return ["- machine: quiet during the load runs (no other process used more than "
                f"{OTHER_LOAD_WARNING:.0%} of a core)"]
    worst = ", ".join(f"{name} {label}: {share:.0%}" for name, label, share in busy)
    return [f"- **machine was busy with other work during some runs** ({worst} of a core): those figures "
            "are perturbed; rerun on a quiet machine"]


# ------------------------------------------------------------------ details
def details(results: list[TargetResult]) -> str:
    lines: list[str] = []
    for r in results:
        lines.append(f"\n### {r.name}\n")
        if r.skipped:
            lines.append(f"- skipped: {r.skipped}")
            continue
        if r.error:
            lines.append(f"- error: {r.error}")
        bare = r.name == BARE
        for label, run in (("(a) closed loop" + ("" if bare else ", manual mode"), r.closed),
                           ("(a) closed loop, automatic mode", r.closed_auto),
                           ("(b) open loop" + ("" if bare else ", automatic mode"), r.open)):
            if run is not None:
                lines.append(f"- {label}: {_run_line(run)}")
        if r.drain_auto_s is not None:
            lines.append(f"- sync backlog after the automatic closed loop drained in {r.drain_auto_s:.1f} s")
        if r.drain_open_s is not None:
            lines.append(f"- sync backlog after the open loop drained in {r.drain_open_s:.2f} s")
        if r.issues_check:
            lines.append(f"- Jira after the ingest runs: {r.issues_check}; queue {r.queue_after}")
        if r.memory_kb:
            lines.append(f"- memory: VmHWM {r.memory_kb['VmHWM'] / 1024:.1f} MB, VmRSS {r.memory_kb['VmRSS'] / 1024:.1f} MB")
        if r.latency is not None:
            lat = r.latency
            lines.append(f"- one at a time ({len(lat.create_ms)} incidents): webhook answer p50 / p99 / max "
                         f"{ms_triplet(lat.answer_ms)} ms; → Jira create p50 / p90 / p99 / max "
                         f"{ms_triplet(lat.create_ms, (50, 90, 99))} ms; → priority PUT "
                         f"{ms_triplet(lat.update_ms, (50, 90, 99))} ms")
        if r.lifecycles:
            first = r.lifecycles[0]
            lines.append("- first lifecycle, Jira requests per step: "
                         + "; ".join(f"{s}: {', '.join(first.jira[s]) or 'none'}" for s, _ in STEPS))
            if len(r.lifecycles) > 1:
                later = r.lifecycles[-1]
                lines.append(f"- lifecycle {len(r.lifecycles)}, Jira requests per step: "
                             + "; ".join(f"{s}: {', '.join(later.jira[s]) or 'none'}" for s, _ in STEPS))
            fd = " / ".join(str(max(life.flashduty[s] for life in r.lifecycles)) for s, _ in STEPS)
            lines.append(f"- Flashduty Open API requests per step (most in any lifecycle): {fd}")
    return "\n".join(lines)


def _run_line(run: RunResult) -> str:
    parts = [f"{fmt_int(run.sent)} events in {run.elapsed_s:.2f} s = {fmt_int(run.rate)} events/s",
             f"answer p50 / p99 / max {ms_triplet(run.latencies_ms)} ms",
             f"statuses {dict(run.statuses)}"]
    if run.cpu:
        parts.append(f"server CPU {run.cpu['server_ms_per_event']:.2f} ms/event = {run.cpu['server_core']:.0%} of a "
                     f"core, bench {run.cpu['bench_core']:.0%}, PostgreSQL {run.cpu['postgres_core']:.0%}, "
                     f"other processes {run.cpu['other_core']:.0%}; machine {run.cpu['machine_busy']:.0%} busy")
    if run.errors:
        parts.append(f"{run.errors} without an answer ({dict(run.error_kinds)})")
    if run.max_schedule_lag_ms or run.extra_connections:
        parts.append(f"generator late by ≤ {fmt_ms(run.max_schedule_lag_ms)} ms, "
                     f"{run.extra_connections} extra connections")
    return ", ".join(parts)


# ------------------------------------------------------------------ the whole report
def revision() -> str:
    """The code measured: where the jira_sync package was imported from, its commit, and
    whether tracked files had changes, so a result names what it measured."""
    import jira_sync

    where = Path(jira_sync.__file__).resolve().parent

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=where, capture_output=True, text=True, timeout=10).stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        head = dirty = ""
    state = f"{head}{' + uncommitted changes' if dirty else ''}" if head else "not a git checkout"
    return f"{state} ({where})"


def machine(pg_version: str | None) -> list[str]:
    import uvicorn

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown CPU")
    return [
        f"- machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu}, "
        f"Linux {platform.release()}",
        f"- code: {revision()}",
        f"- Python {platform.python_version()}, uvicorn {uvicorn.__version__} ({loadgen.event_loop_name()}), "
        f"SQLite {sqlite3.sqlite_version}, PostgreSQL {pg_version or 'n/a'}",
    ]


def method(counts: Any, quick: bool) -> list[str]:
    return [
        f"- mode: {'--quick' if quick else 'full'}; layout: service and Jira emulator (Cloud) in their own "
        "processes, load generator in the bench process",
        f"- load generator: raw asyncio streams on {loadgen.event_loop_name()}, HTTP/1.1 keep-alive, request bytes "
        "built before the clock starts; latency = just before the write → whole answer read",
        f"- events: distinct event ids, {MIX}; warm-up {counts.warmup} deliveries first",
        f"- (a) closed loop: {counts.concurrency} connections, {counts.ingest:,} events, manual mode (ingest only), "
        "then again in automatic mode (the worker syncs to the emulator meanwhile)",
        f"- (b) open loop: {counts.rate:.0f} events/s for {counts.seconds:.0f} s, automatic mode",
        f"- part 2: {counts.samples} incidents one at a time (each synced before the next); the Jira emulator runs "
        "in a thread of the bench process and stamps when it has applied the write (the bench thread is "
        "blocked meanwhile, so it holds no GIL); same perf_counter clock as the send",
        f"- part 3: {counts.lifecycles} lifecycles new → severity → ack → comment → resolve, one change at a "
        "time, counted from the emulator's request log (Flashduty emulator in a thread, for comment text)",
    ]


def render(results: list[TargetResult], counts: Any, quick: bool, pg_version: str | None) -> str:
    return "\n".join([
        f"# jira-sync benchmarks — {dt.datetime.now().isoformat(timespec='seconds')}",
        "",
        *machine(pg_version),
        *method(counts, quick),
        *quiet_machine_note(results),
        "",
        table(results, counts.concurrency, counts.rate),
        "",
        "Against the targets (printed, not asserted):",
        "",
        *verdicts(results),
        "",
        "## Details",
        details(results),
        "",
    ])
