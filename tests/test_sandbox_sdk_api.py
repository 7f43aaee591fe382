"""The sandbox's SDK answers: each builder on its own, then the real posthog-python SDK.

The SDK tests run a throwaway HTTP server on 127.0.0.1 that routes to the builders (the glue
below is test-only; the sandbox's own server wires them in separately) and check that the SDK
gets the values the flags file gives, remotely and by local evaluation, sends capture v1, and
logs no warning or error while doing so.
"""

from __future__ import annotations

import base64
import gzip
import importlib.util
import json
import logging
import shutil
import subprocess
import threading
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from composer.sandbox.sdk import (
    FlagFileError,
    FlagSet,
    RemoteConfigOptions,
    SdkSettings,
    answer_sdk_request,
    build_remote_config,
    cors_headers,
    flags_answer,
    flags_endpoint_answer,
    folder_reader,
    load_flags,
    local_evaluation_answer,
    local_evaluation_definitions,
    parse_flags_request,
    preflight_answer,
    remote_config_answer,
    remote_config_payload_answer,
    sdk_route,
    static_asset_answer,
    v1_capture_answer,
)
from composer.sandbox.sdk.flags import FlagsRequestError

TOKEN = "phc_sandbox_sdk_api_test_0000000000000"
PERSONAL_KEY = "phx_sandbox_personal_key_for_tests"

FLAGS_JSON = """{"flags": {
  "new-checkout": true,
  "off-flag": false,
  "pricing": {"variant": "test", "payload": {"price": 10}, "variants": ["control", "test"]},
  "banner": {"enabled": true, "payload": "hello"},
  "beta": {"enabled": false, "overrides": {"alice": true}, "payloads": {"true": {"beta": 1}}},
  "layout": {"variant": "grid", "overrides": {"Bob": "list", "carol": false},
             "payloads": {"list": [1, 2]}}
}}"""

# What the file gives each person; every check below compares against this table.
EXPECTED: dict[str, dict[str, bool | str]] = {
    "alice": {"new-checkout": True, "off-flag": False, "pricing": "test", "banner": True,
              "beta": True, "layout": "grid"},
    "bob": {"new-checkout": True, "off-flag": False, "pricing": "test", "banner": True,
            "beta": False, "layout": "list"},
    "carol": {"new-checkout": True, "off-flag": False, "pricing": "test", "banner": True,
              "beta": False, "layout": False},
    "dave": {"new-checkout": True, "off-flag": False, "pricing": "test", "banner": True,
             "beta": False, "layout": "grid"},
}  # fmt: skip
EXPECTED_PAYLOADS: dict[str, dict[str, Any]] = {
    "alice": {"pricing": {"price": 10}, "banner": "hello", "beta": {"beta": 1}},
    "bob": {"pricing": {"price": 10}, "banner": "hello", "layout": [1, 2]},
    "carol": {"pricing": {"price": 10}, "banner": "hello"},
    "dave": {"pricing": {"price": 10}, "banner": "hello"},
}


@pytest.fixture(scope="module")
def flagset() -> FlagSet:
    return load_flags(FLAGS_JSON, filename="flags.json")


def body_of(answer: Any) -> Any:
    return orjson.loads(answer.body)


# -- the flags file ----------------------------------------------------------------------------


def test_the_flags_file_gives_each_person_their_values(flagset: FlagSet) -> None:
    assert flagset.keys() == ["new-checkout", "off-flag", "pricing", "banner", "beta", "layout"]
    for distinct_id, expected in EXPECTED.items():
        assert flagset.evaluate(distinct_id) == expected
        payloads = {
            f.key: f.payload_for(f.value_for(distinct_id))
            for f in flagset
            if f.payload_for(f.value_for(distinct_id)) is not None
        }
        assert payloads == EXPECTED_PAYLOADS[distinct_id]
    # Overrides match without regard to case, as PostHog's exact-match filter does.
    assert flagset.evaluate("BOB")["layout"] == "list"
    assert flagset.get("pricing").variants == ("control", "test")  # type: ignore[union-attr]
    assert [f.id for f in flagset] == [1, 2, 3, 4, 5, 6]


def test_yaml_flags_files_read_the_same() -> None:
    text = """
flags:
  new-checkout: true
  pricing:
    variant: test
    payload: {price: 10}
  beta:
    enabled: false
    overrides:
      alice: true
      42: true
"""
    flags = load_flags(text, filename="flags.yaml")
    assert flags.evaluate("alice") == {"new-checkout": True, "pricing": "test", "beta": True}
    assert flags.evaluate("42")["beta"] is True  # YAML reads `42:` as a number
    # Without a file name, text that is not JSON is read as YAML.
    assert load_flags(text).keys() == flags.keys()


