"""The Spark engine: parts of the corpus scanned as Spark tasks, the report assembled on the driver.

Each part of the corpus (whole row groups of one file, see auditor.sources.corpus) is one task: a
DataFrame of part numbers, one a partition, goes through `mapInArrow`, whose Python function reads its
part with the same reader as the local engine (local paths, s3://, gs://, hf://, https://, only the
needed columns), runs the pure per-batch step (engine.local.scan_part) and returns the part's result
as one row: its counts as JSON and each set's evidence as an Arrow IPC stream. The evidence is thus
bit-identical to the local engine's, whatever Spark's own Parquet reader would make of the files' types
(an id column that is a number in one file and text in another), and the audit adds the parts up in
file and row order as for any engine.

The fingerprint sets travel as stored indexes (auditor.index_store), added to the Spark context as
files (`SparkContext.addFile`): each executor fetches a directory once, every Python worker on it maps
the files into memory (shared pages, not copies) and opens a scanner once, kept for its later tasks. A
pickled broadcast would give every Python worker its own copy of the index in its heap. The sets' keys
travel in the task (they are needed to hash the corpus as the sets were hashed).

Executors need provenance-auditor installed, the driver's version (checked: a task on another version
fails with a sentence saying so). Progress advances a part at a time, from an accumulator of rows read
while the job runs; a stop (Ctrl-C, SIGTERM) cancels the job.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import tempfile
import threading
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from auditor import __version__
from auditor.batch import PartResult, ScanOptions
from auditor.engine import RowsCallback, ScanJob
from auditor.engine.local import scan_part
from auditor.errors import AuditorError, EngineError, InputError, UsageError
from auditor.evidence import EVIDENCE_SCHEMA
from auditor.files import sha256_of
from auditor.index_store import IndexMismatch, index_header, open_index, save_index, set_stem
from auditor.scan import CorpusScanner, Prebuilt
from auditor.sources.corpus import CorpusFile, CorpusPart

SPARK_EXTRA = 'pip install "provenance-auditor[spark]"'
_OUTPUT_SCHEMA = "part long, result binary, error string"
_WAKE_SECONDS = 0.2


def _pyspark() -> Any:
    try:
        import pyspark.sql
    except ImportError:
        raise UsageError(f"--engine spark needs pyspark, which is not installed: {SPARK_EXTRA}.") from None
    return pyspark.sql


def require_pyspark() -> None:
    """Raise a UsageError naming the extra when pyspark is missing (before any expensive work)."""
    _pyspark()


def spark_session(master: str | None = None) -> Any:
    """The running Spark session (one started by spark-submit, or by the caller), else a new one on `master`,
    else on $SPARK_MASTER, else on `local[*]`.

    A new session on a local master runs its Python workers with this interpreter and this copy of
    provenance-auditor, so that they compute what the driver would.
    """
    sql = _pyspark()
    from pyspark import SparkContext

    if SparkContext._active_spark_context is not None:  # reuse: its configuration is its owner's
        return sql.SparkSession.builder.getOrCreate()
    builder = sql.SparkSession.builder.appName("provenance-auditor")
    under_submit = "PYSPARK_GATEWAY_PORT" in os.environ  # spark-submit set the master already
    chosen = master or (None if under_submit else os.environ.get("SPARK_MASTER") or "local[*]")
    if chosen is not None:
        builder = builder.master(chosen)
    if chosen is not None and chosen.startswith("local"):
        if "PYSPARK_PYTHON" not in os.environ:
            builder = builder.config("spark.pyspark.python", sys.executable)
        package_root = str(Path(__file__).resolve().parent.parent.parent)
        paths = [package_root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        builder = builder.config("spark.executorEnv.PYTHONPATH", os.pathsep.join(dict.fromkeys(paths)))
    session = (
        builder.config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.maxResultSize", "0")  # evidence comes back to the driver, as with any engine
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


@dataclass(frozen=True)
class _Shipment:
    """One set's index as executors find it: the name it was added under, what it must hold, the key."""

    name: str
    sha256: str
    threshold: float
    key: bytes


