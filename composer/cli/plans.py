"""`event-composer plan ...`: tracking plans for CI. infer (a draft from events), check, codegen
(typed Python / TypeScript), export (JSON Schema, PostHog's shape), import (from JSON Schema),
diff (against an export of PostHog's schema) and from-posthog (a plan from such an export)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from composer.cli.errors import CliError, ExitStatus
from composer.cli.inputs import add_delimiter_argument, tell_notices
from composer.core.batch.formats import Format, format_for
from composer.core.capture.parse import BodyEncodingError, classify, parse_text
from composer.core.jsonio import JsonSyntaxError
from composer.core.plans.infer import infer_plan, render_plan
from composer.core.plans.model import Plan


def load_plan_argument(path: str) -> Plan:
    """The plan a --plan option names; a plan with problems stops the command with them all."""
    from composer.services.plans import load_plan

    plan = load_plan(Path(path))
    if plan.problems:
        lines = "\n".join(f"  {problem}" for problem in plan.problems)
        raise CliError(f"the tracking plan has problems:\n{lines}")
    return plan


def events_of(path: str, delimiter: str | None = None) -> list[Any]:
    if path != "-" and format_for(path) in (Format.JSONL, Format.CSV):
        from composer.services.batch_files import read_batch_file

        try:
            imported = read_batch_file(path, delimiter=delimiter)
        except OSError as exc:
            raise CliError(f"{path}: cannot read it ({exc.strerror or exc}).") from None
        if imported.unreadable is not None:
            raise CliError(f"{path}: {imported.unreadable}. {imported.unreadable.fix}")
        tell_notices(path, imported)
        for problem in imported.problems[:5]:
            print(f"warning: {path}: {problem}", file=sys.stderr)
        return [row.event for row in imported.rows]
    from composer.cli.inputs import read_input

    source = read_input(path)
    try:
        parsed = parse_text(source.data)
    except (JsonSyntaxError, BodyEncodingError) as exc:
        raise CliError(f"{source.name}: {exc}") from None
    return list(classify(parsed.value)[1])


def run_infer(args: argparse.Namespace) -> ExitStatus:
    events: list[Any] = []
    for path in args.files:
        events.extend(events_of(path, args.delimiter))
    if not events:
        raise CliError("no events found in the files given.")
    doc = infer_plan(events, args.name)
    sys.stdout.write(render_plan(doc))
    print(f"Learned {len(doc['events'])} events from {len(events):,} samples.", file=sys.stderr)
    return ExitStatus.OK


def run_check(args: argparse.Namespace) -> ExitStatus:
    plan = load_plan_argument(args.plan)
    print(f"{args.plan}: {len(plan.events)} events, no problems.")
    return ExitStatus.OK


def run_codegen(args: argparse.Namespace) -> ExitStatus:
    from composer.core.plans.codegen import CodegenError, generate_code
    from composer.services.plan_files import is_stale, write_text

    plan = load_plan_argument(args.plan)
    try:
        text = generate_code(plan, args.lang, Path(args.plan).name)
    except CodegenError as exc:
        lines = "\n".join(f"  {problem}" for problem in exc.problems)
        raise CliError(f"{args.plan}: no code was written; every event must be:\n{lines}") from None
    if args.check:
        if not args.output:
            raise CliError("--check compares with a file: give it with -o FILE.")
        output = Path(args.output)
        if is_stale(output, text):
            print(
                f"{args.output} is out of date with {args.plan}; regenerate it:\n"
                f"  event-composer plan codegen --lang {args.lang} {args.plan} -o {args.output}",
                file=sys.stderr,
            )
            return ExitStatus.FAILED
        print(f"{args.output} is up to date with {args.plan} ({len(plan.events)} events).")
        return ExitStatus.OK
    if args.output:
        try:
            write_text(Path(args.output), text)
        except OSError as exc:
            raise CliError(f"{args.output}: cannot write it ({exc.strerror or exc}).") from None
        print(f"Wrote {len(plan.events)} events to {args.output}.", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return ExitStatus.OK


def _read_json_argument(path: str) -> Any:
    from composer.services.plan_files import read_json

    try:
        return read_json(Path(path))
    except OSError as exc:
        raise CliError(f"{path}: cannot read it ({exc.strerror or exc}).") from None
    except JsonSyntaxError as exc:
        raise CliError(f"{path}:{exc.line}: not valid JSON: {exc.message}.") from None


def _emit(text: str, output: str | None, overwrite: bool) -> None:
    """Write `text` to -o FILE (a plan is never written over an existing file), or stdout."""
    if not output:
        sys.stdout.write(text)
        return
    from composer.services.plan_files import write_text

    path = Path(output)
    if not overwrite and path.exists():
        raise CliError(f"{output} exists; choose another name (a plan is never overwritten).")
    try:
        write_text(path, text)
    except OSError as exc:
        raise CliError(f"{output}: cannot write it ({exc.strerror or exc}).") from None
    print(f"Wrote {output}.", file=sys.stderr)


def _notes(notes: list[str]) -> None:
    for note in notes:
        print(f"note: {note}", file=sys.stderr)


def run_export(args: argparse.Namespace) -> ExitStatus:
    from composer.core.jsonio import dumps_pretty

    plan = load_plan_argument(args.plan)
    if args.format == "json-schema":
        from composer.core.plans.json_schema import plan_to_json_schema

        doc: Any = plan_to_json_schema(plan)
    else:
        from composer.core.plans.posthog_export import to_posthog_export

        doc, notes = to_posthog_export(plan)
        _notes(notes)
    _emit(dumps_pretty(doc).decode() + "\n", args.output, overwrite=True)
    return ExitStatus.OK


PLAN_HEADER = (
    "# A tracking plan converted by event-composer from {source}. Edit it, and keep it in git.\n"
)


def _plan_text(doc: dict[str, Any], source: str) -> str:
    from composer.core.plans.reader import parse_plan

    text = render_plan(doc, PLAN_HEADER.format(source=Path(source).name))
    problems = parse_plan(text, "converted plan").problems
    if problems:  # a converter bug, or a schema the plan cannot hold: say it, never hide it
        for problem in problems:
            print(f"warning: {problem}", file=sys.stderr)
    return text


def run_import(args: argparse.Namespace) -> ExitStatus:
    from composer.core.plans.json_schema import (
        JsonSchemaImportError,
        plan_document_from_json_schema,
    )

    try:
        doc, notes = plan_document_from_json_schema(_read_json_argument(args.file))
    except JsonSchemaImportError as exc:
        raise CliError(f"{args.file}: {exc}.") from None
    if args.name:
        doc["name"] = args.name
    _notes(notes)
    _emit(_plan_text(doc, args.file), args.output, overwrite=False)
    print(f"Imported {len(doc['events'])} events from {args.file}.", file=sys.stderr)
    return ExitStatus.OK


def _posthog_schema(path: str) -> Any:
    from composer.core.plans.posthog_schema import ExportSource, PostHogExportError, read_schema

    try:
        return read_schema(ExportSource(_read_json_argument(path)))
    except PostHogExportError as exc:
        raise CliError(f"{path}: {exc}.") from None


def run_from_posthog(args: argparse.Namespace) -> ExitStatus:
    from composer.core.plans.posthog_to_plan import plan_document_from_posthog

    schema = _posthog_schema(args.file)
    doc, notes = plan_document_from_posthog(schema, args.name or "", args.include_system)
    _notes(notes)
    _emit(_plan_text(doc, args.file), args.output, overwrite=False)
    groups = len(doc.get("property_sets", {}))
    print(
        f"Converted {len(doc['events'])} events and {groups} property groups from {args.file}.",
        file=sys.stderr,
    )
    return ExitStatus.OK


def run_diff(args: argparse.Namespace) -> ExitStatus:
    from composer.core.plans.posthog_diff import diff

    plan = load_plan_argument(args.plan)
    differences, notes = diff(plan, _posthog_schema(args.against))
    if args.format == "json":
        from composer.core.jsonio import dumps_pretty

        report = {
            "plan": args.plan,
            "against": args.against,
            "differences": [
                {
                    "event": d.event,
                    "property": d.property or None,
                    "what": d.what,
                    "plan": d.plan,
                    "posthog": d.posthog,
                    "message": str(d),
                }
                for d in differences
            ],
            "notes": notes,
        }
        sys.stdout.write(dumps_pretty(report).decode() + "\n")
    else:
        for difference in differences:
            print(difference)
        _notes(notes)
        if not differences:
            print(f"{args.plan} and {args.against} agree ({len(plan.events)} planned events).")
        else:
            print(f"{len(differences)} difference(s).", file=sys.stderr)
    return ExitStatus.FAILED if differences else ExitStatus.OK


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "plan",
        help="tracking plans: learn one from events, or check a plan file",
        description="Tracking plans (YAML or JSON). `validate --plan PLAN` checks bodies"
        " against one.",
        epilog="examples:\n"
        "  event-composer plan infer export.jsonl > tracking-plan.yaml\n"
        "  event-composer plan check tracking-plan.yaml\n"
        "  event-composer plan codegen --lang python tracking-plan.yaml -o app/tracking.py\n"
        "  event-composer plan codegen --lang typescript tracking-plan.yaml -o src/tracking.ts"
        " --check\n"
        "  event-composer plan export --format json-schema tracking-plan.yaml -o plan.schema.json\n"
        "  event-composer plan import plan.schema.json -o tracking-plan.yaml\n"
        "  event-composer plan diff tracking-plan.yaml --against posthog-schema.json\n"
        "  event-composer plan from-posthog posthog-schema.json -o tracking-plan.yaml\n"
        "  event-composer validate --plan tracking-plan.yaml events/*.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = p.add_subparsers(title="commands", metavar="COMMAND", required=True)
    infer = commands.add_parser(
        "infer", help="draft a plan from events (JSON bodies, .jsonl or .csv files)"
    )
    infer.add_argument("files", nargs="+", metavar="FILE")
    infer.add_argument("--name", default="Learned tracking plan", help="the plan's name")
    add_delimiter_argument(infer)
    infer.set_defaults(run=run_infer)
    check = commands.add_parser("check", help="read a plan and report every problem in it")
    check.add_argument("plan", metavar="PLAN")
    check.set_defaults(run=run_check)

    codegen = commands.add_parser(
        "codegen",
        help="typed tracking functions (one per planned event) for posthog-python or posthog-js",
        description="One typed function per planned event: required properties are required"
        " arguments, enums are literal types, person properties go to $set / $set_once; a debug"
        " mode checks ranges and patterns at run time. Every event is in the output, or nothing"
        " is written and the events that cannot be code are named (exit 2).",
    )
    codegen.add_argument("plan", metavar="PLAN")
    codegen.add_argument("--lang", required=True, choices=("python", "typescript"))
    codegen.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    codegen.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when FILE is not what the plan generates (for CI)",
    )
    codegen.set_defaults(run=run_codegen)
    export = commands.add_parser(
        "export",
        help="the plan as JSON Schema 2020-12, or in the shape of PostHog's schema API",
    )
    export.add_argument("plan", metavar="PLAN")
    export.add_argument(
        "--format",
        required=True,
        choices=("json-schema", "posthog"),
        help="json-schema: one document validating events as the plan does ($defs per event);"
        " posthog: event_definitions and schema_property_groups as PostHog's API returns them",
    )
    export.add_argument("-o", "--output", metavar="FILE", help="write here (default: stdout)")
    export.set_defaults(run=run_export)
    imported = commands.add_parser(
        "import", help="a plan (YAML) from a JSON Schema that `plan export` wrote"
    )
    imported.add_argument("file", metavar="FILE")
    imported.add_argument("--name", help="the plan's name (default: the schema's title)")
    imported.add_argument("-o", "--output", metavar="FILE", help="a new file (default: stdout)")
    imported.set_defaults(run=run_import)
    compare = commands.add_parser(
        "diff",
        help="compare a plan with an export of PostHog's event definitions and property groups",
        description="Exit 0 when they agree, 1 with every difference (events, properties, types,"
        " required, string enums, numeric ranges). The export is one JSON object holding the"
        " answers of GET /api/projects/:id/event_definitions/ and .../schema_property_groups/"
        " (and optionally .../event_schemas/) under those names.",
    )
    compare.add_argument("plan", metavar="PLAN")
    compare.add_argument("--against", required=True, metavar="FILE", help="PostHog's schema")
    compare.add_argument("--format", choices=("text", "json"), default="text")
    compare.set_defaults(run=run_diff)
    convert = commands.add_parser(
        "from-posthog",
        help="a plan from an export of PostHog's event definitions and property groups",
        description="Every event definition becomes a planned event (with or without property"
        " groups); property groups become property sets. What a plan cannot hold is listed on"
        " stderr.",
    )
    convert.add_argument("file", metavar="FILE")
    convert.add_argument("--name", help="the plan's name")
    convert.add_argument(
        "--include-system",
        action="store_true",
        help="also plan PostHog's own $ events that have no property group",
    )
    convert.add_argument("-o", "--output", metavar="FILE", help="a new file (default: stdout)")
    convert.set_defaults(run=run_from_posthog)
