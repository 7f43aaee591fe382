"""Several composer processes (and windows) writing the same files at once lose nothing.

The CLI runs as `python -m composer` from this checkout (not the console script, which may
belong to another checkout's editable install), with the key on stdin.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from composer.app import create_main_window
from composer.files import write_atomic
from composer.profiles.book import change_book, load_book, profiles_path
from composer.ui.main_window import MainWindow
from tests.conftest import ROOT, cli_env

KEY = "phc_concurrency_key_0123456789abcdefghijk"
WRITERS = 10


def environment(tmp_path: Path) -> dict[str, str]:
    env = cli_env({k: v for k, v in os.environ.items() if not k.startswith("POSTHOG_")})
    if "DBUS_SESSION_BUS_ADDRESS" not in env:  # the secret_service fixture sets its own HOME
        env["HOME"] = str(tmp_path / "home")  # and no other test uses the developer's
    return env


def composer(*args: str) -> list[str]:
    return [sys.executable, "-m", "composer", *args]


def run_together(tmp_path: Path, commands: list[list[str]], stdin: list[bytes]) -> list[str]:
    """Start every command, let each get as far as waiting for its stdin (each has read the
    profile list by then), then give them all their input at once and wait for all."""
    env = environment(tmp_path)
    logs = tmp_path / "logs"
    logs.mkdir(exist_ok=True)
    started = []
    for number, command in enumerate(commands):
        read, write = os.pipe()
        out = (logs / f"{number}.out").open("wb")
        proc = subprocess.Popen(
            command, stdin=read, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT
        )
        os.close(read)
        out.close()
        started.append((proc, write))
    time.sleep(2.0)  # python's start-up and the profile list read, in every process
    for (_proc, write), data in zip(started, stdin, strict=True):
        os.write(write, data)
        os.close(write)
    outputs = []
    for number, (proc, _write) in enumerate(started):
        try:
            proc.wait(timeout=90)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        output = (logs / f"{number}.out").read_text()
        assert proc.returncode == 0, output
        outputs.append(output)
    return outputs


def add_ten(tmp_path: Path) -> list[str]:
    commands = [composer("profile", "add", f"Writer {n}", "--host", "eu") for n in range(WRITERS)]
    keys = [f"{KEY[:-2]}{n:02d}\n".encode() for n in range(WRITERS)]
    return run_together(tmp_path, commands, keys)


@pytest.mark.slow
def test_ten_concurrent_profile_adds_keep_ten_profiles_and_keys_in_the_keyring(
    secret_service, isolated_dirs: Path, tmp_path: Path
) -> None:
    outputs = add_ten(tmp_path)
    assert all("Saved profile" in out for out in outputs)
    book = load_book(profiles_path(isolated_dirs / "config"))
    assert sorted(p.name for p in book.profiles) == [f"Writer {n}" for n in range(WRITERS)]
    secrets = {user: json.loads(secret) for user, secret in secret_service.items()}
    assert set(secrets) == {p.id for p in book.profiles}  # one entry per profile, by its id
    assert sorted(s["key"] for s in secrets.values()) == [
        f"{KEY[:-2]}{n:02d}" for n in range(WRITERS)
    ]


@pytest.mark.slow
def test_ten_concurrent_profile_adds_keep_ten_keys_in_the_plaintext_file(
    isolated_dirs: Path, tmp_path: Path
) -> None:
    switched = subprocess.run(
        composer("profile", "storage", "plaintext"),
        env=environment(tmp_path),
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    assert switched.returncode == 0, switched.stderr
    add_ten(tmp_path)
    config = isolated_dirs / "config"
    book = load_book(profiles_path(config))
    assert len(book.profiles) == WRITERS
    keys = orjson.loads((config / "keys-plaintext.json").read_bytes())
    assert set(keys) == {p.id for p in book.profiles}
    assert (config / "keys-plaintext.json").stat().st_mode & 0o777 == 0o600
    listing = subprocess.run(
        composer("profile", "list", "--format", "json"),
        env=environment(tmp_path),
        cwd=ROOT,
        capture_output=True,
        check=True,
    )
    rows = orjson.loads(listing.stdout)["profiles"]
    assert [r["keys"] for r in rows if r["name"].startswith("Writer")] == ["plaintext"] * WRITERS


# -- settings and variables from several processes ------------------------------------------

_SETTINGS_WRITER = """
import sys
from composer import settings
field = sys.argv[1]
for line in sys.stdin:
    trial = int(line)
    value = trial + 1 if field == "history_days" else f"{field}-{trial}"
    settings.update(**{field: value})
    print("done", flush=True)
