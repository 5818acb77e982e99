"""The pure parts: log format choice and rendering, retry wording, Jira operation names,
failure reasons, integration labels, the multiprocess directory's cleaning."""
from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import subprocess
import sys
import time

import pytest

from jira_sync.jira.client_errors import Site, error_for_response, error_for_transport
from jira_sync.jira.port import JiraAuthError, JiraConnectError, JiraPermanentError
from jira_sync.observe import logs, multiproc
from jira_sync.observe.metrics import JIRA_OPERATIONS, UNKNOWN, Metrics, jira_operation, status_class
from jira_sync.sync.outages import Fate, failure_reason
from jira_sync.sync.worker import _next, _outcome

SITE = Site("https://jira.example.com", cloud=True)


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def restore_logging():  # type: ignore[no-untyped-def]
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_auto_is_console_on_a_terminal_and_json_elsewhere() -> None:
    assert logs.wants_json("auto", io.StringIO())
    assert not logs.wants_json("auto", Tty())
    assert logs.wants_json("json", Tty()) and not logs.wants_json("console", io.StringIO())


def test_a_json_line_carries_the_bound_ids_and_its_own_fields(restore_logging) -> None:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    logs.configure("INFO", "auto", out)
    with logs.bound(request_id="r1", integration=3, incident="inc-1", issue_key=None):
        logging.getLogger("jira_sync.test").info("reconciled", extra=logs.fields(issue_key="OPS-7", jira_writes=1))
    logging.getLogger("some_library.module").info("from a library")  # any library logger, same renderer
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["request_id"] == "r1" and first["incident"] == "inc-1" and first["issue_key"] == "OPS-7"
    assert first["level"] == "info" and first["logger"] == "jira_sync.test" and first["jira_writes"] == 1
    assert second["event"] == "from a library" and "request_id" not in second  # the binding ended with its block


def test_json_lines_keep_tracebacks_drop_nones_and_write_what_orjson_refuses(restore_logging) -> None:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    logs.configure("INFO", "json", out)
    log = logging.getLogger("jira_sync.test")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed", extra=logs.fields(issue_key=None, big=2**70, text="a\ud800b", keys={1: "x"}))
    (line,) = (json.loads(text) for text in out.getvalue().splitlines())
    assert line["level"] == "error" and line["event"] == "failed" and "issue_key" not in line
    assert "ValueError: boom" in line["exception"] and line["big"] == 2**70 and line["keys"] == {"1": "x"}
    assert line["timestamp"].endswith("Z") and line["text"] == "a\ud800b"


def test_lines_logged_on_a_loop_go_out_in_one_write_per_turn(restore_logging) -> None:  # type: ignore[no-untyped-def]
    class Counting(io.StringIO):
        flushes = 0

        def flush(self) -> None:
            Counting.flushes += 1
            super().flush()

    out = Counting()
    logs.configure("INFO", "json", out)
    log = logging.getLogger("jira_sync.test")

    async def one_turn() -> tuple[int, int]:
        for i in range(5):
            log.info("line %d", i)
        during = Counting.flushes
        await asyncio.sleep(0)  # the loop turns: the scheduled flush runs
        return during, Counting.flushes

    during, after = asyncio.run(one_turn())
    assert (during, after) == (0, 1) and len(out.getvalue().splitlines()) == 5
    log.info("no loop")  # outside a loop (another thread, the CLI): at once
    assert Counting.flushes == 2


def test_console_lines_are_readable(restore_logging) -> None:  # type: ignore[no-untyped-def]
    out = Tty()
    logs.configure("INFO", "auto", out)
    logging.getLogger("jira_sync.test").warning("site paused", extra=logs.fields(site="https://j"))
    line = out.getvalue()
    assert not line.startswith("{") and "site paused" in line and "site=https://j" in line and "warn" in line


def test_retries_are_said_in_rounded_seconds_never_none() -> None:
    later = Fate("Jira answered 503", time.time() + 0.8612, None)
    assert _next(later) in ("retry in 0.9 s", "retry in 0.8 s")  # rounded to a tenth, never 0.8612...
    assert _outcome(later)["outcome"] == "retry" and isinstance(_outcome(later)["retry_in_s"], float)
    failed = Fate("Jira said no", None, None)
    assert "None" not in _next(failed) and _outcome(failed) == {"outcome": "failed"}


