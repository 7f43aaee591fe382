"""Learning a plan from events: names, properties, types and small sets of observed values.

The draft is meant to be edited, but as written it passes the events it was learned from:
a property is required only when every event of that name carries it, a type list covers every
type seen, and an enum lists every value seen.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from composer.core.plans.model import PLAN_VERSION, PropertyType, json_type, matches_type

ENUM_MAX_VALUES = 10  # more distinct strings than this read as free text
ENUM_MIN_REPEAT = 2  # ...and each value must have been seen this often on average
_SKIP = frozenset({"distinct_id", "token", "$set", "$set_once", "$unset", "$groups"})


@dataclass
class _PropertyStats:
    seen: int = 0
    types: set[PropertyType] = field(default_factory=set)
    strings: Counter[str] = field(default_factory=Counter)
    too_many: bool = False

    def add(self, value: Any) -> None:
        self.seen += 1
        self.types.add(_infer_type(value))
        if isinstance(value, str) and not self.too_many:
            self.strings[value] += 1
            if len(self.strings) > ENUM_MAX_VALUES:
                self.too_many = True
                self.strings.clear()


@dataclass
class _EventStats:
    count: int = 0
    properties: dict[str, _PropertyStats] = field(default_factory=dict)
    set: dict[str, _PropertyStats] = field(default_factory=dict)
    set_once: dict[str, _PropertyStats] = field(default_factory=dict)


def _infer_type(value: Any) -> PropertyType:
    kind = json_type(value)
    # Only the unambiguous form of text (a "T" between date and time) is taken for a date.
    if (
        kind is PropertyType.STRING
        and len(value) >= 19
        and value[10:11] == "T"
        and matches_type(value, PropertyType.DATETIME)
    ):
        return PropertyType.DATETIME
    return kind


def infer_plan(events: Iterable[Any], name: str = "Learned tracking plan") -> dict[str, Any]:
    """A plan document (ready for YAML) describing `events`."""
    stats: dict[str, _EventStats] = {}
    for event in events:
        if not isinstance(event, dict) or not isinstance(event.get("event"), str):
            continue
        entry = stats.setdefault(event["event"], _EventStats())
        entry.count += 1
        props = event.get("properties")
        props = props if isinstance(props, dict) else {}
        for key, value in props.items():
            if key in _SKIP or key.startswith("$"):
                continue
            entry.properties.setdefault(key, _PropertyStats()).add(value)
        for person_key, target in (("$set", entry.set), ("$set_once", entry.set_once)):
            merged: dict[str, Any] = {}
            for source in (props.get(person_key), event.get(person_key)):
                if isinstance(source, dict):
                    merged.update(source)
            for key, value in merged.items():
                target.setdefault(key, _PropertyStats()).add(value)
    doc: dict[str, Any] = {
        "version": PLAN_VERSION,
        "name": name,
        "allow_unplanned_events": False,
        "events": {},
    }
    for event_name in sorted(stats):
        entry = stats[event_name]
        spec: dict[str, Any] = {
            "description": f"Learned from {entry.count} event{'s' * (entry.count != 1)}.",
            "allow_unknown_properties": False,
        }
        if entry.properties:
            spec["properties"] = _describe(entry.properties, entry.count)
        if entry.set:
            spec["set"] = _describe(entry.set, entry.count)
        if entry.set_once:
            spec["set_once"] = _describe(entry.set_once, entry.count)
        doc["events"][event_name] = spec
    return doc


def _describe(props: dict[str, _PropertyStats], count: int) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key in sorted(props):
        p = props[key]
        types = set(p.types)
        if PropertyType.INTEGER in types and PropertyType.NUMBER in types:
            types.discard(PropertyType.INTEGER)  # 1 and 1.5 are both numbers
        if PropertyType.DATETIME in types and PropertyType.STRING in types:
            types.discard(PropertyType.DATETIME)  # some were not dates: it is text
        order = list(PropertyType)
        names = [t.value for t in sorted(types, key=order.index)]
        spec: dict[str, Any] = {"type": names[0] if len(names) == 1 else names}
        if p.seen == count:
            spec["required"] = True
        if (
            types == {PropertyType.STRING}
            and not p.too_many
            and p.strings
            and p.seen >= ENUM_MIN_REPEAT * len(p.strings)
        ):
            spec["enum"] = sorted(p.strings)
        result[key] = spec
    return result


LEARNED_HEADER = (
    "# A tracking plan learned by event-composer. Edit it: add descriptions, owners,\n"
    "# ranges and patterns; loosen what was only true of these samples.\n"
)


def render_plan(doc: dict[str, Any], header: str = LEARNED_HEADER) -> str:
    """A plan document as YAML that reads back to the same document, after `header`."""
    import yaml  # here, not at the top: the window starts without it

    from composer.core.plans.yaml12 import plan_dumper, read_yaml

    options: dict[str, Any] = {
        "Dumper": plan_dumper(),
        "sort_keys": False,
        "default_flow_style": None,
        "width": 100,
    }
    body: str = yaml.dump(doc, allow_unicode=True, **options)
    if read_yaml(body) != doc:
        # Some characters (NEL, line and paragraph separators) are line breaks to YAML when
        # written as they are; escaped, everything reads back exactly.
        body = yaml.dump(doc, allow_unicode=False, **options)
    return header + body
