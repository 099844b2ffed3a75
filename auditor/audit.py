"""The audit, library first: a request in, an AuditResult (and the requested files) out; never prints.

`run_audit(request, progress)` is all a front end needs: it checks every input and output before the
expensive work, loads the fingerprint set (and the control set) with its stored index
(`auditor.indexing`), scans the corpus once for both through an engine, assembles the results and
writes the outputs. `run_check` does the same for the
CI gate with any number of sets, still in one corpus pass. `audit_files` is the layer below: scanners and
opened corpus files in, one AuditResult per scanner out.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from auditor import __version__
from auditor import fingerprint_set as fingerprint_sets
from auditor.baseline import Baseline
from auditor.batch import DEFAULT_MAX_ROW_CHARS, PartResult, ScanOptions
from auditor.checkpoints import CHECKPOINT_FORMAT_VERSION, PartStore, RunIdentity, checkpoint_folder
from auditor.claims import assess, compare, domain_rates, parse_cutoff, templated_posts
from auditor.defaults import DEFAULT_REPORT_DIR as DEFAULT_REPORT_DIR
from auditor.engine import Engine, ScanJob
from auditor.engine.processes import ProcessEngine
from auditor.errors import InputError, UsageError
from auditor.files import identify, sha256_of
from auditor.fingerprint_set import SUFFIX
from auditor.formats import render_report
from auditor.formats.evidence_parquet import write_evidence
from auditor.gate import GateOutcome, Limits, judge
from auditor.indexing import index_set as index_set
from auditor.indexing import load_scanner as load_scanner
from auditor.indexing import stored_index as stored_index
from auditor.indexing import validate_scan_settings as validate_scan_settings
from auditor.kernels.normalize import single_array
from auditor.keys import key_beside, key_for_set
from auditor.outputs import check_outputs, staged_outputs
from auditor.plural import counted
from auditor.progress import NoProgress as NoProgress
from auditor.progress import Progress as Progress
from auditor.result import AuditResult, AuditSettings, CorpusFileSummary
from auditor.sampling import RowSample, check_post_sample, check_seed
from auditor.scan import DEFAULT_THRESHOLD, CorpusScanner
from auditor.sources.corpus import CorpusFile, corpus_parts, open_corpus
from auditor.sources.skips import SKIP_NO_TEXT, SKIP_TOO_SHORT
from auditor.stats import TextShare


@dataclass(frozen=True)
class CorpusSpec:
    """Where the corpus is and which columns to read."""

    paths: tuple[str, ...]
    text_column: str = "text"
    id_column: str | None = None  # None: `id` when a file has it
    url_column: str | None = None  # None: `url` when a file has it

    def __post_init__(self) -> None:
        if not self.paths:
            raise UsageError("name at least one corpus file, directory or glob.")

    def open(self) -> list[CorpusFile]:
        """Every corpus file, expanded and checked before any scanning starts."""
        return open_corpus(
            self.paths,
            self.text_column,
            self.id_column or "id",
            id_required=self.id_column is not None,
            url_column=self.url_column or "url",
            url_required=self.url_column is not None,
        )


@dataclass(frozen=True)
class AuditOutputs:
    """Files an audit writes; None leaves one out."""

    evidence: Path | None = None
    json: Path | None = None
    markdown: Path | None = None
    html: Path | None = None

    @classmethod
    def defaults_for(cls, fingerprints: Path, directory: Path = DEFAULT_REPORT_DIR) -> AuditOutputs:
        """reports/<set>.evidence.parquet and reports/<set>.report.json."""
        stem = fingerprints.name.removesuffix(SUFFIX).removesuffix(".parquet")
        return cls(directory / f"{stem}.evidence.parquet", directory / f"{stem}.report.json")

    def paths(self) -> list[tuple[Path, str]]:
        named = [(self.evidence, "evidence"), (self.json, "JSON report"), (self.markdown, "Markdown report")]
        return [(path, what) for path, what in [*named, (self.html, "HTML report")] if path is not None]


@dataclass(frozen=True)
class AuditRequest:
    """Everything one audit needs: the set, the corpus, the settings, the outputs. Validated on creation."""

    fingerprints: Path
    corpus: CorpusSpec
    outputs: AuditOutputs = field(default_factory=AuditOutputs)
    key_file: Path | None = None  # None: the key beside each keyed set (see auditor.keys)
    threshold: float = DEFAULT_THRESHOLD
    cutoff: str | None = None
    control: Path | None = None
    sample_posts: float | None = None
    sample_rows: float | None = None
    seed: int = 0
    hash_corpus: bool = True
    workers: int = 1
    max_row_chars: int = DEFAULT_MAX_ROW_CHARS
    checkpoints: bool = True  # keep finished parts beside the evidence output, so a rerun resumes
    restart: bool = False  # drop the checkpoints of an earlier run of the same outputs
    keep_checkpoints: bool = False  # keep them after the audit finished
    engine: str = "local"  # local (this machine's processes) or spark
    spark_master: str | None = None  # None: the running session, $SPARK_MASTER or local[*]
    index_dir: Path | None = None  # None: stored indexes beside each set

    def __post_init__(self) -> None:
        validate_scan_settings(self.threshold, self.workers)
        validate_engine(self.engine, self.spark_master)
        ScanOptions(max_row_chars=self.max_row_chars)  # validates the limit
        if self.cutoff is not None:
            parse_cutoff(self.cutoff)
        if self.control is not None and self.cutoff is not None:
            raise UsageError("give --cutoff or --control, not both: each defines the negative control.")
        if self.sample_rows is not None:
            RowSample(self.sample_rows, self.seed)  # validates the fraction
        if self.sample_posts is not None:
            check_post_sample(self.sample_posts)
        check_seed(self.seed)

    @property
    def scan_options(self) -> ScanOptions:
        row_sample = RowSample(self.sample_rows, self.seed) if self.sample_rows is not None else None
        return ScanOptions(row_sample, self.max_row_chars)

    def run_identity(self, files: Sequence[CorpusFile]) -> RunIdentity:
        """Everything that decides the part results of this request's scan, by name (see checkpoints)."""
        sets = [self.fingerprints] + ([self.control] if self.control is not None else [])
        parts = [(p.file_index, p.first_row, p.rows, list(p.row_groups)) for p in corpus_parts(files)]
        return RunIdentity(
            {
                "tool_version": __version__,
                "checkpoint_format": CHECKPOINT_FORMAT_VERSION,
                "fingerprint_sets": [identify(path).to_dict() for path in sets],
                "threshold": self.threshold,
                "sample_of_posts": [self.sample_posts, self.seed if self.sample_posts is not None else None],
                "sample_of_rows": [self.sample_rows, self.seed if self.sample_rows is not None else None],
                "corpus_columns": [self.corpus.text_column, self.corpus.id_column, self.corpus.url_column],
                "max_row_chars": self.max_row_chars,
                "corpus_files": [f.identity() for f in files],
                "corpus_parts": parts,
            }
        )


