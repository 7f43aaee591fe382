"""`event-composer plan infer FILE...` and `plan check PLAN`: tracking plans for CI."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from composer.cli.errors import CliError, ExitStatus
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


def events_of(path: str) -> list[Any]:
    if path != "-" and format_for(path) in (Format.JSONL, Format.CSV):
        from composer.services.batch_files import read_batch_file

        try:
            imported = read_batch_file(path)
        except OSError as exc:
            raise CliError(f"{path}: cannot read it ({exc.strerror or exc}).") from None
        if imported.unreadable is not None:
            raise CliError(f"{path}: {imported.unreadable}. {imported.unreadable.fix}")
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
        events.extend(events_of(path))
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


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "plan",
        help="tracking plans: learn one from events, or check a plan file",
        description="Tracking plans (YAML or JSON). `validate --plan PLAN` checks bodies"
        " against one.",
        epilog="examples:\n"
        "  event-composer plan infer export.jsonl > tracking-plan.yaml\n"
        "  event-composer plan check tracking-plan.yaml\n"
        "  event-composer validate --plan tracking-plan.yaml events/*.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = p.add_subparsers(title="commands", metavar="COMMAND", required=True)
    infer = commands.add_parser(
        "infer", help="draft a plan from events (JSON bodies, .jsonl or .csv files)"
    )
    infer.add_argument("files", nargs="+", metavar="FILE")
    infer.add_argument("--name", default="Learned tracking plan", help="the plan's name")
    infer.set_defaults(run=run_infer)
    check = commands.add_parser("check", help="read a plan and report every problem in it")
    check.add_argument("plan", metavar="PLAN")
    check.set_defaults(run=run_check)