"""


def test_settings_changed_by_three_processes_at_once_keep_every_change(
    isolated_dirs: Path, tmp_path: Path
) -> None:
    from composer import settings

    fields = ("templates_dir", "history_days", "plan_file")
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _SETTINGS_WRITER, field],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=environment(tmp_path),
            cwd=ROOT,
            text=True,
        )
        for field in fields
    ]
    try:
        for trial in range(15):
            settings.save(settings.Settings())  # every field back to its default
            for proc in writers:  # all three change their setting at the same moment
                assert proc.stdin is not None
                proc.stdin.write(f"{trial}\n")
                proc.stdin.flush()
            for proc in writers:
                assert proc.stdout is not None
                assert proc.stdout.readline().strip() == "done"
            now = settings.load().settings
            assert (now.templates_dir, now.history_days, now.plan_file) == (
                f"templates_dir-{trial}",
                trial + 1,
                f"plan_file-{trial}",
            ), f"trial {trial} lost a change"
    finally:
        for proc in writers:
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait(timeout=30)
            if proc.stdout is not None:
                proc.stdout.close()


_VARIABLES_WRITER = """
import sys
from pathlib import Path
from composer.services.templates import TemplateStore
store = TemplateStore(Path(sys.argv[1]), with_starters=False)
writer = sys.argv[2]
sys.stdin.readline()
for n in range(25):
    store.update_variables({f"{writer}_{n}": n})