@pytest.mark.parametrize("method,path,op", [
    ("POST", "/rest/api/3/issue", "create_issue"), ("GET", "/rest/api/2/issue/10001", "get_issue"),
    ("PUT", "/rest/api/3/issue/10001", "update_issue"), ("GET", "/rest/api/3/issue/1/transitions", "get_transitions"),
    ("POST", "/rest/api/3/issue/1/transitions", "transition"), ("POST", "/rest/api/3/issue/1/comment", "add_comment"),
    ("GET", "/rest/api/2/issue/OPS-1/comment?startAt=0", "get_comments"),
    ("PUT", "/rest/api/3/issue/1/comment/5/properties/jira-sync", "comment_property"),
    ("POST", "/rest/api/3/search/jql", "search"), ("GET", "/rest/api/2/search?jql=x", "search"),
    ("GET", "/ex/jira/abc/rest/api/3/myself", "myself"), ("GET", "/rest/api/2/serverInfo", "server_info"),
    ("GET", "/_edge/tenant_info", "server_info"), ("GET", "/rest/api/3/project/search", "search"),
    ("GET", "/rest/api/2/project", "projects"), ("GET", "/rest/api/3/issue/createmeta/OPS/issuetypes", "createmeta"),
    ("GET", "/rest/api/3/mypermissions", "permissions"), ("GET", "/rest/api/3/field", "other"),
])
def test_jira_operations_name_the_call_never_the_issue(method: str, path: str, op: str) -> None:
    assert jira_operation(method, path) == op and op in JIRA_OPERATIONS


def test_status_classes() -> None:
    assert [status_class(s) for s in (200, 204, 302, 404, 429, 503, None)] == ["2xx", "2xx", "3xx", "4xx", "4xx", "5xx", "error"]


def test_failure_reasons_follow_alertmanager() -> None:
    def answered(status: int, **headers: str) -> Exception:
        return error_for_response(status, headers, {"errorMessages": ["no"]}, site=SITE, method="POST", path="/x",
                                  write=True)  # type: ignore[return-value]
    import httpx

    request = httpx.Request("POST", "https://jira.example.com/x")
    assert failure_reason(answered(400)) == "clientError"
    assert failure_reason(answered(404)) == "clientError"
    assert failure_reason(answered(401)) == "authError"
    assert failure_reason(answered(403)) == "authError"
    assert failure_reason(answered(429)) == "rateLimited"
    assert failure_reason(answered(500)) == "serverError"
    assert failure_reason(answered(503)) == "serverError"
    assert failure_reason(error_for_transport(httpx.ReadTimeout("slow", request=request), site=SITE, method="POST",
                                              path="/x", write=True)) == "timeout"
    assert failure_reason(error_for_transport(httpx.ConnectTimeout("slow", request=request), site=SITE, method="GET",
                                              path="/x", write=False)) == "timeout"
    assert failure_reason(JiraConnectError("refused", reason="unreachable")) == "other"
    assert failure_reason(JiraPermanentError("cannot ask Jira for that")) == "clientError"
    assert failure_reason(JiraAuthError("captcha", reason="captcha_required", status=403)) == "authError"
    assert failure_reason(RuntimeError("bug")) == "other"


def test_webhooks_for_ids_no_integration_has_share_one_label() -> None:
    m = Metrics()
    assert m.integration_label(7) == UNKNOWN
    m.known_integration(7)
    assert m.integration_label(7) == "7"
    for reason in ("unauthorized", "bad_payload"):
        assert m.webhooks_rejected.labels("7", reason)._value.get() == 0  # created at zero


def test_the_metrics_directory_keeps_live_processes_files_and_drops_the_dead(tmp_path) -> None:  # type: ignore[no-untyped-def]
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(gone.stdout)
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        files = {name: tmp_path / name for name in (f"counter_{dead_pid}.db", f"counter_{live.pid}.db",
                                                     f"histogram_{os.getpid()}.db")}
        for f in files.values():
            f.write_bytes(b"\0")
        multiproc.clean(str(tmp_path))
        assert [f.name for f in files.values() if f.exists()] == [f"counter_{live.pid}.db"]
    finally:
        live.kill()
        live.wait()


def test_the_metrics_directory_cannot_be_set_once_the_client_counts_in_memory(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import prometheus_client  # noqa: F401  (imported by now: counting in this process's memory)

    if os.environ.get(multiproc.ENV):
        pytest.skip("this test process runs in multiprocess mode")
    with pytest.raises(RuntimeError, match="before the metrics directory"):
        multiproc.prepare(str(tmp_path))
    assert multiproc.ENV not in os.environ
