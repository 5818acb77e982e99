"""The emulator's webhook integrations: matching, Flashduty's delivery rules, history records,
background delivery, and receivers that call the emulator back while being delivered to."""
from __future__ import annotations

import json
import socket
import threading

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from flashduty.test_flashduty_sender import ScriptedServer
from jira_sync.devtools.fake_flashduty import FakeFlashduty, FakeFlashdutyServer


class Receiver:
    """A webhook receiver on loopback: records each push, answers `status`, and may call
    `on_push(payload)` (in its request thread) and add what it returns to its JSON answer."""

    def __init__(self, status: int = 200) -> None:
        self.status, self.pushes, self.on_push = status, [], None
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                payload = json.loads(raw)
                owner.pushes.append({"headers": {k.lower(): v for k, v in self.headers.items()},
                                     "raw": raw, "payload": payload})
                extra = owner.on_push(payload) if owner.on_push else None
                body = json.dumps({"ok": True, **(extra or {})}).encode()
                self.send_response(owner.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.01,), daemon=True)
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/hook"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def types(self) -> list[str]:
        return [p["payload"]["event_type"] for p in self.pushes]


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(status: int = 200) -> Receiver:
        made.append(Receiver(status))
        return made[-1]

    yield make
    for r in made:
        r.stop()


@pytest.fixture
def scripted():
    made: list[ScriptedServer] = []

    def make(*script) -> ScriptedServer:
        made.append(ScriptedServer(*script))
        return made[-1]

    yield make
    for s in made:
        s.close()


def free_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/hook"


def test_each_change_is_pushed_to_matching_integrations_with_their_headers(receiver):
    fake, every, scoped = FakeFlashduty(), receiver(), receiver()
    a = fake.add_webhook(every.url, headers={"X-Secret": "s3"})
    b = fake.add_webhook(scoped.url, channel_ids=[777], event_types=["i_ack"])
    assert a.integration_id != b.integration_id and a.integration_id > 10**12
    iid = fake.open_incident()["incident"]["incident_id"]
    fake.ack(iid)
    other = fake.open_incident(channel_id=777)["incident"]["incident_id"]
    fake.ack(other, by="Bob")
    fake.add_comment(other, "hi")
    assert every.types() == ["i_new", "i_ack", "i_new", "i_ack", "i_comm"]
    assert scoped.types() == ["i_ack"]
    assert scoped.pushes[0]["payload"]["incident"]["incident_id"] == other
    push = every.pushes[1]
    assert push["headers"]["x-secret"] == "s3"
    assert push["headers"]["content-type"] == "application/json"
    assert json.loads(push["raw"]) == fake.events[1]  # the payload the mutator returned


def test_history_records_each_delivery_like_the_spec(receiver):
    fake, rcv = FakeFlashduty(), receiver()
    hook = fake.add_webhook(rcv.url, headers={"X-Secret": "s3"})
    payload = fake.open_incident()
    [rec] = fake.deliveries()
    assert rec["integration_id"] == hook.integration_id
    assert rec["webhook_type"] == "incident" and rec["event_type"] == "i_new"
    assert rec["ref_id"] == payload["incident"]["incident_id"]
    assert rec["channel_id"] == payload["incident"]["channel_id"]
    assert rec["request_body"] == rcv.pushes[0]["raw"].decode()  # the exact bytes sent
    assert json.loads(rec["request_headers"]) == {"X-Secret": "s3",
                                                  "Content-Type": "application/json"}
    assert (rec["status"], rec["status_code"], rec["attempt"]) == ("success", 200, 1)
    assert rec["endpoint"] == rcv.url and rec["duration"] >= 1
    assert json.loads(rec["response_body"]) == {"ok": True} and "error_message" not in rec
    # the record has its own id, like the spec's example: the payload's id is in the body
    assert rec["event_id"] != payload["event_id"] and len(rec["event_id"]) == 30
    assert rec["event_id"][:8].isdigit() and rec["event_time"].endswith("+08:00")


def test_a_non_200_answer_is_final(receiver):
    fake, rcv = FakeFlashduty(), receiver(status=500)
    fake.add_webhook(rcv.url)
    fake.open_incident()
    [rec] = fake.deliveries()
    assert len(rcv.pushes) == 1
    assert (rec["status"], rec["status_code"], rec["attempt"]) == ("failed", 500, 1)
    assert rec["error_message"] and "response_body" not in rec


def test_eof_is_retried_once_and_recorded_as_two_attempts(scripted):
    fake = FakeFlashduty()
    server = scripted("eof", 200)
    fake.add_webhook(server.url)
    fake.open_incident()
    [rec] = fake.deliveries()
    assert len(server.requests) == 2
    assert (rec["status"], rec["attempt"], rec["status_code"]) == ("success", 2, 200)
    fake.remove_webhook(rec["integration_id"])
    fake.add_webhook(scripted("eof", "eof").url)
    fake.open_incident()
    last = fake.deliveries()[-1]
    assert (last["status"], last["attempt"], last["status_code"]) == ("failed", 2, 0)
    assert last["error_message"].endswith(": EOF")


