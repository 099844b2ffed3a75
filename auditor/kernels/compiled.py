"""Compiled (numba) primitives the compiled kernels share: hash mixing, UTF-8 decoding, runs, open-addressing
tables, bitmaps, growing arrays, a prefetch hint; and `members`.

The kernels themselves live by idea, each loop shaped for the processor (branch-free where a branch would
be mispredicted, split in passes where cache misses should overlap): compiled_text (shingling, the
removal pass, byte gathering), compiled_normalize (the normalization passes), compiled_minhash
(signatures), compiled_index (building the prefix index), compiled_probe (probing it, the count filter),
compiled_match (scoring candidate pairs, covers, excerpts), compiled_dates (date parsing).

Each function here has a numpy reference elsewhere in kernels/ that defines its result; tests hold the
two equal on random and Unicode edge-case inputs. numba caches the machine code beside this file, so
only the first run on a machine pays the compile time (a few seconds).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

# MurmurHash3 fmix32 constants, as datasketch applies them.
_M1 = np.uint64(0x85EBCA6B)
_M2 = np.uint64(0xC2B2AE35)
_MASK32 = np.uint64(0xFFFFFFFF)


@njit(cache=True, nogil=True)
def _fmix32(value: np.uint64) -> np.uint32:  # pragma: no cover - compiled
    # In uint64 with explicit masks: numba may widen uint32 arithmetic, which would break the wrap-around.
    h = np.uint64(value) & _MASK32
    h ^= h >> np.uint64(16)
    h = (h * _M1) & _MASK32
    h ^= h >> np.uint64(13)
    h = (h * _M2) & _MASK32
    h ^= h >> np.uint64(16)
    return np.uint32(h)


@intrinsic
def _prefetch(typingctx: Any, array: Any, index: Any) -> Any:  # pragma: no cover - compiled
    """prefetch(array, index) in compiled code: a hint to bring the cache line of array[index] in, for a load
    many iterations ahead. A pass over a memory-bound table (the filter's words, the radix table, the
    entries) then has more of its cache misses in flight than out-of-order execution reaches by itself.
    No effect on results; a prefetch never faults, even out of bounds (so `index` is not checked)."""
    if not (isinstance(array, types.Array) and array.ndim == 1 and isinstance(index, types.Integer)):
        return None  # numba then reports the call as not matching
    signature = types.void(array, index)

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        array_type = sig.args[0]
        view = context.make_array(array_type)(context, builder, args[0])
        pointer = cgutils.get_item_pointer(  # type: ignore[no-untyped-call]
            context, builder, array_type, view, [args[1]], wraparound=False
        )
        byte_pointer = ir.IntType(8).as_pointer()
        int32 = ir.IntType(32)
        hint = ir.FunctionType(ir.VoidType(), [byte_pointer, int32, int32, int32])
        # Unmangled: LLVM names it for the pointer type of its version (llvm.prefetch.p0i8 or .p0).
        function = cgutils.get_or_insert_function(builder.module, hint, "llvm.prefetch")  # type: ignore[no-untyped-call]
        read, most_local, data = ir.Constant(int32, 0), ir.Constant(int32, 3), ir.Constant(int32, 1)
        builder.call(function, [builder.bitcast(pointer, byte_pointer), read, most_local, data])
        return context.get_dummy_value()

    return signature, codegen


# Typed for callers (numba calls an intrinsic without its typing context); the same object at run time.
prefetch = cast(Callable[[npt.NDArray[Any], Any], None], _prefetch)


@njit(cache=True, nogil=True, inline="always")
def _width(lead: np.uint8) -> int:  # pragma: no cover - compiled
    return 1 if lead < 0x80 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4


@njit(cache=True, nogil=True, inline="always")
def _codepoint(data: npt.NDArray[np.uint8], i: int) -> int:  # pragma: no cover - compiled
    """The code point whose UTF-8 encoding starts at byte i."""
    b0 = int(data[i])
    if b0 < 0x80:
        return b0
    if b0 < 0xE0:
        return ((b0 & 0x1F) << 6) | (int(data[i + 1]) & 0x3F)
    if b0 < 0xF0:
        return ((b0 & 0x0F) << 12) | ((int(data[i + 1]) & 0x3F) << 6) | (int(data[i + 2]) & 0x3F)
    return (
        ((b0 & 0x07) << 18)
        | ((int(data[i + 1]) & 0x3F) << 12)
        | ((int(data[i + 2]) & 0x3F) << 6)
        | (int(data[i + 3]) & 0x3F)
    )


@njit(cache=True, nogil=True, inline="always")
def _run_end(values: npt.NDArray[np.int64], start: int) -> int:  # pragma: no cover - compiled
    """The end of the run of items equal to values[start]."""
    end = start
    while end < len(values) and values[end] == values[start]:
        end += 1
    return end


@njit(cache=True, nogil=True, inline="always")
def _slot(
    table: npt.NDArray[np.uint32], used: npt.NDArray[np.bool_], key: np.uint32, mask: int
) -> int:  # pragma: no cover - compiled
    """Where `key` is in an open-addressing table (linear probing from its low bits; keys are mixed
    hashes, so those are uniform), or the empty slot where it would go."""
    slot = int(key) & mask
    while used[slot]:
        if table[slot] == key:
            return slot
        slot = (slot + 1) & mask
    return slot


@njit(cache=True, nogil=True)
def _key_table(
    keys: npt.NDArray[np.uint32],
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.bool_], int]:  # pragma: no cover
    """An open-addressing set of a few keys (at most a quarter full): one probe, mostly, per look-up."""
    size = 16
    while size < 4 * len(keys):
        size *= 2
    table = np.zeros(size, dtype=np.uint32)
    used = np.zeros(size, dtype=np.bool_)
    for key in keys:
        slot = _slot(table, used, key, size - 1)
        used[slot] = True
        table[slot] = key
    return table, used, size - 1


@njit(cache=True, nogil=True)
def _grown(values: npt.NDArray[Any], capacity: int) -> npt.NDArray[Any]:  # pragma: no cover - compiled
    out = np.empty(capacity, dtype=values.dtype)
    for i in range(len(values)):  # a loop, not a slice assignment: far less machine code in every caller
        out[i] = values[i]
    return out


@njit(cache=True, nogil=True)
def members(values: npt.NDArray[np.uint32], keys: npt.NDArray[np.uint32]) -> npt.NDArray[np.bool_]:  # pragma: no cover
    """values[i] in keys, for few keys: a small open-addressing table instead of sorting the values."""
    table, used, mask = _key_table(keys)
    out = np.zeros(len(values), dtype=np.bool_)
    for i in range(len(values)):
        out[i] = used[_slot(table, used, values[i], mask)]
    return out


@njit(cache=True, nogil=True)
def _sparse_bitmap(hashes: npt.NDArray[np.uint32]) -> tuple[npt.NDArray[np.uint64], np.uint32]:  # pragma: no cover
    """A bitmap of `hashes` (any shape) by their low bits, at most one bit in 64 set (up to 2^20 bits).

    A row's windows are nearly all absent from its candidates' slots: looked up in a hash table a quarter
    full, each would take a branch the processor mispredicts; tested here first, the branch is nearly
    always "absent" and predicted."""
    bits = 1 << 12
    while bits < 64 * hashes.size and bits < 1 << 20:
        bits *= 2
    bit_mask = np.uint32(bits - 1)
    bitmap = np.zeros(bits >> 6, dtype=np.uint64)
    for value in hashes.ravel():
        low = value & bit_mask
        bitmap[low >> 6] |= np.uint64(1) << np.uint64(low & 63)
    return bitmap, bit_mask


@njit(cache=True, nogil=True, inline="always")
def _in_bitmap(bitmap: npt.NDArray[np.uint64], bit_mask: np.uint32, key: np.uint32) -> bool:  # pragma: no cover
    low = key & bit_mask
    return bool((bitmap[low >> 6] >> np.uint64(low & 63)) & np.uint64(1))
