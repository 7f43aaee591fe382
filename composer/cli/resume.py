"""`event-composer send FILE` after a crash: its journal says what was delivered, so the same
command resumes; `--restart` starts over.

A journal belongs to one input file (its resolved path) and is only resumed against the same
bytes, the same host and the same project: a changed file, another host or another key would
skip events that were never delivered there, so each is refused with what to do instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from composer.cli.errors import CliError
from composer.core.batch.journal import (
    InputIdentity,
    JournalDamaged,
    JournalHeader,
    JournalKind,
    JournalState,
    JournalTooNew,
    Outcome,
    host_of,
    key_fingerprint,
)
from composer.files import keep_aside
from composer.services.journal import (
    JournalBusy,
    JournalError,
    JournalLock,
    SendJournal,
    cli_journal_path,
    read_journal,
    utc_now,
)


@dataclass
class SendRun:
    journal: SendJournal
    seed: bytes
    resumed: bool
    acknowledged_before: int  # events the interrupted runs had delivered

    @property
    def state(self) -> JournalState:
        return self.journal.state


def open_send_run(
    file: str,
    identity: InputIdentity,
    url: str,
    api_key: str,
    rows: int,
    *,
    restart: bool,
    err: TextIO,
) -> SendRun:
    """The journal for this send: the interrupted one, validated, or a new one."""
    path = cli_journal_path(file)
    lock = JournalLock(path)
    try:
        lock.acquire()
    except JournalBusy:
        raise CliError(
            f"another event-composer is sending {file} right now (its journal {path} is"
            " locked); wait for it to finish or stop it, then run this again."
        ) from None
    try:
        state = _previous(path, file, restart, err)
        if state is not None and restart:
            acked = state.count(Outcome.ACKED)
            path.unlink(missing_ok=True)
            print(
                f"starting over: the journal of the interrupted send of {file}"
                f" ({acked:,} of {state.header.rows:,} acknowledged) is discarded;"
                " events without a uuid get new ones.",
                file=err,
            )
            state = None
        if state is not None:
            _check_compatible(state, file, identity, url, api_key)
            acked = state.count(Outcome.ACKED)
            _say_resuming(state, file, acked, rows, err)
            journal = SendJournal.reopen(path, state, lock)
            return SendRun(journal, bytes.fromhex(state.header.seed), True, acked)
        seed = os.urandom(16)
        header = JournalHeader(
            kind=JournalKind.CLI,
            created=utc_now(),
            url=url,
            project=key_fingerprint(api_key),
            seed=seed.hex(),
            source=identity,
            rows=rows,
        )
        return SendRun(SendJournal.create(path, header, lock), seed, False, 0)
    except JournalError as exc:
        lock.release()
        raise CliError(f"{exc}") from None
    except BaseException:
        lock.release()
        raise


def _previous(path: Path, file: str, restart: bool, err: TextIO) -> JournalState | None:
    try:
        state = read_journal(path)
    except JournalTooNew as exc:
        if restart:
            path.unlink(missing_ok=True)
            return None
        raise CliError(
            f"the journal of an interrupted send of {file} ({path}) was {exc}; finish the send"
            " with that version, or add --restart to send the file from the start."
        ) from None
    except JournalDamaged as exc:
        # Its header is written (and synced) before the first request, so nothing was sent.
        aside = keep_aside(path)
        print(f"note: the journal {path} could not be read ({exc}); kept as {aside}.", file=err)
        return None
    if state is None:
        return None
    if state.header.kind is not JournalKind.CLI or len(state.header.seed) != 32:
        aside = keep_aside(path)
        print(f"note: {path} is not a send journal of this command; kept as {aside}.", file=err)
        return None
    return state


def _check_compatible(
    state: JournalState, file: str, identity: InputIdentity, url: str, api_key: str
) -> None:
    header = state.header
    acked = state.count(Outcome.ACKED)
    progress = f"{acked:,} of {header.rows:,} events acknowledged{_when(state)}"
    if header.source is None or not header.source.same_content(identity):
        raise CliError(
            f"{file} has changed since its send to {host_of(header.url)} was interrupted"
            f" ({progress}): resuming would skip the wrong events. Put the file back as it was"
            " to resume, or add --restart to send it as it is now from the start."
        )
    if header.url != url:
        raise CliError(
            f"the interrupted send of {file} went to {host_of(header.url)} ({progress});"
            f" resuming against {host_of(url)} would skip events it never received. Send to"
            f" {host_of(header.url)} to finish it, or add --restart to send every event to"
            f" {host_of(url)}."
        )
    if header.project != key_fingerprint(api_key):
        raise CliError(
            f"the interrupted send of {file} went to another project on {host_of(url)} (another"
            f" project key; {progress}): resuming would skip events this project never"
            " received. Use that project's key to finish it, or add --restart to send every"
            " event to this one."
        )


def _say_resuming(state: JournalState, file: str, acked: int, rows: int, err: TextIO) -> None:
    host = host_of(state.header.url)
    print(
        f"resuming: {acked:,} of {rows:,} already acknowledged by {host}{_when(state)};"
        " sending the rest; --restart to start over",
        file=err,
    )
    in_flight = len(state.in_flight)
    if in_flight:
        print(
            f"  {in_flight:,} were in flight when it stopped: they are sent again with the same"
            " uuids, so PostHog keeps one of each (they may be duplicates).",
            file=err,
        )
    if state.torn_tail:
        print(
            f"  the journal's last line was cut short by the crash ({state.torn_tail} bytes);"
            " it was ignored, and its events are sent again with the same uuids.",
            file=err,
        )
    if state.damaged_lines:
        lines = ", ".join(str(n) for n in state.damaged_lines[:5])
        print(
            f"  {len(state.damaged_lines)} damaged journal line(s) ignored ({lines}); their"
            " events are sent again with the same uuids.",
            file=err,
        )
    failed_file = state.failed_file
    if failed_file and Path(failed_file).exists():
        print(
            f"  {failed_file} (from the earlier run) is removed: its events are tried again,"
            " and this run writes it anew with whatever it cannot deliver.",
            file=err,
        )


def _when(state: JournalState) -> str:
    stamp = state.last_ack_at
    if not stamp:
        return ""
    return " at " + stamp.replace("T", " ").replace("Z", " UTC")
