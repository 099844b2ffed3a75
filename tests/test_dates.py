"""Dates to UTC: every form platforms write, the compiled pass equal to its reference, reasons counted."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.claims import leading_days, leading_days_reference, parse_cutoff
from auditor.dates import date_seconds, format_utc_reference, parse_date_reference, parse_dates
from auditor.errors import UsageError
from auditor.kernels import compiled_dates as kernel
from auditor.kernels.codepoints import utf8_view

WHEN = "2018-10-10T20:19:24Z"


def formatted(values: list[object], kind: pa.DataType | None = None) -> list[str | None]:
    return list(parse_dates(pa.array(values, type=kind)).formatted.to_pylist())


@pytest.mark.parametrize(
    "text",
    [
        "2018-10-10T20:19:24Z",
        "2018-10-10T20:19:24",  # no zone: UTC
        "2018-10-10 20:19:24",
        "2018-10-10t20:19:24z",
        "2018-10-10T20:19:24.123456789Z",  # fractional seconds, any number of digits
        "2018-10-10T20:19:24,5Z",
        "2018-10-10T22:19:24+02:00",
        "2018-10-10T22:19:24+0200",
        "2018-10-10T22:19:24+02",
        "2018-10-10T15:19:24-05:00",
        "2018-10-10 20:19:24 UTC",
        "2018-10-10T20:19:24 +00:00",
        "  2018-10-10T20:19:24Z\n",
        "Wed Oct 10 20:19:24 +0000 2018",  # Twitter's classic created_at
        "Wed Oct 10 22:19:24 +0200 2018",
        "Wed, 10 Oct 2018 20:19:24 +0000",  # RFC 2822
        "Wed, 10 Oct 2018 20:19:24 GMT",
        "10 Oct 2018 22:19:24 +0200",
        "Wed, 10 Oct 2018 15:19:24 EST",  # obsolete zone: Python's fallback
        "20181010T201924Z",  # basic ISO form: Python's fallback
        "1539202764",  # epoch seconds as a string
        "1539202764.25",
        "1539202764000",  # epoch milliseconds
    ],
)
def test_each_form_parses_to_utc(text: str) -> None:
    assert formatted([text]) == [WHEN]


def test_date_only_and_minutes() -> None:
    assert formatted(["2018-10-10", "2018-10-10T20:19", "1 Oct 2018 20:19 UT"]) == [
        "2018-10-10T00:00:00Z",
        "2018-10-10T20:19:00Z",
        "2018-10-01T20:19:00Z",
    ]


def test_epoch_numbers_told_apart_by_magnitude() -> None:
    assert formatted([1539202764, 1539202764000, None], pa.int64()) == [WHEN, WHEN, None]
    assert formatted([1539202764.9, 1539202764123.0], pa.float64()) == [WHEN, WHEN]
    assert formatted(["1539202764", "1539202764123"]) == [WHEN, WHEN]


def test_arrow_timestamps_naive_means_utc() -> None:
    moment = datetime(2018, 10, 10, 20, 19, 24)
    assert formatted([moment], pa.timestamp("us")) == [WHEN]
    aware = datetime(2018, 10, 10, 22, 19, 24, tzinfo=timezone(timedelta(hours=2)))
    assert formatted([aware], pa.timestamp("ms", tz="+02:00")) == [WHEN]


def test_undated_counted_by_reason_and_rows_kept() -> None:
    values = [WHEN, None, "", "yesterday", "2018-13-01", "2018-02-30", "2018-10-10T25:00:00Z", "0001-01-01", "1e9"]
    parsed = parse_dates(pa.array(values, type=pa.string()))
    assert len(parsed.formatted) == len(values) and parsed.formatted.null_count == len(values) - 1
    assert parsed.undated == {"missing": 2, "unparseable": 2, "invalid_date": 3, "out_of_range": 1}
    numbers = parse_dates(pa.array([float("nan"), 1e17, -5e9], type=pa.float64()))
    assert numbers.undated == {"out_of_range": 3}


def test_cutoff_must_be_a_calendar_date() -> None:
    assert parse_cutoff("2024-02-29") == "2024-02-29"
    for text in ("2025-13-01", "2023-02-29", "2025-04-31"):
        with pytest.raises(UsageError, match="no calendar date"):
            parse_cutoff(text)


def compiled_parse(texts: list[str | None]) -> list[tuple[int, int]]:
    array = pa.array(texts, type=pa.string())
    data, offsets = utf8_view(array)
    valid = np.asarray(array.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)
    seconds, status = kernel.parse_utf8_dates(data, offsets, valid)
    return [(int(c), int(s) if c == kernel.OK else 0) for c, s in zip(status, seconds, strict=True)]


moments = st.datetimes(min_value=datetime(1890, 1, 1), max_value=datetime(2110, 12, 31))
offsets_minutes = st.integers(-23 * 60, 23 * 60)


@st.composite
def date_strings(draw: st.DrawFn) -> str:
    moment = draw(moments)
    zone = timezone(timedelta(minutes=draw(offsets_minutes)))
    local = moment.replace(tzinfo=zone)
    form = draw(st.sampled_from(["iso", "iso_frac", "date", "twitter", "rfc", "rfc_gmt", "epoch", "epoch_ms"]))
    stamp = int(local.timestamp())
    texts = {
        "iso": local.isoformat(timespec="seconds"),
        "iso_frac": local.strftime("%Y-%m-%dT%H:%M:%S.%f") + draw(st.sampled_from(["Z", "", "+0100", " UTC"])),
        "date": local.strftime("%Y-%m-%d"),
        "twitter": local.strftime("%a %b %d %H:%M:%S %z %Y"),
        "rfc": local.strftime("%a, %d %b %Y %H:%M:%S %z"),
        "rfc_gmt": moment.strftime("%d %b %Y %H:%M GMT"),
        "epoch": str(stamp),
        "epoch_ms": f"{stamp * 1000 + draw(st.integers(0, 999))}",
    }
    return texts[form]


def mutated(text: str, position: int, char: str) -> str:
    position %= len(text) + 1
    return text[:position] + char + text[position + 1 :]


def date_texts(reach: int, changes: str, alphabet: str, max_size: int) -> st.SearchStrategy[list[str | None]]:
    """Lists of nulls, dates in every form, dates with one character changed within `reach` (to one of
    `changes`), and texts of `alphabet`."""
    return st.lists(
        st.one_of(
            st.none(),
            date_strings(),
            st.builds(mutated, date_strings(), st.integers(0, reach), st.sampled_from(changes)),
            st.text(alphabet=alphabet, max_size=max_size),
        ),
        max_size=12,
    )


@settings(max_examples=300, deadline=None)
@given(texts=date_texts(40, "0123456789 :-+.,TZaW9", "0123456789 -:+.TZtzUTCGMWedOctJanFebSun,", 32))
def test_compiled_parse_equals_reference(texts: list[str | None]) -> None:
    assert compiled_parse(texts) == [parse_date_reference(t) for t in texts]


@settings(max_examples=300, deadline=None)
@given(texts=date_texts(12, "0123456789-:/T é٣", "0123456789-:Té٣", 14), large=st.booleans())
def test_leading_days_equal_reference(texts: list[str | None], large: bool) -> None:
    """The day a created_at starts with (the claims' dated posts and months): non-ASCII digits (٣) and
    multi-byte characters before the tenth character are no day."""
    values = pa.array(["2024-01-01", *texts], pa.large_string() if large else pa.string())[1:]  # an offset
    assert leading_days(values).tolist() == leading_days_reference(values).tolist()
    chunked = pa.chunked_array([values[:2], values[2:]], values.type)
    assert leading_days(chunked).tolist() == leading_days_reference(values).tolist()


@settings(max_examples=100, deadline=None)
@given(seconds=st.lists(st.integers(kernel.MIN_SECONDS, kernel.MAX_SECONDS - 1), max_size=20))
def test_compiled_format_equals_reference(seconds: list[int]) -> None:
    data = kernel.format_utc(np.array(seconds, dtype=np.int64)).tobytes().decode("ascii")
    width = kernel.FORMATTED_WIDTH
    assert [data[i * width : (i + 1) * width] for i in range(len(seconds))] == [
        format_utc_reference(s) for s in seconds
    ]


def test_generated_forms_round_trip() -> None:
    moment = datetime(1999, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
    seconds, status = date_seconds(pa.array([moment.strftime("%a %b %d %H:%M:%S %z %Y")]))
    assert status.tolist() == [kernel.OK] and seconds.tolist() == [int(moment.timestamp())]
