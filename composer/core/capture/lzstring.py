"""lz-string's `decompressFromBase64`, as PostHog's capture service runs it on `lz64` bodies.

Legacy posthog-js sends `data=<LZString.compressToBase64(json)>&compression=lz64`. PostHog
decodes that with its own capped port of the lz-string decoder
(`rust/common/compression/src/lz64.rs` @027cd53, `decompress_lz64_capped`, used by
`rust/capture/src/payload/decompression.rs` @027cd53 `decompress_lz64_to_string`). This module
follows that port rather than the JavaScript original where the two differ, because the port is
what answers:

- characters outside the base64 alphabet (`A-Z a-z 0-9 + / =`) are skipped, not read as zero
  bits (the port's comment: "Characters outside the alphabet are skipped, matching lz-string");
- input with no alphabet character at all decodes to nothing (test
  `input_with_no_alphabet_characters_decodes_to_nothing`);
- a stream that ends before its close code is an error, where JavaScript returns "" or null
  (test `rejects_truncated_input`, which also refuses "A");
- the output is capped in UTF-16 code units, checked as it grows, so a few kilobytes cannot
  expand into gigabytes (tests `accepts_output_exactly_at_the_limit`,
  `rejects_output_one_unit_over_the_limit`).

The result is UTF-16 code units; turning them into text fails on a lone surrogate, which
PostHog answers with its own 400 ("failed UTF16 to UTF8 conversion").
"""

from __future__ import annotations

from collections.abc import Iterator

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_VALUE = {ch: i for i, ch in enumerate(_ALPHABET)}
_BITS_PER_CHAR = 6
# Code width grows with the dictionary, which the output cap bounds; only corrupt input gets
# past this, and the port refuses it there too.
_MAX_CODE_BITS = 31


class Lz64Invalid(ValueError):
    """The stream is not lz-string output: truncated, no close code, or a code out of range."""


class Lz64TooLarge(ValueError):
    """The output would pass the cap; `units` is how many UTF-16 units it had reached."""

    def __init__(self, units: int, limit: int) -> None:
        super().__init__(f"lz64 output would exceed {limit} UTF-16 units")
        self.units = units
        self.limit = limit


class _Bits:
    """The bit stream lz-string packs into 6-bit characters, lowest bit of each code first.

    Like the port, the next character is fetched as soon as one is used up, so running out
    of characters is an error at that moment (a valid stream always ends with padding)."""

    __slots__ = ("_chars", "_position", "_value")

    def __init__(self, chars: Iterator[int], first: int) -> None:
        self._chars = chars
        self._value = first
        self._position = 1 << (_BITS_PER_CHAR - 1)

    def read(self, count: int) -> int:
        result = 0
        for shift in range(count):
            bit = 1 if self._value & self._position else 0
            self._position >>= 1
            if self._position == 0:
                self._position = 1 << (_BITS_PER_CHAR - 1)
                following = next(self._chars, None)
                if following is None:
                    raise Lz64Invalid("the stream ends before its close code")
                self._value = following
            result |= bit << shift
        return result


def decompress_units(compressed: str, limit: int) -> str:
    """The UTF-16 code units `compressed` stands for, one per character of the result (so a
    surrogate pair is two characters, and a lone surrogate can appear)."""
    values = (_VALUE[ch] for ch in compressed if ch in _VALUE)
    first = next(values, None)
    if first is None:
        return ""
    bits = _Bits(values, first)
    start = bits.read(2)
    if start == 2:
        return ""
    if start > 2:
        raise Lz64Invalid("the stream starts with an unknown code")
    entry = chr(bits.read(8 if start == 0 else 16))
    # Codes 0, 1 and 2 are "literal byte", "literal unit" and "end"; they never index it.
    dictionary: list[str] = ["", "", "", entry]
    out: list[str] = [entry]
    size = 1
    if size > limit:
        raise Lz64TooLarge(size, limit)
    w = entry
    num_bits = 3
    enlarge_in = 4
    while True:
        if num_bits > _MAX_CODE_BITS:
            raise Lz64Invalid("the code width passed 31 bits")
        code = bits.read(num_bits)
        if code == 2:
            return "".join(out)
        if code < 2:
            dictionary.append(chr(bits.read(8 if code == 0 else 16)))
            code = len(dictionary) - 1
            enlarge_in -= 1
            if enlarge_in == 0:
                enlarge_in = 1 << num_bits
                num_bits += 1
        if code < len(dictionary):
            entry = dictionary[code]
        elif code == len(dictionary):
            entry = w + w[0]  # LZW's code that is being defined right now
        else:
            raise Lz64Invalid("a code points past the dictionary")
        size += len(entry)
        if size > limit:
            raise Lz64TooLarge(size, limit)
        out.append(entry)
        dictionary.append(w + entry[0])
        enlarge_in -= 1
        w = entry
        if enlarge_in == 0:
            enlarge_in = 1 << num_bits
            num_bits += 1


def units_to_text(units: str) -> str:
    """Join surrogate pairs into characters; raises UnicodeDecodeError on a lone surrogate, as
    Rust's `String::from_utf16` refuses one."""
    if units.isascii():
        return units
    return units.encode("utf-16-le", "surrogatepass").decode("utf-16-le")


def decompress_from_base64(compressed: str, limit: int = 1 << 62) -> str:
    """The text `LZString.compressToBase64` was given, decoded the way PostHog decodes it."""
    return units_to_text(decompress_units(compressed, limit))
