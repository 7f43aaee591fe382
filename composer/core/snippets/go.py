"""Go: `net/http` posts the body's exact bytes (the preview's), the key spliced in as JSON."""

from __future__ import annotations

from composer.core.capture import bodies
from composer.core.snippets.literals import json_string
from composer.core.snippets.model import KEY_SENTINEL, Notes, Snippet, SnippetRequest
from composer.core.snippets.text import header, key_sentence


def _string(text: str) -> str:
    """A Go string literal: raw (backquoted) when it can be, else interpreted."""
    if "`" not in text and "\ufeff" not in text and "\r" not in text:
        return f"`{text}`"
    return json_string(text)


def go(request: SnippetRequest, body: object, notes: Notes) -> Snippet:
    text = bodies.render(body).decode()
    pieces = text.split(f'"{KEY_SENTINEL}"')
    splices = len(pieces) > 1
    expr = " + string(key) + ".join(_string(piece) for piece in pieces)
    lines = [
        header(
            f"POST the body to {request.url()} with net/http (go run send.go)."
            f" {key_sentence(request.key_env, request.writes_key)}",
            notes.items,
            "//",
        ),
        "package main",
        "",
        "import (",
        '\t"bytes"',
        *(['\t"encoding/json"'] if splices else []),
        '\t"fmt"',
        '\t"io"',
        '\t"net/http"',
        *(['\t"os"'] if splices else []),
        ")",
        "",
        "func main() {",
    ]
    if splices:
        lines += [
            f"\tkey, err := json.Marshal(os.Getenv({json_string(request.key_env)}))",
            "\tif err != nil {",
            "\t\tpanic(err)",
            "\t}",
        ]
    lines += [
        f"\tbody := {expr}",
        "\tresponse, err := http.Post(",
        f"\t\t{json_string(request.url())},",
        '\t\t"application/json",',
        "\t\tbytes.NewBufferString(body),",
        "\t)",
        "\tif err != nil {",
        "\t\tpanic(err)",
        "\t}",
        "\tdefer response.Body.Close()",
        "\tanswer, _ := io.ReadAll(response.Body)",
        "\tfmt.Println(response.Status, string(answer))",
        "}",
    ]
    return Snippet("go", "\n".join(lines) + "\n", tuple(notes.items), "go", "send.go")
