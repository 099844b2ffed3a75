"""The pure per-batch step of an audit, and the part results it produces, which merge.

`scan_batch` takes one record batch of one corpus file (the text column, and the id and URL columns when
the file has them) with the file's row number of every row, and returns what that batch contributes to
each fingerprint set's audit: evidence rows, the posts matched, the text share, and the rows skipped and
counted by domain. Every engine (this process, a pool of processes, Spark executors) runs this step and
nothing else on corpus data, and `PartResult` sums are concatenations in file and row order, so the
report does not depend on the engine, the batch size or the number of workers.

A batch's text is prenormalized once and shingled once per distinct hasher, whatever the number of sets
probed: the `--control` audit and `auditor check` with several sets share one corpus pass.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from auditor.claims import domains_of
from auditor.defaults import DEFAULT_MAX_ROW_CHARS as DEFAULT_MAX_ROW_CHARS
from auditor.errors import UsageError
from auditor.evidence import EVIDENCE_SCHEMA, evidence_batch
from auditor.fingerprint import ShingledTexts
from auditor.kernels.normalize import prenormalize
from auditor.kernels.sorting import unique_sorted
from auditor.sampling import RowSample
from auditor.scan import CorpusScanner
from auditor.stats import TextShare


@dataclass(frozen=True)
class CorpusBatch:
    """Rows of one corpus file: `table` has `text` and, when the file has them, `id` and `url` (strings);
    `rows` holds each row's 0-based number in the file, so evidence names rows whatever the batching."""

    file: str
    rows: npt.NDArray[np.int64]
    table: pa.RecordBatch

    def __post_init__(self) -> None:
        if len(self.rows) != self.table.num_rows:
            raise ValueError(f"{len(self.rows)} row numbers for a batch of {self.table.num_rows} rows")
        if "text" not in self.table.schema.names:
            raise ValueError(f"a corpus batch needs a `text` column, got {self.table.schema.names}")

    @classmethod
    def of(cls, file: str, first_row: int, table: pa.RecordBatch) -> CorpusBatch:
        return cls(file, np.arange(first_row, first_row + table.num_rows, dtype=np.int64), table)


def _empty_evidence() -> pa.Table:
    return EVIDENCE_SCHEMA.empty_table()


def _no_posts() -> npt.NDArray[np.int64]:
    return np.zeros(0, dtype=np.int64)


def _add_counts(first: dict[str, int], second: dict[str, int]) -> dict[str, int]:
    total = Counter(first)
    total.update(second)
    return dict(sorted(total.items()))


@dataclass(frozen=True)
class SetPart:
    """What some rows of the corpus contribute to one fingerprint set's audit."""

    evidence: pa.Table = field(default_factory=_empty_evidence)  # EVIDENCE_SCHEMA, in row order
    matched_posts: npt.NDArray[np.int64] = field(default_factory=_no_posts)  # distinct, sorted
    text_share: TextShare = field(default_factory=TextShare)
    domain_matched_rows: dict[str, int] = field(default_factory=dict)  # rows carrying posts by source domain
    matches: int = 0  # evidence rows, also once the evidence is kept elsewhere (see without_evidence)
    rows_matched: int = 0  # distinct corpus rows among them

    def without_evidence(self) -> SetPart:
        """The counts alone, for an audit that keeps the evidence on disk."""
        return replace(self, evidence=_empty_evidence())

    def __add__(self, later: SetPart) -> SetPart:
        """The two parts together; `later` holds rows after this part's rows."""
        if not later.evidence.num_rows:
            evidence = self.evidence
        elif not self.evidence.num_rows:
            evidence = later.evidence
        else:
            evidence = pa.concat_tables([self.evidence, later.evidence])
        return SetPart(
            evidence,
            unique_sorted(np.concatenate([self.matched_posts, later.matched_posts])),
            self.text_share + later.text_share,
            _add_counts(self.domain_matched_rows, later.domain_matched_rows),
            self.matches + later.matches,
            self.rows_matched + later.rows_matched,  # parts hold different rows
        )


