"""Baselines: matches accepted once, so that only new ones fail a dataset release (as detect-secrets does).

A baseline is a versioned JSON file listing accepted matches by fingerprint set, post, corpus row and the
SHA-256 of that row's text. A corpus row is named by its id when the corpus has one (ids survive
re-sharding), else by file and row; the digest of its text makes the name specific, so a new row that
carries an accepted post under an accepted row's id (or at an accepted row's place) is a new match.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from auditor import __version__
from auditor.errors import InputError
from auditor.outputs import write_text_atomically

BASELINE_FORMAT = "provenance-auditor/baseline"
BASELINE_VERSION = 2  # 2: accepted rows named with the SHA-256 of their text

# (fingerprint set name, post id, corpus row name, SHA-256 of the row's text)
MatchKey = tuple[str, str, str, str]
_SHA256 = re.compile(r"[0-9a-f]{64}")


def row_name(corpus_id: str | None, corpus_file: str, corpus_row: int) -> str:
    return f"id:{corpus_id}" if corpus_id is not None else f"{corpus_file}#{corpus_row}"


def match_keys(set_name: str, evidence: pa.Table) -> list[MatchKey]:
    """The baseline key of every evidence row, in evidence order."""
    columns = evidence.select(["post_id", "corpus_id", "corpus_file", "corpus_row", "corpus_row_sha256"]).to_pydict()
    return [
        (set_name, post, row_name(corpus_id, corpus_file, row), digest or "")
        for post, corpus_id, corpus_file, row, digest in zip(
            columns["post_id"],
            columns["corpus_id"],
            columns["corpus_file"],
            columns["corpus_row"],
            columns["corpus_row_sha256"],
            strict=True,
        )
    ]


def duplicate_corpus_ids(evidence: pa.Table) -> tuple[str, ...]:
    """Corpus ids that name more than one matched row (another file or row): ids are then not names."""
    columns = evidence.select(["corpus_id", "corpus_file", "corpus_row"]).to_pydict()
    places: dict[str, set[tuple[str, int]]] = {}
    for corpus_id, corpus_file, row in zip(
        columns["corpus_id"], columns["corpus_file"], columns["corpus_row"], strict=True
    ):
        if corpus_id is not None:
            places.setdefault(corpus_id, set()).add((corpus_file, row))
    return tuple(sorted(corpus_id for corpus_id, where in places.items() if len(where) > 1))


@dataclass(frozen=True)
class Baseline:
    accepted: frozenset[MatchKey] = frozenset()

    def __contains__(self, key: object) -> bool:
        return key in self.accepted

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": BASELINE_FORMAT,
            "format_version": BASELINE_VERSION,
            "tool_version": __version__,
            "accepted": [
                {"fingerprint_set": s, "post_id": p, "corpus_row": r, "corpus_row_sha256": d}
                for s, p, r, d in sorted(self.accepted)
            ],
        }

    def write(self, path: Path) -> None:
        write_text_atomically(path, json.dumps(self.to_dict(), indent=2) + "\n", "baseline")

    @classmethod
    def read(cls, path: Path) -> Baseline:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(
                f"{path}: no such baseline; create it with `auditor check ... --baseline {path} --update-baseline`."
            ) from None
        except (OSError, ValueError, RecursionError) as error:
            raise InputError(
                f"{path}: not a readable baseline ({error}); recreate it with --update-baseline."
            ) from None
        if not isinstance(data, dict) or data.get("format") != BASELINE_FORMAT:
            raise InputError(f"{path} is not a provenance-auditor baseline; recreate it with --update-baseline.")
        version = data.get("format_version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise InputError(f"{path} has no valid baseline format version; recreate it with --update-baseline.")
        if version > BASELINE_VERSION:
            raise InputError(f"{path} has a baseline format newer than this auditor reads; upgrade provenance-auditor.")
        if version < BASELINE_VERSION:
            raise InputError(
                f"{path} is a version {version} baseline, which accepts rows by name alone (a new row under an "
                "accepted id would pass); review the matches and recreate it with --update-baseline."
            )
        accepted: set[MatchKey] = set()
        items = data.get("accepted")
        if not isinstance(items, list):
            raise InputError(f"{path}: its accepted matches are not a list; recreate it with --update-baseline.")
        for number, item in enumerate(items, start=1):
            fields = ("fingerprint_set", "post_id", "corpus_row", "corpus_row_sha256")
            values = [item.get(name) if isinstance(item, dict) else None for name in fields]
            if not all(isinstance(value, str) for value in values) or not _SHA256.fullmatch(values[3] or ""):
                raise InputError(
                    f"{path}: accepted match {number} lacks a field or has one of the wrong type (fields: "
                    f"{', '.join(fields)}); recreate it with --update-baseline."
                )
            accepted.add((str(values[0]), str(values[1]), str(values[2]), str(values[3])))
        return cls(frozenset(accepted))
