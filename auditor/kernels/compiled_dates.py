"""Compiled (numba) date parsing and formatting over Arrow UTF-8 buffers.

`parse_utf8_dates` reads each string of a batch as one of the forms platforms write (ISO 8601, Twitter's
classic `Wed Oct 10 20:19:24 +0000 2018`, RFC 2822, epoch seconds or milliseconds) into UTC epoch
seconds and a status; `format_utc` writes epoch seconds as `YYYY-MM-DDTHH:MM:SSZ`; `leading_days` reads the
day a set's stored date starts with, for the claims' months and cutoff
(`auditor.claims.leading_days_reference` defines it). A date is a field of
every post, and a per-row Python parse (strptime) would cost more than fingerprinting the post, so the
forms platforms write are parsed here, one compiled pass over the batch's UTF-8 bytes.
`auditor.dates.parse_date_reference` defines the result of `parse_utf8_dates` (the grammar below) and
`format_utc_reference` that of `format_utc`; tests hold them equal.

Grammar (after trimming ASCII white space):
- number: [+-]digits[.digits]; the integer part (fraction dropped) is epoch seconds, or milliseconds when
  its magnitude is at least 10^11 (10^11 seconds is in the year 5138; 10^11 ms in 1973).
- ISO 8601: YYYY-MM-DD, optionally [T t space] HH:MM[:SS[(.|,)digits]] and a zone: optional space, then
  Z, z, UTC or GMT, or [+-]HH[[:]MM]; no zone means UTC.
- Twitter classic: Www Mmm DD HH:MM:SS [+-]HHMM YYYY.
- RFC 2822: [Www, ]D[D] Mmm YYYY HH:MM[:SS] zone, zone [+-]HHMM, GMT, UT, UTC or Z.
Names are English abbreviations as written (Jan, Wed); the weekday is not checked against the date.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

OK = 0
MISSING = 1  # null, empty or white space
UNRECOGNIZED = 2  # none of the forms: the caller may try slower parsers
INVALID = 3  # a recognized form whose values are no calendar date or time (2018-02-30, 25:00)
OUT_OF_RANGE = 4  # a date outside [MIN_SECONDS, MAX_SECONDS)

MIN_SECONDS = -2208988800  # 1900-01-01T00:00:00Z
MAX_SECONDS = 4102444800  # 2100-01-01T00:00:00Z
MS_FROM = 100_000_000_000  # epoch numbers of this magnitude or more are milliseconds
FORMATTED_WIDTH = 20  # len("YYYY-MM-DDTHH:MM:SSZ")

_MONTHS = np.frombuffer(b"JanFebMarAprMayJunJulAugSepOctNovDec", dtype=np.uint8).copy()
_DAYS = np.frombuffer(b"MonTueWedThuFriSatSun", dtype=np.uint8).copy()


@njit(cache=True, nogil=True)
def days_from_civil(year: int, month: int, day: int) -> int:  # pragma: no cover - compiled
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y = year - 1 if month <= 2 else year
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    mp = month - 3 if month > 2 else month + 9
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@njit(cache=True, nogil=True)
def _days_in_month(year: int, month: int) -> int:  # pragma: no cover - compiled
    if month == 2:
        leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0
        return 29 if leap else 28
    if month in (4, 6, 9, 11):
        return 30
    return 31


@njit(cache=True, nogil=True)
def _digits(data: npt.NDArray[np.uint8], i: int, end: int, count: int) -> int:  # pragma: no cover - compiled
    """The value of `count` ASCII digits at i, or -1 when they are not all there."""
    if i + count > end:
        return -1
    value = 0
    for k in range(i, i + count):
        c = int(data[k])
        if c < 48 or c > 57:
            return -1
        value = value * 10 + c - 48
    return value


@njit(cache=True, nogil=True)
def _name(data: npt.NDArray[np.uint8], i: int, end: int, names: npt.NDArray[np.uint8]) -> int:  # pragma: no cover
    """The index of the three-letter name at i in `names`, or -1."""
    if i + 3 > end:
        return -1
    for n in range(len(names) // 3):
        if data[i] == names[3 * n] and data[i + 1] == names[3 * n + 1] and data[i + 2] == names[3 * n + 2]:
            return n
    return -1


@njit(cache=True, nogil=True)
def _is(data: npt.NDArray[np.uint8], i: int, end: int, char: int) -> bool:  # pragma: no cover - compiled
    return i < end and int(data[i]) == char


@njit(cache=True, nogil=True)
def _word_at(data: npt.NDArray[np.uint8], i: int, end: int, word: bytes) -> bool:  # pragma: no cover - compiled
    if i + len(word) != end:
        return False
    same = True
    for k in range(len(word)):
        same = same and int(data[i + k]) == word[k]
    return same


@njit(cache=True, nogil=True)
def _numeric_offset(data: npt.NDArray[np.uint8], i: int, end: int, colon: bool) -> tuple[int, int]:  # pragma: no cover
    """A zone offset [+-]HH[[:]MM] (colon allowed) or [+-]HHMM (not allowed) ending at `end`: (status,
    seconds east of UTC)."""
    sign = 1 if int(data[i]) == 43 else -1
    hours = _digits(data, i + 1, end, 2)
    if hours < 0:
        return UNRECOGNIZED, 0
    j = i + 3
    minutes = 0
    if j < end:
        if colon and int(data[j]) == 58:
            j += 1
        minutes = _digits(data, j, end, 2)
        if minutes < 0 or j + 2 != end:
            return UNRECOGNIZED, 0
    elif not colon:
        return UNRECOGNIZED, 0
    if hours > 23 or minutes > 59:
        return INVALID, 0
    return OK, sign * (hours * 3600 + minutes * 60)


@njit(cache=True, nogil=True)
def _checked(
    year: int, month: int, day: int, hour: int, minute: int, second: int, offset: int
) -> tuple[int, int]:  # pragma: no cover - compiled
    if month < 1 or month > 12 or day < 1 or day > _days_in_month(year, month):
        return INVALID, 0
    if hour > 23 or minute > 59 or second > 59:
        return INVALID, 0
    seconds = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset
    if seconds < MIN_SECONDS or seconds >= MAX_SECONDS:
        return OUT_OF_RANGE, 0
    return OK, seconds


@njit(cache=True, nogil=True)
def _white(c: int) -> bool:  # pragma: no cover - compiled
    return c == 32 or c == 9 or c == 10 or c == 13


@njit(cache=True, nogil=True)
def _number(data: npt.NDArray[np.uint8], s: int, e: int) -> tuple[int, int]:  # pragma: no cover - compiled
    i = s
    negative = False
    if int(data[i]) == 43 or int(data[i]) == 45:
        negative = int(data[i]) == 45
        i += 1
    start = i
    value = 0
    while i < e and 48 <= int(data[i]) <= 57:
        if i - start < 18:
            value = value * 10 + int(data[i]) - 48
        i += 1
    count = i - start
    if count == 0:
        return UNRECOGNIZED, 0
    if i < e:
        if int(data[i]) != 46:
            return UNRECOGNIZED, 0
        i += 1
        if i == e:
            return UNRECOGNIZED, 0
        while i < e:
            if not 48 <= int(data[i]) <= 57:
                return UNRECOGNIZED, 0
            i += 1
    if count > 18:
        return OUT_OF_RANGE, 0
    if negative:
        value = -value
    seconds = value if abs(value) < MS_FROM else value // 1000
    if seconds < MIN_SECONDS or seconds >= MAX_SECONDS:
        return OUT_OF_RANGE, 0
    return OK, seconds


@njit(cache=True, nogil=True)
def _iso(data: npt.NDArray[np.uint8], s: int, e: int) -> tuple[int, int]:  # pragma: no cover - compiled
    year = _digits(data, s, e, 4)
    month = _digits(data, s + 5, e, 2)
    day = _digits(data, s + 8, e, 2)
    if year < 0 or month < 0 or day < 0 or not _is(data, s + 4, e, 45) or not _is(data, s + 7, e, 45):
        return UNRECOGNIZED, 0
    i = s + 10
    hour = minute = second = offset = 0
    if i < e:
        sep = int(data[i])
        if sep != 84 and sep != 116 and sep != 32:
            return UNRECOGNIZED, 0
        hour = _digits(data, i + 1, e, 2)
        minute = _digits(data, i + 4, e, 2)
        if hour < 0 or minute < 0 or not _is(data, i + 3, e, 58):
            return UNRECOGNIZED, 0
        i += 6
        if _is(data, i, e, 58):
            second = _digits(data, i + 1, e, 2)
            if second < 0:
                return UNRECOGNIZED, 0
            i += 3
            if _is(data, i, e, 46) or _is(data, i, e, 44):
                i += 1
                start = i
                while i < e and 48 <= int(data[i]) <= 57:
                    i += 1
                if i == start:
                    return UNRECOGNIZED, 0
        if i < e:
            if int(data[i]) == 32:
                i += 1
                if i == e:
                    return UNRECOGNIZED, 0
            c = int(data[i])
            if c == 43 or c == 45:
                status, offset = _numeric_offset(data, i, e, True)
                if status != OK:
                    return status, 0
            elif not (
                _word_at(data, i, e, b"Z")
                or _word_at(data, i, e, b"z")
                or _word_at(data, i, e, b"UTC")
                or _word_at(data, i, e, b"GMT")
            ):
                return UNRECOGNIZED, 0
    return _checked(year, month, day, hour, minute, second, offset)


@njit(cache=True, nogil=True)
def _twitter(data: npt.NDArray[np.uint8], s: int, e: int) -> tuple[int, int]:  # pragma: no cover - compiled
    # Www Mmm DD HH:MM:SS +HHMM YYYY: 30 bytes
    if e - s != 30 or _name(data, s, e, _DAYS) < 0 or not _is(data, s + 3, e, 32):
        return UNRECOGNIZED, 0
    month = _name(data, s + 4, e, _MONTHS) + 1
    day = _digits(data, s + 8, e, 2)
    hour = _digits(data, s + 11, e, 2)
    minute = _digits(data, s + 14, e, 2)
    second = _digits(data, s + 17, e, 2)
    year = _digits(data, s + 26, e, 4)
    spaces = _is(data, s + 7, e, 32) and _is(data, s + 10, e, 32) and _is(data, s + 19, e, 32)
    colons = _is(data, s + 13, e, 58) and _is(data, s + 16, e, 58) and _is(data, s + 25, e, 32)
    sign = int(data[s + 20])
    if month < 1 or min(day, hour, minute, second, year) < 0 or not (spaces and colons) or (sign != 43 and sign != 45):
        return UNRECOGNIZED, 0
    status, offset = _numeric_offset(data, s + 20, s + 25, False)
    if status != OK:
        return status, 0
    return _checked(year, month, day, hour, minute, second, offset)


@njit(cache=True, nogil=True)
def _rfc2822(data: npt.NDArray[np.uint8], s: int, e: int) -> tuple[int, int]:  # pragma: no cover - compiled
    i = s
    if _name(data, i, e, _DAYS) >= 0 and _is(data, i + 3, e, 44):
        i += 4
        while _is(data, i, e, 32):
            i += 1
    width = 2 if _digits(data, i, e, 2) >= 0 else 1
    day = _digits(data, i, e, width)
    if day < 0 or not _is(data, i + width, e, 32):
        return UNRECOGNIZED, 0
    i += width + 1
    month = _name(data, i, e, _MONTHS) + 1
    year = _digits(data, i + 4, e, 4)
    if month < 1 or year < 0 or not _is(data, i + 3, e, 32) or not _is(data, i + 8, e, 32):
        return UNRECOGNIZED, 0
    i += 9
    hour = _digits(data, i, e, 2)
    minute = _digits(data, i + 3, e, 2)
    if hour < 0 or minute < 0 or not _is(data, i + 2, e, 58):
        return UNRECOGNIZED, 0
    i += 5
    second = 0
    if _is(data, i, e, 58):
        second = _digits(data, i + 1, e, 2)
        if second < 0:
            return UNRECOGNIZED, 0
        i += 3
    if not _is(data, i, e, 32) or i + 1 == e:
        return UNRECOGNIZED, 0
    i += 1
    offset = 0
    c = int(data[i])
    if c == 43 or c == 45:
        status, offset = _numeric_offset(data, i, e, False)
        if status != OK:
            return status, 0
    elif not (
        _word_at(data, i, e, b"GMT")
        or _word_at(data, i, e, b"UT")
        or _word_at(data, i, e, b"UTC")
        or _word_at(data, i, e, b"Z")
    ):
        return UNRECOGNIZED, 0
    return _checked(year, month, day, hour, minute, second, offset)


@njit(cache=True, nogil=True)
def parse_one(data: npt.NDArray[np.uint8], s: int, e: int) -> tuple[int, int]:  # pragma: no cover - compiled
    """(status, UTC epoch seconds) of the string data[s:e]."""
    while s < e and _white(int(data[s])):
        s += 1
    while e > s and _white(int(data[e - 1])):
        e -= 1
    if s == e:
        return MISSING, 0
    first = int(data[s])
    if first == 43 or first == 45 or (48 <= first <= 57 and not _is(data, s + 4, e, 45)):
        if 48 <= first <= 57 and _digits(data, s, e, 2) >= 0 and _is(data, s + 2, e, 32):
            return _rfc2822(data, s, e)  # "10 Oct 2018 ..."
        if 48 <= first <= 57 and _is(data, s + 1, e, 32):
            return _rfc2822(data, s, e)  # "1 Oct 2018 ..."
        return _number(data, s, e)
    if 48 <= first <= 57:
        return _iso(data, s, e)
    if _is(data, s + 3, e, 44):
        return _rfc2822(data, s, e)
    return _twitter(data, s, e)


@njit(cache=True, nogil=True)
def parse_utf8_dates(
    data: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64], valid: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int8]]:  # pragma: no cover - compiled
    """Epoch seconds and status of each string (nulls where `valid` is false are MISSING)."""
    n = len(offsets) - 1
    seconds = np.zeros(n, dtype=np.int64)
    status = np.empty(n, dtype=np.int8)
    for row in range(n):
        if not valid[row]:
            status[row] = MISSING
            continue
        code, value = parse_one(data, offsets[row], offsets[row + 1])
        status[row] = code
        seconds[row] = value
    return seconds, status


@njit(cache=True, nogil=True)
def format_utc(seconds: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:  # pragma: no cover - compiled
    """FORMATTED_WIDTH bytes a value: `YYYY-MM-DDTHH:MM:SSZ` (years 0 to 9999)."""
    out = np.empty(len(seconds) * FORMATTED_WIDTH, dtype=np.uint8)
    for row in range(len(seconds)):
        value = seconds[row]
        days = value // 86400
        rest = value - days * 86400
        # civil_from_days (H. Hinnant)
        z = days + 719468
        era = (z if z >= 0 else z - 146096) // 146097
        doe = z - era * 146097
        yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
        doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
        mp = (5 * doy + 2) // 153
        day = doy - (153 * mp + 2) // 5 + 1
        month = mp + 3 if mp < 10 else mp - 9
        year = yoe + era * 400 + (1 if month <= 2 else 0)
        fields = (year // 100, year % 100, month, day, rest // 3600, rest % 3600 // 60, rest % 60)
        at = row * FORMATTED_WIDTH
        for k in range(7):
            out[at] = 48 + fields[k] // 10
            out[at + 1] = 48 + fields[k] % 10
            at += 2
            if k == 0:
                continue
            out[at] = (45, 45, 84, 58, 58, 90)[k - 1]
            at += 1
    return out


@njit(cache=True, nogil=True)
def leading_days(
    data: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64], days: npt.NDArray[np.int64]
) -> None:  # pragma: no cover - compiled
    """Per string (`offsets` into `data`), the day its first ten bytes write as YYYY-MM-DD (ASCII digits), as
    the number YYYYMMDD, into `days`; -1 when they do not. A day is ASCII, so its first ten bytes are its first
    ten characters; the numbers order as the days' texts do. `claims.leading_days_reference` defines it."""
    for i in range(len(offsets) - 1):
        start = offsets[i]
        day = -1
        if offsets[i + 1] - start >= 10:
            day = 0
            for k in range(10):
                c = int(data[start + k])
                if k == 4 or k == 7:
                    if c != 45:  # "-"
                        day = -1
                        break
                elif 48 <= c <= 57:
                    day = day * 10 + c - 48
                else:
                    day = -1
                    break
        days[i] = day
