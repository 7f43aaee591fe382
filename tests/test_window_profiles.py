"""Profiles in the window, with the real Secret Service (or none, or a broken one)."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QPushButton

from composer.app import create_main_window
from composer.profiles.book import ProfileBook, save_book
from composer.ui import dialogs, names
from composer.ui.main_window import MainWindow
from composer.ui.profiles.dialog import ProfileDialog, ProfileDraft
from tests.conftest import files_containing
from tests.support.fault_server import FaultServer
from tests.window_helpers import by_name

KEY = "phc_window_profile_key_0123456789abcdefgh"


def open_window(qtbot) -> MainWindow:
    window = create_main_window()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.workspace.profiles.loaded, timeout=10000)
    return window


def create_profile(
    qtbot, window: MainWindow, monkeypatch: pytest.MonkeyPatch, draft: ProfileDraft
) -> None:
    monkeypatch.setattr(ProfileDialog, "ask", classmethod(lambda cls, *a, **k: draft))
    window.new_profile_action.trigger()
    combo = by_name(window, QComboBox, names.TARGET)
    qtbot.waitUntil(lambda: combo.currentText().startswith(draft.name), timeout=10000)


def send(qtbot, window: MainWindow, server: FaultServer) -> None:
    before = len(server.requests)
    window.workspace.form.event_name.setText("profile_event")
    window.workspace.form.distinct_id.setText("user-1")
    window.workspace.send()
    qtbot.waitUntil(lambda: len(server.requests) > before, timeout=10000)


def test_a_profile_survives_a_restart_with_its_key_in_the_secret_service(
    qtbot,
    secret_service,
    isolated_dirs: Path,
    fault_server: FaultServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = open_window(qtbot)
    create_profile(
        qtbot, window, monkeypatch, ProfileDraft("Staging", fault_server.url, KEY, "#0a7d32", False)
    )
    qtbot.waitUntil(lambda: len(secret_service.items()) == 1, timeout=10000)
    (item,) = secret_service.items()
    assert orjson.loads(item[1]) == {"host": fault_server.url, "key": KEY}
    assert window.windowTitle() == "Staging — PostHog Event Composer"
    window.close()

    again = open_window(qtbot)
    host = by_name(again, QLineEdit, names.HOST)
    qtbot.waitUntil(lambda: host.text() == fault_server.url, timeout=10000)
    assert by_name(again, QComboBox, names.TARGET).currentText() == "Staging"
    assert by_name(again, QLineEdit, names.API_KEY).text() == KEY
    assert KEY not in again.workspace.preview.toPlainText()  # masked in the preview
    send(qtbot, again, fault_server)
    assert orjson.loads(fault_server.requests[-1].raw_body)["api_key"] == KEY
    again.close()
    assert files_containing(KEY, isolated_dirs, secret_service.home) == []


def test_without_a_keyring_the_key_is_kept_for_the_session_only(
    qtbot, isolated_dirs: Path, fault_server: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    monkeypatch.setattr(dialogs, "confirm", lambda *a: asked.append(a[2]) or True)
    window = open_window(qtbot)
    create_profile(
        qtbot,
        window,
        monkeypatch,
        ProfileDraft("No keyring", fault_server.url, KEY, "#1d4aff", False),
    )
    assert asked
    assert "no keyring" in asked[0]
    assert "for this session only" in asked[0]
    send(qtbot, window, fault_server)
    assert orjson.loads(fault_server.requests[-1].raw_body)["api_key"] == KEY
    window.close()
    assert files_containing(KEY, isolated_dirs) == []

    again = open_window(qtbot)
    banner = by_name(again, QLabel, "Keyring problem")
    qtbot.waitUntil(banner.isVisible, timeout=10000)
    assert "No keyring" in banner.text() or "no keyring" in banner.text()
    assert by_name(again, QPushButton, "Enter host and key for this session").isVisible()
    again.close()


def test_sending_to_production_needs_the_confirmation(
    qtbot, secret_service, fault_server: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = open_window(qtbot)
    create_profile(
        qtbot, window, monkeypatch, ProfileDraft("Prod US", fault_server.url, KEY, "#c62828", True)
    )
    badge = by_name(window, QLabel, names.ACTIVE_PROFILE)
    assert "PRODUCTION" in badge.text()
    asked: list[str] = []
    monkeypatch.setattr(dialogs, "confirm", lambda *a: asked.append(a[2]) or False)
    window.workspace.form.event_name.setText("careful")
    window.workspace.form.distinct_id.setText("user-1")
    window.workspace.send()
    qtbot.wait(200)
    assert fault_server.requests == []
    assert "Send 1 event to the production project “Prod US”" in asked[0]
    assert fault_server.url in asked[0]
    monkeypatch.setattr(dialogs, "confirm", lambda *a: True)
    send(qtbot, window, fault_server)
    assert len(fault_server.requests) == 1
    window.close()


def test_a_hanging_keyring_leaves_the_window_responsive(
    qtbot, secret_service, isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from composer.paths import config_dir
    from composer.profiles.book import profiles_path

    book = ProfileBook()
    book.active = book.add("Stuck").id
    save_book(book, profiles_path(config_dir()))
    secret_service.stop_keyring()
    secret_service.start_stuck_service()
    monkeypatch.setenv("COMPOSER_KEYRING_TIMEOUT", "2")
    window = create_main_window()
    qtbot.addWidget(window)
    window.show()
    # While the keyring call hangs, the window works: typing updates the preview.
    event_name = window.workspace.form.event_name
    qtbot.keyClicks(event_name, "typed_while_waiting")
    window.workspace.compose.update_preview()
    assert '"typed_while_waiting"' in window.workspace.preview.toPlainText()
    banner = by_name(window, QLabel, "Keyring problem", visible=False)
    qtbot.waitUntil(banner.isVisible, timeout=10000)
    assert "did not answer within 2 s" in banner.text()
    window.close()


def test_a_locked_keyring_is_explained(qtbot, secret_service, isolated_dirs: Path) -> None:
    from composer.paths import config_dir
    from composer.profiles.book import profiles_path
    from composer.profiles.secrets import ProfileSecret, SecretStore

    book = ProfileBook()
    book.active = book.add("Locked").id
    save_book(book, profiles_path(config_dir()))
    SecretStore().set(book.active, ProfileSecret("https://eu.i.posthog.com", KEY))
    secret_service.stop_keyring()
    secret_service.start_keyring(None)
    window = open_window(qtbot)
    banner = by_name(window, QLabel, "Keyring problem", visible=False)
    qtbot.waitUntil(banner.isVisible, timeout=10000)
    assert "locked" in banner.text()
    window.close()


def test_switching_and_deleting_profiles(
    qtbot, secret_service, fault_server: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = open_window(qtbot)
    create_profile(
        qtbot, window, monkeypatch, ProfileDraft("One", fault_server.url, KEY, "#1d4aff", False)
    )
    combo = by_name(window, QComboBox, names.TARGET)
    combo.setCurrentIndex(combo.findText("Local sandbox"))
    host = by_name(window, QLineEdit, names.HOST)
    qtbot.waitUntil(lambda: host.text().startswith("http://127.0.0.1"), timeout=10000)
    combo.setCurrentIndex(combo.findText("One"))
    qtbot.waitUntil(lambda: host.text() == fault_server.url, timeout=10000)
    monkeypatch.setattr(dialogs, "confirm", lambda *a: True)
    window.delete_profile_action.trigger()
    qtbot.waitUntil(lambda: combo.findText("One") < 0, timeout=10000)
    qtbot.waitUntil(lambda: secret_service.items() == [], timeout=10000)
    assert combo.currentText() == "Local sandbox"
    window.close()


def test_profile_dialog_checks_key_host_and_connection(qtbot, fault_server: FaultServer) -> None:
    from tests.support.fault_server import Reply

    dialog = ProfileDialog(None, taken=frozenset({"Taken"}))
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.name.setText("Taken")
    dialog.host.setCurrentText("https://us.posthog.com")
    dialog.key.setText("phx_personal_key_123")
    problems = dialog.problems.text()
    assert "already exists" in problems
    assert "personal API key" in problems
    assert "us.i.posthog.com" in problems  # app host: use the ingestion host
    assert not dialog.save_button.isEnabled()
    dialog.name.setText("Fresh")
    dialog.key.setText(KEY)
    assert dialog.save_button.isEnabled()
    dialog.host.setCurrentText(fault_server.url)
    fault_server.queue(
        Reply(400, b"event submitted without a distinct_id", (("Content-Type", "text/plain"),))
    )
    dialog.check_button.click()
    qtbot.waitUntil(lambda: "Nothing was stored" in dialog.connection.text(), timeout=10000)
    probe = orjson.loads(fault_server.requests[-1].raw_body)
    assert probe["api_key"] == KEY
    assert "distinct_id" not in probe["batch"][0]
    fault_server.queue(Reply(401, b"API key is not valid: personal_api_key"))
    dialog.check_button.click()
    qtbot.waitUntil(lambda: "refused the key" in dialog.connection.text(), timeout=10000)
    assert dialog.draft().host == fault_server.url
    dialog.reject()
