"""`event-composer send FILE --host URL`: check, then send the body and show the answer."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import orjson

from composer.cli import templates
from composer.cli.errors import CliError, ExitStatus
from composer.cli.inputs import add_delimiter_argument, read_input, tell_notices
from composer.cli.output import check_report, response_report
from composer.core.batch.formats import Format, format_for
from composer.core.capture import bodies
from composer.core.capture.hosts import Host, HostError, resolve_host
from composer.core.capture.parse import BodyEncodingError, parse_text
from composer.core.capture.preflight import CheckOptions, check_body
from composer.core.jsonio import JsonSyntaxError

KEY_ENV = "POSTHOG_PROJECT_API_KEY"
HOST_ENV = "POSTHOG_HOST"


def run(args: argparse.Namespace) -> ExitStatus:

    target = resolve_profile(args.profile) if args.profile else None
    host_text = args.host or (target.host if target else None) or os.environ.get(HOST_ENV)
    if not host_text:
        raise CliError(
            f"no host: give --host (us, eu, or a URL) or --profile NAME, or set {HOST_ENV}."
        )
    try:
        host = resolve_host(host_text)
    except HostError as exc:
        raise CliError(f"--host: {exc}.") from None
    template = templates.template_source(args.file, args)
    if (
        template is None
        and args.file != "-"
        and format_for(args.file) in (Format.JSONL, Format.CSV)
    ):
        return run_batch(args, host, target)
    if template is not None:
        name, body = template.name, template.body()
        args.endpoint = args.endpoint or template.template.endpoint
    else:
        name, body = read_body(args.file)
    body, unresolved = templates.fill(body, args)
    if unresolved:
        for finding in unresolved:
            print(f"error: {finding.message}\n  fix: {finding.fix}", file=sys.stderr)
        print(f"Not sent: {name} has variables without a value.", file=sys.stderr)
        return ExitStatus.FAILED
    env_key = os.environ.get(KEY_ENV)
    chosen_key = env_key or (target.key if target else None)
    if chosen_key:
        body = bodies.with_api_key(body, chosen_key)
    key = bodies.read_api_key(body)
    secrets = [k for k in (chosen_key, key) if k]

    result = check_body(body, CheckOptions(endpoint=args.endpoint, host=host_text))
    endpoint = result.endpoint
    if not result.ok and not args.force:
        print(check_report(name, result, quiet_info=True), file=sys.stderr)
        print(
            "Not sent: PostHog would refuse this body. Fix the errors, or use --force to send"
            " it anyway.",
            file=sys.stderr,
        )
        return ExitStatus.FAILED
    for finding in result.warnings:
        print(f"warning: {finding.code} at {finding.path}: {finding.message}", file=sys.stderr)
    if target is not None and target.production and not args.dry_run:
        confirm_production(target, result.events, host.url, args.yes)

    payload = bodies.render(body)
    url = host.endpoint_url(endpoint)
    if args.dry_run:
        # Exactly the bytes `send` would post, with the key masked.
        sys.stdout.buffer.write(bodies.mask_in_render(payload, secrets))
        sys.stdout.write("\n")
        print(f"(dry run: not sent to {url})", file=sys.stderr)
        return ExitStatus.OK
    from composer.services.transport import NO_RETRIES, RetryPolicy, Timeouts, Transport

    retry = NO_RETRIES if args.retries == 0 else RetryPolicy(max_retries=args.retries)
    timeouts = Timeouts(read=args.timeout, write=args.timeout)
    with Transport(timeouts=timeouts, retry=retry) as transport:
        if args.format == "text":
            print(
                f"POST {url} ({len(payload):,} bytes{', gzip' if args.gzip else ''})",
                file=sys.stderr,
            )
        record = transport.send(url, payload, secrets=secrets, gzip=args.gzip)
    if args.format == "json":
        sys.stdout.buffer.write(orjson.dumps(record.to_dict(), option=orjson.OPT_INDENT_2))
        sys.stdout.write("\n")
    else:
        print(response_report(record))
    return ExitStatus.OK if record.ok else ExitStatus.FAILED


def read_body(path: str) -> tuple[str, Any]:
    source = read_input(path)
    try:
        parsed = parse_text(source.data)
    except BodyEncodingError as exc:
        raise CliError(f"{source.name} is not UTF-8 text ({exc}); save it as UTF-8.") from None
    except JsonSyntaxError as exc:
        raise CliError(
            f"{source.name} is not valid JSON: {exc.message} at line {exc.line}, column"
            f" {exc.column}; fix it, then send again.",
            ExitStatus.FAILED,
        ) from None
    return source.name, parsed.value


def run_batch(args: argparse.Namespace, host: Host, target: Target | None) -> ExitStatus:
    """A .jsonl or .csv file: checked, chunked into /batch/ requests, journaled as it goes (a
    killed send resumes where it stopped), and failures written out as they happen."""
    from composer.cli.resume import open_send_run
    from composer.core.batch.journal import Outcome, assign_derived_uuids
    from composer.core.batch.rows import RowStatus
    from composer.core.templates.variables import Resolver
    from composer.services.batch_files import read_batch_file
    from composer.services.batch_sender import BatchSender, Progress
    from composer.services.batch_stream import streams
    from composer.services.failed_file import FailedFile
    from composer.services.journal import JournalError, input_identity
    from composer.services.transport import NO_RETRIES, RetryPolicy, Timeouts, Transport

    key = os.environ.get(KEY_ENV) or (target.key if target else None)
    if not key:
        raise CliError(f"no project key for a batch: set {KEY_ENV} or use --profile NAME.")
    if streams(args.file):  # read as it is sent, in bounded memory
        from composer.cli.send_batch import run_stream

        streamed = run_stream(args, host, key, target, confirm_production)
        if streamed is not None:
            return streamed
        # A CSV file that is not UTF-8: read whole below, as Windows-1252 where it can be.
    failed_path = args.failed_file or str(Path(args.file).with_suffix("")) + ".failed.jsonl"
    if format_for(failed_path) is not Format.JSONL:
        raise CliError(
            f"--failed-file {failed_path}: the failed file is written as chunks fail, one event"
            " a line, so it must be JSON Lines; name it .jsonl."
        )
    try:
        identity = input_identity(args.file)
        imported = read_batch_file(args.file, delimiter=args.delimiter)
        after = os.stat(args.file)
    except OSError as exc:
        raise CliError(f"{args.file}: cannot read it ({exc.strerror or exc}).") from None
    if imported.unreadable is not None:  # not UTF-8, UTF-16, a CSV header that cannot be read
        raise CliError(f"{args.file}: {imported.unreadable}. {imported.unreadable.fix}")
    if (after.st_size, after.st_mtime_ns) != (identity.size, identity.mtime_ns):
        raise CliError(
            f"{args.file} changed while it was being read; send it again once nothing is"
            " writing to it."
        )
    tell_notices(args.file, imported)
    for problem in imported.problems[:20]:
        print(f"{args.file}: {problem}", file=sys.stderr)
    if len(imported.problems) > 20:
        print(
            f"{args.file}: … and {len(imported.problems) - 20} more unreadable lines",
            file=sys.stderr,
        )
    rows = imported.rows
    if not rows:
        raise CliError(f"{args.file} holds no event to send.", ExitStatus.FAILED)
    if target is not None and target.production and not args.dry_run:
        confirm_production(target, len(rows), host.url, args.yes)
    url = host.endpoint_url("/batch/")
    if args.dry_run:
        print(
            f"(dry run: {len(rows):,} events would be checked and sent to {url})", file=sys.stderr
        )
        return ExitStatus.OK
    run = open_send_run(
        args.file, identity, url, key, len(rows), restart=args.restart, err=sys.stderr
    )
    # Events without a uuid get one derived from the journal's seed and their position, so a
    # resumed run sends the very uuids the interrupted one did.
    assign_derived_uuids(rows, run.seed)
    state = run.state
    pending = []
    for row in rows:
        if state.outcome(row.uuid) is Outcome.ACKED:
            row.status, row.status_text = RowStatus.SENT, "acknowledged by an earlier run"
        else:
            pending.append(row)
    in_flight = state.in_flight
    if run.resumed and state.failed_file:
        # Rows it lists are tried again now; what this run cannot deliver is written afresh.
        Path(state.failed_file).unlink(missing_ok=True)
    failed_file = FailedFile(failed_path, run.journal)
    bar = ProgressLine(sys.stderr)

    def report(progress: Progress) -> None:
        bar.show(progress)

    retry = NO_RETRIES if args.retries == 0 else RetryPolicy(max_retries=args.retries)
    try:
        with Transport(
            timeouts=Timeouts(read=args.timeout, write=args.timeout), retry=retry
        ) as transport:
            sender = BatchSender(
                transport,
                url,
                key,
                historical_migration=args.historical_migration,
                max_bytes=args.max_bytes,
                max_events=args.max_events,
                on_progress=report,
                resolver=Resolver(templates.variables(args)),
                journal=run.journal,
                on_undelivered=failed_file.append,
                resent=frozenset(row.uuid for row in pending if row.uuid in in_flight),
            )
            summary = sender.send(pending)
    except JournalError as exc:
        raise CliError(f"{exc}", ExitStatus.FAILED) from None
    finally:
        with contextlib.suppress(JournalError):
            run.journal.flush()  # Ctrl+C too: what was acknowledged is written down
        failed_file.close()
        bar.finish()
    failed = [r for r in pending if r.status in (RowStatus.FAILED, RowStatus.HELD)]
    retryable = any(r.status is RowStatus.FAILED for r in pending)
    if retryable:
        run.journal.close()  # the same command retries the failed events, with their uuids
    else:
        run.journal.discard()  # every event delivered, or held back for a fix: the send is over
    if args.format == "json":
        p = summary.progress
        doc = {
            "sent": p.sent,
            "failed": p.failed,
            "held_back": p.held,
            "requests": p.requests,
            "seconds": round(p.elapsed, 3),
            "events_per_second": round(p.rate),
            "may_be_duplicates": p.duplicates,
            "acknowledged_before": run.acknowledged_before,
            "failed_file": failed_path if failed else None,
            "failures": [
                {"uuid": r.uuid, "status": r.status.value, "why": r.status_text}
                for r in failed[:1000]
            ],
        }
        sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        line = summary.line()
        if run.acknowledged_before:
            line += f"; {run.acknowledged_before:,} acknowledged by an earlier run"
        print(line)
        for row in failed[:10]:
            print(f"  {row.status.value}: {row.name or '(no name)'} {row.uuid}: {row.status_text}")
        if failed:
            again = (
                " (or run the same command again: it retries the failed ones with the same"
                " uuids and skips what was delivered)"
                if retryable
                else ""
            )
            print(
                f"The {len(failed):,} events that were not delivered are in {failed_path};"
                f" fix them and send that file again{again}."
            )
    return ExitStatus.FAILED if failed else ExitStatus.OK


class ProgressLine:
    """A one-line progress bar on a terminal; a line every few seconds otherwise."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._last = 0.0

    def show(self, progress: Any) -> None:
        now = time.monotonic()
        if now - self._last < (0.1 if self.tty else 2.0):
            return
        self._last = now
        total = max(progress.total, 1)
        filled = int(30 * progress.done / total)
        eta = f" ETA {progress.eta:.0f}s" if progress.eta is not None else ""
        text = (
            f"[{'#' * filled}{'.' * (30 - filled)}] {progress.done:,}/{progress.total:,}"
            f" {progress.rate:,.0f} ev/s{eta}"
        )
        if self.tty:
            # Erase to the end of the line: a shorter line (the rate or ETA lost a digit)
            # would otherwise leave the old line's last characters behind it.
            self.stream.write("\r" + text + "\x1b[K")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


