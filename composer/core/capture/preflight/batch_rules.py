"""Rules across a body's events: the project key, duplicate keys, and uuids used twice."""

from __future__ import annotations

from composer.core.capture.bodies import TOKEN_FIELDS
from composer.core.capture.parse import BodyShape, ParsedBody
from composer.core.capture.preflight import replies
from composer.core.capture.preflight.collector import Collector
from composer.core.capture.preflight.envelope import ENVELOPE_FIELDS
from composer.core.capture.preflight.events import KNOWN_TOP_LEVEL
from composer.core.capture.preflight.tokens import check_token_value, event_token_fields
from composer.core.capture.variants import ENVELOPE_TOKEN_FIELDS
from composer.core.findings import Stage
from composer.core.jsonpath import join as path_join
from composer.core.jsonpath import key as path_key
from composer.core.jsonpath import split as path_split


def check_tokens(parsed: ParsedBody, out: Collector) -> None:
    shape = parsed.shape
    if shape is BodyShape.BATCH:
        envelope = parsed.value
        for name in ENVELOPE_TOKEN_FIELDS:
            if isinstance(envelope.get(name), str):
                check_token_value(envelope[name], name, out)
                return
        return  # the missing envelope key is already an error of its own
    tokens: list[tuple[str, str]] = []  # (path, token)
    missing = 0
    single = shape in (BodyShape.ONE, BodyShape.ENGAGE)
    for i, (ev, path) in enumerate(zip(parsed.events, parsed.event_paths, strict=True)):
        if not isinstance(ev, dict):
            continue
        token = event_token_fields(ev, path, None if single else i, out)
        token_path = next((path_key(path, n) for n in TOKEN_FIELDS if n in ev), "")
        if token is None:
            props = ev.get("properties")
            if isinstance(props, dict) and isinstance(props.get("token"), str):
                token = props["token"]
                token_path = path_key(path_key(path, "properties"), "token")
        if token is None:
            missing += 1
        else:
            tokens.append((token_path, token))
    if not tokens:
        out.error(
            "token.missing",
            "api_key",
            "No project API key; PostHog answers 401.",
            'Add "api_key": "phc_..." to the event (the composer does this from the key field).',
            stage=Stage.TOKEN,
            status=401,
            reply=replies.NO_API_KEY,
        )
        return
    distinct = {t for _, t in tokens}
    if len(distinct) > 1:
        out.error(
            "token.inconsistent",
            tokens[1][0] if tokens[1][1] != tokens[0][1] else tokens[0][0],
            "The events carry different project keys; PostHog refuses the whole array (401).",
            "Use one project key for every event, or send them in separate requests.",
            stage=Stage.TOKEN,
            status=401,
            reply=replies.INCONSISTENT_KEYS,
        )
        return
    check_token_value(tokens[0][1], tokens[0][0], out)


def check_duplicates(parsed: ParsedBody, out: Collector) -> None:
    if not parsed.duplicate_keys:
        return
    event_paths = {tuple(path_split(p)): i for i, p in enumerate(parsed.event_paths)}
    single = parsed.shape in (BodyShape.ONE, BodyShape.ENGAGE)
    for path, name in parsed.duplicate_keys:
        where = tuple(path)
        at = path_key(path_join(path), name)
        is_event = where in event_paths
        is_envelope = parsed.shape is BodyShape.BATCH and where == ()
        index = None if single else event_paths.get(where)
        if (is_event and name in KNOWN_TOP_LEVEL) or (is_envelope and name in ENVELOPE_FIELDS):
            # serde refuses a struct field given twice ("duplicate field"), but the untagged
            # RawRequest hides that message behind its own or falls to the next variant:
            # settle_variant (envelope.py) gives the reply.
            out.error(
                "json.duplicate_key",
                at,
                f"{name!r} appears twice in one object; PostHog's parser refuses a repeated field.",
                "Keep one of the two.",
                stage=Stage.PARSE,
                reply=replies.PARSE_FAILED,
                event=index,
            )
        else:
            out.warning(
                "json.duplicate_key",
                at,
                f"{name!r} appears twice in one object; only the last value is kept.",
                "Keep one of the two.",
                event=index,
            )


def check_uuids_unique(parsed: ParsedBody, out: Collector) -> None:
    if len(parsed.events) < 2:
        return
    seen: dict[str, int] = {}
    for i, ev in enumerate(parsed.events):
        if not isinstance(ev, dict):
            continue
        value = ev.get("uuid")
        if not isinstance(value, str) or not value:
            continue
        canonical = value.lower()
        first = seen.setdefault(canonical, i)
        if first != i:
            out.warning(
                "uuid.duplicate",
                path_key(parsed.event_paths[i], "uuid"),
                f"Event {i} has the same uuid as event {first}; PostHog keeps only one of them.",
                "Give every event its own uuid.",
                event=i,
            )
