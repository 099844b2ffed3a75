"""Post dates to UTC: every reader's `created_at` becomes `YYYY-MM-DDTHH:MM:SSZ` or null, and each null is
counted by reason, so the negative control (`--cutoff`) never loses posts without saying so.

The forms platforms write are parsed by a compiled pass (`kernels.compiled_dates`, whose grammar
`parse_date_reference` defines); the few strings it does not recognize are tried one by one with Python's
parsers (`datetime.fromisoformat`, `email.utils`), so a rare form costs time only for its own rows.
Numbers (epoch seconds, or milliseconds from a magnitude of 10^11) and Arrow timestamps (naive means
UTC) are converted arithmetically. Reasons for an undated post: `missing` (no value, or empty),
`unparseable` (no known form), `invalid_date` (a known form naming no real date or time, e.g.
2018-02-30), `out_of_range` (before 1900 or from 2100 on: a placeholder, not a post's date).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from auditor.kernels import compiled_dates as kernel
from auditor.kernels.codepoints import utf8_view

REASONS = {
    kernel.MISSING: "missing",
    kernel.UNRECOGNIZED: "unparseable",
    kernel.INVALID: "invalid_date",
    kernel.OUT_OF_RANGE: "out_of_range",
}

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_MONTH = "(" + "|".join(_MONTHS) + ")"
_NUMBER = re.compile(r"([+-]?)(\d+)(?:\.\d+)?")
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,]\d+)?)?"
    r"(?: ?(?:Z|z|UTC|GMT|([+-])(\d{2})(?::?(\d{2}))?))?)?"
)
_TWITTER = re.compile(_DAY + " " + _MONTH + r" (\d{2}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2}) (\d{4})")
_RFC2822 = re.compile(
    r"(?:" + _DAY + r", *)?(\d{1,2}) " + _MONTH + r" (\d{4}) (\d{2}):(\d{2})(?::(\d{2}))? "
    r"(?:GMT|UT|UTC|Z|([+-])(\d{2})(\d{2}))"
)
_WHITE = " \t\n\r"
_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _checked(year: int, month: int, day: int, hour: int, minute: int, second: int, offset: int) -> tuple[int, int]:
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if not 1 <= month <= 12 or not 1 <= day <= (29 if leap and month == 2 else _MONTH_DAYS[month]):
        return kernel.INVALID, 0
    if hour > 23 or minute > 59 or second > 59:
        return kernel.INVALID, 0
    if year < 1:  # before Python's calendar; far outside the range anyway
        return kernel.OUT_OF_RANGE, 0
    seconds = calendar.timegm((year, month, day, hour, minute, second)) - offset
    if not kernel.MIN_SECONDS <= seconds < kernel.MAX_SECONDS:
        return kernel.OUT_OF_RANGE, 0
    return kernel.OK, seconds


def _offset(sign: str | None, hours: str | None, minutes: str | None) -> int | None:
    """Seconds east of UTC, or None for an impossible offset."""
    if sign is None:
        return 0
    h, m = int(hours or 0), int(minutes or 0)
    if h > 23 or m > 59:
        return None
    return (1 if sign == "+" else -1) * (h * 3600 + m * 60)


def parse_date_reference(text: str | None) -> tuple[int, int]:
    """(status, UTC epoch seconds) of one string by the grammar of `kernels.compiled_dates`, in plain
    Python: the definition the compiled pass is tested against."""
    if text is None:
        return kernel.MISSING, 0
    text = text.strip(_WHITE)
    if not text:
        return kernel.MISSING, 0
    if match := _NUMBER.fullmatch(text):
        digits = match.group(2)
        if len(digits) > 18:
            return kernel.OUT_OF_RANGE, 0
        value = int(digits) * (-1 if match.group(1) == "-" else 1)
        seconds = value if abs(value) < kernel.MS_FROM else value // 1000
        return (kernel.OK, seconds) if kernel.MIN_SECONDS <= seconds < kernel.MAX_SECONDS else (kernel.OUT_OF_RANGE, 0)
    if match := _ISO.fullmatch(text):
        y, mo, d, h, mi, s, sign, zh, zm = match.groups()
        offset = _offset(sign, zh, zm)
        if offset is None:
            return kernel.INVALID, 0
        return _checked(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), offset)
    if match := _TWITTER.fullmatch(text):
        mo, d, h, mi, s, sign, zh, zm, y = match.groups()
        offset = _offset(sign, zh, zm)
        if offset is None:
            return kernel.INVALID, 0
        return _checked(int(y), _MONTHS.index(mo) + 1, int(d), int(h), int(mi), int(s), offset)
    if match := _RFC2822.fullmatch(text):
        d, mo, y, h, mi, s, sign, zh, zm = match.groups()
        offset = _offset(sign, zh, zm)
        if offset is None:
            return kernel.INVALID, 0
        return _checked(int(y), _MONTHS.index(mo) + 1, int(d), int(h), int(mi), int(s or 0), offset)
    return kernel.UNRECOGNIZED, 0


def parse_date_fallback(text: str) -> tuple[int, int]:
    """(status, seconds) of a string the grammar does not know, by Python's own parsers: the other ISO
    8601 forms (`20181010T201924Z`, week dates) and RFC 2822's obsolete forms (`EST`, no seconds)."""
    text = text.strip(_WHITE)
    parsed: datetime | None = None
    for parse in (datetime.fromisoformat, parsedate_to_datetime):
        try:
            parsed = parse(text)
            break
        except (ValueError, TypeError, IndexError, OverflowError):
            continue
    if parsed is None:
        return kernel.UNRECOGNIZED, 0
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        seconds = int(parsed.timestamp() // 1)
    except (OverflowError, OSError, ValueError):
        return kernel.OUT_OF_RANGE, 0
    if not kernel.MIN_SECONDS <= seconds < kernel.MAX_SECONDS:
        return kernel.OUT_OF_RANGE, 0
    return kernel.OK, seconds


def format_utc_reference(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class ParsedDates:
    """A batch's dates as `YYYY-MM-DDTHH:MM:SSZ` strings (null when undated) and the undated by reason;
    `status` per value: kernel.OK or the reason code of an undated one (`undated_by_reason` counts them)."""

    formatted: pa.Array
    status: npt.NDArray[np.int8] = field(repr=False)

    @property
    def undated(self) -> dict[str, int]:
        return undated_by_reason(self.status)


def undated_by_reason(status: npt.NDArray[np.int8]) -> dict[str, int]:
    """How many of the values `status` describes (`ParsedDates.status`, or a selection of it) are undated,
    by reason."""
    undated = status[status != kernel.OK]
    if not len(undated):
        return {}
    codes, counts = np.unique(undated, return_counts=True)
    return {REASONS[int(code)]: int(count) for code, count in zip(codes, counts, strict=True)}


def _formatted(seconds: npt.NDArray[np.int64], ok: npt.NDArray[np.bool_]) -> pa.Array:
    width = kernel.FORMATTED_WIDTH
    data = kernel.format_utc(np.ascontiguousarray(seconds, dtype=np.int64))
    offsets = np.arange(0, (len(seconds) + 1) * width, width, dtype=np.int32)
    validity = None if ok.all() else pa.py_buffer(np.packbits(ok, bitorder="little").tobytes())
    return pa.StringArray.from_buffers(
        len(seconds), pa.py_buffer(offsets.tobytes()), pa.py_buffer(data.tobytes()), validity
    )


def _from_numbers(values: pa.Array) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int8]]:
    valid = np.asarray(values.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)
    raw = np.asarray(pc.fill_null(values, 0).to_numpy(zero_copy_only=False))
    status = np.where(valid, kernel.OK, kernel.MISSING).astype(np.int8)
    if raw.dtype.kind == "f":
        finite = np.isfinite(raw)
        status[valid & ~finite] = kernel.OUT_OF_RANGE
        raw = np.where(finite & (np.abs(raw) < 1e18), raw, 0.0)
        raw = np.trunc(raw)
    integers = raw.astype(np.int64)
    seconds = np.where(np.abs(integers) < kernel.MS_FROM, integers, integers // 1000)
    outside = (seconds < kernel.MIN_SECONDS) | (seconds >= kernel.MAX_SECONDS)
    status[(status == kernel.OK) & outside] = kernel.OUT_OF_RANGE
    return seconds.astype(np.int64), status


def _from_timestamps(values: pa.Array) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int8]]:
    unit = values.type.unit
    per_second = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[unit]
    ticks = pc.fill_null(values.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
    seconds = np.floor_divide(np.asarray(ticks, dtype=np.int64), per_second)
    valid = np.asarray(values.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)
    status = np.where(valid, kernel.OK, kernel.MISSING).astype(np.int8)
    status[valid & ((seconds < kernel.MIN_SECONDS) | (seconds >= kernel.MAX_SECONDS))] = kernel.OUT_OF_RANGE
    return seconds, status


def _from_strings(values: pa.Array) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int8]]:
    if pa.types.is_large_string(values.type) or pa.types.is_string_view(values.type):
        values = values.cast(pa.string())
    data, offsets = utf8_view(values)
    valid = np.asarray(values.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)
    seconds, status = kernel.parse_utf8_dates(data, offsets, valid)
    for row in np.flatnonzero(status == kernel.UNRECOGNIZED):
        text = values[int(row)].as_py()
        status[row], seconds[row] = parse_date_fallback(text)
    return seconds, status