@dataclass(frozen=True)
class _Task:
    """What every task needs besides its part number: small, pickled into the task."""

    version: str
    sets: tuple[_Shipment, ...]
    files: tuple[CorpusFile, ...]
    parts: tuple[CorpusPart, ...]
    options: ScanOptions


# Per Python worker process: scanners opened from shipped indexes, kept for the worker's later tasks.
_SCANNERS: dict[tuple[str, str, float, str], CorpusScanner] = {}
# Per Spark application: index directories already added, by name.
_SHIPPED: dict[str, set[str]] = {}


def _scanner(shipment: _Shipment) -> CorpusScanner:
    cache_key = (shipment.name, shipment.sha256, shipment.threshold, hashlib.sha256(shipment.key).hexdigest())
    scanner = _SCANNERS.get(cache_key)
    if scanner is None:
        from pyspark import SparkFiles

        directory = Path(SparkFiles.get(shipment.name))
        try:
            stored = open_index(directory, shipment.sha256, shipment.threshold)
        except IndexMismatch as mismatch:
            raise InputError(
                f"the index {shipment.name} shipped to a Spark executor {mismatch.reason}; rerun the audit to "
                "ship it again, or rebuild it with `auditor index`."
            ) from None
        scanner = CorpusScanner(stored.fingerprints, shipment.key, shipment.threshold, stored.prebuilt)
        _SCANNERS[cache_key] = scanner
    return scanner


def _scan_parts(batches: Iterable[pa.RecordBatch], task: _Task, rows_done: Any) -> Iterator[pa.RecordBatch]:
    """The Python side of a task (on an executor): scan each part named in the batches."""
    for batch in batches:
        for number in batch.column(0).to_pylist():
            part = task.parts[number]
            result, error = None, None
            try:
                if task.version != __version__:
                    raise EngineError(
                        f"a Spark executor runs provenance-auditor {__version__}, the driver {task.version}; "
                        "install the same version on both."
                    )
                job = ScanJob(tuple(_scanner(s) for s in task.sets), task.files, task.parts, task.options)
                result = encode_part(scan_part(job, part))
            except AuditorError as failure:
                error = str(failure)
            rows_done.add(part.rows)
            yield pa.RecordBatch.from_pydict(
                {"part": [number], "result": [result], "error": [error]},
                schema=pa.schema([("part", pa.int64()), ("result", pa.binary()), ("error", pa.string())]),
            )


def encode_part(result: PartResult) -> bytes:
    """A part result as bytes: a JSON header of its counts, then each set's evidence as an Arrow IPC stream."""
    streams = []
    for set_part in result.sets:
        if set_part.evidence.num_rows:
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, EVIDENCE_SCHEMA) as writer:
                writer.write_table(set_part.evidence)
            streams.append(sink.getvalue().to_pybytes())
        else:
            streams.append(b"")
    header = result.counts()
    for entry, stream in zip(header["sets"], streams, strict=True):
        entry["evidence_bytes"] = len(stream)
    head = json.dumps(header).encode()
    return len(head).to_bytes(8, "little") + head + b"".join(streams)


def decode_part(data: bytes) -> PartResult:
    """The part result `encode_part` made these bytes of."""
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + size])
    offset = 8 + size
    evidence = []
    for entry in header["sets"]:
        length = int(entry["evidence_bytes"])
        table = EVIDENCE_SCHEMA.empty_table()
        if length:
            table = pa.ipc.open_stream(pa.py_buffer(data[offset : offset + length])).read_all()
        evidence.append(table)
        offset += length
    return PartResult.from_counts(header, evidence)


