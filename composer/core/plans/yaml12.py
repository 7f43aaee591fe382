"""YAML as people write plans: YAML 1.2's core types, and the line of every node.

PyYAML is imported on first use, not at import: the window starts without it.
"""

from __future__ import annotations

from typing import Any


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


_LOADER: Any = None


def plan_loader() -> Any:
    """A safe YAML loader that reads a plan the way people write one (YAML 1.2's core schema):
    `NO`, `on` and `2024-01-01` stay text, `1:30` is not 90, `010` is not 8, and every mapping
    key is the text written (so `true:` and `1:` are names, not a boolean and a number)."""
    global _LOADER  # noqa: PLW0603 - built once, on first use
    if _LOADER is not None:
        return _LOADER
    import yaml

    class PlanLoader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            self.flatten_mapping(node)
            mapping: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    key: Any = key_node.value
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
