"""Shared fixtures: databases (SQLite always, PostgreSQL when available) and settings."""
from __future__ import annotations

import pytest

from jira_sync.crypto import generate_key
from jira_sync.settings import Settings
from support.databases import postgres_url

from support import ADMIN_TOKEN


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/jira-sync.db"
    return postgres_url()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key=generate_key(),
        admin_token=ADMIN_TOKEN,
        _env_file=None,  # tests never read a developer's .env
    )
