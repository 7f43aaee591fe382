"""`event-composer sandbox`: the local capture endpoint, headless, for other programs and CI."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

import orjson

from composer import __version__
from composer.cli import sandbox_run
from composer.cli.errors import CliError, ExitStatus
from composer.files import write_atomic


def run(args: argparse.Namespace) -> ExitStatus:
    from composer.sandbox.defaults import default_db_path, port_in_use
    from composer.sandbox.keys import generate_sandbox_key
    from composer.sandbox.sdk_calls import SdkConfig
    from composer.sandbox.server import RequestLog, SandboxServer
    from composer.sandbox.store import SandboxStore, StoreError

    db = args.db or str(default_db_path())
    try:
        store = SandboxStore(db)
    except StoreError as exc:
        raise CliError(str(exc)) from None
    if store.moved_aside is not None:
        print(
            f"The inbox file was damaged ({store.damage}); it was kept as {store.moved_aside}"
            " and a new one was started.",
            file=sys.stderr,
        )
    if args.clear:
        store.clear()

    sdk = SdkConfig.from_environment(args.flags)
    if args.posthog_js_dist:
        sdk.posthog_js_dist = Path(args.posthog_js_dist)
    sdk.flags()
    if sdk.problem:
        print(f"Flags: {sdk.problem}", file=sys.stderr)

    def log(entry: RequestLog) -> None:
        print(entry.line(), flush=True)

    try:
        server = SandboxServer(
            store,
            port=args.port,
            on_request=None if args.quiet else log,
            rate_limit=args.rate_limit,
            read_timeout=args.read_timeout,
            idle_timeout=args.idle_timeout,
            sdk=sdk,
        )
    except OSError as exc:
        store.close()
        if port_in_use(exc):
            raise CliError(
                f"port {args.port} is in use (another sandbox, or another program); choose one"
                " with --port N, or --port 0 for any free port."
            ) from None
        raise CliError(f"cannot listen on port {args.port}: {exc.strerror or exc}.") from None

    # The server runs on its own thread and the main thread waits: a signal then only sets
    # an event, instead of interrupting the event loop in the middle of a callback.
    stopping = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.parent_pid:
        _stop_with_parent(args.parent_pid, stopping)
    key = generate_sandbox_key()
    print(f"PostHog Event Composer sandbox {__version__}", flush=True)
    print(f"Listening on {server.url}", flush=True)
    print(f"Use {server.url} as the PostHog host, with any well-formed project key, e.g.:")
    print(f'  posthog-python  Posthog("{key}", host="{server.url}")')
    print(f'  posthog-js      posthog.init("{key}", {{ api_host: "{server.url}" }})')
    if sdk.flags_file is not None:
        print(f"Flags: {sdk.flags_file} ({len(sdk.flags().keys())} flags; edits apply at once)")
    print(f"Inbox: {db}  (Ctrl+C stops the sandbox)", flush=True)
    try:
        server.start()
        if args.ready_file:
            note = ""
            if store.moved_aside is not None:
                note = (
                    f"The inbox file was damaged ({store.damage}); it was kept as"
                    f" {store.moved_aside} and a new one was started."
                )
            ready = {"url": server.url, "db": db, "pid": os.getpid(), "note": note}
            write_atomic(Path(args.ready_file), orjson.dumps(ready))
        while not stopping.wait(0.5):
            pass
        print("Stopped.", flush=True)
    finally:
        server.stop()
        store.close()
    return ExitStatus.OK


def _stop_with_parent(parent: int, stopping: threading.Event) -> None:
    """A sandbox a window started ends with the window, however the window ends (a kill
    included): its parent changes when the window's process is gone."""

    def watch() -> None:
        while not stopping.wait(0.5):
            if os.getppid() != parent:
                stopping.set()

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "sandbox",
        help="run the local PostHog-compatible capture endpoint (no window)",
        description="Run the sandbox: a capture endpoint on 127.0.0.1 that answers like PostHog's"
        " and keeps every event it accepts, with what PostHog would do to it after answering"
        " 200. Point any PostHog SDK at the printed URL. Each request is logged here; the"
        " window's Inbox shows the same events.",
        epilog="examples:\n"
        "  event-composer sandbox\n"
        "  event-composer sandbox --port 0                 any free port\n"
        "  event-composer sandbox --db /tmp/ci-inbox.sqlite3 --clear\n"
        "  event-composer sandbox --rate-limit 100         answer 429 above 100 events a minute",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--port", type=int, default=8787, help="port on 127.0.0.1 (default 8787)")
    p.add_argument(
        "--db",
        metavar="PATH",
        help="the inbox file (default: in the app's data folder, shared with the window)",
    )
    p.add_argument("--clear", action="store_true", help="empty the inbox before starting")
    p.add_argument(
        "--rate-limit",
        type=int,
        metavar="N",
        help="answer 429 to a key that sends more than N events a minute",
    )
    p.add_argument(
        "--read-timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="answer 408 to a client that stops sending a request for S seconds (default 10)",
    )
    p.add_argument(
        "--idle-timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="close a keep-alive connection idle for S seconds (default 30)",
    )
    p.add_argument(
        "--flags",
        metavar="FILE",
        help="feature flags to serve to SDKs, JSON or YAML, re-read when it changes"
        ' (also $COMPOSER_SANDBOX_FLAGS), e.g. {"flags": {"new-checkout": true}}',
    )
    p.add_argument(
        "--posthog-js-dist",
        metavar="DIR",
        help="posthog-js's dist folder, to serve the scripts it loads lazily (surveys.js, ...)"
        " (also $COMPOSER_POSTHOG_JS_DIST)",
    )
    # For a window that runs its sandbox as its own process (not shown in --help).
    p.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--ready-file", metavar="PATH", help=argparse.SUPPRESS)
    p.add_argument("--parent-pid", type=int, metavar="PID", help=argparse.SUPPRESS)
    p.set_defaults(run=run)
    commands = p.add_subparsers(title="commands", metavar="COMMAND", required=False)
    sandbox_run.add_parser(commands)