@pytest.mark.parametrize("text", ["", "   \n", "{}", '{"flags": {}}', '{"flags": null}'])
def test_an_empty_flags_file_has_no_flags(text: str) -> None:
    assert len(load_flags(text)) == 0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"flags": {"a": true,}}', "not valid JSON at line 1, column"),
        ("flags:\n  a: [true\n", "not valid YAML at line"),
        ("[1, 2]", "must be an object like"),
        ('{"flag": {"a": true}}', "unknown top-level key 'flag'; put every flag under \"flags\""),
        ('{"flags": {"my flag": true}}', "flag 'my flag': not a valid flag key; use letters"),
        ('{"flags": {"a": "test"}}', 'a bare string is ambiguous; write {"variant": "test"}'),
        ('{"flags": {"a": 1}}', "expected true, false or an object"),
        ('{"flags": {"a": {"colour": "red"}}}', "unknown field 'colour'"),
        ('{"flags": {"a": {"enabled": "yes"}}}', '"enabled" must be true or false'),
        ('{"flags": {"a": {"variant": "x", "enabled": false}}}', "a flag with a variant is on"),
        ('{"flags": {"a": {"variant": "x y"}}}', "invalid variant 'x y'"),
        (
            '{"flags": {"a": {"variant": "x", "overrides": {"u1": true}}}}',
            "mixes true with variants ('x'). In PostHog a multivariate flag that is on always "
            "has a variant: use a variant name instead of true",
        ),
        (
            '{"flags": {"a": {"variant": "x", "variants": ["y"]}}}',
            "variant 'x' is used but not listed in \"variants\"; add it there",
        ),
        ('{"flags": {"a": {"variants": ["x", "x"]}}}', "variant 'x' is listed twice"),
        ('{"flags": {"a": {"enabled": false, "payload": 1}}}', '"payload" on a flag that is off'),
        ('{"flags": {"a": {"payloads": {"test": 1}}}}', "'test', which is not a value of this"),
        (
            '{"flags": {"a": {"payload": 1, "payloads": {"true": 2}}}}',
            "two payloads for 'true'",
        ),
        ('{"flags": {"a": {"overrides": ["u1"]}}}', '"overrides" must be an object'),
        ('{"flags": {"a": {"overrides": {"null": true}}}}', "PostHog treats as a placeholder"),
        ('{"flags": {"a": {"overrides": {"u1": 3}}}}', "must be true, false or a variant name"),
        (
            '{"flags": {"a": {"overrides": {"Ann": true, "ann": false}}}}',
            "is overridden twice; PostHog matches distinct ids without regard to case",
        ),
    ],
)
def test_flags_file_mistakes_say_where_and_how_to_fix(text: str, expected: str) -> None:
    with pytest.raises(FlagFileError) as caught:
        load_flags(text, filename="flags.json" if text.startswith(("{", "[")) else "flags.yaml")
    assert expected in str(caught.value)
    assert str(caught.value).startswith("flags.")  # names the file


# -- /flags and /decide ------------------------------------------------------------------------


def answer_for(flagset: FlagSet, version: Any, distinct_id: str = "bob", **kw: Any) -> Any:
    answer = flags_answer(version, flagset, distinct_id, request_id="r-1", now_ms=1, **kw)
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "application/json"
    return body_of(answer)


def test_flags_v2_records_carry_enabled_variant_and_payload_text(flagset: FlagSet) -> None:
    body = answer_for(flagset, "2")
    assert set(body) == {"errorsWhileComputingFlags", "flags", "requestId", "evaluatedAt"}
    assert body["requestId"] == "r-1"
    assert body["evaluatedAt"] == 1
    layout = body["flags"]["layout"]
    assert layout == {
        "key": "layout",
        "enabled": True,
        "variant": "list",
        "reason": {
            "code": "condition_match",
            "condition_index": 0,
            "description": "Matched condition set 1",
        },
        "metadata": {
            "id": 6,
            "version": 1,
            "description": None,
            "payload": "[1,2]",  # JSON text, as PostHog stores payloads
            "has_experiment": False,
        },
    }
    assert body["flags"]["beta"]["enabled"] is False
    assert body["flags"]["beta"]["variant"] is None
    assert body["flags"]["beta"]["reason"]["code"] == "no_condition_match"
    assert body["flags"]["beta"]["metadata"]["payload"] is None
    assert body["flags"]["banner"]["metadata"]["payload"] == '"hello"'
    assert answer_for(flagset, "3") == body  # v=3 is the v=2 shape outside /decide


def test_flags_v4_records_carry_a_typed_value(flagset: FlagSet) -> None:
    flags = answer_for(flagset, 4)["flags"]
    assert flags["layout"]["value"] == "list"
    assert flags["layout"]["metadata"]["config_version"] == 1
    assert flags["layout"]["metadata"]["variant_key"] == "list"
    assert flags["new-checkout"]["value"] is True
    assert "variant_key" not in flags["new-checkout"]["metadata"]
    assert flags["beta"]["value"] is False
    assert "enabled" not in flags["beta"]


def test_flags_v1_and_missing_version_with_config_false_are_the_legacy_shape(
    flagset: FlagSet,
) -> None:
    body = answer_for(flagset, "1", "alice")
    assert body["featureFlags"] == EXPECTED["alice"]
    assert body["featureFlagPayloads"] == {
        "pricing": '{"price":10}',
        "banner": '"hello"',
        "beta": '{"beta":1}',
    }
    assert "flags" not in body
    assert "supportedCompression" not in body
    assert answer_for(flagset, None, "alice", config=False)["featureFlags"] == EXPECTED["alice"]


