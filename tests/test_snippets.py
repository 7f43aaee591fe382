"""Snippets and paste from code, in the core: no key leaks, exact literals, and the tutorial.

- No snippet of any language carries a known key unless the user asked to include it: not the
  target's key, not one in the body's token fields, properties.token or inside a value.
- Python literals read back (ast.literal_eval) as the value they were written from.
- Each curl example of the PostHog capture tutorial (a verbatim copy in tests/data), pasted,
  gives the body the golden files hold; so does each Python example; and every curl and Python
  snippet the composer writes reads back as its body (a round trip).
- Malformed input gets a message that says what and where.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from composer.core.capture import bodies
from composer.core.jsonio import loads_python_literal
from composer.core.snippets import IDS, SnippetRequest, generate
from composer.core.snippets.events import big_integers
from composer.core.snippets.literals import JAVASCRIPT, PYTHON, literal
from composer.core.snippets.model import KEY_SENTINEL
from composer.core.snippets.paste import PasteError, paste
from tests.conftest import DATA, TUTORIAL

GOLDEN = Path(__file__).parent / "golden"
KEY = "phc_target_key_never_in_a_snippet_0001"
OTHER = "phc_key_pasted_in_the_json_body_0002"
UUID = "0190d5b2-6c1a-7cc1-9a1b-4f3c2e1d0a9b"


def golden(name: str) -> Any:
    return orjson.loads((GOLDEN / f"{name}.json").read_bytes())


def bodies_with_keys() -> dict[str, tuple[Any, str]]:
    event = {"event": "e", "distinct_id": "u", "uuid": UUID, "properties": {"token": OTHER}}
    inside = {"event": "e", "distinct_id": "u", "properties": {"note": f"my key is {KEY}!"}}
    return {
        "single": (bodies.single_body(event, KEY), "/i/v0/e/"),
        "envelope": (bodies.batch_body([event, dict(event, api_key=OTHER)], KEY), "/batch/"),
        "array": ([bodies.single_body(event, OTHER), bodies.single_body(inside, KEY)], "/e/"),
        "history": (bodies.single_body(event, bodies.mask_key(KEY)), "/capture/"),
        "no key": (inside, "/i/v0/e/"),
    }


@pytest.mark.parametrize("language", IDS)
@pytest.mark.parametrize("case", sorted(bodies_with_keys()))
def test_no_snippet_carries_a_key_unless_asked(language: str, case: str) -> None:
    body, endpoint = bodies_with_keys()[case]
    request = SnippetRequest(body, endpoint, "https://eu.i.posthog.com", key=KEY, secrets=(OTHER,))
    snippet = generate(language, request)
    for secret in (KEY, OTHER):
        assert secret not in snippet.code
    assert "POSTHOG_PROJECT_API_KEY" in snippet.code
    assert KEY_SENTINEL not in snippet.code
    assert "https://eu.i.posthog.com" in snippet.code

    included = generate(language, SnippetRequest(body, endpoint, key=KEY, include_key=True))
    assert KEY in included.code
    assert "do not commit it" in included.code


def test_asking_for_the_key_without_one_reads_the_environment() -> None:
    snippet = generate("curl", SnippetRequest(golden("basic.curl"), include_key=True, key=""))
    assert '"$POSTHOG_PROJECT_API_KEY"' in snippet.code
    assert any("no project key to include" in note for note in snippet.notes)


def test_a_key_inside_a_value_is_masked_and_said_so() -> None:
    body = {"event": "e", "distinct_id": "u", "properties": {"note": f"key {KEY}"}}
    snippet = generate("python-requests", SnippetRequest(body, key=KEY))
    assert bodies.mask_key(KEY) in snippet.code
    assert any("masked" in note for note in snippet.notes)


def test_curl_sends_the_previews_exact_bytes() -> None:
    body = golden("event_full")
    code = generate("curl", SnippetRequest(body, key="phc_test_key")).code
    data = code.split("--data-binary ", 1)[1].rstrip("\n")
    # Undo the shell quoting: '...'"$KEY"'...' with the key at the splice.
    text = data.replace("'\"$POSTHOG_PROJECT_API_KEY\"'", "phc_test_key")
    assert text.startswith("'")
    assert text.endswith("'")
    assert text[1:-1].encode() == bodies.render(body)


_GO_PIECE = re.compile(r'`([^`]*)`|("(?:[^"\\]|\\.)*")|(string\(key\))|(\s*\+\s*)', re.S)


@pytest.mark.parametrize("tick", ["no backquote", "a ` backquote"])
def test_go_sends_the_previews_exact_bytes(tick: str) -> None:
    """Without Go here, the Go body expression is evaluated as Go would: raw `...` strings,
    interpreted "..." strings and the key's JSON, concatenated."""
    body = golden("event_full")
    body["properties"]["note"] = tick
    code = generate("go", SnippetRequest(body, key="phc_test_key")).code
    expression = code.split("\tbody := ", 1)[1].split("\n\tresponse, err :=", 1)[0]
    out, position = [], 0
    while position < len(expression):
        piece = _GO_PIECE.match(expression, position)
        assert piece is not None, expression[position:]
        raw, quoted, key, _plus = piece.groups()
        if raw is not None:
            out.append(raw)
        elif quoted is not None:
            out.append(json.loads(quoted))
        elif key is not None:
            out.append(json.dumps("phc_test_key"))
        position = piece.end()
    sent = "".join(out).encode()
    assert sent == bodies.render(bodies.with_api_key(body, "phc_test_key"))


