"""Every snippet language, by id, and `generate`, which writes one without leaking the key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

from composer.core.snippets import go, javascript, python, ruby, shell
from composer.core.snippets.model import (
    Notes,
    Snippet,
    SnippetRequest,
    mask_secrets,
    with_key_placeholder,
)

Writer = Callable[[SnippetRequest, object, Notes], Snippet]


@dataclass(frozen=True)
class Language:
    id: str  # what `event-composer code --lang` takes
    label: str  # what the window shows
    syntax: str
    writer: Writer
    sdk: bool  # an SDK's calls rather than the body itself


LANGUAGES: tuple[Language, ...] = (
    Language("curl", "curl", "shell", shell.curl, sdk=False),
    Language(
        "python-requests",
        "Python requests",
        "python",
        partial(python.http_client, library="requests"),
        sdk=False,
    ),
    Language(
        "python-httpx",
        "Python httpx",
        "python",
        partial(python.http_client, library="httpx"),
        sdk=False,
    ),
    Language("posthog-python", "posthog-python", "python", python.posthog_python, sdk=True),
    Language("node-fetch", "Node fetch", "javascript", javascript.node_fetch, sdk=False),
    Language("posthog-node", "posthog-node", "javascript", javascript.posthog_node, sdk=True),
    Language("posthog-js", "posthog-js (web)", "javascript", javascript.posthog_js, sdk=True),
    Language("go", "Go net/http", "go", go.go, sdk=False),
    Language("ruby", "Ruby Net::HTTP", "ruby", ruby.ruby, sdk=False),
)
BY_ID = {language.id: language for language in LANGUAGES}
IDS = tuple(BY_ID)


def language(language_id: str) -> Language:
    """The language with this id; KeyError (naming the ids there are) otherwise."""
    try:
        return BY_ID[language_id]
    except KeyError:
        raise KeyError(
            f"no snippet language {language_id!r}; choose one of {', '.join(IDS)}"
        ) from None


def generate(language_id: str, request: SnippetRequest) -> Snippet:
    """The snippet for `request` in one language.

    Unless `request.include_key` (with a key to include), the key is read from the
    environment wherever the code needs it, and any other copy of a known key is masked: no
    snippet carries a key the user did not ask for.
    """
    chosen = language(language_id)
    notes = Notes()
    if request.include_key and not request.key:
        notes.add(f"There is no project key to include; the code reads ${request.key_env}.")
        request = replace(request, include_key=False)
    body = with_key_placeholder(request, notes, sentinel=chosen.sdk)
    snippet = chosen.writer(request, body, notes)
    code = mask_secrets(snippet.code, request, notes)
    return replace(snippet, code=code, notes=tuple(notes.items))
