"""Project-key rules: where PostHog finds the token, and the shape check it runs (contract §3)."""

from __future__ import annotations

import re
from typing import Any

from composer.core.capture.bodies import TOKEN_FIELDS
from composer.core.capture.identifiers import rust_trim
from composer.core.capture.preflight import replies
from composer.core.capture.preflight.collector import Collector
from composer.core.findings import Stage
from composer.core.jsonpath import key as path_key

MAX_TOKEN_BYTES = 64
_PLACEHOLDER = re.compile(
    r"^<.*>$|^\{\{.*\}\}$|^\$\{.*\}$|^(your|my)[_ -]?(project[_ -]?)?(api[_ -]?)?(key|token)$|"
    r"^(phc_)?x{6,}$|^phc_(test|example|placeholder)$",
    re.IGNORECASE,
)
PROJECT_KEY_FIX = "Use the project API key (phc_...) from your PostHog project settings."


def shape_problem(token: str) -> str | None:
    """The reason capture-rs's token.rs refuses this token, or None when it passes.

    token.rs @14b6bb0 `validate_token` trims surrounding white space (Rust's `str::trim`) and
    runs every check on what is left (tests `trims_surrounding_whitespace`,
    `blocks_whitespace_only_token`). The older @3741b61 did not trim; 14b6bb0 is the newer one:
    it keeps every test of 3741b61 and adds these two."""
    token = rust_trim(token)
    if not token:
        return "empty"
    if len(token.encode()) > MAX_TOKEN_BYTES:
        return "too_long"
    if not token.isascii():
        return "not_ascii"
    if token.startswith("phx_"):
        return "personal_api_key"
    if "\x00" in token:
        return "null_byte"
    return None


_SHAPE_TEXT = {
    "empty": (
        "the project API key is empty (PostHog trims white space around it first).",
        PROJECT_KEY_FIX,
    ),
    "too_long": (
        "the project API key is longer than 64 bytes.",
        "Check that only the key was pasted; project keys are about 47 characters.",
    ),
    "not_ascii": (
        "the project API key contains characters that are not ASCII.",
        "Retype the key; a pasted key sometimes carries invisible characters.",
    ),
    "personal_api_key": (
        "that is a personal API key (phx_...); the capture endpoints refuse it.",
        "Use the project API key (phc_...) from Project settings, not a personal key.",
    ),
    "null_byte": ("the project API key contains a NUL character.", "Retype the key."),
}


def event_token_fields(
    obj: dict[str, Any],
    path: str,
    index: int | None,
    out: Collector,
    fields: tuple[str, ...] = TOKEN_FIELDS,
) -> Any:
    """Check the token fields of one object; return the token it carries (or None).
    `fields` are the names of the one serde field (an envelope has fewer than an event)."""
    present = [name for name in fields if name in obj]
    if len(present) > 1:
        out.error(
            "token.duplicate",
            path_key(path, present[1]),
            f"{' and '.join(present)} are the same field to PostHog; sending both is refused.",
            "Keep only one of them (api_key is the usual one).",
            stage=Stage.PARSE,
            reply=replies.PARSE_FAILED,
            event=index,
        )
    for name in present:
        value = obj[name]
        if value is not None and not isinstance(value, str):
            out.error(
                "token.not_string",
                path_key(path, name),
                f"{name} must be a string; this one is {type_name(value)}.",
                "Write the project key as a JSON string in quotes.",
                stage=Stage.PARSE,
                reply=replies.PARSE_FAILED,
                event=index,
            )
    for name in present:
        if isinstance(obj[name], str):
            return obj[name]
    return None


def check_token_value(token: str, path: str, out: Collector) -> None:
    reason = shape_problem(token)
    if reason is not None:
        message, fix = _SHAPE_TEXT[reason]
        code = "token.personal_key" if reason == "personal_api_key" else f"token.{reason}"
        out.error(
            code,
            path,
            message[0].upper() + message[1:],
            fix,
            stage=Stage.TOKEN,
            status=401,
            reply=replies.invalid_key(reason),
        )
        return
    trimmed = rust_trim(token)
    if trimmed != token:
        out.warning(
            "token.whitespace",
            path,
            "The key has spaces or a line break around it. PostHog's current capture trims them"
            " before checking the key (token.rs), but older capture versions refuse or keep"
            " them, and the project is looked up by the exact key, so the events can be lost.",
            "Remove the spaces and line breaks around the key.",
        )
    if any(ch.isspace() or ch < " " or ch == "\x7f" for ch in trimmed):
        out.warning(
            "token.internal_whitespace",
            path,
            "The key has white space or a control character inside it. No project key does;"
            " PostHog answers 200 and then drops the events, since no project owns this key.",
            PROJECT_KEY_FIX,
        )
        return
    token = trimmed
    if _PLACEHOLDER.match(token):
        out.warning(
            "token.placeholder",
            path,
            f"{token!r} looks like a placeholder, not a real project key; PostHog answers 200"
            " and then drops events for keys it does not know.",
            PROJECT_KEY_FIX,
        )
    elif not token.startswith("phc_"):
        out.warning(
            "token.not_project_key",
            path,
            "The key does not start with phc_. PostHog accepts any well-formed key and then"
            " drops the events if no project owns it.",
            PROJECT_KEY_FIX,
        )


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
