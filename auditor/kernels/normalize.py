"""Text normalization shared by the post side and the corpus side.

Both sides must normalize identically, so there is exactly one implementation, vectorized over Arrow
string arrays with pyarrow.compute (RE2 regexes, ICU-free Unicode normalization). The output keeps only
letters and digits: whatever a scraper or dataset builder did to case, punctuation, quotes, white space,
links and mentions, the same letters remain in the same order, so long character shingles survive.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import unicodedata
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from auditor.kernels import compiled_normalize, compiled_text
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

    Equal to `prenormalize_reference` (the regexes and Arrow's normalization over every row), computed
    faster: Arrow normalizes only the stretches of text that normalization may change (see
    `inert_table`; most corpus text holds none), and the entity and removal regexes run compiled.
    """
    texts = string_array(texts)
    data, offsets = normalized_utf8(*utf8_view(texts), "NFKC")
    amps = np.flatnonzero(data == 38)  # "&": an entity may start there
    if len(amps):
        replaced = np.empty(len(data), dtype=np.uint8)
        replaced_offsets = np.empty(len(offsets), dtype=np.int64)
        size = compiled_normalize.replace_entities(data, offsets, amps, replaced, replaced_offsets)
        data, offsets = replaced[:size], replaced_offsets
    removed = np.empty(len(data), dtype=np.uint8)
    removed_offsets = np.empty(len(offsets), dtype=np.int64)
    size = compiled_text.remove_links_mentions(data, offsets, fold_table(), removed, removed_offsets)
    data, offsets = normalized_utf8(removed[:size], removed_offsets, "NFKD")
    return _with_text(texts, data, offsets)


def normalized_utf8(
    data: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64], form: str
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """UTF-8 strings (bytes and offsets) in Unicode normalization form `form`: Arrow normalizes only the
    stretches `compiled_normalize.islands` finds, and they are spliced back in place."""
    high = np.flatnonzero(data >= 0x80)
    if len(high) == 0:
        return data, offsets
    starts, ends = compiled_normalize.islands(data, offsets, inert_table(), high)
    if len(starts) == 0:
        return data, offsets
    pieces, piece_offsets = compiled_text.gather_bytes(data, starts, ends)
    stretches = pa.Array.from_buffers(
        pa.large_string(), len(starts), [None, pa.py_buffer(piece_offsets), pa.py_buffer(pieces)]
    )
    normalized_data, normalized_offsets = utf8_view(pc.utf8_normalize(stretches, form=form))
    return compiled_normalize.splice(data, offsets, starts, ends, normalized_data, normalized_offsets)


