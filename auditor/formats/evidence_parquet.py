"""The evidence sink: every match as one Parquet row, with a manifest in the file's metadata.

The manifest holds the whole JSON report (inputs with SHA-256, parameters, counts), the versions of the
libraries that decide results and the time of writing, so a third party can rerun the audit and compare,
and `auditor report` can re-render the audit from this one file.
"""

from __future__ import annotations

import json
import platform
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import pyarrow.parquet as pq

from auditor.errors import InputError
from auditor.formats.json_report import SCHEMA_VERSION, report_dict
from auditor.result import AuditResult


def write_evidence(result: AuditResult, path: Path) -> None:
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
    table = result.evidence.replace_schema_metadata(metadata)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path, compression="zstd")
    except OSError as error:
        raise InputError(f"{path}: cannot write the evidence file ({error.strerror}); choose another path.") from None


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"
