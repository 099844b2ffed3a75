"""SARIF 2.1.0 for code-scanning dashboards (GitHub code scanning, GitLab, Azure DevOps).

One run of the tool; two rules: `PA001` a post of a fingerprint set found in the corpus (one result per
new match, an error when its set failed the check, a warning otherwise) and `PA002` a limit of the check
exceeded (one result per violation). A result's location is the corpus file (as the repository names it)
and, since Parquet rows are not lines, the row as a logical location; `partialFingerprints` carry the
baseline key's digest, so a dashboard tracks a match across runs as the baseline does. Every string from
the data is made printable first.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from auditor import __version__
from auditor.baseline import match_keys
from auditor.formats.safe import printable
from auditor.gate import GateOutcome

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
MATCH_RULE = "PA001"
LIMIT_RULE = "PA002"
_RULES = [
    {
        "id": MATCH_RULE,
        "name": "PostFoundInCorpus",
        "shortDescription": {"text": "A post of a fingerprint set was found in the corpus."},
        "fullDescription": {
            "text": "A corpus row contains enough of a fingerprinted post (its estimated containment is at least "
            "the threshold) and the match is not accepted by the baseline."
        },
        "help": {
            "text": "Remove the row from the release, or accept the match with `auditor check --update-baseline`."
        },
        "defaultConfiguration": {"level": "error"},
    },
    {
        "id": LIMIT_RULE,
        "name": "ProvenanceLimitExceeded",
        "shortDescription": {"text": "A limit of the provenance check was exceeded."},
        "fullDescription": {"text": "The new matches of a fingerprint set exceed a limit of `auditor check`."},
        "help": {"text": "Review the new matches; raise the limit only if the release may carry them."},
        "defaultConfiguration": {"level": "error"},
    },
]


def _uri(name: str) -> str:
    """A corpus file as an artifact URI: a URL as it is, a local path relative and with forward slashes."""
    text = printable(name)
    return text if "://" in text else text.replace("\\", "/").removeprefix("./")


def render_sarif(outcome: GateOutcome) -> str:
    results: list[dict[str, Any]] = []
    for verdict in outcome.verdicts:
        set_name = printable(verdict.set_name)
        level = "warning" if verdict.passed else "error"
        rows = verdict.new_evidence.to_pylist()
        for match, key in zip(rows, match_keys(verdict.set_name, verdict.new_evidence), strict=True):
            where = f"row {match['corpus_row']}" + (f" (id {match['corpus_id']})" if match["corpus_id"] else "")
            results.append(
                {
                    "ruleId": MATCH_RULE,
                    "ruleIndex": 0,
                    "level": level,
                    "message": {
                        "text": printable(
                            f"Post {match['post_id']} of {verdict.set_name} found in {where} of "
                            f"{match['corpus_file']} ({match['match_kind'].replace('_', ' ')}, containment "
                            f"{match['containment']:.2f})."
                        )
                    },
                    "locations": [
                        {
                            "physicalLocation": {"artifactLocation": {"uri": _uri(match["corpus_file"])}},
                            "logicalLocations": [{"name": printable(where), "kind": "element"}],
                        }
                    ],
                    "partialFingerprints": {
                        "provenanceMatch/v1": hashlib.sha256("\0".join(key).encode("utf-8")).hexdigest()
                    },
                    "properties": {
                        "fingerprintSet": set_name,
                        "postId": printable(match["post_id"]),
                        "corpusRow": match["corpus_row"],
                        "corpusId": printable(match["corpus_id"]) if match["corpus_id"] is not None else None,
                        "containment": match["containment"],
                        "matchKind": match["match_kind"],
                    },
                }
            )
        # A limit concerns the whole corpus: located at its first file, as dashboards want a location.
        first_file = sorted(f.path for f in verdict.result.files)[:1]
        for violation in verdict.violations:
            result: dict[str, Any] = {
                "ruleId": LIMIT_RULE,
                "ruleIndex": 1,
                "level": "error",
                "message": {"text": printable(f"{verdict.set_name}: {violation}.")},
                "properties": {"fingerprintSet": set_name},
            }
            if first_file:
                result["locations"] = [{"physicalLocation": {"artifactLocation": {"uri": _uri(first_file[0])}}}]
            results.append(result)
    document = {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "provenance-auditor",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": _RULES,
                    }
                },
                "invocations": [{"executionSuccessful": True}],
                "results": results,
            }
        ],
    }
    return json.dumps(document, indent=2) + "\n"
