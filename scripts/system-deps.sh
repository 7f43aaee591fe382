#!/bin/sh
# Installs the Debian/Ubuntu packages that Qt, the headless test display and the test keyring need.
# usage: scripts/system-deps.sh run|test
#   run   Qt's X11/GL/font libraries, enough to open the window on a desktop
#   test  the same, plus Xvfb (screenshots), D-Bus and gnome-keyring (a private Secret Service),
#         and Chromium for posthog-js
# Packages already present are left alone. Without root or password-less sudo it prints the exact
# apt-get command to run and exits 1. On a system without dpkg it says so and carries on.
set -eu

mode=${1:-test}
runtime="libegl1 libgl1 libfontconfig1 libglib2.0-0 libxkbcommon0 libdbus-1-3 fonts-dejavu-core
 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0
 libxcb-shape0 libxcb-xfixes0 libxcb-xkb1 libxkbcommon-x11-0 libx11-xcb1"
# dbus-x11 is named so that apt satisfies gnome-keyring's session-bus need without systemd.
# chromium runs posthog-js in the real-SDK tests (driven by playwright-core, no browser download).
# curl runs the curl snippets the window and `event-composer code` write (tests/test_snippets_run.py).
# desktop-file-utils and appstream validate the .desktop file and the AppStream metadata
# (tests/test_desktop_integration.py fails without them rather than skipping).
testing="xvfb xauth x11-utils dbus dbus-x11 gnome-keyring libsecret-tools chromium curl
 desktop-file-utils appstream"

case "$mode" in
  run) wanted=$runtime ;;
  test) wanted="$runtime $testing" ;;
  *) echo "usage: $0 run|test" >&2; exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "system-deps: not a Debian-based system; make sure Qt's X11/GL libraries, Xvfb, D-Bus and" >&2
  echo "system-deps: gnome-keyring are installed (see README, 'Other systems')." >&2
  exit 0
fi

# python3 -m venv needs ensurepip, which Debian ships separately as python3.X-venv.
py=${PYTHON:-python3}
if ! "$py" -c 'import ensurepip' >/dev/null 2>&1; then
  ver=$("$py" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
  wanted="$wanted python$ver-venv"
fi

missing=""
for pkg in $wanted; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  case "$status" in
    *" installed") ;;
    *) missing="$missing $pkg" ;;
  esac
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo="sudo"
else
  echo "system-deps: these Debian packages are missing:$missing" >&2
  echo "system-deps: install them, then run the command again:" >&2
  echo "    sudo apt-get update && sudo apt-get install -y --no-install-recommends$missing" >&2
  exit 1
fi

echo "system-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has empty package lists; refresh them once before installing.
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
