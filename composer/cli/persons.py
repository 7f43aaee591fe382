"""`event-composer persons simulate FILE...`: the persons a file of events makes in PostHog.

Runs PostHog's person processing (composer.core.persons) over the events in order, from an
empty project or from a sandbox inbox's persons, and prints the persons, the groups and every
refusal or ingestion warning. With --strict it exits 1 when there is any, for CI.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import orjson

from composer.cli.errors import CliError, ExitStatus
from composer.cli.inputs import add_delimiter_argument
from composer.cli.plans import events_of
from composer.core.capture.persons import forwarded
from composer.core.persons import Outcome, Person, PersonGraph, simulate


def run_simulate(args: argparse.Namespace) -> ExitStatus:
    events: list[Any] = []
    for path in args.files:
        events.extend(e for e in events_of(path, args.delimiter) if isinstance(e, dict))
    if not events:
        raise CliError("no events found in the files given.")
    graph = _starting_graph(args.inbox)
    first = graph.event_count
    outcomes = simulate(graph, [forwarded(e) for e in events])
    problems = [o for o in outcomes if o.warnings]
    if args.format == "json":
        doc = {
            "persons": [p.to_dict() for p in _ordered(graph)],
            "groups": [g.to_dict() for g in graph.groups.values()],
            "events": [{**o.to_dict(), "event_index": o.event_index - first} for o in outcomes],
            "warnings": sum(len(o.warnings) for o in outcomes),
        }
        sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2, default=str).decode())
        sys.stdout.write("\n")
    else:
        _print_text(graph, outcomes, first, len(events))
    return ExitStatus.FAILED if args.strict and problems else ExitStatus.OK


def _starting_graph(inbox: str | None) -> PersonGraph:
    if inbox is None:
        return PersonGraph()
    from pathlib import Path

    from composer.sandbox.persons import read_graph

    if not Path(inbox).exists():
        raise CliError(f"{inbox}: no such inbox file (see `event-composer sandbox --db`).")
    return read_graph(inbox)


def _ordered(graph: PersonGraph) -> list[Person]:
    return sorted(graph.persons.values(), key=lambda p: p.created_index)


def _print_text(graph: PersonGraph, outcomes: list[Outcome], first: int, count: int) -> None:
    persons = _ordered(graph)
    print(f"{len(persons)} person{'s' * (len(persons) != 1)} after {count:,} events:")
    for number, person in enumerate(persons, 1):
        flag = "identified" if person.is_identified else "anonymous"
        print(f"  person {number} ({flag}): {', '.join(person.distinct_ids)}")
        for key, value in sorted(person.properties.items()):
            source = person.sources.get(key)
            origin = f"  (event {source.event_index - first + 1})" if source else ""
            print(f"      {key} = {orjson.dumps(value, default=str).decode()}{origin}")
        for merged in person.merged_from:
            print(
                f"      merged in by event {merged.event_index - first + 1}"
                f" ({merged.event}): {', '.join(merged.distinct_ids)}"
            )
    if graph.groups:
        print("groups:")
        for group in graph.groups.values():
            props = orjson.dumps(group.properties, default=str).decode()
            print(f"  {group.group_type} {group.group_key}: {props}")
    warned = [o for o in outcomes if o.warnings or o.dropped]
    if warned:
        print("refusals and warnings (PostHog answers 200 to all of these):")
    for outcome in warned:
        where = f"event {outcome.event_index - first + 1} ({outcome.event} {outcome.distinct_id})"
        for warning in outcome.warnings:
            print(f"  {where}: {warning.type}: {warning.message}")
        if outcome.dropped and not outcome.warnings:
            print(f"  {where}: dropped: {outcome.summary}")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "persons",
        help="persons and merges: what events do to PostHog's person graph",
        description="What events do to persons in PostHog, computed the way PostHog's"
        " ingestion does it: merges, refused merges and their ingestion warnings, $set,"
        " $set_once, $unset, groups.",
        epilog="examples:\n"
        "  event-composer persons simulate events.jsonl\n"
        "  event-composer persons simulate --strict identify-flow.json   exit 1 on a refusal\n"
        "  event-composer persons simulate --inbox ~/.local/share/posthog-event-composer/"
        "sandbox.sqlite3 next.json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = p.add_subparsers(title="commands", metavar="COMMAND", required=True)
    simulate_cmd = commands.add_parser(
        "simulate", help="the persons and refusals a file of events makes (JSON, .jsonl, .csv)"
    )
    simulate_cmd.add_argument("files", nargs="+", metavar="FILE", help="event files; - is stdin")
    simulate_cmd.add_argument(
        "--strict", action="store_true", help="exit 1 when any merge is refused or warned about"
    )
    simulate_cmd.add_argument(
        "--inbox", metavar="DB", help="start from the persons of a sandbox inbox file"
    )
    simulate_cmd.add_argument("--format", choices=("text", "json"), default="text")
    add_delimiter_argument(simulate_cmd)
    simulate_cmd.set_defaults(run=run_simulate)
