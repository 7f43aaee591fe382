"""Reading a pasted curl command: its URL, its body (`-d`, `--data-raw`, `--json` ...) and headers.

The command is split into words as a POSIX shell would (shlex), after joining lines continued
with a backslash. Options curl has are recognised by name, short ones also in clusters
(`-sSL`, `-XPOST`, `-d'{...}'`); ones that read the body from elsewhere (`-d @file`, `-F`,
`-T`) are refused with a message that says what to paste instead.
"""

from __future__ import annotations

import base64
import binascii
import re
import shlex
from urllib.parse import unquote_plus

from composer.core.capture.parse import BodyEncodingError, parse_text
from composer.core.jsonio import JsonSyntaxError
from composer.core.snippets.pasted import (
    Draft,
    Pasted,
    PasteError,
    check_keys,
    endpoint_of,
)

DATA_OPTIONS = {"-d", "--data", "--data-raw", "--data-binary", "--data-ascii", "--json"}
# Options that take a value the body does not depend on.
VALUE_OPTIONS = {
    "-A", "--user-agent", "-e", "--referer", "-b", "--cookie", "-c", "--cookie-jar",
    "-m", "--max-time", "--connect-timeout", "-w", "--write-out", "--retry", "--retry-delay",
    "--retry-max-time", "-x", "--proxy", "--cacert", "--capath", "--cert", "-E", "--key",
    "--resolve", "--connect-to", "--limit-rate", "-o", "--output", "-u", "--user",
    "--oauth2-bearer", "-r", "--range", "--interface", "--dns-servers", "--max-redirs",
    "--trace", "--trace-ascii", "--proto", "--proto-redir", "-Y", "--speed-limit",
    "-y", "--speed-time", "--expect100-timeout", "--keepalive-time", "--unix-socket",
    "--cert-type", "--key-type", "--pass", "--ciphers", "--tls-max", "--noproxy",
    "--proxy-user", "-U", "--stderr", "--variable",
}  # fmt: skip
REFUSED = {
    "-F": "sends a multipart form; PostHog's capture endpoints read JSON",
    "--form": "sends a multipart form; PostHog's capture endpoints read JSON",
    "-T": "uploads a file; paste the file's JSON instead",
    "--upload-file": "uploads a file; paste the file's JSON instead",
    "-K": "reads its options from a file; paste the command itself",
    "--config": "reads its options from a file; paste the command itself",
    "--data-urlencode": "URL-encodes the body; paste the JSON it encodes with -d instead",
}
SHORT_WITH_VALUE = {"d", "H", "X", "A", "e", "b", "c", "m", "w", "x", "E", "o", "u", "r", "F",
                    "T", "K", "U", "Y", "y"}  # fmt: skip
OPERATORS = {";", "&&", "||", "|", "&", "\n", "(", ")"}
_CONTINUATION = re.compile(r"\\\r?\n")


def looks_like_curl(text: str) -> bool:
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        word = stripped.removeprefix("$ ").split(None, 1)[0]
        return word in ("curl", "curl.exe") or word.endswith("/curl")
    return False


def _join_continuations(text: str) -> str:
    """Remove backslash-newline pairs outside single quotes, as the shell does."""
    out: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(text):
        char = text[i]
        if quote == "'":
            out.append(char)
            if char == "'":
                quote = None
            i += 1
            continue
        if char == "\\":
            match = _CONTINUATION.match(text, i)
            if match:
                i = match.end()
                continue
            out.append(text[i : i + 2])
            i += 2
            continue
        if char in "'\"":
            if quote is None:
                quote = char
            elif quote == char:
                quote = None
        out.append(char)
        i += 1
    return "".join(out)


def _words(text: str) -> list[str]:
    lines = [
        line for line in text.replace("\r\n", "\n").split("\n") if not line.strip().startswith("#")
    ]
    joined = _join_continuations("\n".join(lines))
    # < and > are left in words: the tutorial writes its host as <ph_instance_address>.
    lexer = shlex.shlex(joined, posix=True, punctuation_chars="();|&\n")
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError as exc:  # "No closing quotation", "No escaped character"
        raise PasteError(
            f"The command cannot be split into words ({exc}): a quote is not closed. Check that"
            " the body's closing ' is there."
        ) from None


def _command(words: list[str]) -> list[str]:
    start = next(
        (
            i
            for i, w in enumerate(words)
            if w in ("curl", "curl.exe") or w.endswith(("/curl", "\\curl.exe"))
        ),
        None,
    )
    if start is None:
        raise PasteError("There is no curl command in the pasted text.")
    command: list[str] = []
    for word in words[start + 1 :]:
        if word in OPERATORS:
            if word == "\n" and not command:
                continue
            break
        if word.startswith("<") and ">" not in word:
            raise PasteError(
                "The command reads its body from a file (< file); paste the file's JSON instead."
            )
        if word.startswith(">") or word in ("2>", "1>"):
            break  # its output goes to a file: the rest does not change what is sent
        command.append(word)
    return command


