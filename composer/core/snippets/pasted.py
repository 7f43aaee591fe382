"""What reading pasted code gives: the body and where it was sent, or an error that says where."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from composer.core.capture import bodies, endpoints
from composer.core.capture.parse import BodyShape, classify

# A token value that stands for a key rather than being one: `$POSTHOG_PROJECT_API_KEY`,
# `${KEY}`, `<ph_project_api_key>`, `{{key}}`.
_KEY_REFERENCE = re.compile(r"^(\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|<[^<>]*>|\{\{[^{}]*\}\})$")


class PasteError(ValueError):
    """Pasted text the composer cannot read; the message says what and where (line 1 = the
    first line of the pasted text)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}" if self.line else self.message


@dataclass(frozen=True)
class Pasted:
    """A body read from code.

    body: the JSON the code sends; a token field whose value was an expression (an environment
        variable) is left out, since the key comes from the target.
    endpoint: the capture path the code posts to.
    host: the host as the code writes it (a URL, `<ph_instance_address>`, `$POSTHOG_HOST`), or
        None when the code names none.
    """

    body: Any
    endpoint: str
    host: str | None
    source: str  # "curl", "python" or "json"
    notes: tuple[str, ...] = ()
    key_in_code: bool = False  # a real-looking key was written in the code (not kept)

    @property
    def events(self) -> list[Any]:
        return classify(self.body)[1]

    @property
    def fits_the_form(self) -> bool:
        """One event, and nothing besides it the form cannot hold (an envelope's own fields)."""
        shape, items, _ = classify(self.body)
        if len(items) != 1 or not isinstance(items[0], dict):
            return False
        if shape is BodyShape.BATCH and isinstance(self.body, dict):
            return set(self.body) <= {"batch", *bodies.TOKEN_FIELDS}
        return shape in (BodyShape.ONE, BodyShape.BATCH)


@dataclass
class Draft:
    """What a reader has found so far."""

    notes: list[str] = field(default_factory=list)
    key_in_code: bool = False

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


def is_key_reference(value: str) -> bool:
    return bool(_KEY_REFERENCE.match(value.strip()))


def check_keys(body: Any, draft: Draft) -> Any:
    """Token fields that are references (`$KEY`) are dropped; a real key is noted, never kept
    by the caller (the form takes no key: the target's is used)."""
    items: list[Any] = []
    if isinstance(body, dict):
        items.append(body)
        if isinstance(body.get("batch"), list):
            items.extend(body["batch"])
    elif isinstance(body, list):
        items.extend(body)
    for item in items:
        if not isinstance(item, dict):
            continue
        for name in bodies.TOKEN_FIELDS:
            value = item.get(name)
            if isinstance(value, str) and is_key_reference(value):
                if value.startswith("$"):
                    del item[name]
                    draft.note(f"The key comes from the target, not from {value}.")
            elif isinstance(value, str) and value:
                draft.key_in_code = True
    if draft.key_in_code:
        draft.note(
            "The pasted code carries a project key; the form does not keep it (Send uses the"
            " target's key)."
        )
    return body


def endpoint_of(url: str, draft: Draft) -> tuple[str, str | None]:
    """The capture path and the host of a URL as code writes it: `https://h/capture/`,
    `<ph_instance_address>/capture/`, `$POSTHOG_HOST/batch`, `localhost:8000/e`."""
    text = url.strip()
    if "://" in text:
        parts = urlsplit(text)
        host: str | None = f"{parts.scheme}://{parts.netloc}"
        path = parts.path
        query = parts.query
    else:
        head, slash, rest = text.partition("/")
        host = head or None
        path, _, query = (slash + rest).partition("?")
    if query:
        draft.note(f"The URL's query (?{query}) is not kept; the form sends a plain POST.")
    if not path.strip("/"):
        draft.note(f"The URL names no endpoint; the form uses {endpoints.DEFAULT}.")
        return endpoints.DEFAULT, host
    normalized = endpoints.normalize(path)
    if not endpoints.is_known(normalized):
        draft.note(f"{path} is not one of PostHog's capture endpoints; it is kept as written.")
    return normalized, host


def endpoint_for_shape(body: Any) -> str:
    shape = classify(body)[0]
    return endpoints.BATCH if shape is BodyShape.BATCH else endpoints.DEFAULT
