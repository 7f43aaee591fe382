"""Rules for one event object (contract §4.2, §5, §6, §7, §10)."""

from __future__ import annotations

from typing import Any

from composer.core.capture.parse import BodyShape
from composer.core.capture.preflight import replies
from composer.core.capture.preflight.collector import Collector
from composer.core.capture.preflight.event_fields import (
    check_distinct_id,
    check_name,
    check_properties,
)
from composer.core.capture.preflight.event_shape import (
    KNOWN_TOP_LEVEL,
    check_size,
    check_top_level_keys,
)
from composer.core.capture.preflight.event_times import check_timestamp, check_uuid_field
from composer.core.capture.preflight.heatmaps import check_heatmap
from composer.core.capture.preflight.identity import (
    MERGE_EVENTS,
    check_group,
    check_merge,
    check_person_updates,
    merge_is_noop,
)
from composer.core.capture.preflight.tokens import type_name
from composer.core.capture.preflight.value_types import check_value_types
from composer.core.findings import Stage

# KNOWN_TOP_LEVEL lives with the rule that reads it (event_shape.py); it is exported here too.
__all__ = ["KNOWN_TOP_LEVEL", "check_event"]


def check_event(
    ev: Any,
    path: str,
    index: int | None,
    shape: BodyShape,
    on_engage: bool,
    out: Collector,
    size: int | None = None,
) -> None:
    """All per-event rules. `index` is None for a single-event body; `size` is the event's
    compact JSON size when the caller knows it."""
    where = f"event {index}" if index is not None else "the event"
    if not isinstance(ev, dict):
        out.error(
            "event.not_object",
            path or "$",
            f"{where.capitalize()} is {type_name(ev)}, not an object.",
            "Every item of the batch must be a JSON object with event and distinct_id.",
            stage=Stage.PARSE,
            reply=replies.PARSE_FAILED,
            event=index,
        )
        return
    name = check_name(ev, path, index, shape, on_engage, out)
    if name == "$performance_event":
        return  # capture drops it before any other rule looks at it
    props = check_properties(ev, path, index, shape, out)
    # A merge with itself does nothing at all in ingestion, whatever the id (the equality
    # comes before the illegal-id rule), so the id's own merge warning would mislead.
    noop = name in MERGE_EVENTS and merge_is_noop(ev, props, name)
    distinct_id = check_distinct_id(ev, props, path, index, name, out, merging_itself=noop)
    if props is not None and "$heatmap_data" in props and name != "$$heatmap":
        check_heatmap(ev, props, distinct_id, path, index, out)
    check_person_updates(ev, props, path, index, name, out)
    check_value_types(ev, props, path, index, name, out)
    check_timestamp(ev, path, index, shape, out)
    check_uuid_field(ev, path, index, shape, out)
    check_top_level_keys(ev, path, index, shape, out)
    if name in MERGE_EVENTS:
        check_merge(ev, props, distinct_id, path, index, name, out)
    elif name == "$groupidentify":
        check_group(ev, props, path, index, out)
    check_size(ev, path, index, out, size)