"""


def test_variables_changed_by_four_processes_at_once_keep_every_change(tmp_path: Path) -> None:
    from composer.services.templates import TemplateStore

    folder = tmp_path / "templates"
    folder.mkdir()
    writers = [f"w{n}" for n in range(4)]
    commands = [[sys.executable, "-c", _VARIABLES_WRITER, str(folder), w] for w in writers]
    run_together(tmp_path, commands, [b"go\n"] * len(writers))
    variables = TemplateStore(folder, with_starters=False).variables()
    assert variables == {f"{w}_{n}": n for w in writers for n in range(25)}


def test_a_damaged_settings_file_is_kept_and_never_written_over(isolated_dirs: Path) -> None:
    from composer import settings

    path = settings.settings_path()
    write_atomic(path, b"{not json")
    changed = settings.update(history_days=7)
    assert changed.history_days == 7
    (aside,) = path.parent.glob("settings.json.corrupt-*")
    assert aside.read_bytes() == b"{not json"


def test_read_modify_write_writes_nothing_when_the_change_fails_and_names_a_held_lock(
    tmp_path: Path,
) -> None:
    from composer.files import LockTimeout, locked, read_modify_write

    path = tmp_path / "state.json"
    path.write_bytes(b"before")

    def refuse(current: bytes | None) -> tuple[bytes | None, None]:
        assert current == b"before"
        raise ValueError("damaged")

    with pytest.raises(ValueError, match="damaged"):
        read_modify_write(path, refuse)
    assert path.read_bytes() == b"before"
    assert read_modify_write(path, lambda current: (b"after", len(current or b""))) == 6
    assert path.read_bytes() == b"after"

    holder = subprocess.Popen(  # another process holds the lock
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from composer.files import locked\n"
            "with locked(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(30)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=environment(tmp_path),
        cwd=ROOT,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockTimeout, match=r"state\.json.lock\) for 0\.2 s; try again"):
            read_modify_write(path, lambda _c: (b"never", None), timeout=0.2)
        assert path.read_bytes() == b"after"
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    with locked(path, timeout=5):  # the OS let go of the killed holder's lock
        pass


def test_draft_slots_skip_a_live_window_and_adopt_the_newest_orphan(tmp_path: Path) -> None:
    from composer.services.drafts import DraftRow, DraftSlots

    slots = DraftSlots(tmp_path / "drafts")
    one = slots.claim()
    two = slots.claim()
    assert (one.number, two.number) == (1, 2)  # slot 1 is held by a live window
    assert one.store.folder == tmp_path / "drafts"  # where drafts were before slots
    one.store.save_batch([DraftRow({"event": "a", "distinct_id": "u"})])
    two.store.save_composition({"form": {}})
    assert slots.waiting(but=0) == []  # both windows are alive
    two.release()
    (waiting,) = slots.waiting(but=1)
    assert (waiting.number, waiting.composition, waiting.rows) == (2, True, 0)
    one.release()
    os.utime(one.store.batch_path, (time.time() + 60, time.time() + 60))
    newest = slots.claim()
    assert newest.number == 1  # both are orphans; the newer drafts first
    (other,) = slots.waiting(but=newest.number)
    assert other.number == 2
    second = slots.claim()  # (kept: a slot let go of by the garbage collector is free again)
    assert second.number == 2
    empty = slots.claim()
    assert empty.number == 3
    empty.store.save_batch([DraftRow({"event": "b", "distinct_id": "u"})])
    empty.store.save_batch([])  # emptied again
    empty.release()
    assert not empty.store.folder.exists()  # an empty slot leaves no folder behind
    newest.release()
    second.release()


# -- profile list says where the keys really are ---------------------------------------------


def test_profile_list_says_which_keys_are_in_the_keyring_and_which_are_missing(
    run_cli, secret_service, isolated_dirs: Path
) -> None:
    added = run_cli("profile", "add", "Stored", "--host", "eu", stdin=(KEY + "\n").encode())
    assert added.returncode == 0, added.stderr
    # A profile whose keyring entry is gone (deleted by hand, or a keyring reset).
    path = profiles_path(isolated_dirs / "config")
    change_book(path, lambda book: book.add("Lost"))

    listing = run_cli("profile", "list", "--format", "json")
    assert listing.returncode == 0, listing.stderr
    rows = {r["name"]: r for r in orjson.loads(listing.stdout)["profiles"]}
    assert rows["Stored"]["keys"] == "keyring"
    assert rows["Stored"]["keys_problem"] == ""
    assert rows["Lost"]["keys"] == "missing"
    assert "not in the system keyring" in rows["Lost"]["keys_problem"]
    assert "profile edit 'Lost' --host URL --new-key" in rows["Lost"]["keys_problem"]
    assert rows["Local sandbox"]["keys"] == "built-in"

    text = run_cli("profile", "list").stdout
    (stored,) = [line for line in text.splitlines() if "Stored" in line]
    (lost,) = [line for line in text.splitlines() if "Lost" in line]
    assert stored.endswith("keys: keyring")
    assert "keys: missing (not in the system keyring" in lost
    assert KEY not in text


def test_profile_list_says_when_the_keyring_cannot_be_read(run_cli, isolated_dirs: Path) -> None:
    change_book(profiles_path(isolated_dirs / "config"), lambda book: book.add("Somewhere"))
    listing = run_cli("profile", "list", "--format", "json")
    (row,) = [r for r in orjson.loads(listing.stdout)["profiles"] if r["name"] == "Somewhere"]
    assert row["keys"] == "unreadable"
    assert "no keyring" in row["keys_problem"]
    assert "keys: unreadable (This system has no keyring" in run_cli("profile", "list").stdout


def test_profile_list_finds_a_key_left_in_the_keyring_after_a_switch_to_plaintext(
    run_cli, secret_service, isolated_dirs: Path
) -> None:
    from composer.profiles.secrets import ProfileSecret, SecretStore

    path = profiles_path(isolated_dirs / "config")
    _book, profile = change_book(path, lambda book: book.add("Left behind"))
    SecretStore().set(profile.id, ProfileSecret("https://eu.i.posthog.com", KEY))
    keys_file = isolated_dirs / "config" / "keys-plaintext.json"

    def plaintext(book) -> None:  # the switch was made, but this key was never moved
        book.plaintext_keys = str(keys_file)

    change_book(path, plaintext)
    listing = run_cli("profile", "list", "--format", "json")
    (row,) = [r for r in orjson.loads(listing.stdout)["profiles"] if r["name"] == "Left behind"]
    assert row["keys"] == "missing"
    assert "it is in the system keyring" in row["keys_problem"]
    assert "profile storage keyring" in row["keys_problem"]


# -- the window writes one change, not its copy of the book ---------------------------------


def open_window(qtbot) -> MainWindow:
    window = create_main_window()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.workspace.profiles.loaded, timeout=10000)
    qtbot.waitUntil(lambda: window.workspace.drafts.restored, timeout=10000)
    return window


def test_the_window_keeps_a_profile_another_process_added(
    qtbot, secret_service, isolated_dirs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtWidgets import QComboBox

    from composer.ui import names
    from composer.ui.profiles.dialog import ProfileDialog, ProfileDraft
    from tests.window_helpers import by_name

    window = open_window(qtbot)
    path = profiles_path(isolated_dirs / "config")
    change_book(path, lambda book: book.add("From the CLI"))  # after the window read the file
    draft = ProfileDraft("From the window", "https://eu.i.posthog.com", KEY, "#0a7d32", False)
    monkeypatch.setattr(ProfileDialog, "ask", classmethod(lambda cls, *a, **k: draft))
    window.new_profile_action.trigger()
    combo = by_name(window, QComboBox, names.TARGET)
    qtbot.waitUntil(lambda: combo.currentText() == "From the window", timeout=10000)
    book = load_book(path)
    assert sorted(p.name for p in book.profiles) == ["From the CLI", "From the window"]
    assert book.active_profile().name == "From the window"
    assert combo.findText("From the CLI") >= 0  # the window shows the file as it is now
    # Switching writes only the active profile: the CLI's newer change survives it too.
    change_book(path, lambda book: book.add("Later"))
    combo.setCurrentIndex(combo.findText("Local sandbox"))
    qtbot.waitUntil(lambda: combo.findText("Later") >= 0, timeout=10000)
    book = load_book(path)
    assert sorted(p.name for p in book.profiles) == ["From the CLI", "From the window", "Later"]
    assert book.active == "sandbox"
    window.close()


def test_a_corrupt_profile_list_is_kept_when_the_window_writes(qtbot, isolated_dirs: Path) -> None:
    path = profiles_path(isolated_dirs / "config")
    write_atomic(path, b'{"profiles": [')
    window = open_window(qtbot)
    window.workspace.profiles.switch("sandbox")
    qtbot.waitUntil(lambda: list(path.parent.glob("profiles.json.corrupt-*")) != [], timeout=5000)
    (aside,) = path.parent.glob("profiles.json.corrupt-*")
    assert aside.read_bytes() == b'{"profiles": ['
    window.close()


# -- two windows, two drafts -----------------------------------------------------------------


def batch_names(window: MainWindow) -> list[str]:
    return [row.name for row in window.workspace.batch.model.rows]


def edit(window: MainWindow, name: str) -> None:
    window.workspace.batch.add_event({"event": f"row_of_{name}", "distinct_id": "u"})
    window.workspace.form.event_name.setText(f"typing_in_{name}")


def test_two_windows_keep_two_batch_drafts_and_two_compositions(qtbot) -> None:
    first, second = open_window(qtbot), open_window(qtbot)
    slots = (first.workspace.drafts.slot, second.workspace.drafts.slot)
    assert slots[0] is not None
    assert slots[1] is not None
    assert slots[0].number != slots[1].number
    edit(first, "first")
    edit(second, "second")
    first.close()
    second.close()

    again = [open_window(qtbot), open_window(qtbot)]
    restored = sorted((w.workspace.form.event_name.text(), batch_names(w)) for w in again)
    assert restored == [
        ("typing_in_first", ["row_of_first"]),  # each window's draft whole, not mixed
        ("typing_in_second", ["row_of_second"]),
    ]
    for window in again:
        window.close()


def test_one_window_offers_the_other_draft_and_a_new_window_opens_it(
    qtbot, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = open_window(qtbot), open_window(qtbot)
    edit(first, "first")
    edit(second, "second")
    first.close()
    second.close()

    messages: list[str] = []
    monkeypatch.setattr(MainWindow, "show_message", lambda self, text, ms=0: messages.append(text))
    alone = open_window(qtbot)
    qtbot.waitUntil(lambda: any("draft is waiting" in m for m in messages), timeout=5000)
    (offer,) = [m for m in messages if "draft is waiting" in m]
    assert "a composition and 1 batch row" in offer
    assert "File → New window" in offer
    other = alone.open_new_window()
    qtbot.addWidget(other)
    qtbot.waitUntil(lambda: other.ready and other.workspace.drafts.restored, timeout=10000)
    restored = sorted(batch_names(w) for w in (alone, other))
    assert restored == [["row_of_first"], ["row_of_second"]]
    alone.close()
    other.close()


_KEPT_WINDOW = """
import sys, time
from PySide6.QtWidgets import QApplication
from composer.app import configure_application, create_main_window
app = QApplication([])
configure_application(app)
window = create_main_window()
window.show()
def wait(predicate, timeout=15.0):
    end = time.monotonic() + timeout
    while not predicate():
        app.processEvents()
        time.sleep(0.01)
        if time.monotonic() > end:
            sys.exit("timed out")
