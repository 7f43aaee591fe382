"""JSON editing in the compose room: the body preview becomes an editor and the form follows.

While JSON editing is on, the text in the preview is the composition: it is parsed on every
update, an error is marked at its line and said under the text (which is kept as typed), and
the form shows the first event of valid JSON, read-only. Leaving asks before anything typed
is dropped. This object holds that state and those rules; the room decides when to update and
checks what the JSON says, as it does for the form.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from composer.core.capture import bodies, endpoints
from composer.core.capture.parse import BodyEncodingError, ParsedBody, classify, parse_text
from composer.core.compose.payloads import composition_from_event
from composer.core.jsonio import JsonSyntaxError, dumps_compact
from composer.ui import dialogs
from composer.ui.compose.form import ComposeForm
from composer.ui.compose.preview import PreviewPane


class JsonEditing(QObject):
    """Signals: message(str, int): a status-bar text and how long to show it."""

    message = Signal(str, int)

    def __init__(self, pane: PreviewPane, form: ComposeForm, parent: QObject) -> None:
        super().__init__(parent)
        self._view = pane.view
        self._error_label = pane.error
        self._form = form
        self.on = False
        # The edited JSON as last parsed; None while it does not parse (or nothing was typed).
        self.value: object = None
        # Where the text stops being JSON, for Go to on the finding; None when it is JSON.
        self.error: JsonSyntaxError | None = None

    def switch(self, on: bool) -> bool:
        """Turn JSON editing on or off (from the other state); False when the user chose to
        stay where they were."""
        parent = self._view.window()
        if (
            not on
            and self.error is not None
            and not dialogs.confirm(
                parent,
                "The JSON is not valid",
                "The JSON has an error, so the form cannot take it over. Leave JSON editing and go"
                " back to the form as it was before?",
                "Discard JSON edits",
            )
        ):
            return False
        if not on and self.value is not None:
            events = classify(self.value)[1]
            if len(events) > 1 and not dialogs.confirm(
                parent,
                "Keep only the first event?",
                f"The JSON holds {len(events)} events; the form edits one. The others will be"
                " dropped.",
                "Keep the first event",
            ):
                return False
        self.on = on
        self._view.set_editable(on)
        self._form.set_read_only(on)
        if on:
            self.value = None
            self._view.setFocus()
            self.message.emit("Editing JSON: the form follows while the JSON is valid.", 6000)
        else:
            self._error_label.setVisible(False)
            self._view.mark_line(None)
            self.error = None
            # Replaces "Editing JSON", which would otherwise stay up after editing ended.
            automatic = self._form.uuid_auto.isChecked()
            self.message.emit(
                "Back to the form"
                + ("; the uuid is still made fresh for every send." if automatic else "."),
                4000,
            )
        return True

    def forget(self) -> None:
        """Drop what was typed, so that leaving does not ask (New payload)."""
        self.error = None
        self.value = None

    def read(self, text: str) -> ParsedBody | None:
        """Parse the edited text; None when it is not JSON, its error marked and said."""
        try:
            parsed = parse_text(text)
        except (JsonSyntaxError, BodyEncodingError) as exc:
            self.value = None
            self.error = exc if isinstance(exc, JsonSyntaxError) else None
            if isinstance(exc, JsonSyntaxError):
                where = f"line {exc.line}, column {exc.column}: {exc.message}"
                self._view.mark_line(exc.line)
            else:
                where = str(exc)
            self._error_label.setText(f"Not valid JSON at {where}. Your text is kept as it is.")
            self._error_label.setVisible(True)
            return None
        self.error = None
        self._error_label.setVisible(False)
        self._view.mark_line(None)
        self.value = parsed.value
        return parsed

    def follow(self, parsed: ParsedBody, endpoint: str) -> None:
        """The form shows the first event of valid JSON, and the endpoint when the body is a
        batch and the form's is not (or the other way); the form's own signals stay quiet."""
        form = self._form
        events = [e for e in parsed.events if isinstance(e, dict)]
        if events:
            form.blockSignals(True)
            try:
                form.set_composition(composition_from_event(events[0]))
                if endpoints.is_batch(endpoint) != endpoints.is_batch(form.endpoint_path()):
                    form.endpoint.setCurrentText(endpoint)
            finally:
                form.blockSignals(False)
        if len(events) > 1:
            self._error_label.setText(
                f"The body holds {len(events)} events; the form shows the first."
            )
            self._error_label.setVisible(True)

    def body(self, api_key: str) -> object:
        """The edited JSON with the toolbar key in it (the key field always wins)."""
        value = self.value
        return bodies.with_api_key(value, api_key) if api_key else value

    def keys(self) -> list[str]:
        """Project keys in the JSON being edited, never to be written to a file."""
        if self.on and self.value is not None:
            return bodies.keys_in(self.value)
        return []

    def show_key(self, key: str, shown: bool) -> None:
        """Show key changed: the key in the edited text is unmasked, or masked again."""
        if self.on and key:
            old, new = (bodies.mask_key(key), key) if shown else (key, bodies.mask_key(key))
            self._view.set_text(_swap(self._view.text(), old, new))


def _swap(text: str, old: str, new: str) -> str:
    """Replace one JSON string value with another, in their escaped forms."""
    return text.replace(dumps_compact(old).decode(), dumps_compact(new).decode())
