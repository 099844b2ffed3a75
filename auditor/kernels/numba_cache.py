"""Keep numba's on-disk cache of the compiled kernels consistent across their modules.

numba checks a cached function against its own source file only. The kernels of compiled_text,
compiled_match, compiled_probe and the others call the primitives of compiled.py (numba compiles them
into the caller), so after an edit of compiled.py their cached machine code would still hold the old
primitive, and no test would notice. `drop_stale` removes, before any kernel is loaded, every cache file
of the kernels older than the newest kernel source: an edit of any kernel module recompiles them all
once, as when they were one file. A fresh install or checkout leaves no cache older than its sources.
"""

from __future__ import annotations

import os
from pathlib import Path


def drop_stale(directory: Path | None = None) -> int:
    """Remove the numba cache files (`.nbi`, `.nbc`) in `directory`/__pycache__ that are older than the
    newest `compiled*.py` in `directory` (the kernels' own, by default); how many were removed. Does
    nothing when NUMBA_CACHE_DIR puts the cache elsewhere, or when the files cannot be read or removed."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return 0
    here = directory if directory is not None else Path(__file__).parent
    removed = 0
    try:
        newest = max((source.stat().st_mtime for source in here.glob("compiled*.py")), default=None)
        if newest is None:
            return 0
        with os.scandir(here / "__pycache__") as entries:
            for entry in entries:
                if entry.name.endswith((".nbi", ".nbc")) and entry.stat().st_mtime < newest:
                    try:
                        os.unlink(entry.path)
                        removed += 1
                    except OSError:
                        pass
    except OSError:
        return removed
    return removed
