"""Integration configurations for tests that build one without the API (unit tests)."""
from __future__ import annotations

from typing import Any

from jira_sync.domain.integration import IntegrationConfig

# where the in-process emulators answer (.test is reserved: no real host has these names)
JIRA_URL = "http://jira.test"
FLASHDUTY_URL = "http://flashduty.test"

# the Jira emulator's admin, per flavour (devtools/fake_jira: seeded users)
CREDENTIALS = {
    "cloud": {"platform": "cloud", "username": "admin@example.com", "secret": "cloud-token"},
    "server": {"platform": "server", "username": "admin", "secret": "secret"},
}


def integration_config(flavour: str = "cloud", **overrides: Any) -> IntegrationConfig:
    """OPS / Task on the emulator's site, severities mapped by name; `overrides` replace keys."""
    data: dict[str, Any] = {
        "name": "ops",
        "jira": {"url": JIRA_URL, **CREDENTIALS[flavour]},
        "project": "OPS",
        "issue_type": "Task",
        "severity_map": {"Critical": "Highest", "Warning": "Medium", "Info": "Low"},
        **overrides,
    }
    return IntegrationConfig.model_validate(data)
