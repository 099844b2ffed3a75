"""What a CLI process does once at start, before any command's work: nothing a library user's process gets.

pyarrow asks whether pandas is installed the first time `pa.array` is given anything but a numpy array (a
Python list, which readers and reports build), and answers by importing pandas: a large share of every
process start, for a library this tool never hands to Arrow. `arrow_without_pandas` makes pyarrow record
pandas as absent without importing it. Only the CLI does this, for the commands that do not run Spark
(PySpark converts through pandas): in a library user's process pyarrow keeps its own answer.

numba, when it loads its first compiled function, checks that a BLAS is there by importing
`scipy.linalg.cython_blas`, and with it scipy.linalg, numpy.testing and unittest: another share of every
start, for the linear algebra (`np.dot` and the like) that no kernel of this tool uses.
`numba_without_blas` refuses that one import, so numba records BLAS as absent; scipy.linalg imports as
usual afterwards. CLI processes only, again.

numba, loading a cached function, first "refreshes" its target context: it imports every implementation
module it has (array math, typed containers, random generators, ...), about a quarter of a second,
which only compiling needs. `numba_loads_cache_lean` has a cache load initialize numba's runtime only,
and refresh the context when nothing was cached (compiling refreshes it anyway). A cached function also
names the module of every function inlined into it (numba's array implementations among them), and
numba imports each to give the function's environment that module's globals, which only object-mode code
reads: those environments get the module's name alone, and the rest when numba compiles after all (it
then imports the modules anyway). And each cached function's library comes with LLVM bitcode, which
numba parses as it loads it, to list the names the library defines and to keep it for linking into a
function compiled later: the names are read from the machine code's symbol table instead, and the
bitcode parsed only when such a compile links the library. And numba compiles its runtime library (the
reference counting its compiled code calls) from LLVM IR in every process: it is cached as the kernels
are (`runtime_cache_path`, keyed by that IR, which numba's settings shape, and by the numba, LLVM,
processor and Python it was compiled for; checked by SHA-256 when read). CLI processes only.

numba's configuration imports yaml, to read a `.numba_config.yaml` in the working directory:
`numba_without_yaml` refuses that import when there is no such file.

Python's cyclic garbage collector runs every few hundred allocations, and a start imports hundreds of
thousands of objects that live as long as the process: it scanned them again and again, a large share
of every start, and each later full collection scanned them once more. `prepare_process` imports the
command's modules with the collector paused, then freezes what exists (`gc.freeze`: never scanned
again) and resumes it. CLI processes only, as the rest.

Arrow's allocator (mimalloc) gives the pages of freed memory back to the system after a short delay,
and the next batch of a fingerprint run, tens of megabytes of Arrow memory, faults fresh pages in again.
`arrow_keeps_freed_pages` tells mimalloc to keep them (the next batches reuse them, so the run holds
about its peak of live memory), for `auditor fingerprint` only, and unless the user set the option.
glibc's heap gives back the free memory at its top once it passes a threshold (64 MiB at the most), and
hands arrays past another threshold to mmap, unmapped when freed: a scan frees tens of megabytes of a
batch's arrays after each batch, and the next batch faulted them all in again, page by page (four times
the page faults of an audit that keeps them), most of such an audit's system time.
`heap_keeps_freed_pages` raises both thresholds for the commands that scan a corpus (glibc only; not when
the user tuned malloc). numpy asks for transparent huge pages for every
array of 4 MiB or more; where the kernel then compacts memory to find them (defrag on madvise, the
usual setting), a fault of a fresh array could cost more than the work on it, most after another
process ran: `numpy_without_huge_pages` turns the request off in those commands (NUMPY_MADVISE_HUGEPAGE,
unless the user set it). Their arrays are streamed, not looked up at random, and gain little from
huge pages.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import importlib
import importlib.util
import os
import struct
import sys
from collections.abc import Callable, Iterator, Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType
from typing import Any

MIMALLOC_PURGE_DELAY = "MIMALLOC_PURGE_DELAY"
NUMPY_MADVISE_HUGEPAGE = "NUMPY_MADVISE_HUGEPAGE"
# Commands that scan a corpus.
_SCANNING_COMMANDS = ("audit", "check", "demo")
# mallopt parameters (glibc's malloc.h) and the values set: the largest mmap threshold glibc accepts (an
# array under it comes from the heap and goes back to it), and a trim threshold past any batch's work
# memory. Loading a set calls malloc_trim, which still returns what loading freed.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD = 32 << 20
_TRIM_THRESHOLD = 1 << 30


def arrow_keeps_freed_pages() -> None:
    """Make Arrow's mimalloc keep freed pages instead of purging them (read when pyarrow is loaded, so
    call this before; a value the user set is kept)."""
    os.environ.setdefault(MIMALLOC_PURGE_DELAY, "-1")


def numpy_without_huge_pages() -> None:
    """Keep numpy from asking for transparent huge pages (read when numpy is loaded, so call this before;
    a value the user set is kept)."""
    os.environ.setdefault(NUMPY_MADVISE_HUGEPAGE, "0")


def heap_keeps_freed_pages(libc: Any = None) -> bool:
    """Make glibc's malloc keep freed memory for reuse (see the module); whether it was set. A no-op
    without glibc, or when the user tuned malloc (GLIBC_TUNABLES or a MALLOC_*_ variable)."""
    if "GLIBC_TUNABLES" in os.environ or any(k.startswith("MALLOC_") and k.endswith("_") for k in os.environ):
        return False
    if libc is None:
        from auditor.memory import glibc

        libc = glibc()
        if libc is None:
            return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(
        libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    )


class _NoBlasCheck:
    """An import finder that refuses `scipy.linalg` to numba's BLAS check, and to nothing else: only while
    `numba.np.arraymath`, which makes the check as it is imported, has not finished importing."""

    @staticmethod
    def find_spec(name: str, path: object = None, target: object = None) -> None:
        if name == "scipy.linalg":
            arraymath = sys.modules.get("numba.np.arraymath")
            if arraymath is not None and not hasattr(arraymath, "_HAVE_BLAS"):
                raise ImportError("no kernel here uses BLAS")


def numba_without_blas() -> None:
    """Let numba load its compiled functions without importing scipy.linalg (for its BLAS check).

    A no-op when numba has loaded them already. Compiling a function that uses BLAS (`np.dot`) would
    then fail, saying scipy is required: none of this tool's kernels does.
    """
    if "numba.np.arraymath" in sys.modules or any(isinstance(f, _NoBlasCheck) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _NoBlasCheck())


class _NoYamlForNumba:
    """An import finder that refuses `yaml` to numba's configuration, and to nothing else: only while
    `numba.core.config` (which imports it to read a `.numba_config.yaml`) has not finished importing, and
    only when the working directory holds no such file."""

    @staticmethod
    def find_spec(name: str, path: object = None, target: object = None) -> None:
        if name == "yaml":
            config = sys.modules.get("numba.core.config")
            if config is not None and not hasattr(config, "_HAVE_YAML") and not os.path.exists(".numba_config.yaml"):
                raise ImportError("no numba configuration file here")


def numba_without_yaml() -> None:
    """Let numba configure itself without importing yaml when there is no configuration file for it to read.

    A no-op when numba's configuration is loaded already."""
    if "numba.core.config" in sys.modules or any(isinstance(f, _NoYamlForNumba) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _NoYamlForNumba())


