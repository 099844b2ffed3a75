"""Stored indexes: built once, opened memory-mapped, identical evidence; mismatched or damaged ones are
rebuilt with a note, never used; a place that is not writable falls back to memory; `auditor index`."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from auditor import fingerprint_set, index_store
from auditor.audit import AuditOutputs, AuditRequest, CorpusSpec, index_set, load_scanner, run_audit
from auditor.batch import CorpusBatch, PartResult, ScanOptions, scan_batch
from auditor.build import build_fingerprint_set
from auditor.cli import app
from auditor.fingerprint import Fingerprinter
from auditor.index_store import (
    INDEX_FORMAT_VERSION,
    IndexMismatch,
    index_header,
    index_name,
    index_root,
    open_index,
    set_stem,
)
from auditor.keys import key_for_new_set, new_key_id
from auditor.params import FingerprintParams
from auditor.sampling import RowSample
from auditor.scan import CorpusScanner
from auditor.sources.posts import PostSource
from benchmarks.synthetic import Writer
from tests.conftest import POSTS, write_jsonl, write_parquet

FILLER = Writer(seed=5)


class Notes:
    """Progress that keeps the stages and notes."""

    def __init__(self) -> None:
        self.stages: list[str] = []
        self.notes: list[str] = []

    def stage(self, description: str, total: int | None = None, unit: str = "") -> None:
        self.stages.append(description)

    def advance(self, count: int) -> None:
        pass

    def note(self, message: str) -> None:
        self.notes.append(message)


def _set(folder: Path, keep_text: bool, keyed: bool = True) -> tuple[Path, bytes]:
    """A set of the five posts and 40 other posts (some templated, so that some slots are common)."""
    texts = (
        POSTS
        + [FILLER.post() for _ in range(40)]
        + [f"Good morning to everyone in {c}, have a great day!" for c in "ABCDEFGH"]
    )
    records = [{"id": f"p{i}", "text": t, "created_at": f"2024-01-{i % 28 + 1:02d}"} for i, t in enumerate(texts)]
    records.append({"id": "short", "text": "hi"})
    path = folder / "posts.fp.parquet"
    key, _, _ = key_for_new_set(path, None, not keyed)
    fingerprinter = Fingerprinter(FingerprintParams(key_id=new_key_id(key)), key, keep_text=keep_text)
    build_fingerprint_set([PostSource(write_jsonl(folder / "posts.jsonl", records))], path, fingerprinter)
    return path, key


def _corpus(folder: Path) -> Path:
    rows = [{"id": f"r{i}", "text": FILLER.post()} for i in range(30)]
    rows[1]["text"] = POSTS[0]
    rows[4]["text"] = FILLER.page(2_000, 3_000, quoted=[POSTS[1], POSTS[3]])
    rows[7]["text"] = None
    rows[12]["text"] = FILLER.timeline([POSTS[4], "Good morning to everyone in B, have a great day!", POSTS[2]])
    return write_parquet(folder / "corpus.parquet", rows)


def _scan(scanner: CorpusScanner, corpus: Path, sample: RowSample | None = None) -> PartResult:
    table = pq.read_table(corpus).combine_chunks().to_batches()[0]
    return scan_batch([scanner], CorpusBatch.of(str(corpus), 0, table), ScanOptions(sample))


def _same(a: PartResult, b: PartResult) -> None:
    assert (a.rows, a.rows_skipped, a.domain_rows) == (b.rows, b.rows_skipped, b.domain_rows)
    for x, y in zip(a.sets, b.sets, strict=True):
        assert x.evidence.equals(y.evidence)
        assert np.array_equal(x.matched_posts, y.matched_posts)
        assert x.text_share == y.text_share


@pytest.mark.parametrize("keep_text", [False, True])
def test_a_stored_index_gives_the_evidence_of_one_built_in_memory(tmp_path: Path, keep_text: bool) -> None:
    path, key = _set(tmp_path, keep_text)
    corpus = _corpus(tmp_path)
    in_memory = CorpusScanner(fingerprint_set.load(path), key)
    first, second = Notes(), Notes()
    built = load_scanner(path, key, 0.6, first)  # builds, stores, reopens memory-mapped
    opened = load_scanner(path, key, 0.6, second)  # opens
    assert any("indexing posts.fp.parquet once" in note for note in first.notes)
    assert second.notes == [] and "loading posts.fp.parquet" not in second.stages
    assert "opening the index of posts.fp.parquet" in second.stages
    expected = _scan(in_memory, corpus)
    assert expected.sets[0].matches >= 4
    for scanner in (built, opened):
        assert scanner.stored_at is not None
        assert isinstance(scanner.index.prefix_entries, np.memmap) and not scanner.index.radix.flags.writeable
        assert isinstance(scanner.fingerprints.slot_hashes, np.memmap)
        for name in ("slot_hashes", "prefix_entries", "radix", "filter_words", "required", "specific_bits"):
            assert np.array_equal(getattr(scanner.index, name), getattr(in_memory.index, name)), name
        _same(_scan(scanner, corpus), expected)
        _same(_scan(scanner, corpus, RowSample(0.5, 3)), _scan(in_memory, corpus, RowSample(0.5, 3)))
        assert scanner.fingerprints.post_ids.equals(in_memory.fingerprints.post_ids)
        assert scanner.fingerprints.metadata.equals(in_memory.fingerprints.metadata)
        assert scanner.fingerprints.untestable_examples == in_memory.fingerprints.untestable_examples
        assert scanner.fingerprints.path == path


def test_audits_with_and_without_a_stored_index_write_the_same_report(tmp_path: Path) -> None:
    path, _ = _set(tmp_path, keep_text=True)
    corpus = _corpus(tmp_path)
    reports = []
    for run, index_dir in enumerate([tmp_path / "not-a-dir.txt" / "below", None, None]):
        if index_dir is not None:
            (tmp_path / "not-a-dir.txt").write_text("a file where a directory would go")
        outputs = AuditOutputs(tmp_path / f"e{run}.parquet", tmp_path / f"r{run}.json")
        notes = Notes()
        result = run_audit(AuditRequest(path, CorpusSpec((str(corpus),)), outputs, index_dir=index_dir), notes)
        reports.append(result)
        if run == 0:  # nowhere to store it: built in memory, and said so
            assert any("cannot keep the index" in n and "in memory" in n for n in notes.notes)
    assert reports[0].evidence.equals(reports[1].evidence) and reports[1].evidence.equals(reports[2].evidence)
    assert reports[0].claims == reports[2].claims and reports[0].files == reports[2].files


def _leaf(path: Path, threshold: float = 0.6) -> Path:
    digest = index_store.sha256_of(path)
    return index_root(path) / index_name(set_stem(path), digest, threshold)


def test_a_damaged_or_mismatched_index_is_rebuilt_with_a_note_never_used(tmp_path: Path) -> None:
    path, key = _set(tmp_path, keep_text=False)
    corpus = _corpus(tmp_path)
    expected = _scan(CorpusScanner(fingerprint_set.load(path), key), corpus)
    load_scanner(path, key, 0.6, Notes())
    leaf = _leaf(path)

    def damage_and_reload(damage: str) -> list[str]:
        notes = Notes()
        _same(_scan(load_scanner(path, key, 0.6, notes), corpus), expected)
        assert open_index(leaf, None, 0.6)  # whole again
        return [n for n in notes.notes if damage in n]

    data = (leaf / "prefix_entries.npy").read_bytes()
    (leaf / "prefix_entries.npy").write_bytes(data[: len(data) // 2])
    assert damage_and_reload("damaged or truncated prefix_entries.npy")
    header = index_header(leaf)
    header["set"]["sha256"] = "0" * 64
    (leaf / "header.json").write_text(json.dumps(header))
    assert damage_and_reload("another version of the set")
    header = index_header(leaf)
    header["set"]["threshold"] = 0.7
    (leaf / "header.json").write_text(json.dumps(header))
    assert damage_and_reload("built for threshold 0.7")
    header = index_header(leaf)
    header["format_version"] = 99
    (leaf / "header.json").write_text(json.dumps(header))
    assert damage_and_reload("index format version 99")
    offsets = np.load(leaf / "heavy_offsets.npy")
    offsets[1] = offsets[-1] + 5  # the ends still fit
    np.save(leaf / "heavy_offsets.npy", offsets)
    assert damage_and_reload("heavy offsets that go down")
    (leaf / "posts.arrow").unlink()
    assert damage_and_reload("lacks its file posts.arrow")
    (leaf / "header.json").unlink()
    assert damage_and_reload("has no header")


def test_open_index_refuses_what_does_not_fit(tmp_path: Path) -> None:
    path, key = _set(tmp_path, keep_text=False)
    load_scanner(path, key, 0.6, Notes())
    leaf = _leaf(path)
    with pytest.raises(IndexMismatch, match="threshold"):
        open_index(leaf, None, 0.5)
    with pytest.raises(IndexMismatch, match="another version of the set"):
        open_index(leaf, "f" * 64, 0.6)
    header = index_header(leaf)
    coarse = np.load(leaf / "coarse_words.npy")
    np.save(leaf / "coarse_words.npy", coarse[: len(coarse) // 2])  # header and file agree, the filter does not
    header["arrays"]["coarse_words"]["shape"] = [len(coarse) // 2]
    (leaf / "header.json").write_text(json.dumps(header))
    with pytest.raises(IndexMismatch, match="coarse filter"):
        open_index(leaf, None, 0.6)
    header["arrays"]["radix"]["dtype"] = "<i8"
    (leaf / "header.json").write_text(json.dumps(header))
    with pytest.raises(IndexMismatch, match="radix"):
        open_index(leaf, None, 0.6)


def test_a_rebuilt_set_gets_a_new_index_and_the_old_one_goes(tmp_path: Path) -> None:
    path, key = _set(tmp_path, keep_text=False)
    load_scanner(path, key, 0.6, Notes())
    earlier_format = _leaf(path).with_name(_leaf(path).name.replace(f"-v{INDEX_FORMAT_VERSION}", "-v1"))
    earlier_format.mkdir()  # what an earlier version of the tool stored: this one never reads it
    later = _leaf(path).with_name(
        _leaf(path).name.replace(f"-v{INDEX_FORMAT_VERSION}", f"-v{INDEX_FORMAT_VERSION + 1}")
    )
    later.mkdir()  # a newer tool's, sharing the set: left alone
    load_scanner(path, key, 0.8, Notes())  # another threshold: an index of its own, beside
    old = _leaf(path)
    assert old.is_dir() and _leaf(path, 0.8).is_dir() and not earlier_format.exists() and later.is_dir()
    shutil.copy(path, tmp_path / "copy.parquet")
    records = [{"id": "new", "text": POSTS[0] + " and then some more words"}]
    fingerprinter = Fingerprinter(fingerprint_set.read_info(path).params, key)
    build_fingerprint_set([PostSource(write_jsonl(tmp_path / "new.jsonl", records))], path, fingerprinter)
    notes = Notes()
    scanner = load_scanner(path, key, 0.6, notes)
    assert any("indexing posts.fp.parquet once" in n for n in notes.notes)
    assert len(scanner.fingerprints.slot_hashes) == 1
    assert not old.exists() and _leaf(path).is_dir()


def test_sets_whose_names_share_a_stem_keep_their_indexes(tmp_path: Path) -> None:
    # posts.fp.parquet and posts.parquet: one index folder, posts.index/, for two sets
    path, key = _set(tmp_path, keep_text=False)
    (tmp_path / "other").mkdir()
    other_built, other_key = _set(tmp_path / "other", keep_text=False)
    other = tmp_path / "posts.parquet"
    shutil.move(other_built, other)
    assert index_root(other) == index_root(path) and _leaf(other) != _leaf(path)
    load_scanner(path, key, 0.6, Notes())
    load_scanner(other, other_key, 0.6, Notes())
    assert _leaf(path).is_dir() and _leaf(other).is_dir()  # neither taken for an earlier version of the other
    damaged = index_root(path) / index_name(set_stem(path), "0" * 64, 0.6)
    damaged.mkdir()  # an index folder whose header cannot say which set it served: nothing worth keeping
    load_scanner(path, key, 0.8, Notes())
    assert not damaged.exists() and _leaf(path).is_dir() and _leaf(other).is_dir()


def test_an_unchanged_set_is_not_hashed_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, key = _set(tmp_path, keep_text=False)
    load_scanner(path, key, 0.6, Notes())
    from auditor import files

    files._KNOWN.clear()
    hashed: list[Path] = []
    real = files._sha256_uncached
    monkeypatch.setattr(files, "_sha256_uncached", lambda p: hashed.append(p) or real(p))
    load_scanner(path, key, 0.6, Notes())
    assert hashed == []  # the index recorded the set's status with its SHA-256
    assert files.sha256_of(path) == real(path)
    os.utime(path)  # a changed status: hashed again, the index still serves (same content)
    notes = Notes()
    load_scanner(path, key, 0.6, notes)
    assert hashed == [path] and notes.notes == []


def test_a_sample_of_posts_is_indexed_in_memory_with_the_same_evidence(tmp_path: Path) -> None:
    path, key = _set(tmp_path, keep_text=True)
    corpus = _corpus(tmp_path)
    without = load_scanner(path, key, 0.6, Notes(), post_sample=0.5, seed=2, store_index=False)
    load_scanner(path, key, 0.6, Notes())
    notes = Notes()
    with_stored = load_scanner(path, key, 0.6, notes, post_sample=0.5, seed=2)
    assert "loading posts.fp.parquet" not in notes.stages and with_stored.stored_at is None
    _same(_scan(with_stored, corpus), _scan(without, corpus))
    assert with_stored.fingerprints.post_ids.equals(without.fingerprints.post_ids)


def test_index_set_needs_the_key_only_for_a_set_with_texts(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    plain, _ = _set(tmp_path / "a", keep_text=False)
    (tmp_path / "a" / "posts.key").unlink()
    stored = index_set(plain, index_dir=tmp_path / "cache")
    assert stored.directory.parent == tmp_path / "cache" and open_index(stored.directory, None, 0.6)
    (tmp_path / "b").mkdir()
    texts, _ = _set(tmp_path / "b", keep_text=True)
    (tmp_path / "b" / "posts.key").unlink()
    with pytest.raises(Exception, match="no key was found"):
        index_set(texts)


def test_the_index_command_builds_then_finds_it_up_to_date(tmp_path: Path) -> None:
    path, _ = _set(tmp_path, keep_text=False)
    runner = CliRunner()
    first = runner.invoke(app, ["index", str(path), "--index-dir", str(tmp_path / "cache")])
    assert first.exit_code == 0, first.output
    assert "posts.fp.parquet" in first.output and "bytes a post" in first.output
    assert "indexing posts.fp.parquet once" in first.output
    second = runner.invoke(app, ["index", str(path), "--index-dir", str(tmp_path / "cache")])
    assert second.exit_code == 0 and "indexing" not in second.output
    bad = runner.invoke(app, ["index", str(path), "--threshold", "1.5"])
    assert bad.exit_code == 2 and "--threshold" in bad.output and "Traceback" not in bad.output
    blocked = tmp_path / "file.txt"
    blocked.write_text("not a directory")
    refused = runner.invoke(app, ["index", str(path), "--index-dir", str(blocked / "below")])
    assert refused.exit_code == 2 and "cannot write the index there" in refused.output
