"""A sandbox a test starts and asserts on: what the `posthog_sandbox` fixture gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from composer.core.jsonio import JsonObject


class SandboxFindings(AssertionError):
    """Events arrived that PostHog would refuse, drop or change; the message lists them."""


class PostHogSandbox:
    def __init__(self, folder: Path) -> None:
        from composer.sandbox.keys import generate_sandbox_key
        from composer.sandbox.sdk_calls import SdkConfig
        from composer.sandbox.server import SandboxServer
        from composer.sandbox.store import SandboxStore

        self.folder = folder
        self.flags_file = folder / "flags.json"
        self.db = str(folder / "inbox.sqlite3")
        self.key = generate_sandbox_key()
        self._store = SandboxStore(self.db)
        self._server = SandboxServer(
            self._store, port=0, sdk=SdkConfig(flags_file=self.flags_file)
        ).start()

    # -- where it is ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The PostHog host to give an SDK (`host=` / `api_host:`)."""
        return self._server.url

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def env(self) -> dict[str, str]:
        """Environment variables for a subprocess (an app under test) to find the sandbox."""
        return {
            "POSTHOG_HOST": self.url,
            "POSTHOG_API_HOST": self.url,
            "POSTHOG_SANDBOX_URL": self.url,
            "POSTHOG_SANDBOX_PORT": str(self.port),
            "POSTHOG_PROJECT_API_KEY": self.key,
        }

    # -- what arrived --------------------------------------------------------------------------

    def events(self, event: str | None = None, distinct_id: str | None = None) -> list[JsonObject]:
        """Stored events, oldest first, as PostHog would store them (uuid, event, distinct_id,
        properties, timestamp ...), each with its `findings` and `person` outcome."""
        params = "&".join(
            f"{name}={value}"
            for name, value in (("event", event), ("distinct_id", distinct_id))
            if value is not None
        )
        found: list[JsonObject] = []
        offset = 0
        while True:
            query = f"{params}&limit=10000&offset={offset}".lstrip("&")
            page = self._api("/_sandbox/events", query)
            for item in page["events"]:
                found.append(
                    {
                        **item["stored"],
                        "findings": item["findings"],
                        "verdict": item["verdict"],
                        "person": item["person"],
                    }
                )
            offset += len(page["events"])
            if offset >= page["total"] or not page["events"]:
                return found

    def persons(self) -> list[JsonObject]:
        """Persons as PostHog's ingestion would have made them: distinct_ids, properties,
        is_identified, merged_from."""
        return list(self._api("/_sandbox/persons", "limit=10000")["persons"])

    def groups(self) -> list[JsonObject]:
        return list(self._api("/_sandbox/groups", "")["groups"])

    def counts(self) -> dict[str, int]:
        return dict(self._api("/_sandbox/counts", ""))

    def assert_no_findings(self, *, allow: tuple[str, ...] = ()) -> None:
        """Fail when any request was refused, or any event would be dropped or changed by
        PostHog (a warning finding), or a merge was refused; `allow` lists finding codes to
        let pass."""
        problems: list[str] = []
        refused = self._api("/_sandbox/requests", "refused=1&limit=10000")["requests"]
        problems += [
            f"refused: {r['method']} {r['path']} -> {r['status']} {r['reply']}" for r in refused
        ]
        for item in self._api("/_sandbox/events", "limit=10000")["events"]:
            for finding in item["findings"]:
                if finding["severity"] != "info" and finding["code"] not in allow:
                    problems.append(f"{item['event']}: {finding['code']}: {finding['message']}")
            for warning in (item["person"] or {}).get("warnings", []):
                if warning["type"] not in allow:
                    problems.append(f"{item['event']}: {warning['type']}: {warning['message']}")
        if problems:
            raise SandboxFindings(
                "the sandbox received events PostHog would not keep as sent:\n  "
                + "\n  ".join(problems)
            )

    # -- changing it ---------------------------------------------------------------------------

    def clear(self) -> None:
        """Empty the inbox and its persons."""
        self._server.reset()

    def set_flags(self, flags: dict[str, Any]) -> None:
        """The feature flags SDKs get from now on: {"name": true | false | "variant" | {...}}
        (see the flags file format in the README)."""
        self.flags_file.write_bytes(orjson.dumps({"flags": flags}))

    def stop(self) -> None:
        self._server.stop()
        self._store.close()

    def _api(self, path: str, query: str) -> Any:
        from composer.sandbox import api

        self._store.settle()  # persons follow the events on their own thread
        outcome = api.answer("GET", path, query, self.db, self._server.info(), self.clear)
        if outcome.status != 200:
            raise RuntimeError(f"the sandbox's API answered {outcome.status}: {outcome.reply_text}")
        return orjson.loads(outcome.body)