def test_flags_without_version_or_config_is_v2_with_config(flagset: FlagSet) -> None:
    body = answer_for(flagset, None, token=TOKEN)
    assert "flags" in body
    assert body["supportedCompression"] == ["gzip", "gzip-js"]
    assert body["config"] == {"enable_collect_everything": True}
    assert body["isAuthenticated"] is False
    assert body["toolbarParams"] == {}
    assert body["autocapture_opt_out"] is False
    assert body["hasFeatureFlags"] is True


def test_decide_answers_by_version(flagset: FlagSet) -> None:
    v1 = answer_for(flagset, None, "carol", decide=True)
    assert v1["featureFlags"] == ["new-checkout", "pricing", "banner"]
    assert v1["sessionRecording"] is False  # decide has config unless asked not to
    v2 = answer_for(flagset, "2", "carol", decide=True)
    assert v2["featureFlags"] == {"new-checkout": True, "pricing": "test", "banner": True}
    v3 = answer_for(flagset, "3", "carol", decide=True)
    assert v3["featureFlags"] == EXPECTED["carol"]
    assert v3["featureFlagPayloads"]["pricing"] == '{"price":10}'
    v4 = answer_for(flagset, "4", "carol", decide=True)
    assert v4["flags"]["layout"]["enabled"] is False
    assert "config" not in answer_for(flagset, "3", "carol", decide=True, config=False)


def test_flag_keys_and_disable_flags_narrow_the_answer(flagset: FlagSet) -> None:
    assert list(answer_for(flagset, "2", flag_keys=["beta"])["flags"]) == ["beta"]
    assert answer_for(flagset, "2", flag_keys=["nope"])["flags"] == {}
    body = answer_for(flagset, "2", disable_flags=True, config=True)
    assert body["flags"] == {}
    assert "supportedCompression" in body


def test_parse_flags_request_reads_every_body_posthog_js_sends() -> None:
    payload = {"token": TOKEN, "distinct_id": "bob", "flag_keys": ["beta"]}
    raw = json.dumps(payload).encode()
    plain = parse_flags_request(raw, {}, {"Content-Type": "application/json"})
    gzipped = parse_flags_request(gzip.compress(raw), {}, {"Content-Type": "text/plain"})
    form = parse_flags_request(
        b"data=" + base64.b64encode(raw).replace(b"+", b"%2B"),
        {"compression": "base64"},
        {"content-type": "application/x-www-form-urlencoded"},
    )
    for request in (plain, gzipped, form):
        assert request.token == TOKEN
        assert request.distinct_id == "bob"
        assert request.flag_keys == ("beta",)
    # posthog-python sends api_key and flag_keys_to_evaluate; numbers are read as text.
    python = parse_flags_request(
        b'{"api_key": "phc_x", "distinct_id": 7, "flag_keys_to_evaluate": ["a"]}', {}, {}
    )
    assert (python.token, python.distinct_id, python.flag_keys) == ("phc_x", "7", ("a",))


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        (b'{"distinct_id": "a"}', 401, "No API token provided"),
        (b'{"token": "phc_x"}', 400, "distinct_id field is missing"),
        (b'{"token": "phc_x", "distinct_id": ""}', 400, "cannot be empty"),
        (b'{"token": ', 400, "Failed to parse request"),
        (b"", 400, "the body is empty"),
        (b"\x1f\x8bnot gzip", 400, "bad gzip body"),
        (b"[1]", 400, "must be a JSON object"),
    ],
)
def test_bad_flags_requests_get_the_services_errors(body: bytes, status: int, text: str) -> None:
    with pytest.raises(FlagsRequestError) as caught:
        parse_flags_request(body, {}, {})
    assert caught.value.status == status
    assert text in caught.value.message
    assert caught.value.answer().headers["Content-Type"].startswith("text/plain")


def test_the_flags_endpoint_handles_methods(flagset: FlagSet) -> None:
    get = flags_endpoint_answer("GET", "/flags/", "v=2", {}, b"", flagset)
    assert body_of(get)["flags"] == {}
    assert body_of(get)["sessionRecording"] is False
    assert "featureFlags" in body_of(flags_endpoint_answer("GET", "/flags", "", {}, b""))
    assert flags_endpoint_answer("HEAD", "/flags", "", {}, b"").body == b""
    assert flags_endpoint_answer("PUT", "/flags", "", {}, b"").status == 405
    post = flags_endpoint_answer(
        "POST", "/decide/", "v=2", {}, b'{"token": "t", "distinct_id": "alice"}', flagset
    )
    assert body_of(post)["featureFlags"]["beta"] is True
    survey_only = flags_endpoint_answer(
        "POST",
        "/flags/",
        "v=2&only_evaluate_survey_feature_flags=true",
        {},
        b'{"token": "t", "distinct_id": "a"}',
        flagset,
    )
    assert body_of(survey_only)["flags"] == {}


# -- local evaluation --------------------------------------------------------------------------

BEARER = {"Authorization": f"Bearer {PERSONAL_KEY}"}


