"""Pure, vectorized kernels over Arrow arrays and numpy arrays. No I/O lives here (but for numba's cache,
kept consistent across the kernel modules before any is loaded: numba_cache)."""

from auditor.kernels.numba_cache import drop_stale

drop_stale()
