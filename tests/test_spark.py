"""The Spark engine on a local[2] session: the same evidence and report as the local engine (several files,
several row groups, null texts, a sample of rows, the control set), executor errors as one sentence, and
`--engine spark` without pyspark naming the extra."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from auditor import fingerprint_set
from auditor.audit import AuditOutputs, AuditRequest, CheckRequest, CorpusSpec, run_audit, run_check
from auditor.batch import PartResult, SetPart
from auditor.build import build_fingerprint_set
from auditor.cli import app
from auditor.engine import ScanJob
from auditor.engine.spark import SparkEngine, decode_part, encode_part
from auditor.errors import InputError
from auditor.evidence import EVIDENCE_SCHEMA
from auditor.fingerprint import Fingerprinter
from auditor.formats.json_report import render_json
from auditor.keys import key_for_new_set, new_key_id
from auditor.params import FingerprintParams
from auditor.result import AuditResult
from auditor.scan import CorpusScanner
from auditor.sources.corpus import corpus_parts, open_corpus
from auditor.sources.posts import PostSource
from auditor.stats import TextShare
from benchmarks.synthetic import Writer
from tests.conftest import POSTS, write_jsonl

FILLER = Writer(seed=17)


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    """One local[2] session for the module, its Python workers on this interpreter and this checkout."""
    pytest.importorskip("pyspark")
    from auditor.engine.spark import spark_session

    saved = os.environ.get("PYSPARK_PYTHON")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = spark_session("local[2]")
    yield session
    session.stop()
    if saved is None:
        os.environ.pop("PYSPARK_PYTHON", None)
    else:
        os.environ["PYSPARK_PYTHON"] = saved


def _set(folder: Path, name: str, texts: list[str], keep_text: bool) -> Path:
    path = folder / f"{name}.fp.parquet"
    key, _, _ = key_for_new_set(path, None, False)
    records = [{"id": f"{name}{i}", "text": t, "created_at": "2024-03-01"} for i, t in enumerate(texts)]
    fingerprinter = Fingerprinter(FingerprintParams(key_id=new_key_id(key)), key, keep_text=keep_text)
    build_fingerprint_set([PostSource(write_jsonl(folder / f"{name}.jsonl", records))], path, fingerprinter)
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A set (with texts), a control set, and a corpus of three files with several row groups, ids of two
    types, URLs, null texts and posts of both sets."""
    folder = tmp_path_factory.mktemp("spark")
    posts = _set(folder, "posts", POSTS[:3] + [FILLER.post() for _ in range(20)], keep_text=True)
    control = _set(folder, "control", POSTS[3:] + [FILLER.post() for _ in range(20)], keep_text=False)
    corpus = folder / "corpus"
    (corpus / "lang=en").mkdir(parents=True)
    for number in range(3):
        rows = [FILLER.post() for _ in range(25)]
        rows[number + 1] = POSTS[number]
        rows[10] = FILLER.page(2_000, 4_000, quoted=[POSTS[(number + 3) % 5], POSTS[number]])
        rows[17] = FILLER.timeline([POSTS[4], FILLER.post()])
        texts = pa.array([None if i % 9 == 4 else t for i, t in enumerate(rows)], pa.string())
        ids = pa.array(range(25)) if number == 1 else pa.array([f"f{number}-{i}" for i in range(25)])
        urls = pa.array([f"https://site{i % 4}.example/{number}/{i}" for i in range(25)])
        table = pa.table({"id": ids, "text": texts, "url": urls})
        pq.write_table(table, corpus / "lang=en" / f"part-{number}.parquet", row_group_size=6 + number)
    return posts, control, corpus


def _report(result: AuditResult) -> dict[str, Any]:
    report = json.loads(render_json(result))
    report.pop("generated_at", None)
    return dict(report)