wait(lambda: window._workspace is not None and window.workspace.drafts.restored)
ws = window.workspace
ws.batch.add_event({"event": "row_of_killed", "distinct_id": "u"})
ws.drafts.save_batch()
wait(lambda: ws.drafts.store.batch_path.exists())
print("saved", flush=True)
while True:
    app.processEvents()
    time.sleep(0.05)
"""


def test_a_live_window_keeps_its_draft_and_a_killed_one_is_adopted(qtbot, tmp_path: Path) -> None:
    env = dict(environment(tmp_path), QT_QPA_PLATFORM="offscreen")
    with subprocess.Popen(
        [sys.executable, "-c", _KEPT_WINDOW], stdout=subprocess.PIPE, env=env, text=True, cwd=ROOT
    ) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "saved"
            # The other window is alive: its draft is not this window's to take.
            here = open_window(qtbot)
            assert batch_names(here) == []
            edit(here, "here")
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == -signal.SIGKILL

    adopter = open_window(qtbot)  # the killed window's slot is an orphan now
    assert batch_names(adopter) == ["row_of_killed"]
    here.close()
    adopter.close()

    again = [open_window(qtbot), open_window(qtbot)]
    assert sorted(batch_names(w) for w in again) == [["row_of_here"], ["row_of_killed"]]
    for window in again:
        window.close()
