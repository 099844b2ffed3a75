"""What a CLI process does at start: pyarrow without pandas, numba without its scipy BLAS check and without
its implementation modules when it only loads cached functions."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
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


def after_prepare(arguments: list[str], env: dict[str, str], variable: str, statements: str) -> str:
    """What `statements` print in a fresh interpreter after prepare_process(arguments), `variable` unset in
    its environment unless `env` sets it."""
    script = (
        f"import os, sys\nfrom auditor.startup import prepare_process\nprepare_process({arguments!r})\n{statements}"
    )
    environment = {k: v for k, v in os.environ.items() if k != variable} | env
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=environment)
    return result.stdout.strip()


def purge_delay(arguments: list[str], env: dict[str, str]) -> str:
    statements = "import pyarrow\nprint(os.environ.get('MIMALLOC_PURGE_DELAY'))"
    return after_prepare(arguments, env, "MIMALLOC_PURGE_DELAY", statements)


def test_arrow_keeps_freed_pages_in_a_fingerprint_run_only() -> None:
    assert purge_delay(["fingerprint", "posts.jsonl"], {}) == "-1"
    assert purge_delay(["audit", "set.fp.parquet", "corpus.parquet"], {}) == "None"
    assert purge_delay(["audit", "set.fp.parquet", "fingerprint"], {}) == "None"  # a corpus of that name
    assert purge_delay(["fingerprint", "posts.jsonl"], {"MIMALLOC_PURGE_DELAY": "10"}) == "10"  # the user's own


def huge_pages(arguments: list[str], env: dict[str, str]) -> str:
    statements = (
        "import numpy\ncore = getattr(numpy, '_core', None) or numpy.core\n"
        "print(core.multiarray._get_madvise_hugepage())"
    )
    return after_prepare(arguments, env, "NUMPY_MADVISE_HUGEPAGE", statements)


def test_numpy_asks_for_no_huge_pages_in_a_scan() -> None:
    default = huge_pages(["inspect", "set.fp.parquet"], {})  # numpy's own choice (by kernel version)
    assert huge_pages(["audit", "set.fp.parquet", "corpus.parquet"], {}) == "False"
    assert huge_pages(["check", "corpus.parquet"], {}) == "False"
    assert huge_pages(["inspect", "audit"], {}) == default  # a file of that name
    assert huge_pages(["audit", "set.fp.parquet", "corpus"], {"NUMPY_MADVISE_HUGEPAGE": "1"}) == "True"  # the user's


class _Libc:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def mallopt(self, parameter: int, value: int) -> int:
        self.calls.append((parameter, value))
        return 1


def test_the_heap_keeps_freed_pages_unless_the_user_tuned_malloc(monkeypatch: pytest.MonkeyPatch) -> None:
    """glibc's mmap threshold (M_MMAP_THRESHOLD, -3) raised to its largest and the trim threshold (-1) past a
    batch's work memory: each batch then reuses the last one's pages instead of faulting in fresh."""
    from auditor.startup import heap_keeps_freed_pages

    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    for name in [k for k in os.environ if k.startswith("MALLOC_")]:
        monkeypatch.delenv(name)
    libc = _Libc()
    assert heap_keeps_freed_pages(libc) and libc.calls == [(-3, 32 << 20), (-1, 1 << 30)]
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "0")
    libc = _Libc()
    assert not heap_keeps_freed_pages(libc) and libc.calls == []
    monkeypatch.delenv("MALLOC_TRIM_THRESHOLD_")
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.trim_threshold=0")
    assert not heap_keeps_freed_pages(libc) and libc.calls == []


LEAN = textwrap.dedent(
    """
    import sys
    from auditor.startup import prepare_process
    prepare_process(["audit", "set.fp.parquet", "corpus.parquet"])
    import pyarrow as pa
    from auditor.kernels.normalize import prenormalize, prenormalize_reference

    texts = pa.array(["Caf\\u00e9 &amp; ｆｕｌｌ https://t.co/x @someone", None, "plain"])
    assert prenormalize(texts).equals(prenormalize_reference(texts))
    print("numba.np.arraymath" in sys.modules, "numba.np.arrayobj" in sys.modules)
    """
)


def test_cached_kernels_load_without_numbas_implementation_modules() -> None:
    # The first run may compile the kernels (a fresh checkout), which loads them; the next loads the cache.
    subprocess.run([sys.executable, "-c", LEAN], capture_output=True, text=True, check=True)
    result = subprocess.run([sys.executable, "-c", LEAN], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False False"
    plain = LEAN.replace('prepare_process(["audit", "set.fp.parquet", "corpus.parquet"])', "")
    result = subprocess.run([sys.executable, "-c", plain], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "True True"  # a library user's process: numba as it is


MISS = textwrap.dedent(
    """
    import sys
    from auditor.startup import prepare_process
    prepare_process(["audit", "set.fp.parquet", "corpus.parquet"])
    import pyarrow as pa
    from auditor.kernels.normalize import prenormalize
    from numba.core.environment import Environment

    prenormalize(pa.array(["Caf\\u00e9 https://t.co/x"]))  # cached: environments of modules not imported
    stubs = [e for e in list(Environment._memo.values()) if len(e.globals) == 1]
    print(len(stubs) > 0, "numba.np.arrayobj" in sys.modules)
    import fresh  # a cache=True function with nothing cached: numba compiles, importing its modules

    assert fresh.total(3) == 6
    print(all(len(e.globals) > 1 for e in stubs), "numba.np.arrayobj" in sys.modules)
    """
)


def _runner(directory: Path, fresh: str) -> Callable[[str, bool], str]:
    """What runs a script in `directory` (its working directory, where module `fresh` has source `fresh`),
    returning its output (checking its exit status when told)."""
    (directory / "fresh.py").write_text(fresh)
    environment = os.environ | {"PYTHONPATH": f"{directory}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}

    def run(script: str, check: bool) -> str:
        command = [sys.executable, "-c", script]
        return subprocess.run(
            command, capture_output=True, text=True, check=check, env=environment, cwd=directory
        ).stdout

    return run


def test_compiling_after_lean_cache_loads_completes_their_environments(tmp_path: Path) -> None:
    run = _runner(
        tmp_path,
        "import numpy as np\nimport numba\n\n"
        "@numba.njit(cache=True)\ndef total(n):\n    return np.arange(n + 1).sum()\n",
    )
    run(MISS, False)  # the auditor's kernels compiled and cached, if they were not
    for cached in tmp_path.glob("__pycache__/fresh.*"):  # only the auditor's kernels stay cached
        cached.unlink()
    assert run(MISS, True).split("\n")[:2] == ["True False", "True True"]
    # What this process cached names numba's own environment rebuilder, which a plain process resolves;
    # not a copy of the lean one, pickled by value (whose stubs nothing would complete).
    saved = [cached.read_bytes() for cached in tmp_path.glob("__pycache__/fresh.*.nbc")]
    assert saved and not any(b"auditor.startup" in data or b"pending" in data for data in saved)


LINKED = textwrap.dedent(
    """
    import os, sys
    from auditor.startup import prepare_process
    prepare_process(["audit", "set.fp.parquet", "corpus.parquet"])
    import numpy as np
    from llvmlite import binding
    parsed = []
    parse = binding.parse_bitcode
    binding.parse_bitcode = lambda data: parsed.append(len(data)) or parse(data)
    from auditor.kernels.compiled import _fmix32
    from auditor.kernels.shingle_hash import fmix32

    assert _fmix32(np.uint64(123456789)) == fmix32(np.array([123456789], dtype=np.uint32))[0]
    print(len(parsed), "yaml" in sys.modules)
    import fresh  # compiled here, calling the cached _fmix32: its library is linked in, its bitcode parsed

    assert fresh.mixed(987654321) == fmix32(np.array([987654321], dtype=np.uint32))[0]
    print(len(parsed) > 0)
    """
)


def test_cached_libraries_load_without_their_bitcode_until_a_compile_links_them(tmp_path: Path) -> None:
    run = _runner(
        tmp_path,
        "import numpy as np\nimport numba\nfrom auditor.kernels.compiled import _fmix32\n\n"
        "@numba.njit\ndef mixed(n):\n    return _fmix32(np.uint64(n))\n",
    )
    run(LINKED, False)  # the auditor's kernels compiled and cached, if they were not
    assert run(LINKED, True).split("\n")[:2] == ["0 False", "True"]
    (tmp_path / ".numba_config.yaml").write_text("developer_mode: 0\n")  # a file numba reads: yaml is imported
    assert run(LINKED, True).split("\n")[0] == "0 True"


def test_the_symbols_an_object_defines_are_those_its_bitcode_defines_for_linking() -> None:
    import numba
    from llvmlite import binding

    from auditor.startup import elf_defined_symbols

    @numba.njit
    def twice(values: Any) -> Any:
        return values * 2

    assert twice(np.arange(3)).tolist() == [0, 2, 4]
    library = next(iter(twice.overloads.values())).library
    _, kind, (code, bitcode) = library.serialize_using_object_code()  # what numba caches of a function
    module = binding.parse_bitcode(bitcode)
    named = {
        value.name
        for values in (module.functions, module.global_variables)
        for value in values
        if not value.is_declaration and not value.name.startswith(".")  # constants: never looked up by name
    }
    defined = elf_defined_symbols(code)
    assert kind == "object" and defined == named
    assert next(iter(twice.overloads.values())).fndesc.llvm_func_name in defined
    assert elf_defined_symbols(b"MZ not an ELF object") is None
    assert all(elf_defined_symbols(code[:cut]) is None for cut in (0, 6, 0x40, len(code) // 2))
    damaged = bytearray(code)
    damaged[0x2F] = 0xFF  # a section table far past the end
    assert elf_defined_symbols(bytes(damaged)) is None


RUNTIME = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from auditor import startup
    startup.runtime_directory = lambda: Path(sys.argv[1])
    startup.prepare_process(["audit", "set.fp.parquet", "corpus.parquet"])
    import pyarrow as pa
    from auditor.kernels.normalize import prenormalize, prenormalize_reference
    from numba.core.runtime.nrt import rtsys

    texts = pa.array(["Caf\\u00e9 &amp; https://t.co/x @someone", None])
    assert prenormalize(texts).equals(prenormalize_reference(texts))
    print(rtsys.library._disable_inspection)  # True when loaded from object code, not compiled here
    import fresh  # compiled here, allocating arrays: it links the runtime library

    assert fresh.total(3) == 6
    """
)