ENGINES = ("local", "spark")


def validate_engine(engine: str, spark_master: str | None) -> None:
    if engine not in ENGINES:
        raise UsageError(f"--engine is one of {', '.join(ENGINES)}, got {engine!r}.")
    if spark_master is not None and engine != "spark":
        raise UsageError("--spark-master goes with --engine spark.")


def make_engine(engine: str, workers: int, spark_master: str | None) -> Engine:
    """The engine a request names; the Spark engine's module is imported only when asked for, and a
    missing pyspark is reported (naming the extra) before any expensive work."""
    if engine == "spark":
        from auditor.engine.spark import SparkEngine, require_pyspark

        require_pyspark()
        return SparkEngine(spark_master)
    return ProcessEngine(workers)


def check_sets(sets: Sequence[Path], key_file: Path | None) -> list[bytes]:
    """Every set's metadata and key checked, cheaply, before the expensive load; their keys.

    A set without a testable post cannot support any verdict (its rates would have nothing to count):
    it stops the job here, before the corpus is opened, with the likely cause.
    """
    keys = []
    for path in sets:
        info = fingerprint_sets.read_info(path)
        if info.counts.get("posts_fingerprinted", 0) == 0:
            raise InputError(untestable_set(path, info))
        keys.append(key_for_set(path, info.params.key_id, key_file))
    return keys


def control_overlap(posts: pa.Array, control: pa.Array) -> str | None:
    """Why a control set cannot serve, if it shares most of its posts (by id) with the audited set: the
    same posts fingerprinted again, or the set itself, would compare the set with itself and conclude the
    data do not support the claim. A few shared ids (another platform's numbering) are let through."""
    shared = int(pc.sum(pc.is_in(control, value_set=posts)).as_py() or 0)
    if 2 * shared <= len(control):
        return None
    return (
        f"the control set shares {shared:,} of its {len(control):,} testable posts (by id) with the audited set, "
        "so it cannot tell chance from copying; give a set of posts the corpus cannot have carried (published "
        "after it was collected), or --cutoff."
    )