def test_definitions_have_the_shape_the_sdks_poll(flagset: FlagSet) -> None:
    answer = local_evaluation_answer(flagset, BEARER, f"token={TOKEN}&send_cohorts")
    assert answer.status == 200
    body = body_of(answer)
    assert set(body) == {"flags", "group_type_mapping", "cohorts"}
    layout = next(f for f in body["flags"] if f["key"] == "layout")
    assert layout["active"] is True
    assert layout["deleted"] is False
    assert layout["ensure_experience_continuity"] is False
    assert layout["filters"]["groups"] == [
        {
            "properties": [
                {"key": "distinct_id", "type": "person", "operator": "exact", "value": ["bob"]}
            ],
            "rollout_percentage": 100,
            "variant": "list",
        },
        {
            "properties": [
                {
                    "key": "distinct_id",
                    "type": "person",
                    "operator": "is_not",
                    "value": ["bob", "carol"],
                }
            ],
            "rollout_percentage": 100,
            "variant": "grid",
        },
    ]
    assert layout["filters"]["multivariate"] == {
        "variants": [
            {"key": "grid", "name": "grid", "rollout_percentage": 100},
            {"key": "list", "name": "list", "rollout_percentage": 0},
        ]
    }
    assert layout["filters"]["payloads"] == {"list": "[1,2]"}
    off = next(f for f in body["flags"] if f["key"] == "off-flag")
    assert off["filters"]["groups"] == []  # no condition can match: off for everyone


def test_definitions_revalidate_with_the_etag(flagset: FlagSet) -> None:
    first = local_evaluation_answer(flagset, BEARER, f"token={TOKEN}")
    etag = first.headers["ETag"]
    assert etag.startswith('W/"')
    again = local_evaluation_answer(flagset, {**BEARER, "If-None-Match": etag}, f"token={TOKEN}")
    assert (again.status, again.body, again.headers["ETag"]) == (304, b"", etag)
    changed = load_flags('{"flags": {"new-checkout": false}}')
    assert (
        local_evaluation_answer(changed, {**BEARER, "If-None-Match": etag}, "token=t").status == 200
    )


def test_definitions_need_a_bearer_key(flagset: FlagSet) -> None:
    missing = local_evaluation_answer(flagset, {}, f"token={TOKEN}")
    assert missing.status == 401
    assert "Authorization: Bearer" in body_of(missing)["detail"]  # posthog-python logs `detail`
    wrong = local_evaluation_answer(
        flagset, {"authorization": "Bearer phx_other"}, "token=t", personal_api_key=PERSONAL_KEY
    )
    assert wrong.status == 401
    right = local_evaluation_answer(flagset, BEARER, "token=t", personal_api_key=PERSONAL_KEY)
    assert right.status == 200
    assert local_evaluation_answer(flagset, BEARER, "send_cohorts").status == 400


def _evaluate_definition(definition: dict[str, Any], distinct_id: str) -> bool | str:
    from posthog.feature_flags import match_feature_flag_properties

    return match_feature_flag_properties(
        definition,
        distinct_id,
        {"distinct_id": distinct_id},
        bucketing_value=distinct_id,
    )


def test_posthog_pythons_own_evaluator_agrees_with_the_file(flagset: FlagSet) -> None:
    definitions = local_evaluation_definitions(flagset)["flags"]
    for distinct_id, expected in EXPECTED.items():
        got = {d["key"]: _evaluate_definition(d, distinct_id) for d in definitions}
        assert got == expected, distinct_id


_IDS = ["alice", "Bob", "carol", "dave-1", "e@x.com", "f_99"]


@st.composite
def flag_specs(draw: st.DrawFn) -> dict[str, Any]:
    variants = draw(
        st.lists(st.sampled_from(["control", "test", "grid", "list"]), unique=True, max_size=3)
    )
    values: list[Any] = [*variants, False] if variants else [True, False]
    spec: dict[str, Any] = {}
    default = draw(st.sampled_from(values))
    if isinstance(default, str):
        spec["variant"] = default
    else:
        spec["enabled"] = default
    if variants:
        spec["variants"] = variants
    overridden = draw(st.lists(st.sampled_from(_IDS), unique=True, max_size=4))
    spec["overrides"] = {i: draw(st.sampled_from(values)) for i in overridden}
    return spec


@settings(max_examples=60, deadline=None)
@given(specs=st.lists(flag_specs(), min_size=1, max_size=4))
def test_local_definitions_evaluate_to_the_remote_answer_for_anyone(
    specs: list[dict[str, Any]],
) -> None:
    flags = load_flags(json.dumps({"flags": {f"f{i}": s for i, s in enumerate(specs)}}))
    definitions = local_evaluation_definitions(flags)["flags"]
    for distinct_id in [*_IDS, "someone-else", "ALICE"]:
        remote = body_of(flags_answer("4", flags, distinct_id))["flags"]
        for definition in definitions:
            local = _evaluate_definition(definition, distinct_id)
            assert local == remote[definition["key"]]["value"], (definition, distinct_id)


