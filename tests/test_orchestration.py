"""The library-first seam: the pure per-batch step, part results that merge, engines, one corpus pass for
several sets, and the audit request run by one library function."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor import audit as audit_module
from auditor import fingerprint_set
from auditor.audit import AuditOutputs, AuditRequest, CorpusSpec, audit_files, run_audit
from auditor.batch import CorpusBatch, PartResult, ScanOptions, scan_batch
from auditor.build import build_fingerprint_set
from auditor.engine import ScanJob
from auditor.engine import processes as processes_module
from auditor.engine.local import LocalEngine
from auditor.engine.processes import ProcessEngine
from auditor.errors import EngineError, UsageError
from auditor.fingerprint import Fingerprinter
from auditor.formats.json_report import render_json
from auditor.kernels import common_hashes
from auditor.kernels.normalize import prenormalize
from auditor.sampling import RowSample
from auditor.scan import CorpusScanner
from auditor.sources import corpus as corpus_source
from auditor.sources.corpus import open_corpus
from auditor.sources.posts import PostSource
from benchmarks.synthetic import Writer
from tests.conftest import POSTS, write_jsonl, write_parquet

FILLER = Writer(seed=11)


def _set(folder: Path, name: str, posts: list[str]) -> Path:
    records = [{"id": f"{name}{i}", "text": text} for i, text in enumerate(posts)]
    path = folder / f"{name}.fp.parquet"
    build_fingerprint_set([PostSource(write_jsonl(folder / f"{name}.jsonl", records))], path, Fingerprinter())
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """Two sets (the first three posts, the last two) and a corpus carrying posts of both."""
    folder = tmp_path_factory.mktemp("world")
    first, second = _set(folder, "a", POSTS[:3]), _set(folder, "b", POSTS[3:])
    rows = [{"id": f"r{i}", "text": FILLER.post(), "url": f"https://site{i % 3}.example/{i}"} for i in range(40)]
    rows[2]["text"] = POSTS[0]
    rows[9]["text"] = FILLER.page(3_000, 5_000, quoted=[POSTS[1], POSTS[3]])
    rows[21]["text"] = None
    rows[30]["text"] = FILLER.timeline([POSTS[4], FILLER.post(), POSTS[2]])
    corpus = folder / "corpus" / "part-0.parquet"
    write_parquet(corpus, rows)
    pq.write_table(pq.read_table(corpus), corpus, row_group_size=7)
    return first, second, corpus


def _scanner(path: Path) -> CorpusScanner:
    return CorpusScanner(fingerprint_set.load(path))


def _whole_file(scanners: list[CorpusScanner], corpus: Path, row_sample: RowSample | None = None) -> PartResult:
    table = pq.read_table(corpus).combine_chunks().to_batches()[0]
    return scan_batch(scanners, CorpusBatch.of(str(corpus), 0, table), ScanOptions(row_sample))


def _same(a: PartResult, b: PartResult) -> None:
    assert (a.rows, a.rows_skipped, a.domain_rows) == (b.rows, b.rows_skipped, b.domain_rows)
    for x, y in zip(a.sets, b.sets, strict=True):
        assert x.evidence.equals(y.evidence)
        assert np.array_equal(x.matched_posts, y.matched_posts)
        assert (x.text_share, x.domain_matched_rows) == (y.text_share, y.domain_matched_rows)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(1, 39), max_size=6, unique=True), sampled=st.booleans())
def test_part_results_add_up_to_the_whole_whatever_the_batches(
    world: tuple[Path, Path, Path], cuts: list[int], sampled: bool
) -> None:
    first, second, corpus = world
    scanners = [_scanner(first), _scanner(second)]
    row_sample = RowSample(0.6, seed=3) if sampled else None
    table = pq.read_table(corpus).combine_chunks().to_batches()[0]
    total = PartResult.empty(2)
    bounds = [0, *sorted(cuts), table.num_rows]
    for start, end in itertools.pairwise(bounds):
        batch = CorpusBatch.of(str(corpus), start, table.slice(start, end - start))
        total = total + scan_batch(scanners, batch, ScanOptions(row_sample))
    _same(total, _whole_file(scanners, corpus, row_sample))


def test_a_scanner_learns_its_corpus_common_hashes_and_finds_the_same(
    world: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scanner counts the hits of its first windows and skips the hashes they hit often from then on
    (common_hashes.CommonHashes): here it learns from the first row (a post), every hash hit once being
    common, and its results, while learning and after, are those of a scanner that learns nothing."""
    first, second, corpus = world
    table = pq.read_table(corpus).combine_chunks().to_batches()[0].slice(2)  # row 2 is the first post
    batch = CorpusBatch.of(str(corpus), 2, table)
    scanners = [_scanner(first), _scanner(second)]
    plain = scan_batch(scanners, batch)
    monkeypatch.setattr(common_hashes, "COMMON_HITS", 1)
    learning_scanner = _scanner(first)
    windows = int(learning_scanner.shingle(prenormalize(table.column("text"))).window_offsets[-1])
    # Learnt from the first row (the batch's rest then probed with the skip), or from the whole batch.
    for budget in (1, windows):
        monkeypatch.setattr(common_hashes, "COMMON_LEARN_WINDOWS", budget)
        learning = [_scanner(first), _scanner(second)]
        _same(scan_batch(learning, batch), plain)
        skip = learning[0].common.skip
        assert skip is not None and len(skip.hashes) > 0 and (skip.needs < learning[0].index._count_needs).any()
        _same(scan_batch(learning, batch), plain)
    monkeypatch.setattr(common_hashes, "COMMON_LEARN_WINDOWS", windows + 1)  # not yet: nothing learnt
    _same(scan_batch([learning_scanner, _scanner(second)], batch), plain)
    assert learning_scanner.common.skip is None
    _same(scan_batch([learning_scanner, _scanner(second)], batch), plain)  # learnt over two batches
    skip = learning_scanner.common.skip
    assert skip is not None and len(skip.hashes) > 0
    _same(scan_batch([learning_scanner, _scanner(second)], batch), plain)
    assert plain.sets[0].matches == 3


