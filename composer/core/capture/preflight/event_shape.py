"""Rules for an event's top-level keys and its size (contract §4.2, §5)."""

from __future__ import annotations

from composer.core.capture.parse import BodyShape
from composer.core.capture.preflight import replies
from composer.core.capture.preflight.collector import Collector
from composer.core.findings import Stage
from composer.core.jsonio import JsonObject, dumps_compact
from composer.core.jsonpath import key as path_key

EVENT_WARN_BYTES = 900 * 1024  # posthog-python drops events above this on the client
EVENT_MAX_BYTES = 1_000_000  # Kafka's message.max.bytes default: capture answers 413

# The top-level fields capture-rs keeps; everything else is dropped when it re-serialises.
KNOWN_TOP_LEVEL = frozenset(
    {
        "event",
        "distinct_id",
        "$distinct_id",
        "properties",
        "timestamp",
        "offset",
        "uuid",
        "$set",
        "$set_once",
        "api_key",
        "token",
        "$token",
    }
)


_TOP_LEVEL_ADVICE = {
    "sent_at": "sent_at is honoured only on a /batch/ envelope; on an event it is dropped.",
    "$unset": "Top-level $unset is dropped; PostHog reads it only inside properties.",
    "$groups": "Top-level $groups is dropped; PostHog reads it only inside properties.",
    "type": "Top-level type is dropped (it is a Segment field, not a PostHog one).",
}


def check_top_level_keys(
    ev: JsonObject, path: str, index: int | None, shape: BodyShape, out: Collector
) -> None:
    for key in ev:
        if key in KNOWN_TOP_LEVEL:
            continue
        at = path_key(path, key)
        message = _TOP_LEVEL_ADVICE.get(
            key, f"PostHog keeps only its own top-level fields; {key!r} is dropped."
        )
        fix = (
            "Move it to the batch envelope, or drop it."
            if key == "sent_at"
            else f"Move {key} into properties."
        )
        out.warning("event.top_level_ignored", at, message, fix, event=index)
    if shape is BodyShape.BATCH:
        for name in ("api_key", "token", "$token"):
            if name in ev:
                out.info(
                    "token.ignored_in_batch",
                    path_key(path, name),
                    f"In a batch, PostHog uses the envelope's key and ignores this {name}.",
                    "Remove it from the event.",
                    event=index,
                )


def check_size(
    ev: JsonObject, path: str, index: int | None, out: Collector, size: int | None
) -> None:
    if size is None:
        size = len(dumps_compact(ev))
    if size > EVENT_MAX_BYTES:
        out.error(
            "event.too_large",
            path or "$",
            f"This event is {size:,} bytes; PostHog refuses events over about 1 MB (413).",
            "Move large values out of the event; send references instead of blobs.",
            stage=Stage.KAFKA,
            status=413,
            reply=replies.EVENT_TOO_LARGE,
            event=index,
        )
    elif size > EVENT_WARN_BYTES:
        out.warning(
            "event.large",
            path or "$",
            f"This event is {size:,} bytes; PostHog's SDKs drop events over 900 KiB and"
            " ingestion drops events over 1 MB after processing.",
            "Keep events well under 900 KiB.",
            event=index,
        )
