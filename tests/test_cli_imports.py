"""What a command imports before it does anything: each module costs every run its start-up.

`send FILE` and `validate FILE` read rows, check them and (send) post them; they do not need
the persons pipeline (the window's persons room and `persons simulate` do), httpx's own
command line, or the window. A fresh interpreter imports what the command imports, and the
test names what must not come with it, so a top-level import that drags one in fails here.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

# What `send` and `validate` import on their way to the first event.
COMMAND_MODULES = (
    "composer.cli.main",
    "composer.cli.send",
    "composer.cli.send_batch",
    "composer.cli.validate",
    "composer.cli.validate_stream",
    "composer.services.batch_sender",
    "composer.services.transport",
    "composer.core.batch.rows",
    "composer.core.capture.preflight",
)
NOT_IMPORTED = (
    "composer.core.persons.pipeline",
    "composer.core.capture.persons",
    "composer.ui",
    "PySide6",
    "httpx._main",  # the stand-in of services/_httpx_lite.py is in its place
)


@pytest.mark.parametrize("module", COMMAND_MODULES)
def test_a_command_imports_no_more_than_it_needs(module: str) -> None:
    probe = (
        "import importlib, sys\n"
        f"importlib.import_module({module!r})\n"
        f"print([m for m in {NOT_IMPORTED!r} if m in sys.modules"
        " and getattr(sys.modules[m], '__file__', None) is not None])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]", done.stdout


def test_the_persons_package_still_gives_every_name() -> None:
    """Its names are imported when first asked for, not with the package."""
    from composer.core import persons

    for name in persons.__all__:
        assert getattr(persons, name) is not None, name
    with pytest.raises(AttributeError):
        persons.no_such_name  # noqa: B018
