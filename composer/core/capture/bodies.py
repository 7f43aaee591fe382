"""Request bodies: one event, or a batch envelope; where the project key goes; the exact bytes.

The preview and the transport both call `render`, so what the user sees is what is sent, byte
for byte, apart from the key itself (masked on screen, real on the wire).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from composer.core.capture import endpoints
from composer.core.jsonio import JsonObject, dumps_compact, dumps_pretty

TOKEN_FIELDS = ("api_key", "token", "$token")  # one serde field with aliases in capture-rs
MASK_CHAR = "*"


def single_body(event: JsonObject, api_key: str | None) -> JsonObject:
    """`{"api_key": ..., "event": ...}` for /i/v0/e/ or /capture/ (tutorial order)."""
    body: JsonObject = {} if api_key is None else {"api_key": api_key}
    body.update((k, v) for k, v in event.items() if k not in body)
    return body


def batch_body(
    events: Sequence[JsonObject],
    api_key: str | None,
    *,
    historical_migration: bool | None = None,
    sent_at: str | None = None,
) -> JsonObject:
    """The `/batch/` envelope; the optional fields are left out unless given."""
    body: JsonObject = {} if api_key is None else {"api_key": api_key}
    body["batch"] = list(events)
    if historical_migration is not None:
        body["historical_migration"] = historical_migration
    if sent_at is not None:
        body["sent_at"] = sent_at
    return body


def body_for_endpoint(
    events: Sequence[JsonObject],
    api_key: str | None,
    endpoint: str,
    *,
    historical_migration: bool | None = None,
    sent_at: str | None = None,
) -> JsonObject | list[JsonObject]:
    """The body for `endpoint`: an envelope for /batch/, else one object or an array."""
    if endpoints.is_batch(endpoint):
        return batch_body(
            events, api_key, historical_migration=historical_migration, sent_at=sent_at
        )
    if len(events) == 1:
        return single_body(events[0], api_key)
    return [single_body(e, api_key) for e in events]


def token_field(obj: JsonObject) -> str | None:
    """The key under which this object carries its token, if it has one."""
    for name in TOKEN_FIELDS:
        if name in obj:
            return name
    return None


def with_api_key(body: Any, api_key: str) -> Any:
    """A copy of `body` carrying `api_key` wherever PostHog reads the token from.

    An existing token field keeps its name and position; a body without one gets `api_key` first.
    Batch envelopes carry it at the top (the items' own tokens are ignored by PostHog); bare
    arrays carry it in every event so that none is left without.
    """
    if isinstance(body, dict):
        name = token_field(body)
        if name is not None:
            return {k: (api_key if k == name else v) for k, v in body.items()}
        return {"api_key": api_key, **body}
    if isinstance(body, list):
        return [with_api_key(item, api_key) if isinstance(item, dict) else item for item in body]
    return body


def read_api_key(body: Any) -> str | None:
    """The key a body carries where PostHog looks first (envelope, or the first event)."""
    if isinstance(body, dict):
        name = token_field(body)
        if name is not None and isinstance(body[name], str):
            return str(body[name])
        props = body.get("properties")
        if "batch" not in body and isinstance(props, dict) and isinstance(props.get("token"), str):
            return str(props["token"])
        return None
    if isinstance(body, list):
        for item in body:
            key = read_api_key(item)
            if key is not None:
                return key
    return None


def mask_key(key: str) -> str:
    """`phc_abc…` -> `phc_*****…`: the kind of key stays visible, the secret part does not."""
    if not key:
        return key
    prefix = key[:4] if key[:4] in ("phc_", "phx_") else ""
    return prefix + MASK_CHAR * max(4, min(len(key) - len(prefix), 40))


def render(body: Any) -> bytes:
    """The exact bytes the composer sends and the preview shows."""
    return dumps_pretty(body)


def mask_in_render(rendered: bytes, keys: Sequence[str]) -> bytes:
    """Rendered bytes with every key masked, found in its JSON-escaped form."""
    for key in keys:
        if key:
            escaped = dumps_compact(key)[1:-1]
            rendered = rendered.replace(escaped, dumps_compact(mask_key(key))[1:-1])
    return rendered


# Values of token fields, and anything shaped like a PostHog key, wherever they appear: also
# inside a longer word, as in posthog-js's cookie name `ph_<key>_posthog`.
_TOKEN_FIELD = re.compile(r'("(?:api_key|token|\$token)"\s*:\s*")((?:[^"\\]|\\.)*)(")')
_KEY_SHAPED = re.compile(r"ph[cx]_[A-Za-z0-9_\-]{4,}")
_FORM_TOKEN = re.compile(r"((?:^|[&?])(?:api_key|token)=)([^&]*)")
MIN_KNOWN_KEY = 6  # shorter "keys" (a test's "x") would mask ordinary words everywhere


def redact(text: str, known: Iterable[str] = ()) -> str:
    """Mask project and personal keys in request text, headers or JSON: every key in `known`
    wherever it appears (a path, a cookie name, a header), token fields, form tokens, and
    anything shaped like a key. For everything written to disk (the sandbox inbox, drafts,
    history) and every log line, where a key pasted anywhere must not survive."""
    for key in known:
        if len(key) >= MIN_KNOWN_KEY and key in text:
            text = text.replace(key, mask_key(key))
    # Substring tests run at C speed; most texts (a stored event) hold none of these, and
    # skipping the regex passes then is most of the inbox's cost per event.
    if '"api_key"' in text or 'token"' in text:
        text = _TOKEN_FIELD.sub(lambda m: m.group(1) + mask_key(m.group(2)) + m.group(3), text)
    if "api_key=" in text or "token=" in text:  # a query string or a form body
        text = _FORM_TOKEN.sub(lambda m: m.group(1) + mask_key(m.group(2)), text)
    if "phc_" in text or "phx_" in text:
        text = _KEY_SHAPED.sub(lambda m: mask_key(m.group(0)), text)
    return text


def redact_bytes(data: bytes, known: Iterable[str] = ()) -> bytes:
    """`redact` for bytes that are mostly UTF-8 text; other bytes pass through unchanged."""
    text = data.decode("utf-8", "surrogateescape")
    return redact(text, known).encode("utf-8", "surrogateescape")


def keys_in(body: Any) -> list[str]:
    """Every token a body carries (envelope, events, properties.token), for masking."""
    found: list[str] = []
    items = [body] if isinstance(body, dict) else list(body) if isinstance(body, list) else []
    if isinstance(body, dict) and isinstance(body.get("batch"), list):
        items.extend(body["batch"])
    for item in items:
        if not isinstance(item, dict):
            continue
        for name in TOKEN_FIELDS:
            if isinstance(item.get(name), str):
                found.append(item[name])
        props = item.get("properties")
        if isinstance(props, dict) and isinstance(props.get("token"), str):
            found.append(props["token"])
    return [k for k in found if k]
