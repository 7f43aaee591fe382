"""JavaScript: Node's built-in `fetch` posts the body; posthog-node and posthog-js make calls.

posthog-node 5's `identify()`, `alias()` and `groupIdentify()` take no uuid or timestamp, so
every event goes through `capture()`, which sends the same event under its own name. posthog-js
sends the distinct id in `properties.distinct_id`; giving it there sends each event as its own
user without an `identify()` (which would send an `$identify` of its own).
"""

from __future__ import annotations

from datetime import UTC, datetime

from composer.core.compose.payloads import PayloadKind, kind_for_event_name
from composer.core.snippets.events import SdkBody, SdkEvent, big_integers, read_body
from composer.core.snippets.literals import JAVASCRIPT, json_string, literal
from composer.core.snippets.model import Notes, Snippet, SnippetRequest
from composer.core.snippets.text import endpoint_note, header, key_sentence

INDENT = "  "
BIG_INTEGERS = (
    "JavaScript numbers hold integers exactly only up to 2^53 - 1; larger integers in the body"
    " are sent rounded."
)


def _key_expr(request: SnippetRequest) -> str:
    if request.writes_key:
        return json_string(request.key)
    return f"process.env.{request.key_env}"


def node_fetch(request: SnippetRequest, body: object, notes: Notes) -> Snippet:
    if big_integers(body):
        notes.add(BIG_INTEGERS)
    top = header(
        f"POST the body to {request.url()} with Node's fetch (Node 18 or later; save it as"
        f" send.mjs). {key_sentence(request.key_env, request.writes_key)}",
        notes.items,
        "//",
    )
    code = (
        f"{top}\n"
        f"const body = {literal(body, JAVASCRIPT, _key_expr(request))}\n\n"
        f"const response = await fetch({json_string(request.url())}, {{\n"
        "  method: 'POST',\n"
        "  headers: { 'Content-Type': 'application/json' },\n"
        "  body: JSON.stringify(body),\n"
        "})\n"
        "console.log(response.status, await response.text())\n"
    )
    return Snippet("node-fetch", code, tuple(notes.items), "javascript", "send.mjs")


def _date(value: datetime, event: SdkEvent, notes: Notes) -> str:
    if value.microsecond % 1000:
        notes.add(
            f"{event.label}: a JavaScript Date holds milliseconds; the timestamp's microseconds"
            " are dropped."
        )
    text = value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return f"new Date({json_string(text)})"


def _shared_notes(sdk: SdkBody, body: object, notes: Notes) -> None:
    notes.extend(sdk.notes.items)
    if big_integers(body):
        notes.add(BIG_INTEGERS)


# -- posthog-node -----------------------------------------------------------------------------


def posthog_node(request: SnippetRequest, body: object, notes: Notes) -> Snippet:
    sdk = read_body(body, request.endpoint)
    key_expr = _key_expr(request)
    calls = [_node_call(event, notes, key_expr) for event in sdk.events]
    _shared_notes(sdk, body, notes)
    moved = endpoint_note("posthog-node", "/batch/", request.endpoint)
    if moved:
        notes.add(moved)
    notes.add(
        "posthog-node adds $lib, $lib_version and $is_server to each event's properties, and"
        " its own sent_at (PostHog moves each timestamp by the difference to its clock)."
    )
    options = [
        f"host: {json_string(request.base())},",
        "disableGeoip: false, // the default (true) adds $geoip_disable to every event",
    ]
    if sdk.historical_migration:
        options.append("historicalMigration: true,")
    ctor = (
        f"const posthog = new PostHog({key_expr}, {{\n"
        + "".join(f"{INDENT}{o}\n" for o in options)
        + "})\n"
    )
    top = header(
        f"Send the payload with posthog-node to {request.base()} (save it as send.mjs)."
        f" {key_sentence(request.key_env, request.writes_key)}",
        notes.items,
        "//",
    )
    code = (
        f"{top}\nimport {{ PostHog }} from 'posthog-node'\n\n{ctor}\n"
        + ("\n".join(calls) if calls else "// (nothing to send)\n")
        + "\nawait posthog.shutdown() // sends what is queued before the program ends\n"
    )
    return Snippet("posthog-node", code, tuple(notes.items), "javascript", "send.mjs")


_NODE_CALLS = {
    PayloadKind.IDENTIFY: "identify()",
    PayloadKind.ALIAS: "alias()",
    PayloadKind.GROUP_IDENTIFY: "groupIdentify()",
}


