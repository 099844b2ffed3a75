"""Text normalization shared by the post side and the corpus side.

Both sides must normalize identically, so there is exactly one implementation, vectorized over Arrow
string arrays with pyarrow.compute (RE2 regexes, ICU-free Unicode normalization). The output keeps only
letters and digits: whatever a scraper or dataset builder did to case, punctuation, quotes, white space,
links and mentions, the same letters remain in the same order, so long character shingles survive.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

# Bumped whenever the output of normalize_texts changes for any input; recorded in fingerprint sets.
NORMALIZATION_VERSION = "letters-digits-v1"

_HTML_ENTITIES = (
    ("&amp;", "&"),
    ("&lt;", "<"),
    ("&gt;", ">"),
    ("&quot;", '"'),
    ("&#39;", "'"),
    ("&#x27;", "'"),
    ("&apos;", "'"),
    ("&nbsp;", " "),
)

# Applied in order after NFKC and lowercasing. Removing (not keeping) links and mentions makes a post
# match whether a cleaner kept them, masked them ("http", "@user", "<url>") or removed them.
_REMOVALS = (
    r"^\s*rt\s+@[\p{L}\p{N}_]+:?",  # retweet prefix "RT @user:"
    r"(?:https?://|www\.)\S+",  # links
    r"\b(?:https?|<url>|\[url\]|\[link\])(?:\b|\s|$)",  # masked links left by cleaners
    r"(?:^|[^\p{L}\p{N}_])@[\p{L}\p{N}_]+",  # mentions, masked or not; not the domain of an e-mail address
    r"<url>|\[url\]|\[link\]",
)

_KEEP_ONLY = r"[^\p{L}\p{N}]+"


def normalize_texts(texts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Normalize an Arrow string array; nulls stay null.

    NFKC folds compatibility forms (full-width letters, ligatures); lowercasing folds case; NFKD then
    splits accents off so the final letters-and-digits filter drops them (cafe == café); hashtags lose
    their "#" like any punctuation.
    """
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if not (pa.types.is_string(texts.type) or pa.types.is_large_string(texts.type)):
        texts = texts.cast(pa.string())
    out = pc.utf8_normalize(texts, form="NFKC")
    for entity, char in _HTML_ENTITIES:
        out = pc.replace_substring(out, pattern=entity, replacement=char)
    out = pc.utf8_lower(out)
    out = pc.replace_substring(out, pattern="ß", replacement="ss")
    for pattern in _REMOVALS:
        out = pc.replace_substring_regex(out, pattern=pattern, replacement=" ")
    out = pc.utf8_normalize(out, form="NFKD")
    out = pc.replace_substring_regex(out, pattern=_KEEP_ONLY, replacement="")
    return out
