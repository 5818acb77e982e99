"""The HTTP client under the worker's Jira calls, side by side (`src/jira_sync/outbound_http.py`).

    .venv/bin/python bench/http_client.py [--requests 3000]

A local server in its own process answers a Jira-sized create (POST, ~0.6 KB of JSON in,
a small JSON body out) at once. This process sends the same requests through four clients
and prints the client's CPU per request (time.process_time: this process only), one request
at a time and 16 in flight (the worker's concurrency):

- httpx with its own transport (httpcore on anyio): what the service used before;
- httpx's client on `AiohttpTransport` (httpx's API, aiohttp's connections): the service's
  until its Jira connection skipped the client's per-request machinery;
- the service's Jira connection (`jira/client_http.py` JiraHttp: an httpx request handed to
  `AiohttpTransport` directly, with its site gate and error mapping);
- aiohttp alone: the floor.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from jira_sync.domain.integration import JiraConnection  # noqa: E402
from jira_sync.jira.client_http import JiraHttp  # noqa: E402
from jira_sync.jira.ratelimit import SiteGate  # noqa: E402
from jira_sync.outbound_http import AiohttpTransport  # noqa: E402

from procs import HOST, free_port  # noqa: E402

SERVER = """
import sys
from aiohttp import web
BODY = b'{"id":"10001","key":"OPS-1","self":"http://jira/rest/api/3/issue/10001"}'
async def create(request):
    await request.read()
    return web.Response(body=BODY, status=201, content_type="application/json")
app = web.Application()
app.router.add_post("/rest/api/3/issue", create)
web.run_app(app, host=sys.argv[1], port=int(sys.argv[2]), print=None, access_log=None)
"""
CREATE = {"fields": {"project": {"key": "OPS"}, "issuetype": {"id": "10001"}, "summary": "disk full on db-1 " * 4,
                     "labels": ["fd-6571ab"], "description": {"type": "doc", "version": 1, "content": [
                         {"type": "paragraph", "content": [{"type": "text", "text": "Triggered by probe. " * 20}]}]}}}
PATH = "/rest/api/3/issue"


async def _measure(send, requests: int, in_flight: int) -> float:  # type: ignore[no-untyped-def]
    gate = asyncio.Semaphore(in_flight)

    async def one() -> None:
        async with gate:
            await send()

    await asyncio.gather(*(one() for _ in range(200)))  # connections opened, code warm
    started = time.process_time()
    await asyncio.gather(*(one() for _ in range(requests)))
    return (time.process_time() - started) / requests * 1e6


async def run(base: str, requests: int) -> dict[str, dict[int, float]]:
    results: dict[str, dict[int, float]] = {}
    for name in ("httpx, its own transport", "httpx's client on AiohttpTransport",
                 "JiraHttp: httpx's request to AiohttpTransport (the service)", "aiohttp alone"):
        results[name] = {}
        for in_flight in (1, 16):
            if name.startswith("JiraHttp"):
                conn = JiraConnection(platform="server", url=base, username="bench", secret="bench-secret")
                # a gate of 16: the service's 8 per site would hold half of them back
                http = JiraHttp(conn, gate=SiteGate(16), on_exchange=None, timeout=10, transport=None)
                try:
                    async def send() -> None:
                        await http.request("POST", PATH, json_body=CREATE, write=True)
                    results[name][in_flight] = await _measure(send, requests, in_flight)
                finally:
                    await http.aclose()
            elif name.startswith("aiohttp"):
                async with aiohttp.ClientSession(base) as session:
                    async def send() -> None:
                        async with session.post(PATH, data=json.dumps(CREATE).encode(),
                                                headers={"Content-Type": "application/json"}) as r:
                            json.loads(await r.read())
                    results[name][in_flight] = await _measure(send, requests, in_flight)
            else:
                transport = AiohttpTransport() if "Aiohttp" in name else None
                async with httpx.AsyncClient(base_url=base, transport=transport) as client:
                    async def send() -> None:
                        (await client.post(PATH, json=CREATE)).json()
                    results[name][in_flight] = await _measure(send, requests, in_flight)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, HOST, str(port)])
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                httpx.post(f"http://{HOST}:{port}{PATH}", json={})
                break
            except httpx.TransportError:
                time.sleep(0.05)
        results = asyncio.run(run(f"http://{HOST}:{port}", args.requests))
    finally:
        server.terminate()
        server.wait()
    floor = results["aiohttp alone"]
    print(f"client CPU per request, µs ({args.requests:,} requests each; ratio to aiohttp alone)\n")
    print("| client | 1 in flight | 16 in flight |")
    print("|---|---|---|")
    for name, by in results.items():
        print(f"| {name} | {by[1]:,.0f} ({by[1] / floor[1]:.1f}×) | {by[16]:,.0f} ({by[16] / floor[16]:.1f}×) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
