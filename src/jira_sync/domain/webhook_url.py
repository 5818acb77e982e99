"""Whether Flashduty's cloud can call a webhook URL: a loopback or private address cannot be."""
from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def cloud_unreachable_reason(base_url: str) -> str | None:
    """Why no machine on the internet can reach `base_url`, or None when it may."""
    host = urlsplit(base_url).hostname or ""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        if host == "localhost" or host.endswith((".localhost", ".local", ".internal", ".lan")):
            return f"{host} is a name for this machine or its local network"
        if "." not in host:
            return f"{host} is a bare host name, which only the local network resolves"
        return None
    if ip.is_loopback:
        return f"{host} is a loopback address (this machine only)"
    if ip.is_unspecified or ip.is_link_local or ip.is_private:
        return f"{host} is a private address"
    return None


def reachability_warning(base_url: str, public_url_set: bool) -> str | None:
    """The warning shown with a webhook URL that Flashduty's cloud cannot call. An explicit
    PUBLIC_URL is the operator's word (a tunnel or a private Flashduty may reach it): no warning."""
    reason = None if public_url_set else cloud_unreachable_reason(base_url)
    if reason is None:
        return None
    return (f"Flashduty's cloud cannot reach this URL: {reason}. Set JIRA_SYNC_PUBLIC_URL (in .env or the "
            "environment) to the address Flashduty can call, e.g. https://jira-sync.example.com behind your "
            "reverse proxy, and restart `jira-sync serve`; locally, `jira-sync dev send-example` can call it.")
