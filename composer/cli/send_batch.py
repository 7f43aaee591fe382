"""`event-composer send FILE.jsonl` (or a UTF-8 FILE.csv): a file of any size, read as it is
sent.

One pass: each block of lines is parsed, given its uuids, checked and chunked while the chunk
before it is on the wire, and dropped once its answer is journaled, so memory stays bounded
however big the file is (what a send must hold on to is the chunks in flight). The failed
file is written as chunks fail; the journal makes a killed send resume where it stopped, as
it does for the whole-file path (cli/send.py's run_batch, still used for CSV).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson

from composer.cli import templates
from composer.cli.collector import PacedCollector, paced
from composer.cli.errors import CliError, ExitStatus
from composer.cli.progress import ProgressLine
from composer.cli.resume import open_send_run
from composer.core.batch.formats import Format, Problem, format_for
from composer.core.batch.journal import Outcome
from composer.core.batch.rows import BatchRow, RowStatus, read_back
from composer.core.capture.hosts import Host
from composer.services.batch_stream import StreamedFile, open_stream

PROBLEMS_SHOWN = 20
FAILURES_LISTED = 1000  # in --format json
FAILURES_SHOWN = 10


class _Problems:
    """Unreadable lines: the first ones printed as they are found, the rest counted."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0

    def __call__(self, problem: Problem) -> None:
        self.count += 1
        if self.count <= PROBLEMS_SHOWN:
            print(f"{self.name}: {problem}", file=sys.stderr)

    def finish(self) -> None:
        if self.count > PROBLEMS_SHOWN:
            print(
                f"{self.name}: … and {self.count - PROBLEMS_SHOWN} more unreadable lines",
                file=sys.stderr,
            )


class _Undelivered:
    """The rows that were not delivered: into the failed file, the first ones kept to list."""

    def __init__(self, failed_file: object) -> None:
        self.failed_file = failed_file
        self.count = 0
        self.listed: list[tuple[str, RowStatus, str, str]] = []  # uuid, status, why, name

    def __call__(self, rows: Sequence[BatchRow]) -> None:
        self.failed_file.append(rows)  # type: ignore[attr-defined]
        self.count += len(rows)
        for row in rows[: max(0, FAILURES_LISTED - len(self.listed))]:
            name = read_back(row).name  # a reader process parsed it: its name, again
            self.listed.append((row.uuid, row.status, row.status_text, name))


def run_stream(
    args: argparse.Namespace,
    host: Host,
    key: str,
    target: object,
    confirm_production: Callable[[Any, int, str, bool], None],
) -> ExitStatus | None:
    """`confirm_production` is send.py's: events sent to production cannot be taken back.
    None: a CSV file that is not UTF-8, for the whole-file reader (it reads Windows-1252)."""
    failed_path = args.failed_file or str(Path(args.file).with_suffix("")) + ".failed.jsonl"
    if format_for(failed_path) is not Format.JSONL:
        raise CliError(
            f"--failed-file {failed_path}: the failed file is written as chunks fail, one event"
            " a line, so it must be JSON Lines; name it .jsonl."
        )
    try:
        # A big file's reader processes start now, before the scan and any thread.
        stream = open_stream(args.file, args.delimiter, readers=not args.dry_run)
    except OSError as exc:
        raise CliError(f"{args.file}: cannot read it ({exc.strerror or exc}).") from None
    if stream is None:
        return None
    if isinstance(stream, Problem):
        raise CliError(f"{args.file}: {stream}. {stream.fix}")
    try:
        return _send_stream(args, host, key, target, confirm_production, failed_path, stream)
    finally:
        stream.close()


