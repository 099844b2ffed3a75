"""Columns read as text from Parquet, for the corpus and for posts: what counts as text, and how it becomes
Arrow strings.

Writers store text in more than one way: UTF-8 strings (of any offset width), dictionary-encoded strings
(pandas categoricals, and what pyarrow writes for them), or bytes without the string annotation. All of
them are text to a user; a column of numbers, lists or structs is not. Bytes are only viewed as strings
here: `first_bad_utf8` finds the first row that is not UTF-8, for its reader to name.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa

_STRING_CHECKS: tuple[Callable[[pa.DataType], bool], ...] = (pa.types.is_string, pa.types.is_large_string)
_BYTES_CHECKS: tuple[Callable[[pa.DataType], bool], ...] = (pa.types.is_binary, pa.types.is_large_binary)
_VIEW_CHECKS: tuple[Callable[[pa.DataType], bool], ...] = tuple(
    check for name in ("is_string_view", "is_binary_view") if (check := getattr(pa.types, name, None)) is not None
)


def is_text_type(kind: pa.DataType) -> bool:
    """Whether a column of this type is read as text: strings, bytes, their views, or a dictionary of them."""
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    return any(check(kind) for check in (*_STRING_CHECKS, *_BYTES_CHECKS, *_VIEW_CHECKS))


def as_strings(array: pa.Array) -> pa.Array:
    """A column of a text type (`is_text_type`) as a string or large_string array: a dictionary decoded,
    bytes viewed as strings (not checked: see `first_bad_utf8`), a view copied to offsets. Other arrays are
    returned as they are."""
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    kind = array.type
    if pa.types.is_binary(kind):
        return array.view(pa.string())
    if pa.types.is_large_binary(kind):
        return array.view(pa.large_string())
    if any(check(kind) for check in _VIEW_CHECKS):
        return array.cast(pa.large_binary()).view(pa.large_string())
    return array


def first_bad_utf8(array: pa.Array) -> int | None:
    """The index of the first value of a string array that is not UTF-8, or None when all are (an array of
    another type: None)."""
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        return None
    try:
        array.validate(full=True)
        return None
    except pa.ArrowInvalid:
        pass
    binary = pa.large_binary() if pa.types.is_large_string(array.type) else pa.binary()
    for index, value in enumerate(array.view(binary).to_pylist()):
        try:
            if value is not None:
                value.decode("utf-8")
        except UnicodeDecodeError:
            return index
    return 0  # invalid for another reason than its bytes: the array itself is damaged
