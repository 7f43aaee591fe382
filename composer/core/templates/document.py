"""Templates as documents: what a template file holds, how it is written, and how old files migrate.

A template is a plain JSON file meant to live in git: two-space indentation, a fixed order of
top-level keys, the event's keys in the order the composer builds them, and a trailing newline,
so that saving an unchanged template changes no byte and a changed value changes one line.

    {
      "schema_version": 1,
      "name": "Plan upgraded",
      "description": "",
      "type": "payload",
      "endpoint": "/i/v0/e/",
      "event": {"event": "plan_upgraded", "distinct_id": "{{user}}", ...}
    }

A batch template has `"type": "batch"` and `"events": [...]`. The project key is never part of
a template: token fields are removed, and any string equal to a known key is refused.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from composer.core.capture import endpoints
from composer.core.capture.bodies import TOKEN_FIELDS
from composer.core.jsonio import JsonObject, JsonSyntaxError, dumps_pretty, loads
from composer.core.templates.variables import has_placeholders

SCHEMA_VERSION = 1
SUFFIX = ".json"
VARIABLES_FILE = "variables.json"
MAX_NAME = 120


class TemplateType(StrEnum):
    PAYLOAD = "payload"
    BATCH = "batch"


class TemplateError(ValueError):
    """A file that cannot be used as a template; the message says why and what to do."""


class NewerTemplateError(TemplateError):
    """Written by a newer version of the composer: listed, never rewritten."""


class SecretInTemplateError(TemplateError):
    """The template would carry a project key."""


@dataclass
class Template:
    name: str
    type: TemplateType = TemplateType.PAYLOAD
    events: list[JsonObject] = field(default_factory=list)
    endpoint: str = endpoints.DEFAULT
    description: str = ""

    @property
    def event(self) -> JsonObject:
        """The payload template's one event (an empty one for an empty template)."""
        return self.events[0] if self.events else {}


def check_name(name: str) -> str:
    """The name to store, or a TemplateError that says how to fix it."""
    name = " ".join(name.split())
    if not name:
        raise TemplateError("Give the template a name.")
    if len(name) > MAX_NAME:
        raise TemplateError(f"The name has {len(name)} characters; keep it to {MAX_NAME}.")
    if name in (".", "..") or "/" in name or "\\" in name:
        raise TemplateError("A template name cannot contain / or \\; use folders to group them.")
    return name


def file_stem(name: str) -> str:
    """A file name for a template name: readable, portable, lower case (`Plan upgraded` ->
    `plan-upgraded`). Collisions are the store's business."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9$_]+", "-", ascii_name).strip("-").lower()
    return stem[:80] or "template"


# -- keys ---------------------------------------------------------------------------------------


def without_keys(event: JsonObject) -> JsonObject:
    """The event without the fields PostHog reads a project key from."""
    clean = {k: v for k, v in event.items() if k not in TOKEN_FIELDS}
    props = clean.get("properties")
    if isinstance(props, dict) and "token" in props:
        clean["properties"] = {k: v for k, v in props.items() if k != "token"}
    return clean


def without_fixed_uuid(event: JsonObject) -> JsonObject:
    """A template's event: a fixed uuid would make every replay a duplicate PostHog drops;
    a {{$uuid}} placeholder stays, as it gives a fresh one each time."""
    return {k: v for k, v in event.items() if k != "uuid" or has_placeholders(v)}


def suggest_name(events: Sequence[Any]) -> str:
    """A template name from the first event's name."""
    name = events[0].get("event") if events and isinstance(events[0], dict) else None
    return name.lstrip("$") if isinstance(name, str) and name.strip("$") else "Untitled"


# A PostHog project (phc_) or personal (phx_) key, as PostHog generates them.
_KEY_SHAPE = re.compile(r"ph[cx]_[A-Za-z0-9]{20,}")


def looks_like_key(text: str) -> bool:
    return _KEY_SHAPE.search(text) is not None


def find_secret(value: Any, secrets: Sequence[str], path: str = "") -> str | None:
    """The path of the first string that holds one of `secrets` or anything shaped like a
    PostHog key, if any."""
    if isinstance(value, str):
        hit = looks_like_key(value) or any(s and s in value for s in secrets)
        return (path or "(value)") if hit else None
    if isinstance(value, dict):
        for k, v in value.items():
            if any(s and s in k for s in secrets):
                return f"{path}.{k}" if path else k
            found = find_secret(v, secrets, f"{path}.{k}" if path else k)
            if found:
                return found
    if isinstance(value, list):
        for i, v in enumerate(value):
            found = find_secret(v, secrets, f"{path}[{i}]")
            if found:
                return found
    return None


# -- writing ------------------------------------------------------------------------------------


