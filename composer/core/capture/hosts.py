"""Ingestion hosts: shorthands, URL checks and the app-host mistake."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from composer.core.findings import Finding, Severity, Stage

US_INGESTION = "https://us.i.posthog.com"
EU_INGESTION = "https://eu.i.posthog.com"

SHORTHANDS = {"us": US_INGESTION, "eu": EU_INGESTION}

# The app/private-API hosts, and the ingestion host a user almost certainly meant.
APP_HOSTS = {
    "us.posthog.com": US_INGESTION,
    "app.posthog.com": US_INGESTION,
    "eu.posthog.com": EU_INGESTION,
}


_LABEL = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$")


def _valid_hostname(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        labels = name.rstrip(".").split(".")
        return 0 < len(name) <= 253 and all(_LABEL.match(label) for label in labels)
    return True


class HostError(ValueError):
    """A host the composer cannot send to; the message says how to write it."""


@dataclass(frozen=True)
class Host:
    url: str  # scheme://host[:port][/prefix], no trailing slash
    findings: tuple[Finding, ...] = field(default=())

    @property
    def hostname(self) -> str:
        return urlsplit(self.url).hostname or ""

    def endpoint_url(self, endpoint: str) -> str:
        return self.url + (endpoint if endpoint.startswith("/") else "/" + endpoint)


def is_loopback(hostname: str) -> bool:
    name = hostname.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _warn(code: str, message: str, fix: str) -> Finding:
    return Finding(Severity.WARNING, code, "host", message, fix, stage=Stage.LOCAL)


def resolve_host(text: str) -> Host:
    """Turn `us`, `eu` or a URL into an ingestion base URL, with warnings about it.

    Raises HostError for input that is not a usable URL.
    """
    raw = text.strip()
    if not raw:
        raise HostError(
            "no host given; use `us`, `eu`, or a URL such as https://posthog.example.com"
        )
    if raw.lower() in SHORTHANDS:
        return Host(SHORTHANDS[raw.lower()])
    candidate = raw
    if "://" not in candidate:
        bare = candidate.split("/", 1)[0].rsplit(":", 1)[0]
        candidate = ("http://" if is_loopback(bare) else "https://") + candidate
    try:
        parts = urlsplit(candidate)
        port = parts.port
    except ValueError as exc:
        raise HostError(
            f"{raw!r} is not a valid URL ({exc}); write it like https://us.i.posthog.com"
        ) from None
    if parts.scheme not in ("http", "https"):
        raise HostError(
            f"{raw!r} uses {parts.scheme}://; PostHog hosts are http:// or https:// URLs"
        )
    hostname = parts.hostname or ""
    if not hostname or any(c.isspace() for c in raw) or not _valid_hostname(hostname):
        raise HostError(f"{raw!r} has no usable host name; write it like https://us.i.posthog.com")
    if parts.query or parts.fragment:
        raise HostError(f"{raw!r} has a query or fragment; give only the base URL of the host")
    netloc = hostname if ":" not in hostname else f"[{hostname}]"
    if port is not None:
        netloc += f":{port}"
    path = parts.path.rstrip("/")
    url = f"{parts.scheme}://{netloc}{path}"
    findings: list[Finding] = []
    if hostname in APP_HOSTS:
        findings.append(
            _warn(
                "host.app_host",
                f"{hostname} is PostHog's app and private-API host, not the ingestion host.",
                f"Send events to {APP_HOSTS[hostname]} instead.",
            )
        )
    if parts.scheme == "http" and not is_loopback(hostname):
        findings.append(
            _warn(
                "host.insecure",
                f"http:// to {hostname} sends the project key and events unencrypted.",
                "Use https:// unless this host is on your own machine.",
            )
        )
    for suffix in ("/i/v0/e", "/e", "/capture", "/batch", "/track", "/engage"):
        if path.endswith(suffix):
            findings.append(
                _warn(
                    "host.includes_endpoint",
                    f"the host ends in {suffix}, an endpoint path; it would be added twice.",
                    f"Give the base URL only ({parts.scheme}://{netloc}) and choose the endpoint"
                    " separately.",
                )
            )
            break
    return Host(url, tuple(findings))
