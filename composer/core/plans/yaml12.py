"""YAML as people write plans: YAML 1.2's core types, and the line of every node.

PyYAML is imported on first use, not at import: the window starts without it.
"""

from __future__ import annotations

from typing import Any

from composer.core.jsonio import SURROGATE

# What the loader refuses beyond YAML's own rules, and how to fix each (for the reader).
LONE_SURROGATE = "a \\ud800-\\udfff escape without its pair is not text"
LONG_NUMBER = "digits is too long"
FIXES = {
    LONE_SURROGATE: "Write the character itself, or both halves of its pair (\\ud83d\\ude00).",
    LONG_NUMBER: "Shorten the number, or quote it if it is text.",
}


class Lines:
    """Line numbers of the nodes of a YAML (or JSON) document, by path."""

    def __init__(self) -> None:
        self.by_path: dict[tuple[Any, ...], int] = {}

    def at(self, *path: Any) -> int | None:
        while path:
            line = self.by_path.get(path)
            if line is not None:
                return line
            path = path[:-1]
        return self.by_path.get(())

    def walk(self, node: Any, path: tuple[Any, ...] = (), seen: set[int] | None = None) -> None:
        import yaml

        seen = set() if seen is None else seen
        if id(node) in seen:
            return  # an alias: its lines were taken where the anchor is (and it may loop)
        seen.add(id(node))
        self.by_path.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                name = key.value if isinstance(key, yaml.ScalarNode) else str(key)
                self.walk(value, (*path, name), seen)
                self.by_path[(*path, name)] = key.start_mark.line + 1  # the key's own line
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.walk(item, (*path, i), seen)


def cycle_line(node: Any) -> int | None:
    """The line of an alias that sits inside its own anchor (`a: &a [*a]`), if there is one.
    PyYAML builds such a value as a list that contains itself, which nothing can write or
    compare; the plan is refused there instead. Iterative, for plans of any depth."""
    import yaml

    on_path: set[int] = set()
    done: set[int] = set()
    stack: list[tuple[Any, bool]] = [(node, False)]
    while stack:
        current, leaving = stack.pop()
        if leaving:
            on_path.discard(id(current))
            done.add(id(current))
            continue
        if id(current) in on_path:
            return int(current.start_mark.line) + 1
        if id(current) in done:
            continue  # an alias of a finished anchor: shared, not circular
        on_path.add(id(current))
        stack.append((current, True))
        if isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                stack.extend(((value, False), (key, False)))
        elif isinstance(current, yaml.SequenceNode):
            stack.extend((item, False) for item in current.value)
    return None


_LOADER: Any = None


def plan_loader() -> Any:
    """A safe YAML loader that reads a plan the way people write one (YAML 1.2's core schema):
    `NO`, `on` and `2024-01-01` stay text, `1:30` is not 90, `010` is not 8, and every mapping
    key is the text written (so `true:` and `1:` are names, not a boolean and a number)."""
    global _LOADER  # noqa: PLW0603 - built once, on first use
    if _LOADER is not None:
        return _LOADER
    import yaml

    def refuse(node: Any, problem: str) -> Exception:
        return yaml.constructor.ConstructorError(None, None, problem, node.start_mark)

    def text_of(node: Any) -> str:
        value: str = node.value
        if SURROGATE.search(value):
            # "\ud800" in a double-quoted scalar: half of a UTF-16 pair, which no event can
            # carry (UTF-8 cannot hold it), so the plan could never match it.
            raise refuse(node, LONE_SURROGATE)
        return value

    class PlanLoader(yaml.SafeLoader):
        def construct_scalar(self, node: Any) -> Any:
            if isinstance(node, yaml.ScalarNode):
                text_of(node)
            return super().construct_scalar(node)

        def construct_yaml_int(self, node: Any) -> Any:
            # int() refuses more than 4,300 digits with a ValueError, which has no line.
            if len(node.value) > 4000:
                raise refuse(node, f"a number of {len(node.value):,} {LONG_NUMBER}")
            return super().construct_yaml_int(node)

        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            self.flatten_mapping(node)
            mapping: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    key: Any = text_of(key_node)
                else:
                    key = self.construct_object(key_node, deep=deep)
                    if not isinstance(key, str | int | float | bool | type(None)):
                        raise yaml.constructor.ConstructorError(
                            "while reading a mapping",
                            node.start_mark,
                            "a key must be a plain name",
                            key_node.start_mark,
                        )
                mapping[key] = self.construct_object(value_node, deep=deep)
            return mapping

    resolvers: dict[Any, list[tuple[str, Any]]] = {}
    core = [
        ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
        ("tag:yaml.org,2002:int", r"^[-+]?(?:0|[1-9][0-9]*)$", "-+0123456789"),
        (
            "tag:yaml.org,2002:float",
            r"^(?:[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?[0-9]+[eE][-+]?[0-9]+"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
            "-+0123456789.",
        ),
        ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ]
    import re as _re

    for tag, pattern, first in core:
        regex = _re.compile(pattern)
        for char in first:
            resolvers.setdefault(char, []).append((tag, regex))
    PlanLoader.yaml_implicit_resolvers = resolvers
    PlanLoader.add_constructor("tag:yaml.org,2002:int", PlanLoader.construct_yaml_int)
    _LOADER = PlanLoader
    return PlanLoader


def plan_dumper() -> Any:
    """A dumper that quotes every string either YAML 1.1 or this reader would take for
    something else ("yes", "1e3", "2024-01-01"), so a written plan reads back the same."""
    import yaml

    loader = plan_loader()

    class PlanDumper(yaml.SafeDumper):
        pass

    merged: dict[Any, list[tuple[str, Any]]] = {
        k: list(v) for k, v in yaml.SafeDumper.yaml_implicit_resolvers.items()
    }
    for first, pairs in loader.yaml_implicit_resolvers.items():
        merged.setdefault(first, []).extend(pairs)
    PlanDumper.yaml_implicit_resolvers = merged
    return PlanDumper


def read_yaml(text: str) -> Any:
    """YAML as a plan is read (for round-trip checks of what is written)."""
    loader = plan_loader()(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()
