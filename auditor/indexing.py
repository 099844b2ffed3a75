"""A fingerprint set's scanner from its stored index: opened memory-mapped when a usable one is stored,
else built (and stored for later audits when the place is writable). Library only; never prints: what
happens is told through the progress.

The index is the costly part of loading a set (minutes for millions of posts); stored once, every later
audit and every worker process opens it in seconds and shares its pages.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from auditor import fingerprint_set as fingerprint_sets
from auditor.errors import InputError, UsageError
from auditor.fingerprint_set import FingerprintSet
from auditor.index_store import (
    IndexMismatch,
    StoredIndex,
    file_status,
    index_name,
    index_root,
    open_index,
    prune,
    record_status,
    save_index,
    set_sha256,
    set_stem,
    writable,
)
from auditor.kernels.shingle_hash import ShingleHasher
from auditor.keys import key_for_set
from auditor.memory import release_freed_memory
from auditor.progress import NoProgress, Progress
from auditor.sampling import sample_posts
from auditor.scan import DEFAULT_THRESHOLD, CorpusScanner, Prebuilt, build_index


def validate_scan_settings(threshold: float, workers: int) -> None:
    if workers < 1:
        raise UsageError(f"--workers must be at least 1, got {workers}.")
    if not 0.0 < threshold <= 1.0:
        raise UsageError(f"--threshold must be above 0 and at most 1, got {threshold}; 0.6 is the default.")


def load_scanner(
    fingerprints: Path,
    key: bytes,
    threshold: float,
    progress: Progress,
    post_sample: float | None = None,
    seed: int = 0,
    index_dir: Path | None = None,
    store_index: bool = True,
) -> CorpusScanner:
    """The scanner of a set (of a seeded sample of its posts when asked), from its stored index.

    The index is opened memory-mapped from `index_dir` or `<stem>.index/` beside the set; when it is
    missing or unusable (the reason is noted) it is built and stored there for later audits, or built in
    memory when that place is not writable (`store_index` False: never stored). A sample of posts gets an
    index of its own, in memory, from the stored set data when there is some.
    """
    if post_sample is not None:
        found = _open_stored(fingerprints, threshold, progress, index_dir)
        if found is None:
            progress.stage(f"loading {fingerprints.name}")
        loaded = found.fingerprints if found is not None else fingerprint_sets.load(fingerprints)
        loaded = replace(loaded, path=fingerprints).subset(sample_posts(len(loaded.slot_hashes), post_sample, seed))
        progress.stage(f"indexing {len(loaded.slot_hashes):,} posts")
        return CorpusScanner(loaded, key, threshold)
    loaded, prebuilt = stored_index(fingerprints, threshold, progress, index_dir, key, store_index)
    return CorpusScanner(loaded, key, threshold, prebuilt)


def _open_stored(
    fingerprints: Path, threshold: float, progress: Progress, index_dir: Path | None
) -> StoredIndex | None:
    """The set's stored index when there is a usable one."""
    root = index_root(fingerprints, index_dir)
    sha256 = set_sha256(fingerprints, root)
    directory = root / index_name(set_stem(fingerprints), sha256, threshold)
    if not directory.is_dir():
        return None
    progress.stage(f"opening the index of {fingerprints.name}")
    try:
        return open_index(directory, sha256, threshold)
    except IndexMismatch:
        return None


def stored_index(
    fingerprints: Path,
    threshold: float,
    progress: Progress,
    index_dir: Path | None = None,
    key: bytes | None = None,
    store_index: bool = True,
) -> tuple[FingerprintSet, Prebuilt]:
    """A set's usable posts and their index: opened from the stored index, else built and stored for later
    audits (noted in the progress), else built in memory when the place is not writable.

    `key` (the set's, checked by the caller) is needed only to build the index of a set that keeps texts.
    """
    root = index_root(fingerprints, index_dir)
    name = fingerprints.name
    progress.stage(f"identifying {name}")
    sha256 = set_sha256(fingerprints, root)
    directory = root / index_name(set_stem(fingerprints), sha256, threshold)
    problem = None
    if directory.is_dir():
        progress.stage(f"opening the index of {name}")
        try:
            stored = open_index(directory, sha256, threshold)
            record_status(directory, fingerprints)
            return replace(stored.fingerprints, path=fingerprints), stored.prebuilt
        except IndexMismatch as mismatch:
            problem = mismatch.reason
    unwritable = writable(root) if store_index else "not asked to"
    if unwritable is not None:
        what = f"the index in {directory} {problem}, and " if problem else ""
        progress.note(
            f"{what}cannot keep the index of {name} in {root} ({unwritable}): indexing it in memory for this "
            "audit; --index-dir names a writable place."
        )
    elif problem:
        progress.note(f"rebuilding the index in {directory}: it {problem}.")
    else:
        progress.note(f"indexing {name} once, into {directory}: later audits open it in seconds.")
    progress.stage(f"loading {name}")
    loaded = fingerprint_sets.load(fingerprints)
    progress.stage(f"indexing {len(loaded.slot_hashes):,} posts")
    hasher = ShingleHasher(loaded.params.shingle_size, key) if key is not None else None
    prebuilt = build_index(loaded, threshold, hasher)
    if unwritable is not None:
        return loaded, prebuilt
    progress.stage(f"saving the index of {name}")
    try:
        saved = save_index(root, directory.name, loaded, prebuilt, sha256, file_status(fingerprints))
        stored = open_index(saved, sha256, threshold)
    except (OSError, IndexMismatch) as error:
        reason = (error.strerror or str(error)) if isinstance(error, OSError) else f"it {error.reason}"
        progress.note(f"could not save the index of {name} in {root} ({reason}): this audit indexes in memory.")
        return loaded, prebuilt
    if index_dir is None:
        prune(root, fingerprints, sha256)
    del loaded, prebuilt
    release_freed_memory()
    return replace(stored.fingerprints, path=fingerprints), stored.prebuilt


def index_set(
    fingerprints: Path,
    key_file: Path | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    progress: Progress | None = None,
    index_dir: Path | None = None,
) -> StoredIndex:
    """Build and store a set's index ahead of time (for CI caches), or find the stored one usable; returns
    it, opened. The key is needed only for a set that keeps texts (the index holds their shingles)."""
    validate_scan_settings(threshold, 1)
    progress = progress or NoProgress()
    info = fingerprint_sets.read_info(fingerprints)
    key = key_for_set(fingerprints, info.params.key_id, key_file) if info.has_text else None
    root = index_root(fingerprints, index_dir)
    unwritable = writable(root)
    if unwritable is not None:
        raise InputError(f"{root}: cannot write the index there ({unwritable}); name another place with --index-dir.")
    loaded, prebuilt = stored_index(fingerprints, threshold, progress, index_dir, key)
    if prebuilt.stored_at is None:
        raise InputError(f"{root}: the index could not be stored there; name another place with --index-dir.")
    return StoredIndex(prebuilt.stored_at, loaded, prebuilt, set_sha256(fingerprints, root))
