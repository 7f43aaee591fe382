"""What a snippet is made from, what it is, and how the project key stays out of it.

A `SnippetRequest` holds a capture body (one event, an array or a `/batch/` envelope, as the
composer would send it), the endpoint and the host. Unless the user asks to include the key,
every place the key would go reads an environment variable instead, and any other copy of a
known key left in the body is masked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from composer.core.capture import bodies, endpoints

KEY_ENV = "POSTHOG_PROJECT_API_KEY"
DEFAULT_HOST = "http://127.0.0.1:8787"
# Stands in for the key while a body is rendered; each language writes its key expression
# where it appears. Private-use characters: no JSON renderer escapes them, no user types them.
KEY_SENTINEL = "\ue000posthog-project-api-key\ue001"
MIN_SECRET = bodies.MIN_KNOWN_KEY  # shorter "keys" would mask ordinary words


@dataclass(frozen=True)
class SnippetRequest:
    """One body to write as code.

    include_key: write `key` itself into the code (the user asked, this time); otherwise the
        code reads `key_env` from the environment.
    secrets: every key that must not appear in the code unless included (the target's key,
        keys found in the body); `key` is always one of them.
    """

    body: Any
    endpoint: str = endpoints.DEFAULT
    host: str = DEFAULT_HOST
    include_key: bool = False
    key: str = ""
    secrets: tuple[str, ...] = ()
    key_env: str = KEY_ENV

    @property
    def writes_key(self) -> bool:
        return self.include_key and bool(self.key)

    def base(self) -> str:
        """The host's base URL, without a trailing slash."""
        return self.host.strip().rstrip("/") or DEFAULT_HOST

    def url(self) -> str:
        return self.base() + endpoints.normalize(self.endpoint)

    def all_secrets(self) -> tuple[str, ...]:
        found = [self.key, *self.secrets, *bodies.keys_in(self.body)]
        return tuple(dict.fromkeys(k for k in found if len(k) >= MIN_SECRET))


@dataclass(frozen=True)
class Snippet:
    """Code for one language. `notes` says what the code cannot send exactly as composed (or
    what its SDK adds); the code carries the same notes as comments."""

    language: str
    code: str
    notes: tuple[str, ...] = ()
    syntax: str = "text"  # shell, python, javascript, go, ruby: for highlighting
    filename: str = "snippet.txt"  # what to save it as to run it


@dataclass
class Notes:
    """Notes collected while writing a snippet, each once, in order."""

    items: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        if text not in self.items:
            self.items.append(text)

    def extend(self, texts: Iterable[str]) -> None:
        for text in texts:
            self.add(text)


def with_key_placeholder(request: SnippetRequest, notes: Notes, *, sentinel: bool = False) -> Any:
    """The body with the key (or `KEY_SENTINEL`, always with `sentinel`) wherever PostHog reads
    the token, any string equal to a known key replaced the same way, and a known key inside a
    longer string masked (with a note)."""
    value = request.key if request.writes_key and not sentinel else KEY_SENTINEL
    secrets = set(request.all_secrets())
    body = request.body
    if secrets:
        body = _replace_strings(body, secrets, value)
        if not request.writes_key:
            masked = _mask_inside(body, secrets)
            if masked is not body:
                body = masked
                notes.add(
                    "A project key inside a value of the body was masked; the code reads the"
                    f" key from ${request.key_env} instead."
                )
    if isinstance(body, dict | list):
        body = bodies.with_api_key(body, value)
    return body


def _mask_inside(value: Any, secrets: set[str]) -> Any:
    """`value`, or a copy with every key inside a string masked when there is one."""

    def masked(text: str) -> str:
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, bodies.mask_key(secret))
        return text

    found = False
    root: list[Any] = [value]
    stack: list[tuple[Any, Any]] = [(root, 0)]
    while stack:
        parent, slot = stack.pop()
        item = parent[slot]
        if isinstance(item, str):
            fixed = masked(item)
            if fixed != item:
                parent[slot] = fixed
                found = True
        elif isinstance(item, dict):
            copied = {masked(k): v for k, v in item.items()}
            found = found or list(copied) != list(item)
            parent[slot] = copied
            stack.extend((copied, name) for name in copied)
        elif isinstance(item, list):
            copied_list = list(item)
            parent[slot] = copied_list
            stack.extend((copied_list, i) for i in range(len(copied_list)))
    return root[0] if found else value


def _replace_strings(value: Any, secrets: set[str], replacement: str) -> Any:
    """A copy of `value` with every string in `secrets` replaced (iterative: any depth)."""
    root: list[Any] = [value]
    stack: list[tuple[Any, Any]] = [(root, 0)]
    while stack:
        parent, slot = stack.pop()
        item = parent[slot]
        if isinstance(item, str):
            if item in secrets:
                parent[slot] = replacement
        elif isinstance(item, dict):
            copied = dict(item)
            parent[slot] = copied
            stack.extend((copied, name) for name in copied)
        elif isinstance(item, list):
            copied_list = list(item)
            parent[slot] = copied_list
            stack.extend((copied_list, i) for i in range(len(copied_list)))
    return root[0]


def mask_secrets(code: str, request: SnippetRequest, notes: Notes) -> str:
    """The last guard: no known key survives in code the user did not ask to carry one."""
    if request.writes_key:
        return code
    for secret in request.all_secrets():
        if secret in code:
            code = code.replace(secret, bodies.mask_key(secret))
            notes.add(
                "A project key inside a value of the body was masked; the code reads the key"
                f" from ${request.key_env} instead."
            )
    return code
