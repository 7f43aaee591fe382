"""Templates on the command line: `send`/`validate` take a template name or file and `--var`
values; `event-composer template list|show` looks into the templates folder."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from composer import settings
from composer.cli.errors import CliError, ExitStatus
from composer.core.capture import bodies
from composer.core.findings import Finding
from composer.core.jsonio import JsonSyntaxError, dumps_pretty, loads
from composer.core.templates.document import Template, TemplateError, TemplateType, version_of
from composer.core.templates.variables import (
    Resolver,
    has_placeholders,
    parse_assignment,
    unresolved_findings,
)


@dataclass(frozen=True)
class TemplateSource:
    name: str  # what reports call it: the template's name and file
    template: Template

    def body(self) -> Any:
        """The capture body, without a key (the key comes from the environment or a profile)."""
        if self.template.type is TemplateType.PAYLOAD:
            return bodies.body_for_endpoint([self.template.event], None, self.template.endpoint)
        return {"batch": self.template.events}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a value for {{NAME}}; NAME:=JSON gives a number, boolean or object (repeatable)",
    )
    parser.add_argument(
        "--templates",
        metavar="DIR",
        help="the templates folder (default: the window's, or $COMPOSER_TEMPLATES_DIR)",
    )


def _store(args: argparse.Namespace) -> Any:
    from composer.services.templates import TemplateStore

    folder = Path(args.templates).expanduser() if args.templates else settings.templates_dir()
    return TemplateStore(folder)


# Files of one event per row are never templates: not read whole to find out (they may be
# bigger than memory); nor is a body file bigger than any template.
_ROWS_SUFFIXES = (".jsonl", ".ndjson", ".csv")
_TEMPLATE_MAX_BYTES = 16 * 1024 * 1024


def _is_template_file(path: Path) -> bool:
    if path.name.lower().endswith(_ROWS_SUFFIXES):
        return False
    try:
        if path.stat().st_size > _TEMPLATE_MAX_BYTES:
            return False
        doc = loads(path.read_bytes())
    except (OSError, JsonSyntaxError):
        return False
    try:
        return isinstance(doc, dict) and version_of(doc) >= 1 and "type" in doc
    except TemplateError:
        return True  # a template with a bad version: let the store explain


def template_source(wanted: str, args: argparse.Namespace) -> TemplateSource | None:
    """The template `wanted` names, or None when it is a plain body file (or stdin)."""
    try:
        return _template_source(wanted, args)
    except OSError as exc:  # a name too long for the file system, a folder it cannot list
        raise CliError(f"{wanted[:200]}: cannot read it ({exc.strerror or exc}).") from None


def _template_source(wanted: str, args: argparse.Namespace) -> TemplateSource | None:
    if wanted == "-":
        return None
    path = Path(wanted)
    if path.is_file() and not _is_template_file(path):
        return None
    store = _store(args)
    try:
        entry = store.find(wanted)
        if entry.error:
            raise TemplateError(f"{entry.path}: {entry.error}")
        template, entry = store.load(entry)
    except TemplateError as exc:
        if not path.exists() and not path.suffix:
            raise CliError(str(exc)) from None
        if not path.exists():
            raise CliError(f"{wanted}: no such file, and {exc}") from None
        raise CliError(str(exc), ExitStatus.FAILED) from None
    return TemplateSource(f"{template.name} ({entry.path})", template)


def variables(args: argparse.Namespace) -> dict[str, Any]:
    """Workspace variables, with --var values over them."""
    values: dict[str, Any] = {}
    try:
        values.update(_store(args).variables())
    except TemplateError as exc:
        print(f"warning: workspace variables not used: {exc}", file=sys.stderr)
    for text in args.var:
        try:
            name, value = parse_assignment(text)
        except ValueError as exc:
            raise CliError(f"--var {text}: {exc}") from None
        values[name] = value
    return values


def fill(body: Any, args: argparse.Namespace) -> tuple[Any, list[Finding]]:
    """The body with its {{variables}} filled in, and a finding for each one without a value."""
    if not has_placeholders(body):
        return body, []
    resolution = Resolver(variables(args)).resolve(body)
    return resolution.value, unresolved_findings(resolution.unresolved)


# -- event-composer template list|show --------------------------------------------------------


def run_list(args: argparse.Namespace) -> ExitStatus:
    store = _store(args)
    entries = store.entries()
    if args.format == "json":
        rows = [
            {
                "name": e.name,
                "folder": e.folder,
                "type": e.type.value if e.type else None,
                "events": e.events,
                "path": str(e.path),
                "builtin": e.builtin,
                "error": e.error,
            }
            for e in entries
        ]
        document = {"folder": str(store.root), "templates": rows}
        sys.stdout.buffer.write(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
        return _listing_status(entries)
    print(f"Templates in {store.root}:")
    if not entries:
        print("  (none)")
    width = max((len(e.label) for e in entries), default=0)
    for e in entries:
        kind = e.type.value if e.type else "unreadable"
        detail = f"  ! {e.error}" if e.error else ""
        print(f"  {e.label:<{width}}  {kind:<10} {e.path}{detail}")
    return _listing_status(entries)


def _listing_status(entries: list[Any]) -> ExitStatus:
    """1 when a template of the folder cannot be read: worth failing a CI job over."""
    return ExitStatus.FAILED if any(e.error and not e.builtin for e in entries) else ExitStatus.OK


def run_show(args: argparse.Namespace) -> ExitStatus:
    source = template_source(args.name, args)
    if source is None:
        raise CliError(f"{args.name} is a body file, not a template.")
    if not args.resolved:
        from composer.core.templates.document import render

        sys.stdout.buffer.write(render(source.template))
        return ExitStatus.OK
    body, missing = fill(source.body(), args)
    sys.stdout.buffer.write(dumps_pretty(body) + b"\n")
    for finding in missing:
        print(f"error: {finding.message} {finding.fix}", file=sys.stderr)
    return ExitStatus.FAILED if missing else ExitStatus.OK


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "template",
        help="list and show the templates the window saved",
        description="The templates folder the window uses (or --templates DIR). `send` and"
        " `validate` take a template name wherever they take a file.",
        epilog="examples:\n"
        "  event-composer template list\n"
        "  event-composer template show 'Plan upgraded' --resolved --var user=u-1\n"
        "  event-composer send 'Plan upgraded' --profile Staging --var plan=team",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = p.add_subparsers(title="commands", metavar="COMMAND", required=True)
    listing = commands.add_parser("list", help="every template, with its folder, type and file")
    listing.add_argument("--format", choices=("text", "json"), default="text")
    listing.add_argument("--templates", metavar="DIR", help="the templates folder")
    listing.set_defaults(run=run_list)
    show = commands.add_parser("show", help="print a template (or the body it resolves to)")
    show.add_argument("name", metavar="TEMPLATE", help="a template name, folder/name or file")
    show.add_argument(
        "--resolved",
        action="store_true",
        help="print the body with variables filled in, as send would build it (no key)",
    )
    add_arguments(show)
    show.set_defaults(run=run_show)
