"""Render the app icon (resources/icons/app.svg) into every file a desktop needs.

usage: python scripts/render_icons.py [OUT_DIR]   (default packaging/icons; make icons)

Writes, all named by the app id so desktops find them through the .desktop file's Icon=:
  hicolor/scalable/apps/ID.svg             the master, copied
  hicolor/NxN/apps/ID.png                  N = 16, 32, 48, 64, 128, 256 (Linux icon theme)
  ID.ico                                   16...256 in one file (Windows exe and installer)
  ID.icns                                  16...1024 (macOS .app)
The PNGs are rendered by Qt's own SVG renderer (QtSvg ships in PySide6-Essentials), so no
ImageMagick, rsvg or Pillow is needed, and the icon in the window and on the desktop match.
ICO and ICNS files hold PNGs as they are (Vista+ and OS X 10.7+ read them), so writing them
is a header and a table of offsets.
"""

from __future__ import annotations

import os
import shutil
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP_ID = "io.github.posthog_event_composer"
SOURCE = ROOT / "resources" / "icons" / "app.svg"
HICOLOR_SIZES = (16, 32, 48, 64, 128, 256)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# ICNS chunk types that hold PNG data, by pixel size (Apple's "icp4"... "ic10").
ICNS_TYPES = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"icp6", 64),
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic09", 512),
    (b"ic10", 1024),
)


def render_png(svg: Path, size: int) -> bytes:
    """The SVG drawn at size x size pixels, antialiased, on a transparent background."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"render_icons: {svg} is not an SVG Qt can read")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(0)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


def ico(pngs: dict[int, bytes]) -> bytes:
    """An ICO file whose entries are PNG images (a size of 256 is written as 0)."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = 6 + 16 * len(sizes)
    table = b""
    for size in sizes:
        dim = 0 if size >= 256 else size
        table += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(pngs[size]), offset)
        offset += len(pngs[size])
    return header + table + b"".join(pngs[size] for size in sizes)


def icns(pngs: dict[int, bytes]) -> bytes:
    """An ICNS file of PNG chunks: 'icns', the total length, then type + length + data each."""
    chunks = b"".join(
        kind + struct.pack(">I", 8 + len(pngs[size])) + pngs[size] for kind, size in ICNS_TYPES
    )
    return b"icns" + struct.pack(">I", 8 + len(chunks)) + chunks


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else ROOT / "packaging" / "icons"
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    # A QGuiApplication, because QPainter on a QImage needs the font and raster setup it makes.
    app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    sizes = sorted({*HICOLOR_SIZES, *ICO_SIZES, *(size for _kind, size in ICNS_TYPES)})
    pngs = {size: render_png(SOURCE, size) for size in sizes}
    scalable = out / "hicolor" / "scalable" / "apps"
    scalable.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SOURCE, scalable / f"{APP_ID}.svg")
    for size in HICOLOR_SIZES:
        folder = out / "hicolor" / f"{size}x{size}" / "apps"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{APP_ID}.png").write_bytes(pngs[size])
    (out / f"{APP_ID}.ico").write_bytes(ico({s: pngs[s] for s in ICO_SIZES}))
    (out / f"{APP_ID}.icns").write_bytes(icns(pngs))
    del app
    print(f"render_icons: wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
