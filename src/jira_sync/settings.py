"""Typed settings from the environment or `.env` (prefix JIRA_SYNC_).

Refuses unsafe defaults: no encryption key or admin token means no start
(`jira-sync init` writes both into `.env`).
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DB = "sqlite:///./jira-sync.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JIRA_SYNC_", env_file=".env", extra="ignore")

    database_url: str = Field(default=DEFAULT_DB, description="sqlite:///path or postgresql+asyncpg://...")
    secret_key: SecretStr = Field(description="Fernet key that encrypts stored credentials (jira-sync keygen)")
    admin_token: SecretStr = Field(description="Bearer token for the REST API")
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = Field(default="", description="base URL shown in webhook URLs; default http://host:port")
    secret_grace_hours: float = Field(
        default=24.0, ge=0, description="after a webhook secret is rotated, the old one is still accepted this "
        "long (0: it stops at once)")

    worker_concurrency: int = Field(default=16, ge=1, le=256, description="incidents reconciled at once per process")
    worker_nice: int = Field(default=10, ge=0, le=19, description="CPU priority a `jira-sync worker` process gives "
                             "up (nice): where it shares cores with `serve`, webhooks are answered first")
    site_concurrency: int = Field(default=8, ge=1, le=64, description="requests in flight per Jira site")
    jira_timeout: float = Field(default=10.0, gt=0)
    jira_gateway_url: str = Field(default="https://api.atlassian.com",
                                  description="Atlassian's API gateway, for Cloud's scoped tokens and service accounts")
    lease_seconds: float = Field(
        default=15.0, gt=1, description="a claim's lease; renewed by a heartbeat every third of it, so a dead "
        "worker's incidents are retaken within this (a restart on the same host retakes its own at once)")
    probe_seconds: float = Field(
        default=30.0, gt=0, description="longest wait between probes of a paused Jira site: incidents resume "
        "within this of its return")
    give_up_hours: float = Field(
        default=24.0, gt=0, description="how long transient failures (outages, timeouts, 5xx, 429) are retried "
        "before an incident is marked failed")
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    max_index_lag: float = Field(
        default=600.0, gt=0,
        description="after a create whose answer was lost, on a Jira that cannot read issues by key: how long "
                    "its search may lag before 'not found' is believed")
    history_days: float = Field(default=30, gt=0, description="keep received events and Jira exchanges this long")
    recovery_interval: float = Field(
        default=300.0, gt=0, description="seconds between runs recovering webhooks Flashduty failed to deliver")
    log_level: str = "INFO"
    log_format: Literal["auto", "json", "console"] = Field(
        default="auto", description="json: one JSON object a line; console: readable lines; auto: console on a "
        "terminal, json otherwise")
    # observability (observe/): who may scrape /metrics, where processes share their counters, traces
    metrics_token: SecretStr | None = Field(
        default=None, description="bearer token that opens /metrics only (the admin token opens it too)")
    metrics_dir: str = Field(
        default="", description="directory where serve and worker processes keep their counters for /metrics "
        "(prometheus-client's multiprocess mode); needed when `jira-sync worker` processes run")
    tracing: Literal["off", "otel"] = Field(
        default="off", description="otel: OpenTelemetry spans, exported by OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT "
        "(needs the `otel` extra)")
    # what a reverse proxy would otherwise give (web/server.py, web/input.py)
    body_timeout: float = Field(default=15.0, gt=0, description="seconds for a request body to arrive; then 408")
    header_timeout: float = Field(default=10.0, gt=0, description="seconds for request headers to arrive; then 408")
    keepalive_timeout: int = Field(default=5, ge=1, description="seconds an idle connection is kept open")
    max_connections: int = Field(default=1000, ge=1, description="open connections; past it, 503 at once")
    max_header_bytes: int = Field(default=32 * 1024, ge=4096, description="request line and headers; past it, 431")
    trusted_proxies: str = Field(default="", description="addresses or networks (comma-separated) whose "
                                 "X-Forwarded-For is believed; none by default")

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [p.strip() for p in self.trusted_proxies.split(",") if p.strip()]

    @field_validator("admin_token")
    @classmethod
    def _token_strength(cls, v: SecretStr) -> SecretStr:
        if len(v.get_secret_value()) < 16:
            raise ValueError("admin token must be at least 16 characters (jira-sync init generates one)")
        return v

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token_strength(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and len(v.get_secret_value()) < 16:
            raise ValueError("metrics token must be at least 16 characters")
        return v

    @field_validator("secret_key")
    @classmethod
    def _key_shape(cls, v: SecretStr) -> SecretStr:
        from .crypto import check_key

        check_key(v.get_secret_value())
        return v

    @property
    def base_url(self) -> str:
        """Where webhooks reach this service: PUBLIC_URL, else the listen address (a wildcard
        address is named by this machine's host name, which other machines can resolve)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = self.host
        if host in ("", "0.0.0.0", "::", "[::]"):
            import socket

            host = socket.gethostname()
        elif ":" in host and not host.startswith("["):
            host = f"[{host}]"  # an IPv6 literal in a URL
        return f"http://{host}:{self.port}"

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")
