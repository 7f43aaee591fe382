"""`event-composer`: the window when run bare, and the command line for scripts and CI."""

from __future__ import annotations

import argparse
import importlib
import io
import logging
import sys
from collections.abc import Sequence

from composer import __version__
from composer.cli.errors import CliError, ExitStatus

log = logging.getLogger("composer")

# The commands, in the order --help lists them, by the module that adds each one's parser.
# Only the module of the command given is imported (start-up is most of a small command's
# time); --help, a bare or an unknown command imports them all.
COMMANDS = ("validate", "send", "sandbox", "profile", "templates", "plans", "persons", "code")
_MODULES = {
    "validate": "validate",
    "send": "send",
    "sandbox": "sandbox",
    "profile": "profile",
    "template": "templates",
    "plan": "plans",
    "persons": "persons",
    "code": "code",
}


def _command(argv: Sequence[str]) -> str | None:
    """The module of the command named in argv (the first word that is not an option), or
    None: then every command's parser is built."""
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            return _MODULES.get(word)
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="event-composer",
        description="Compose, check and send events to PostHog's capture API. With no command,"
        " opens the window.",
        epilog="examples:\n"
        "  event-composer                                 open the window\n"
        "  event-composer validate events.json            check a body before sending it\n"
        "  event-composer send events.json --host eu      send it to PostHog EU\n"
        "  event-composer send 'Plan upgraded' --var user=u-1   send a template\n"
        "  event-composer sandbox                         a local capture endpoint\n"
        "  event-composer persons simulate events.jsonl   the persons and merges they make\n"
        "  event-composer code --lang curl event.json     the body as code that sends it\n"
        "\nRun 'event-composer COMMAND --help' for a command's options.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="log details to stderr and show tracebacks"
    )
    # Opens the window, reports what it found (platform plugin, resources), and quits: the
    # smoke test for packaged builds.
    parser.add_argument("--selftest", action="store_true", help=argparse.SUPPRESS)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    only = _command(sys.argv[1:] if argv is None else argv)
    for name in COMMANDS if only is None else (only,):
        importlib.import_module(f"composer.cli.{name}").add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # A file name from argv that is not UTF-8 (it arrives as surrogate escapes), or a lone
    # surrogate quoted from a file, must print as an escape rather than fail the command.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    runner = getattr(args, "run", None)
    if runner is None:
        from composer.app import main as gui_main

        return gui_main([], selftest=args.selftest)
    try:
        return int(runner(args))
    except CliError as exc:
        print(f"event-composer: {exc}", file=sys.stderr)
        return int(exc.status)
    except KeyboardInterrupt:
        return int(ExitStatus.INTERRUPTED)
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"event-composer: unexpected error: {exc} (run with --debug for details)",
            file=sys.stderr,
        )
        return int(ExitStatus.FAILED)
