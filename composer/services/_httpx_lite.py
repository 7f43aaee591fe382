"""httpx without its command-line client.

`import httpx` also imports httpx's own `httpx` command (click, rich, pygments: 40 to 80 ms of
every start-up) whenever those happen to be installed. The composer never runs that command,
so a stand-in takes its module's place before httpx is first imported; httpx.main then says
how to get the real one. Import httpx through this module.
"""

from __future__ import annotations

import sys
import types

if "httpx" not in sys.modules and "httpx._main" not in sys.modules:
    _stub = types.ModuleType("httpx._main")

    def _main() -> None:
        raise SystemExit("httpx's command line is not loaded inside event-composer; run httpx.")

    _stub.main = _main  # type: ignore[attr-defined]
    sys.modules["httpx._main"] = _stub

import httpx

__all__ = ["httpx"]
