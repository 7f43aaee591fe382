#!/bin/sh
# macOS: sign the .app PyInstaller made, notarize it and wrap it in a .dmg.
# Runs on a Mac only (codesign, notarytool, hdiutil); the GitHub Actions workflow runs it.
# usage: packaging/macos/build-dmg.sh
#   without SIGN_IDENTITY the .app is ad-hoc signed and not notarized (a test build: Gatekeeper
#   will warn, and the Keychain asks again after every update, see the platform research)
#   SIGN_IDENTITY="Developer ID Application: ..." NOTARY_PROFILE=name (xcrun notarytool
#   store-credentials) sign, notarize and staple for release
set -eu
app="dist/PostHog Event Composer.app"
version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' composer/__init__.py)
dmg="dist/PostHogEventComposer-$version-$(uname -m).dmg"
[ -d "$app" ] || { echo "dmg: $app missing; run pyinstaller packaging/pyinstaller/event-composer.spec" >&2; exit 1; }

identity=${SIGN_IDENTITY:--}
codesign --force --deep --options runtime --timestamp \
  --entitlements packaging/macos/entitlements.plist --sign "$identity" "$app"
codesign --verify --strict --verbose=2 "$app"

staging=$(mktemp -d)
cp -R "$app" "$staging/"
ln -s /Applications "$staging/Applications"
rm -f "$dmg"
hdiutil create -volname "PostHog Event Composer" -srcfolder "$staging" -ov -format UDZO "$dmg"
rm -rf "$staging"

if [ -n "${NOTARY_PROFILE:-}" ] && [ "$identity" != "-" ]; then
  codesign --force --timestamp --sign "$identity" "$dmg"
  xcrun notarytool submit "$dmg" --keychain-profile "$NOTARY_PROFILE" --wait
  xcrun stapler staple "$dmg"
fi
echo "dmg: $dmg ($(du -m "$dmg" | cut -f1) MB)"
