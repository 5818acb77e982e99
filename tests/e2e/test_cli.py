"""Integrations kept in git: `jira-sync integrations apply/list/check` against the Jira emulator."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from jira_sync.cli import main
from jira_sync.devtools.fake_jira import FakeJira, FakeJiraServer

YAML = """
name: ops-to-jira
jira:
  platform: cloud
  url: {url}
  username: admin@example.com
  secret: ${{TEST_JIRA_TOKEN}}
project: OPS
issue_type: Task
severity_map: {{Critical: Highest, Warning: Medium, Info: Low}}
conditions:
  - - {{key: severity, oper: IN, vals: [Critical]}}
"""


@pytest.fixture
def cli_env(settings, monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    monkeypatch.setenv("JIRA_SYNC_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("JIRA_SYNC_SECRET_KEY", settings.secret_key.get_secret_value())
    monkeypatch.setenv("JIRA_SYNC_ADMIN_TOKEN", settings.admin_token.get_secret_value())
    with FakeJiraServer(FakeJira("cloud")) as server:
        yield server, tmp_path


def test_apply_list_check_from_yaml(cli_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    server, tmp = cli_env
    path = tmp / "integration.yaml"
    path.write_text(YAML.format(url=server.url))
    runner = CliRunner()

    missing = runner.invoke(main, ["integrations", "apply", str(path)])
    assert missing.exit_code != 0 and "TEST_JIRA_TOKEN" in missing.output  # secrets come from the environment

    monkeypatch.setenv("TEST_JIRA_TOKEN", "cloud-token")
    created = runner.invoke(main, ["integrations", "apply", str(path)])
    assert created.exit_code == 0, created.output
    assert "created 'ops-to-jira'" in created.output and "X-Jira-Sync-Secret" in created.output

    again = runner.invoke(main, ["integrations", "apply", str(path)])  # idempotent: by name
    assert again.exit_code == 0 and "updated 'ops-to-jira'" in again.output

    listed = runner.invoke(main, ["integrations", "list", "--json"])
    rows = json.loads(listed.output)
    assert [r["name"] for r in rows] == ["ops-to-jira"] and rows[0]["enabled"] is True
    assert "cloud-token" not in listed.output

    checked = runner.invoke(main, ["integrations", "check", "ops-to-jira"])
    assert checked.exit_code == 0 and "ok" in checked.output

    path.write_text(YAML.format(url=server.url).replace("project: OPS", "project: NOPRI"))
    refused = runner.invoke(main, ["integrations", "apply", str(path)])
    assert refused.exit_code == 1 and "Priority" in refused.output


def test_serve_refuses_to_start_without_a_key(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JIRA_SYNC_SECRET_KEY", raising=False)
    monkeypatch.setenv("JIRA_SYNC_ADMIN_TOKEN", "x" * 20)
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code != 0 and "secret_key" in result.output and "jira-sync init" in result.output


def test_init_writes_a_private_env_once(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    first = runner.invoke(main, ["init"])
    assert first.exit_code == 0
    env = (tmp_path / ".env").read_text()
    assert "JIRA_SYNC_SECRET_KEY=" in env and "JIRA_SYNC_ADMIN_TOKEN=" in env
    assert oct((tmp_path / ".env").stat().st_mode & 0o777) == "0o600"
    runner.invoke(main, ["init"])
    assert (tmp_path / ".env").read_text() == env  # never overwrites a key: stored secrets depend on it


def test_send_example_posts_the_documented_payload(cloud_over_http) -> None:  # type: ignore[no-untyped-def]
    cloud = cloud_over_http  # the command posts to the service's URL over the network
    _, hook = cloud.integration()
    result = CliRunner().invoke(main, ["dev", "send-example", hook.url, "--secret", hook.headers["X-Jira-Sync-Secret"]])
    assert result.exit_code == 0 and "HTTP 200" in result.output
    cloud.synced()
    cloud.issue_for("64b1352e376e32c85c56e25b")
    wrong = CliRunner().invoke(main, ["dev", "send-example", hook.url, "--secret", "nope"])
    assert wrong.exit_code == 1 and "HTTP 401" in wrong.output


def test_console_accounts_from_the_cli(cli_env) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    first = runner.invoke(main, ["users", "ensure-admin"])
    assert first.exit_code == 0 and "sign in as admin with password" in first.output
    password = first.output.split("password ", 1)[1].split()[0]
    again = runner.invoke(main, ["users", "ensure-admin"])  # only on the first run
    assert again.exit_code == 0 and again.output == ""
    short = runner.invoke(main, ["users", "add", "ops", "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "at least 10 characters" in short.output
    added = runner.invoke(main, ["users", "add", "ops", "--password-stdin"], input="a long enough password\n")
    assert added.exit_code == 0, added.output
    twice = runner.invoke(main, ["users", "add", "ops", "--password-stdin"], input="a long enough password\n")
    assert twice.exit_code == 1 and "exists already" in twice.output
    assert runner.invoke(main, ["users", "list"]).output.split() == ["admin", "ops"]
    changed = runner.invoke(main, ["users", "passwd", "admin", "--password-stdin"], input="another long password\n")
    assert changed.exit_code == 0 and password not in changed.output
    assert runner.invoke(main, ["users", "remove", "ops"]).exit_code == 0
    missing = runner.invoke(main, ["users", "remove", "ops"])
    assert missing.exit_code == 1 and "no user named 'ops'" in missing.output


def test_two_way_from_yaml_and_the_cli(cli_env, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Directions per field in the file; Jira's webhook registered and the app key checked from the CLI."""
    from jira_sync.devtools.fake_flashduty import FakeFlashduty, FakeFlashdutyServer

    server, tmp = cli_env
    fd = FakeFlashduty()
    fd_server = FakeFlashdutyServer(fd)
    fd_url = fd_server.start()
    try:
        path = tmp / "integration.yaml"
        two_way = ("two_way:\n  status: {direction: two_way, owner: jira}\n  comments: {direction: two_way}\n"
                   f"flashduty:\n  base_url: {fd_url}\n  app_key: \"${{TEST_FD_KEY}}\"\n")
        path.write_text(YAML.format(url=server.url) + two_way)
        monkeypatch.setenv("TEST_JIRA_TOKEN", "cloud-token")
        runner = CliRunner()
        monkeypatch.setenv("TEST_FD_KEY", "")
        refused = runner.invoke(main, ["integrations", "apply", str(path)])
        assert refused.exit_code == 1 and "app_key" in refused.output  # two-way writes need a key
        monkeypatch.setenv("TEST_FD_KEY", fd.app_key)
        assert runner.invoke(main, ["integrations", "apply", str(path)]).exit_code == 0
        checked = runner.invoke(main, ["integrations", "check-app-key", "ops-to-jira"])
        assert checked.exit_code == 0 and "may write" in checked.output and fd.app_key not in checked.output
        hook = runner.invoke(main, ["integrations", "jira-webhook", "ops-to-jira", "--register"])
        assert hook.exit_code == 0 and "registered in Jira" in hook.output, hook.output
        (registered,) = server.fake.hooks.registered.values()
        assert "/webhooks/jira/" in registered.url and registered.secret and registered.secret in hook.output
    finally:
        fd_server.stop()
