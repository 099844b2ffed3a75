"""Handing freed memory back to the system after the large, one-off allocations of loading and indexing.

Arrow's pool and glibc's heap both keep freed pages for reuse; after loading a fingerprint set and
building its index that is gigabytes nothing will reuse, and worker processes forked afterwards would
inherit it in their resident size.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache


@lru_cache(maxsize=1)
def glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (its malloc_trim and mallopt are glibc's), else None. Imports nothing
    numerical: the CLI calls it before numpy is loaded (startup.heap_keeps_freed_pages)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None  # glibc only


def release_freed_memory() -> None:
    """Return the free pages of Arrow's pool and of the C heap to the system."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    libc = glibc()
    if libc is not None:
        libc.malloc_trim(0)