def test_sdk_snippets_say_what_they_cannot_express() -> None:
    merge = golden("merge_dangerously")
    python = generate("posthog-python", SnippetRequest(merge, key="phc_test_key"))
    assert any("no call for $merge_dangerously" in n for n in python.notes)
    assert "posthog.capture(" in python.code
    assert "$merge_dangerously" in python.code
    identify = generate("posthog-python", SnippetRequest(golden("identify_merge"), key="k" * 8))
    assert any("identify_context()" in n for n in identify.notes)
    node = generate("posthog-node", SnippetRequest(golden("group_identify"), key="k" * 8))
    assert any("groupIdentify() takes no uuid" in n for n in node.notes)
    for language in ("posthog-python", "posthog-node", "posthog-js"):
        notes = generate(language, SnippetRequest(golden("event_full"), key="k" * 8)).notes
        assert any("$lib" in n for n in notes), language
        assert all(f"Note: {n[:40]}" in _unwrapped(language, n) for n in notes)
    envelope = golden("batch_envelope_full")
    js = generate("posthog-js", SnippetRequest(envelope, "/batch/", key="k" * 8))
    assert any("historical migration" in n for n in js.notes)
    assert any("sent_at is not sent" in n for n in js.notes)


def _unwrapped(language: str, note: str) -> str:
    code = generate(language, SnippetRequest(golden("event_full"), key="k" * 8)).code
    return re.sub(r"\n(#|//) ", " ", code)


def test_the_idiomatic_python_calls_where_they_carry_the_event() -> None:
    cases = {
        "set": "posthog.set(",
        "set_once": "posthog.set_once(",
        "group_identify": "posthog.group_identify(",
        "alias.curl": "posthog.alias(",
        "event_full": "posthog.capture(",
    }
    for name, call in cases.items():
        code = generate("posthog-python", SnippetRequest(golden(name), key="k" * 8)).code
        assert call in code, name
        assert "timestamp=" in code or "timestamp" not in golden(name), name


def test_a_deep_body_is_written_as_parsed_json() -> None:
    deep: Any = {"leaf": 1}
    for _ in range(60):
        deep = {"a": deep}
    body = {"event": "e", "distinct_id": "u", "properties": {"deep": deep}}
    code = generate("python-requests", SnippetRequest(body, key="k" * 8)).code
    assert "json.loads(" in code
    assert "import json" in code
    assert len(code) < 10_000


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=25,
)