def read_beside(sets: Sequence[Path], key_file: Path | None) -> list[Path]:
    """The sets and the keys they are read with (`key_file`, else the keys beside the sets): files an
    output must never replace (a key replaced cannot be made again)."""
    beside = [key for key in map(key_beside, sets) if key.exists()]
    return [*sets, *([key_file] if key_file is not None else beside)]


def local_paths(files: Sequence[CorpusFile]) -> list[Path]:
    return [f.local_path for f in files if f.local_path is not None]


def untestable_set(path: Path, info: fingerprint_sets.FingerprintSetInfo) -> str:
    """One sentence: why no post of the set can be tested, and what to do."""
    total = info.counts.get("posts_in_set", 0)
    read = info.counts.get("posts_read", total)
    if total == 0:
        lost = ", ".join(f"{reason.replace('_', ' ')} {count:,}" for reason, count in info.skipped.items() if count)
        why = f" (of {read:,} read: {lost})" if lost else ""
        return (
            f"{path} holds no posts{why}, so an audit could only report rates of nothing; rebuild it from the posts "
            "files, checking that they are not empty and that --id-field names the posts' id."
        )
    no_text = info.skipped.get(SKIP_NO_TEXT, 0)
    too_short = info.skipped.get(SKIP_TOO_SHORT, 0)
    if no_text >= too_short:
        cause = "most have no text: check --text-field (the field holding each post's text) and rebuild it"
    else:
        cause = (
            f"they are too short to attribute (fewer than {info.min_shingles} distinct "
            f"{info.params.shingle_size}-character shingles, about {info.min_shingles + info.params.shingle_size - 1} "
            "normalized characters): check --text-field, or audit longer posts"
        )
    return (
        f"{path}: none of its {total:,} posts can be tested (no text {no_text:,}, too short {too_short:,}), so an "
        f"audit could only report rates of nothing; {cause}."
    )


def nothing_scanned(files: Sequence[CorpusFile], per_file: Sequence[PartResult], options: ScanOptions) -> str:
    """One sentence: why no corpus row was scanned, and what to do."""
    rows = sum(total.rows for total in per_file)
    skipped: dict[str, int] = {}
    for total in per_file:
        for reason, count in total.rows_skipped.items():
            skipped[reason] = skipped.get(reason, 0) + count
    where = files[0].name if len(files) == 1 else f"the {len(files):,} corpus files"
    if not files:
        return (
            "no corpus file was found, so nothing was scanned; name Parquet files, directories or globs that hold some."
        )
    if rows == 0:
        return f"{where} holds no rows, so nothing was scanned and no rate can be given; name a corpus that holds data."
    counts = ", ".join(f"{reason.replace('_', ' ')} {count:,}" for reason, count in sorted(skipped.items()))
    causes = {
        "null_text": f"the text column `{files[0].text_column}` is null in every row read: check --text-column",
        "too_large": f"the rows are longer than --max-row-chars {options.max_row_chars:,}: raise it",
        "not_sampled": "no row fell in the row sample: raise --sample-rows or change --seed",
    }
    main = max(skipped, key=lambda reason: skipped[reason]) if skipped else "null_text"
    return (
        f"no row of {where} was scanned (of {counted(rows, 'row')} read: {counts}), so no rate "
        "can be given; likely "
        f"{causes.get(main, causes['null_text'])}."
    )


