"""What `make run` and `make test` install: the window's users get the runtime dependencies
only; the test extras (pytest, ruff, mypy, the SDKs) come with `make test`."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import ROOT


def planned(target: str, venv: Path) -> str:
    # make -n prints the commands without running them; a fresh VENV makes every step due.
    result = subprocess.run(
        ["make", "-n", target, f"VENV={venv}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def test_make_run_installs_only_runtime_dependencies(tmp_path: Path) -> None:
    run = planned("run", tmp_path / "venv")
    assert f"scripts/venv.sh {tmp_path / 'venv'} run" in run
    assert " test" not in run.split("venv.sh", 1)[1].splitlines()[0]
    test = planned("test", tmp_path / "venv")
    assert f"scripts/venv.sh {tmp_path / 'venv'} test" in test
    script = (ROOT / "scripts" / "venv.sh").read_text()
    assert 'run) target="." ;;' in script
    assert 'test) target=".[test]" ;;' in script
