"""provenance-auditor: audit whether a platform's posts ended up in an AI training corpus."""

__version__ = "0.1.0"
