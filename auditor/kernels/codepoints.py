"""Arrow UTF-8 string arrays to one flat array of Unicode code points, with per-string offsets."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

Codepoints = npt.NDArray[np.uint32]
Offsets = npt.NDArray[np.int64]


def utf8_view(texts: pa.Array) -> tuple[npt.NDArray[np.uint8], Offsets]:
    """The UTF-8 bytes of all strings back to back, and byte offsets with len(texts) + 1 entries.

    Zero-copy where Arrow allows; nulls count as empty strings.
    """
    texts = pc.fill_null(texts, "") if texts.null_count else texts
    offset_type = np.int64 if pa.types.is_large_string(texts.type) else np.int32
    offsets_buffer, data_buffer = texts.buffers()[1], texts.buffers()[2]
    window = slice(texts.offset, texts.offset + len(texts) + 1)
    byte_offsets: Offsets = np.frombuffer(offsets_buffer, dtype=offset_type)[window].astype(np.int64)
    if len(texts) == 0 or data_buffer is None:
        return np.zeros(0, dtype=np.uint8), np.zeros(len(texts) + 1, dtype=np.int64)
    start, end = int(byte_offsets[0]), int(byte_offsets[-1])
    return np.frombuffer(data_buffer, dtype=np.uint8)[start:end], byte_offsets - start


def to_codepoints(texts: pa.Array) -> tuple[Codepoints, Offsets]:
    """Return (code points of all strings back to back, offsets with len(texts) + 1 entries).

    Nulls count as empty strings. The whole value buffer is decoded at once (a concatenation of valid
    UTF-8 strings is valid UTF-8), and byte offsets become code point offsets by counting lead bytes.
    """
    data, byte_offsets = utf8_view(texts)
    is_lead = (data & 0xC0) != 0x80
    lead_count = np.zeros(len(data) + 1, dtype=np.int64)
    np.cumsum(is_lead, out=lead_count[1:])
    codepoints = np.frombuffer(data.tobytes().decode("utf-8").encode("utf-32-le"), dtype=np.uint32)
    return codepoints, lead_count[byte_offsets]
