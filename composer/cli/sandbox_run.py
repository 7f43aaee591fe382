"""`event-composer sandbox run [--plan P] [--expect F] -- COMMAND...`: a CI gate.

Starts a sandbox on a free port with an inbox of its own, runs COMMAND with the PostHog host
variables pointing at it, then reports what arrived and exits non-zero when COMMAND failed,
or when an event arrived that PostHog would refuse or drop, that breaks the plan, or an
expected event did not arrive (`--allow` softens any of those).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from composer.cli.errors import CliError, ExitStatus

if TYPE_CHECKING:
    from composer.sandbox.report import Expectation

# What the command's SDKs read: posthog-python and posthog-node examples use POSTHOG_HOST,
# posthog-js apps API_HOST-style names; POSTHOG_SANDBOX_* are this tool's own.
HOST_VARIABLES = ("POSTHOG_HOST", "POSTHOG_API_HOST")
URL_VARIABLE = "POSTHOG_SANDBOX_URL"
PORT_VARIABLE = "POSTHOG_SANDBOX_PORT"
KEY_VARIABLE = "POSTHOG_PROJECT_API_KEY"
SETTLE_S = 0.3  # requests sent just before the command exited are answered within this


def run(args: argparse.Namespace) -> ExitStatus:
    from composer.cli.plans import load_plan_argument
    from composer.sandbox.keys import generate_sandbox_key
    from composer.sandbox.report import FAILING, build_report
    from composer.sandbox.sdk_calls import SdkConfig
    from composer.sandbox.server import SandboxServer
    from composer.sandbox.store import SandboxStore, StoreError

    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise CliError("give the command to run after --, e.g. sandbox run -- pytest tests/")
    allow = {a.strip() for item in args.allow for a in item.split(",") if a.strip()}
    unknown = allow - set(FAILING)
    if unknown:
        raise CliError(f"--allow takes {', '.join(FAILING)}; not {', '.join(sorted(unknown))}")
    plan = load_plan_argument(args.plan) if args.plan else None
    expected = _expectations(args.expect) if args.expect else []
    folder = tempfile.TemporaryDirectory(prefix="event-composer-sandbox-")
    db = args.db or str(Path(folder.name) / "inbox.sqlite3")
    try:
        store = SandboxStore(db)
    except StoreError as exc:
        raise CliError(str(exc)) from None
    store.clear()
    server = SandboxServer(store, port=args.port, sdk=SdkConfig.from_environment(args.flags))
    server.start()
    key = os.environ.get(KEY_VARIABLE) or generate_sandbox_key()
    env = {
        **os.environ,
        **dict.fromkeys(HOST_VARIABLES, server.url),
        URL_VARIABLE: server.url,
        PORT_VARIABLE: str(server.port),
        KEY_VARIABLE: key,
    }
    print(f"Sandbox on {server.url} for: {' '.join(command)}", file=sys.stderr, flush=True)
    try:
        try:
            code = subprocess.run(command, env=env, check=False).returncode
        except OSError as exc:
            raise CliError(f"cannot run {command[0]}: {exc.strerror or exc}") from None
        time.sleep(SETTLE_S)
    finally:
        server.stop()
        store.close()
    report = build_report(db, plan, expected)
    if args.report_json:
        Path(args.report_json).write_bytes(
            orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2, default=str)
        )
    for line in report.lines(allow):
        print(line, file=sys.stderr)
    folder.cleanup()
    if code != 0:
        print(f"  the command exited with {code}", file=sys.stderr)
        return ExitStatus(code) if code in (1, 2) else ExitStatus.FAILED
    return ExitStatus.FAILED if report.failures(allow) else ExitStatus.OK


def _expectations(path: str) -> list[Expectation]:
    from composer.sandbox.report import expectations_from

    text = Path(path).read_text(encoding="utf-8") if path != "-" else sys.stdin.read()
    try:
        if path.endswith((".yaml", ".yml")):
            import yaml

            doc = yaml.safe_load(text)
        elif path.endswith(".json") or text.lstrip()[:1] in ("[", "{"):
            doc = orjson.loads(text)
        else:  # one event name a line
            doc = [line.strip() for line in text.splitlines() if line.strip()]
        return expectations_from(doc)
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise CliError(f"{path}: {exc}") from None


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser(
        "run",
        help="run a command against a fresh sandbox and report what arrived (for CI)",
        description="Start a sandbox on a free port, run COMMAND with POSTHOG_HOST,"
        f" POSTHOG_API_HOST and {URL_VARIABLE} set to it ({PORT_VARIABLE} holds its port,"
        f" {KEY_VARIABLE} a project key unless set), then report what arrived. Exits with"
        " COMMAND's failure, else 1 when an event would be rejected or dropped by PostHog,"
        " breaks the plan, or an expected event is missing.",
        epilog="examples:\n"
        "  event-composer sandbox run -- pytest tests/\n"
        "  event-composer sandbox run --plan tracking-plan.yaml -- npm test\n"
        "  event-composer sandbox run --expect expected.yaml --allow dropped -- ./e2e.sh\n"
        "\n--expect takes a list of event names (a file of one name a line works too), or\n"
        "of {event, distinct_id, properties, count} objects in JSON or YAML.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--plan", metavar="PLAN", help="a tracking plan every event must pass")
    p.add_argument("--expect", metavar="FILE", help="events that must have arrived")
    p.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="KIND",
        help="do not fail on: rejected, dropped, plan, missing (repeat, or comma-separate)",
    )
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free)")
    p.add_argument("--db", metavar="PATH", help="keep the inbox in this file (default: temporary)")
    p.add_argument("--flags", metavar="FILE", help="feature flags to serve (see `sandbox --help`)")
    p.add_argument("--report-json", metavar="FILE", help="also write the report as JSON here")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to run")
    p.set_defaults(run=run)
