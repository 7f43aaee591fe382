"""curl: the body's exact bytes (the preview's), with the key read from the environment."""

from __future__ import annotations

from composer.core.capture import bodies
from composer.core.snippets.literals import shell_quote
from composer.core.snippets.model import KEY_SENTINEL, Notes, Snippet, SnippetRequest
from composer.core.snippets.text import header, key_sentence


def curl(request: SnippetRequest, body: object, notes: Notes) -> Snippet:
    text = bodies.render(body).decode()
    # The key is spliced in between two single-quoted parts: '..."'"$POSTHOG_..."'"...'
    pieces = text.split(KEY_SENTINEL)
    data = f'"${request.key_env}"'.join(shell_quote(piece) for piece in pieces)
    top = header(
        f"POST the body to {request.url()} (PostHog's capture API)."
        f" {key_sentence(request.key_env, request.writes_key)}",
        notes.items,
        "#",
    )
    code = (
        f"{top}\n"
        f"curl -sS {shell_quote(request.url())} \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        f"  --data-binary {data}\n"
    )
    return Snippet("curl", code, tuple(notes.items), "shell", "send.sh")
