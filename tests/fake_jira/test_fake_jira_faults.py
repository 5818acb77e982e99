"""Injected faults, and the server's lifecycle."""
from __future__ import annotations

import threading
import time

import httpx
import pytest

from jira_sync.devtools.fake_jira import FakeJira, FakeJiraServer

CREATE = r"/rest/api/\d/issue$"


def _create(site, **kw):
    body = {"fields": {"project": {"key": "OPS"}, "issuetype": {"id": "10001"}, "summary": "x"}}
    return site.http.post(f"/rest/api/{site.api}/issue", json=body, **kw)


def test_429_with_retry_after_then_recovers(cloud):
    fault = cloud.fake.faults.add(method="POST", path=CREATE, kind="429", times=2, retry_after=3)
    for _ in range(2):
        r = _create(cloud)
        assert r.status_code == 429 and r.headers["Retry-After"] == "3"
        assert r.headers["X-RateLimit-Remaining"] == "0" and "X-RateLimit-Reset" in r.headers
    assert cloud.http.get("/rest/api/3/myself").status_code == 200  # other requests unaffected
    assert _create(cloud).status_code == 201
    assert fault.fired == 2 and len(cloud.fake.issues) == 1
    assert cloud.fake.count_requests("POST", CREATE) == 3
    assert [s for m, _, s in cloud.fake.request_log if m == "POST"] == [429, 429, 201]


def test_503_and_500(cloud):
    cloud.fake.faults.add(kind="503", retry_after=2)
    cloud.fake.faults.add(kind="503")
    cloud.fake.faults.add(kind="500")
    first, second, third = (cloud.http.get("/rest/api/3/myself") for _ in range(3))
    assert first.status_code == 503 and first.headers["Retry-After"] == "2"
    assert second.status_code == 503 and "Retry-After" not in second.headers
    assert third.status_code == 500 and third.json()["errorMessages"]
    cloud.fake.faults.add(kind="500", times=None)
    assert cloud.http.get("/rest/api/3/myself").status_code == 500
    cloud.fake.faults.clear()
    assert cloud.http.get("/rest/api/3/myself").status_code == 200


def test_timeout_does_not_apply_the_request(cloud):
    cloud.fake.faults.add(method="POST", path=CREATE, kind="timeout", delay=5)
    with pytest.raises(httpx.ReadTimeout):
        _create(cloud, timeout=0.2)
    cloud.fake.faults.add(method="POST", path=CREATE, kind="timeout", delay=0.05)
    assert _create(cloud).status_code == 504  # a patient client hears the gateway give up
    assert not cloud.fake.issues


def test_lost_response_applies_the_request(site):
    site.fake.faults.add(method="POST", path=CREATE, kind="lost_response")
    with pytest.raises(httpx.TransportError):
        _create(site)
    [issue] = site.fake.issues.values()
    assert issue.key == "OPS-1"
    assert site.fake.request_log[-1] == ("POST", f"/rest/api/{site.api}/issue", None)
    site.fake.faults.add(method="POST", path=r"/comment$", kind="lost_response", delay=5)
    with pytest.raises(httpx.ReadTimeout):
        site.http.post(f"/rest/api/2/issue/{issue.key}/comment", json={"body": "once"}, timeout=0.2)
    assert [c.text for c in issue.comments] == ["once"]
    assert _create(site).status_code == 201  # the next request is served normally


def test_captcha_fault(server):
    server.fake.faults.add(path=r"/myself$", kind="captcha")
    r = server.http.get("/rest/api/2/myself")
    assert r.status_code == 403 and r.headers["X-Authentication-Denied-Reason"].startswith("CAPTCHA_CHALLENGE")
    assert server.http.get("/rest/api/2/myself").status_code == 200


def test_unknown_fault_kind_is_refused(cloud):
    with pytest.raises(ValueError):
        cloud.fake.faults.add(kind="teapot")


def test_server_starts_and_stops_fast_without_leftover_threads():
    before = set(threading.enumerate())
    fake = FakeJira("server", "8.20.0")
    started = time.monotonic()
    with FakeJiraServer(fake) as srv:
        assert time.monotonic() - started < 1 and srv.url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=srv.url, auth=("admin", "secret")) as c:
            assert c.get("/rest/api/2/myself").status_code == 200
            fake.faults.add(kind="timeout", delay=30)  # a request still sleeping at stop time
            with pytest.raises(httpx.ReadTimeout):
                c.get("/rest/api/2/myself", timeout=0.1)
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 1
    assert set(threading.enumerate()) <= before


def test_down_refuses_connections_then_up_at_the_same_url():
    fake = FakeJira("cloud")
    with FakeJiraServer(fake) as srv:
        url = srv.url
        with httpx.Client(base_url=url, auth=("admin@example.com", "cloud-token"), timeout=2) as c:
            assert c.get("/rest/api/3/myself").status_code == 200  # a kept-alive connection
            srv.down()
            assert not srv.is_up
            with pytest.raises(httpx.TransportError):  # the kept-alive connection is gone too
                c.get("/rest/api/3/myself")
            with pytest.raises(httpx.ConnectError):
                httpx.get(url + "/rest/api/3/serverInfo", timeout=1)
            assert srv.up() == url and srv.is_up
            assert c.get("/rest/api/3/myself").status_code == 200
            srv.down(seconds=0.3)  # a timed outage
            with pytest.raises(httpx.TransportError):
                c.get("/rest/api/3/myself")
            deadline = time.monotonic() + 5
            while not srv.is_up and time.monotonic() < deadline:
                time.sleep(0.02)
            assert c.get("/rest/api/3/myself").status_code == 200 and srv.url == url


def test_reset_fault_drops_the_connection_without_applying(cloud):
    cloud.fake.faults.add(method="POST", path=CREATE, kind="reset")
    with pytest.raises(httpx.TransportError):
        _create(cloud)
    assert not cloud.fake.issues
    assert cloud.fake.request_log[-1][2] is None
    assert _create(cloud).status_code == 201


def test_latency_delays_every_answer(cloud):
    """`latency_s`: a Jira across a network. Every answer waits, also when several are asked at once."""
    cloud.fake.latency_s = 0.3
    try:
        results: list[float] = []

        def call() -> None:
            started = time.monotonic()
            assert cloud.http.get("/rest/api/3/myself").status_code == 200
            results.append(time.monotonic() - started)

        threads = [threading.Thread(target=call) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(results) == 4 and min(results) >= 0.3
    finally:
        cloud.fake.reset()
    assert cloud.fake.latency_s == 0.0