def test_remote_config_payloads_answer_the_true_payload_as_json_text(flagset: FlagSet) -> None:
    answer = remote_config_payload_answer(flagset, "banner", BEARER)
    assert (answer.status, body_of(answer)) == (200, '"hello"')
    assert body_of(remote_config_payload_answer(flagset, "pricing", BEARER)) is None
    assert remote_config_payload_answer(flagset, "missing", BEARER).status == 404
    assert remote_config_payload_answer(flagset, "banner", {}).status == 401


# -- remote config -----------------------------------------------------------------------------


def test_remote_config_json_enables_what_production_enables(flagset: FlagSet) -> None:
    answer = remote_config_answer(TOKEN, False, flagset)
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "application/json"
    config = body_of(answer)
    assert config["token"] == TOKEN
    assert config["supportedCompression"] == ["gzip", "gzip-js"]
    assert config["autocapture_opt_out"] is False
    assert config["analytics"] == {"endpoint": "/i/v0/e/"}
    assert config["elementsChainAsString"] is True
    assert config["hasFeatureFlags"] is True
    assert config["defaultIdentifiedOnly"] is True
    assert config["siteApps"] == []
    # Nothing on that would make posthog-js fetch a script the sandbox does not serve.
    for key in ("sessionRecording", "heatmaps", "surveys", "capturePerformance"):
        assert config[key] is False, key
    assert build_remote_config(TOKEN)["hasFeatureFlags"] is False


def test_remote_config_options_turn_features_on() -> None:
    options = RemoteConfigOptions(
        autocapture=False, session_recording=True, heatmaps=True, capture_performance=True
    )
    config = build_remote_config(TOKEN, options=options)
    assert config["autocapture_opt_out"] is True
    assert config["sessionRecording"]["endpoint"] == "/s/"
    assert config["sessionRecording"]["recorderVersion"] == "v2"
    assert config["heatmaps"] is True
    assert config["capturePerformance"]["web_vitals"] is True


def test_remote_config_js_sets_the_global_posthog_js_reads(flagset: FlagSet) -> None:
    answer = remote_config_answer(TOKEN, True, flagset)
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "application/javascript"
    script = answer.body.decode()
    assert "window._POSTHOG_REMOTE_CONFIG[" in script
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed; the script's text was checked above")
    probe = (
        "const window = {};\n" + script + "\n"
        f"process.stdout.write(JSON.stringify(window._POSTHOG_REMOTE_CONFIG[{json.dumps(TOKEN)}]))"
    )
    run = subprocess.run(
        [node, "-e", probe], capture_output=True, text=True, timeout=30, check=False
    )
    assert run.returncode == 0, run.stderr
    loaded = json.loads(run.stdout)
    assert loaded["siteApps"] == []
    assert loaded["config"]["supportedCompression"] == ["gzip", "gzip-js"]
    assert "siteApps" not in loaded["config"]  # the script's config has none, as PostHog's


@pytest.mark.parametrize("token", ["", "a'b", "a/b"])
def test_remote_config_without_a_usable_token_is_not_found(token: str) -> None:
    assert remote_config_answer(token, True).status == 404


# -- capture v1 --------------------------------------------------------------------------------


def v1_headers(**extra: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {TOKEN}",
        "Content-Type": "application/json",
        "User-Agent": "posthog-python/7.91.1",
        "PostHog-Sdk-Info": "posthog-python/7.91.1",
        "PostHog-Attempt": "1",
        "PostHog-Request-Id": str(uuid.uuid4()),
        "PostHog-Request-Timestamp": "2026-01-02T03:04:05.678+00:00",
        **extra,
    }


def v1_event(**extra: Any) -> dict[str, Any]:
    return {
        "event": "signed_up",
        "uuid": str(uuid.uuid4()),
        "distinct_id": "alice",
        "timestamp": "2026-01-02T03:04:05+00:00",
        "options": {},
        "properties": {"plan": "team"},
        **extra,
    }


def v1_body(*events: dict[str, Any]) -> bytes:
    return orjson.dumps({"created_at": "2026-01-02T03:04:06+00:00", "batch": list(events)})


def test_capture_v1_answers_a_result_per_event() -> None:
    good = v1_event(session_id="s-1", options={"process_person_profile": False})
    placeholder = v1_event(distinct_id="anonymous")
    nameless = v1_event(event="")
    bad_time = v1_event(timestamp="yesterday")
    bad_options = v1_event(options={"cookieless_mode": "maybe"})
    outcome = v1_capture_answer(
        "POST", v1_headers(), v1_body(good, placeholder, nameless, bad_time, bad_options)
    )
    assert outcome.answer.status == 200
    assert outcome.token == TOKEN
    assert body_of(outcome.answer) == {
        "results": {
            good["uuid"]: {"result": "ok"},
            placeholder["uuid"]: {"result": "warning", "details": "person_processing_disabled"},
            nameless["uuid"]: {"result": "drop", "details": "missing_event_name"},
            bad_time["uuid"]: {"result": "drop", "details": "invalid_event_timestamp"},
            bad_options["uuid"]: {"result": "drop", "details": "invalid_options"},
        }
    }
    stored = outcome.accepted
    assert [e["uuid"] for e in stored] == [good["uuid"], placeholder["uuid"]]
    assert stored[0]["properties"] == {
        "plan": "team",
        "$lib": "posthog-python",
        "$lib_version": "7.91.1",
        "$session_id": "s-1",
        "$process_person_profile": False,
    }
    assert outcome.legacy_batch() == {"api_key": TOKEN, "batch": stored}


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_capture_v1_reads_compressed_bodies(encoding: str) -> None:
    event = v1_event()
    raw = v1_body(event)
    packed = gzip.compress(raw) if encoding == "gzip" else zlib.compress(raw)
    outcome = v1_capture_answer("POST", v1_headers(**{"Content-Encoding": encoding}), packed)
    assert body_of(outcome.answer) == {"results": {event["uuid"]: {"result": "ok"}}}