def test_one_batch_scanned_for_two_sets_equals_each_set_alone(world: tuple[Path, Path, Path]) -> None:
    first, second, corpus = world
    both = _whole_file([_scanner(first), _scanner(second)], corpus)
    alone = [_whole_file([_scanner(path)], corpus) for path in (first, second)]
    assert both.sets[0].evidence.equals(alone[0].sets[0].evidence)
    assert both.sets[1].evidence.equals(alone[1].sets[0].evidence)
    assert both.sets[0].evidence.num_rows == 3 and both.sets[1].evidence.num_rows == 2


def test_a_batch_names_rows_by_their_numbers_in_the_file(world: tuple[Path, Path, Path]) -> None:
    first, _, corpus = world
    table = pq.read_table(corpus).combine_chunks().to_batches()[0].slice(8, 3)  # rows 8, 9, 10
    result = scan_batch([_scanner(first)], CorpusBatch(str(corpus), np.array([108, 109, 110]), table))
    assert result.sets[0].evidence.column("corpus_row").to_pylist() == [109]
    with pytest.raises(ValueError, match="row numbers"):
        CorpusBatch(str(corpus), np.array([1, 2]), table)


def test_audit_files_reads_and_hashes_the_corpus_once_for_several_sets(
    world: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, corpus = world
    files = open_corpus([str(corpus)])
    reads: list[object] = []
    hashes: list[Path] = []
    original_batches, original_hash = corpus_source.CorpusFile.batches, audit_module.sha256_of

    def counting_batches(self: corpus_source.CorpusFile, row_groups: object = None) -> object:
        reads.append(row_groups)
        return original_batches(self, row_groups)  # type: ignore[arg-type]

    def counting_hash(path: Path) -> str:
        hashes.append(path)
        return original_hash(path)

    monkeypatch.setattr(corpus_source.CorpusFile, "batches", counting_batches)
    monkeypatch.setattr(audit_module, "sha256_of", counting_hash)
    together = audit_files([_scanner(first), _scanner(second)], files)
    assert len(reads) == 1 and hashes == [corpus]
    apart = [audit_files([_scanner(path)], files)[0] for path in (first, second)]
    for one, other in zip(together, apart, strict=True):
        assert render_json(one) == render_json(other)


def test_every_engine_gives_the_same_results(world: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    first, second, corpus = world
    monkeypatch.setattr(corpus_source, "TARGET_PART_BYTES", 1)  # a part per row group
    files = open_corpus([str(corpus)])
    scanners = [_scanner(first), _scanner(second)]
    job = ScanJob(tuple(scanners), tuple(files), tuple(corpus_source.corpus_parts(files)))
    assert len(job.parts) == 6
    local = audit_files(scanners, files, LocalEngine())
    forked = audit_files(scanners, files, ProcessEngine(2))

    class Reversed:  # an engine may hand parts back in any order
        name = "reversed"

        def run(self, job: ScanJob, on_rows: Callable[[int], None] | None = None) -> object:
            return reversed(list(LocalEngine().run(job, on_rows)))

    backwards = audit_files(scanners, files, Reversed())  # type: ignore[arg-type]
    for results in (forked, backwards):
        for one, other in zip(local, results, strict=True):
            assert one.evidence.equals(other.evidence)
            assert render_json(one) == render_json(other)


def test_run_audit_with_a_control_scans_once_and_writes_the_outputs(
    world: tuple[Path, Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second, corpus = world
    passes: list[int] = []
    original = audit_module.audit_files

    def counting(*args: object, **kwargs: object) -> object:
        passes.append(1)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(audit_module, "audit_files", counting)
    stages: list[str] = []

    class Recorder:
        def stage(self, description: str, total: int | None = None, unit: str = "") -> None:
            stages.append(description)

        def advance(self, count: int) -> None:
            pass

        def note(self, message: str) -> None:
            stages.append(f"note: {message}")

    outputs = AuditOutputs(tmp_path / "e.parquet", tmp_path / "r.json", tmp_path / "r.md", tmp_path / "r.html")
    request = AuditRequest(first, CorpusSpec((str(corpus),)), outputs, control=second)
    result = run_audit(request, Recorder())
    assert passes == [1]
    assert result.claims.control is not None and result.claims.control.after.denominator == 2
    assert all(path.exists() for path, _ in outputs.paths())
    assert "scanning the corpus" in stages and stages[0] == "identifying a.fp.parquet"
    assert "loading a.fp.parquet" in stages or "opening the index of a.fp.parquet" in stages


def test_requests_validate_on_creation(world: tuple[Path, Path, Path]) -> None:
    first, second, corpus = world
    spec = CorpusSpec((str(corpus),))
    with pytest.raises(UsageError, match="--workers"):
        AuditRequest(first, spec, workers=0)
    with pytest.raises(UsageError, match="--threshold"):
        AuditRequest(first, spec, threshold=1.5)
    with pytest.raises(UsageError, match="not both"):
        AuditRequest(first, spec, cutoff="2025-01-01", control=second)
    with pytest.raises(UsageError, match="--sample-rows"):
        AuditRequest(first, spec, sample_rows=0.0)
    with pytest.raises(UsageError, match="at least one corpus"):
        CorpusSpec(())


def test_a_batch_without_text_column_is_refused() -> None:
    with pytest.raises(ValueError, match="text"):
        CorpusBatch.of("f", 0, pa.record_batch({"body": ["x"]}))


def test_a_pool_broken_while_parts_are_handed_out_is_an_engine_error(
    world: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker that dies before every part is submitted breaks the pool under `submit` itself: the audit
    # still ends with the engine's one-sentence error, not a traceback (seen under CI's timing).
    first, _, corpus = world
    monkeypatch.setattr(corpus_source, "TARGET_PART_BYTES", 1)
    files = open_corpus([str(corpus)])
    submitted: list[int] = []
    original = processes_module.ProcessPoolExecutor.submit

    def failing_submit(self: Any, *args: Any, **kwargs: Any) -> Any:
        submitted.append(1)
        if len(submitted) == 2:
            raise BrokenProcessPool("a child process terminated abruptly")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(processes_module.ProcessPoolExecutor, "submit", failing_submit)
    with pytest.raises(EngineError, match="a worker process died; rerun the same command"):
        audit_files([_scanner(first)], files, ProcessEngine(2))
