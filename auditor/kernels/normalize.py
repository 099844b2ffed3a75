"""Text normalization shared by the post side and the corpus side.

Both sides must normalize identically, so there is exactly one implementation, vectorized over Arrow
string arrays with pyarrow.compute (RE2 regexes, ICU-free Unicode normalization). The output keeps only
letters and digits: whatever a scraper or dataset builder did to case, punctuation, quotes, white space,
links and mentions, the same letters remain in the same order, so long character shingles survive.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

# Bumped whenever the output of normalize_texts changes for any input; recorded in fingerprint sets.
NORMALIZATION_VERSION = "letters-digits-v1"

# Every entity becomes punctuation, which the letters-and-digits filter drops anyway: one pass removes them.
_HTML_ENTITIES = r"&(?:amp|lt|gt|quot|apos|nbsp|#39|#x27);"

# One pass after NFKC and lowercasing; RE2 takes the leftmost match and, at one position, the first
# alternative, so a link is removed whole before its "http" could match the masked-link alternative.
# Removing (not keeping) links and mentions makes a post match whether a cleaner kept them, masked them
# ("http", "@user", "<url>") or removed them.
_REMOVALS = "|".join(
    (
        r"^\s*rt\s+@[\p{L}\p{N}_]+:?",  # retweet prefix "RT @user:"
        r"(?:https?://|www\.)\S+",  # links
        r"\b(?:https?)(?:\b|\s|$)",  # masked links left by cleaners
        r"<url>|\[url\]|\[link\]",
        r"(?:^|[^\p{L}\p{N}_])@[\p{L}\p{N}_]+",  # mentions, masked or not; not the domain of an e-mail address
    )
)

_KEEP_ONLY = r"[^\p{L}\p{N}]+"


def prenormalize(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """All of normalization but the final letters-and-digits filter (which compiled kernels fuse)."""
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if not (pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type)):
        texts = texts.cast(pa.string())
    out = pc.utf8_normalize(texts, form="NFKC")
    out = pc.replace_substring_regex(out, pattern=_HTML_ENTITIES, replacement=" ")
    out = pc.utf8_lower(out)
    out = pc.replace_substring(out, pattern="ß", replacement="ss")
    out = pc.replace_substring_regex(out, pattern=_REMOVALS, replacement=" ")
    return pc.utf8_normalize(out, form="NFKD")


def normalize_texts(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Normalize an Arrow string array; nulls stay null.

    NFKC folds compatibility forms (full-width letters, ligatures); lowercasing folds case; NFKD then
    splits accents off so the final letters-and-digits filter drops them (cafe == café); hashtags lose
    their "#" like any punctuation.
    """
    return pc.replace_substring_regex(prenormalize(texts), pattern=_KEEP_ONLY, replacement="")


@lru_cache(maxsize=1)
def letters_and_digits() -> npt.NDArray[np.bool_]:
    """For every code point, whether the final filter keeps it, asked of the same RE2 class it uses."""
    codepoints = np.concatenate([np.arange(0xD800), np.arange(0xE000, 0x110000)]).astype(np.uint32)
    utf8 = codepoints.tobytes().decode("utf-32-le").encode("utf-8")
    widths = 1 + (codepoints >= 0x80) + (codepoints >= 0x800) + (codepoints >= 0x10000)
    offsets = np.zeros(len(codepoints) + 1, dtype=np.int32)
    np.cumsum(widths, out=offsets[1:])
    singles = pa.StringArray.from_buffers(len(codepoints), pa.py_buffer(offsets.tobytes()), pa.py_buffer(utf8))
    kept = pc.match_substring_regex(singles, pattern=r"^[\p{L}\p{N}]$").to_numpy(zero_copy_only=False)
    table = np.zeros(0x110000, dtype=np.bool_)
    table[codepoints] = kept
    return table
