"""The audit finds posts as rows, inside documents and in timelines, and nothing else."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from auditor import fingerprint_set
from auditor.audit import audit
from auditor.batch import CorpusBatch, scan_batch
from auditor.build import build_fingerprint_set
from auditor.engine import local as local_engine
from auditor.errors import InputError, UsageError
from auditor.fingerprint import Fingerprinter
from auditor.fingerprint_set import FingerprintSet
from auditor.formats.json_report import render_json
from auditor.result import AuditResult
from auditor.scan import CorpusScanner
from auditor.sources import corpus as corpus_source
from auditor.sources.corpus import open_corpus
from auditor.sources.posts import PostSource
from benchmarks.synthetic import Writer, half_of
from tests.conftest import POSTS, write_jsonl, write_parquet

FILLER = Writer(seed=5)


def page(quoted: str) -> str:
    return FILLER.page(4_000, 9_000, quoted=[quoted])


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    rows = [{"id": f"bg{i}", "text": FILLER.post()} for i in range(30)]
    rows[3] = {"id": "copy", "text": POSTS[0].lower().replace("!", "")}  # a row of a post dataset
    rows[17] = {"id": "page", "text": page(POSTS[1])}  # quoted inside a long page
    rows[18] = {"id": "timeline", "text": FILLER.timeline([FILLER.post(), POSTS[2], FILLER.post()])}
    rows[25] = {"id": "half", "text": half_of(POSTS[3], first=True)}  # a near miss
    rows[26] = {"id": "null", "text": None}
    write_parquet(tmp_path / "corpus" / "part-0.parquet", rows)
    write_parquet(tmp_path / "corpus" / "part-1.parquet", [{"id": "again", "text": f"As they said: {POSTS[4]}"}])
    return tmp_path / "corpus"


def run(fingerprints: FingerprintSet, corpus: Path) -> AuditResult:
    return audit(CorpusScanner(fingerprints), open_corpus([str(corpus)]))


def test_posts_are_found_where_they_were_planted(
    posts_file: Path, corpus: Path, make_set: Callable[..., FingerprintSet]
) -> None:
    result = run(make_set(posts_file), corpus)
    evidence = result.evidence.to_pylist()
    found = {
        (e["post_id"], Path(e["corpus_file"]).name, e["corpus_row"], e["corpus_id"], e["match_kind"]) for e in evidence
    }
    assert found == {
        ("p0", "part-0.parquet", 3, "copy", "whole_row"),
        ("p1", "part-0.parquet", 17, "page", "in_document"),
        ("p2", "part-0.parquet", 18, "timeline", "in_document"),
        ("p4", "part-1.parquet", 0, "again", "whole_row"),
    }
    assert all(e["containment"] >= 0.6 and e["exact_containment"] is None for e in evidence)
    assert result.posts_matched == 4 and result.posts_testable == 5
    assert result.rows_skipped == {"null_text": 1}
    assert result.rows_scanned == 30 and result.rows_matched == 4
    assert [f.rows_matched for f in result.files] == [3, 1]


def test_exact_containment_is_reported_when_texts_are_kept(
    posts_file: Path, corpus: Path, make_set: Callable[..., FingerprintSet]
) -> None:
    evidence = run(make_set(posts_file, keep_text=True), corpus).evidence
    exact = dict(
        zip(evidence.column("post_id").to_pylist(), evidence.column("exact_containment").to_pylist(), strict=True)
    )
    assert exact["p1"] == 1.0 and exact["p2"] == 1.0
    assert 0.6 < exact["p0"] <= 1.0


def test_same_report_whatever_the_batch_size(
    posts_file: Path, corpus: Path, make_set: Callable[..., FingerprintSet], monkeypatch: pytest.MonkeyPatch
) -> None:
    fingerprints = make_set(posts_file)
    whole = run(fingerprints, corpus)
    monkeypatch.setattr(corpus_source, "TARGET_BATCH_BYTES", 1)  # 16-row batches
    assert open_corpus([str(corpus)])[0].batch_rows == 16
    batched = run(fingerprints, corpus)
    assert batched.evidence.equals(whole.evidence)
    assert render_json(batched) == render_json(whole)


def test_sets_sharing_their_shingles_scan_as_each_alone(
    posts_file: Path, corpus: Path, make_set: Callable[..., FingerprintSet]
) -> None:
    """scan_batch with two sets sharing their shingles (two thresholds, one shingling of the batch): each
    set's part result is the one scan_batch gives for it alone."""
    fingerprints = make_set(posts_file)
    [first, *_] = open_corpus([str(corpus)])
    batch = CorpusBatch.of(first.name, 0, next(iter(first.batches())))
    scanners = [CorpusScanner(fingerprints, threshold=0.6), CorpusScanner(fingerprints, threshold=0.8)]
    together = scan_batch(scanners, batch)
    assert together.sets[0].matches > 0
    for scanner, ours in zip(scanners, together.sets, strict=True):
        alone = scan_batch([scanner], batch).sets[0]
        assert ours.evidence.equals(alone.evidence) and ours.matches == alone.matches