def parse_curl(text: str) -> Pasted:
    draft = Draft()
    command = _command(_words(text))
    data: list[str] = []
    headers: list[str] = []
    urls: list[str] = []
    method: str | None = None
    as_get = False
    i = 0

    def value_of(option: str, attached: str | None) -> str:
        nonlocal i
        if attached is not None:
            return attached
        i += 1
        if i >= len(command):
            raise PasteError(f"{option} needs a value after it.")
        return command[i]

    while i < len(command):
        word = command[i]
        if word == "--":
            urls.extend(command[i + 1 :])
            break
        if word.startswith("--"):
            name, eq, attached_value = word.partition("=")
            attached = attached_value if eq else None
            if name in REFUSED:
                raise PasteError(f"{name} {REFUSED[name]}.")
            if name in DATA_OPTIONS:
                data.append(_data(name, value_of(name, attached), draft))
                if name == "--json":
                    headers.append("Content-Type: application/json")
            elif name == "--header":
                headers.append(value_of(name, attached))
            elif name == "--request":
                method = value_of(name, attached).upper()
            elif name == "--url":
                urls.append(value_of(name, attached))
            elif name == "--get":
                as_get = True
            elif name in VALUE_OPTIONS:
                value_of(name, attached)
            elif attached is not None:
                draft.note(f"{name} is not used.")
        elif word.startswith("-") and len(word) > 1:
            j = 1
            while j < len(word):
                letter = word[j]
                option = "-" + letter
                if letter in SHORT_WITH_VALUE:
                    rest = word[j + 1 :] or None
                    value = value_of(option, rest)
                    if option in REFUSED:
                        raise PasteError(f"{option} {REFUSED[option]}.")
                    if option == "-d":
                        data.append(_data(option, value, draft))
                    elif option == "-H":
                        headers.append(value)
                    elif option == "-X":
                        method = value.upper()
                    break
                if letter == "G":
                    as_get = True
                j += 1
        else:
            urls.append(word)
        i += 1

    if not urls:
        raise PasteError("The curl command has no URL.")
    url = next((u for u in urls if "/" in u), urls[0])
    if len(urls) > 1:
        draft.note(f"More than one URL; the form takes {url}.")
    if as_get:
        raise PasteError(
            "-G sends the data in the URL's query; paste the command with the body in -d and"
            " without -G."
        )
    if method is not None and method != "POST":
        draft.note(f"The command sends {method}; PostHog's capture endpoints take POST.")
    for header in headers:
        name, _, value = header.partition(":")
        if name.strip().lower() == "content-encoding" and value.strip():
            raise PasteError(
                f"The body is sent {value.strip()}-encoded (Content-Encoding); paste the plain"
                " JSON instead."
            )
    if not data:
        raise PasteError("The curl command sends no body (-d, --data, --data-raw or --json).")
    text_body = "&".join(data)
    body = _body(text_body, draft)
    endpoint, host = endpoint_of(url, draft)
    body = check_keys(body, draft)
    return Pasted(body, endpoint, host, "curl", tuple(draft.notes), draft.key_in_code)


def _data(option: str, value: str, draft: Draft) -> str:
    if value.startswith("@") and option not in ("--data-raw",):
        where = "standard input" if value == "@-" else value[1:]
        raise PasteError(
            f"{option} reads the body from {where}; paste the JSON itself (the command with"
            f" {option} '{{...}}'), or the file's JSON on its own."
        )
    return value


def _body(text: str, draft: Draft) -> object:
    if text.startswith(("data=", "ver=")) and not text.lstrip().startswith(("{", "[")):
        text = _form_data(text, draft)
    try:
        parsed = parse_text(text, allow_python=False)
    except JsonSyntaxError as exc:
        raise PasteError(
            f"The body is not JSON: line {exc.line} of the body, column {exc.column}:"
            f" {exc.message}."
        ) from None
    except BodyEncodingError as exc:
        raise PasteError(f"The body is not text: {exc}.") from None
    return parsed.value


def _form_data(text: str, draft: Draft) -> str:
    """A form body (`data=<base64 JSON>`), as posthog-js and old SDKs send it."""
    fields = dict(part.partition("=")[::2] for part in text.split("&"))
    raw = unquote_plus(fields.get("data", ""))
    try:
        decoded = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=False).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return raw  # not base64: perhaps JSON in the form field
    draft.note("The body was a form field (data=, base64); the form sends it as JSON.")
    return decoded
