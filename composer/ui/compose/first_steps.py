"""A new form's first steps: what to type first, instead of red errors nobody earned yet.

An empty new form breaks PostHog's rules everywhere (no event name, no distinct ID); showing
that as errors before anyone typed greets a new user with red. Until a field is touched (typed
in, or left) or Send is pressed, findings about an empty field of a new form are held back, and
the check says which fields to fill in first. Anything loaded into the form (a template, a past
send, a batch row) is shown with every finding: it is not new.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from PySide6.QtWidgets import QLineEdit

from composer.core.findings import Finding, Severity
from composer.ui.compose.form import ComposeForm


class FirstSteps:
    def __init__(self, form: ComposeForm) -> None:
        self._form = form
        self._fields: tuple[QLineEdit, ...] = (
            form.event_name,
            form.distinct_id,
            form.anon_id,
            form.alias,
            form.group_type,
            form.group_key,
        )
        self._touched: set[QLineEdit] = set()
        self.fresh = True
        for line in self._fields:
            line.textEdited.connect(partial(self._touch, line))
            line.editingFinished.connect(partial(self._touch, line))

    def _touch(self, line: QLineEdit, *_args: object) -> None:
        self._touched.add(line)

    def reveal(self) -> None:
        """Every finding shows from now on (Send was pressed, or something was loaded)."""
        self.fresh = False

    def restart(self) -> None:
        """A new payload: its empty fields are nobody's mistake yet."""
        self.fresh = True
        self._touched.clear()

    def split(self, findings: Sequence[Finding]) -> tuple[list[Finding], list[str]]:
        """The findings to show, and the names of the empty fields whose findings wait."""
        if not self.fresh:
            return list(findings), []
        shown: list[Finding] = []
        waiting: list[str] = []
        for finding in findings:
            line = self._waiting_field(finding)
            if line is None:
                shown.append(finding)
            elif line.accessibleName() not in waiting:
                waiting.append(line.accessibleName())
        return shown, waiting

    def _waiting_field(self, finding: Finding) -> QLineEdit | None:
        if finding.severity is Severity.INFO or finding.event_index not in (None, 0):
            return None
        widget = self._form.widget_for_path(finding.path)
        if not isinstance(widget, QLineEdit) or widget not in self._fields:
            return None
        if widget in self._touched or widget.text().strip() or not widget.isVisibleTo(self._form):
            return None
        return widget
