"""`event-composer validate FILE...`: the pre-flight check, for humans and for CI."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, replace
from typing import Any

from composer.cli import templates
from composer.cli.errors import CliError, ExitStatus
from composer.cli.inputs import add_delimiter_argument, read_input, tell_notices
from composer.cli.output import check_report
from composer.core.capture.bodies import mask_in_render, mask_key
from composer.core.capture.preflight import CheckOptions, CheckResult, check_body, check_text
from composer.core.jsonio import dumps_pretty
from composer.core.plans.check import check_body_against_plan


@dataclass(frozen=True)
class Unreadable:
    """A file that could not be read at all: exit 2, with what is wrong and how to fix it."""

    message: str
    fix: str = "Give a readable UTF-8 JSON, JSON Lines or CSV file."


def run(args: argparse.Namespace) -> ExitStatus:
    host = args.host
    key: str | None = None
    if args.profile:
        from composer.cli.send import KEY_ENV, resolve_profile

        # The profile's host and key, read as `send --profile` reads them (keyring or the
        # plain-text store); like send, $POSTHOG_PROJECT_API_KEY wins over the profile's key.
        target = resolve_profile(args.profile)
        host = host or target.host
        key = os.environ.get(KEY_ENV) or target.key
    plan = None
    if args.plan:
        from composer.cli.plans import load_plan_argument

        plan = load_plan_argument(args.plan)
    documents: list[dict[str, Any]] = []
    reports: list[str] = []
    worst = ExitStatus.OK
    for path in args.files:
        try:
            template = templates.template_source(path, args)
        except CliError as exc:
            template = None
            worst = ExitStatus.USAGE
            reports.append(f"{path}: {exc}")
            documents.append(_unreadable(path, Unreadable(str(exc))))
            continue
        options = CheckOptions(endpoint=args.endpoint, host=host, api_key=key)
        if template is not None:
            result = _check_template(template, args, options)
            name = template.name
        else:
            if path.lower().endswith(ROWS_SUFFIXES):
                checked = _check_rows_file(path, args, plan, key)
            else:
                checked = _check_file(path, args, options)
            if isinstance(checked, Unreadable):
                worst = ExitStatus.USAGE
                reports.append(f"{path}: cannot read: {checked.message}\n  fix: {checked.fix}")
                documents.append(_unreadable(path, checked))
                continue
            name, result = checked
        if plan is not None and result.parsed is not None:
            result.findings.extend(check_body_against_plan(result.parsed.value, plan))
        if not result.ok and worst is ExitStatus.OK:
            worst = ExitStatus.FAILED
        documents.append(
            {
                "path": name,
                "ok": result.ok,
                "events": result.events,
                "findings": [f.to_dict() for f in result.findings],
            }
        )
        reports.append(check_report(name, result, quiet_info=args.quiet))
    # The profile's key is checked, never shown: masked wherever a message quotes it.
    secrets = [key] if key else []
    if args.format == "json":
        # dumps_pretty, not orjson: it writes what orjson refuses (a lone surrogate in a quoted
        # value), so no file can make the report itself fail.
        sys.stdout.buffer.write(mask_in_render(dumps_pretty({"files": documents}), secrets))
        sys.stdout.write("\n")
    else:
        text = "\n\n".join(reports)
        for secret in secrets:
            text = text.replace(secret, mask_key(secret))
        print(text)
    return worst


def _check_template(
    template: templates.TemplateSource, args: argparse.Namespace, options: CheckOptions
) -> CheckResult:
    body, unresolved = templates.fill(template.body(), args)
    endpoint = args.endpoint or template.template.endpoint
    result = check_body(body, replace(options, endpoint=endpoint))
    result.findings[:0] = unresolved
    return result


def _check_file(
    path: str, args: argparse.Namespace, options: CheckOptions
) -> tuple[str, CheckResult] | Unreadable:
    try:
        source = read_input(path)
        source.text()  # reports a non-UTF-8 file in one line, before any parsing
    except CliError as exc:
        return Unreadable(str(exc), "Give a readable UTF-8 JSON file.")
    # Text that is UTF-8 but not JSON PostHog reads (a syntax error, a lone surrogate escape,
    # a number out of range, nesting past orjson's 1,024 levels) is a body PostHog answers
    # 400 to: a finding (exit 1), like every other reason PostHog refuses a body.
    result = check_text(source.data, options)
    if result.parsed is not None:
        body, unresolved = templates.fill(result.parsed.value, args)
        if unresolved or body is not result.parsed.value:
            result = check_body(body, options)
            result.findings[:0] = unresolved
    return source.name, result


# Files of one event per row, by their names (a body file may have any name, even .txt).
ROWS_SUFFIXES = (".jsonl", ".ndjson", ".csv")


def _check_rows_file(
    path: str, args: argparse.Namespace, plan: Any, key: str | None
) -> tuple[str, CheckResult] | Unreadable:
    """A .jsonl or .csv file: every row checked as an event of a batch (as `send` would send
    it), and against the plan; findings are placed at [row].field, rows counted from 0.

    A line that cannot be read is a `file.unreadable_line` error naming the line, and the
    other rows are checked; a file that cannot be read at all is Unreadable (exit 2)."""
    from datetime import UTC, datetime

    from composer.core.batch.rows import check_rows
    from composer.core.capture.parse import BodyShape
    from composer.core.capture.preflight.collector import Collector
    from composer.core.capture.preflight.tokens import check_token_value
    from composer.core.findings import Finding, Severity, Stage
    from composer.core.templates.variables import Resolver
    from composer.services.batch_files import read_batch_file
    from composer.services.batch_stream import streams

    if streams(path):  # a block at a time, in bounded memory
        from composer.cli.validate_stream import check_stream

        streamed = check_stream(path, templates.variables(args), plan, key, args.delimiter)
        if streamed is not None:
            if isinstance(streamed[1], str):
                return Unreadable(streamed[0], streamed[1])
            return path, streamed[1]
        # A CSV file that is not UTF-8: read whole below, as Windows-1252 where it can be.
    try:
        imported = read_batch_file(path, delimiter=args.delimiter)
    except OSError as exc:
        return Unreadable(f"{exc.strerror or exc}.", "Check the path and the file's permissions.")
    fatal = imported.unreadable
    if fatal is not None:
        return Unreadable(str(fatal), fatal.fix)
    tell_notices(path, imported)
    check_rows(imported.rows, resolver=Resolver(templates.variables(args)), plan=plan)
    findings: list[Finding] = []
    if key is not None:
        # `send` puts the key on every /batch/ envelope, and PostHog checks it first.
        out = Collector(datetime.now(UTC))
        check_token_value(key, "api_key", out)
        findings.extend(out.findings)
    findings.extend(
        Finding(
            Severity.ERROR,
            "file.unreadable_line",
            f"line {problem.line}",
            str(problem),
            f"{problem.fix} The other rows are checked."
            if problem.fix
            else "Fix the line; the other rows are checked.",
            stage=Stage.LOCAL,
        )
        for problem in imported.problems
    )
    for index, row in enumerate(imported.rows):
        for finding in row.findings or ():
            where = f"[{index}].{finding.path}" if finding.path else f"[{index}]"
            findings.append(replace(finding, path=where, event_index=index))
    return path, CheckResult(findings, len(imported.rows), BodyShape.ARRAY, "/batch/")


def _unreadable(path: str, problem: Unreadable) -> dict[str, Any]:
    return {
        "path": path,
        "ok": False,
        "events": 0,
        "findings": [
            {
                "severity": "error",
                "code": "file.unreadable",
                "path": "$",
                "message": problem.message,
                "fix": problem.fix,
            }
        ],
    }


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "validate",
        help="check capture bodies against PostHog's rules, without sending them",
        description="Check capture bodies against PostHog's capture rules. Exit status: 0 when"
        " no file has an error, 1 when any has, 2 for usage errors or unreadable files.",
        epilog="examples:\n"
        "  event-composer validate event.json\n"
        "  event-composer validate --format json events/*.json > report.json\n"
        "  cat body.json | event-composer validate -",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="JSON body files, .jsonl/.csv files of events, or template names; - reads stdin",
    )
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text for people (default), json for programs",
    )
    p.add_argument(
        "--endpoint",
        help="the endpoint the body is for (default: /i/v0/e/, or /batch/ for a batch envelope)",
    )
    p.add_argument("--host", help="also check this host (us, eu, or a URL)")
    p.add_argument(
        "--profile",
        metavar="NAME",
        help="check the body as `send --profile NAME` sends it: with that profile's host and"
        " key (the key is never printed)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="leave out info findings")
    add_delimiter_argument(p)
    p.add_argument(
        "--plan",
        metavar="PLAN",
        help="also check every event against this tracking plan (YAML or JSON)",
    )
    templates.add_arguments(p)
    p.set_defaults(run=run)