@pytest.mark.parametrize(
    ("headers", "body", "status", "tag", "text"),
    [
        ({"Authorization": None}, None, 401, "missing_authorization", "Authorization"),
        ({"PostHog-Sdk-Info": None, "User-Agent": None}, None, 400, "missing_required_headers",
         "['User-Agent', 'PostHog-Sdk-Info']"),
        ({"Authorization": "Basic abc"}, None, 400, "invalid_header_value", "Bearer scheme"),
        ({"Authorization": "Bearer phx_personal"}, None, 401, "invalid_api_token",
         "personal API key"),
        ({"Content-Type": "text/plain"}, None, 415, "unsupported_content_type", "text/plain"),
        ({"Content-Encoding": "lz4"}, None, 415, "unsupported_encoding", "lz4"),
        ({"PostHog-Attempt": "0"}, None, 400, "invalid_header_value", "positive integer"),
        ({"PostHog-Request-Id": "x"}, None, 400, "invalid_header_value", "not a valid UUID"),
        ({"PostHog-Request-Timestamp": "2026-01-02"}, None, 400, "invalid_header_value", "3339"),
        ({}, b"{", 400, "request_parsing_error", "Failed to parse"),
        ({}, b"", 400, "empty_body", "empty"),
        ({}, b'{"created_at": "2026-01-02T03:04:06Z", "batch": []}', 400, "empty_batch", "empty"),
        ({}, b'{"created_at": "now", "batch": [{"event": "e", "uuid": "u", "distinct_id": "d",'
         b' "timestamp": "t"}]}', 400, "invalid_batch", "created_at"),
        ({}, b'{"created_at": "2026-01-02T03:04:06Z", "batch": [{"event": "e"}]}', 400,
         "request_parsing_error", "batch[0].uuid is missing"),
    ],
)  # fmt: skip
def test_capture_v1_refusals_match_the_service(
    headers: dict[str, str | None], body: bytes | None, status: int, tag: str, text: str
) -> None:
    merged = {k: v for k, v in {**v1_headers(), **headers}.items() if v is not None}
    outcome = v1_capture_answer("POST", merged, v1_body(v1_event()) if body is None else body)
    assert outcome.answer.status == status
    error = body_of(outcome.answer)
    assert error["error"] == tag == outcome.error
    assert text in error["error_description"]
    assert error["error_uri"] == "https://posthog.com/docs/api"
    assert outcome.events == ()


def test_capture_v1_refuses_repeated_or_bad_uuids() -> None:
    event = v1_event()
    repeated = v1_capture_answer("POST", v1_headers(), v1_body(event, event))
    assert body_of(repeated.answer)["error"] == "duplicate_event_uuid"
    bad = v1_capture_answer("POST", v1_headers(), v1_body(v1_event(uuid="nope")))
    assert body_of(bad.answer)["error"] == "invalid_event_uuid"
    assert v1_capture_answer("GET", v1_headers(), b"").answer.status == 405


def test_capture_v1_names_the_package_a_zstd_body_needs() -> None:
    if importlib.util.find_spec("zstandard") is not None:
        pytest.skip("zstandard is installed here, so zstd bodies are read")
    outcome = v1_capture_answer("POST", v1_headers(**{"Content-Encoding": "zstd"}), b"x")
    assert outcome.answer.status == 415
    assert "capture_compression='gzip'" in body_of(outcome.answer)["error_description"]


# -- posthog-js's own scripts -------------------------------------------------------------------


def test_static_scripts_come_from_a_posthog_js_dist_folder(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "surveys.js").write_text("window.__PosthogExtensions__ = {};")
    (tmp_path / "secret.js").write_text("nope")
    reader = folder_reader(dist)
    versioned = static_asset_answer("/static/1.449.2/surveys.js", reader)
    assert versioned.status == 200
    assert versioned.headers["Content-Type"] == "application/javascript"
    assert versioned.body == b"window.__PosthogExtensions__ = {};"
    assert static_asset_answer("/static/surveys.js", reader).status == 200
    assert static_asset_answer("/static/recorder.js", reader).status == 404
    assert reader("../secret.js") is None
    unset = static_asset_answer("/static/1.449.2/surveys.js", None)
    assert unset.status == 404
    assert "disable_surveys: true" in unset.body.decode()
    routed = answer_sdk_request(
        "GET",
        "/static/surveys.js",
        "v=1.449.2",
        {"Origin": "http://localhost:3000"},
        b"",
        SdkSettings(read_asset=reader),
    )
    assert routed is not None
    assert routed.answer.status == 200
    # Loaded by <script crossorigin="anonymous">, so it needs CORS like the rest.
    assert routed.answer.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"


