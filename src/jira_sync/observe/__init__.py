"""Running it like infrastructure: Prometheus metrics (`metrics.py`, with `multiproc.py` for
serve + worker processes), structured logs (`logs.py`) and optional OpenTelemetry traces
(`tracing.py`). A leaf package: it imports nothing else of jira_sync, so every layer may use it.

Nothing here imports prometheus_client at package import: `multiproc.prepare` must run first.
"""
