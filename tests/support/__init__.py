"""Test support code shared by the suites (importable as `support`)."""

ADMIN_TOKEN = "test-admin-token-0123456789"
