"""The files a Linux desktop reads: the .desktop entry, the AppStream metadata and the icons,
checked by the freedesktop validators themselves and installed by `make install-desktop`.

The validators come from Debian's desktop-file-utils and appstream, which `make test` installs
(scripts/system-deps.sh test); a missing tool fails these tests instead of skipping them, so a
broken desktop file cannot pass CI unseen.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from composer import __version__
from tests.conftest import ROOT

APP_ID = "io.github.posthog_event_composer"
DESKTOP = ROOT / "packaging" / "linux" / f"{APP_ID}.desktop"
METAINFO = ROOT / "packaging" / "linux" / f"{APP_ID}.metainfo.xml"
ICONS = ROOT / "packaging" / "icons"
SIZES = (16, 32, 48, 64, 128, 256)
REPO_RAW = "https://raw.githubusercontent.com/posthog-event-composer/posthog-event-composer/main/"
# The freedesktop menu spec's main categories: a desktop file names exactly one.
MAIN_CATEGORIES = {
    "AudioVideo",
    "Audio",
    "Video",
    "Development",
    "Education",
    "Game",
    "Graphics",
    "Network",
    "Office",
    "Science",
    "Settings",
    "System",
    "Utility",
}


def tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed; run scripts/system-deps.sh test (Debian {package})")
    return found


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def desktop_entry(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    assert lines[0] == "[Desktop Entry]"
    return dict(line.split("=", 1) for line in lines[1:] if "=" in line)


def test_desktop_file_is_valid_with_one_main_category() -> None:
    result = run(tool("desktop-file-validate", "desktop-file-utils"), str(DESKTOP))
    assert result.returncode == 0, result.stdout + result.stderr
    assert not result.stdout.strip(), result.stdout  # hints and warnings count as failures too
    entry = desktop_entry(DESKTOP)
    categories = [c for c in entry["Categories"].split(";") if c]
    assert [c for c in categories if c in MAIN_CATEGORIES] == ["Development"]
    assert entry["Icon"] == APP_ID
    assert entry["Exec"] == "event-composer"  # the console script pyproject installs


def test_metainfo_is_valid_and_matches_the_desktop_file() -> None:
    result = run(tool("appstreamcli", "appstream"), "validate", "--no-net", str(METAINFO))
    assert result.returncode == 0, result.stdout + result.stderr
    root = ET.parse(METAINFO).getroot()
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable") == DESKTOP.name
    assert root.findtext("project_license") == "MIT"
    versions = [r.get("version") for r in root.iter("release")]
    assert versions[0] == __version__  # the newest release is the one being built
    images = [i.text or "" for i in root.iter("image")]
    assert images
    for url in images:  # absolute, as software centres fetch them, and real files here
        assert url.startswith(REPO_RAW), url
        assert (ROOT / url.removeprefix(REPO_RAW)).is_file(), url


def test_readme_pictures_are_absolute_links() -> None:
    # PyPI shows README.md without the repository, so relative links there are broken images.
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(([^)\s]+\.png)\)", readme)
    assert links
    for link in links:
        assert link.startswith(REPO_RAW), link
        assert (ROOT / link.removeprefix(REPO_RAW)).is_file(), link


def test_license_is_the_mit_text_the_metadata_names() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License")
    assert 'license = "MIT"' in (ROOT / "pyproject.toml").read_text()


def test_icons_exist_in_every_size_and_regenerate(tmp_path: Path) -> None:
    for size in SIZES:
        data = (ICONS / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png").read_bytes()
        assert png_size(data) == (size, size)
    scalable = ICONS / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    assert scalable.read_bytes() == (ROOT / "resources" / "icons" / "app.svg").read_bytes()
    # The committed files are what the script makes from the SVG today.
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "render_icons.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for size in SIZES:
        made = tmp_path / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        assert png_size(made.read_bytes()) == (size, size)
    ico = (ICONS / f"{APP_ID}.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind, count) == (0, 1, 7)
    for index in range(count):
        width, _h, _c, _r, _p, _bits, length, offset = struct.unpack(
            "<BBBBHHII", ico[6 + 16 * index : 22 + 16 * index]
        )
        assert png_size(ico[offset : offset + length])[0] == (width or 256)
    icns = (ICONS / f"{APP_ID}.icns").read_bytes()
    assert icns[:4] == b"icns"
    assert struct.unpack(">I", icns[4:8])[0] == len(icns)
    position, kinds = 8, []
    while position < len(icns):
        kinds.append(icns[position : position + 4])
        length = struct.unpack(">I", icns[position + 4 : position + 8])[0]
        assert icns[position + 8 : position + 16] == b"\x89PNG\r\n\x1a\n"
        position += length
    assert kinds == [b"icp4", b"icp5", b"icp6", b"ic07", b"ic08", b"ic09", b"ic10"]


def test_make_install_desktop_into_a_prefix(tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    result = subprocess.run(
        ["make", "-s", "install-desktop", f"PREFIX={prefix}", "EXEC=/opt/composer/event-composer"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    share = prefix / "share"
    installed = share / "applications" / DESKTOP.name
    assert desktop_entry(installed)["Exec"] == "/opt/composer/event-composer"
    validated = run(tool("desktop-file-validate", "desktop-file-utils"), str(installed))
    assert validated.returncode == 0, validated.stdout
    assert (share / "metainfo" / METAINFO.name).read_bytes() == METAINFO.read_bytes()
    assert (share / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    for size in SIZES:
        icon = share / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        assert png_size(icon.read_bytes()) == (size, size)
    removed = subprocess.run(
        ["make", "-s", "uninstall-desktop", f"PREFIX={prefix}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert removed.returncode == 0, removed.stderr
    assert not installed.exists()
