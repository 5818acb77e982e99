#!/usr/bin/env bash
# Install jira-sync into .venv and run it on SQLite (no other server needed).
# First run: writes .env with a new encryption key and admin token (printed once).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -e .
.venv/bin/jira-sync init
.venv/bin/jira-sync users ensure-admin   # first run: a console account, password printed once
exec .venv/bin/jira-sync serve "$@"
