"""The ingestion steps before any person is touched: drops, the person-processing flag, and the
event normalisation that decides which $set/$set_once/$unset reach the person.

Input is one event as capture forwards it: {"event", "distinct_id", "properties", optional
top-level "$set"/"$set_once", "uuid", "timestamp"}. Top-level $set/$set_once are merged here,
by this function, exactly as ingestion's normalizeEvent does; callers must not merge them first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from composer.core.persons import ingestion_warnings as iw
from composer.core.persons.jsvalues import (
    copy_json,
    js_entries,
    js_length,
    js_string,
    js_truthy,
    sanitize_string,
)
from composer.core.persons.outcome import IngestionWarning, Note

# normalize-process-person-flag-step.ts PERSON_ONLY_EVENTS: dropped when personless.
PERSON_ONLY_EVENTS = frozenset(
    {"$identify", "$create_alias", "$merge_dangerously", "$groupidentify"}
)
MERGE_EVENTS = frozenset({"$identify", "$create_alias", "$merge_dangerously"})

MAX_GROUP_KEY = 400  # validate-event-properties.ts
# The contract doc §5 ([S33] validate-event-metadata.ts): longer ids are dropped. Capture cuts
# ids to 200 first, so only events that bypass capture can get here.
MAX_DISTINCT_ID = 400

# person-property-utils.ts eventToPersonProperties (EVENT_TO_PERSON_PROPERTIES and
# CAMPAIGN_PROPERTIES): event properties ingestion copies onto the person as $set and, first
# touch only, as $initial_* in $set_once.
EVENT_TO_PERSON_PROPERTIES = (
    "$app_build",
    "$app_name",
    "$app_namespace",
    "$app_version",
    "$browser",
    "$browser_version",
    "$device_type",
    "$current_url",
    "$pathname",
    "$os",
    "$os_name",
    "$os_version",
    "$referring_domain",
    "$referrer",
    "$screen_height",
    "$screen_width",
    "$viewport_height",
    "$viewport_width",
    "$raw_user_agent",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_name",
    "utm_term",
    "gclid",
    "gad_source",
    "gclsrc",
    "dclid",
    "gbraid",
    "wbraid",
    "fbclid",
    "msclkid",
    "twclid",
    "li_fat_id",
    "mc_cid",
    "igshid",
    "ttclid",
    "rdt_cid",
    "irclid",
    "_kx",
    "epik",
    "qclid",
    "sccid",
)
_NO_LIFT_EVENTS = frozenset({"$snapshot", "$performance_event"})  # utils/event.ts normalizeEvent
SURVEY_SHOWN = "survey shown"  # enrich-survey-person-properties step
SURVEY_LAST_SEEN = "$survey_last_seen_date"


def initial_key(key: str) -> str:
    # `$initial_${key.replace('$', '')}`: JS replace with a string pattern drops only the first $.
    return "$initial_" + key.replace("$", "", 1)


@dataclass(slots=True)
class NormalizedEvent:
    name: str
    distinct_id: str
    properties: dict[str, Any]
    uuid: str | None
    timestamp: str | None
    process_person: bool = True
    dropped: bool = False
    warnings: list[IngestionWarning] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)


def normalize_event(event: dict[str, Any]) -> NormalizedEvent:
    """Everything ingestion does to an event before person processing. Never mutates `event`."""
    raw = copy_json(event)
    name = js_string(raw.get("event"))
    # normalizeEvent: `sanitizeString(String(event.distinct_id))`.
    distinct_id = sanitize_string(js_string(raw.get("distinct_id")))
    props = raw.get("properties")
    properties: dict[str, Any] = props if isinstance(props, dict) else {}
    uuid = raw.get("uuid") if isinstance(raw.get("uuid"), str) else None
    timestamp = raw.get("timestamp") if isinstance(raw.get("timestamp"), str) else None
    out = NormalizedEvent(name, distinct_id, properties, uuid, timestamp)

    if _dropped_by_validation(out):
        return out
    _decide_process_person(out)
    if out.dropped:
        return out
    _merge_top_level(raw, properties)
    if name not in _NO_LIFT_EVENTS:
        _lift_event_properties(properties)
    if name == SURVEY_SHOWN and timestamp is not None:
        _enrich_survey(properties, timestamp)
    # normalize-event-step.ts runs normalizeProcessPerson *after* normalizeEvent, so what the
    # lift added is stripped again from personless and $groupidentify events.
    _strip_person_updates(out)
    return out


def _drop(out: NormalizedEvent, warning: IngestionWarning) -> bool:
    out.dropped = True
    out.warnings.append(warning)
    return True


def _dropped_by_validation(out: NormalizedEvent) -> bool:
    details = {"event": out.name, "distinctId": out.distinct_id, "eventUuid": out.uuid}
    if js_length(out.distinct_id) > MAX_DISTINCT_ID:
        return _drop(
            out,
            IngestionWarning(
                iw.SKIPPING_EVENT_INVALID_DISTINCT_ID,
                f"The distinct_id has {js_length(out.distinct_id)} characters (more than"
                f" {MAX_DISTINCT_ID}); PostHog drops the event.",
                details,
            ),
        )
    props = out.properties
    # validate-event-properties.ts: `groupKey && groupKey.toString().length > 400`.
    if out.name == "$groupidentify" and js_truthy(props.get("$group_key")):
        length = js_length(js_string(props["$group_key"]))
        if length > MAX_GROUP_KEY:
            return _drop(
                out,
                IngestionWarning(
                    iw.GROUP_KEY_TOO_LONG,
                    f"The $group_key has {length} characters (more than {MAX_GROUP_KEY});"
                    " PostHog drops the whole $groupidentify event.",
                    {**details, "groupKeyLength": length, "maxLength": MAX_GROUP_KEY},
                ),
            )
    # validate-event-properties.ts (newest): a non-string, non-null merge id is dropped rather
    # than String()-ed.
    if out.name in MERGE_EVENTS:
        for key, warning_type in (
            ("$anon_distinct_id", iw.INVALID_ANON_DISTINCT_ID),
            ("alias", iw.INVALID_ALIAS),
        ):
            value = props.get(key)
            if value is not None and not isinstance(value, str):
                kind = "array" if isinstance(value, list) else _js_typeof(value)
                return _drop(
                    out,
                    IngestionWarning(
                        warning_type,
                        f"properties.{key} is {kind}, not a string; PostHog drops the event.",
                        {**details, "receivedType": kind},
                    ),
                )
    return False


def _js_typeof(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "object"


def _decide_process_person(out: NormalizedEvent) -> None:
    """person-utils.ts decideProcessPerson + normalize-process-person-flag-step.ts."""
    props = out.properties
    if "$process_person_profile" not in props:
        return
    value = props["$process_person_profile"]
    if value is False:
        out.process_person = False
        if out.name in PERSON_ONLY_EVENTS:
            _drop(
                out,
                IngestionWarning(
                    iw.INVALID_EVENT_WHEN_PROCESS_PERSON_PROFILE_IS_FALSE,
                    f"{out.name} needs person processing, but the event has"
                    " $process_person_profile: false; PostHog drops it.",
                    {"event": out.name, "distinctId": out.distinct_id, "eventUuid": out.uuid},
                ),
            )
    elif value is not True:
        out.warnings.append(
            IngestionWarning(
                iw.INVALID_PROCESS_PERSON_PROFILE,
                f"$process_person_profile is {js_string(value)!r}, not true or false; PostHog"
                " ignores it and processes the person.",
                {
                    "event": out.name,
                    "distinctId": out.distinct_id,
                    "$process_person_profile": value,
                },
            )
        )


def _merge_top_level(raw: dict[str, Any], properties: dict[str, Any]) -> None:
    # utils/event.ts normalizeEvent: `{...properties.$set, ...event.$set}`, top level wins.
    for field_name in ("$set", "$set_once"):
        if js_truthy(raw.get(field_name)):
            properties[field_name] = {
                **js_entries(properties.get(field_name)),
                **js_entries(raw[field_name]),
            }


def _lift_event_properties(properties: dict[str, Any]) -> None:
    """utils.ts personInitialAndUTMProperties (newest stored version)."""
    # Server SDKs stamp the host's OS; it must not become the person's $initial_os.
    skip_server_os = properties.get("$is_server") is True
    set_: dict[str, Any] | None = None
    set_once: dict[str, Any] = {}
    for key in EVENT_TO_PERSON_PROPERTIES:
        if key not in properties:
            continue
        if skip_server_os and key in ("$os", "$os_version"):
            continue
        if set_ is None:
            # A malformed $set (a string, say) is replaced, not spread, once anything is lifted.
            existing, existing_once = properties.get("$set"), properties.get("$set_once")
            set_ = existing if isinstance(existing, dict) else {}
            set_once = existing_once if isinstance(existing_once, dict) else {}
        value = properties[key]
        set_.setdefault(key, value)  # an explicit $set of the same key wins
        # Never a null into $set_once: it would block the real first-touch value for good.
        if value is not None and initial_key(key) not in set_once:
            set_once[initial_key(key)] = value
    if set_ is None:
        return
    os_name = properties.get("$os_name", _MISSING)
    if os_name is not _MISSING and not skip_server_os:
        # $os_name is an alias of $os: it may give $initial_os, and never stays on the person.
        if os_name is not None and "$initial_os" not in set_once:
            set_once["$initial_os"] = os_name
        set_.pop("$os_name", None)
        set_once.pop("$initial_os_name", None)
    properties["$set"] = set_
    properties["$set_once"] = set_once


_MISSING = object()


def _enrich_survey(properties: dict[str, Any], timestamp: str) -> None:
    # An explicit $set of the same key wins. (A non-object $set makes PostHog's `in` throw; the
    # model leaves such an event alone.)
    set_ = properties.get("$set") if js_truthy(properties.get("$set")) else {}
    if isinstance(set_, dict):
        set_.setdefault(SURVEY_LAST_SEEN, timestamp)
        properties["$set"] = set_


def _strip_person_updates(out: NormalizedEvent) -> None:
    """utils/event.ts normalizeProcessPerson."""
    props = out.properties
    if not out.process_person or out.name == "$groupidentify":
        for key in ("$set", "$set_once", "$unset"):
            props.pop(key, None)
    if not out.process_person:
        props["$process_person_profile"] = False
    else:
        props.pop("$process_person_profile", None)
