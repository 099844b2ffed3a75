"""What a CLI process does at start: pyarrow without pandas, numba without its scipy BLAS check."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import sys
    from auditor.startup import prepare_process
    prepare_process(["fingerprint", "posts.jsonl"])
    import numpy as np
    import numba

    @numba.njit(cache=False)
    def total(values):
        return values.sum()

    assert total(np.arange(5)) == 10  # numba loads its implementations, arraymath among them
    print("numba.np.arraymath" in sys.modules, "scipy.linalg" in sys.modules, "pandas" in sys.modules)
    import scipy.linalg  # refused to numba's check only

    print(scipy.linalg.norm(np.ones(4)))
    """
)


def test_cli_start_leaves_out_pandas_and_scipy_linalg() -> None:
    pytest.importorskip("scipy.linalg")  # not a dependency of ours; datasketch brings it
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True)
    assert result.stdout.split("\n")[:2] == ["True False False", "2.0"]


def purge_delay(arguments: list[str], env: dict[str, str]) -> str:
    script = (
        "import os, sys\nfrom auditor.startup import prepare_process\n"
        f"prepare_process({arguments!r})\nimport pyarrow\nprint(os.environ.get('MIMALLOC_PURGE_DELAY'))"
    )
    environment = {k: v for k, v in os.environ.items() if k != "MIMALLOC_PURGE_DELAY"} | env
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=environment)
    return result.stdout.strip()


def test_arrow_keeps_freed_pages_in_a_fingerprint_run_only() -> None:
    assert purge_delay(["fingerprint", "posts.jsonl"], {}) == "-1"
    assert purge_delay(["audit", "set.fp.parquet", "corpus.parquet"], {}) == "None"
    assert purge_delay(["audit", "set.fp.parquet", "fingerprint"], {}) == "None"  # a corpus of that name
    assert purge_delay(["fingerprint", "posts.jsonl"], {"MIMALLOC_PURGE_DELAY": "10"}) == "10"  # the user's own