# -- CORS and routing --------------------------------------------------------------------------


def test_preflight_echoes_what_the_browser_asks_for() -> None:
    asked = {
        "Origin": "http://localhost:3000",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-app-header",
        "Access-Control-Request-Private-Network": "true",
    }
    answer = preflight_answer(asked)
    assert answer.status == 204
    assert answer.body == b""
    assert answer.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert answer.headers["Access-Control-Allow-Credentials"] == "true"
    assert answer.headers["Access-Control-Allow-Headers"] == "content-type,x-app-header"
    assert "POST" in answer.headers["Access-Control-Allow-Methods"]
    assert answer.headers["Access-Control-Allow-Private-Network"] == "true"
    assert answer.headers["Access-Control-Max-Age"] == "7200"
    anonymous = cors_headers({})
    assert anonymous["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in anonymous  # never with "*"


@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/flags/", "flags"),
        ("/flags", "flags"),
        ("/decide/", "decide"),
        ("/flags/definitions", "definitions"),
        ("/api/feature_flag/local_evaluation/", "definitions"),
        ("/array/phc_x/config", "config"),
        ("/array/phc_x/config.js", "config.js"),
        ("/i/v1/analytics/events", "v1_capture"),
        ("/api/projects/@current/feature_flags/banner/remote_config", "remote_config_payload"),
        ("/api/surveys/", "surveys"),
        ("/api/early_access_features/", "early_access_features"),
        ("/api/web_experiments/", "web_experiments"),
        ("/api/product_tours/", "product_tours"),
        ("/e/", None),
        ("/batch/", None),
        ("/i/v0/e/", None),
        ("/array/phc_x/array.js", None),
        ("/static/1.449.2/surveys.js", "static"),
        ("/static/surveys.js", "static"),
        ("/static/../secret.js", None),
        ("/static/1.0/sub/x.js", None),
    ],
)
def test_sdk_routes(path: str, route: str | None) -> None:
    assert sdk_route(path) == route


def test_every_sdk_answer_carries_cors(flagset: FlagSet) -> None:
    origin = {"Origin": "http://localhost:5173"}
    settings_ = SdkSettings(flagset=flagset)
    for method, path, query, body in [
        ("POST", "/flags/", "v=2", b'{"token": "t", "distinct_id": "a"}'),
        ("POST", "/flags/", "v=2", b"{"),
        ("GET", "/array/phc_x/config", "", b""),
        ("GET", "/api/surveys/", "token=t", b""),
        ("POST", "/i/v1/analytics/events", "", b""),
        ("OPTIONS", "/flags/", "", b""),
    ]:
        routed = answer_sdk_request(method, path, query, origin, body, settings_)
        assert routed is not None
        assert routed.answer.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"
    surveys = answer_sdk_request("GET", "/api/surveys/", "token=t", {}, b"", settings_)
    assert surveys is not None
    assert body_of(surveys.answer) == {"surveys": []}
    assert answer_sdk_request("GET", "/batch/", "", {}, b"", settings_) is None
    posted = answer_sdk_request("POST", "/array/t/config", "", {}, b"", settings_)
    assert posted is not None
    assert posted.answer.status == 405


# -- the real posthog-python SDK -----------------------------------------------------------------


@dataclass
class FakePostHog:
    """Test-only glue: a loopback HTTP server that answers with the builders."""

    settings: SdkSettings
    url: str = ""
    requests: list[tuple[str, str]] = field(default_factory=list)
    batches: list[dict[str, Any]] = field(default_factory=list)
    v1: list[Any] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> FakePostHog:
        glue = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                headers = dict(self.headers.items())
                glue.requests.append((self.command, self.path))
                routed = answer_sdk_request(
                    self.command, split.path, split.query, headers, body, glue.settings
                )
                if routed is not None:
                    status, reply_headers, reply = routed.answer
                    if routed.capture is not None:
                        glue.v1.append(routed.capture)
                elif split.path.rstrip("/") == "/batch":
                    # Legacy capture stays with composer.core.capture in the real sandbox.
                    raw = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
                    glue.batches.append(orjson.loads(raw))
                    status, reply_headers, reply = (
                        200,
                        {"Content-Type": "application/json"},
                        (b'{"status":"Ok"}'),
                    )
                else:
                    status, reply_headers, reply = 404, {}, b""
                self.send_response(status)
                for name, value in reply_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(reply)

            do_GET = do_POST = do_OPTIONS = do_HEAD = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self

    def stop(self) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    def paths(self) -> list[str]:
        return [path for _, path in self.requests]


@pytest.fixture
def fake_posthog(flagset: FlagSet) -> Iterator[FakePostHog]:
    import posthog.request

    server = FakePostHog(SdkSettings(flagset=flagset, personal_api_key=PERSONAL_KEY)).start()
    yield server
    server.stop()
    # The SDK pools connections module-wide; close them with the server they point at.
    posthog.request.reset_sessions()