def _send_stream(
    args: argparse.Namespace,
    host: Host,
    key: str,
    target: object,
    confirm_production: Callable[[Any, int, str, bool], None],
    failed_path: str,
    stream: StreamedFile,
) -> ExitStatus:
    from composer.core.templates.variables import Resolver
    from composer.services.batch_sender import BatchSender, Progress
    from composer.services.failed_file import FailedFile
    from composer.services.journal import JournalError
    from composer.services.transport import NO_RETRIES, RetryPolicy, Timeouts, Transport

    problems = _Problems(args.file)
    lines = stream.events
    if lines <= 0:
        raise CliError(f"{args.file} holds no event to send.", ExitStatus.FAILED)
    url = host.endpoint_url("/batch/")
    if args.dry_run:
        events = sum(len(rows) for rows in stream.rows(problems, wire=False))
        problems.finish()
        if not events:
            raise CliError(f"{args.file} holds no event to send.", ExitStatus.FAILED)
        print(f"(dry run: {events:,} events would be checked and sent to {url})", file=sys.stderr)
        return ExitStatus.OK
    if target is not None and target.production:  # type: ignore[attr-defined]
        confirm_production(target, lines, host.url, args.yes)
    identity = stream.scanned.identity
    run = open_send_run(args.file, identity, url, key, lines, restart=args.restart, err=sys.stderr)
    state = run.state
    before = state.count(Outcome.ACKED) if run.resumed else 0
    in_flight = state.in_flight
    # What this run sends is written to the journal, not kept in memory as well.
    state.remember = False
    if run.resumed and state.failed_file:
        # Rows it lists are tried again now; what this run cannot deliver is written afresh.
        Path(state.failed_file).unlink(missing_ok=True)
    failed_file = FailedFile(failed_path, run.journal)
    undelivered = _Undelivered(failed_file)
    counted = [0]  # rows read

    collector = PacedCollector()

    # Events without a uuid get one derived from the journal's seed and their position, so a
    # resumed run sends the very uuids the interrupted one did.
    reader = stream.sending(problems, run.seed)

    def pending() -> Iterator[BatchRow]:
        for blocks, rows in enumerate(reader, 1):
            counted[0] += len(rows)
            collector.tick(blocks)  # paced by blocks read: held rows make no request
            for row in rows:
                if before and state.outcome(row.uuid) is Outcome.ACKED:
                    continue
                yield row

    bar = ProgressLine(sys.stderr)

    def report(progress: Progress) -> None:
        bar.show(progress.done + progress.held, max(lines - before, 1), progress.rate)

    retry = NO_RETRIES if args.retries == 0 else RetryPolicy(max_retries=args.retries)
    try:
        with (
            paced(),
            Transport(
                timeouts=Timeouts(read=args.timeout, write=args.timeout), retry=retry
            ) as transport,
        ):
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
                on_undelivered=undelivered,
                resent=in_flight,
                remember=0,
                trust_clean=True,  # rows the reader processes found clean
                failures_kept=FAILURES_LISTED,
            )
            summary = sender.send(pending(), total=max(lines - before, 0))
    except JournalError as exc:
        raise CliError(f"{exc}", ExitStatus.FAILED) from None
    finally:
        with contextlib.suppress(JournalError):
            run.journal.flush()  # Ctrl+C too: what was acknowledged is written down
        failed_file.close()
        bar.finish()
    problems.finish()
    after = os.stat(args.file)
    if (after.st_size, after.st_mtime_ns) != (identity.size, identity.mtime_ns):
        print(
            f"warning: {args.file} changed while it was being sent; what was read is what"
            " was sent.",
            file=sys.stderr,
        )
    if counted[0] == 0:
        run.journal.discard()
        raise CliError(f"{args.file} holds no event to send.", ExitStatus.FAILED)
    p = summary.progress
    failed = p.failed + p.held
    if p.failed:
        run.journal.close()  # the same command retries the failed events, with their uuids
    else:
        run.journal.discard()  # every event delivered, or held back for a fix: the send is over
    acknowledged_before = run.acknowledged_before
    if args.format == "json":
        doc = {
            "sent": p.sent,
            "failed": p.failed,
            "held_back": p.held,
            "requests": p.requests,
            "seconds": round(p.elapsed, 3),
            "events_per_second": round(p.rate),
            "may_be_duplicates": p.duplicates,
            "acknowledged_before": acknowledged_before,
            "failed_file": failed_path if failed else None,
            "failures": [
                {"uuid": uid, "status": status.value, "why": why}
                for uid, status, why, _name in undelivered.listed
            ],
        }
        sys.stdout.buffer.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        line = summary.line()
        if acknowledged_before:
            line += f"; {acknowledged_before:,} acknowledged by an earlier run"
        print(line)
        for uid, status, why, name in undelivered.listed[:FAILURES_SHOWN]:
            print(f"  {status.value}: {name or '(no name)'} {uid}: {why}")
        if failed:
            again = (
                " (or run the same command again: it retries the failed ones with the same"
                " uuids and skips what was delivered)"
                if p.failed
                else ""
            )
            print(
                f"The {failed:,} events that were not delivered are in {failed_path};"
                f" fix them and send that file again{again}."
            )
    return ExitStatus.FAILED if failed else ExitStatus.OK
