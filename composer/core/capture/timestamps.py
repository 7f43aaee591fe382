"""Reading event timestamps the way PostHog's capture service does, and writing RFC 3339."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

FUTURE_LIMIT = timedelta(hours=23)


class TimestampForm(StrEnum):
    RFC3339 = "rfc3339"  # what PostHog recommends; read exactly
    SPACE_WITH_OFFSET = "space_with_offset"  # accepted by the fallback parser
    NAIVE = "naive"  # no time zone: read in the server's zone, UTC in PostHog Cloud
    DATE_ONLY = "date_only"
    SLASHED = "slashed"  # 3/4/2024: day and month can swap
    RFC2822 = "rfc2822"
    EPOCH_DIGITS = "epoch_digits"
    UNPARSEABLE = "unparseable"  # ignored by PostHog, which uses the receive time instead


@dataclass(frozen=True, slots=True)
class ParsedTimestamp:
    form: TimestampForm
    value: datetime | None  # aware, UTC; None when unparseable
    has_space: bool = False

    @property
    def exact(self) -> bool:
        return self.form is TimestampForm.RFC3339


_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}(?::?\d{2})?)$"
)
_ISO_LIKE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})([Tt ])(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?"
    r"\s*([Zz]|UTC|[+-]\d{2}(?::?\d{2})?)?$"
)
_DATE_ONLY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_SLASHED = re.compile(r"^(\d{1,4})/(\d{1,2})/(\d{1,4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_EPOCH = re.compile(r"^\d{9,13}$")


def _offset(text: str | None) -> timedelta | None:
    if text is None:
        return None
    if text in ("Z", "z", "UTC"):
        return timedelta(0)
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours = int(digits[:2])
    minutes = int(digits[2:4]) if len(digits) >= 4 else 0
    return sign * timedelta(hours=hours, minutes=minutes)


def _build(parts: Sequence[str | None], offset: timedelta | None = None) -> datetime | None:
    """(year, month, day, hour, minute, second, fraction) as UTC; None for impossible dates."""
    year, month, day, hour, minute, second, frac = (*parts, None, None, None, None)[:7]
    try:
        micro = int((frac[1:] + "000000")[:6]) if frac else 0
        naive = datetime(
            int(year or 0),
            int(month or 0),
            int(day or 0),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            micro,
        )
    except ValueError:
        return None
    return (naive - (offset or timedelta(0))).replace(tzinfo=UTC)


def parse_timestamp(text: str) -> ParsedTimestamp:
    """Classify and read a timestamp string; naive values are read as UTC."""
    text = text.strip()
    m = _RFC3339.match(text)
    if m:
        try:  # the C parser reads the common forms an order of magnitude faster
            value: datetime | None = datetime.fromisoformat(text).astimezone(UTC)
        except ValueError:  # lower-case t or z, a short offset, a leap second ...
            value = _build(m.group(1, 2, 3, 4, 5, 6, 7), _offset(m.group(8)))
        if value is not None:
            return ParsedTimestamp(TimestampForm.RFC3339, value)
        return ParsedTimestamp(TimestampForm.UNPARSEABLE, None)
    m = _ISO_LIKE.match(text)
    if m:
        space = m.group(4) == " "
        zone = m.group(9)
        value = _build(m.group(1, 2, 3, 5, 6, 7, 8), _offset(zone))
        if value is None:
            return ParsedTimestamp(TimestampForm.UNPARSEABLE, None)
        if zone is None:
            return ParsedTimestamp(TimestampForm.NAIVE, value, has_space=space)
        return ParsedTimestamp(TimestampForm.SPACE_WITH_OFFSET, value, has_space=space)
    m = _DATE_ONLY.match(text)
    if m:
        value = _build(m.group(1, 2, 3))
        form = TimestampForm.DATE_ONLY if value else TimestampForm.UNPARSEABLE
        return ParsedTimestamp(form, value)
    m = _SLASHED.match(text)
    if m:
        a, b, c = m.group(1, 2, 3)
        year, month, day = (a, b, c) if len(a) == 4 else (c, a, b)  # y/m/d, else m/d/y
        value = _build((year, month, day, m.group(4), m.group(5), m.group(6)))
        form = TimestampForm.SLASHED if value else TimestampForm.UNPARSEABLE
        return ParsedTimestamp(form, value)
    if _EPOCH.match(text):
        number = int(text)
        seconds = number / 1000 if len(text) >= 12 else number
        return ParsedTimestamp(TimestampForm.EPOCH_DIGITS, datetime.fromtimestamp(seconds, UTC))
    if text and not text[0].isdigit():
        from email.utils import parsedate_to_datetime  # rare path; keeps start-up light

        try:
            value2 = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            value2 = None
        if value2 is not None:
            if value2.tzinfo is None:
                value2 = value2.replace(tzinfo=UTC)
            return ParsedTimestamp(TimestampForm.RFC2822, value2.astimezone(UTC))
    return ParsedTimestamp(TimestampForm.UNPARSEABLE, None)


def format_rfc3339(value: datetime) -> str:
    """RFC 3339 in UTC with a Z, keeping milliseconds when there are any (truncated)."""
    value = value.replace(tzinfo=None) if value.tzinfo is None else value.astimezone(UTC)
    naive = value.replace(tzinfo=None)
    # isoformat is C; strftime was a tenth of the sandbox's time per event.
    if naive.microsecond:
        return naive.isoformat(timespec="milliseconds") + "Z"
    return naive.isoformat(timespec="seconds") + "Z"


def now_rfc3339() -> str:
    return format_rfc3339(datetime.now(UTC))


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date, for any year (H. Hinnant's
    algorithm): Python's datetime stops at year 1, chrono's range is far wider."""
    year -= month <= 2
    era = (year if year >= 0 else year - 399) // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


