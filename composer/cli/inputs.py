"""Reading body files (or stdin) with clear messages for everything that can go wrong."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from composer.cli.errors import CliError
from composer.core.batch.csv_text import delimiter_of
from composer.core.batch.formats import Imported, encoding_problem
from composer.core.capture.parse import BodyEncodingError, decode
from composer.core.jsonio import position

# Far above PostHog's 20 MiB request limit: big enough to say "too large" about, small enough
# not to exhaust memory on a mistaken argument (a disk image, a log archive).
MAX_INPUT_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class InputFile:
    name: str
    data: bytes

    def text(self) -> str:
        """The file's text; a CliError (exit 2) that says where when it is not UTF-8."""
        other = encoding_problem(self.data)
        if other is not None:
            raise CliError(f"{self.name}: {other}; save it as UTF-8.")
        try:
            text, _bom = decode(self.data)
        except BodyEncodingError as exc:
            line, column = position(self.data, exc.offset + 3 * self.data.startswith(BOM))
            raise CliError(
                f"{self.name} is not UTF-8 text (byte 0x{exc.byte:02x} on line {line}, column"
                f" {column}); save it as UTF-8."
            ) from None
        return text


BOM = b"\xef\xbb\xbf"


def read_input(path: str) -> InputFile:
    if path == "-":
        data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
        name = "<stdin>"
    else:
        file = Path(path)
        name = path
        try:
            if file.is_dir():
                raise CliError(f"{path} is a folder; give a JSON file.")
            size = file.stat().st_size
            if size > MAX_INPUT_BYTES:
                raise CliError(
                    f"{path} is {size / 1024 / 1024:.0f} MiB, too large to check"
                    f" (limit {MAX_INPUT_BYTES // 1024 // 1024} MiB); PostHog takes 20 MiB per"
                    " request, so split it."
                )
            data = file.read_bytes()
        except FileNotFoundError:
            raise CliError(f"{path}: no such file.") from None
        except PermissionError:
            raise CliError(f"{path}: permission denied; check the file's permissions.") from None
        except OSError as exc:
            raise CliError(f"{path}: cannot read it ({exc.strerror or exc}).") from None
    if len(data) > MAX_INPUT_BYTES:
        raise CliError(f"{name} is larger than {MAX_INPUT_BYTES // 1024 // 1024} MiB; split it.")
    return InputFile(name, data)


def _delimiter(text: str) -> str:
    try:
        return delimiter_of(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_delimiter_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """--delimiter for a command that reads CSV files (a parser or an argument group)."""
    parser.add_argument(
        "--delimiter",
        type=_delimiter,
        metavar="SEP",
        help="what separates a CSV file's columns: comma, semicolon or tab (default: guessed"
        " from the file's first lines)",
    )


def tell_notices(path: str, imported: Imported) -> None:
    """Say how a file was read when it was not plain UTF-8 (an `Imported`'s notices), before
    anything is done with its rows."""
    for notice in imported.notices:
        print(f"note: {path}: {notice}.", file=sys.stderr)
