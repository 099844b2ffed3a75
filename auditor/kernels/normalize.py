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

from auditor.kernels import compiled
from auditor.kernels.codepoints import to_codepoints, utf8_view

# Bumped whenever the output of normalize_texts changes for any input; recorded in fingerprint sets.
NORMALIZATION_VERSION = "letters-digits-v2"

# Every entity becomes punctuation, which the letters-and-digits filter drops anyway: one pass removes them.
_HTML_ENTITIES = r"&(?:amp|lt|gt|quot|apos|nbsp|#39|#x27);"

# One pass after NFKC and lowercasing; RE2 takes the leftmost match and, at one position, the first
# alternative, so a link is removed whole before its "http" could match the masked-link alternative.
# Removing (not keeping) links and mentions makes a post match whether a cleaner kept them, masked them
# ("http", "@user", "<url>") or removed them.
_REMOVALS = "(?i)" + "|".join(
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
    """All of normalization but the final letters-and-digits filter and lowercasing, which compiled
    kernels fuse into one table look-up per code point (`fold_table`).

    The removals run compiled (compiled.remove_links_mentions: a quarter of the time of the regex,
    which was the costliest step of a scan); `prenormalize_reference` runs the regex itself.
    """
    out = _entities_removed(texts)
    data, offsets = utf8_view(out)
    removed = np.empty(len(data), dtype=np.uint8)
    removed_offsets = np.empty(len(offsets), dtype=np.int64)
    size = compiled.remove_links_mentions(data, offsets, fold_table(), removed, removed_offsets)
    validity = pc.is_valid(out).buffers()[1] if out.null_count else None
    large = pa.types.is_large_string(out.type)
    out = pa.Array.from_buffers(
        out.type,
        len(out),
        [validity, pa.py_buffer(removed_offsets.astype(np.int64 if large else np.int32)), pa.py_buffer(removed[:size])],
        null_count=out.null_count,
    )
    return pc.utf8_normalize(out, form="NFKD")


def prenormalize_reference(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """prenormalize with the removal regex run by RE2: the definition the compiled pass is tested against."""
    out = pc.replace_substring_regex(_entities_removed(texts), pattern=_REMOVALS, replacement=" ")
    return pc.utf8_normalize(out, form="NFKD")


def _entities_removed(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if not (pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type)):
        texts = texts.cast(pa.string())
    out = pc.utf8_normalize(texts, form="NFKC")
    return pc.replace_substring_regex(out, pattern=_HTML_ENTITIES, replacement=" ")


def normalize_texts(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Normalize an Arrow string array; nulls stay null.

    NFKC folds compatibility forms (full-width letters, ligatures); NFKD then splits accents off so the
    letters-and-digits filter drops them (cafe == café); hashtags lose their "#" like any punctuation;
    last, every code point is lowercased (Arrow's simple, one-to-one case mapping).
    """
    kept = pc.replace_substring_regex(prenormalize_reference(texts), pattern=_KEEP_ONLY, replacement="")
    return pc.utf8_lower(kept)


@lru_cache(maxsize=1)
def fold_table() -> npt.NDArray[np.uint32]:
    """For every code point, what the last two steps of normalize_texts make of it: 0 when the
    letters-and-digits filter drops it, else its lowercase. Asked of the same RE2 class and the same
    Arrow lowercasing, so the compiled path cannot drift from the reference."""
    codepoints = np.concatenate([np.arange(1, 0xD800), np.arange(0xE000, 0x110000)]).astype(np.uint32)
    singles = _strings_of(codepoints)
    kept = pc.match_substring_regex(singles, pattern=r"^[\p{L}\p{N}]$").to_numpy(zero_copy_only=False)
    lowered_codepoints = to_codepoints(pc.utf8_lower(singles))[0]
    if len(lowered_codepoints) != len(codepoints):
        raise RuntimeError("Arrow's lowercasing is no longer one-to-one; normalization must be revisited")
    table = np.zeros(0x110000, dtype=np.uint32)
    table[codepoints[kept]] = lowered_codepoints[kept]
    return table


def _strings_of(codepoints: npt.NDArray[np.uint32]) -> pa.Array:
    """An Arrow string array of one-code-point strings."""
    utf8 = codepoints.tobytes().decode("utf-32-le").encode("utf-8")
    widths = 1 + (codepoints >= 0x80) + (codepoints >= 0x800) + (codepoints >= 0x10000)
    offsets = np.zeros(len(codepoints) + 1, dtype=np.int32)
    np.cumsum(widths, out=offsets[1:])
    return pa.StringArray.from_buffers(len(codepoints), pa.py_buffer(offsets.tobytes()), pa.py_buffer(utf8))