def _node_call(event: SdkEvent, notes: Notes, key_expr: str) -> str:
    kind = kind_for_event_name(event.name)
    own = _NODE_CALLS.get(kind)
    if own is not None:
        notes.add(
            f"posthog-node's {own} takes no uuid or timestamp, so the {event.name} event is sent"
            " with capture(), which sends the same event."
        )
    elif kind is PayloadKind.MERGE_DANGEROUSLY:
        notes.add("posthog-node has no call for $merge_dangerously; it is sent with capture().")
    if event.set is not None or event.set_once is not None:
        notes.add(
            "capture() takes no top-level $set or $set_once: they go into the properties,"
            " where PostHog reads them the same way."
        )
    fields = []
    if event.distinct_id is not None:
        fields.append(f"distinctId: {json_string(event.distinct_id)}")
    fields.append(f"event: {json_string(event.name)}")
    if event.properties:
        fields.append("properties: " + literal(event.properties, JAVASCRIPT, key_expr, level=1))
    if event.timestamp is not None:
        fields.append(f"timestamp: {_date(event.timestamp, event, notes)}")
    if event.uuid is not None:
        fields.append(f"uuid: {json_string(event.uuid)}")
    return "posthog.capture({\n" + "".join(f"{INDENT}{f},\n" for f in fields) + "})\n"


# -- posthog-js -------------------------------------------------------------------------------


def posthog_js(request: SnippetRequest, body: object, notes: Notes) -> Snippet:
    sdk = read_body(body, request.endpoint)
    key_expr = _key_expr(request)
    calls = [_js_call(event, notes, key_expr) for event in sdk.events]
    _shared_notes(sdk, body, notes)
    if sdk.historical_migration:
        notes.add(
            "posthog-js cannot mark a historical migration; the events are sent as live ones."
        )
    notes.add(
        "posthog-js sends to /e/ (compressed, in batches a few seconds apart) and adds its own"
        " properties ($lib, $browser, $current_url, $session_id, $device_id, token, distinct_id"
        " and more) and a $set_once of the page's initial referrer and campaign parameters."
    )
    if not request.writes_key:
        notes.add(
            f"process.env.{request.key_env} is replaced by your bundler (for Vite, an"
            " import.meta.env variable); a project key is safe to ship in a web page."
        )
    init = (
        f"posthog.init({key_expr}, {{\n"
        f"{INDENT}api_host: {json_string(request.base())},\n"
        f"{INDENT}person_profiles: 'always', // persons as the composed events make them\n"
        f"{INDENT}// Only the events below: no pageview, page-leave or autocaptured clicks.\n"
        f"{INDENT}capture_pageview: false,\n"
        f"{INDENT}capture_pageleave: false,\n"
        f"{INDENT}autocapture: false,\n"
        "})\n"
    )
    top = header(
        f"Send the payload with posthog-js from a web page, to {request.base()}."
        f" {key_sentence(request.key_env, request.writes_key)}",
        notes.items,
        "//",
    )
    code = f"{top}\nimport posthog from 'posthog-js'\n\n{init}\n" + (
        "\n".join(calls) if calls else "// (nothing to send)\n"
    )
    return Snippet("posthog-js", code, tuple(notes.items), "javascript", "posthog.js")


def _js_call(event: SdkEvent, notes: Notes, key_expr: str) -> str:
    raw = event.raw_properties
    if event.distinct_id is not None:
        own = raw.get("distinct_id")
        if "distinct_id" in raw and own != event.distinct_id:
            notes.add(
                f"{event.label}: posthog-js carries one distinct id, in properties.distinct_id;"
                f" the properties' own {own!r} is replaced by the event's."
            )
        rest = {k: v for k, v in raw.items() if k != "distinct_id"}
        properties = {"distinct_id": event.distinct_id, **rest}
    else:
        properties = dict(raw)
        notes.add(
            f"{event.label}: without a distinct_id, posthog-js sends it as the page's own"
            " (anonymous) user."
        )
    options = []
    if event.uuid is not None:
        options.append(f"uuid: {json_string(event.uuid)}")
    if event.timestamp is not None:
        options.append(f"timestamp: {_date(event.timestamp, event, notes)}")
    # posthog-js writes these at the event's top level, as composed.
    if event.set is not None:
        options.append("$set: " + literal(event.set, JAVASCRIPT, key_expr, level=2))
    if event.set_once is not None:
        options.append("$set_once: " + literal(event.set_once, JAVASCRIPT, key_expr, level=2))
    args = [json_string(event.name), literal(properties, JAVASCRIPT, key_expr, level=1)]
    if options:
        args.append("{\n" + "".join(f"{INDENT * 2}{o},\n" for o in options) + f"{INDENT}}}")
    return "posthog.capture(\n" + "".join(f"{INDENT}{a},\n" for a in args) + ")\n"
