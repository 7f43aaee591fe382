"""What a draft keeps of the form: every field and every row as typed, invalid ones included.

Rows are kept as [key, type, text] lists, with a fourth item `true` for a row whose type
still follows its value (a new row nobody picked a type for).
"""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

from composer.core.compose.payloads import PayloadKind, build_event, composition_from_event
from composer.core.compose.values import PropertyRow, ValueType
from composer.ui.compose.form import ComposeForm

_TYPES = frozenset(t.value for t in ValueType)


def form_state(form: ComposeForm) -> dict[str, Any]:
    """Everything the form holds, rows that are not valid yet included."""
    return {
        "kind": form.current_kind().value,
        "endpoint": form.endpoint.currentText(),
        "automatic_uuid": form.uuid_auto.isChecked(),
        "event": build_event(form.composition()),
        "rows": {
            name: [
                [r.key, r.type.value, r.text, *([True] if r.auto_type else [])]
                for r in editor.model.rows()
            ]
            for name, editor in form.editors().items()
        },
    }


def restore_form_state(form: ComposeForm, state: dict[str, Any]) -> None:
    """Show a saved state; unknown or damaged parts are skipped, never fatal."""
    event = state.get("event")
    if isinstance(event, dict):
        form.set_composition(composition_from_event(event))
    kind = state.get("kind")
    if kind in {k.value for k in PayloadKind}:
        form.set_kind(PayloadKind(kind))
    endpoint = state.get("endpoint")
    if isinstance(endpoint, str) and endpoint:
        form.endpoint.setCurrentText(endpoint)
    rows = state.get("rows")
    if isinstance(rows, dict):
        for name, editor in form.editors().items():
            saved = rows.get(name)
            if isinstance(saved, list):
                editor.model.set_rows([row for r in saved if (row := _row(r)) is not None])
    if state.get("automatic_uuid") is True:
        form.uuid_auto.setChecked(True)
        form.uuid.setText(str(uuidlib.uuid4()))
    form.update_tab_titles()
    form.edited.emit()


def _row(saved: object) -> PropertyRow | None:
    if not isinstance(saved, list) or len(saved) not in (3, 4) or saved[1] not in _TYPES:
        return None
    return PropertyRow(str(saved[0]), ValueType(saved[1]), str(saved[2]), saved[3:] == [True])