def run_audit(request: AuditRequest, progress: Progress | None = None) -> AuditResult:
    """Run one audit request: check, load, scan once, assemble, write the outputs; return the result."""
    progress = progress or NoProgress()
    sets = [request.fingerprints] + ([request.control] if request.control is not None else [])
    engine = make_engine(request.engine, request.workers, request.spark_master)
    keys = check_sets(sets, request.key_file)
    files = request.corpus.open()
    check_outputs(request.outputs.paths(), [*read_beside(sets, request.key_file), *local_paths(files)])
    scanners = [
        load_scanner(
            request.fingerprints,
            keys[0],
            request.threshold,
            progress,
            request.sample_posts,
            request.seed,
            index_dir=request.index_dir,
        )
    ]
    if request.control is not None:
        control = load_scanner(request.control, keys[1], request.threshold, progress, index_dir=request.index_dir)
        every_post = pq.read_table(request.fingerprints, columns=["post_id"]).column(0)  # not only a sample's
        shared = control_overlap(every_post, control.fingerprints.post_ids)
        if shared:
            raise UsageError(f"{request.control}: {shared}")
        scanners.append(control)
    store = None
    if request.checkpoints and request.outputs.evidence is not None:
        folder = checkpoint_folder(request.outputs.evidence)
        store = PartStore.open(folder, request.run_identity(files), len(scanners), request.restart)
        if store.restarted_because is not None:
            progress.note(f"starting afresh: {store.restarted_because}")
    results = audit_files(
        scanners,
        files,
        engine,
        progress,
        options=request.scan_options,
        store=store,
        cutoff=request.cutoff,
        post_samples=[request.sample_posts, None],
        seed=request.seed,
        hash_corpus=request.hash_corpus,
    )
    result = results[0]
    if request.control is not None:
        comparison = compare(
            result.claims.headline,
            results[1].claims.headline,
            "posts of the set",
            f"posts of the control set {request.control.name}",
        )
        result = replace(result, claims=replace(result.claims, control=comparison))
    write_audit_outputs(result, request.outputs)
    if store is not None and not request.keep_checkpoints:
        store.remove()
    return result


def write_audit_outputs(result: AuditResult, outputs: AuditOutputs) -> None:
    """Write an audit's requested outputs together: all of them are put in place, or none."""
    with staged_outputs() as staged:
        if outputs.evidence is not None:
            staged.write(outputs.evidence, "evidence", lambda temporary: write_evidence(result, temporary))
        if outputs.json is not None:
            staged.text(outputs.json, render_report(result, "json"), "JSON report")
        if outputs.markdown is not None:
            staged.text(outputs.markdown, render_report(result, "markdown"), "Markdown report")
        if outputs.html is not None:
            staged.text(outputs.html, render_report(result, "html"), "HTML report")


def audit_files(
    scanners: Sequence[CorpusScanner],
    files: Sequence[CorpusFile],
    engine: Engine | None = None,
    progress: Progress | None = None,
    *,
    options: ScanOptions | None = None,
    store: PartStore | None = None,
    cutoff: str | None = None,
    post_samples: Sequence[float | None] = (),
    seed: int = 0,
    hash_corpus: bool = True,
) -> list[AuditResult]:
    """Scan the corpus once for every scanner's posts; one result per scanner, in their order.

    The engine yields part results in any order; they are added up per file in row order, so the
    results are the same for any engine and any number of workers. With a `store`, parts it holds are
    not scanned again, each part is kept there as it finishes, and the evidence stays on disk
    (memory-mapped) instead of in the heap. `post_samples[i]` records that scanner i's set is a sample
    of posts. Each corpus file is hashed once, whatever the number of sets. A `cutoff` is checked before
    any scanning (a date as YYYY-MM-DD).
    """
    if cutoff is not None:
        parse_cutoff(cutoff)
    progress = progress or NoProgress()
    options = options or ScanOptions()
    parts = corpus_parts(files)
    results: dict[tuple[int, int], PartResult] = {}
    for part in parts:
        if store is not None and store.finished(part):
            results[part.file_index, part.first_row] = store.load(part)
    todo = tuple(p for p in parts if (p.file_index, p.first_row) not in results)
    resumed = ""
    if results:
        resumed = f" (resumed: {len(results):,} of {len(parts):,} parts done before)"
        progress.note(
            f"resuming: {len(results):,} of {len(parts):,} parts of the corpus were finished by an earlier run"
        )
    progress.stage(f"scanning the corpus{resumed}", total=sum(p.rows for p in todo), unit="rows")
    job = ScanJob(tuple(scanners), tuple(files), todo, options)
    for part, result in (engine or ProcessEngine(1)).run(job, progress.advance):
        results[part.file_index, part.first_row] = store.save(part, result) if store is not None else result
    per_file = [PartResult.empty(len(scanners)) for _ in files]
    for part in parts:  # in file and row order
        per_file[part.file_index] = per_file[part.file_index] + results[part.file_index, part.first_row]
    if sum(total.rows - sum(total.rows_skipped.values()) for total in per_file) == 0:
        if store is not None:  # a rerun must not resume a scan that had nothing to scan
            store.remove()
        raise InputError(nothing_scanned(files, per_file, options))
    if hash_corpus and files:
        progress.stage("hashing the corpus files", total=len(files), unit="files")
    hashes: list[str | None] = []
    for corpus_file in files:
        hashes.append(sha256_of(corpus_file.path) if hash_corpus else None)
        if hash_corpus:
            progress.advance(1)
    assembled = []
    for index, scanner in enumerate(scanners):
        if store is not None:
            evidence = store.evidence(index, parts)
        else:
            evidence = pa.concat_tables([total.sets[index].evidence for total in per_file], promote_options="none")
        assembled.append(
            _assemble(
                index,
                scanner,
                files,
                per_file,
                evidence,
                hashes,
                cutoff,
                options,
                post_samples[index] if index < len(post_samples) else None,
                seed,
            )
        )
    return assembled


