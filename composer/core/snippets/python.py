"""Python: `requests` and `httpx` post the body itself; posthog-python makes one call per event.

posthog-python 7 (the version the tests pin) has `capture`, `set`, `set_once`, `alias` and
`group_identify`, each taking `timestamp` and `uuid`; it has no `identify()` (its
`identify_context()` only names the user of a context and sends nothing) and no call for
`$merge_dangerously`, so those events go through `capture()` as composed.
"""

from __future__ import annotations

from datetime import datetime

from composer.core.compose.payloads import PayloadKind, kind_for_event_name
from composer.core.snippets.events import SdkEvent, read_body
from composer.core.snippets.literals import PYTHON, json_string, literal, needs_json_parse
from composer.core.snippets.model import KEY_SENTINEL, Notes, Snippet, SnippetRequest
from composer.core.snippets.text import endpoint_note, header, key_sentence

INDENT = "    "


def _key_expr(request: SnippetRequest) -> str:
    if request.writes_key:
        return json_string(request.key)
    return f"os.environ[{json_string(request.key_env)}]"


def _imports(*names: str) -> str:
    """Standard-library imports, then the others, as isort would group them."""
    std = sorted(n for n in names if n in ("json", "os"))
    other = sorted(n for n in names if n not in ("json", "os"))
    groups = [g for g in ("\n".join(f"import {n}" for n in std), "\n".join(other)) if g]
    return "\n\n".join(groups)


def http_client(request: SnippetRequest, body: object, notes: Notes, library: str) -> Snippet:
    """`requests.post(url, json=body)` or `httpx.post(...)`: the same JSON as the preview."""
    needs = ["os"] if not request.writes_key and _holds_key(body) else []
    if needs_json_parse(body):
        needs.append("json")
    top = header(
        f"POST the body to {request.url()} with {library}."
        f" {key_sentence(request.key_env, request.writes_key)}",
        notes.items,
        "#",
    )
    code = (
        f"{top}\n{_imports(*needs, f'import {library}')}\n\n"
        f"body = {literal(body, PYTHON, _key_expr(request))}\n\n"
        f"response = {library}.post({json_string(request.url())}, json=body, timeout=10)\n"
        "print(response.status_code, response.text)\n"
    )
    language = "python-requests" if library == "requests" else "python-httpx"
    return Snippet(language, code, tuple(notes.items), "python", "send.py")


def _holds_key(body: object) -> bool:
    stack = [body]
    while stack:
        node = stack.pop()
        if node == KEY_SENTINEL:
            return True
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


# -- posthog-python --------------------------------------------------------------------------


def posthog_python(request: SnippetRequest, body: object, notes: Notes) -> Snippet:
    sdk = read_body(body, request.endpoint)
    key_expr = _key_expr(request)
    calls = [_call(event, notes, key_expr) for event in sdk.events]
    notes.extend(sdk.notes.items)
    moved = endpoint_note("posthog-python", "/batch/", request.endpoint)
    if moved:
        notes.add(moved)
    notes.add(
        "posthog-python adds $lib, $lib_version, $python_runtime, $python_version, $os,"
        " $os_version, $os_distro (on Linux) and $is_server to each event's properties, and its"
        " own sent_at (PostHog moves each timestamp by the difference to its clock)."
    )
    ctor_args = [
        f"{key_expr},",
        f"host={json_string(request.base())},",
        "disable_geoip=False,  # the default (True) adds $geoip_disable to every event",
    ]
    if sdk.historical_migration:
        ctor_args.append("historical_migration=True,")
    ctor = "posthog = Posthog(\n" + "".join(f"{INDENT}{a}\n" for a in ctor_args) + ")\n"
    needs = [] if request.writes_key else ["os"]
    if any("json.loads(" in call for call in calls):
        needs.append("json")
    top = header(
        f"Send the payload with posthog-python to {request.base()}."
        f" {key_sentence(request.key_env, request.writes_key)}",
        notes.items,
        "#",
    )
    body_calls = "\n".join(calls) if calls else "# (nothing to send)\n"
    code = (
        f"{top}\n{_imports(*needs, 'from posthog import Posthog')}\n\n"
        f"{ctor}\n{body_calls}\n"
        "posthog.shutdown()  # sends what is queued before the program ends\n"
    )
    return Snippet("posthog-python", code, tuple(notes.items), "python", "send.py")