def date_seconds(values: pa.Array) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int8]]:
    """UTC epoch seconds and a status (kernel.OK or a reason code) of each value."""
    kind = values.type
    if pa.types.is_dictionary(kind):
        values = values.cast(kind.value_type)
        kind = values.type
    if pa.types.is_null(kind):
        return np.zeros(len(values), np.int64), np.full(len(values), kernel.MISSING, np.int8)
    if pa.types.is_timestamp(kind):
        return _from_timestamps(values)
    if pa.types.is_date(kind):
        return _from_timestamps(values.cast(pa.timestamp("s")))
    if pa.types.is_integer(kind) or pa.types.is_floating(kind):
        return _from_numbers(values)
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)):
        values = values.cast(pa.string())
    return _from_strings(values)


def parse_dates(values: pa.Array | pa.ChunkedArray) -> ParsedDates:
    """Each value as `YYYY-MM-DDTHH:MM:SSZ` in UTC, or null; the nulls counted by reason."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    seconds, status = date_seconds(values)
    ok = status == kernel.OK
    return ParsedDates(_formatted(np.where(ok, seconds, 0), ok), status)


def valid_calendar_date(text: str) -> bool:
    """Whether `text` is a real calendar date written YYYY-MM-DD."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return False
    try:
        datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        return False
    return True
