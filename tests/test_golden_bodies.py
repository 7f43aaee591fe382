"""Built bodies match the tutorial key for key, and stay byte-stable (golden files).

Set UPDATE_GOLDEN=1 to rewrite the files after an intended change, then review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

from composer.core.capture import bodies
from composer.core.compose.payloads import (
    Composition,
    DistinctIdPlacement,
    PayloadKind,
    build_event,
)
from tests.conftest import TUTORIAL

GOLDEN = Path(__file__).parent / "golden"
KEY = "<ph_project_api_key>"
UUID = "0190d5b2-6c1a-7cc1-9a1b-4f3c2e1d0a9b"
PROPS = DistinctIdPlacement.PROPERTIES


def tutorial_bodies() -> dict[str, object]:
    """The tutorial's examples as the composer builds them from form inputs."""
    ian = "ian@posthog.com"
    return {
        "basic.curl": bodies.single_body(
            build_event(Composition(event="request", distinct_id=ian)), KEY
        ),
        "basic.python": bodies.single_body(
            build_event(Composition(event="request", distinct_id=ian, distinct_id_placement=PROPS)),
            KEY,
        ),
        "properties_timestamp.curl": bodies.single_body(
            build_event(
                Composition(
                    event="big_request",
                    distinct_id=ian,
                    properties={"request_size": "big", "api_request": True},
                    timestamp="2022-09-21 09:03:11.913767",
                )
            ),
            KEY,
        ),
        "properties_timestamp.python": bodies.single_body(
            build_event(
                Composition(
                    event="big_request",
                    distinct_id=ian,
                    distinct_id_placement=PROPS,
                    properties={"request_size": "big", "api_request": True},
                    timestamp="2022-10-21 09:03:11.913767",
                )
            ),
            KEY,
        ),
        "batch.curl": bodies.batch_body(
            [
                build_event(
                    Composition(
                        event="batched_event",
                        distinct_id=ian,
                        distinct_id_placement=PROPS,
                        properties={"number_in_batch": n},
                    )
                )
                for n in (1, 2)
            ],
            KEY,
        ),
        "identify.curl": bodies.single_body(
            build_event(
                Composition(
                    kind=PayloadKind.IDENTIFY,
                    distinct_id=ian,
                    set={"email": ian, "is_cool": True},
                )
            ),
            KEY,
        ),
        "identify.python": bodies.single_body(
            build_event(
                Composition(
                    kind=PayloadKind.IDENTIFY,
                    distinct_id=ian,
                    set={"email": ian, "is_cool": False},
                )
            ),
            KEY,
        ),
        "alias.curl": bodies.single_body(
            build_event(
                Composition(
                    kind=PayloadKind.ALIAS,
                    distinct_id=ian,
                    distinct_id_placement=PROPS,
                    alias="ian2@posthog.com",
                )
            ),
            KEY,
        ),
    }


def other_kinds() -> dict[str, object]:
    return {
        "event_full": bodies.single_body(
            build_event(
                Composition(
                    event="plan_upgraded",
                    distinct_id="user-1",
                    properties={
                        "plan": "team",
                        "seats": 5,
                        "trial": False,
                        "coupon": None,
                        "tags": ["a", "b"],
                        "meta": {"source": "web"},
                    },
                    set={"plan": "team"},
                    set_once={"first_plan": "free"},
                    groups={"company": "acme"},
                    process_person_profile=True,
                    timestamp="2024-05-01T12:00:00Z",
                    uuid=UUID,
                )
            ),
            "phc_test_key",
        ),
        "identify_merge": bodies.single_body(
            build_event(
                Composition(
                    kind=PayloadKind.IDENTIFY,
                    distinct_id="user-1",
                    anon_distinct_id="anon-9",
                    set={"email": "a@example.com"},
                    set_once={"signup": "2024-05-01"},
                    uuid=UUID,
                )
            ),
            "phc_test_key",
        ),
        "merge_dangerously": bodies.single_body(
            build_event(
                Composition(
                    kind=PayloadKind.MERGE_DANGEROUSLY,
                    distinct_id="user-1",
                    alias="user-2",
                    uuid=UUID,
                )
            ),
            "phc_test_key",
        ),
        "group_identify": bodies.single_body(
            build_event(
                Composition(
                    kind=PayloadKind.GROUP_IDENTIFY,
                    distinct_id="$company_acme",
                    group_type="company",
                    group_key="acme",
                    group_set={"name": "Acme"},
                    uuid=UUID,
                )
            ),
            "phc_test_key",
        ),
        "set": bodies.single_body(
            build_event(
                Composition(
                    kind=PayloadKind.SET, distinct_id="user-1", set={"plan": "team"}, uuid=UUID
                )
            ),
            "phc_test_key",
        ),
        "set_once": bodies.single_body(
            build_event(
                Composition(
                    kind=PayloadKind.SET_ONCE,
                    distinct_id="user-1",
                    set_once={"first_seen": "2024-05-01"},
                    uuid=UUID,
                )
            ),
            "phc_test_key",
        ),
        "batch_envelope_full": bodies.batch_body(
            [build_event(Composition(event="e", distinct_id="u", uuid=UUID))],
            "phc_test_key",
            historical_migration=True,
            sent_at="2024-05-01T12:00:00Z",
        ),
    }


@pytest.mark.parametrize("name", sorted(tutorial_bodies()))
def test_built_body_matches_the_tutorial_key_for_key(name: str) -> None:
    built = tutorial_bodies()[name]
    kind, flavour = name.split(".")
    source = TUTORIAL / f"{kind}.{flavour}.{'json' if flavour == 'curl' else 'txt'}"
    if flavour == "curl":
        expected = orjson.loads(source.read_bytes())
    else:
        from composer.core.jsonio import loads_python_literal

        expected = loads_python_literal(source.read_text())
    assert built == expected


ALL = {**tutorial_bodies(), **other_kinds()}


@pytest.mark.parametrize("name", sorted(ALL))
def test_rendered_body_is_byte_stable(name: str) -> None:
    rendered = bodies.render(ALL[name])
    path = GOLDEN / f"{name}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_bytes(rendered + b"\n")
    assert path.exists(), f"missing golden file {path.name}; run with UPDATE_GOLDEN=1"
    assert rendered + b"\n" == path.read_bytes()


def test_every_tutorial_example_has_a_built_counterpart() -> None:
    from composer.core.jsonio import loads_python_literal

    built = tutorial_bodies()
    for path in sorted(TUTORIAL.iterdir()):
        name = path.name.rsplit(".", 1)[0]
        if name in built:
            continue
        # The Python variants of the batch and alias examples send the same bodies as curl.
        kind = name.split(".")[0]
        assert loads_python_literal(path.read_text()) == built[f"{kind}.curl"], name
