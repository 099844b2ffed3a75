"""Settings of `auditor check` from `[tool.auditor]` in the nearest pyproject.toml: a dataset repository
states its gate once (sets, limits, baseline), and the command line overrides any of them.

Keys are the options' long names without the dashes (`max-post-rate`; `max_post_rate` is read too).
Paths are relative to the directory of the pyproject.toml, so the gate reads the same from any working
directory. An unknown key or a value of the wrong type is an InputError naming the file and the key: a
misspelt limit must not silently leave the gate open.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from auditor.errors import InputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

PYPROJECT = "pyproject.toml"


@dataclass(frozen=True)
class CheckSettings:
    """What `[tool.auditor]` sets; None (or empty) where it sets nothing."""

    source: Path | None = None
    fingerprints: tuple[Path, ...] = ()
    max_post_rate: float | None = None
    max_row_rate: float | None = None
    max_matches: int | None = None
    baseline: Path | None = None
    text_column: str | None = None
    id_column: str | None = None
    threshold: float | None = None
    key_file: Path | None = None

    def describe(self) -> str:
        """The settings made, as `name = value` pairs (for -v)."""
        made = []
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name != "source" and value not in (None, ()):
                shown = ", ".join(str(v) for v in value) if isinstance(value, tuple) else str(value)
                made.append(f"{item.name.replace('_', '-')} = {shown}")
        return "; ".join(made) or "none"


def find_pyproject(start: Path) -> Path | None:
    """The pyproject.toml in `start` or the nearest directory above it."""
    for directory in (start, *start.parents):
        candidate = directory / PYPROJECT
        if candidate.is_file():
            return candidate
    return None


def load_check_settings(start: Path) -> CheckSettings:
    """The `[tool.auditor]` settings of the nearest pyproject.toml (none when there is no such table)."""
    path = find_pyproject(start.absolute())
    if path is None:
        return CheckSettings()
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise InputError(f"{path}: cannot be read as TOML ({error}); fix the file or run from elsewhere.") from None
    table = document.get("tool", {})
    table = table.get("auditor") if isinstance(table, dict) else None
    if table is None:
        return CheckSettings()
    return settings_from_table(table, path)


def settings_from_table(table: object, path: Path) -> CheckSettings:
    """Check every key and value of a `[tool.auditor]` table; paths resolved against the file's directory."""
    where = f"{path} [tool.auditor]"
    if not isinstance(table, dict):
        raise InputError(f"{where} must be a table of settings; see the README's `auditor check` section.")
    known = {item.name for item in fields(CheckSettings)} - {"source"}
    values: dict[str, Any] = {}
    root = path.parent
    for raw_key, value in table.items():
        name = str(raw_key).replace("-", "_")
        if name not in known:
            names = ", ".join(sorted(k.replace("_", "-") for k in known))
            raise InputError(f"{where} has no setting {raw_key!r} (known: {names}); fix or remove it.")
        key = name.replace("_", "-")

        def bad(expected: str, key: str = key, value: object = value) -> InputError:
            return InputError(f"{where}: {key} must be {expected}, got {value!r}; fix it in {path.name}.")

        if name == "fingerprints":
            items = [value] if isinstance(value, str) else value
            if not isinstance(items, list) or not all(isinstance(item, str) and item for item in items):
                raise bad("a path or a list of paths")
            values[name] = tuple(root / item for item in items)
        elif name in ("baseline", "key_file"):
            if not isinstance(value, str) or not value:
                raise bad("a path")
            values[name] = root / value
        elif name in ("text_column", "id_column"):
            if not isinstance(value, str) or not value:
                raise bad("a column name")
            values[name] = value
        elif name == "max_matches":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise bad("a whole number, 0 or more")
            values[name] = value
        else:  # shares: max-post-rate, max-row-rate, threshold
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise bad("a number between 0 and 1")
            low_open = name == "threshold"
            if not (0 < value <= 1 if low_open else 0 <= value <= 1):
                raise bad("a number above 0 and at most 1" if low_open else "a number between 0 and 1")
            values[name] = float(value)
    return CheckSettings(source=path, **values)
