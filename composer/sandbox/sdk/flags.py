"""Feature flags: `/flags` and `/decide` (remote evaluation) and the definitions for local
evaluation (`/flags/definitions`, `/api/feature_flag/local_evaluation`).

Shapes follow PostHog's flags service (rust/feature-flags/src/api/types.rs and endpoint.rs):

- `/flags` with v missing or 1: `LegacyFlagsResponse` (`featureFlags` + `featureFlagPayloads`).
- `/flags?v=2` (posthog-js, posthog-node) and v=3: `FlagsResponse`, one record per flag with
  `enabled`, `variant`, `reason` and `metadata`.
- `/flags?v=4` (posthog-python 7.x): the typed records of `FlagsResponseV3`, one `value` per
  flag instead of `enabled` and `variant`. posthog-python logs an INFO line once when records
  have no typed value (types.py `_UNTYPED_FLAGS_RESPONSE_MESSAGE`), so v=4 gets them.
- `/decide/`: v missing or 1 the list of active keys, v=2 the active values, v=3 the legacy
  flags shape, v>=4 the v=2 shape; config is on unless `config=false`.
- With neither `v` nor `config`, the service answers v=2 with config.

Payloads travel as JSON text, as PostHog stores them (`filters.payloads`); every SDK decodes
them (posthog-js `parsePayload`, python types.py `_parse_flag_payload`).

The definitions are built so that the SDKs' own local evaluation (python feature_flags.py
`match_feature_flag_properties`, @posthog/core featureFlagLocalEvaluation.js) reaches the value
the file gives, never by chance: every condition is a 100% rollout with an explicit variant,
overrides are exact matches on the `distinct_id` person property (both SDKs add it before local
evaluation: python client.py `_person_properties_for_local_evaluation`, node client.js
`personPropertiesForLocalEvaluation`), and the default condition excludes the overridden ids.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
import uuid
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from composer.core import jsonio
from composer.sandbox.sdk.answer import JSON, Answer, header, json_answer, text_answer
from composer.sandbox.sdk.flagfile import EMPTY, Flag, FlagSet, FlagValue, value_key
from composer.sandbox.sdk.remote_config import (
    DEFAULT_OPTIONS,
    RemoteConfigOptions,
    legacy_decide_config,
)

MAX_FLAGS_BODY = 5 * 1024 * 1024  # decompressed; far above any SDK's flags request


class FlagsRequestError(Exception):
    """A flags request the service would refuse; the message is the service's plain text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def answer(self) -> Answer:
        # The flags service answers errors as plain text (rust/feature-flags/src/api/errors.rs).
        return text_answer(self.status, self.message)


@dataclass(frozen=True)
class FlagsRequest:
    """What a `/flags` or `/decide` POST asks for."""

    token: str
    distinct_id: str
    flag_keys: tuple[str, ...] | None  # only these flags, when the SDK names them
    disable_flags: bool  # posthog-js asks for config only
    body: Mapping[str, Any]


@dataclass(frozen=True)
class Condition:
    """One release condition of a generated definition, in evaluation order."""

    value: FlagValue  # what a match gives
    include: tuple[str, ...] | None  # distinct ids it is limited to; None for everyone
    exclude: tuple[str, ...]  # distinct ids it leaves out


# -- reading a request -------------------------------------------------------------------------


def parse_query(query: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(query, keep_blank_values=True).items()}


