#!/bin/sh
# Installs the npm packages the JavaScript SDK tests use (tests/js: posthog-node, posthog-js,
# playwright-core) with `npm ci`, exactly as package-lock.json pins them.
# usage: scripts/js-deps.sh
# Idempotent: it does nothing while tests/js/node_modules matches the lockfile (a stamp in
# node_modules holds the lockfile's SHA-256). Without Node (or with one too old for
# posthog-node 5.x) it says so and exits 0: those tests then skip, naming the reason.
# Install scripts are not run (--ignore-scripts): nothing here may download a browser; the tests
# use the system's Chromium (Debian's `chromium` package, see scripts/system-deps.sh).
set -eu

cd "$(dirname "$0")/../tests/js"
stamp=node_modules/.js-deps-stamp

if ! command -v node >/dev/null 2>&1; then
  echo "js-deps: node is not installed; the JavaScript SDK tests will be skipped."
  echo "js-deps: install Node 20.20+ (with npm) to run them."
  exit 0
fi
version=$(node -p 'process.versions.node')
if ! node -e '
  const [major, minor] = process.versions.node.split(".").map(Number)
  process.exit((major === 20 && minor >= 20) || (major === 22 && minor >= 22) || major > 22 ? 0 : 1)
'; then
  echo "js-deps: node $version is too old for posthog-node 5.x (needs ^20.20 or >=22.22);"
  echo "js-deps: the JavaScript SDK tests will be skipped."
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "js-deps: node $version has no npm next to it; the JavaScript SDK tests will be skipped."
  exit 0
fi

want=$(sha256sum package-lock.json | cut -d' ' -f1)
have=$(cut -d' ' -f1 "$stamp" 2>/dev/null || true)
if [ -d node_modules ] && [ "$have" = "$want" ]; then
  echo "js-deps: tests/js/node_modules is up to date (node $version)."
  exit 0
fi

if [ -d node_modules ]; then
  echo "js-deps: tests/js/node_modules is older than package-lock.json; reinstalling (npm ci)."
else
  echo "js-deps: installing tests/js/node_modules (npm ci, node $version)."
fi
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
echo "$want  package-lock.json" > "$stamp"
echo "js-deps: installed $(node -p '["posthog-node", "posthog-js", "playwright-core"].map(n => n + "@" + require("./node_modules/" + n + "/package.json").version).join(", ")')."
