"""The Persons view: the persons and groups the window's own sandbox made from what the real
posthog-python SDK sent, driven through accessible names."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QAbstractItemModel, Qt
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QTabWidget,
)

from composer.app import create_main_window
from composer.ui import dialogs, names
from composer.ui.main_window import MainWindow
from tests.test_window_sandbox import wait_for_sandbox
from tests.window_helpers import by_name

KEY = "phc_persons_window_test_key_0000000000000"
ADA = "anon-1, ada@example.com, anon-phone"
BOB = "bob@example.com, anon-2"


@pytest.fixture
def window(qtbot) -> Iterator[MainWindow]:
    w = create_main_window()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: w.workspace.profiles.loaded, timeout=10000)
    yield w
    w.close()


def send_story(url: str) -> None:
    """Two visitors become one identified user, a second user identifies, an alias between
    the two identified users is refused, and a company is described."""
    from posthog import Posthog

    client = Posthog(KEY, host=url, sync_mode=True, max_retries=0)
    client.capture(
        "$pageview",
        distinct_id="anon-1",
        properties={"$current_url": "https://example.com/pricing", "$set_once": {"first_url": "/"}},
    )
    client.capture("$pageview", distinct_id="anon-phone", properties={"$set": {"device": "phone"}})
    client.capture(
        "$identify",
        distinct_id="ada@example.com",
        properties={"$anon_distinct_id": "anon-1", "$set": {"email": "ada@example.com"}},
    )
    # posthog-python sends alias() as a $create_alias from `previous_id` with `alias` set to
    # `distinct_id`; PostHog merges the alias's person in, unless it is identified.
    client.alias(previous_id="ada@example.com", distinct_id="anon-phone")  # anonymous: merged
    client.capture(
        "$identify",
        distinct_id="bob@example.com",
        properties={"$anon_distinct_id": "anon-2", "$set": {"email": "bob@example.com"}},
    )
    client.alias(previous_id="ada@example.com", distinct_id="bob@example.com")  # refused
    client.group_identify(
        "company", "acme", {"name": "Acme", "seats": 12}, distinct_id="ada@example.com"
    )
    client.shutdown()


def cells(model: QAbstractItemModel, columns: int | None = None) -> list[tuple[str, ...]]:
    count = model.columnCount() if columns is None else columns
    return [
        tuple(str(model.index(r, c).data() or "") for c in range(count))
        for r in range(model.rowCount())
    ]


def show_tab(tabs: QTabWidget, title: str) -> None:
    index = next(i for i in range(tabs.count()) if tabs.tabText(i).startswith(title))
    tabs.setCurrentIndex(index)


def choose_row(qtbot, table: QTableView, row: int) -> None:
    rect = table.visualRect(table.model().index(row, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_the_window_shows_the_persons_of_a_scripted_sequence_and_a_refused_merge(
    qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.monotonic()
    send_story(wait_for_sandbox(qtbot, window))
    right = by_name(window, QTabWidget, names.ROOMS)
    show_tab(right, "Persons")
    persons = by_name(window, QTableView, names.PERSONS)
    people = persons.model()
    qtbot.waitUntil(
        lambda: cells(people, 2) == [(ADA, "identified"), (BOB, "identified")], timeout=10000
    )
    qtbot.waitUntil(lambda: right.tabText(right.currentIndex()) == "Persons (2)", timeout=5000)

    # Choosing a person shows each property with the event that set it, and its merges.
    choose_row(qtbot, persons, 0)
    details = by_name(window, QTabWidget, names.PERSON_DETAILS)
    summary = by_name(window, QLabel, names.PERSON_SUMMARY).text()
    assert summary.startswith("Identified person, created ")
    assert ADA in summary
    properties = by_name(window, QTableView, names.PERSON_PROPERTIES).model()

    def by_key() -> dict[str, tuple[str, ...]]:
        return {row[0]: row[1:] for row in cells(properties)}

    # Event names are looked up after the person shows: wait for them.
    qtbot.waitUntil(lambda: by_key()["email"] == ("ada@example.com", "$set by #3 $identify"))
    rows = by_key()
    assert rows["first_url"] == ("/", "$set_once by #1 $pageview")
    assert rows["device"] == ("phone", "$set by #2 $pageview")  # came with the merged-in person
    assert rows["$creator_event_uuid"][1] == "created by #1 $pageview"
    assert list(rows)[:3] == ["device", "email", "first_url"]  # the user's own before PostHog's
    show_tab(details, "Merge history (1)")
    merges = by_name(window, QTableView, names.MERGE_HISTORY)
    ((event, person, moved),) = cells(merges.model())
    assert (event, moved) == ("#4 $create_alias", "anon-phone")
    assert person  # the uuid of the person that no longer exists

    # The search narrows the list: by a distinct id, then by a property value.
    search = by_name(window, QLineEdit, names.PERSON_SEARCH)
    qtbot.keyClicks(search, "bob")
    qtbot.waitUntil(lambda: cells(people, 1) == [(BOB,)], timeout=5000)
    assert by_name(window, QLabel, names.PERSONS_COUNT).text() == "1 of 2 match"
    search.clear()
    qtbot.keyClicks(search, "PHONE")  # case does not matter
    qtbot.waitUntil(lambda: cells(people, 1) == [(ADA,)], timeout=5000)
    search.clear()
    qtbot.waitUntil(lambda: people.rowCount() == 2, timeout=5000)

    # The groups, with the event that set each property.
    show_tab(by_name(window, QTabWidget, names.PERSONS_AND_GROUPS), "Groups (1)")
    groups = by_name(window, QTableView, names.GROUPS)
    assert cells(groups.model()) == [("company (0)", "acme", "name: Acme · seats: 12")]
    choose_row(qtbot, groups, 0)
    group_properties = by_name(window, QTableView, names.GROUP_DETAILS).model()
    qtbot.waitUntil(
        lambda: (
            cells(group_properties)
            == [
                ("name", "Acme", "$set by #7 $groupidentify"),
                ("seats", "12", "$set by #7 $groupidentify"),
            ]
        )
    )

    # The inbox row of the refused alias says so, with PostHog's warning name.
    show_tab(right, "Sandbox inbox")
    inbox = by_name(window, QTableView, names.INBOX)
    model = inbox.model()
    (row,) = [
        r for r in range(model.rowCount()) if "refused" in str(model.index(r, 5).data() or "")
    ]
    assert model.index(row, 1).data() == "$create_alias"
    assert "cannot_merge_already_identified" in model.index(row, 5).data()
    tip = model.index(row, 5).data(Qt.ItemDataRole.ToolTipRole)
    assert "PostHog warns: cannot_merge_already_identified" in tip
    assert model.index(row, 5).data(Qt.ItemDataRole.DecorationRole) is not None  # a warning icon
    inbox.selectRow(row)
    person_tab = by_name(window, QPlainTextEdit, "What happened to the person", visible=False)
    assert "cannot_merge_already_identified" in person_tab.toPlainText()

    # Clear inbox resets the persons too, and the view follows.
    monkeypatch.setattr(dialogs, "confirm", lambda *a: True)
    by_name(window, QPushButton, "Clear inbox").click()
    qtbot.waitUntil(lambda: model.rowCount() == 0, timeout=5000)
    show_tab(right, "Persons")
    qtbot.waitUntil(lambda: people.rowCount() == 0, timeout=5000)
    assert groups.model().rowCount() == 0
    assert properties.rowCount() == 0
    assert group_properties.rowCount() == 0
    assert right.tabText(right.currentIndex()) == "Persons"
    assert time.monotonic() - started < 15


def test_a_thousand_refresh_asks_make_two_reads(
    qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a read runs, any number of asks add one read behind it, never one per event."""
    from composer.sandbox.store import SandboxStore
    from composer.ui.persons import panel as panel_module
    from composer.ui.persons.panel import PersonsPanel

    store = SandboxStore(tmp_path / "inbox.sqlite3")
    reads: list[str] = []
    real = panel_module.read_snapshot

    def slow_read(db: str, search: str, limit: int) -> panel_module.Snapshot:
        reads.append(db)
        if len(reads) == 1:
            time.sleep(1.0)  # the asks below all arrive while this read runs
        return real(db, search, limit)

    monkeypatch.setattr(panel_module, "read_snapshot", slow_read)
    view = PersonsPanel()
    qtbot.addWidget(view)
    view.watch(store.path)
    for i in range(1000):
        view.schedule_refresh(i)
        if i % 100 == 0:
            qtbot.wait(30)  # let the coalescing timer fire now and then
    qtbot.waitUntil(lambda: view.idle, timeout=10000)
    QApplication.processEvents()
    assert len(reads) == 2
    assert view.persons_model.rowCount() == 0
    view.shutdown()
    store.close()


def test_the_persons_tab_counts_them_before_the_room_is_first_opened(
    qtbot, window: MainWindow
) -> None:
    ws = window.workspace
    assert not ws.persons_page.built  # built on first use
    assert not ws.history_page.built
    send_story(wait_for_sandbox(qtbot, window))
    right = by_name(window, QTabWidget, names.ROOMS)
    index = right.indexOf(ws.persons_page)
    qtbot.waitUntil(lambda: right.tabText(index) == "Persons (2)", timeout=10000)
    assert not ws.persons_page.built
    show_tab(right, "Persons")  # built now: it counts them itself, to the same figure
    assert ws.persons_page.built
    people = by_name(window, QTableView, names.PERSONS).model()
    qtbot.waitUntil(lambda: people.rowCount() == 2, timeout=10000)
    assert right.tabText(index) == "Persons (2)"
