"""Rows added to the batch from elsewhere: a template's events, and copies of selected rows.
Undoable, and checked as they come in (the panel's verify, or at once for a few)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QWidget

from composer.core.batch.rows import BatchRow, check_rows, new_uuid
from composer.core.jsonio import JsonObject
from composer.core.plans.model import Plan
from composer.core.templates.variables import Resolver
from composer.ui import dialogs
from composer.ui.batch.model import AddRows, BatchModel, RemoveRows


class Panel(Protocol):
    """What of the batch panel these use (the panel itself: no import of it here)."""

    model: BatchModel
    undo: QUndoStack
    plan_provider: Callable[[], Plan | None]

    def verify(self, rows: Sequence[BatchRow]) -> None: ...

    def resolver(self) -> Resolver | None: ...


ADD = "Add to the batch"
REPLACE = "Replace the batch"


def add_template_events(
    panel: Panel, parent: QWidget, events: Sequence[JsonObject], label: str
) -> None:
    """A template's events; with rows already in the batch, ask whether to add or replace."""
    model, undo = panel.model, panel.undo
    taken = set(model.uuids())
    rows = []
    for event in events:
        row = BatchRow.of(dict(event))
        # A uuid the batch has already: the template's event is another one, with its own.
        rows.append(
            row if row.uuid not in taken else BatchRow.of({**row.event, "uuid": new_uuid()})
        )
    if model.rows:
        answer = dialogs.choose(
            parent,
            "The batch has rows",
            f"Add the {len(rows)} events of {label} to the {len(model.rows):,} rows"
            " already in the batch, or replace them?",
            [ADD, REPLACE],
        )
        if answer is None:
            return
        if answer == REPLACE:
            undo.beginMacro(f"Replace the batch with {label}")
            undo.push(RemoveRows(model, model.uuids()))
            undo.push(AddRows(model, rows, None, f"Add {label}"))
            undo.endMacro()
            panel.verify(rows)
            return
    undo.push(AddRows(model, rows, None, f"Add {label}"))
    panel.verify(rows)


def duplicate_rows(panel: Panel, uuids: Sequence[str]) -> None:
    """Copies of these rows (each with a uuid of its own), after the last of them."""
    model = panel.model
    copies = []
    for uuid in uuids:
        source = model.row(uuid)
        if source is not None:
            event = {k: v for k, v in source.event.items() if k != "uuid"}
            copies.append(BatchRow.of(event))
    if not copies:
        return
    check_rows(copies, resolver=panel.resolver(), plan=panel.plan_provider())
    last = max(p for u in uuids if (p := model.position(u)) is not None)
    label = f"Duplicate {len(copies)} row{'s' * (len(copies) != 1)}"
    panel.undo.push(AddRows(model, copies, last + 1, label))