def test_template_siblings_do_not_match_each_other(tmp_path: Path) -> None:
    template = "Happy birthday {}! Wishing you a wonderful year full of joy and laughter, see you in {} very soon"
    fills = [
        ("Michael", "Port Ryan"),
        ("Alice", "Lake Sarah"),
        ("Bob", "New Tom"),
        ("Dana", "East Rita"),
        ("Eve", "West Carl"),
        ("Yusuf", "South Ann"),
    ]
    posts = write_jsonl(tmp_path / "p.jsonl", [{"id": n, "text": template.format(n, c)} for n, c in fills])
    rows = [
        {"text": template.format("Zoe", "North Pole")},  # another fill, in no post of the set
        {"text": template.format("Bob", "New Tom").lower()},  # a copy of one sibling
    ]
    write_parquet(tmp_path / "c.parquet", rows)
    output = tmp_path / "t.fp.parquet"
    build_fingerprint_set([PostSource(posts)], output, Fingerprinter())
    result = audit(CorpusScanner(fingerprint_set.load(output)), open_corpus([str(tmp_path / "c.parquet")]))
    assert [(e["post_id"], e["corpus_row"]) for e in result.evidence.to_pylist()] == [("Bob", 1)]


def test_an_empty_corpus_is_an_input_error(
    posts_file: Path, tmp_path: Path, make_set: Callable[..., FingerprintSet]
) -> None:
    """No row scanned would make every rate a rate of nothing: the audit stops instead of reading as clean."""
    path = tmp_path / "empty.parquet"
    pq.write_table(pa.table({"text": pa.array([], type=pa.string())}), path)
    with pytest.raises(InputError, match=r"empty\.parquet holds no rows"):
        run(make_set(posts_file), path)


def test_posts_not_found_are_listed(posts_file: Path, corpus: Path, make_set: Callable[..., FingerprintSet]) -> None:
    result = run(make_set(posts_file), corpus)
    assert result.posts_not_found.to_pylist() == ["p3"]  # the near miss only
    report = json.loads(render_json(result))
    assert report["posts_not_found"] == {"count": 1, "post_ids": ["p3"]}


def test_same_evidence_whatever_the_worker_count(
    posts_file: Path, corpus: Path, make_set: Callable[..., FingerprintSet], monkeypatch: pytest.MonkeyPatch
) -> None:
    fingerprints = make_set(posts_file)
    rows = pq.read_table(corpus / "part-0.parquet")
    pq.write_table(rows, corpus / "part-0.parquet", row_group_size=4)  # 8 row groups
    monkeypatch.setattr(corpus_source, "TARGET_PART_BYTES", 1)  # a part per row group
    files = open_corpus([str(corpus)])
    assert len(corpus_source.corpus_parts(files)) == 9
    one = audit(CorpusScanner(fingerprints), files, workers=1)
    two = audit(CorpusScanner(fingerprints), files, workers=2)
    assert one.evidence.num_rows == 4
    assert two.evidence.equals(one.evidence)
    assert render_json(two) == render_json(one)


def test_rows_carrying_posts_by_source_domain(
    posts_file: Path, tmp_path: Path, make_set: Callable[..., FingerprintSet]
) -> None:
    rows = [
        {"text": POSTS[0], "url": "https://www.News.example/a"},
        {"text": "nothing here that anyone posted", "url": "https://news.example/b"},
        {"text": "and nothing here either, truly", "url": "http://blog.example:8080/c?d=1"},
        {"text": None, "url": "https://blog.example/e"},
        {"text": "no url on this row at all, none", "url": None},
    ]
    path = write_parquet(tmp_path / "c.parquet", rows)
    result = run(make_set(posts_file), path)
    by_domain = {d: (r.numerator, r.denominator) for d, r in result.claims.by_domain}
    assert by_domain == {"news.example": (1, 2), "blog.example": (0, 1)}


def test_evidence_carries_an_excerpt_with_the_shared_text_marked(
    posts_file: Path, corpus: Path, make_set: Callable[..., FingerprintSet]
) -> None:
    evidence = run(make_set(posts_file, keep_text=True), corpus).evidence.to_pylist()
    page = next(e for e in evidence if e["corpus_id"] == "page")
    excerpt = page["corpus_excerpt"]
    assert len(excerpt["text"]) < 400  # the part around the quote, not the 4,000-character page
    marked = "".join(excerpt["text"][start:end] for start, end in excerpt["marks"])
    assert "pineapple on pizza is fine" in marked.lower()
    assert page["post_text"] == POSTS[1]


def test_a_cutoff_that_is_no_date_is_refused_before_any_scanning(
    posts_file: Path, corpus: Path, make_set: Callable[..., FingerprintSet], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The library's audit checks `cutoff` first: the claims compare days as YYYY-MM-DD numbers, and a
    corpus scanned for nothing would be the cost of finding out at the end."""
    scanner = CorpusScanner(make_set(posts_file))

    def no_scan(*args: object, **kwargs: object) -> None:
        raise AssertionError("scanned before the cutoff was checked")

    monkeypatch.setattr(local_engine, "scan_batch", no_scan)
    with pytest.raises(UsageError, match="YYYY-MM-DD"):
        audit(scanner, open_corpus([str(corpus)]), cutoff="2024-06")