def test_numbas_runtime_is_compiled_once_then_loaded_from_its_cache(tmp_path: Path) -> None:
    (tmp_path / "fresh.py").write_text(
        "import numpy as np\nimport numba\n\n@numba.njit\ndef total(n):\n    return np.arange(n + 1).sum()\n"
    )
    cache = tmp_path / "cache"
    plain = os.environ | {"PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    plain.pop("NUMBA_DEBUG_NRT", None)

    def run(environment: dict[str, str] = plain, check: bool = True) -> list[str]:
        command = [sys.executable, "-c", RUNTIME, str(cache)]
        result = subprocess.run(command, capture_output=True, text=True, check=check, env=environment, cwd=tmp_path)
        return result.stdout.split("\n")

    run(check=False)  # the auditor's kernels compiled and cached, if they were not
    shutil.rmtree(cache, ignore_errors=True)
    assert run() == ["False", ""] and len(list(cache.iterdir())) == 1  # compiled, then cached
    assert run() == ["True", ""]
    # numba's debugging runtime (every reference count printed) is other IR: a cache of its own, never the
    # plain one's, and the plain runs after it load the plain runtime (nothing printed but the answer).
    debugging = run(plain | {"NUMBA_DEBUG_NRT": "1"})
    assert "False" in debugging and any("NRT_" in line for line in debugging) and len(list(cache.iterdir())) == 2
    assert "True" in run(plain | {"NUMBA_DEBUG_NRT": "1"})
    assert run() == ["True", ""]
    for cached in cache.iterdir():  # damaged: compiled again, and cached again
        data = bytearray(cached.read_bytes())
        data[-1] ^= 0xFF
        cached.write_bytes(bytes(data))
    assert run() == ["False", ""]
    assert run() == ["True", ""]


def test_runtime_cache_files_hold_what_was_written_or_nothing(tmp_path: Path) -> None:
    from auditor.outputs import umask
    from auditor.startup import read_runtime, write_runtime

    path = tmp_path / "deeper" / "runtime.nbo"
    write_runtime(path, b"object code", b"bitcode")
    assert read_runtime(path) == (b"object code", b"bitcode")
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask()  # as numba's cache: readable by who shares it
    whole = path.read_bytes()
    for cut in (0, 10, len(whole) - 1):
        path.write_bytes(whole[:cut])
        assert read_runtime(path) is None
    assert read_runtime(tmp_path / "missing.nbo") is None
    (tmp_path / "file").write_text("")
    write_runtime(tmp_path / "file" / "runtime.nbo", b"x", b"y")  # cannot be written: nothing, no error


COLLECTOR = textwrap.dedent(
    """
    import gc, sys
    from auditor import startup
    startup._COMMAND_MODULES["demo"] = ("no_such_module_here",)  # a module that fails to import: left be
    startup.prepare_process(sys.argv[1:])
    print(gc.isenabled(), gc.get_freeze_count() > 10_000, "auditor.audit" in sys.modules)
    """
)


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["audit", "set.fp.parquet", "corpus.parquet"], "True True True"),
        (["demo"], "True True False"),
        (["audit", "--help"], "True False False"),
    ],
)
def test_commands_import_their_modules_with_the_collector_paused_then_frozen(
    arguments: list[str], expected: str
) -> None:
    result = subprocess.run([sys.executable, "-c", COLLECTOR, *arguments], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == expected
