"""`event-composer code --lang LANG FILE`: a body or template written as code that sends it.

The code reads the project key from $POSTHOG_PROJECT_API_KEY; only `--include-key` writes the
key itself into it (from $POSTHOG_PROJECT_API_KEY, the profile, or the file), and any other
copy of a known key is masked. The code goes to stdout (or --output), so that
`event-composer code --lang curl body.json > send.sh` is the whole workflow.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from composer.cli import templates
from composer.cli.errors import CliError, ExitStatus
from composer.cli.inputs import add_delimiter_argument, read_input, tell_notices
from composer.core.batch.formats import Format, format_for
from composer.core.capture import bodies, endpoints
from composer.core.capture.hosts import HostError, resolve_host
from composer.core.capture.parse import BodyEncodingError, parse_text
from composer.core.jsonio import JsonSyntaxError
from composer.core.snippets import IDS, KEY_ENV, SnippetRequest, generate

HOST_ENV = "POSTHOG_HOST"


def run(args: argparse.Namespace) -> ExitStatus:
    target = None
    if args.profile:
        from composer.cli.send import resolve_profile

        target = resolve_profile(args.profile)
    host_text = args.host or (target.host if target else None) or os.environ.get(HOST_ENV)
    if not host_text:
        from composer.sandbox.local import preferred_port

        host_text = f"http://127.0.0.1:{preferred_port() or 8787}"
    try:
        host = resolve_host(host_text)
    except HostError as exc:
        raise CliError(f"--host: {exc}.") from None

    name, body, endpoint = _read(args)
    body, unresolved = templates.fill(body, args)
    if unresolved:
        for finding in unresolved:
            print(f"error: {finding.message}\n  fix: {finding.fix}", file=sys.stderr)
        print(f"No code written: {name} has variables without a value.", file=sys.stderr)
        return ExitStatus.FAILED
    env_key = os.environ.get(KEY_ENV) or ""
    profile_key = target.key if target else ""
    file_key = bodies.read_api_key(body) or ""
    if _is_masked(file_key):
        file_key = ""  # a masked key (from the history or the inbox) is no key
    key = env_key or profile_key or file_key
    if args.include_key and not key:
        raise CliError(
            f"--include-key: there is no key to include; set {KEY_ENV}, use --profile NAME, or"
            " leave --include-key out (the code then reads the key from the environment)."
        )
    request = SnippetRequest(
        body,
        endpoints.normalize(args.endpoint) if args.endpoint else endpoint,
        host.url,
        include_key=args.include_key,
        key=key,
        secrets=tuple(k for k in (env_key, profile_key, file_key) if k),
    )
    snippet = generate(args.lang, request)
    if args.output:
        try:
            Path(args.output).write_text(snippet.code, encoding="utf-8")
        except OSError as exc:
            raise CliError(f"{args.output}: cannot write it ({exc.strerror or exc}).") from None
        print(f"wrote {args.output} ({args.lang})", file=sys.stderr)
    else:
        sys.stdout.write(snippet.code)
    return ExitStatus.OK


def _is_masked(key: str) -> bool:
    rest = key[4:] if key[:4] in ("phc_", "phx_") else key
    return bool(rest) and set(rest) == {bodies.MASK_CHAR}


def _read(args: argparse.Namespace) -> tuple[str, Any, str]:
    """The body FILE holds, its name, and the endpoint it is for."""
    template = templates.template_source(args.file, args)
    if template is not None:
        return template.name, template.body(), template.template.endpoint
    if args.file != "-" and format_for(args.file) in (Format.JSONL, Format.CSV):
        return _rows(args.file, args.delimiter)
    source = read_input(args.file)
    try:
        parsed = parse_text(source.data)
    except BodyEncodingError as exc:
        raise CliError(f"{source.name} is not UTF-8 text ({exc}); save it as UTF-8.") from None
    except JsonSyntaxError as exc:
        raise CliError(
            f"{source.name} is not valid JSON: {exc.message} at line {exc.line}, column"
            f" {exc.column}; fix it, then try again."
        ) from None
    body = parsed.value
    shape_endpoint = (
        endpoints.BATCH
        if isinstance(body, dict) and isinstance(body.get("batch"), list)
        else endpoints.DEFAULT
    )
    return source.name, body, shape_endpoint


def _rows(path: str, delimiter: str | None) -> tuple[str, Any, str]:
    """A .jsonl or .csv file of events: one /batch/ body with every readable row."""
    from composer.services.batch_files import read_batch_file

    try:
        imported = read_batch_file(path, delimiter=delimiter)
    except OSError as exc:
        raise CliError(f"{path}: cannot read it ({exc.strerror or exc}).") from None
    fatal = imported.unreadable
    if fatal is not None:
        raise CliError(f"{path}: {fatal}")
    tell_notices(path, imported)
    for problem in imported.problems:
        print(f"warning: {path}: line {problem.line}: {problem} (left out)", file=sys.stderr)
    events = [row.event for row in imported.rows]
    return path, bodies.batch_body(events, None), endpoints.BATCH


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "code",
        help="write a body or template as code that sends it (curl, Python, Node, Go, Ruby)",
        description="Write a capture body, a template, or a .jsonl/.csv file of events as code"
        f" that sends it. The code reads the project key from ${KEY_ENV}; --include-key writes"
        " the key itself into it.",
        epilog="examples:\n"
        "  event-composer code --lang curl event.json > send.sh\n"
        "  event-composer code --lang posthog-python 'Plan upgraded' --var user=u-1\n"
        "  event-composer code --lang node-fetch batch.json --profile Staging\n"
        f"\nlanguages: {', '.join(IDS)}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", metavar="FILE", help="a JSON body file, a template name, or - (stdin)")
    p.add_argument("--lang", required=True, choices=IDS, metavar="LANG", help=", ".join(IDS))
    p.add_argument(
        "--host",
        help=f"the host the code sends to (us, eu, or a URL; default: the profile's, ${HOST_ENV},"
        " or the local sandbox)",
    )
    p.add_argument("--profile", metavar="NAME", help="send to this profile's host")
    p.add_argument(
        "--endpoint",
        help="the endpoint (default: the template's, /batch/ for a batch envelope, else /i/v0/e/)",
    )
    p.add_argument(
        "--include-key",
        action="store_true",
        help=f"write the key into the code (from ${KEY_ENV}, the profile or the file) instead of"
        " reading it from the environment; do not commit such code",
    )
    p.add_argument("-o", "--output", metavar="PATH", help="write the code to PATH")
    add_delimiter_argument(p)
    templates.add_arguments(p)
    p.set_defaults(run=run)