class _AfterImport:
    """An import finder that runs `then` on module `name` right after it is first imported."""

    def __init__(self, name: str, then: Callable[[ModuleType], None]) -> None:
        self.name, self.then = name, then

    def find_spec(self, name: str, path: object = None, target: object = None) -> ModuleSpec | None:
        if name != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        loader: Any = spec.loader if spec is not None else None
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        run, then = loader.exec_module, self.then

        def exec_module(module: ModuleType) -> None:
            run(module)
            then(module)

        loader.exec_module = exec_module
        return spec


def _lean_environments() -> Callable[[], None] | None:
    """Have cached functions' environments built without importing the modules they name; returns what
    completes them (imports those modules into them) for when numba compiles after all, or None for a
    numba without the internals this replaces."""
    from numba.core import environment

    rebuild, make = getattr(environment, "_rebuild_env", None), getattr(environment, "Environment", None)
    lookup: Callable[[str], Any] | None = getattr(environment, "lookup_environment", None)
    if rebuild is None or make is None or lookup is None:
        return None
    pending: list[Any] = []

    def rebuild_env(modname: str | None, consts: list[Any], env_name: str) -> Any:
        if modname is None or modname in sys.modules:
            return rebuild(modname, consts, env_name)
        env = lookup(env_name)
        if env is None:
            env = make({"__name__": modname})
            env.consts[:] = consts
            env.env_name = env_name
            make._memo[env_name] = env
            pending.append(env)
        return env

    def complete() -> None:
        while pending:
            env = pending.pop()
            env.globals.update(importlib.import_module(env.globals["__name__"]).__dict__)

    # What the pickled cache data names, under numba's own name: a function compiled and cached in this
    # process pickles its environments with whatever `_rebuild_env` is then, and numba's pickler would
    # otherwise store this closure by value (its own copy of `pending`, which `complete` never sees)
    # instead of a reference that a plain process resolves to numba's function.
    rebuild_env.__module__ = environment.__name__
    rebuild_env.__name__ = rebuild_env.__qualname__ = "_rebuild_env"
    environment._rebuild_env = rebuild_env
    return complete