@dataclass(frozen=True)
class PartResult:
    """What some consecutive rows of one corpus file contribute to an audit of one or more sets.

    Parts add up: `a + b` is the result of a's rows followed by b's. Counts are per corpus row, shared by
    every set; `sets` is parallel to the scanners the batch was scanned with.
    """

    rows: int = 0  # rows read
    rows_skipped: dict[str, int] = field(default_factory=dict)  # by reason: null_text, not_sampled
    domain_rows: dict[str, int] = field(default_factory=dict)  # scanned rows by source domain
    sets: tuple[SetPart, ...] = ()

    def __add__(self, later: PartResult) -> PartResult:
        if not self.sets:
            sets = later.sets
        elif not later.sets:
            sets = self.sets
        else:
            if len(self.sets) != len(later.sets):
                raise ValueError(f"cannot add part results of {len(self.sets)} and {len(later.sets)} sets")
            sets = tuple(a + b for a, b in zip(self.sets, later.sets, strict=True))
        return PartResult(
            self.rows + later.rows,
            _add_counts(self.rows_skipped, later.rows_skipped),
            _add_counts(self.domain_rows, later.domain_rows),
            sets,
        )

    @classmethod
    def empty(cls, sets: int) -> PartResult:
        return cls(sets=tuple(SetPart() for _ in range(sets)))

    def without_evidence(self) -> PartResult:
        return replace(self, sets=tuple(s.without_evidence() for s in self.sets))

    def counts(self) -> dict[str, Any]:
        """Everything but the evidence, as JSON values: what checkpoints and Spark tasks carry beside it."""
        return {
            "rows": self.rows,
            "rows_skipped": self.rows_skipped,
            "domain_rows": self.domain_rows,
            "sets": [
                {
                    "matched_posts": s.matched_posts.tolist(),
                    "text_share": list(s.text_share._fields()),
                    "domain_matched_rows": s.domain_matched_rows,
                    "matches": s.matches,
                    "rows_matched": s.rows_matched,
                }
                for s in self.sets
            ],
        }

    @classmethod
    def from_counts(cls, counts: dict[str, Any], evidence: Sequence[pa.Table] | None = None) -> PartResult:
        """The part result of `counts()`, with each set's evidence when given (else none)."""
        sets = tuple(
            SetPart(
                evidence[index] if evidence is not None else _empty_evidence(),
                np.asarray(entry["matched_posts"], dtype=np.int64),
                TextShare(*entry["text_share"]),
                dict(entry["domain_matched_rows"]),
                int(entry["matches"]),
                int(entry["rows_matched"]),
            )
            for index, entry in enumerate(counts["sets"])
        )
        return cls(int(counts["rows"]), dict(counts["rows_skipped"]), dict(counts["domain_rows"]), sets)


@dataclass(frozen=True)
class ScanOptions:
    """Which rows of a batch are scanned: a seeded row sample, and rows no longer than `max_row_chars`."""

    row_sample: RowSample | None = None
    max_row_chars: int = DEFAULT_MAX_ROW_CHARS

    def __post_init__(self) -> None:
        if self.max_row_chars < 1:
            raise UsageError(f"--max-row-chars must be at least 1, got {self.max_row_chars}.")


def scan_batch(scanners: Sequence[CorpusScanner], batch: CorpusBatch, options: ScanOptions | None = None) -> PartResult:
    """Scan one corpus batch for the posts of every scanner's set. Pure: reads nothing, writes nothing.

    Rows left out are counted by reason: `not_sampled`, `too_large` (longer than the limit), `null_text`.
    """
    options = options or ScanOptions()
    table, texts = batch.table, batch.table.column("text")
    skipped: Counter[str] = Counter()
    sampled: npt.NDArray[np.int64] | None = None
    if options.row_sample is not None:
        keep = options.row_sample.mask_rows(batch.file, batch.rows)
        skipped["not_sampled"] = int((~keep).sum())
        sampled = np.flatnonzero(keep)
        texts = texts.take(pa.array(sampled))
    # A row has no more characters than bytes: only a batch with a row of more bytes than the limit is
    # counted in characters (a pass over all its text).
    too_large = None
    if (pc.max(pc.binary_length(texts)).as_py() or 0) > options.max_row_chars:
        too_large = pc.fill_null(pc.greater(pc.utf8_length(texts), options.max_row_chars), False)
    skipped["too_large"] = (pc.sum(too_large).as_py() or 0) if too_large is not None else 0
    if skipped["too_large"]:
        texts = pc.if_else(too_large, pa.scalar(None, texts.type), texts)
    skipped["null_text"] = texts.null_count - skipped["too_large"]
    prenormalized = prenormalize(texts)
    shingled: dict[tuple[int, str], ShingledTexts] = {}
    domains = domains_of(table.column("url")) if "url" in table.schema.names else None
    parts: list[SetPart] = []
    for scanner in scanners:
        key = scanner.hasher_key
        if key not in shingled:
            shingled[key] = scanner.shingle(prenormalized)
        matches = scanner.match(texts, prenormalized, shingled[key])
        if sampled is not None:
            matches = replace(matches, rows=sampled[matches.rows])
        evidence = _empty_evidence()
        if len(matches.rows):
            ids = table.column("id") if "id" in table.schema.names else None
            evidence = pa.Table.from_batches(
                [evidence_batch(matches, scanner.fingerprints, batch.file, batch.rows, ids)], schema=EVIDENCE_SCHEMA
            )
        matched_domains: dict[str, int] = {}
        if domains is not None:
            matched_domains = _counts(domains.take(pa.array(unique_sorted(matches.rows))))
        rows_matched = len(unique_sorted(matches.rows))
        parts.append(
            SetPart(
                evidence,
                unique_sorted(matches.posts),
                matches.text_share,
                matched_domains,
                len(matches.rows),
                rows_matched,
            )
        )
    domain_rows: dict[str, int] = {}
    if domains is not None:
        scanned = np.zeros(table.num_rows, dtype=np.bool_)
        valid = np.asarray(pc.is_valid(texts).to_numpy(zero_copy_only=False))
        scanned[sampled[valid] if sampled is not None else valid] = True
        domain_rows = _counts(domains.filter(pa.array(scanned)))
    return PartResult(table.num_rows, {k: v for k, v in sorted(skipped.items()) if v}, domain_rows, tuple(parts))


def _counts(values: pa.Array) -> dict[str, int]:
    return {item["values"]: item["counts"] for item in pc.value_counts(values.drop_null()).to_pylist()}
