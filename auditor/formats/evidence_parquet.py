"""The evidence sink: every match as one Parquet row, with a manifest in the file's metadata.

The manifest holds the whole JSON report (inputs with SHA-256, parameters, counts), the versions of the
libraries that decide results and the time of writing, so a third party can rerun the audit and compare,
and `auditor report` can re-render the audit from this one file. It is the file's own key-value metadata,
not the Arrow schema's (which Parquet stores once more, base64-encoded), and of the posts not found it
lists the first MANIFEST_NOT_FOUND_IDS with their count: every reader of the file reads its footer, and a
set of millions of posts made one of hundreds of megabytes, past what Parquet readers accept by default.
The JSON report lists them all.
"""

from __future__ import annotations

import json
import platform
from dataclasses import replace
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import pyarrow.parquet as pq

from auditor.formats.json_report import SCHEMA_VERSION, report_dict
from auditor.result import MANIFEST_NOT_FOUND_IDS, AuditResult


def write_evidence(result: AuditResult, path: Path) -> None:
    listed = result.posts_not_found
    if len(listed) > MANIFEST_NOT_FOUND_IDS:
        first = listed.slice(0, MANIFEST_NOT_FOUND_IDS)
        result = replace(result, posts_not_found=first, posts_not_found_count=result.not_found_count)
    metadata = {
        b"provenance_auditor": json.dumps(
            {
                "format": "provenance-auditor/evidence",
                "schema_version": SCHEMA_VERSION,
                "tool_version": result.tool_version,
                "libraries": {name: _version(name) for name in ("datasketch", "numba", "numpy", "pyarrow")},
                "python": platform.python_version(),
                "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "report": report_dict(result),
            },
            sort_keys=True,
        ).encode()
    }
    table = result.evidence.replace_schema_metadata(None)
    # An OSError goes to the caller (outputs.StagedOutputs), which names the evidence file's own path, not
    # the temporary one written here, and the fix that fits the error.
    path.parent.mkdir(parents=True, exist_ok=True)
    with pq.ParquetWriter(path, table.schema, compression="zstd") as writer:
        writer.write_table(table)
        writer.add_key_value_metadata(metadata)


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"
