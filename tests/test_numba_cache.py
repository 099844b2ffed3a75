"""The compiled kernels' cache: a kernel cached before an edit of a module it calls is compiled again."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from auditor.kernels.numba_cache import drop_stale


def _touch(path: Path, mtime: float) -> Path:
    path.write_text("x")
    os.utime(path, (mtime, mtime))
    return path


def test_cache_files_older_than_a_kernel_source_are_dropped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    _touch(tmp_path / "compiled_match.py", 1_000)
    _touch(tmp_path / "compiled.py", 2_000)  # the primitives, edited last
    stale = [
        _touch(cache / "compiled_match.score-19.py311.nbi", 1_500),
        _touch(cache / "compiled_match.score-19.py311.1.nbc", 1_500),
    ]
    fresh = _touch(cache / "compiled_match.score-19.py311.2.nbc", 2_500)
    other = [_touch(cache / "compiled_match.cpython-311.pyc", 500), _touch(cache / "fold-table.npz", 500)]
    assert drop_stale(tmp_path) == 2
    assert not any(path.exists() for path in stale)
    assert fresh.exists() and all(path.exists() for path in other)
    assert drop_stale(tmp_path) == 0


def test_a_cache_elsewhere_is_left_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "__pycache__"
    cache.mkdir()
    _touch(tmp_path / "compiled.py", 2_000)
    stale = _touch(cache / "compiled.f-1.py311.nbi", 1_000)
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert drop_stale(tmp_path) == 0
    assert stale.exists()
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    assert drop_stale(tmp_path / "missing") == 0  # no sources, no cache: nothing to do
