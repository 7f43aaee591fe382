"""Screenshots of the real window for the README (and the AppStream metadata).

Run under Xvfb with the xcb platform so that the picture is a real framebuffer grab:
    make screenshot
which runs
    xvfb-run -a -s "-screen 0 1480x900x24" env QT_QPA_PLATFORM=xcb \
        .venv/bin/python scripts/screenshot.py packaging/screenshots

It composes an event with a few findings, sends it to a throw-away capture stub on 127.0.0.1,
and saves one picture in the light palette and one in the dark.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication


class _Capture(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"status":"Ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "packaging/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("COMPOSER_CONFIG_DIR", tempfile.mkdtemp(prefix="composer-shot-"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    from composer.app import configure_application, create_main_window
    from composer.ui.palettes import Appearance, apply_appearance

    app = QApplication([])
    configure_application(app)
    window = create_main_window()
    window.setGeometry(0, 0, 1480, 900)
    window.show()
    ws = window.workspace
    window.host.setText(f"http://127.0.0.1:{server.server_address[1]}")
    window.key.setText("phc_Z2ZyZWUtc2NyZWVuc2hvdC1rZXktbm90LXJlYWw")
    ws.form.event_name.setText("plan_upgraded")
    ws.form.distinct_id.setText("user-42")
    ws.form.properties.fill_from_text(
        '{"plan": "team", "seats": 5, "trial": false, "coupon": null,'
        ' "$groups": {"company": "acme"}, "tags": ["beta", "eu"]}'
    )
    ws.form.timestamp.set_text("2022-09-21 09:03:11.913767")
    ws.update_preview()
    shots = [
        (Appearance.LIGHT, out / "window-light.png"),
        (Appearance.DARK, out / "window-dark.png"),
    ]

    def send() -> None:
        ws.send()

    def grab_next() -> None:
        if not shots:
            app.quit()
            return
        appearance, path = shots.pop(0)
        apply_appearance(appearance)
        ws.update_preview()
        ws.response.show_entry(ws.response.history_model.entries[-1])

        def grab() -> None:
            screen = QGuiApplication.primaryScreen()
            screen.grabWindow(0, 0, 0, window.width(), window.height()).save(str(path))
            print(f"saved {path}")
            grab_next()

        QTimer.singleShot(400, grab)

    def wait_for_answer() -> None:
        if ws.response.history_model.rowCount():
            grab_next()
        else:
            QTimer.singleShot(50, wait_for_answer)

    QTimer.singleShot(300, send)
    QTimer.singleShot(400, wait_for_answer)
    code = app.exec()
    server.shutdown()
    return code


if __name__ == "__main__":
    sys.exit(main())