@settings(max_examples=100, deadline=None)
@given(json_values)
def test_python_literals_read_back_as_the_value(value: Any) -> None:
    text = literal(value, PYTHON, "None")
    assert ast.literal_eval(text) == value


def _js_safe(value: Any) -> bool:
    return not big_integers(value)


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not on PATH")
# Generation only: shrinking would start Node hundreds of times.
@settings(max_examples=4, deadline=None, phases=[Phase.explicit, Phase.generate])
@given(st.lists(json_values.filter(_js_safe), min_size=20, max_size=20))
def test_javascript_literals_read_back_as_the_value(values: list[Any]) -> None:
    """A Node run over many values: each literal, JSON.stringify'd, is the value again."""
    values = [*values, {"s": 'it\'s "q" \\ ${x} `t` \u2028 \u0000 🎉', "n": -0.5e-7, "e": []}]
    script = "console.log(JSON.stringify([\n"
    script += ",\n".join(literal(v, JAVASCRIPT, "null") for v in values) + "\n]))\n"
    out = subprocess.run(
        ["node", "--input-type=module"],
        input=script.encode(),
        capture_output=True,
        check=True,
        timeout=30,
    )
    # JSON.stringify writes 6.0977e16 as 60977409727667860: numbers compare as doubles.
    as_double = {"parse_int": float, "parse_float": float}
    assert json.loads(out.stdout, **as_double) == json.loads(json.dumps(values), **as_double)


# -- paste ---------------------------------------------------------------------------------------

TUTORIAL_MD = DATA / "posthog-api-capture-tutorial.md"
ORDER = ["basic", "properties_timestamp", "batch", "identify", "alias"]


def tutorial_blocks(language: str) -> list[str]:
    text = TUTORIAL_MD.read_text()
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)


def test_the_tutorial_has_the_five_examples() -> None:
    assert len(tutorial_blocks("bash")) == len(ORDER) == len(tutorial_blocks("python"))


@pytest.mark.parametrize("index", range(len(ORDER)))
def test_each_tutorial_curl_example_pastes_to_its_golden_body(index: int) -> None:
    name = ORDER[index]
    pasted = paste(tutorial_blocks("bash")[index])
    assert pasted.source == "curl"
    assert pasted.body == golden(f"{name}.curl")
    assert pasted.endpoint == ("/batch/" if name == "batch" else "/capture/")
    assert pasted.host == "<ph_instance_address>"
    assert not pasted.key_in_code  # <ph_project_api_key> is a placeholder, not a key


@pytest.mark.parametrize("index", range(len(ORDER)))
def test_each_tutorial_python_example_pastes_to_its_body(index: int) -> None:
    name = ORDER[index]
    pasted = paste(tutorial_blocks("python")[index])
    assert pasted.source == "python"
    own = TUTORIAL / f"{name}.python.txt"
    assert pasted.body == loads_python_literal(own.read_text())
    assert pasted.endpoint == ("/batch/" if name == "batch" else "/capture/")


ROUND_TRIP = ["event_full", "batch_envelope_full", "identify_merge", "batch.curl", "group_identify"]


@pytest.mark.parametrize("language", ["curl", "python-requests", "python-httpx"])
@pytest.mark.parametrize("name", ROUND_TRIP)
def test_a_written_snippet_pastes_back_to_its_body(language: str, name: str) -> None:
    body = golden(name)
    endpoint = "/batch/" if "batch" in body else "/capture/"
    code = generate(language, SnippetRequest(body, endpoint, "http://localhost:8010", key="k" * 8))
    pasted = paste(code.code)
    assert pasted.body == {k: v for k, v in body.items() if k != "api_key"}
    assert pasted.endpoint == endpoint
    assert pasted.host == "http://localhost:8010"
    assert any("The key comes from the target" in note for note in pasted.notes)


BODY = '{"event": "e", "distinct_id": "u"}'


