"""The lz-string decoder against vectors made by the npm `lz-string` package, and PostHog's port.

`tests/data/lzstring/vectors.json` was written once by npm lz-string 1.5.0 (node 20): each
vector is `LZString.compressToBase64(text)`, checked there to decompress back to `text`. The
texts cover what PostHog's own port tests (`matches_lz_str_on_roundtrips`,
`matches_lz_str_on_generated_payloads` in rust/common/compression/src/lz64.rs @027cd53): the
empty string, `{}`, events, long repetition, non-ASCII and astral characters, and 60 seeded
random payloads. Where JavaScript and PostHog's port disagree (truncated input, characters
outside the alphabet), the port's behaviour is the one asserted: it is what PostHog answers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from composer.core.capture.lzstring import (
    Lz64Invalid,
    Lz64TooLarge,
    decompress_from_base64,
    decompress_units,
)

VECTORS = json.loads((Path(__file__).parent / "data" / "lzstring" / "vectors.json").read_text())


def _text(vector: dict[str, Any]) -> str:
    if "text" in vector:
        return str(vector["text"])
    piece, count = vector["repeat"]
    return str(piece) * int(count)


@pytest.mark.parametrize("vector", VECTORS["vectors"], ids=lambda v: v["compressed"][:16])
def test_decodes_what_npm_lz_string_encoded(vector: dict[str, Any]) -> None:
    assert decompress_from_base64(vector["compressed"]) == _text(vector)


def test_the_vectors_cover_astral_and_repetitive_payloads() -> None:
    texts = [_text(v) for v in VECTORS["vectors"]]
    assert any("🦔" in t for t in texts)
    assert any(len(t) >= 100_000 for t in texts)
    assert "lz-string 1.5.0" in VECTORS["generator"]


def test_characters_outside_the_alphabet_are_skipped() -> None:
    vector = VECTORS["vectors"][2]
    spaced = " " + "\n".join(vector["compressed"][i : i + 10] for i in range(0, 80, 10))
    spaced += vector["compressed"][80:] + "!"
    assert decompress_from_base64(spaced) == _text(vector)


@pytest.mark.parametrize("compressed", ["", "!!!!", "%%"])
def test_no_alphabet_characters_decode_to_nothing(compressed: str) -> None:
    assert decompress_from_base64(compressed) == ""


@pytest.mark.parametrize("compressed", ["A", "N4IgpgbmB2AuIC4Q"])
def test_truncated_streams_are_refused(compressed: str) -> None:
    # npm lz-string returns "" for both; PostHog's port refuses them (rejects_truncated_input).
    js = {e["compressed"]: e["js"] for e in VECTORS["js_edge_results"]}
    assert js[compressed] == ""
    with pytest.raises(Lz64Invalid):
        decompress_from_base64(compressed)


def test_output_is_capped_in_utf16_units() -> None:
    (long_a,) = [v for v in VECTORS["vectors"] if v.get("repeat", [""])[0] == "a"]
    assert len(decompress_units(long_a["compressed"], 100_000)) == 100_000
    with pytest.raises(Lz64TooLarge) as refused:
        decompress_units(long_a["compressed"], 99_999)
    assert refused.value.limit == 99_999


def test_astral_characters_are_two_units_until_joined() -> None:
    (hedgehog,) = [v for v in VECTORS["vectors"] if "🦔" in v.get("text", "")][:1]
    units = decompress_units(hedgehog["compressed"], 1_000_000)
    assert "\ud83e" in units  # the high half of U+1F994, as UTF-16 has it
    assert decompress_from_base64(hedgehog["compressed"]) == hedgehog["text"]


def test_what_a_garbled_payload_decodes_to() -> None:
    # PostHog decodes the literal "INVALID_UTF8" when base64 pre-decoding garbled the payload
    # (decompression.rs: `from_utf8(payload).unwrap_or("INVALID_UTF8")`).
    assert decompress_from_base64("INVALID_UTF8") == "Á"
