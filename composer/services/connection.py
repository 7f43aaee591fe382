"""'Check connection': does this host answer like a PostHog capture endpoint? Nothing is stored.

The probe is a batch whose only event has no distinct_id. PostHog checks the key's shape first
(401 if it is wrong) and then refuses the whole batch for the missing distinct_id (400), so a
400 naming distinct_id proves a capture endpoint that accepted the key's shape, and PostHog
stores nothing. (Whether a well-formed key belongs to a project, PostHog does not say.)
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from composer.core.capture.hosts import HostError, resolve_host
from composer.services.transport import NO_RETRIES, Timeouts, Transport

PROBE_EVENT = "$composer_connection_check"


@dataclass(frozen=True)
class ConnectionReport:
    ok: bool
    summary: str
    detail: str = ""


def check_connection(host_text: str, key: str, *, timeout: float = 10.0) -> ConnectionReport:
    try:
        host = resolve_host(host_text)
    except HostError as exc:
        return ConnectionReport(False, "The host is not a usable URL.", str(exc))
    body = orjson.dumps({"api_key": key, "batch": [{"event": PROBE_EVENT}]})
    url = host.endpoint_url("/batch/")
    with Transport(
        timeouts=Timeouts(connect=timeout, read=timeout, write=timeout), retry=NO_RETRIES
    ) as transport:
        record = transport.send(url, body, secrets=[key] if key else [])
    if record.status is None:
        error = record.error
        return ConnectionReport(
            False, error.message if error else "No answer.", error.guidance if error else ""
        )
    text = record.body.decode("utf-8", "replace")
    meaning = record.interpretation
    if record.status == 400 and "distinct_id" in text:
        return ConnectionReport(
            True,
            f"{host.hostname} answered like a PostHog capture endpoint and accepted the key's"
            " format. Nothing was stored.",
            "PostHog does not tell whether a key belongs to a project: a wrong but"
            " well-formed key is accepted and its events are dropped.",
        )
    if record.status == 401:
        return ConnectionReport(
            False, f"{host.hostname} refused the key: {text}", meaning.guidance if meaning else ""
        )
    if record.ok:
        return ConnectionReport(
            False,
            f"{host.hostname} answered {record.status} to an event PostHog would refuse; it"
            " does not behave like a PostHog capture endpoint.",
            "Check that the host is an ingestion host (us.i.posthog.com, eu.i.posthog.com).",
        )
    return ConnectionReport(
        False,
        f"{host.hostname} answered {record.status}: {text[:200]}",
        meaning.guidance if meaning else "",
    )