@dataclass(frozen=True)
class Target:
    name: str
    host: str
    key: str
    production: bool


def resolve_profile(name: str) -> Target:
    from composer.cli.profile import Profiles

    profiles = Profiles.open()
    profile = profiles.find(name)
    if profile.builtin:
        from composer.sandbox.keys import generate_sandbox_key
        from composer.sandbox.local import preferred_port

        return Target(
            profile.name,
            f"http://127.0.0.1:{preferred_port() or 8787}",
            generate_sandbox_key(),
            False,
        )
    secret = profiles.secret(profile)
    return Target(profile.name, secret.host, secret.key, profile.production)


def confirm_production(target: Target, events: int, url: str, yes: bool) -> None:
    """Events sent to production cannot be taken back: ask, or insist on --yes."""
    question = (
        f"Send {events} event{'s' * (events != 1)} to the production profile"
        f" {target.name!r} ({url})?"
    )
    if yes:
        return
    if sys.stdin.isatty():
        answer = input(f"{question} Events cannot be taken back. Type yes to send: ")
        if answer.strip().lower() == "yes":
            return
        raise CliError("not sent.", ExitStatus.FAILED)
    raise CliError(
        f"{question} It is marked production: add --yes to send without asking.", ExitStatus.FAILED
    )


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "send",
        help="check a capture body, send it, and print PostHog's answer",
        description="Check a capture body, then send it and print the answer. The project key"
        f" comes from ${KEY_ENV} when set (it replaces any key in the file), else from the"
        " file; never from an argument. Exit status: 0 on a 2xx answer, 1 otherwise,"
        " 2 for usage errors or unreadable files.",
        epilog="examples:\n"
        "  event-composer send event.json --host eu\n"
        f"  {KEY_ENV}=phc_... event-composer send batch.json --host https://us.i.posthog.com\n"
        "  event-composer send event.json --host http://127.0.0.1:8010 --format json\n"
        "  event-composer send events.jsonl --profile Staging      checked, chunked, failures"
        " saved",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "file",
        metavar="FILE",
        help="a JSON body file, a .jsonl/.csv file of events, a template name or file; - reads"
        " stdin",
    )
    p.add_argument("--host", help=f"us, eu, or the URL of the ingestion host (or ${HOST_ENV})")
    templates.add_arguments(p)
    p.add_argument(
        "--profile",
        metavar="NAME",
        help="send with a profile's host and key (see: event-composer profile list)",
    )
    p.add_argument(
        "--yes", action="store_true", help="confirm sending to a profile marked production"
    )
    p.add_argument(
        "--endpoint", help="/i/v0/e/ (default), /capture/ or /batch/ (default for a batch envelope)"
    )
    p.add_argument("--gzip", action="store_true", help="compress the body with gzip")
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text for people (default); json prints the whole response record",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print the exact body that would be sent (key masked), and stop",
    )
    p.add_argument("--force", action="store_true", help="send even when the check finds errors")
    p.add_argument(
        "--timeout",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="how long to wait for an answer (default 15)",
    )
    p.add_argument(
        "--retries",
        type=int,
        default=3,
        metavar="N",
        help="retries after network errors, 5xx, 408 and 429 (default 3)",
    )
    batch = p.add_argument_group("batch files (.jsonl, .csv)")
    add_delimiter_argument(batch)
    batch.add_argument(
        "--max-bytes",
        type=int,
        default=5 * 1024 * 1024,
        metavar="BYTES",
        help="size cap per request (default 5 MiB; never over 20 MiB)",
    )
    batch.add_argument(
        "--max-events",
        type=int,
        default=10_000,
        metavar="N",
        help="event cap per request (default 10,000)",
    )
    batch.add_argument(
        "--historical-migration",
        action="store_true",
        help="mark the requests as a historical backfill",
    )
    batch.add_argument(
        "--failed-file",
        metavar="PATH",
        help="a .jsonl file for the events that were not delivered, written as chunks fail"
        " (default: FILE.failed.jsonl)",
    )
    batch.add_argument(
        "--restart",
        action="store_true",
        help="start over: forget what an interrupted send of FILE delivered (by default the"
        " same command resumes it, skipping every event already acknowledged)",
    )
    p.set_defaults(run=run)
