"""posthog-js's lazily loaded scripts: `/static/<version>/<kind>.js` and `/static/<kind>.js`.

posthog-js loads some of its code on demand from the assets host, which for a custom host is
the host itself (entrypoints/external-scripts-loader.js `loadExternalDependency`, utils/
request-router.js `endpointFor('assets', …)`): first `/static/<version>/<kind>.js`, then, if
that fails, `/static/<kind>.js?v=<version>`. `surveys.js` is loaded as soon as remote config
arrives, even for a project without surveys (browser-common surveys.js `loadIfEnabled`), unless
the app sets `disable_surveys: true`; recordings, heatmaps' dead clicks, web vitals and
exception autocapture load theirs only when turned on. A missing script is a console error in
the browser, and with `debug` posthog-js logs "Could not load surveys script".

The scripts are the ones in the posthog-js npm package's `dist/` folder, the app's own copy in
`node_modules/posthog-js/dist` being the right version by construction. The sandbox reads them
through the `read_asset` callable it is given, so this module stays free of I/O except for
`folder_reader`, which is that callable for a folder.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from composer.sandbox.sdk.answer import JAVASCRIPT, Answer, text_answer

AssetReader = Callable[[str], bytes | None]

# A versioned path has one more segment; neither may climb out of the folder.
_STATIC = re.compile(
    r"^/static/(?:(?P<version>[0-9][0-9A-Za-z.+-]*)/)?"
    r"(?P<name>[a-z0-9][a-z0-9.-]*\.js(?:\.map)?)$"
)


def static_asset_name(path: str) -> str | None:
    """The dist file a `/static/…` path asks for, or None when it is not one."""
    match = _STATIC.match(path)
    if match is None or ".." in match["name"]:
        return None
    return match["name"]


def static_asset_answer(path: str, read_asset: AssetReader | None) -> Answer:
    name = static_asset_name(path)
    if name is None:
        return text_answer(404, "Not found.")
    if read_asset is None:
        return text_answer(
            404,
            f"The sandbox serves no posthog-js scripts yet, so {name} is missing. Point it at "
            "your app's node_modules/posthog-js/dist, or set disable_surveys: true (and leave "
            "replay, heatmaps and the like off) in posthog.init.",
        )
    content = read_asset(name)
    if content is None:
        return text_answer(404, f"{name} is not in the posthog-js dist folder the sandbox uses.")
    kind = "application/json" if name.endswith(".map") else JAVASCRIPT
    # The SDK asks for a fixed version, so a browser may keep it for the session.
    return Answer(200, {"Content-Type": kind, "Cache-Control": "public, max-age=3600"}, content)


def folder_reader(folder: Path) -> AssetReader:
    """Read assets from a posthog-js `dist` folder (the one function here that does I/O)."""
    root = folder.resolve()

    def read(name: str) -> bytes | None:
        candidate = (root / name).resolve()
        if candidate.parent != root or not candidate.is_file():
            return None
        try:
            return candidate.read_bytes()
        except OSError:
            return None

    return read
