"""The send room: a finished body checked, confirmed and sent off the GUI thread, the answer
shown in the response pane, and every send handed to the history as an entry.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtWidgets import QWidget

from composer.core.capture import bodies, endpoints
from composer.core.capture.hosts import Host, HostError, resolve_host
from composer.core.capture.parse import classify
from composer.core.capture.preflight import CheckOptions, check_body
from composer.services.history import HistoryEntry
from composer.ui import dialogs
from composer.ui.send.controller import SendController, SendRequest
from composer.ui.send.response_pane import ResponsePane, SendEntry

if TYPE_CHECKING:
    from composer.services.transport import ResponseRecord


class SendTarget(Protocol):
    """Where Send sends: the toolbar's host and key, and the active profile's guard."""

    def host_text(self) -> str: ...
    def key_text(self) -> str: ...
    def profile_name(self) -> str: ...
    def focus_host(self) -> None: ...
    def confirm_send(self, events: int) -> bool: ...


class SendRoom(QObject):
    """Signals:
    message(str, int): a status-bar text.
    sending(bool): a send started (True) or ended (False).
    finished(bool): a send got an answer; True when it was accepted (2xx).
    recorded(HistoryEntry, tuple): a send to keep in the history, with the secrets to mask.
    """

    message = Signal(str, int)
    sending = Signal(bool)
    finished = Signal(bool)
    recorded = Signal(HistoryEntry, tuple)

    def __init__(
        self, target: SendTarget, parent: QWidget, controller: SendController | None = None
    ) -> None:
        super().__init__(parent)
        self.target = target
        self.controller = controller or SendController(parent=self)
        self.controller.setParent(self)
        self.response = ResponsePane(parent)
        self.controller.started.connect(self._on_started)
        self.controller.finished.connect(self._on_finished)
        self.controller.failed.connect(self._on_failed)
        self.controller.cancelled.connect(self._on_cancelled)

    @property
    def busy(self) -> bool:
        return self.controller.busy

    def show_message(self, text: str, ms: int = 6000) -> None:
        self.message.emit(text, ms)

    def resolve_host(self) -> Host | None:
        """The target host, or None with a message and the host field focused."""
        try:
            return resolve_host(self.target.host_text())
        except HostError as exc:
            self.show_message(f"Host: {exc}.", 10000)
            self.target.focus_host()
            return None

    def send_body(self, body: object, endpoint: str, host: Host, key: str, kind: str) -> None:
        """Check, confirm and send a finished body (variables filled in, key in place)."""
        options = CheckOptions(endpoint=endpoint, host=self.target.host_text() or None)
        result = check_body(body, options)
        if not self.target.confirm_send(result.events):
            self.show_message("Not sent.")
            return
        if not result.ok:
            predicted = result.predicted
            if not dialogs.confirm(
                self.response.window(),
                "PostHog will refuse this",
                f"The pre-flight check expects PostHog to answer {predicted.status}"
                f" ({predicted.body}).\n\n{result.errors[0].message}\n\nSend it anyway to see"
                " the answer?",
                "Send anyway",
            ):
                return
        # Every key the body carries is a secret: a key pasted into the JSON, not only the field.
        secrets = tuple(dict.fromkeys(k for k in (key, *bodies.keys_in(body)) if k))
        self.controller.send(
            SendRequest(
                host.endpoint_url(endpoint),
                bodies.render(body),
                secrets,
                events=result.events,
                profile=self.target.profile_name(),
                kind=kind,
                event_names=_event_names(body),
                endpoint=endpoint,
                host=self.target.host_text(),
            )
        )

    def resend(self, entry: HistoryEntry) -> None:
        """Send a past body again, as it was, to the current target with its key."""
        if self.busy:
            return
        body, why = entry.reopenable_body()
        if body is None:
            self.show_message(why, 10000)
            return
        host = self.resolve_host()
        if host is None:
            return
        key = self.target.key_text()
        if key and bodies.read_api_key(body) is not None:
            body = bodies.with_api_key(body, key)
        self.send_body(body, entry.endpoint or endpoints.DEFAULT, host, key, entry.kind)

    def cancel(self) -> None:
        self.controller.cancel()

    def show_history_entry(self, entry: HistoryEntry) -> None:
        from composer.services.transport import ResponseRecord

        record = None
        if entry.status is not None or entry.response_body:
            record = ResponseRecord(
                "POST",
                entry.url,
                [],
                entry.body,
                len(entry.body),
                False,
                status=entry.status,
                response_headers=list(entry.response_headers),
                body=entry.response_body,
                elapsed=(entry.elapsed_ms or 0) / 1000,
            )
        when = entry.sent_at.astimezone().replace(tzinfo=None)
        note = entry.error or "No answer was received."
        self.response.show_entry(
            SendEntry(when, entry.url, entry.events, record, note, entry.event_names)
        )

    def shutdown(self) -> None:
        self.controller.shutdown()

    # -- the controller's reports ------------------------------------------------------------

    def _record(self, request: SendRequest, record: ResponseRecord | None, note: str = "") -> None:
        if record is not None:
            entry = HistoryEntry.from_record(
                record,
                profile=request.profile,
                host=request.host,
                endpoint=request.endpoint,
                kind=request.kind,
                event_names=request.event_names,
                events=request.events,
            )
        else:
            entry = HistoryEntry(
                None,
                datetime.now(UTC),
                request.profile,
                request.host,
                request.url,
                request.endpoint,
                request.kind,
                request.event_names,
                request.events,
                bodies.mask_in_render(request.body, request.secrets),
                None,
                None,
                [],
                b"",
                note,
            )
        entry = replace(
            entry,
            body=bodies.redact_bytes(entry.body),
            response_body=bodies.redact_bytes(entry.response_body),
        )
        self.recorded.emit(entry, request.secrets)

    @Slot(object)
    def _on_started(self, request: SendRequest) -> None:
        self.sending.emit(True)
        self.response.show_sending(request.url)
        self.show_message(f"Sending {len(request.body):,} bytes to {request.url} …", 0)

    @Slot(object, object)
    def _on_finished(self, request: SendRequest, record: ResponseRecord) -> None:
        self.sending.emit(False)
        self.response.add(
            SendEntry(
                datetime.now(), request.url, request.events, record, names=request.event_names
            )
        )
        self._record(request, record)
        self.finished.emit(record.ok)
        status = record.status if record.status is not None else "no answer"
        self.show_message(f"{status} from {request.url}")

    @Slot(object, str)
    def _on_failed(self, request: SendRequest, text: str) -> None:
        self.sending.emit(False)
        self.response.add(
            SendEntry(
                datetime.now(),
                request.url,
                request.events,
                None,
                f"The send failed inside the composer: {text}",
                request.event_names,
            )
        )
        self.show_message(f"The send failed: {text}", 10000)

    @Slot(object)
    def _on_cancelled(self, request: SendRequest) -> None:
        self.sending.emit(False)
        self.response.add(
            SendEntry(
                datetime.now(),
                request.url,
                request.events,
                None,
                "Cancelled. If the request reached the server, PostHog may still have stored it.",
                request.event_names,
            )
        )
        self._record(request, None, "Cancelled before an answer arrived.")
        self.show_message("Cancelled.")


def _event_names(body: object) -> str:
    names = [e.get("event") for e in classify(body)[1] if isinstance(e, dict)]
    shown = [n if isinstance(n, str) else "?" for n in names[:2]]
    more = f" (+{len(names) - 2})" if len(names) > 2 else ""
    return ", ".join(shown) + more