def parse_version(raw: str | int | None) -> int | None:
    """The service's reading of `v`: empty is absent, anything unparsable is 1."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, int):
        return raw
    try:
        return int(raw.strip())
    except ValueError:
        return 1


def parse_bool(raw: str | None) -> bool | None:
    if raw is None or raw == "":
        return None
    return raw.strip().lower() in ("true", "1", "yes", "on")


def decode_flags_body(body: bytes, query: Mapping[str, str], content_type: str | None) -> Any:
    """The JSON a flags request carries, however posthog-js packed it.

    posthog-js sends JSON, or gzip with the `compression` parameter removed (request.js
    `buildRequestURL` drops it for gzip-js, so only the magic bytes tell), or a form body
    `data=<base64 JSON>` with `compression=base64` (request.js `encodePostData`). Server SDKs
    send plain JSON (python request.py `post`, @posthog/core `getFlags`).
    """
    data = body
    compression = (query.get("compression") or "").lower()
    if data[:2] == b"\x1f\x8b" or compression in ("gzip", "gzip-js"):
        try:
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            data = inflater.decompress(data, MAX_FLAGS_BODY)
        except zlib.error as exc:
            raise FlagsRequestError(
                400, f"Failed to decode request: bad gzip body ({exc})."
            ) from None
        if inflater.unconsumed_tail:
            raise FlagsRequestError(413, "Failed to decode request: body too large.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise FlagsRequestError(400, "Failed to decode request: the body is not UTF-8.") from None
    form = "x-www-form-urlencoded" in (content_type or "").lower()
    if form or text.startswith("data="):
        text = parse_query(text).get("data", "")
        if compression == "base64" or not text.lstrip().startswith("{"):
            text = _unbase64(text)
    elif compression == "base64":
        text = _unbase64(text)
    if not text.strip():
        raise FlagsRequestError(400, "Failed to decode request: the body is empty.")
    try:
        return jsonio.loads(text)
    except jsonio.JsonSyntaxError as exc:
        raise FlagsRequestError(
            400,
            f"Failed to parse request: {exc}. Please ensure your request is properly formatted "
            "and all required fields are present.",
        ) from None


def _unbase64(text: str) -> str:
    try:
        return base64.b64decode(text.strip() + "=" * (-len(text.strip()) % 4)).decode("utf-8")
    except (binascii.Error, ValueError):
        raise FlagsRequestError(400, "Failed to decode request: bad base64 body.") from None


def parse_flags_request(
    body: bytes, query: Mapping[str, str], headers: Mapping[str, str]
) -> FlagsRequest:
    data = decode_flags_body(body, query, header(headers, "content-type"))
    if not isinstance(data, dict):
        raise FlagsRequestError(400, "Failed to parse request: the body must be a JSON object.")
    # posthog-js and posthog-node send `token`, posthog-python `api_key` (request.py `post`).
    token = data.get("token") or data.get("api_key") or data.get("$token")
    if not isinstance(token, str) or not token.strip():
        raise FlagsRequestError(
            401, "No API token provided. Please include a valid API token in your request."
        )
    distinct_id = data.get("distinct_id")
    if distinct_id is None:
        raise FlagsRequestError(
            400,
            "The distinct_id field is missing from the request. Please include a valid identifier.",
        )
    if isinstance(distinct_id, int | float) and not isinstance(distinct_id, bool):
        distinct_id = str(distinct_id)  # the service reads numbers as their text
    if not isinstance(distinct_id, str) or not distinct_id.strip():
        raise FlagsRequestError(
            400, "The distinct_id field cannot be empty. Please provide a valid identifier."
        )
    # posthog-js names `flag_keys`, the server SDKs `flag_keys_to_evaluate`.
    keys = data.get("flag_keys_to_evaluate") or data.get("flag_keys")
    flag_keys = tuple(k for k in keys if isinstance(k, str)) if isinstance(keys, list) else None
    return FlagsRequest(
        token=token.strip(),
        distinct_id=distinct_id,
        flag_keys=flag_keys,
        disable_flags=data.get("disable_flags") is True,
        body=data,
    )


# -- remote evaluation -------------------------------------------------------------------------


def conditions(flag: Flag) -> list[Condition]:
    """The release conditions that give each distinct id its value, first match wins."""
    result: list[Condition] = []
    for value in flag.values()[1:]:
        if value is False or value == flag.default:
            continue  # an off override is left out of the default condition below
        ids = tuple(i for i, v in flag.overrides.items() if v == value)
        result.append(Condition(value, ids, ()))
    if flag.default is not False:
        exclude = tuple(i for i, v in flag.overrides.items() if v != flag.default)
        result.append(Condition(flag.default, None, exclude))
    return result


def matched_condition(flag: Flag, distinct_id: str) -> int | None:
    lowered = distinct_id.lower()
    for index, condition in enumerate(conditions(flag)):
        if condition.include is not None and lowered not in condition.include:
            continue
        if lowered in condition.exclude:
            continue
        return index
    return None


def _payload_text(flag: Flag, value: FlagValue) -> str | None:
    payload = flag.payload_for(value)
    return None if payload is None else jsonio.dumps_compact(payload).decode()


def _reason(index: int | None) -> dict[str, Any]:
    # FeatureFlagMatchReason's text and `get_reason_description` (types.rs).
    if index is None:
        return {
            "code": "no_condition_match",
            "condition_index": None,
            "description": "No matching condition set",
        }
    return {
        "code": "condition_match",
        "condition_index": index,
        "description": f"Matched condition set {index + 1}",
    }


def flag_record(flag: Flag, distinct_id: str) -> dict[str, Any]:
    """A `FlagDetails` record (`/flags?v=2`)."""
    value = flag.value_for(distinct_id)
    return {
        "key": flag.key,
        "enabled": value is not False,
        "variant": value if isinstance(value, str) else None,
        "reason": _reason(matched_condition(flag, distinct_id)),
        "metadata": {
            "id": flag.id,
            "version": 1,
            "description": flag.description,
            "payload": _payload_text(flag, value),
            "has_experiment": False,
        },
    }


def typed_flag_record(flag: Flag, distinct_id: str) -> dict[str, Any]:
    """A `FlagDetailsV3` record (`/flags?v=4`): a config-version-1 flag's typed value."""
    value = flag.value_for(distinct_id)
    metadata: dict[str, Any] = {
        "id": flag.id,
        "version": 1,
        "config_version": 1,
        "description": flag.description,
        "payload": _payload_text(flag, value),
        "has_experiment": False,
    }
    if isinstance(value, str):
        metadata["variant_key"] = value
    return {
        "key": flag.key,
        "value": value,
        "reason": _reason(matched_condition(flag, distinct_id)),
        "metadata": metadata,
    }