def audit(
    scanner: CorpusScanner,
    files: Sequence[CorpusFile],
    progress: Progress | None = None,
    workers: int = 1,
    cutoff: str | None = None,
    row_sample: RowSample | None = None,
    post_sample: float | None = None,
    hash_corpus: bool = True,
    seed: int = 0,
) -> AuditResult:
    """One scanner's audit of opened corpus files (audit_files for a single set)."""
    return audit_files(
        [scanner],
        files,
        ProcessEngine(workers),
        progress,
        options=ScanOptions(row_sample),
        cutoff=cutoff,
        post_samples=[post_sample],
        seed=row_sample.seed if row_sample is not None else seed,
        hash_corpus=hash_corpus,
    )[0]


def _assemble(
    index: int,
    scanner: CorpusScanner,
    files: Sequence[CorpusFile],
    per_file: Sequence[PartResult],
    evidence: pa.Table,
    hashes: Sequence[str | None],
    cutoff: str | None,
    options: ScanOptions,
    post_sample: float | None,
    seed: int = 0,
) -> AuditResult:
    """Scanner `index`'s AuditResult from the per-file sums of the part results and its evidence."""
    summaries: list[CorpusFileSummary] = []
    matched_posts: list[np.ndarray] = []
    domain_rows: dict[str, int] = {}
    domain_matched: dict[str, int] = {}
    text_share = TextShare()
    for corpus_file, total, sha256 in zip(files, per_file, hashes, strict=True):
        part = total.sets[index]
        remote = corpus_file.remote
        summaries.append(
            CorpusFileSummary(
                path=corpus_file.name,
                size=corpus_file.size,
                rows=corpus_file.rows,
                rows_skipped=total.rows_skipped,
                rows_matched=part.rows_matched,
                matches=part.matches,
                posts_matched=len(part.matched_posts),
                sha256=sha256,
                etag=remote.etag if remote is not None else None,
                version=remote.version if remote is not None else None,
                last_modified=remote.last_modified if remote is not None else None,
            )
        )
        matched_posts.append(part.matched_posts)
        for domain, count in total.domain_rows.items():
            domain_rows[domain] = domain_rows.get(domain, 0) + count
        for domain, count in part.domain_matched_rows.items():
            domain_matched[domain] = domain_matched.get(domain, 0) + count
        text_share += part.text_share
    fingerprints = scanner.fingerprints
    found = np.unique(np.concatenate(matched_posts)) if matched_posts else np.zeros(0, dtype=np.int64)
    not_found = np.ones(len(fingerprints.post_ids), dtype=np.bool_)
    not_found[found] = False
    id_columns = {f.id_column for f in files}
    return AuditResult(
        tool_version=__version__,
        fingerprint_file=identify(Path(fingerprints.path)),
        fingerprint_info=fingerprints.info,
        settings=AuditSettings(
            threshold=scanner.threshold,
            min_slots=scanner.min_slots,
            text_column=files[0].text_column if files else "text",
            id_column=next(iter(id_columns)) if len(id_columns) == 1 else None,
            post_sample=post_sample,
            row_sample=options.row_sample.fraction if options.row_sample is not None else None,
            sample_seed=options.row_sample.seed if options.row_sample is not None else seed,
            max_row_chars=options.max_row_chars,
        ),
        files=tuple(summaries),
        posts_testable=len(fingerprints.slot_hashes),
        posts_matched=len(found),
        evidence=evidence,
        matches_by_kind=_by_kind(evidence),
        text_share=text_share,
        untestable_examples=fingerprints.untestable_examples,
        posts_not_found=fingerprints.post_ids.filter(pa.array(not_found)),
        claims=replace(
            assess(
                evidence,
                fingerprints.post_ids,
                single_array(fingerprints.metadata.column("created_at")),
                single_array(fingerprints.metadata.column("author")),
                cutoff,
                templated_posts(scanner.index.distinct, scanner.index.specific_distinct),
                fingerprints.texts,
            ),
            by_domain=domain_rates(domain_rows, domain_matched),
        ),
    )


