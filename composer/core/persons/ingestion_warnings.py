"""PostHog's ingestion-warning names this model can raise, with PostHog's category and severity.

Source: nodejs/src/ingestion/common/ingestion-warnings.ts (INGESTION_WARNING_TYPES), whose
severity convention is: "error" = the event was dropped, "warning" = ingested but modified or
partially refused, "info" = informational. invalid_anon_distinct_id and invalid_alias come from
nodejs/src/ingestion/event-preprocessing/validate-event-properties.ts (newest stored version) and
event_dropped_person_processing_disabled from normalize-process-person-flag-step.ts; the registry
version read did not list them yet, so their category here is this model's guess.
invalid_group_set is in a newer registry version and in process-groups-step.ts.
"""

from __future__ import annotations

from dataclasses import dataclass

GROUP_KEY_TOO_LONG = "group_key_too_long"
CANNOT_MERGE_ALREADY_IDENTIFIED = "cannot_merge_already_identified"
CANNOT_MERGE_WITH_ILLEGAL_DISTINCT_ID = "cannot_merge_with_illegal_distinct_id"
SKIPPING_EVENT_INVALID_DISTINCT_ID = "skipping_event_invalid_distinct_id"
INVALID_PROCESS_PERSON_PROFILE = "invalid_process_person_profile"
INVALID_EVENT_WHEN_PROCESS_PERSON_PROFILE_IS_FALSE = (
    "invalid_event_when_process_person_profile_is_false"
)
INVALID_ANON_DISTINCT_ID = "invalid_anon_distinct_id"
INVALID_ALIAS = "invalid_alias"
INVALID_GROUP_SET = "invalid_group_set"


@dataclass(frozen=True, slots=True)
class WarningType:
    category: str
    severity: str  # "error" means PostHog dropped the event


WARNING_TYPES: dict[str, WarningType] = {
    GROUP_KEY_TOO_LONG: WarningType("size", "error"),
    CANNOT_MERGE_ALREADY_IDENTIFIED: WarningType("merge", "warning"),
    CANNOT_MERGE_WITH_ILLEGAL_DISTINCT_ID: WarningType("merge", "warning"),
    SKIPPING_EVENT_INVALID_DISTINCT_ID: WarningType("event", "error"),
    INVALID_PROCESS_PERSON_PROFILE: WarningType("event", "warning"),
    INVALID_EVENT_WHEN_PROCESS_PERSON_PROFILE_IS_FALSE: WarningType("event", "error"),
    INVALID_ANON_DISTINCT_ID: WarningType("event", "error"),
    INVALID_ALIAS: WarningType("event", "error"),
    # A newer registry lists it as ("event", "error"); the process-groups step read only
    # skips the group update and keeps the event.
    INVALID_GROUP_SET: WarningType("event", "error"),
}