def elf_defined_symbols(code: bytes) -> set[str] | None:
    """The names of the global and weak symbols an ELF64 little-endian object defines (its symbol table's
    entries with a section), or None for anything else (another format, a damaged object)."""
    try:
        if code[:6] != b"\x7fELF\x02\x01":
            return None
        (table,) = struct.unpack_from("<Q", code, 0x28)
        entry_size, sections = struct.unpack_from("<HH", code, 0x3A)
        for section in range(sections):
            kind, offset, size, link = struct.unpack_from("<4xI16xQQI", code, table + section * entry_size)
            if kind != 2:  # SHT_SYMTAB
                continue
            (names,) = struct.unpack_from("<Q", code, table + link * entry_size + 0x18)
            defined = set()
            for name, info, _, index, _, _ in struct.iter_unpack("<IBBHQQ", code[offset : offset + size]):
                if index != 0 and info >> 4 in (1, 2):  # defined here; STB_GLOBAL or STB_WEAK
                    start = names + name
                    defined.add(code[start : code.index(b"\0", start)].decode())
            return defined
    except (struct.error, ValueError, OverflowError, UnicodeDecodeError):
        return None
    return None


def _lean_libraries() -> None:
    """Have cached functions' libraries loaded without parsing their LLVM bitcode: numba parses it to list
    the names the library defines (read from the object code's symbol table instead) and keeps it for
    linking the library into a function compiled later (parsed then, when that happens)."""
    from llvmlite import binding
    from numba.core import codegen

    library = getattr(codegen, "CPUCodeLibrary", None)
    unserialize, for_linking = getattr(library, "_unserialize", None), getattr(library, "_get_module_for_linking", None)
    if library is None or unserialize is None or for_linking is None:
        return  # another numba: leave it as it is

    def lean_unserialize(cls: Any, generator: Any, state: Any) -> Any:
        name, kind, data = state
        defined = elf_defined_symbols(data[0]) if kind == "object" else None
        symbols = getattr(getattr(generator, "_engine", None), "_defined_symbols", None)
        if defined is None or not isinstance(symbols, set):
            return unserialize.__func__(cls, generator, state)
        loaded = generator.create_library(name)
        loaded.enable_object_caching()
        loaded._set_compiled_object(data[0])
        loaded._lean_bitcode = data[1]
        loaded._finalize_final_module()
        symbols |= defined
        return loaded

    def module_for_linking(self: Any) -> Any:
        bitcode = self.__dict__.pop("_lean_bitcode", None)
        if bitcode is not None and self._shared_module is None:
            self._shared_module = binding.parse_bitcode(bitcode)
        return for_linking(self)

    library._unserialize = classmethod(lean_unserialize)
    library._get_module_for_linking = module_for_linking