def test_a_slow_receiver_times_out_once_and_is_not_retried(scripted):
    fake = FakeFlashduty()
    fake.settings.webhook_timeout = 0.3
    server = scripted(("sleep", 1.0, 200), 200)
    fake.add_webhook(server.url)
    fake.open_incident()
    [rec] = fake.deliveries()
    assert len(server.requests) == 1  # "excluding awaiting headers": no retry
    assert rec["status"] == "failed" and "awaiting headers" in rec["error_message"]


def test_a_refused_connection_is_not_retried_unless_set():
    fake = FakeFlashduty()
    fake.add_webhook(free_port_url())
    fake.open_incident()
    rec = fake.deliveries()[-1]
    assert (rec["status"], rec["attempt"]) == ("failed", 1)
    assert "connection refused" in rec["error_message"] or "dial tcp" in rec["error_message"]
    fake.settings.retry_connection_refused = True
    fake.open_incident()
    assert fake.deliveries()[-1]["attempt"] == 2


@pytest.mark.parametrize(("mode", "attempts", "needle"), [
    (True, 1, "connection refused"), ("timeout", 1, "awaiting headers"), ("eof", 2, "EOF")])
def test_receiver_down_switch_fails_without_network(receiver, mode, attempts, needle):
    fake, rcv = FakeFlashduty(), receiver()
    fake.add_webhook(rcv.url)
    fake.settings.webhooks_down = mode
    fake.open_incident()
    rec = fake.deliveries()[-1]
    assert rcv.pushes == [] and rec["status"] == "failed"
    assert rec["attempt"] == attempts and needle in rec["error_message"]
    fake.settings.webhooks_down = False
    fake.open_incident()
    assert fake.deliveries()[-1]["status"] == "success" and len(rcv.pushes) == 1


def test_one_integration_can_be_down_alone(receiver):
    fake, up, down = FakeFlashduty(), receiver(), receiver()
    fake.add_webhook(up.url)
    fake.add_webhook(down.url, down=True)
    fake.open_incident()
    assert [r["status"] for r in fake.deliveries()] == ["success", "failed"]


def test_background_delivery_returns_at_once_and_keeps_order(receiver):
    fake, rcv = FakeFlashduty(), receiver()
    fake.add_webhook(rcv.url)
    fake.settings.deliver_in_background = True
    iid = fake.open_incident()["incident"]["incident_id"]
    for i in range(5):
        fake.add_comment(iid, f"c{i}")
    fake.wait_deliveries(10)
    assert rcv.types() == ["i_new"] + ["i_comm"] * 5
    times = [p["payload"]["event_time"] for p in rcv.pushes]
    assert times == sorted(times)


def test_the_worker_thread_exits_when_idle(receiver):
    fake, rcv = FakeFlashduty(), receiver()
    fake.add_webhook(rcv.url)
    fake.settings.deliver_in_background = True
    fake.open_incident()
    fake.wait_deliveries()
    worker = fake.delivery._worker
    if worker is not None:
        worker.join(timeout=3)
    assert not any(t.name == "fake-flashduty-webhooks" for t in threading.enumerate())


def test_a_receiver_may_call_the_emulator_back_during_a_sync_delivery(receiver):
    fake, rcv = FakeFlashduty(), receiver()
    with FakeFlashdutyServer(fake) as server:
        def fetch_feed(payload):
            resp = httpx.post(f"{server.url}/incident/feed", params={"app_key": fake.app_key},
                              json={"incident_id": payload["incident"]["incident_id"], "limit": 1},
                              timeout=5)
            return {"feed": resp.json()["data"]["items"][0]["detail"]}

        rcv.on_push = fetch_feed
        fake.add_webhook(rcv.url)
        iid = fake.open_incident()["incident"]["incident_id"]
        fake.add_comment(iid, "hello")  # delivered in this thread, the lock released
        rec = fake.deliveries()[-1]
        assert rec["status"] == "success"
        assert json.loads(rec["response_body"])["feed"]["comment"] == "hello"


def test_history_retention_drops_old_records(receiver):
    fake, rcv = FakeFlashduty(), receiver()
    fake.add_webhook(rcv.url)
    fake.open_incident()
    assert len(fake.deliveries()) == 1
    now = fake.clock()
    fake.clock = lambda: now + 7 * 86400 + 5
    assert fake.deliveries() == []


def test_payload_event_ids_can_be_used_as_history_ids(receiver):
    fake, rcv = FakeFlashduty(), receiver()
    fake.add_webhook(rcv.url)
    fake.settings.history_event_id = "payload"
    payload = fake.open_incident()
    assert fake.deliveries()[0]["event_id"] == payload["event_id"]


def test_muted_comments_are_pushed_unless_set(receiver):
    fake, rcv = FakeFlashduty(), receiver()
    fake.add_webhook(rcv.url)
    iid = fake.open_incident()["incident"]["incident_id"]
    fake.add_comment(iid, "a", mute_reply=True)
    fake.settings.mute_reply_skips_webhook = True
    fake.add_comment(iid, "b", mute_reply=True)
    assert rcv.types() == ["i_new", "i_comm"]
    assert [e["type"] for e in fake.timeline(iid)][-2:] == ["i_comm", "i_comm"]


def test_endpoint_must_be_http():
    with pytest.raises(ValueError):
        FakeFlashduty().add_webhook("ftp://example.com/hook")
