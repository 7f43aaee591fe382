#!/bin/sh
# Installs the TypeScript compiler that type-checks generated tracking code (tests/ts: typescript)
# with `npm ci`, exactly as tests/ts/package-lock.json pins it.
# usage: scripts/ts-deps.sh
# Idempotent: it does nothing while tests/ts/node_modules matches the lockfile (a stamp in
# node_modules holds the lockfile's SHA-256). Without Node or npm it says so and exits 0: the
# `tsc --strict` tests then skip, naming the reason.
# Install scripts are not run (--ignore-scripts); typescript has none.
set -eu

cd "$(dirname "$0")/../tests/ts"
stamp=node_modules/.ts-deps-stamp

if ! command -v node >/dev/null 2>&1; then
  echo "ts-deps: node is not installed; the TypeScript code generation tests will be skipped."
  exit 0
fi
version=$(node -p 'process.versions.node')
if ! command -v npm >/dev/null 2>&1; then
  echo "ts-deps: node $version has no npm next to it; the TypeScript tests will be skipped."
  exit 0
fi

want=$(sha256sum package-lock.json | cut -d' ' -f1)
have=$(cut -d' ' -f1 "$stamp" 2>/dev/null || true)
if [ -d node_modules ] && [ "$have" = "$want" ]; then
  echo "ts-deps: tests/ts/node_modules is up to date (node $version)."
  exit 0
fi

if [ -d node_modules ]; then
  echo "ts-deps: tests/ts/node_modules is older than package-lock.json; reinstalling (npm ci)."
else
  echo "ts-deps: installing tests/ts/node_modules (npm ci, node $version)."
fi
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
echo "$want  package-lock.json" > "$stamp"
echo "ts-deps: installed typescript@$(node -p 'require("./node_modules/typescript/package.json").version')."
