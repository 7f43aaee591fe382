#!/bin/sh
# Wraps the onedir bundle (make dist) into an AppImage.
# usage: packaging/linux/appimage/build-appimage.sh [dist/event-composer]
# Needs appimagetool (https://github.com/AppImage/appimagetool) on PATH; without it the AppDir
# is left in build/appimage/ and the script says so (exit 3), since an AppDir is useful on its
# own (`build/appimage/AppDir/AppRun --version`).
# The AppImage runs on systems with a glibc at least as new as the build machine's: build the
# bundle in the oldest distribution you support (see packaging/README.md).
set -eu
bundle=${1:-dist/event-composer}
app_id=io.github.posthog_event_composer
version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' composer/__init__.py)
appdir=build/appimage/AppDir

[ -x "$bundle/event-composer" ] || { echo "appimage: no bundle at $bundle; run make dist" >&2; exit 1; }
rm -rf build/appimage
mkdir -p "$appdir/usr/lib" "$appdir/usr/share/applications" "$appdir/usr/share/metainfo"
cp -a "$bundle" "$appdir/usr/lib/event-composer"
cat >"$appdir/AppRun" <<'RUN'
#!/bin/sh
# The AppImage's entry: the bundle's own executable, with the user's arguments.
here=$(dirname "$(readlink -f "$0")")
exec "$here/usr/lib/event-composer/event-composer" "$@"
RUN
chmod 755 "$appdir/AppRun"
# appimagetool wants the desktop file and the icon at the top of the AppDir too.
cp "packaging/linux/$app_id.desktop" "$appdir/$app_id.desktop"
cp "packaging/linux/$app_id.desktop" "$appdir/usr/share/applications/"
cp "packaging/linux/$app_id.metainfo.xml" "$appdir/usr/share/metainfo/$app_id.appdata.xml"
cp "packaging/icons/hicolor/256x256/apps/$app_id.png" "$appdir/$app_id.png"
for size in 16 32 48 64 128 256; do
  install -D -m 644 "packaging/icons/hicolor/${size}x${size}/apps/$app_id.png" \
    "$appdir/usr/share/icons/hicolor/${size}x${size}/apps/$app_id.png"
done
ln -s "$app_id.png" "$appdir/.DirIcon"

if ! command -v appimagetool >/dev/null; then
  echo "appimage: appimagetool is not installed; the AppDir is in $appdir" >&2
  exit 3
fi
out="dist/PostHog_Event_Composer-$version-$(uname -m).AppImage"
ARCH=$(uname -m) appimagetool --no-appstream "$appdir" "$out"
echo "appimage: $out ($(du -m "$out" | cut -f1) MB)"