@dataclass(frozen=True)
class SparkEngine:
    """Scans parts as Spark tasks, on the running session or a new one on `master` (see spark_session)."""

    master: str | None = None

    @property
    def name(self) -> str:
        return "spark"

    def run(self, job: ScanJob, on_rows: RowsCallback | None = None) -> Iterator[tuple[CorpusPart, PartResult]]:
        if not job.parts:
            return
        session = spark_session(self.master)
        context = session.sparkContext
        with tempfile.TemporaryDirectory(prefix="auditor-spark-") as temporary:
            shipments = tuple(self._ship(context, scanner, Path(temporary)) for scanner in job.scanners)
            task = _Task(__version__, shipments, job.files, job.parts, job.options)
            rows_done = context.accumulator(0)
            numbers = session.range(0, len(job.parts), 1, numPartitions=len(job.parts))
            output = numbers.mapInArrow(functools.partial(_scan_parts, task=task, rows_done=rows_done), _OUTPUT_SCHEMA)
            table = self._collect(context, output, rows_done, on_rows)
        parts = table.column("part").to_pylist()
        errors = table.column("error").to_pylist()
        results = table.column("result").to_pylist()
        failed = sorted((number, error) for number, error in zip(parts, errors, strict=True) if error is not None)
        if failed:
            raise InputError(failed[0][1])
        if sorted(parts) != list(range(len(job.parts))):
            raise EngineError("the Spark job returned results for other parts than it was given; rerun the audit.")
        for number, data in sorted(zip(parts, results, strict=True)):
            yield job.parts[number], decode_part(data)

    @staticmethod
    def _ship(context: Any, scanner: CorpusScanner, temporary: Path) -> _Shipment:
        """Add the scanner's stored index to the Spark context (once per application), storing an index
        kept in memory (a sample of posts, a place that was not writable) in `temporary` first."""
        directory = scanner.stored_at
        if directory is None:
            fingerprints = scanner.fingerprints
            name = f"{set_stem(fingerprints.path)}-{uuid.uuid4().hex}"
            digest = sha256_of(fingerprints.path) if fingerprints.path.is_file() else "0" * 64
            prebuilt = Prebuilt(scanner.index, scanner.post_shingles)
            directory = save_index(temporary, name, fingerprints, prebuilt, digest)
        header = index_header(directory)
        shipped = _SHIPPED.setdefault(str(context.applicationId), set())
        if directory.name not in shipped:
            context.addFile(str(directory.resolve()), recursive=True)
            shipped.add(directory.name)
        return _Shipment(directory.name, str(header["set"]["sha256"]), scanner.threshold, scanner.key)

    @staticmethod
    def _collect(context: Any, output: Any, rows_done: Any, on_rows: RowsCallback | None) -> pa.Table:
        """Run the job in a thread (its results come back at the end) while progress follows the rows done."""
        group = f"provenance-auditor-{uuid.uuid4().hex}"
        outcome: dict[str, Any] = {}

        def collect() -> None:
            try:
                context.setJobGroup(group, "provenance-auditor: scanning the corpus", interruptOnCancel=True)
                outcome["table"] = output.toArrow()
            except BaseException as error:  # handed to the caller's thread
                outcome["error"] = error

        worker = threading.Thread(target=collect, name="spark-collect", daemon=True)
        seen = 0
        worker.start()
        try:
            while worker.is_alive():
                worker.join(_WAKE_SECONDS)
                done = int(rows_done.value)
                if on_rows is not None and done > seen:
                    on_rows(done - seen)
                    seen = done
        except BaseException:
            context.cancelJobGroup(group)
            worker.join(30)
            raise
        if "error" in outcome:
            error = outcome["error"]
            if isinstance(error, AuditorError):
                raise error
            lines = [line for line in str(error).strip().splitlines() if line.strip()]
            summary = lines[-1].strip() if lines else type(error).__name__
            raise EngineError(f"the Spark job failed: {summary[:300]}") from None
        done = int(rows_done.value)
        if on_rows is not None and done > seen:
            on_rows(done - seen)
        table: pa.Table = outcome["table"]
        return table