def flags_answer(
    version: int | str | None,
    flagset: FlagSet,
    distinct_id: str,
    *,
    decide: bool = False,
    config: bool | None = None,
    token: str = "",
    flag_keys: Sequence[str] | None = None,
    disable_flags: bool = False,
    options: RemoteConfigOptions = DEFAULT_OPTIONS,
    request_id: str | None = None,
    now_ms: int | None = None,
) -> Answer:
    """The answer to a flags request, in the shape its `v` (and `/decide`) asks for."""
    v = parse_version(version)
    if decide and config is None:
        config = True  # endpoint.rs: decide requests get config unless they turn it off
    if not decide and v is None and config is None:
        v, config = 2, True  # endpoint.rs: "Default to v=2 and config=true"
    selected = [
        flag
        for flag in flagset
        if not disable_flags and (flag_keys is None or flag.key in flag_keys)
    ]
    common: dict[str, Any] = {
        "requestId": request_id or str(uuid.uuid4()),
        "evaluatedAt": int(time.time() * 1000) if now_ms is None else now_ms,
    }
    values = {flag.key: flag.value_for(distinct_id) for flag in selected}
    body: dict[str, Any]
    if decide and (v is None or v < 2):
        # DecideV1Response: the keys of the active flags.
        body = {"featureFlags": [key for key, value in values.items() if value is not False]}
    elif decide and v == 2:
        # DecideV2Response: the active flags and their values.
        body = {"featureFlags": {k: value for k, value in values.items() if value is not False}}
    elif (decide and v == 3) or (not decide and (v is None or v < 2)):
        # LegacyFlagsResponse: every flag's value, and the payloads of those that have one.
        payloads = {
            flag.key: text
            for flag in selected
            if (text := _payload_text(flag, values[flag.key])) is not None
        }
        body = {
            "errorsWhileComputingFlags": False,
            "featureFlags": values,
            "featureFlagPayloads": payloads,
        }
    else:
        typed = not decide and v is not None and v >= 4
        make = typed_flag_record if typed else flag_record
        body = {
            "errorsWhileComputingFlags": False,
            "flags": {flag.key: make(flag, distinct_id) for flag in selected},
        }
    body.update(common)
    if config:
        # The config is flattened into the response; the flags fields win a clash.
        body = {**legacy_decide_config(token, flagset, options), **body}
    return json_answer(200, body)


