"""`$heatmap_data`: capture splits it off the event, and ingestion may drop the points.

Capture (rust/capture/src/events/analytics.rs @006ae06 and the newer stored version, index id
57379396541): every event but `$$heatmap` for which `has_heatmap_data` holds is sent twice, the
original without `$heatmap_data` (header `skip_heatmap_processing`) and a `$$heatmap` record
for the heatmaps topic that carries `$heatmap_data`, `$viewport_height`, `$viewport_width`,
`$session_id`, `$prev_pageview_pathname`, `$prev_pageview_max_scroll`, `$current_url` and
`$cookieless_mode` (PH-tests `test_process_events_creates_heatmap_redirect`: "$heatmap_data must
never be on the original"; `test_create_heatmap_redirect_properties_and_metadata`;
`test_process_events_no_redirect_for_heatmap_event`). The reply is still 200.

Ingestion (nodejs extract-heatmap-data-step.ts @039125e, and the newer one that honours
`skip_heatmap_processing`): the points are dropped when the viewport is not numeric
(`heatmap_invalid_viewport_dimensions`) or the distinct_id is illegal
(`heatmap_invalid_distinct_id`); a URL whose value is not an array is an ingestion warning
(`rejecting_heatmap_data_with_invalid_items`), and points without numeric x/y, a string type and
a boolean target_fixed are skipped; a team with heatmaps turned off drops them all
(check-heatmap-opt-in-step.test.ts @dc74151). In the older pipeline a drop there lost the whole
event; with the capture-side split only the heatmap is lost.
"""

from __future__ import annotations

from typing import Any

from composer.core.capture import identifiers
from composer.core.capture.preflight.collector import Collector
from composer.core.jsonio import JsonObject
from composer.core.jsonpath import key as path_key
from composer.core.persons.illegal_ids import is_distinct_id_illegal
from composer.core.persons.jsvalues import js_trim

# What the $$heatmap record keeps (create_heatmap_redirect); the rest stays on the event only.
REDIRECT_PROPERTIES = (
    "$heatmap_data",
    "$viewport_height",
    "$viewport_width",
    "$session_id",
    "$prev_pageview_pathname",
    "$prev_pageview_max_scroll",
    "$current_url",
    "$cookieless_mode",
    # The newer analytics.rs also copies these for cookieless identity.
    "$raw_user_agent",
    "$ip",
    "$host",
    "$timezone",
    "$cookieless_extra",
)


def has_heatmap_data(props: JsonObject) -> bool:
    """analytics.rs `has_heatmap_data`: the data itself, or a scroll-depth pair."""
    return "$heatmap_data" in props or (
        "$prev_pageview_pathname" in props and "$current_url" in props
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_heatmap(
    ev: JsonObject,
    props: JsonObject,
    distinct_id: str | None,
    path: str,
    index: int | None,
    out: Collector,
) -> None:
    """Called for an event (not `$$heatmap`) whose properties hold `$heatmap_data`."""
    ppath = path_key(path, "properties")
    at = path_key(ppath, "$heatmap_data")
    out.warning(
        "heatmap.data_stripped",
        at,
        "Capture moves $heatmap_data off this event into a separate $$heatmap record for the"
        " heatmaps product: the stored event will not have it. The points are kept only when"
        " heatmaps are enabled for the project.",
        "Read heatmap points in PostHog's heatmaps, not from the event; put anything you want"
        " on the event in other properties.",
        event=index,
    )
    missing = [
        name for name in ("$viewport_height", "$viewport_width") if not _is_number(props.get(name))
    ]
    if missing:
        out.warning(
            "heatmap.viewport_missing",
            path_key(ppath, missing[0]),
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing or not a"
            " number, so ingestion drops the heatmap points (heatmap_invalid_viewport_dimensions;"
            " in older PostHog versions the whole event).",
            "Send $viewport_height and $viewport_width as numbers of pixels.",
            event=index,
        )
    if distinct_id is not None:
        stored = identifiers.stored_distinct_id(distinct_id)
        if is_distinct_id_illegal(stored):
            out.warning(
                "heatmap.illegal_distinct_id",
                at,
                f"The distinct_id {stored!r} is one PostHog treats as illegal, so ingestion drops"
                " the heatmap points (heatmap_invalid_distinct_id; in older PostHog versions the"
                " whole event).",
                "Send the user's real id.",
                event=index,
            )
    problem = _items_problem(props["$heatmap_data"])
    if problem:
        out.warning(
            "heatmap.invalid_items",
            at,
            f"{problem} Ingestion skips what it cannot read"
            " (rejecting_heatmap_data_with_invalid_items for a URL without an array).",
            'Write $heatmap_data as {"<url>": [{"x": 10, "y": 20, "target_fixed": false,'
            ' "type": "click"}]}.',
            event=index,
        )


def _items_problem(data: Any) -> str:
    if not isinstance(data, dict):
        return "$heatmap_data must be an object mapping each URL to an array of points."
    for url, items in data.items():
        if js_trim(url) == "":
            return "A $heatmap_data URL is blank."
        if not isinstance(items, list):
            return f"The points for {url!r} are not an array."
        for item in items:
            if not (
                isinstance(item, dict)
                and _is_number(item.get("x"))
                and _is_number(item.get("y"))
                and isinstance(item.get("type"), str)
                and isinstance(item.get("target_fixed"), bool)
            ):
                return (
                    f"A point for {url!r} lacks numeric x and y, a string type or a boolean"
                    " target_fixed."
                )
    return ""


def heatmap_redirect(distinct_id: str, props: JsonObject) -> JsonObject:
    """The `$$heatmap` record capture sends to the heatmaps topic (create_heatmap_redirect)."""
    return {
        "event": "$$heatmap",
        "distinct_id": distinct_id,
        "properties": {name: props[name] for name in REDIRECT_PROPERTIES if name in props},
    }
