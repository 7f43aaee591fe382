"""Background work in the window's process gives the GUI thread turns at the interpreter lock:
the batch draft's write stops for a send that starts (and the draft on disk stays whole), and
the inbox's reading and the draft's encoding pause between slices of a thousand."""

from __future__ import annotations

from pathlib import Path

import pytest

from composer.core.batch.rows import BatchRow
from composer.services.drafts import DraftRow, DraftStore
from composer.ui import drafts as ui_drafts


def rows(n: int, name: str) -> list[BatchRow]:
    return [BatchRow.of({"event": name, "distinct_id": f"u{i}"}) for i in range(n)]


def test_a_draft_write_stops_for_a_send_and_keeps_the_old_draft(tmp_path: Path) -> None:
    store = DraftStore(tmp_path / "drafts")
    store.save_batch([DraftRow({"event": "kept", "distinct_id": "u"}, "", "")])
    before = store.batch_path.read_bytes()
    # A send (or a check) started while the draft was being written.
    with pytest.raises(ui_drafts._Yielded):
        ui_drafts._save_rows(store, rows(3000, "newer"), (), lambda: True)
    assert store.batch_path.read_bytes() == before
    ui_drafts._save_rows(store, rows(3000, "newer"), (), lambda: False)
    assert store.batch_path.read_bytes().count(b'"newer"') == 3000


def test_the_draft_encoding_pauses_between_slices(tmp_path: Path) -> None:
    store = DraftStore(tmp_path / "drafts")
    pauses: list[int] = []
    drafts = [DraftRow({"event": "e", "distinct_id": f"u{i}"}, "", "") for i in range(2500)]
    store.save_batch(drafts, pause=lambda: pauses.append(1))
    assert len(pauses) == 11  # every 250 rows encoded (9), every thousand masked (2)
    assert store.batch_path.read_bytes().count(b'"event":"e"') == 2500


def test_reading_the_inbox_pauses_between_slices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from composer.ui import turns
    from composer.ui.sandbox.inbox import _read_new
    from tests.support.inbox import fill_inbox

    db = tmp_path / "inbox.sqlite3"
    fill_inbox(db, 2_500)
    pauses: list[int] = []
    monkeypatch.setattr(turns, "give", lambda: pauses.append(1))
    rows, _last, _plan, _more = _read_new(str(db), 0, None)
    assert len(rows) == 2_500
    # Two pauses while the events are made, two while the rows are checked.
    assert len(pauses) == 4


def test_the_inbox_reads_a_backlog_slower_while_the_window_sends(
    qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:
    from composer.ui.sandbox import inbox

    pane = inbox.InboxPane()
    qtbot.addWidget(pane)
    delays: list[int] = []
    monkeypatch.setattr(inbox.QTimer, "singleShot", lambda ms, _slot: delays.append(ms))
    backlog = ([], 0, None, True)  # nothing new in this helping, and more to read
    pane._polling = True
    pane._on_polled(0, backlog)
    pane.busy = lambda: True  # the batch is being sent
    pane._polling = True
    pane._on_polled(0, backlog)
    assert delays == [inbox.BACKLOG_POLL_MS, inbox.BUSY_BACKLOG_POLL_MS]
