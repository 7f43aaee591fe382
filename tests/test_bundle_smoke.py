"""The frozen bundle, when one has been built (`make dist`): packaging/smoke_test.py's steps,
each a test. Skipped when dist/event-composer does not exist (building takes minutes and a
download of the Qt wheels; `make dist` runs the same script itself)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import ROOT

BUNDLE = ROOT / "dist" / "event-composer"


def smoke_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "smoke_test", ROOT / "packaging" / "smoke_test.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


smoke = smoke_module()
needs_bundle = pytest.mark.skipif(
    not (BUNDLE / "event-composer").is_file(), reason="no bundle in dist/ (run make dist)"
)


@needs_bundle
@pytest.mark.slow
@pytest.mark.parametrize(("name", "step"), smoke.STEPS, ids=[name for name, _ in smoke.STEPS])
def test_bundle_step(
    name: str, step: Callable[[Path, dict[str, str]], str], tmp_path: Path
) -> None:
    said = step(BUNDLE, smoke.base_env(tmp_path))
    assert said


def test_smoke_script_fails_without_a_bundle(tmp_path: Path) -> None:
    # The script must refuse loudly, not pass, when there is nothing to test.
    result = subprocess.run(
        [sys.executable, str(ROOT / "packaging" / "smoke_test.py"), str(tmp_path / "none")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "does not exist; build the bundle first (make dist)" in result.stderr