def prenormalize_reference(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """prenormalize as regexes run by RE2 and Arrow's normalization of every row: the definition the
    compiled passes are tested against."""
    out = pc.utf8_normalize(string_array(texts), form="NFKC")
    out = pc.replace_substring_regex(out, pattern=_HTML_ENTITIES, replacement=" ")
    out = pc.replace_substring_regex(out, pattern=_REMOVALS, replacement=" ")
    return pc.utf8_normalize(out, form="NFKD")


def single_array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """`values` as one array: a chunked array's only chunk as it is (`combine_chunks` copies even one, a
    set's whole column in every audit), else its chunks combined. The result may share its buffers (read
    only, perhaps mapped from a file) and start at an offset: callers read it through its offsets."""
    if not isinstance(values, pa.ChunkedArray):
        return values
    return values.chunk(0) if values.num_chunks == 1 else values.combine_chunks()


def string_array(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """`texts` as one string (or large string) array (`single_array`), other types (all-null arrays
    among them) cast."""
    texts = single_array(texts)
    if not (pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type)):
        texts = texts.cast(pa.string())
    return texts


def _with_text(like: pa.Array, data: npt.NDArray[np.uint8], offsets: npt.NDArray[np.int64]) -> pa.Array:
    """A string array of `like`'s validity holding the given UTF-8 bytes and offsets: of `like`'s type, or
    a large string array when normalization has grown the text past 32-bit offsets."""
    validity = pc.is_valid(like).buffers()[1] if like.null_count else None
    large = pa.types.is_large_string(like.type) or int(offsets[-1]) > 2**31 - 1
    return pa.Array.from_buffers(
        pa.large_string() if large else pa.string(),
        len(like),
        [validity, pa.py_buffer(offsets.astype(np.int64 if large else np.int32)), pa.py_buffer(data)],
        null_count=like.null_count,
    )


def normalize_texts(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Normalize an Arrow string array; nulls stay null.

    NFKC folds compatibility forms (full-width letters, ligatures); NFKD then splits accents off so the
    letters-and-digits filter drops them (cafe == café); hashtags lose their "#" like any punctuation;
    last, every code point is lowercased (Arrow's simple, one-to-one case mapping).
    """
    kept = pc.replace_substring_regex(prenormalize_reference(texts), pattern=_KEEP_ONLY, replacement="")
    return pc.utf8_lower(kept)


def fold_table() -> npt.NDArray[np.uint32]:
    """For every code point, what the last two steps of normalize_texts make of it: 0 when the
    letters-and-digits filter drops it, else its lowercase. Asked of the same RE2 class and the same
    Arrow lowercasing, so the compiled path cannot drift from the reference."""
    return _tables()[0]


def inert_table() -> npt.NDArray[np.bool_]:
    """For every code point, whether it is *inert*: a string of inert code points is its own NFKC and NFKD.

    Inert means assigned (in Python's Unicode database), its own NFKC and NFKD (asked of Arrow, which
    normalizes), canonical combining class 0 (so never reordered) and never the second code point of a
    canonical composition (so never composed with the one before). Decomposition works code point by
    code point and reorders only combining classes above 0, and composition needs such a second code
    point, so a string of inert code points goes through both forms unchanged.
    """
    return _tables()[1]


# Apostrophes join the letters around them into one word ("example's").
APOSTROPHES = frozenset("'\u2019\u02bc")


def joins_words(character: str) -> bool:
    """Whether `character` joins the letters around it into one word where normalization drops it: a
    combining mark (category M) or an apostrophe. Any other character the letters-and-digits filter drops
    separates words (containment.word_starts)."""
    return unicodedata.category(character).startswith("M") or character in APOSTROPHES


def joiner_table() -> npt.NDArray[np.bool_]:
    """`joins_words` for every code point (the compiled whole-words look asks it)."""
    return _tables()[2]


# Bump when the tables' definition changes: cached tables of another version are recomputed.
_TABLES_VERSION = 2

Tables = tuple[npt.NDArray[np.uint32], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]


@lru_cache(maxsize=1)
def _tables() -> Tables:
    """The fold, inert and joiner tables, from a cache when one holds them for this Arrow and Unicode version
    (computing them asks Arrow about every code point, a cost every process would pay at start), else
    computed and cached: beside the compiled kernels, or in the user's cache folder when the package's
    folder is read-only."""
    key = f"{_TABLES_VERSION}-{NORMALIZATION_VERSION}-pyarrow{pa.__version__}-unicode{unicodedata.unidata_version}"
    name = f"normalization-tables-{key}.npz"
    user_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "provenance-auditor"
    places = [Path(__file__).resolve().parent / "__pycache__", user_cache]
    for place in places:
        with contextlib.suppress(OSError, ValueError, KeyError):
            with np.load(place / name, allow_pickle=False) as cached:
                fold, inert, joiner = cached["fold"], cached["inert"], cached["joiner"]
            shapes = fold.shape == inert.shape == joiner.shape == (0x110000,)
            if shapes and fold.dtype == np.uint32 and inert.dtype == joiner.dtype == np.bool_:
                return fold, inert, joiner
    fold, inert, joiner = compute_tables()
    for place in places:
        temporary = None
        try:
            place.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=place, suffix=".tmp", delete=False) as handle:
                temporary = Path(handle.name)
                np.savez(handle, fold=fold, inert=inert, joiner=joiner)
            os.replace(temporary, place / name)
            break
        except OSError:
            if temporary is not None:
                temporary.unlink(missing_ok=True)
    return fold, inert, joiner


def compute_tables() -> Tables:
    """fold_table, inert_table and joiner_table computed afresh (what the cache holds)."""
    codepoints = np.concatenate([np.arange(1, 0xD800), np.arange(0xE000, 0x110000)]).astype(np.uint32)
    singles = _strings_of(codepoints)
    kept = pc.match_substring_regex(singles, pattern=r"^[\p{L}\p{N}]$").to_numpy(zero_copy_only=False)
    lowered_codepoints = to_codepoints(pc.utf8_lower(singles))[0]
    if len(lowered_codepoints) != len(codepoints):
        raise RuntimeError("Arrow's lowercasing is no longer one-to-one; normalization must be revisited")
    fold = np.zeros(0x110000, dtype=np.uint32)
    fold[codepoints[kept]] = lowered_codepoints[kept]

    stable = pc.and_(
        pc.equal(pc.utf8_normalize(singles, form="NFKC"), singles),
        pc.equal(pc.utf8_normalize(singles, form="NFKD"), singles),
    ).to_numpy(zero_copy_only=False)
    seconds = {int(part, 16) for part in _canonical_pairs()}
    seconds.update(range(0x1161, 0x1176))  # Hangul vowel jamo compose with a leading consonant
    seconds.update(range(0x11A8, 0x11C3))  # and trailing consonants with a syllable
    inert = np.zeros(0x110000, dtype=np.bool_)
    inert[:0x80] = True
    for codepoint in codepoints[stable & (codepoints >= 0x80)].tolist():
        character = chr(codepoint)
        if (
            codepoint not in seconds
            and unicodedata.combining(character) == 0
            and unicodedata.category(character) != "Cn"
        ):
            inert[codepoint] = True
    inert[0] = True  # NUL: ASCII, and never decoded from a string by the kernels
    joiner = np.zeros(0x110000, dtype=np.bool_)
    for codepoint in range(0x110000):
        joiner[codepoint] = joins_words(chr(codepoint))
    return fold, inert, joiner


def _canonical_pairs() -> list[str]:
    """The second code point (hex) of every two-code-point canonical decomposition."""
    seconds = []
    for codepoint in range(0x80, 0x110000):
        decomposition = unicodedata.decomposition(chr(codepoint))
        if decomposition and not decomposition.startswith("<"):
            parts = decomposition.split()
            if len(parts) == 2:
                seconds.append(parts[1])
    return seconds


def _strings_of(codepoints: npt.NDArray[np.uint32]) -> pa.Array:
    """An Arrow string array of one-code-point strings."""
    utf8 = codepoints.tobytes().decode("utf-32-le").encode("utf-8")
    widths = 1 + (codepoints >= 0x80) + (codepoints >= 0x800) + (codepoints >= 0x10000)
    offsets = np.zeros(len(codepoints) + 1, dtype=np.int32)
    np.cumsum(widths, out=offsets[1:])
    return pa.StringArray.from_buffers(len(codepoints), pa.py_buffer(offsets.tobytes()), pa.py_buffer(utf8))