def _by_kind(evidence: pa.Table) -> dict[str, int]:
    if not evidence.num_rows:
        return {}
    counts = pc.value_counts(evidence.column("match_kind")).to_pylist()
    return {item["values"]: item["counts"] for item in sorted(counts, key=lambda i: i["values"])}


@dataclass(frozen=True)
class CheckRequest:
    """The CI gate: a corpus against fingerprint sets, judged by limits, with accepted matches."""

    sets: tuple[Path, ...]
    corpus: CorpusSpec
    limits: Limits = field(default_factory=Limits)
    baseline: Path | None = None
    update_baseline: bool = False
    key_file: Path | None = None  # None: the key beside each keyed set (see auditor.keys)
    threshold: float = DEFAULT_THRESHOLD
    workers: int = 1
    engine: str = "local"  # local (this machine's processes) or spark
    spark_master: str | None = None  # None: the running session, $SPARK_MASTER or local[*]
    index_dir: Path | None = None  # None: stored indexes beside each set
    # Report files the caller writes from the outcome ((path, what it is), as for check_outputs): checked
    # with the baseline before the scan, so that none replaces an input.
    reports: tuple[tuple[Path, str], ...] = ()
    protected: tuple[Path, ...] = ()  # other files the caller read (its settings file): no output replaces them

    def __post_init__(self) -> None:
        validate_scan_settings(self.threshold, self.workers)
        validate_engine(self.engine, self.spark_master)
        if not self.sets:
            raise UsageError("name at least one fingerprint set with --fingerprints.")
        if self.update_baseline and self.baseline is None:
            raise UsageError("--update-baseline needs --baseline FILE to write to.")
        if self.update_baseline and self.reports:
            raise UsageError(
                "--update-baseline writes the baseline only (every match is accepted, none judged); leave out "
                "the report options (--junit, --sarif), and give them to the next check."
            )


def find_fingerprint_sets(given: Sequence[Path], default: Path) -> tuple[Path, ...]:
    """Sets named (files, or directories of *.fp.parquet), or every set in the `default` directory."""
    found: list[Path] = []
    for path in given or [default]:
        if path.is_dir():
            found.extend(sorted(path.glob(f"*{SUFFIX}")))
        elif given:  # a missing default directory just means there are no sets
            found.append(path)
    if not found:
        raise InputError(
            f"no fingerprint set in {', '.join(str(p) for p in given or [default])}; build one with "
            "`auditor fingerprint` or name sets with --fingerprints."
        )
    return tuple(dict.fromkeys(found))


def run_check(request: CheckRequest, progress: Progress | None = None) -> GateOutcome:
    """Audit the corpus against every set in one pass and judge each; writes the baseline when updating."""
    progress = progress or NoProgress()
    engine = make_engine(request.engine, request.workers, request.spark_master)
    accepted = Baseline()
    if request.baseline is not None and not request.update_baseline:
        accepted = Baseline.read(request.baseline)
    elif request.baseline is not None and request.baseline.is_file():
        # Updating: the matches of sets not judged now stay accepted (a baseline that cannot be read is
        # replaced whole).
        with contextlib.suppress(InputError):
            accepted = Baseline.read(request.baseline)
    keys = check_sets(request.sets, request.key_file)
    files = request.corpus.open()
    inputs = [*read_beside(request.sets, request.key_file), *local_paths(files), *request.protected]
    if request.update_baseline and request.baseline is not None:
        check_outputs([(request.baseline, "baseline")], inputs)
    else:
        check_outputs(request.reports, [*inputs, *([request.baseline] if request.baseline is not None else [])])
    scanners = [
        load_scanner(path, key, request.threshold, progress, index_dir=request.index_dir)
        for path, key in zip(request.sets, keys, strict=True)
    ]
    results = audit_files(scanners, files, engine, progress)
    judging = Baseline() if request.update_baseline else accepted  # updating: every match is judged new
    verdicts = [
        judge(path.name, result, request.limits, judging) for path, result in zip(request.sets, results, strict=True)
    ]
    judged = {path.name for path in request.sets}
    kept = frozenset(key for key in accepted.accepted if key[0] not in judged)
    others = Counter(key[0] for key in kept)
    outcome = GateOutcome(tuple(verdicts), request.limits, tuple(sorted(others.items())), kept)
    if request.update_baseline and request.baseline is not None:
        outcome.baseline_of_all().write(request.baseline)
    return outcome
