"""Paste from code: a curl command, Python that posts a body, or a body on its own, read back into
a body and the endpoint it goes to."""

from __future__ import annotations

from composer.core.capture.parse import BodyEncodingError, parse_text
from composer.core.jsonio import JsonSyntaxError
from composer.core.snippets.paste_curl import looks_like_curl, parse_curl
from composer.core.snippets.paste_python import parse_python
from composer.core.snippets.pasted import (
    Draft,
    Pasted,
    PasteError,
    check_keys,
    endpoint_for_shape,
)

MAX_PASTE_CHARS = 32 * 1024 * 1024

__all__ = ["PasteError", "Pasted", "paste"]


def paste(text: str) -> Pasted:
    """What `text` sends. Raises PasteError with a message (and a line of `text` where there
    is one)."""
    lead = text[: len(text) - len(text.lstrip())].count("\n")
    try:
        return _paste(text)
    except PasteError as exc:
        if exc.line and lead:
            raise PasteError(exc.message, exc.line + lead) from None
        raise


def _paste(text: str) -> Pasted:
    if len(text) > MAX_PASTE_CHARS:
        raise PasteError("The pasted text is larger than 32 MiB; PostHog takes 20 MiB a request.")
    stripped = text.strip().lstrip("\ufeff")
    if not stripped:
        raise PasteError("Paste a curl command, Python code that posts a body, or a JSON body.")
    if looks_like_curl(stripped):
        return parse_curl(stripped)
    if stripped[0] in "{[":
        try:
            parsed = parse_text(stripped)
        except JsonSyntaxError as exc:
            raise PasteError(
                f"The body is not JSON (column {exc.column}): {exc.message}.", exc.line
            ) from None
        except BodyEncodingError as exc:  # pragma: no cover - str input is always text
            raise PasteError(str(exc)) from None
        draft = Draft()
        body = check_keys(parsed.value, draft)
        return Pasted(
            body, endpoint_for_shape(body), None, "json", tuple(draft.notes), draft.key_in_code
        )
    return parse_python(stripped)
