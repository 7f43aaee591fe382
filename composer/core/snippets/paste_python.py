"""Reading pasted Python that posts a body: `requests.post(url, json=body)`, httpx, a session.

The code is parsed (never run) with `ast`. The body is the `json=` argument (or `data=` /
`content=` holding JSON text, or `json.dumps(...)` of a value), read as a literal; names are
followed to their assignments. A value that is not a literal (`os.environ[...]`, a call) is
accepted only where the key goes, since the key comes from the target; anywhere else it is an
error that names its line.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from composer.core.capture import bodies
from composer.core.capture.parse import parse_text
from composer.core.jsonio import JsonSyntaxError
from composer.core.snippets.pasted import (
    Draft,
    Pasted,
    PasteError,
    check_keys,
    endpoint_for_shape,
    endpoint_of,
)

MAX_DEPTH = 200
_POST_NAMES = ("post", "request", "put")


@dataclass(frozen=True)
class _Unknown:
    """A value the code computes: its source text and line."""

    text: str
    line: int


class _Reader:
    def __init__(self, source: str, tree: ast.Module) -> None:
        self.source = source
        self.names: dict[str, ast.expr] = {}
        for statement in tree.body:
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                target = statement.targets[0]
                if isinstance(target, ast.Name):
                    self.names[target.id] = statement.value
            elif (
                isinstance(statement, ast.AnnAssign)
                and isinstance(statement.target, ast.Name)
                and statement.value is not None
            ):
                self.names[statement.target.id] = statement.value

    def unknown(self, node: ast.AST) -> _Unknown:
        text = ast.get_source_segment(self.source, node) or ast.dump(node)
        return _Unknown(" ".join(text.split()), getattr(node, "lineno", 0))

    def value(self, node: ast.expr, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise PasteError("The body is nested too deeply to read.", getattr(node, "lineno", 0))
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bytes):
                return node.value.decode("utf-8", "replace")
            if node.value is None or isinstance(node.value, str | int | float | bool):
                return node.value
            return self.unknown(node)
        if isinstance(node, ast.Dict):
            out: dict[str, Any] = {}
            for key_node, value_node in zip(node.keys, node.values, strict=True):
                if key_node is None:
                    raise PasteError(
                        f"{self.unknown(value_node).text} is unpacked into the body (**); write"
                        " its keys out.",
                        value_node.lineno,
                    )
                key = self.value(key_node, depth + 1)
                if not isinstance(key, str):
                    raise PasteError("A key of the body is not a string.", key_node.lineno)
                out[key] = self.value(value_node, depth + 1)
            return out
        if isinstance(node, ast.List | ast.Tuple):
            return [self.value(item, depth + 1) for item in node.elts]
        if (
            isinstance(node, ast.UnaryOp)
            and isinstance(node.op, ast.USub | ast.UAdd)
            and isinstance(node.operand, ast.Constant)
            and isinstance(node.operand.value, int | float)
            and not isinstance(node.operand.value, bool)
        ):
            number = node.operand.value
            return -number if isinstance(node.op, ast.USub) else number
        if isinstance(node, ast.Name):
            if node.id in self.names and depth < MAX_DEPTH:
                return self.value(self.names[node.id], depth + 1)
            return self.unknown(node)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left = self.text(node.left)
            right = self.text(node.right)
            return left + right
        if isinstance(node, ast.JoinedStr):
            return self.text(node)
        return self.unknown(node)

    def text(self, node: ast.expr) -> str:
        """A string as far as the code says: `{expression}` where it computes a part."""
        if isinstance(node, ast.JoinedStr):
            parts = []
            for piece in node.values:
                if isinstance(piece, ast.Constant) and isinstance(piece.value, str):
                    parts.append(piece.value)
                elif isinstance(piece, ast.FormattedValue):
                    inner = self.value(piece.value)
                    parts.append(inner if isinstance(inner, str) else "{" + self._src(piece) + "}")
            return "".join(parts)
        value = self.value(node)
        if isinstance(value, str):
            return value
        if isinstance(value, _Unknown):
            return "{" + value.text + "}"
        return str(value)

    def _src(self, node: ast.FormattedValue) -> str:
        return ast.get_source_segment(self.source, node.value) or "?"


def _calls(tree: ast.Module) -> list[ast.Call]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in _POST_NAMES and any(
                kw.arg in ("json", "data", "content") for kw in node.keywords
            ):
                found.append(node)
    return sorted(found, key=lambda call: call.lineno)


def parse_python(text: str) -> Pasted:
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise PasteError(
            f"This is not Python the composer can read: {exc.msg}.", exc.lineno
        ) from None
    reader = _Reader(text, tree)
    draft = Draft()
    calls = _calls(tree)
    if len(calls) > 1:
        draft.note(f"The code sends {len(calls)} requests; the form takes the first one's body.")
    url: str | None = None
    body: Any
    if calls:
        call = calls[0]
        body = _call_body(reader, call)
        url = _call_url(reader, call)
    elif "body" in reader.names:
        body = reader.value(reader.names["body"])
        if "url" in reader.names:
            url = reader.text(reader.names["url"])
    else:
        raise PasteError(
            "The code has no requests.post(url, json=...) call (nor a `body = {...}`) to read"
            " a body from."
        )
    body = _resolve(body, draft)
    body = check_keys(body, draft)
    if url is None:
        return Pasted(body, endpoint_for_shape(body), None, "python", tuple(draft.notes))
    endpoint, host = endpoint_of(url, draft)
    return Pasted(body, endpoint, host, "python", tuple(draft.notes), draft.key_in_code)


def _call_url(reader: _Reader, call: ast.Call) -> str | None:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    position = 1 if name == "request" else 0
    for keyword in call.keywords:
        if keyword.arg == "url":
            return reader.text(keyword.value)
    if len(call.args) > position:
        return reader.text(call.args[position])
    return None


def _call_body(reader: _Reader, call: ast.Call) -> Any:
    for keyword in call.keywords:
        if keyword.arg == "json":
            return reader.value(keyword.value)
    for keyword in call.keywords:
        if keyword.arg in ("data", "content"):
            node = keyword.value
            if isinstance(node, ast.Name) and node.id in reader.names:
                node = reader.names[node.id]
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "dumps"
                and node.args
            ):
                return reader.value(node.args[0])
            value = reader.value(node)
            if isinstance(value, str):
                try:
                    return parse_text(value, allow_python=False).value
                except JsonSyntaxError as exc:
                    raise PasteError(
                        f"The {keyword.arg}= text is not JSON: line {exc.line}, column"
                        f" {exc.column} of it: {exc.message}.",
                        keyword.value.lineno,
                    ) from None
            return value
    raise PasteError("The request sends no json= body.", call.lineno)


def _resolve(body: Any, draft: Draft) -> Any:
    """The body with computed token values left out; any other computed value is an error."""
    items: list[Any] = []
    if isinstance(body, dict):
        items.append(body)
        if isinstance(body.get("batch"), list):
            items.extend(body["batch"])
    elif isinstance(body, list):
        items.extend(body)
    for item in items:
        if not isinstance(item, dict):
            continue
        for name in bodies.TOKEN_FIELDS:
            value = item.get(name)
            if isinstance(value, _Unknown):
                del item[name]
                draft.note(f"The key comes from the target, not from {value.text}.")
        props = item.get("properties")
        if isinstance(props, dict) and isinstance(props.get("token"), _Unknown):
            del props["token"]
    if isinstance(body, _Unknown):
        raise PasteError(
            f"The body is {body.text}, which the code computes; paste code whose body is"
            " written out (a dict literal).",
            body.line,
        )
    stack = [body]
    while stack:
        node = stack.pop()
        if isinstance(node, _Unknown):
            raise PasteError(
                f"{node.text} is computed by the code, not written in it; replace it with the"
                " value it stands for.",
                node.line,
            )
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return body