def _audit(world: tuple[Path, Path, Path], out: Path, engine: str, **settings: Any) -> AuditResult:
    posts, _, corpus = world
    outputs = AuditOutputs(out / f"{engine}.evidence.parquet", out / f"{engine}.report.json")
    request = AuditRequest(posts, CorpusSpec((str(corpus),)), outputs, engine=engine, **settings)
    return run_audit(request)


@pytest.mark.spark
def test_spark_gives_the_local_engines_evidence_and_report(
    spark: Any, world: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    for settings in ({}, {"control": world[1], "sample_rows": 0.6, "seed": 4}):
        local = _audit(world, tmp_path, "local", workers=1, **settings)
        distributed = _audit(world, tmp_path, "spark", **settings)
        assert local.evidence.num_rows >= (1 if settings else 6)
        assert distributed.evidence.equals(local.evidence)
        assert _report(distributed) == _report(local)
        assert sum(f.rows_skipped.get("null_text", 0) for f in local.files) > 0
        if settings:
            assert local.claims.control is not None
            assert sum(f.rows_skipped.get("not_sampled", 0) for f in local.files) > 0
    assert (world[0].parent / "posts.index").is_dir()  # shipped as a stored index


@pytest.mark.spark
def test_spark_check_and_an_executor_error_as_one_sentence(
    spark: Any, world: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    posts, control, corpus = world
    spec = CorpusSpec((str(corpus),))
    local = run_check(CheckRequest((posts, control), spec, workers=1))
    distributed = run_check(CheckRequest((posts, control), spec, engine="spark"))
    pairs = list(zip(local.verdicts, distributed.verdicts, strict=True))
    assert all(a.result.evidence.equals(b.result.evidence) for a, b in pairs)
    assert [a.passed for a, _ in pairs] == [b.passed for _, b in pairs] == [False, False]
    broken = tmp_path / "broken"
    broken.mkdir()
    shard = broken / "part-0.parquet"
    pq.write_table(pa.table({"text": [FILLER.post() for _ in range(50)]}), shard, row_group_size=10)
    files = open_corpus([str(shard)])
    scanner = CorpusScanner(fingerprint_set.load(control), key_for_new_set(control, None, False)[0])
    shard.write_bytes(b"no longer Parquet")
    job = ScanJob((scanner,), tuple(files), tuple(corpus_parts(files)))
    with pytest.raises(InputError, match=r"part-0\.parquet: a part of this Parquet file cannot be read"):
        list(SparkEngine().run(job))


def test_part_results_cross_as_bytes_unchanged() -> None:
    evidence = EVIDENCE_SCHEMA.empty_table()
    result = PartResult(
        12,
        {"null_text": 2},
        {"example.org": 10},
        (
            SetPart(evidence, np.array([1, 5]), TextShare(10, 400, 60, 16_000, 900, 2_400), {"example.org": 1}, 0, 0),
            SetPart(),
        ),
    )
    back = decode_part(encode_part(result))
    assert (back.rows, back.rows_skipped, back.domain_rows) == (result.rows, result.rows_skipped, result.domain_rows)
    for a, b in zip(back.sets, result.sets, strict=True):
        assert a.evidence.equals(b.evidence) and np.array_equal(a.matched_posts, b.matched_posts)
        assert (a.text_share, a.domain_matched_rows, a.matches, a.rows_matched) == (
            b.text_share,
            b.domain_matched_rows,
            b.matches,
            b.rows_matched,
        )


def test_the_spark_engine_without_pyspark_names_the_extra(
    world: tuple[Path, Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    posts, _, corpus = world
    result = CliRunner().invoke(app, ["audit", str(posts), str(corpus), "--engine", "spark", "-q"])
    assert result.exit_code == 2
    assert "provenance-auditor[spark]" in result.output and "Traceback" not in result.output
    master = CliRunner().invoke(app, ["audit", str(posts), str(corpus), "--spark-master", "local[2]"])
    assert master.exit_code == 2 and "--engine spark" in master.output
