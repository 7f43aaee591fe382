"""Running the TypeScript compiler that scripts/ts-deps.sh installs into tests/ts/node_modules.

Without Node or the package the tests that need it are skipped with the command that fixes it
(with COMPOSER_REQUIRE_JS=1 they fail instead, as the JavaScript SDK tests do).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TS_DIR = ROOT / "tests" / "ts"
TSC = TS_DIR / "node_modules" / "typescript" / "bin" / "tsc"
STAMP = TS_DIR / "node_modules" / ".ts-deps-stamp"
JS_MODULES = ROOT / "tests" / "js" / "node_modules"  # posthog-js, posthog-node (js-deps.sh)
REQUIRE_ENV = "COMPOSER_REQUIRE_JS"


def missing_tsc_reason() -> str | None:
    if shutil.which("node") is None:
        return "node is not on PATH: the tsc tests need Node, then `sh scripts/ts-deps.sh`"
    try:
        fresh = (
            STAMP.read_text().split()[0]
            == hashlib.sha256((TS_DIR / "package-lock.json").read_bytes()).hexdigest()
        )
    except (OSError, IndexError):
        fresh = False
    if not TSC.is_file() or not fresh:
        return "tests/ts/node_modules is missing or older than its lockfile: sh scripts/ts-deps.sh"
    return None


def require_tsc() -> None:
    reason = missing_tsc_reason()
    if reason is not None:
        if os.environ.get(REQUIRE_ENV, "") not in ("", "0"):
            pytest.fail(reason)
        pytest.skip(reason)


def sdk_types_available() -> bool:
    """posthog-js and posthog-node are installed (their .d.ts files type the usage checks)."""
    return all(
        (JS_MODULES / name / "package.json").is_file() for name in ("posthog-js", "posthog-node")
    )


def run_tsc(
    folder: Path, files: list[str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`tsc --strict --noEmit` (and stricter options users turn on) over `files` in `folder`,
    in one run: starting the compiler is most of its cost."""
    node = shutil.which("node")
    assert node is not None
    if sdk_types_available() and not (folder / "node_modules").exists():
        (folder / "node_modules").symlink_to(JS_MODULES, target_is_directory=True)
    config = {
        "compilerOptions": {
            "strict": True,
            "noEmit": True,
            "target": "ES2022",
            "module": "ESNext",
            "moduleResolution": "Bundler",
            "lib": ["ES2022", "DOM"],
            "types": [],
            "skipLibCheck": True,
            "noUncheckedIndexedAccess": True,
            "exactOptionalPropertyTypes": True,
            "noUnusedLocals": True,
            "noUnusedParameters": True,
            "noImplicitReturns": True,
            "noPropertyAccessFromIndexSignature": True,
            "erasableSyntaxOnly": True,
            "verbatimModuleSyntax": True,
        },
        "files": files,
    }
    import json

    (folder / "tsconfig.json").write_text(json.dumps(config, indent=2))
    return subprocess.run(
        [node, str(TSC), "-p", str(folder / "tsconfig.json"), "--pretty", "false"],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=folder,
    )