@pytest.fixture
def sdk_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="posthog")
    return caplog


def assert_sdk_logged_nothing_bad(caplog: pytest.LogCaptureFixture) -> None:
    bad = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("posthog") and r.levelno >= logging.WARNING
    ]
    assert bad == []
    # posthog-python's note for a server without /flags?v=4 typed values, at INFO.
    assert not [r for r in caplog.records if "no typed flag values" in r.getMessage()]


# The per-flag getters the brief asks about are deprecated in 7.x in favour of
# evaluate_flags(); both are checked, and the deprecation is the only warning allowed.
deprecated_getters = pytest.mark.filterwarnings("ignore:`.*` is deprecated:DeprecationWarning")


def _client(server: FakePostHog, **kw: Any) -> Any:
    from posthog import Posthog

    # debug=True: the SDK raises instead of swallowing what it would otherwise only log.
    return Posthog(TOKEN, host=server.url, sync_mode=True, debug=True, **kw)


@deprecated_getters
def test_posthog_python_remote_evaluation(
    fake_posthog: FakePostHog, sdk_logs: pytest.LogCaptureFixture
) -> None:
    client = _client(fake_posthog)
    try:
        for distinct_id, expected in EXPECTED.items():
            for key, value in expected.items():
                assert client.get_feature_flag(key, distinct_id) == value, (key, distinct_id)
                assert client.feature_enabled(key, distinct_id) is (value is not False)
                assert client.get_feature_flag_payload(key, distinct_id) == (
                    EXPECTED_PAYLOADS[distinct_id].get(key)
                ), (key, distinct_id)
            assert client.get_all_flags(distinct_id) == expected
            flags = client.evaluate_flags(distinct_id)
            for key, value in expected.items():
                assert flags.get_flag(key) == value
                assert flags.is_enabled(key) is (value is not False)
        assert client.get_feature_flag("no-such-flag", "alice") is None
    finally:
        client.shutdown()
    assert set(fake_posthog.paths()) == {"/flags/?v=4", "/batch/"}
    # The SDK reported each read as PostHog expects, with the request id it was given.
    called = [e for b in fake_posthog.batches for e in b["batch"]]
    assert called
    assert all(e["event"] == "$feature_flag_called" for e in called)
    reasons = {e["properties"].get("$feature_flag_reason") for e in called}
    assert {"Matched condition set 1", "Matched condition set 2"} <= reasons
    assert_sdk_logged_nothing_bad(sdk_logs)


@deprecated_getters
def test_posthog_python_local_evaluation(
    fake_posthog: FakePostHog, sdk_logs: pytest.LogCaptureFixture
) -> None:
    client = _client(fake_posthog, personal_api_key=PERSONAL_KEY)
    try:
        client.load_feature_flags()
        for distinct_id, expected in EXPECTED.items():
            for key, value in expected.items():
                got = client.get_feature_flag(
                    key, distinct_id, only_evaluate_locally=True, send_feature_flag_events=False
                )
                assert got == value, (key, distinct_id)
                assert client.get_feature_flag_payload(
                    key, distinct_id, only_evaluate_locally=True
                ) == (EXPECTED_PAYLOADS[distinct_id].get(key)), (key, distinct_id)
            assert client.get_all_flags(distinct_id, only_evaluate_locally=True) == expected
            # Without only_evaluate_locally too: nothing is left for /flags to answer.
            assert client.get_all_flags(distinct_id) == expected
        client.load_feature_flags()  # revalidates with the ETag: 304, definitions kept
        assert client.get_feature_flag("layout", "bob", only_evaluate_locally=True) == "list"
    finally:
        client.shutdown()
    paths = fake_posthog.paths()
    assert f"/flags/definitions?token={TOKEN}&send_cohorts" in paths
    assert not [p for p in paths if p.startswith("/flags/?")]  # all of it evaluated locally
    assert_sdk_logged_nothing_bad(sdk_logs)


@pytest.mark.parametrize("compression", ["none", "gzip", "deflate"])
def test_posthog_python_capture_v1(
    fake_posthog: FakePostHog, sdk_logs: pytest.LogCaptureFixture, compression: str
) -> None:
    errors: list[Any] = []
    client = _client(
        fake_posthog,
        capture_mode="v1",
        capture_compression=compression,
        on_error=lambda error, batch: errors.append(error),
    )
    try:
        client.capture("signed_up", distinct_id="alice", properties={"plan": "team"})
        client.capture("$pageview", distinct_id="alice", properties={"$session_id": "s-1"})
        client.flush()
    finally:
        client.shutdown()
    assert errors == []
    assert fake_posthog.v1, fake_posthog.requests
    stored = [e for outcome in fake_posthog.v1 for e in outcome.accepted]
    assert [e["event"] for e in stored] == ["signed_up", "$pageview"]
    assert stored[0]["properties"]["$lib"] == "posthog-python"
    assert stored[0]["properties"]["plan"] == "team"
    assert stored[1]["properties"]["$session_id"] == "s-1"
    assert all(outcome.answer.status == 200 for outcome in fake_posthog.v1)
    assert_sdk_logged_nothing_bad(sdk_logs)
