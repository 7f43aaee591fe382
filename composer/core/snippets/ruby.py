"""Ruby: `Net::HTTP` posts the body, written as a Ruby hash and generated as JSON."""

from __future__ import annotations

from composer.core.snippets.literals import RUBY, literal, ruby_string
from composer.core.snippets.model import Notes, Snippet, SnippetRequest
from composer.core.snippets.text import header, key_sentence


def ruby(request: SnippetRequest, body: object, notes: Notes) -> Snippet:
    key_expr = (
        ruby_string(request.key)
        if request.writes_key
        else f"ENV.fetch({ruby_string(request.key_env)})"
    )
    top = header(
        f"POST the body to {request.url()} with Net::HTTP (ruby send.rb)."
        f" {key_sentence(request.key_env, request.writes_key)}",
        notes.items,
        "#",
    )
    code = (
        f"{top}\n"
        'require "json"\n'
        'require "net/http"\n\n'
        f"body = {literal(body, RUBY, key_expr)}\n\n"
        "response = Net::HTTP.post(\n"
        f"  URI({ruby_string(request.url())}),\n"
        "  JSON.generate(body),\n"
        '  "Content-Type" => "application/json",\n'
        ")\n"
        "puts response.code, response.body\n"
    )
    return Snippet("ruby", code, tuple(notes.items), "ruby", "send.rb")
