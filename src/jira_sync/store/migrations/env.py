"""Alembic environment: runs on the connection `store.migrate` hands over."""
from alembic import context

from jira_sync.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - we always pass one
    raise RuntimeError("run migrations with `jira-sync migrate`")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
