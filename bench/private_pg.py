"""A PostgreSQL cluster of the soak's own, so `--pg-restart` never restarts the machine's server.

The machine's server (127.0.0.1:5432) is shared with the test suite and anyone else working
here; restarting it mid-soak would break their connections. Instead, `--pg-restart` runs
`initdb` into a temporary directory, starts that cluster on a free loopback port, restarts it
mid-run (`pg_ctl restart -m fast`, what an orchestrator or a failover does) and removes it at the
end. PostgreSQL refuses to run as root, so when the soak runs as root the cluster belongs to the
`postgres` user.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from procs import HOST, free_port


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise SystemExit(f"--pg-restart needs PostgreSQL's {name} (Debian: postgresql package)")
    return found[-1]


class PrivatePostgres:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="soak-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self._user = "postgres" if os.geteuid() == 0 else None

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@{HOST}:{self.port}/postgres"

    def _run(self, *cmd: str) -> None:
        prefix = ["runuser", "-u", self._user, "--"] if self._user else []
        subprocess.run([*prefix, *cmd], check=True, capture_output=True)

    def start(self) -> "PrivatePostgres":
        if self._user:
            entry = pwd.getpwnam(self._user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        self._run(_bin("initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self._pg_ctl("start", "-w")
        return self

    def restart(self) -> None:
        """A crash of the server, then its start: immediate mode skips the shutdown checkpoint
        and drops the WAL still in PostgreSQL's buffers, so commits that did not wait for
        the flush (store/claims.py `_lazy`) may be lost, as in a real crash; recovery replays
        the rest."""
        self._pg_ctl("restart", "-w", "-m", "immediate")

    def _pg_ctl(self, *action: str) -> None:
        opts = f"-p {self.port} -c listen_addresses={HOST} -k {self.dir} -c max_connections=200"
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-o", opts, "-l", str(self.dir / "log"), *action)

    def stop(self) -> None:
        try:
            self._pg_ctl("stop", "-m", "immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
