"""Report formats: each takes an AuditResult and returns text (or a renderable); none scans or reads input."""