@pytest.mark.parametrize(
    "command",
    [
        f"curl -X POST http://h/capture/ -H 'Content-Type: application/json' -d '{BODY}'",
        f"curl --data-raw '{BODY}' --url https://h/capture/",
        f"curl -sSL -XPOST -H'Content-Type: application/json' --data='{BODY}' h/capture",
        f"$ curl -v \\\n  -L \\\n  --header 'Content-Type: application/json' \\\n"
        f"  --data '{BODY}' \\\n  https://h/capture/ | jq .",
        f"curl --json '{BODY}' https://h/capture/ -o out.json -m 10",
        f'curl -d "{BODY.replace(chr(34), chr(92) + chr(34))}" https://h/capture/ > out',
        f"# send it\ncurl -d '{BODY}' \\\r\n  https://h/capture/?ip=1\r\n",
        "curl -d 'data=eyJldmVudCI6ICJlIiwgImRpc3RpbmN0X2lkIjogInUifQ%3D%3D' https://h/capture/",
    ],
)
def test_curl_options_as_people_write_them(command: str) -> None:
    pasted = paste(command)
    assert pasted.body == {"event": "e", "distinct_id": "u"}
    assert pasted.endpoint == "/capture/"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("curl -d @body.json https://h/capture/", "reads the body from body.json"),
        ("curl -d @- https://h/capture/", "standard input"),
        ("curl https://h/capture/ < body.json", "reads its body from a file"),
        ("curl -F 'a=b' https://h/capture/", "multipart form"),
        ("curl -d '{\"event\": }' https://h/capture/", "line 1 of the body, column 11"),
        ('curl -d \'{"event": "e"} https://h/capture/', "a quote is not closed"),
        ("curl https://h/capture/", "sends no body"),
        (f"curl -d '{BODY}'", "has no URL"),
        (f"curl -H 'Content-Encoding: gzip' -d '{BODY}' h/e", "gzip-encoded"),
        (f"curl -G -d '{BODY}' h/e", "query"),
        ("", "Paste a curl command"),
        ('{"event": "e",\n  "distinct_id": }', "Line 2"),
        ("import requests\nrequests.post(URL, json={\n 'a': os.environ['X']})", "Line 3"),
        ("body = {'a': 1", "Line 1: This is not Python"),
        ("requests.post('http://h/e/', json=make_body())", "The body is make_body(), which"),
        ("print('hello')", "no requests.post"),
    ],
)
def test_malformed_input_says_what_and_where(text: str, message: str) -> None:
    with pytest.raises(PasteError) as caught:
        paste(text)
    assert message in str(caught.value)


def test_a_real_key_in_pasted_code_is_noticed() -> None:
    pasted = paste(f'curl -d \'{{"api_key": "{KEY}", "event": "e"}}\' https://h/i/v0/e/')
    assert pasted.key_in_code
    assert any("does not keep it" in note for note in pasted.notes)


def test_python_code_with_names_fstrings_and_json_dumps() -> None:
    code = """
import json, os
import requests
HOST = "https://eu.i.posthog.com"
props = {"plan": "team", "seats": -2}
payload = {"api_key": os.environ["KEY"], "event": "e", "distinct_id": "u", "properties": props}
session = requests.Session()
r = session.post(f"{HOST}/batch/", data=json.dumps({"batch": [payload]}))
"""
    pasted = paste(code)
    assert pasted.body == {
        "batch": [{"event": "e", "distinct_id": "u", "properties": {"plan": "team", "seats": -2}}]
    }
    assert pasted.endpoint == "/batch/"
    assert pasted.host == "https://eu.i.posthog.com"


def test_a_body_on_its_own_pastes_too() -> None:
    assert paste(BODY).body == {"event": "e", "distinct_id": "u"}
    assert paste("{'event': 'e', 'distinct_id': 'u', 'ok': True}").body["ok"] is True
    assert paste('{"batch": []}').endpoint == "/batch/"