def _timestamp(value: datetime) -> str:
    return json_string(value.isoformat())


def _call(event: SdkEvent, notes: Notes, key_expr: str) -> str:
    """The SDK call that sends `event`: the SDK's own one where it carries the event exactly."""
    kind = kind_for_event_name(event.name)
    tail = _tail(event)
    raw = event.raw_properties
    if (
        kind is PayloadKind.SET
        and not raw
        and event.set
        and event.set_once is None
        and event.distinct_id is not None
    ):
        return _render(
            "posthog.set", [_kw("distinct_id", event.distinct_id)], event.set, tail, key_expr
        )
    if (
        kind is PayloadKind.SET_ONCE
        and not raw
        and event.set_once
        and event.set is None
        and event.distinct_id is not None
    ):
        return _render(
            "posthog.set_once",
            [_kw("distinct_id", event.distinct_id)],
            event.set_once,
            tail,
            key_expr,
        )
    if (
        kind is PayloadKind.ALIAS
        and event.distinct_id is not None
        and isinstance(raw.get("alias"), str)
        and set(raw) <= {"alias", "distinct_id"}
        and raw.get("distinct_id", event.distinct_id) == event.distinct_id
        and event.set is None
        and event.set_once is None
    ):
        if not event.distinct_id_in_properties:
            notes.add(f"{event.label}: alias() also puts the distinct id in its properties.")
        args = [
            _kw("previous_id", event.distinct_id),
            _kw("distinct_id", raw["alias"]),
            *tail,
        ]
        return "posthog.alias(\n" + "".join(f"{INDENT}{a},\n" for a in args) + ")\n"
    if (
        kind is PayloadKind.GROUP_IDENTIFY
        and set(raw) == {"$group_type", "$group_key", "$group_set"}
        and all(isinstance(raw[k], str) and raw[k] for k in ("$group_type", "$group_key"))
        and isinstance(raw["$group_set"], dict)
        and event.set is None
        and event.set_once is None
    ):
        args = [json_string(raw["$group_type"]), json_string(raw["$group_key"])]
        properties = raw["$group_set"]
        extra = [*tail]
        if event.distinct_id is not None:
            extra.append(_kw("distinct_id", event.distinct_id))
        return _render("posthog.group_identify", args, properties, extra, key_expr)
    if kind is PayloadKind.IDENTIFY:
        notes.add(
            "posthog-python has no identify(): identify_context() only names the user of a"
            " context and sends nothing, so the $identify event is sent with capture()."
        )
    elif kind is PayloadKind.MERGE_DANGEROUSLY:
        notes.add("posthog-python has no call for $merge_dangerously; it is sent with capture().")
    if event.set is not None or event.set_once is not None:
        notes.add(
            "capture() takes no top-level $set or $set_once: they go into the properties,"
            " where PostHog reads them the same way."
        )
    args = [json_string(event.name)]
    if event.distinct_id is not None:
        args.append(_kw("distinct_id", event.distinct_id))
    return _render("posthog.capture", args, event.properties or None, tail, key_expr)


def _kw(name: str, value: str) -> str:
    return f"{name}={json_string(value)}"


def _tail(event: SdkEvent) -> list[str]:
    tail = []
    if event.timestamp is not None:
        tail.append(f"timestamp={_timestamp(event.timestamp)}")
    if event.uuid is not None:
        tail.append(_kw("uuid", event.uuid))
    return tail


def _render(
    function: str, head: list[str], properties: object, tail: list[str], key_expr: str
) -> str:
    args = list(head)
    if properties is not None:
        args.append("properties=" + literal(properties, PYTHON, key_expr, level=1))
    args.extend(tail)
    return f"{function}(\n" + "".join(f"{INDENT}{a},\n" for a in args) + ")\n"
