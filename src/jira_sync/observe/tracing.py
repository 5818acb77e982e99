"""Optional OpenTelemetry traces (TRACING=otel; off by default, and then free).

A server span per webhook and a client span per Jira attempt (and per Flashduty Open API
call), named and attributed by OpenTelemetry's HTTP conventions. `url.full` never carries a
credential: user-info is dropped and secret query values (Flashduty's `app_key`, a webhook
`secret`, tokens) read `REDACTED`. The packages are the `otel` extra
(`pip install 'jira-sync[otel]'`); the exporter is OTLP over HTTP and reads the standard
OTEL_EXPORTER_OTLP_* variables (endpoint, headers).
"""
from __future__ import annotations

import contextlib
import re
from typing import Any, Iterator

REDACTED = "REDACTED"
_SECRET_QUERY = re.compile(r"(?i)([?&](?:app_key|secret|token|api_token|access_token|password|key)=)[^&#]*")
_USERINFO = re.compile(r"^([a-z][a-z0-9+.-]*://)[^/@]*@", re.I)

_tracer: Any = None  # set by `configure`; None: tracing is off


def redact_url(url: str) -> str:
    """A URL fit for a span or a log: no user-info, no secret query values."""
    return _SECRET_QUERY.sub(lambda m: m.group(1) + REDACTED, _USERINFO.sub(r"\1", url))


def configure(mode: str, *, exporter: Any = None) -> bool:
    """Turn tracing on for `mode == "otel"`. `exporter`: where spans go (tests pass the SDK's
    in-memory exporter); by default OTLP/HTTP. Returns whether tracing is on."""
    global _tracer
    if mode != "otel":
        _tracer = None
        return False
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ImportError as exc:  # the extra is not installed: say how, do not start half-configured
        raise RuntimeError("TRACING=otel needs the OpenTelemetry packages: pip install 'jira-sync[otel]'") from exc
    provider = TracerProvider(resource=Resource.create({"service.name": "jira-sync"}))
    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    _tracer = provider.get_tracer("jira_sync")
    return True


def enabled() -> bool:
    return _tracer is not None


@contextlib.contextmanager
def _span(name: str, kind: str, attributes: dict[str, Any]) -> Iterator[Any]:
    from opentelemetry.trace import SpanKind, Status, StatusCode

    with _tracer.start_as_current_span(name, kind=getattr(SpanKind, kind), attributes=attributes,
                                       record_exception=True, set_status_on_exception=True) as span:
        yield span
        status = span.attributes.get("http.response.status_code") if hasattr(span, "attributes") else None
        if isinstance(status, int) and status >= (500 if kind == "SERVER" else 400):
            span.set_status(Status(StatusCode.ERROR))


def server_span(route: str, method: str = "POST", **attributes: Any) -> contextlib.AbstractContextManager[Any]:
    """A span for handling one request to `route` (the route template, never the ids in it)."""
    if _tracer is None:
        return contextlib.nullcontext()
    return _span(f"{method} {route}", "SERVER", {"http.request.method": method, "http.route": route, **attributes})


def client_span(method: str, url: str, *, resend_count: int = 0, **attributes: Any) -> contextlib.AbstractContextManager[Any]:
    """A span for one HTTP attempt to Jira or Flashduty; `url` is redacted here."""
    if _tracer is None:
        return contextlib.nullcontext()
    attrs = {"http.request.method": method, "url.full": redact_url(url), **attributes}
    if resend_count:
        attrs["http.request.resend_count"] = resend_count
    return _span(method, "CLIENT", attrs)


def set_status(span: Any, status: int | None) -> None:
    if span is not None and status is not None:
        span.set_attribute("http.response.status_code", status)