_MS_PER_DAY = 86_400_000
# chrono's DateTime<Utc> range: NaiveDate::MIN is -262144-01-01, NaiveDate::MAX 262143-12-31.
CHRONO_MIN_MS = _days_from_civil(-262144, 1, 1) * _MS_PER_DAY
CHRONO_MAX_MS = (_days_from_civil(262143, 12, 31) + 1) * _MS_PER_DAY - 1
_YEAR_0_MS = _days_from_civil(0, 1, 1) * _MS_PER_DAY
_YEAR_10000_MS = _days_from_civil(10000, 1, 1) * _MS_PER_DAY
_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FUTURE_LIMIT_MS = 23 * 3600 * 1000


class OffsetOutcome(StrEnum):
    KEPT = "kept"  # now - offset, in the past or up to 23 h ahead
    CLAMPED = "clamped"  # more than 23 h ahead: the receive time instead
    EPOCH = "epoch"  # a year below 0: 1970-01-01T00:00:00Z
    PANIC = "panic"  # beyond chrono's range: capture's `now - Duration` panics


def offset_time(now: datetime, offset_ms: int) -> tuple[OffsetOutcome, datetime | None]:
    """The event time capture computes from `offset` (timestamp.rs @1acee2e
    `parse_event_timestamp`): now - offset, which overrides timestamp and sent_at; then more
    than 23 h ahead (strictly) becomes now; then a year outside 0..9999 becomes the epoch.
    The datetime is None only for PANIC. A year-0 result, which chrono keeps, is given as the
    epoch: Python's datetime has no year 0."""
    now_ms = (now - _UNIX_EPOCH) // timedelta(milliseconds=1)
    result_ms = now_ms - offset_ms
    if offset_ms <= -(2**63) or not CHRONO_MIN_MS <= result_ms <= CHRONO_MAX_MS:
        return OffsetOutcome.PANIC, None
    if -offset_ms > FUTURE_LIMIT_MS:
        return OffsetOutcome.CLAMPED, now
    if result_ms < _YEAR_0_MS or result_ms >= _YEAR_10000_MS:
        return OffsetOutcome.EPOCH, _UNIX_EPOCH
    try:
        return OffsetOutcome.KEPT, now - timedelta(milliseconds=offset_ms)
    except OverflowError:  # year 0
        return OffsetOutcome.EPOCH, _UNIX_EPOCH
