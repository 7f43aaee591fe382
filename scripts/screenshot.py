"""Screenshots of the real window for the README (and the AppStream metadata).

Run under Xvfb with the xcb platform so that the picture is a real framebuffer grab:
    make screenshot
which runs
    xvfb-run -a -s "-screen 0 1480x900x24" env QT_QPA_PLATFORM=xcb \
        .venv/bin/python scripts/screenshot.py packaging/screenshots

It composes an event with a few findings, sends it to the window's own local sandbox (in a
throw-away data folder), and saves the response in the light palette and the sandbox inbox in
the dark one. Last, it sends a short identity story (two visitors become one user, a second
user, a refused alias, a company) and saves the Persons view.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

# What the Persons view shows: a merge, a refused merge (both users are identified) and a group.
STORY = [
    {
        "event": "$pageview",
        "distinct_id": "anon-1",
        "properties": {"$set_once": {"first_url": "/"}},
    },
    {
        "event": "$pageview",
        "distinct_id": "anon-phone",
        "properties": {"$set": {"device": "phone"}},
    },
    {
        "event": "$identify",
        "distinct_id": "ada@example.com",
        "properties": {"$anon_distinct_id": "anon-1", "$set": {"email": "ada@example.com"}},
    },
    {
        "event": "$create_alias",
        "distinct_id": "ada@example.com",
        "properties": {"alias": "anon-phone"},
    },
    {
        "event": "$identify",
        "distinct_id": "bob@example.com",
        "properties": {"$anon_distinct_id": "anon-2", "$set": {"email": "bob@example.com"}},
    },
    {
        "event": "$create_alias",
        "distinct_id": "ada@example.com",
        "properties": {"alias": "bob@example.com"},
    },
    {
        "event": "$groupidentify",
        "distinct_id": "ada@example.com",
        "properties": {
            "$group_type": "company",
            "$group_key": "acme",
            "$group_set": {"name": "Acme", "seats": 12},
        },
    },
]


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "packaging/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="composer-shot-")
    for name in ("CONFIG", "DATA", "CACHE"):
        os.environ.setdefault(f"COMPOSER_{name}_DIR", os.path.join(scratch, name.lower()))
    os.environ.setdefault("COMPOSER_SANDBOX_PORT", "0")

    from composer.app import configure_application, create_main_window
    from composer.core.templates.document import Template
    from composer.services.templates import TemplateStore

    # A small tracking plan, so the templates tab has something of the user's own to show.
    plan = TemplateStore(Path(os.environ["COMPOSER_DATA_DIR"]) / "templates", with_starters=False)
    for folder, name, event in (
        ("billing", "Plan upgraded", {"event": "plan_upgraded", "distinct_id": "{{user}}"}),
        ("billing", "Invoice paid", {"event": "invoice_paid", "distinct_id": "{{user}}"}),
        ("onboarding", "Signed up", {"event": "signed_up", "distinct_id": "{{$random_email}}"}),
    ):
        plan.save_new(Template(name, events=[event], description=f"{name}, from the plan"), folder)
    plan.update_variables({"user": "user-42", "plan": "team"})
    # The example tracking plan, active beside the templates: the findings show what it says.
    from composer.services.plans import example_plan_path

    (plan.root / "tracking-plan.yaml").write_bytes(example_plan_path().read_bytes())
    from composer.ui.palettes import Appearance, apply_appearance

    app = QApplication([])
    configure_application(app)
    window = create_main_window()
    window.setGeometry(0, 0, 1480, 900)
    window.show()
    ws = window.workspace
    # A small batch, one row of which PostHog would drop, so the table shows its verdicts.
    for event in (
        {"event": "signed_up", "distinct_id": "user-41", "properties": {"plan": "free"}},
        {"event": "$pageview", "distinct_id": "user-41", "properties": {"$current_url": "/"}},
        {"event": "invited_teammate", "distinct_id": "", "properties": {"seats": 2}},
        {"event": "invoice_paid", "distinct_id": "user-41", "properties": {"amount": 9}},
    ):
        ws.batch.add_event(event)
    ws.compose.stop_editing_row()
    ws.batch.table.clearSelection()
    ws.form.event_name.setText("plan_upgraded")
    ws.form.distinct_id.setText("user-42")
    ws.form.properties.fill_from_text(
        '{"plan": "team", "seats": 5, "trial": false, "coupon": null,'
        ' "$groups": {"company": "acme"}, "tags": ["beta", "eu"]}'
    )
    ws.form.timestamp.set_text("2022-09-21 09:03:11.913767")
    ws.add_to_batch()
    ws.compose.update_preview()
    shots = [
        (Appearance.LIGHT, out / "window-light.png", ws.response, ws.batch),
        (Appearance.DARK, out / "window-dark.png", ws.inbox, ws.batch),
        (Appearance.LIGHT, out / "window-templates.png", ws.response, ws.templates),
        (Appearance.DARK, out / "window-history.png", ws.response, ws.history),
        (Appearance.LIGHT, out / "window-plan.png", ws.response, ws.plan_panel),
        (Appearance.LIGHT, out / "window-code.png", ws.response, ws.batch),  # the Code tab
        (Appearance.LIGHT, out / "window-persons.png", ws.persons, ws.batch),  # last: it sends
    ]
    # The ordinary laptop sizes issue 16 asks to look at: nothing may be clipped there.
    sizes: dict[Path, tuple[int, int]] = {}
    for width, height in ((1024, 700), (1280, 720)):
        for appearance, tab in ((Appearance.LIGHT, ws.response), (Appearance.DARK, ws.inbox)):
            path = out / f"window-{width}x{height}-{appearance.value}.png"
            sizes[path] = (width, height)
            shots.append((appearance, path, tab, ws.batch))

    def send() -> None:
        if not window.host.text():  # the sandbox is still starting
            QTimer.singleShot(50, send)
            return
        ws.send()

    story_sent: list[bool] = []

    def send_story() -> None:
        import httpx

        body = {"api_key": window.key.text(), "batch": STORY}
        httpx.post(f"{window.host.text()}/batch/", json=body, timeout=10).raise_for_status()

    def ada_row() -> int:
        rows = ws.persons.persons_model.rows
        return next((i for i, r in enumerate(rows) if "anon-phone" in r.distinct_ids), -1)

    def persons_ready() -> bool:
        return ada_row() >= 0 and ws.persons.idle

    def grab_next() -> None:
        if not shots:
            app.quit()
            return
        if shots[0][2] is ws.persons and not persons_ready():
            if not story_sent:
                send_story()
                story_sent.append(True)
            QTimer.singleShot(100, grab_next)
            return
        appearance, path, tab, bottom = shots.pop(0)
        apply_appearance(appearance)
        if path in sizes:
            window.resize(*sizes[path])
            ws.splitter.setSizes([300, 400, 300])  # as on a first start (stretch 3:4:3)
        # The Code tab beside the body: the payload as posthog-python, with its notes.
        code_shot = path.name == "window-code.png"
        ws.preview_tabs.setCurrentWidget(ws.code.view if code_shot else ws.compose.preview_pane)
        if code_shot:
            ws.code.view.set_language("posthog-python")
            ws.compose.middle.setSizes([560, 160])  # room for the code and its notes
        # Rooms built on first use sit in a page of their own: the tab holds the page.
        pages = {id(ws.persons): ws.persons_page, id(ws.history): ws.history_page}
        ws.bottom_tabs.setCurrentWidget(pages.get(id(bottom), bottom))
        ws.compose.update_preview()
        ws.response.show_entry(ws.response.history_model.entries[-1])
        ws.rooms.setCurrentWidget(ws.outer if tab is ws.response else pages.get(id(tab), tab))
        ws.inbox.select_last()
        if tab is ws.persons:
            ws.splitter.setSizes([440, 420, 620])  # room for each property's event
            ws.persons.table.selectRow(ada_row())

        def grab() -> None:
            screen = QGuiApplication.primaryScreen()
            screen.grabWindow(0, 0, 0, window.width(), window.height()).save(str(path))
            print(f"saved {path}")
            grab_next()

        QTimer.singleShot(400, grab)

    def wait_for_answer() -> None:
        ready = ws.compose.plan is not None and ws.plan_panel.idle and ws.templates.loaded
        if ready and ws.response.history_model.rowCount() and ws.inbox.model.rowCount():
            grab_next()
        else:
            QTimer.singleShot(50, wait_for_answer)

    QTimer.singleShot(300, send)
    QTimer.singleShot(400, wait_for_answer)
    code = app.exec()
    window.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
