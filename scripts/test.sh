#!/usr/bin/env bash
# Install jira-sync with its test dependencies into .venv and run every suite.
# PostgreSQL tests use JIRA_SYNC_TEST_PG_URL (default postgres@127.0.0.1:5432/test) and are
# skipped with the reason when no server answers; JIRA_SYNC_REQUIRE_PG=1 makes that a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
exec .venv/bin/pytest -ra "$@"