def to_document(template: Template, secrets: Sequence[str] = ()) -> JsonObject:
    """The file's JSON object. Raises SecretInTemplateError if a key would be written."""
    events = [without_keys(e) for e in template.events]
    doc: JsonObject = {
        "schema_version": SCHEMA_VERSION,
        "name": check_name(template.name),
        "description": template.description,
        "type": template.type.value,
        "endpoint": template.endpoint,
    }
    if template.type is TemplateType.PAYLOAD:
        doc["event"] = events[0] if events else {}
    else:
        doc["events"] = events
    where = find_secret(doc, [s for s in secrets if len(s) >= 8])
    if where is not None:
        raise SecretInTemplateError(
            f"A PostHog key appears in {where}. Templates are shared files and never hold a"
            " key; remove it there (the key comes from the profile when sending)."
        )
    return doc


def render(template: Template, secrets: Sequence[str] = ()) -> bytes:
    return dumps_pretty(to_document(template, secrets)) + b"\n"


# -- reading ------------------------------------------------------------------------------------


def _from_v0(doc: Any, fallback_name: str) -> JsonObject:
    """Version 0 is any plain PostHog body dropped in the folder (an event, a batch envelope
    or an array of events, as the tutorial writes them): it becomes a template as it is."""
    if isinstance(doc, dict) and isinstance(doc.get("batch"), list):
        events = [e for e in doc["batch"] if isinstance(e, dict)]
        kind, endpoint = TemplateType.BATCH, "/batch/"
    elif isinstance(doc, list):
        events = [e for e in doc if isinstance(e, dict)]
        kind, endpoint = TemplateType.BATCH, "/batch/"
    elif isinstance(doc, dict) and ("event" in doc or "distinct_id" in doc):
        events, kind, endpoint = [doc], TemplateType.PAYLOAD, endpoints.DEFAULT
    else:
        raise TemplateError(
            "This JSON is neither a template (no schema_version) nor a PostHog event or batch."
        )
    migrated: JsonObject = {
        "schema_version": 1,
        "name": fallback_name,
        "description": "",
        "type": kind.value,
        "endpoint": endpoint,
    }
    if kind is TemplateType.PAYLOAD:
        migrated["event"] = without_keys(events[0])
    else:
        migrated["events"] = [without_keys(e) for e in events]
    return migrated


# Each function takes a document of version N and returns one of version N + 1.
MIGRATIONS: dict[int, Callable[[Any, str], JsonObject]] = {0: _from_v0}


def version_of(doc: Any) -> int:
    if isinstance(doc, dict) and "schema_version" in doc:
        version = doc["schema_version"]
        if type(version) is not int or version < 1:
            raise TemplateError(
                f"schema_version is {version!r}; it must be a whole number (this composer"
                f" writes {SCHEMA_VERSION})."
            )
        return version
    return 0


def parse(data: bytes, fallback_name: str) -> Template:
    """A template from a file's bytes, migrated to the current schema."""
    try:
        doc = loads(data)
    except JsonSyntaxError as exc:
        raise TemplateError(
            f"Not valid JSON (line {exc.line}, column {exc.column}: {exc.message}). The file is"
            " left as it is; fix it in an editor or delete it."
        ) from None
    version = version_of(doc)
    if version > SCHEMA_VERSION:
        raise NewerTemplateError(
            f"Written by a newer composer (schema_version {version}; this one reads up to"
            f" {SCHEMA_VERSION}). Update the composer to open it; it is left untouched."
        )
    while version < SCHEMA_VERSION:
        doc = MIGRATIONS[version](doc, fallback_name)
        version = version_of(doc)
    return _from_current(doc, fallback_name)


def _from_current(doc: JsonObject, fallback_name: str) -> Template:
    kind_text = doc.get("type", TemplateType.PAYLOAD.value)
    try:
        kind = TemplateType(kind_text)
    except ValueError:
        raise TemplateError(
            f'"type" is {kind_text!r}; a template is "payload" or "batch".'
        ) from None
    name = doc.get("name")
    description = doc.get("description", "")
    endpoint = doc.get("endpoint", endpoints.DEFAULT)
    if not isinstance(endpoint, str):
        raise TemplateError('"endpoint" must be a path such as "/i/v0/e/".')
    if kind is TemplateType.PAYLOAD:
        event = doc.get("event", {})
        if not isinstance(event, dict):
            raise TemplateError('"event" must be a JSON object (the event to send).')
        events = [event]
    else:
        raw = doc.get("events", [])
        if not isinstance(raw, list) or not all(isinstance(e, dict) for e in raw):
            raise TemplateError('"events" must be a list of JSON objects.')
        events = list(raw)
    return Template(
        name=name if isinstance(name, str) and name.strip() else fallback_name,
        type=kind,
        events=[without_keys(e) for e in events],
        endpoint=endpoint,
        description=description if isinstance(description, str) else "",
    )


def matches(template_name: str, folder: str, description: str, words: Iterable[str]) -> bool:
    """Search: every word appears in the name, the folder or the description."""
    haystack = f"{template_name}\n{folder}\n{description}".casefold()
    return all(w.casefold() in haystack for w in words)