_RUNTIME_MAGIC = b"provenance-auditor numba runtime 1\n"


def runtime_directory() -> Path:
    """Where numba's runtime library is cached: beside the kernels' own cache, or in NUMBA_CACHE_DIR."""
    return Path(os.environ.get("NUMBA_CACHE_DIR") or Path(__file__).parent / "kernels" / "__pycache__")


def runtime_cache_path(codegen: Any, source: str) -> Path | None:
    """Where numba's runtime library compiled from LLVM IR `source` (which numba's settings shape: its
    debugging runtime prints every reference count) is cached for this numba, LLVM, processor and
    Python; None when that is not known."""
    import llvmlite
    import numba

    try:
        described = "\0".join(
            (numba.__version__, llvmlite.__version__, codegen._get_host_cpu_name(),
             codegen._get_host_cpu_features(), sys.version, sys.platform, source)
        )  # fmt: skip
    except (AttributeError, TypeError):
        return None
    return runtime_directory() / f"numba-runtime-{hashlib.sha256(described.encode()).hexdigest()[:24]}.nbo"


def read_runtime(path: Path) -> tuple[bytes, bytes] | None:
    """The object code and bitcode a runtime cache file holds, or None when it is missing or damaged."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    head = len(_RUNTIME_MAGIC)
    if data[:head] != _RUNTIME_MAGIC or len(data) < head + 40:
        return None
    digest, (size,), payload = data[head : head + 32], struct.unpack_from("<Q", data, head + 32), data[head + 40 :]
    if hashlib.sha256(payload).digest() != digest or size > len(payload):
        return None
    return payload[:size], payload[size:]


def write_runtime(path: Path, code: bytes, bitcode: bytes) -> None:
    """Cache the runtime's object code and bitcode at `path`, whole or not at all (nothing when it cannot
    be written: the next process compiles the runtime again)."""
    from auditor.outputs import replace_atomically, umask

    payload = code + bitcode
    data = _RUNTIME_MAGIC + hashlib.sha256(payload).digest() + struct.pack("<Q", len(code)) + payload

    def write(temporary: Path) -> None:
        temporary.write_bytes(data)
        temporary.chmod(0o666 & ~umask())  # as numba's own cache files: others sharing the cache read it

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        replace_atomically(path, write)
    except OSError:
        pass


def _cached_runtime() -> None:
    """Have numba's runtime library, which every process compiles from LLVM IR before its first compiled
    call, loaded from a cache of its object code (`runtime_cache_path`) as cached kernels are."""
    from numba.core.runtime import nrtdynmod

    create = getattr(nrtdynmod, "create_nrt_module", None)
    if create is None or not hasattr(nrtdynmod, "compile_nrt_functions"):
        return  # another numba: leave it as it is

    def compile_nrt_functions(context: Any) -> Any:
        codegen = context.codegen()
        module, library = create(context)  # the IR, made in Python: a fraction of compiling it
        path = runtime_cache_path(codegen, str(module))
        cached = read_runtime(path) if path is not None else None
        if cached is not None:
            return codegen.unserialize_library(("nrt", "object", cached))
        library.enable_object_caching()
        library.add_ir_module(module)
        library.finalize()
        if path is not None:
            _, _, (code, bitcode) = library.serialize_using_object_code()
            write_runtime(path, code, bitcode)
        return library

    nrtdynmod.compile_nrt_functions = compile_nrt_functions


def _lean_cache_loads(caching: ModuleType) -> None:
    cache = getattr(caching, "Cache", None)
    if cache is None or not all(hasattr(cache, n) for n in ("_load_overload", "_guard_against_spurious_io_errors")):
        return  # another numba: leave it as it is
    complete_environments = _lean_environments()
    _lean_libraries()
    _cached_runtime()

    def load_overload(self: Any, sig: Any, target_context: Any) -> Any:
        from numba.core.runtime.nrt import rtsys

        rtsys.initialize(target_context)  # what running compiled code needs of the context's refresh
        with self._guard_against_spurious_io_errors():
            loaded = self._load_overload(sig, target_context)
        if loaded is None:
            target_context.refresh()
            if complete_environments is not None:
                complete_environments()
        return loaded

    cache.load_overload = load_overload


def numba_loads_cache_lean() -> None:
    """Let numba load cached functions without importing its implementation modules (see the module).

    A no-op when numba is already imported."""
    if "numba.core.caching" in sys.modules or any(isinstance(f, _AfterImport) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _AfterImport("numba.core.caching", _lean_cache_loads))


class _NoPandas:
    """An import finder that refuses `pandas` (used only while pyarrow first asks for it)."""

    @staticmethod
    def find_spec(name: str, path: object = None, target: object = None) -> None:
        if name == "pandas":
            raise ImportError("pandas is not needed here")


def arrow_without_pandas() -> None:
    """Make pyarrow decide, once, that pandas is absent, without importing it.

    With the import refused during pyarrow's first question, it records pandas as absent; its conversions
    that need pandas (`to_pandas`, `from_pandas`) import it again when called, so nothing stops working.
    A no-op when pandas is already loaded (pyarrow then finds it).
    """
    if "pandas" in sys.modules:
        return
    import pyarrow as pa

    finder = _NoPandas()
    sys.meta_path.insert(0, finder)
    try:
        pa.array([0])
    finally:
        sys.meta_path.remove(finder)


# What each long-running command imports before its work (the rest import little): loaded at start,
# while the collector rests.
_COMMAND_MODULES = {
    "audit": ("auditor.audit",),
    "check": ("auditor.audit", "auditor.config"),
    "demo": ("auditor.audit",),
    "fingerprint": ("auditor.build", "auditor.fingerprint", "auditor.sources.posts"),
    "index": ("auditor.indexing",),
}


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused for the block; then every object made so far moves to its
    permanent generation (`gc.freeze`) and collection resumes.

    Imports make hundreds of thousands of objects that live as long as the process and no garbage; the
    collector, run every few hundred allocations, scanned them again and again (a large share of a
    command's start), and every later full collection would scan them once more."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def prepare_process(arguments: Sequence[str]) -> None:
    """Before the CLI runs `arguments`: keep pandas, scipy.linalg and numba's implementation modules out of
    a command's start, unless the command only prints help or the version (pyarrow is not even loaded
    then) or may run Spark (pandas then); Arrow keeps its freed pages in a fingerprint run, the C heap in a
    scan, where numpy asks for no huge pages. All of it, and the import of the command's modules, with
    the collector paused (`collector_paused`); a module that fails to import is left for the command to
    import and report as it does."""
    if not arguments or any(a in ("-h", "--help", "--version") for a in arguments):
        return
    with collector_paused():
        if arguments[0] == "fingerprint":  # the command, not a file of that name
            arrow_keeps_freed_pages()
        if arguments[0] in _SCANNING_COMMANDS:  # before numpy is loaded
            heap_keeps_freed_pages()
            numpy_without_huge_pages()
        numba_without_blas()
        numba_without_yaml()
        numba_loads_cache_lean()
        if not any("spark" in a for a in arguments):
            arrow_without_pandas()
        for name in _COMMAND_MODULES.get(arguments[0], ()):
            with contextlib.suppress(ImportError):
                importlib.import_module(name)
