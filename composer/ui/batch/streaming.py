"""Send batch for a JSON Lines file too big for the table: sent streaming, by a process.

The file goes to `event-composer send FILE`, which reads, checks and sends it a block at a
time in bounded memory, journaled (sent again, it resumes, skipping what was acknowledged)
and with the events not delivered written to FILE.failed.jsonl as it goes. The window shows
its progress and its summary. A process of its own rather than a worker thread: its Python
never takes the window's interpreter lock, so the window stays responsive however big the
file is.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import orjson
from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, Signal

from composer.core.batch.rows import DEFAULT_CHUNK_EVENTS
from composer.core.snippets import KEY_ENV  # the key reaches the command so, not on its line
from composer.ui.batch.sending import BatchTarget

# Bigger than this, a JSON Lines file is offered streaming instead of into the table: the table
# holds every event in memory (about 2 KB each), a streaming send a few chunks.
STREAM_OFFER_BYTES = 256 * 1024 * 1024
# The command's progress line, written every two seconds when its stderr is not a terminal.
_PROGRESS = re.compile(r"\] ([\d,]+)/~([\d,]+) ([\d,]+) ev/s(?: ETA ([\d,]+)s)?")


def estimate_events(size: int) -> int:
    """About how many events a JSON Lines file of `size` bytes holds (PostHog events run
    200-400 bytes a line), for the question before it is sent."""
    return max(1, size // 300)


class StreamedSend(QObject):
    """Signals, as BatchSending's: started(str, int, str) with the job "stream";
    progressed(int, int, str); stopped(); summary(str, int); message(str, int)."""

    started = Signal(str, int, str)
    progressed = Signal(int, int, str)
    stopped = Signal()
    summary = Signal(str, int)
    message = Signal(str, int)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._process: QProcess | None = None
        self._out = bytearray()
        self._err = bytearray()
        self._notes: list[str] = []  # what the command said besides its progress
        self._name = ""
        self._cancelled = False

    @property
    def running(self) -> bool:
        return self._process is not None

    def send_file(
        self, path: str, target: BatchTarget | None, historical: bool, max_events: int
    ) -> None:
        """Ask before a production send (about how many events: the file is not read first),
        then send."""
        if target is None:
            return
        url, key, confirm = target
        try:
            size = os.path.getsize(path)
        except OSError as exc:
            self.message.emit(f"Cannot read {path}: {exc.strerror or exc}", 10000)
            return
        if not confirm(estimate_events(size)):
            self.message.emit("Not sent.", 6000)
            return
        self.start(path, url, key, historical=historical, max_events=max_events)

    def start(
        self,
        path: str,
        url: str,
        key: str,
        *,
        historical: bool = False,
        max_events: int = DEFAULT_CHUNK_EVENTS,
    ) -> None:
        """Send `path` to the /batch/ `url` with `key`; the caller asked before a production
        send, so the command is told yes."""
        if self._process is not None:
            return
        self._name = Path(path).name
        self._out.clear()
        self._err.clear()
        self._notes.clear()
        self._cancelled = False
        process = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert(KEY_ENV, key)
        process.setProcessEnvironment(env)
        host = url.removesuffix("/batch/")
        arguments = ["-m", "composer", "send", path, "--host", host, "--yes", "--format", "json"]
        arguments += ["--max-events", str(max_events)]
        if historical:
            arguments.append("--historical-migration")
        process.readyReadStandardOutput.connect(self._on_stdout)
        process.readyReadStandardError.connect(self._on_stderr)
        process.finished.connect(self._on_finished)
        process.errorOccurred.connect(self._on_error)
        self._process = process
        self.started.emit("stream", 0, f"Sending {self._name} streaming to {url} …")
        process.start(sys.executable, arguments)

    def cancel(self) -> None:
        """Stop the send; what was acknowledged is in its journal, so sending the file again
        goes on from there."""
        if self._process is not None:
            self._cancelled = True
            self._process.terminate()

    def wait(self, ms: int = 10000) -> None:
        if self._process is not None:
            self._process.waitForFinished(ms)

    def _on_stdout(self) -> None:
        if self._process is not None:
            self._out += self._process.readAllStandardOutput().data()

    def _on_stderr(self) -> None:
        if self._process is None:
            return
        self._err += self._process.readAllStandardError().data()
        *lines, rest = re.split(rb"[\r\n]", bytes(self._err))
        self._err = bytearray(rest)
        for raw in lines:
            line = raw.decode("utf-8", "replace").strip()
            if not line:
                continue
            found = _PROGRESS.search(line)
            if found is None:
                self._notes.append(line)
                continue
            done, total, rate = (int(g.replace(",", "")) for g in found.groups()[:3])
            eta = f", about {found.group(4)} s left" if found.group(4) else ""
            self.progressed.emit(
                done,
                max(total, done, 1),
                f"{done:,} of about {total:,} sent from {self._name} · {rate:,} events/s{eta}",
            )

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error is QProcess.ProcessError.FailedToStart:
            self._end(f"The streaming send of {self._name} could not start: {error.name}.")

    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self._on_stdout()
        self._err += b"\n"
        self._on_stderr()
        try:
            doc = orjson.loads(bytes(self._out))
        except orjson.JSONDecodeError:
            doc = None
        if self._cancelled or status is QProcess.ExitStatus.CrashExit:
            self._end(
                f"The streaming send of {self._name} was stopped. Send the file again to go on"
                " where it stopped: what was acknowledged is not sent twice."
            )
        elif isinstance(doc, dict):
            self._end(_summary(self._name, doc))
        else:
            said = "; ".join(self._notes[-3:]) or f"it ended with {code}"
            self._end(f"The streaming send of {self._name} failed: {said}")

    def _end(self, text: str) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.deleteLater()
        self.stopped.emit()
        self.summary.emit(text, 15000)


def _summary(name: str, doc: dict[str, object]) -> str:
    text = (
        f"{name} sent streaming: {doc.get('sent', 0):,} sent, {doc.get('failed', 0):,} failed,"
        f" {doc.get('held_back', 0):,} held back in {doc.get('requests', 0):,} requests,"
        f" {doc.get('seconds', 0)} s ({doc.get('events_per_second', 0):,} events/s)."
    )
    if doc.get("failed_file"):
        text += f" The events not delivered are in {doc['failed_file']}."
    return text
