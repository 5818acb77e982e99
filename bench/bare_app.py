"""The baseline: a bare FastAPI endpoint that reads the body, parses the JSON and answers 200.

Served exactly as `jira-sync serve` serves the real app (`web/server.py`: uvicorn with the
default connection limits and the guarded httptools protocol, uvloop when installed), in its
own process, so "ratio to bare" isolates what the webhook handler itself costs: secret
check, parsing, the trigger decision and the database transaction.
"""
from __future__ import annotations

import argparse

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from jira_sync.crypto import generate_key
from jira_sync.settings import Settings
from jira_sync.web.server import uvicorn_config

app = FastAPI()


@app.post("/webhooks/flashduty/{integration_id}")
async def webhook(integration_id: int, request: Request) -> JSONResponse:
    await request.json()  # the service reads and parses the whole body too
    return JSONResponse({"status": "accepted"})


@app.get("/healthz")
async def healthz() -> JSONResponse:
    return JSONResponse({"status": "ok"})


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    settings = Settings(secret_key=generate_key(), admin_token="bare-app-token-0123", host=args.host, port=args.port,
                        _env_file=None)  # defaults for everything the server reads
    uvicorn.Server(uvicorn_config(app, settings, log_level="info")).run()
