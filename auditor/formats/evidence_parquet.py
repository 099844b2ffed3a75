"""The evidence sink: every match as one Parquet row, with the report's schema version in its metadata."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from auditor.errors import InputError
from auditor.formats.json_report import SCHEMA_VERSION
from auditor.result import AuditResult


def write_evidence(result: AuditResult, path: Path) -> None:
    metadata = {
        b"provenance_auditor": json.dumps(
            {
                "format": "provenance-auditor/evidence",
                "schema_version": SCHEMA_VERSION,
                "tool_version": result.tool_version,
                "fingerprint_set": result.fingerprint_file.to_dict(),
                "threshold": result.settings.threshold,
            },
            sort_keys=True,
        ).encode()
    }
    table = result.evidence.replace_schema_metadata(metadata)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path, compression="zstd")
    except OSError as error:
        raise InputError(f"{path}: cannot write the evidence file ({error.strerror}); choose another path.") from None