def minimal_flags_answer(version: int | str | None, request_id: str | None = None) -> Answer:
    """`GET /flags`: no flags and the minimal config (endpoint.rs `get_minimal_flags_response`)."""
    config = {
        "supportedCompression": ["gzip", "gzip-js"],
        "config": {"enable_collect_everything": True},
        "toolbarParams": {},
        "isAuthenticated": False,
        "sessionRecording": False,
    }
    v = parse_version(version) or 1
    core: dict[str, Any] = {
        "errorsWhileComputingFlags": False,
        "requestId": request_id or str(uuid.uuid4()),
        "evaluatedAt": int(time.time() * 1000),
    }
    if v >= 2:
        core["flags"] = {}
    else:
        core["featureFlags"] = {}
        core["featureFlagPayloads"] = {}
    return json_answer(200, {**config, **core})


def flags_endpoint_answer(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    flagset: FlagSet = EMPTY,
    options: RemoteConfigOptions = DEFAULT_OPTIONS,
) -> Answer:
    """`/flags` and `/decide` end to end: method, query, body, then `flags_answer`."""
    params = parse_query(query)
    decide = path.rstrip("/").endswith("/decide")
    verb = method.upper()
    if verb == "HEAD":
        return Answer(200, {"Content-Type": JSON}, b"")
    if verb == "GET":
        return minimal_flags_answer(params.get("v"))
    if verb != "POST":
        return Answer(405, {"Allow": "GET, POST, OPTIONS, HEAD"}, b"")
    try:
        request = parse_flags_request(body, params, headers)
    except FlagsRequestError as exc:
        return exc.answer()
    # `only_evaluate_survey_feature_flags`: only flags that surveys use; the sandbox has no
    # surveys, so none (posthog-js merges this partial answer into what it has).
    survey_only = parse_bool(params.get("only_evaluate_survey_feature_flags"))
    return flags_answer(
        params.get("v"),
        flagset,
        request.distinct_id,
        decide=decide,
        config=parse_bool(params.get("config")),
        token=request.token,
        flag_keys=() if survey_only else request.flag_keys,
        disable_flags=request.disable_flags,
        options=options,
    )


# -- local evaluation ------------------------------------------------------------------------


def flag_definition(flag: Flag) -> dict[str, Any]:
    """One flag as `MinimalFeatureFlagSerializer` writes it for local evaluation."""
    groups: list[dict[str, Any]] = []
    for condition in conditions(flag):
        properties: list[dict[str, Any]] = []
        if condition.include is not None:
            properties.append(_distinct_id_filter("exact", condition.include))
        if condition.exclude:
            properties.append(_distinct_id_filter("is_not", condition.exclude))
        groups.append(
            {
                "properties": properties,
                "rollout_percentage": 100,
                "variant": condition.value if isinstance(condition.value, str) else None,
            }
        )
    multivariate = None
    if flag.variants:
        # Each condition names its variant, so the split never decides; it only has to list
        # every variant (SDKs ignore a condition's variant that is not listed) and sum to 100.
        lead = flag.default if isinstance(flag.default, str) else flag.variants[0]
        multivariate = {
            "variants": [
                {"key": v, "name": v, "rollout_percentage": 100 if v == lead else 0}
                for v in flag.variants
            ]
        }
    payloads = {
        value_key(value): text
        for value in flag.values()
        if value is not False and (text := _payload_text(flag, value)) is not None
    }
    return {
        "id": flag.id,
        "team_id": 1,
        "name": flag.description or flag.key,
        "key": flag.key,
        "filters": {
            "groups": groups,
            "multivariate": multivariate,
            "payloads": payloads,
            "aggregation_group_type_index": None,
        },
        "deleted": False,
        "active": True,
        "ensure_experience_continuity": False,
        "has_encrypted_payloads": False,
        "version": 1,
        "evaluation_runtime": "all",
        "evaluation_tags": [],
    }


