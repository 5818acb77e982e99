"""Facts about a Jira site that depend on its kind (Cloud or Server/Data Center).

The rest of the service names a platform (`JiraPlatform`); only `jira/` knows what that
means for a site's answers and bodies.
"""
from __future__ import annotations

from typing import Any

from ..domain.integration import JiraPlatform
from .client_body import issue_fields
from .port import IssueDraft, ServerInfo
from .render.adf_html import adf_to_html
from .render.wiki_html import wiki_to_html


def is_cloud(info: ServerInfo) -> bool:
    return info.deployment_type.lower() == "cloud"


def platform_mismatch(info: ServerInfo, platform: JiraPlatform, url: str) -> str | None:
    """Why `platform` is the wrong choice for the site that answered `info`, or None."""
    cloud = is_cloud(info)
    if cloud == (platform is JiraPlatform.CLOUD):
        return None
    kind = "a Jira Cloud site" if cloud else f"Jira {info.deployment_type} {info.version}"
    choose = "Cloud" if cloud else "Server / Data Center"
    return f"wrong platform type: {url} is {kind}; choose the platform type {choose}."


def create_request(draft: IssueDraft, platform: JiraPlatform) -> dict[str, Any]:
    """The exact body `create_issue` sends for `draft` to a site of this platform."""
    return {"fields": issue_fields(draft, cloud=platform is JiraPlatform.CLOUD)}


def rich_text_html(body: Any, platform: JiraPlatform) -> str:
    """How the site renders a rich-text value we send (ADF on Cloud, wiki markup on Server/DC)."""
    if body is None:
        return ""
    return adf_to_html(body) if platform is JiraPlatform.CLOUD else wiki_to_html(body)
