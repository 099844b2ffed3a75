"""Baselines: matches accepted once, so that only new ones fail a dataset release (as detect-secrets does).

A baseline is a versioned JSON file listing accepted matches by fingerprint set, post and corpus row. A
corpus row is named by its id when the corpus has one (ids survive re-sharding), else by file and row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from auditor import __version__
from auditor.errors import InputError
from auditor.outputs import write_text_atomically

BASELINE_FORMAT = "provenance-auditor/baseline"
BASELINE_VERSION = 1

MatchKey = tuple[str, str, str]  # (fingerprint set name, post id, corpus row name)


def row_name(corpus_id: str | None, corpus_file: str, corpus_row: int) -> str:
    return f"id:{corpus_id}" if corpus_id is not None else f"{corpus_file}#{corpus_row}"


def match_keys(set_name: str, evidence: pa.Table) -> list[MatchKey]:
    """The baseline key of every evidence row, in evidence order."""
    columns = evidence.select(["post_id", "corpus_id", "corpus_file", "corpus_row"]).to_pydict()
    return [
        (set_name, post, row_name(corpus_id, corpus_file, row))
        for post, corpus_id, corpus_file, row in zip(
            columns["post_id"], columns["corpus_id"], columns["corpus_file"], columns["corpus_row"], strict=True
        )
    ]


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
            "accepted": [{"fingerprint_set": s, "post_id": p, "corpus_row": r} for s, p, r in sorted(self.accepted)],
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
        except (OSError, ValueError) as error:
            raise InputError(
                f"{path}: not a readable baseline ({error}); recreate it with --update-baseline."
            ) from None
        if not isinstance(data, dict) or data.get("format") != BASELINE_FORMAT:
            raise InputError(f"{path} is not a provenance-auditor baseline; recreate it with --update-baseline.")
        if not isinstance(data.get("format_version"), int) or data["format_version"] > BASELINE_VERSION:
            raise InputError(f"{path} has a baseline format newer than this auditor reads; upgrade provenance-auditor.")
        try:
            accepted = frozenset(
                (str(item["fingerprint_set"]), str(item["post_id"]), str(item["corpus_row"]))
                for item in data["accepted"]
            )
        except (KeyError, TypeError):
            raise InputError(f"{path}: an accepted match lacks a field; recreate it with --update-baseline.") from None
        return cls(accepted)
