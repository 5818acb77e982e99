"""The subprocesses under test: the service, the Jira emulator, the bare app.

Every process started here is remembered, and `Procs.stop_all()` ends them, from the
bench's `finally` (errors, Ctrl-C, SIGTERM). On Linux each child also asks for
PR_SET_PDEATHSIG before it execs the real command, so even a SIGKILLed bench leaves
nothing behind. (Done by a two-line launcher rather than `preexec_fn`, which is unsafe
once the bench has threads, as it does while the in-process emulators run.)
"""
from __future__ import annotations

import os
import signal
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"  # loopback only
BENCH_DIR = Path(__file__).resolve().parent
START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# prctl(PR_SET_PDEATHSIG=1, SIGTERM) survives execve; if the bench is already gone, leave.
_LAUNCHER = (
    "import ctypes, os, signal, sys\n"
    "ctypes.CDLL(None).prctl(1, signal.SIGTERM)\n"
    "os.getppid() == 1 and sys.exit(1)\n"
    "os.execv(sys.argv[1], sys.argv[1:])"
)


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def memory_kb(self) -> dict[str, int]:
        """VmHWM (peak resident set) and VmRSS, in kB, from /proc/<pid>/status."""
        out: dict[str, int] = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                out[key] = int(value.split()[0])
        return out


class Procs:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.started: list[Proc] = []

    def start(self, name: str, argv: list[str], env: dict[str, str], port: int, ready_path: str | None) -> Proc:
        """Start `argv`; wait until `ready_path` answers 200 on `port` (None: a process that
        serves no HTTP, e.g. `jira-sync worker`, is given a moment and checked to be alive)."""
        log = self.workdir / f"{name}.log"
        # Own session: a Ctrl-C in the terminal reaches only the bench, which then stops
        # the children itself, the service before its Jira (else the service's retry
        # logs and tracebacks would land on top of the results).
        with log.open("wb") as out:
            popen = subprocess.Popen(
                [sys.executable, "-c", _LAUNCHER, *argv], env=env, cwd=self.workdir, stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        proc = Proc(name, popen, port, log)
        self.started.append(proc)
        if ready_path is None:
            time.sleep(0.5)
            if popen.poll() is not None:
                raise RuntimeError(f"{name} exited with {popen.returncode}:\n{proc.log_tail()}")
        else:
            self._wait_ready(proc, ready_path)
        return proc

    def _wait_ready(self, proc: Proc, path: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if proc.popen.poll() is not None:
                raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.log_tail()}")
            try:
                with urllib.request.urlopen(proc.url + path, timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{proc.name} did not answer {path} within {START_TIMEOUT:.0f}s:\n{proc.log_tail()}")

    def stop(self, proc: Proc) -> None:
        if proc.popen.poll() is None:
            proc.popen.send_signal(signal.SIGTERM)  # uvicorn shuts down gracefully on SIGTERM
            try:
                proc.popen.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                print(f"{proc.name} (pid {proc.pid}) did not stop within {STOP_TIMEOUT:.0f}s of SIGTERM: killing it",
                      file=sys.stderr, flush=True)
                proc.popen.kill()
                proc.popen.wait(5)
        if proc in self.started:
            self.started.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(list(self.started)):
            try:
                self.stop(proc)
            except Exception as exc:  # keep stopping the others
                print(f"could not stop {proc.name} (pid {proc.pid}): {exc}", file=sys.stderr)


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """The bench's environment without any JIRA_SYNC_* of the caller's, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIRA_SYNC_")}
    env.update(extra)
    return env


def start_service(procs: Procs, name: str, database_url: str, secret_key: str, admin_token: str,
                  *serve_args: str) -> Proc:
    port = free_port()
    env = child_env({
        "JIRA_SYNC_DATABASE_URL": database_url,
        "JIRA_SYNC_SECRET_KEY": secret_key,
        "JIRA_SYNC_ADMIN_TOKEN": admin_token,
        "JIRA_SYNC_HOST": HOST,
        "JIRA_SYNC_PORT": str(port),
    })
    return procs.start(name, [sys.executable, "-m", "jira_sync", "serve", *serve_args], env, port, "/healthz")


def start_fake_jira(procs: Procs, name: str, latency_ms: float = 0.0) -> Proc:
    port = free_port()
    # at a lower CPU priority: a real Jira does not share the service's cores, so on this
    # machine the emulator takes what the service leaves rather than delaying its answers
    argv = [shutil.which("nice") or "/usr/bin/nice", "-n", "10", sys.executable, "-m", "jira_sync", "dev",
            "fake-jira", "--flavour", "cloud", "--host", HOST, "--port", str(port), "--latency-ms", str(latency_ms)]
    return procs.start(name, argv, child_env({}), port, "/rest/api/2/serverInfo")


def start_bare(procs: Procs) -> Proc:
    port = free_port()
    argv = [sys.executable, str(BENCH_DIR / "bare_app.py"), "--host", HOST, "--port", str(port)]
    return procs.start("bare", argv, child_env({}), port, "/healthz")