def _distinct_id_filter(operator: str, ids: tuple[str, ...]) -> dict[str, Any]:
    return {"key": "distinct_id", "type": "person", "operator": operator, "value": list(ids)}


def local_evaluation_definitions(flagset: FlagSet) -> dict[str, Any]:
    """The body of `/flags/definitions` (local_evaluation.py `_get_flags_response_...`)."""
    return {
        "flags": [flag_definition(flag) for flag in flagset],
        "group_type_mapping": {},
        "cohorts": {},
    }


def local_evaluation_answer(
    flagset: FlagSet,
    headers: Mapping[str, str],
    query: str = "",
    *,
    personal_api_key: str | None = None,
) -> Answer:
    """`GET /flags/definitions?token=…&send_cohorts` (and the older `/api/feature_flag/
    local_evaluation`), with PostHog's ETag revalidation.

    The SDKs send the personal (or project secret) key as a Bearer token (python request.py
    `_get`, node feature-flags.js `getPersonalApiKeyRequestOptions`) and `If-None-Match` with
    the last ETag; both read 304 as "unchanged". Any key is accepted unless `personal_api_key`
    names the one to expect. 401 bodies carry `detail`, which posthog-python logs.
    """
    auth = header(headers, "authorization") or ""
    scheme, _, key = auth.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        return json_answer(
            401,
            {
                "type": "authentication_error",
                "code": "not_authenticated",
                "detail": "Local evaluation needs a personal API key (or a project secret key) "
                "sent as 'Authorization: Bearer <key>'; the sandbox accepts any value.",
            },
        )
    if personal_api_key is not None and key.strip() != personal_api_key:
        return json_answer(
            401,
            {
                "type": "authentication_error",
                "code": "authentication_failed",
                "detail": "This is not the sandbox's personal API key; use the one it shows.",
            },
        )
    if "token" not in parse_query(query):
        return text_answer(400, "Failed to deserialize query string: missing field `token`")
    body = jsonio.dumps_compact(local_evaluation_definitions(flagset))
    etag = hashlib.sha256(body).hexdigest()[:32]
    cache = {"ETag": f'W/"{etag}"', "Cache-Control": "private, must-revalidate"}
    wanted = (header(headers, "if-none-match") or "").strip()
    if wanted.removeprefix("W/").strip('"') == etag:
        return Answer(304, cache, b"")
    return Answer(200, {"Content-Type": JSON, **cache}, body)


def remote_config_payload_answer(flagset: FlagSet, key: str, headers: Mapping[str, str]) -> Answer:
    """`GET /api/projects/@current/feature_flags/<key>/remote_config?token=…`.

    PostHog answers the stored "true" payload, which is JSON text, as a JSON string
    (feature_flag.py `remote_config`); python returns it as is, node decodes it again
    (client.js `getRemoteConfigPayload`). A flag that does not exist is 404.
    """
    auth = header(headers, "authorization") or ""
    if not auth.lower().startswith("bearer ") or not auth[7:].strip():
        return json_answer(401, {"detail": "Authentication credentials were not provided."})
    flag = flagset.get(key)
    if flag is None:
        return Answer(404, {"Content-Type": JSON}, b"")
    payload = flag.payloads.get("true")
    return json_answer(200, None if payload is None else jsonio.dumps_compact(payload).decode())
