"""Default values the command line shows in its help, in a module that imports nothing.

The CLI must start fast (`auditor --help` imports no numerical library), yet show the library's
defaults: the modules that use these values import them from here, so there is one source for each.
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_NUM_PERM = 128
DEFAULT_SEED = 1
DEFAULT_SHINGLE_SIZE = 12
DEFAULT_MIN_SHINGLES = 14
MAX_MIN_SHINGLES = 2**31 - 1  # a set records it; a set's reader takes at most this
DEFAULT_THRESHOLD = 0.6  # caps a post's floor of specific distinct slot hashes (25% to 50% by length): above them all
# Scanning a row takes some 30 bytes of memory a character (hashes, offsets, candidate work), so one
# enormous row could take a worker out of memory: longer rows are skipped and counted as `too_large`.
DEFAULT_MAX_ROW_CHARS = 20_000_000
SET_SUFFIX = ".fp.parquet"
DEFAULT_FINGERPRINT_DIR = Path("fingerprints")
DEFAULT_REPORT_DIR = Path("reports")
