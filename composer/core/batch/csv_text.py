"""What a CSV file is written in: its column separator and, when it is not UTF-8, its encoding.

Spreadsheets export CSV by the user's locale: Excel in a German or French locale separates
columns with semicolons (the comma is the decimal mark there) and saves in Windows-1252, and
"Unicode text" exports are tab-separated. Reading such a file as comma-separated UTF-8 would
make one-column rows or refuse the file, so the separator is guessed from a sample and a
Windows-1252 file is read, saying so, rather than refused.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

# What a user may name on the command line or pick in the mapping dialog, by name.
DELIMITERS = {"comma": ",", "semicolon": ";", "tab": "\t"}
DELIMITER_NAMES = {value: name for name, value in DELIMITERS.items()}
SNIFF_BYTES = 64 * 1024  # enough rows for the Sniffer to count separators consistently


def delimiter_of(text: str) -> str:
    """The separator a user named: comma, semicolon, tab, or the character itself ("\\t" too).
    Raises ValueError for anything else."""
    named = DELIMITERS.get(text.strip().lower())
    if named is not None:
        return named
    if text in ("\\t", "\t"):
        return "\t"
    if text in DELIMITER_NAMES:
        return text
    raise ValueError(f"{text!r} is not a CSV separator; use comma, semicolon or tab")


def sniff_delimiter(text: str) -> str:
    """The separator of CSV text: comma, semicolon or tab, guessed by csv.Sniffer from the first
    lines; a comma when the sample does not tell (one column, or no consistent separator)."""
    sample = text[:SNIFF_BYTES]
    if len(text) > SNIFF_BYTES:  # a cut-off last line would count its separators short
        sample = sample[: max(sample.rfind("\n"), 0)] or sample
    try:
        found = csv.Sniffer().sniff(sample, delimiters="".join(DELIMITER_NAMES)).delimiter
    except csv.Error:
        return ","
    header = sample.splitlines()[0] if sample else ""
    # The Sniffer may settle on a character that only appears inside values ("a;b" in a
    # quoted field); a real separator also splits the header.
    return found if found in header else ","


@dataclass(frozen=True)
class Legacy:
    """A file that is not UTF-8, read as Windows-1252; `notice` tells the user so."""

    text: str
    notice: str


@dataclass(frozen=True)
class Refused:
    """A file that is neither UTF-8 nor Windows-1252/Latin-1 text, with the first bad byte."""

    line: int  # 1-based, where the first byte that is not UTF-8 is
    message: str


def line_and_column(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column of a byte offset (columns in bytes: the line cannot be decoded)."""
    line_start = max(data.rfind(b"\n", 0, offset), data.rfind(b"\r", 0, offset)) + 1
    line = data.count(b"\n", 0, offset) + 1
    if b"\n" not in data and b"\r" in data:  # old Mac files: lines end with CR alone
        line = data.count(b"\r", 0, offset) + 1
    return line, offset - line_start + 1


def decode_legacy(data: bytes, bad: int) -> Legacy | Refused:
    """Bytes that are not UTF-8 (the first bad one at offset `bad`): Windows-1252 text when
    they decode as such and hold no control characters (a binary file would decode as Latin-1
    too, since every byte is a Latin-1 character), else refused with where and why."""
    line, column = line_and_column(data, bad)
    where = f"byte 0x{data[bad]:02x} on line {line}, column {column}"
    # A refusal is reported as "line N: ...", so its message names only the column.
    at = f"byte 0x{data[bad]:02x}, column {column}"
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as exc:
        # 0x81, 0x8d, 0x8f, 0x90 and 0x9d have no character in Windows-1252; in Latin-1 they are
        # C1 control codes, which no spreadsheet writes.
        other_line, other_column = line_and_column(data, exc.start)
        return Refused(
            line,
            f"the file is not UTF-8 text ({at}), and not Windows-1252 or Latin-1 text"
            f" either (byte 0x{data[exc.start]:02x} on line {other_line}, column"
            f" {other_column} is a control code there)",
        )
    control = next((i for i, ch in enumerate(text) if ord(ch) < 32 and ch not in "\t\n\r"), None)
    if control is not None:
        other_line, other_column = line_and_column(data, control)  # one byte per character
        return Refused(
            line,
            f"the file is not UTF-8 text ({at}); as Windows-1252 it would hold a control"
            f" character (0x{data[control]:02x} on line {other_line}, column {other_column}),"
            " so it looks like a binary file",
        )
    return Legacy(
        text,
        f"not UTF-8 ({where}); read as Windows-1252 (Latin-1), as spreadsheets save it."
        " Save it as UTF-8 if any text came out wrong",
    )
