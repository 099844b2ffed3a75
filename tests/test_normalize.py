"""Normalization makes a post and its cleaned copies the same letters in the same order."""

from __future__ import annotations

import pyarrow as pa
import pytest

from auditor.kernels.normalize import normalize_texts, single_array, string_array

POST = "RT @news_desk: Café owners say “don't panic” &amp; keep calm! #SmallBusiness https://t.co/AbC123 @mayor"


def norm(text: str) -> str:
    result = normalize_texts(pa.array([text]))[0].as_py()
    assert isinstance(result, str)
    return result


@pytest.mark.parametrize(
    "copy",
    [
        POST.lower(),
        'Café owners say "don\'t panic" & keep calm! #SmallBusiness',  # links and mentions removed
        'RT @user: Café owners say "don\'t panic" & keep calm! #SmallBusiness http @user',  # masked
        "cafe owners say dont panic  keep calm smallbusiness",  # punctuation and accents stripped
        "Café   owners\nsay\t“don’t panic” &amp; keep calm! #SmallBusiness <URL>",
        "ＣＡＦÉ owners say don't panic & keep calm! #SmallBusiness [link]",  # full-width letters
    ],
)
def test_cleaned_copies_normalize_to_the_post(copy: str) -> None:
    assert norm(copy) == norm(POST) == "cafeownerssaydontpanickeepcalmsmallbusiness"


def test_nulls_stay_null_and_chunked_arrays_are_accepted() -> None:
    out = normalize_texts(pa.chunked_array([["A b"], [None, "Straße"]]))
    assert out.to_pylist() == ["ab", None, "straße"]


def test_words_that_only_start_like_links_are_kept() -> None:
    assert norm("the https protocol and httpd") == "theprotocolandhttpd"
    assert norm("mail me at bob@example.com") == "mailmeatbobexamplecom"


def test_scripts_without_spaces_keep_their_letters() -> None:
    assert norm("日本語のテキスト、です。") == "日本語のテキストてす"  # the voicing mark is split off by NFKD


def test_a_single_chunk_is_taken_as_it_is_and_several_are_combined() -> None:
    one = pa.array(["2024-01-02", None, "x"])
    taken = single_array(pa.chunked_array([one]))
    assert taken.buffers()[2].address == one.buffers()[2].address  # no copy of a set's column
    several = pa.chunked_array([one, pa.array(["y"])])
    assert single_array(several).to_pylist() == ["2024-01-02", None, "x", "y"]
    assert single_array(pa.chunked_array([], pa.string())).to_pylist() == []
    assert single_array(one) is one
    assert string_array(pa.chunked_array([pa.nulls(2)])).type == pa.string()
