"""The command line: thin commands that call the library and turn its errors into one sentence and exit 2.

Exit codes: 0 the job ran (for `check`: the release passes); 1 `check` found what its limits forbid; 2 usage
or input error (bad option, unreadable or mismatched file).

Start-up is kept light: this module imports only typer, rich's console and the light parts of the package
(defaults, errors, safe text); each command imports the numerical library it uses when it runs, so
`auditor --help` and `auditor --version` answer without loading numba, pyarrow or datasketch.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import io
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from enum import Enum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, ParamSpec, TextIO, TypeVar, cast

import typer
from typer.core import TyperCommand, TyperGroup

from auditor import __version__
from auditor.cli_progress import BarProgress, LogProgress, QuietProgress
from auditor.defaults import (
    DEFAULT_FINGERPRINT_DIR,
    DEFAULT_MAX_ROW_CHARS,
    DEFAULT_MIN_SHINGLES,
    DEFAULT_NUM_PERM,
    DEFAULT_REPORT_DIR,
    DEFAULT_SEED,
    DEFAULT_SHINGLE_SIZE,
    DEFAULT_THRESHOLD,
    SET_SUFFIX,
)
from auditor.errors import AuditorError, InputError, UsageError, cannot_write_fix
from auditor.formats.safe import printable

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from auditor.audit import AuditOutputs
    from auditor.fingerprint_set import FingerprintSetInfo
    from auditor.gate import GateOutcome
    from auditor.params import FingerprintParams
    from auditor.result import AuditResult


class InputFormat(str, Enum):
    """The choices of --input-format: sources.exports.FORMATS (a test holds the two equal)."""

    auto = "auto"
    jsonl = "jsonl"
    json = "json"
    csv = "csv"
    parquet = "parquet"
    x_archive = "x-archive"
    twitter_api = "twitter-api"
    pushshift = "pushshift"
    stackexchange = "stackexchange"
    mastodon = "mastodon"
    bluesky = "bluesky"


EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
RESUME_HINT = "rerun the same command to resume an audit from its finished parts."
STDOUT = "-"  # an output path meaning standard output
LOG_WIDTH = 160  # a log is not a terminal: wide enough that tables keep file names on one line

# Help panels: options grouped by what they decide.
INPUTS = "Inputs"
OUTPUTS = "Outputs"
MATCHING = "Matching"
PRIVACY = "Privacy"
SAMPLING = "Sampling"
CONTROL = "Negative control"
LIMITS = "Limits"
PERFORMANCE = "Performance"
RUN = "Run"


class _Auditor(TyperGroup):
    """The command group; a usage error (an unknown option, a value of the wrong type) is one line on stderr
    and exit code 2, like every other error of the tool."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except Exception as error:
            message = getattr(error, "format_message", None)
            if not callable(message) or not isinstance(getattr(error, "exit_code", None), int):
                raise
            if type(error).__name__ != "NoArgsIsHelpError":  # the help was printed: nothing to add
                context = getattr(error, "ctx", None)
                command = getattr(context, "command_path", "auditor")
                _error_line(f"{message()} (see `{command} --help`)")
            if not standalone_mode:
                raise
            sys.exit(error.exit_code)  # type: ignore[attr-defined]
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else EXIT_OK)

    def get_help_option(self, ctx: Any) -> Any:
        return _quiet_help_option(super().get_help_option(ctx))


def _quiet_help_option(option: Any) -> Any:
    if option is not None:
        option.metavar = ""  # a flag takes no value: no `<bool>` beside it
        option.rich_help_panel = RUN
    return option


class _Command(TyperCommand):
    """A command whose help reads like a native tool's: `SET CORPUS...` in the usage line, no type column
    beside arguments (their names say what they are), no value shown for -h."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if getattr(param, "param_type_name", "") == "argument":
                param.display_type_rich = lambda ctx: None  # type: ignore[attr-defined]  # typer 0.29 on
                if hasattr(param, "type"):  # before typer 0.29; types are shared: hide this argument's alone
                    param.type = copy.copy(param.type)
                    param.type.get_metavar = lambda param, ctx: ""  # type: ignore[method-assign]

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if getattr(param, "param_type_name", "") == "argument":
                pieces.append(param.metavar or (param.name or "").upper())
        return pieces

    def get_help_option(self, ctx: Any) -> Any:
        return _quiet_help_option(super().get_help_option(ctx))


app = typer.Typer(
    name="auditor",
    cls=_Auditor,
    help=(
        "Tell, with evidence, whether a platform's posts ended up in an AI training corpus.\n\n"
        "1. `auditor fingerprint posts.jsonl -o twitter.fp.parquet` turns posts into a fingerprint set, keyed "
        "with a new key beside it (twitter.key).\n\n"
        "2. `auditor audit twitter.fp.parquet corpus/` finds those posts in a Parquet corpus, as rows or quoted "
        "inside documents, and reports every match with its scores.\n\n"
        "3. `auditor check corpus/ --baseline accepted.json` gates a dataset release in CI.\n\n"
        "Try `auditor demo` first. Exit codes: 0 the job ran (check: passed), 1 check failed, 2 usage or input error."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_show_locals=False,  # locals may hold post texts
)


# ---------------------------------------------------------------------------------------------------------
# Output streams: a closed pipe ends the output quietly; a log gets long lines instead of wrapped ones.


class _PipeSafe(io.TextIOBase):
    """Standard output or error, looked up at each write (tests swap them), where a reader that went away
    (`auditor audit ... | head -1`) silences the rest of the output instead of raising: the command still
    finishes its work and exits with its own code."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._closed_pipe = False

    @property
    def _stream(self) -> TextIO:
        stream: TextIO = getattr(sys, self._name)
        return stream

    def write(self, text: str) -> int:
        if not self._closed_pipe:
            try:
                self._stream.write(text)
            except BrokenPipeError:
                self._pipe_closed()
        return len(text)

    def flush(self) -> None:
        if not self._closed_pipe:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._pipe_closed()

    def _pipe_closed(self) -> None:
        self._closed_pipe = True
        # Python flushes the stream at exit too: point the descriptor at /dev/null so that flush is quiet.
        with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)

    def isatty(self) -> bool:
        try:
            return self._stream.isatty()
        except (AttributeError, ValueError):
            return False

    def fileno(self) -> int:
        return self._stream.fileno()


_OUT = _PipeSafe("stdout")
_ERR = _PipeSafe("stderr")


def _console(stream: _PipeSafe) -> Console:
    from rich.console import Console  # imported when something is printed: a quiet run never loads rich

    if stream.isatty() or "COLUMNS" in os.environ:
        return Console(file=cast(IO[str], stream))
    return Console(file=cast(IO[str], stream), width=LOG_WIDTH)


def _stdout() -> Console:
    return _console(_OUT)


def _stderr() -> Console:
    return _console(_ERR)


def _error_line(message: object) -> None:
    # Messages echo paths and ids: printed as plain text, never parsed as markup or passed raw.
    from rich.text import Text

    _stderr().print(Text.assemble(("error:", "bold red"), " ", printable(message)), highlight=False, soft_wrap=True)


def _print_text(text: str) -> None:
    """A report on standard output, as written (no markup, no wrapping)."""
    _OUT.write(text if text.endswith("\n") else text + "\n")
    _OUT.flush()


P = ParamSpec("P")
R = TypeVar("R")


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn library errors into one sentence on stderr and exit code 2: never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from auditor.stopping import Stopped

        try:
            return command(*args, **kwargs)
        except AuditorError as error:
            _error_line(error)
            raise typer.Exit(EXIT_ERROR) from None
        except (KeyboardInterrupt, Stopped) as stop:
            signum = stop.signum if isinstance(stop, Stopped) else signal.SIGINT
            _stderr().print(f"[yellow]stopped by {signal.Signals(signum).name}[/]: {RESUME_HINT}")
            raise typer.Exit(128 + signum) from None

    return wrapper


@contextlib.contextmanager
def _showing_progress(quiet: bool, verbose: bool = False) -> Iterator[QuietProgress | LogProgress | BarProgress]:
    """The library's Progress for this run: bars on a terminal, plain lines in a log, nothing with -q."""
    shown: QuietProgress | LogProgress | BarProgress
    if quiet:
        shown = QuietProgress()
    elif _ERR.isatty():
        shown = BarProgress(_stderr(), verbose)
    else:
        shown = LogProgress(lambda: _ERR, verbose)
    try:
        yield shown
    except BaseException:
        shown.close(finished=False)
        raise
    shown.close()


def _check_quiet_verbose(quiet: bool, verbose: bool) -> None:
    if quiet and verbose:
        raise UsageError("give -q (quiet) or -v (verbose), not both.")


# ---------------------------------------------------------------------------------------------------------
# Options shared by several commands

KeyFileOption = Annotated[
    Path | None,
    typer.Option(
        "--key-file",
        metavar="FILE",
        help="Secret key of the base hash (16+ bytes). Only the key's id is recorded in the set; audits need "
        "the same key.",
        show_default="the key beside the set: twitter.key for twitter.fp.parquet",
        rich_help_panel=PRIVACY,
    ),
]
QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", metavar="", help="No progress and no summary.", rich_help_panel=RUN)
]
VerboseOption = Annotated[
    bool,
    typer.Option(
        "--verbose", "-v", metavar="", help="Say more: each stage's time, the settings used.", rich_help_panel=RUN
    ),
]
TextColumnOption = Annotated[
    str, typer.Option(metavar="NAME", help="Corpus column holding the text.", rich_help_panel=INPUTS)
]
IdColumnOption = Annotated[
    str | None,
    typer.Option(
        metavar="NAME",
        help="Corpus column holding row ids, copied into the evidence and naming rows in baselines.",
        show_default="id when present, unless of lists or structs",
        rich_help_panel=INPUTS,
    ),
]
THRESHOLD_HELP = (
    "Caps the floor of a post's specific slot hashes (not common in the set) a corpus row must hold (25% to "
    "50% by the post's length, or this share if lower: the default is above every floor); a match is then "
    "decided by the post's characters one stretch of the row covers (more than half), so its containment may "
    "be lower than this. Lower it to find copies with more of the post changed, with more chance matches."
)
ThresholdOption = Annotated[
    float,
    typer.Option(
        metavar="SHARE",
        help=THRESHOLD_HELP,
        rich_help_panel=MATCHING,
    ),
]
WorkersOption = Annotated[
    int,
    typer.Option(
        metavar="N",
        help="Processes scanning parts of the corpus (whole row groups, about 64 MB of text each); the report is "
        "the same for any number. 0 is the default: the cores available.",
        show_default="the cores available",
        min=0,
        rich_help_panel=PERFORMANCE,
    ),
]


def _workers(workers: int) -> int:
    if workers:
        return workers
    from auditor.engine.processes import available_cores

    return available_cores()


# ---------------------------------------------------------------------------------------------------------
# fingerprint


IndexDirOption = Annotated[
    Path | None,
    typer.Option(
        metavar="DIR",
        help="Where stored indexes of fingerprint sets are kept and looked for. A missing index is built there on "
        "first use.",
        show_default="twitter.index/ beside twitter.fp.parquet",
        rich_help_panel=PERFORMANCE,
    ),
]


class EngineName(str, Enum):
    local = "local"
    spark = "spark"


EngineOption = Annotated[
    EngineName,
    typer.Option(
        help="Where the corpus is scanned: `local`, this machine's processes (--workers); `spark`, a Spark "
        'cluster\'s executors (needs pip install "provenance-auditor[spark]"; see the README). The report is '
        "the same.",
        rich_help_panel=PERFORMANCE,
    ),
]
SparkMasterOption = Annotated[
    str | None,
    typer.Option(
        metavar="URL",
        help="With --engine spark: the Spark master URL.",
        show_default="the running spark-submit session, else $SPARK_MASTER, else local[*]",
        rich_help_panel=PERFORMANCE,
    ),
]


def fingerprint_posts(
    posts: list[Path],
    output: Path,
    *,
    id_field: str = "id",
    text_field: str = "text",
    params: FingerprintParams,
    key: bytes = b"",
    min_shingles: int = DEFAULT_MIN_SHINGLES,
    keep_text: bool = False,
    skip_bad_lines: bool = False,
    input_format: str = "auto",
    include_private: bool = False,
    quiet: bool = False,
    verbose: bool = False,
) -> FingerprintSetInfo:
    from auditor.build import build_fingerprint_set
    from auditor.fingerprint import Fingerprinter
    from auditor.sources.posts import PostSource

    if sum(str(p) == "-" for p in posts) > 1:
        raise UsageError("standard input (-) can be given once; name the other inputs by path.")
    sources = [
        PostSource(p, id_field, text_field, skip_bad_lines, input_format=input_format, include_private=include_private)
        for p in posts
    ]
    fingerprinter = Fingerprinter(params, key, min_shingles, keep_text)
    with _showing_progress(quiet, verbose) as progress:
        progress.stage("fingerprinting", unit="posts")
        return build_fingerprint_set(sources, output, fingerprinter, progress.advance)


@app.command(cls=_Command)
@reports_errors
def fingerprint(
    posts: Annotated[
        list[Path],
        typer.Argument(
            metavar="POSTS...",
            help="Posts: JSON lines (also .gz, .zst, .bz2, .xz), a JSON array, CSV, Parquet, or a platform's "
            "export (an X archive .zip or folder, Twitter API / twarc2 JSON, a Reddit .zst dump, a StackExchange "
            "Posts.xml or .7z, a Mastodon archive or outbox.json, a Bluesky .car); `-` reads standard input.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="PATH",
            help="Where to write the set.",
            show_default=f"fingerprints/NAME{SET_SUFFIX}, NAME from the first input",
            rich_help_panel=OUTPUTS,
        ),
    ] = None,
    input_format: Annotated[
        InputFormat,
        typer.Option(
            metavar="FORMAT",
            help="The inputs' format: auto (told from each input's content), jsonl, json, csv, parquet, x-archive, "
            "twitter-api, pushshift, stackexchange, mastodon, bluesky.",
            rich_help_panel=INPUTS,
        ),
    ] = InputFormat.auto,
    id_field: Annotated[
        str,
        typer.Option(
            metavar="NAME",
            help="Field or column holding the post id (generic formats; `a.b` reaches inside objects).",
            rich_help_panel=INPUTS,
        ),
    ] = "id",
    text_field: Annotated[
        str,
        typer.Option(
            metavar="NAME",
            help="Field or column holding the post text (generic formats; `tweet.full_text` reaches inside).",
            rich_help_panel=INPUTS,
        ),
    ] = "text",
    include_private: Annotated[
        bool,
        typer.Option(
            "--include-private",
            metavar="",
            help="Keep posts that were not public (Mastodon followers-only and direct); counted either way.",
            rich_help_panel=INPUTS,
        ),
    ] = False,
    skip_bad_lines: Annotated[
        bool,
        typer.Option(
            "--skip-bad-lines",
            metavar="",
            help="Count and skip unreadable lines instead of stopping at the first.",
            rich_help_panel=INPUTS,
        ),
    ] = False,
    keep_text: Annotated[
        bool,
        typer.Option(
            "--keep-text",
            metavar="",
            help="Store post texts too, for exact verification (the set is then as private as the posts).",
            rich_help_panel=OUTPUTS,
        ),
    ] = False,
    min_shingles: Annotated[
        int,
        typer.Option(
            metavar="N",
            help="Posts with fewer distinct shingles after normalization are too short to attribute.",
            rich_help_panel=MATCHING,
        ),
    ] = DEFAULT_MIN_SHINGLES,
    num_perm: Annotated[
        int,
        typer.Option(metavar="N", help="MinHash slots per post (datasketch num_perm).", rich_help_panel=MATCHING),
    ] = DEFAULT_NUM_PERM,
    seed: Annotated[
        int,
        typer.Option(metavar="N", help="MinHash permutation seed (datasketch seed).", rich_help_panel=MATCHING),
    ] = DEFAULT_SEED,
    shingle_size: Annotated[
        int,
        typer.Option(metavar="N", help="Characters per shingle of normalized text.", rich_help_panel=MATCHING),
    ] = DEFAULT_SHINGLE_SIZE,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file",
            metavar="FILE",
            help="Secret key of the base hash (16+ bytes). Only the key's id is recorded in the set; audits need "
            "the same key.",
            show_default="the key beside the set, made when absent: twitter.key for twitter.fp.parquet",
            rich_help_panel=PRIVACY,
        ),
    ] = None,
    public: Annotated[
        bool,
        typer.Option(
            "--public",
            metavar="",
            help="Build an unkeyed set on purpose: anyone holding it can test guessed text against it and "
            "recover posts from a known start.",
            rich_help_panel=PRIVACY,
        ),
    ] = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Turn a platform's posts into a fingerprint set: keyed MinHash signatures, without the texts.

    Texts are normalized (Unicode NFKC, case, accents, punctuation, links, @mentions and `RT @user:`
    prefixes removed), cut into character shingles and MinHashed bit-identically to datasketch's
    default scheme. The base hash is keyed: a random key is made beside the set (twitter.key for
    twitter.fp.parquet, readable by you only) unless --key-file or --public is given. Every parameter
    is recorded in the set; audits refuse sets they cannot reproduce.
    """
    from auditor.keys import key_beside, key_for_new_set, new_key_id
    from auditor.outputs import check_outputs, missing_folders
    from auditor.params import FingerprintParams

    _check_quiet_verbose(quiet, verbose)
    if output is None:
        stem = "stdin" if str(posts[0]) == STDOUT else posts[0].name.split(".")[0] or "posts"
        output = DEFAULT_FINGERPRINT_DIR / (stem + SET_SUFFIX)
    if str(output) == STDOUT:
        raise UsageError("a fingerprint set is a Parquet file: give --output a file path, not -.")
    read = [p for p in posts if str(p) != STDOUT] + ([key_file] if key_file is not None else [])
    check_outputs([(output, "fingerprint set")], read)  # before any key is made or a post read
    new_folders = missing_folders(output)
    key, key_path, key_made = key_for_new_set(output, key_file, public)
    try:
        params = FingerprintParams(num_perm=num_perm, seed=seed, shingle_size=shingle_size, key_id=new_key_id(key))
        info = fingerprint_posts(
            posts,
            output,
            id_field=id_field,
            text_field=text_field,
            params=params,
            key=key,
            min_shingles=min_shingles,
            keep_text=keep_text,
            skip_bad_lines=skip_bad_lines,
            input_format=input_format.value,
            include_private=include_private,
            quiet=quiet,
            verbose=verbose,
        )
    except BaseException:
        if key_made and key_path is not None:  # no set, so no key made for it either
            key_path.unlink(missing_ok=True)
        for folder in new_folders:  # nor the folders made for them (deepest first; one holding anything stays)
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
    if quiet:
        return
    stdout = _stdout()
    stdout.print(fingerprint_summary(output, info), highlight=False, soft_wrap=True)
    if key_path is None:
        privacy = (
            "Public set (no key): anyone holding it can test whether a guessed text is among its posts and "
            "recover posts from a known start; build without --public to key it."
        )
        if public and key_beside(output).exists():  # left by an earlier keyed build of this path
            privacy += f" {key_beside(output)} beside it is not this set's key (the set has none)."
    else:
        made = "made" if key_made else "reused"
        privacy = (
            f"Keyed with {key_path} ({made}): keep the key apart from the set. The set alone lets no one "
            "test text; whoever holds both can test guessed text, as audits do."
        )
    if keep_text:
        privacy += " The set stores the post texts (--keep-text): keep it private."
    stdout.print(printable(privacy), highlight=False, soft_wrap=True, markup=False)


def fingerprint_summary(output: Path, info: FingerprintSetInfo) -> Text:
    """What `auditor fingerprint` says it did: posts kept and left out, each input's format, undated posts."""
    from rich.text import Text

    from auditor.formats.wording import describe_reasons
    from auditor.plural import counted, for_count

    # Records read, not posts: what the inputs left out before a record became a post (a missing id, a
    # repost, a bad line) is among the reasons listed, so the posts fingerprinted and those left out add up
    # to it. A set from before records were kept per input says posts.
    records = sum(source.records for source in info.sources) if info.sources else None
    read = f"{counted(records, 'record')} read" if records is not None else f"{info.counts['posts_read']:,} read"
    lines = [
        printable(
            f": {counted(info.counts['posts_fingerprinted'], 'post')} fingerprinted of {read}; "
            f"not fingerprinted: {describe_reasons(info.skipped)}."
        )
    ]
    for source in info.sources:
        left_out = f"; left out: {describe_reasons(source.left_out)}" if source.left_out else ""
        if source.kept:
            left_out += f"; kept on request: {describe_reasons(source.kept)}"
        lines.append(
            printable(
                f"  {source.name} ({source.format}): {counted(source.records, 'record')}, "
                f"{counted(source.posts, 'post')}{left_out}"
            )
        )
    undated = info.counts.get("posts_undated", 0)
    if undated:
        lines.append(
            f"{counted(undated, 'post')} in the set {for_count(undated, 'is', 'are')} undated "
            f"({describe_reasons(info.undated)}): the --cutoff control leaves {for_count(undated, 'it', 'them')} out."
        )
    if not info.counts["posts_fingerprinted"]:  # an audit of the set would stop at once: say so now
        lines.append(
            "No post of the set can be tested: an audit of it stops (exit code 2). Check that these are the "
            "posts meant, and --text-field and --id-field."
        )
    return Text.assemble("Wrote ", (printable(output), "bold"), "\n".join(lines))


# ---------------------------------------------------------------------------------------------------------
# audit


def _to_stdout(paths: Sequence[tuple[Path | None, str]]) -> str | None:
    """Which one of the text outputs goes to standard output (`-`), if any; two of them cannot."""
    chosen = [what for path, what in paths if path is not None and str(path) == STDOUT]
    if len(chosen) > 1:
        raise UsageError(f"only one output can go to standard output (-), got {' and '.join(chosen)}.")
    return chosen[0] if chosen else None


def _file(path: Path | None) -> Path | None:
    return None if path is None or str(path) == STDOUT else path


@app.command(cls=_Command)
@reports_errors
def audit(
    fingerprints: Annotated[
        Path,
        typer.Argument(metavar="SET", help="A fingerprint set made by `auditor fingerprint`.", show_default=False),
    ],
    corpus: Annotated[
        list[str],
        typer.Argument(
            metavar="CORPUS...",
            help="Parquet corpus: files, directories of shards (hive partitions too) or globs; local, or URLs "
            "s3://BUCKET/PREFIX/, gs://..., hf://datasets/ORG/NAME/..., https://... (see the README).",
            show_default=False,
        ),
    ],
    text_column: TextColumnOption = "text",
    id_column: IdColumnOption = None,
    url_column: Annotated[
        str | None,
        typer.Option(
            metavar="NAME",
            help="Corpus column holding each row's source URL, for matches by domain.",
            show_default="url when present, unless of lists or structs",
            rich_help_panel=INPUTS,
        ),
    ] = None,
    key_file: KeyFileOption = None,
    evidence: Annotated[
        Path | None,
        typer.Option(
            metavar="PATH",
            help="Evidence Parquet, one row per match.",
            show_default="reports/SET.evidence.parquet, SET the set's name without .fp.parquet",
            rich_help_panel=OUTPUTS,
        ),
    ] = None,
    json_report: Annotated[
        Path | None,
        typer.Option(
            "--json",
            metavar="PATH",
            help="JSON report; - prints it.",
            show_default="reports/SET.report.json",
            rich_help_panel=OUTPUTS,
        ),
    ] = None,
    markdown: Annotated[
        Path | None,
        typer.Option(
            metavar="PATH",
            help="Also write a Markdown report (fits a pull-request comment); - prints it.",
            show_default=False,
            rich_help_panel=OUTPUTS,
        ),
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option(
            metavar="PATH",
            help="Also write a self-contained HTML report with charts and searchable evidence; - prints it.",
            show_default=False,
            rich_help_panel=OUTPUTS,
        ),
    ] = None,
    hash_corpus: Annotated[
        bool,
        typer.Option(
            "--hash-corpus/--no-hash-corpus",
            metavar="",
            help="Record each corpus file's SHA-256 in the report, so a rerun can be checked against the same data. "
            "A remote file (s3://, gs://, hf://, https://) is then read whole once more, beyond the columns the "
            "scan reads: on a large remote corpus, --no-hash-corpus saves that transfer (the report still "
            "records each object's size, ETag and last-modified time).",
            show_default="--hash-corpus",
            rich_help_panel=OUTPUTS,
        ),
    ] = True,
    threshold: ThresholdOption = DEFAULT_THRESHOLD,
    sample_posts: Annotated[
        float | None,
        typer.Option(
            metavar="N",
            help="Audit a seeded random sample of posts: a number, or a fraction below 1. The share of posts found "
            "is estimated with its interval; rows and text carrying posts are then lower bounds.",
            show_default=False,
            rich_help_panel=SAMPLING,
        ),
    ] = None,
    sample_rows: Annotated[
        float | None,
        typer.Option(
            metavar="SHARE",
            help="Scan a seeded random fraction of corpus rows (the others are counted as not sampled). The shares "
            "of rows and of text are estimated with their intervals; posts found are a lower bound.",
            show_default=False,
            rich_help_panel=SAMPLING,
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option(metavar="N", help="Seed of --sample-posts and --sample-rows.", rich_help_panel=SAMPLING)
    ] = 0,
    cutoff: Annotated[
        str | None,
        typer.Option(
            metavar="DATE",
            help="The date the corpus was collected (YYYY-MM-DD). Posts published later cannot be in it: their "
            "match rate is the chance baseline, compared with the rate of earlier posts (Fisher's exact test).",
            show_default=False,
            rich_help_panel=CONTROL,
        ),
    ] = None,
    control: Annotated[
        Path | None,
        typer.Option(
            metavar="SET",
            help="A fingerprint set of posts that cannot be in the corpus (say, written after it was collected): "
            "audited too, its rate is the chance baseline the set's rate is compared with.",
            show_default=False,
            rich_help_panel=CONTROL,
        ),
    ] = None,
    workers: WorkersOption = 0,
    engine: EngineOption = EngineName.local,
    spark_master: SparkMasterOption = None,
    index_dir: IndexDirOption = None,
    max_row_chars: Annotated[
        int,
        typer.Option(
            metavar="N",
            help="Rows longer than this many characters are skipped and counted as too_large (scanning takes "
            "some 30 bytes of memory a character).",
            rich_help_panel=PERFORMANCE,
        ),
    ] = DEFAULT_MAX_ROW_CHARS,
    restart: Annotated[
        bool,
        typer.Option(
            "--restart",
            metavar="",
            help="Start afresh instead of resuming from the parts an interrupted run finished.",
            rich_help_panel=RUN,
        ),
    ] = False,
    keep_checkpoints: Annotated[
        bool,
        typer.Option(
            "--keep-checkpoints",
            metavar="",
            help="Keep the finished parts (beside the evidence, in .EVIDENCE.checkpoints/) after the audit.",
            rich_help_panel=RUN,
        ),
    ] = False,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Find a fingerprint set's posts in a Parquet corpus: as whole rows or inside longer documents.

    Streams the corpus in record batches of only the needed columns, so memory stays bounded. Every
    match is verified on all MinHash slots (and on exact shingles when the set keeps texts) and written
    to the evidence file; the JSON report has the counts, rates with 95% intervals and a per-file
    breakdown.

    Each finished part of the corpus is kept beside the evidence output until the audit ends: rerun the
    same command after a crash or a kill and it resumes where it stopped, with the same results.
    """
    from auditor.audit import AuditOutputs, AuditRequest, CorpusSpec, run_audit

    _check_quiet_verbose(quiet, verbose)
    if evidence is not None and str(evidence) == STDOUT:
        raise UsageError("the evidence is a Parquet file: give --evidence a file path, not -.")
    printed = _to_stdout([(json_report, "--json"), (markdown, "--markdown"), (html, "--html")])
    defaults = AuditOutputs.defaults_for(fingerprints)
    request = AuditRequest(
        fingerprints=fingerprints,
        corpus=CorpusSpec(tuple(corpus), text_column, id_column, url_column),
        outputs=AuditOutputs(
            evidence or defaults.evidence,
            defaults.json if json_report is None else _file(json_report),
            _file(markdown),
            _file(html),
        ),
        key_file=key_file,
        threshold=threshold,
        cutoff=cutoff,
        control=control,
        sample_posts=sample_posts,
        sample_rows=sample_rows,
        seed=seed,
        hash_corpus=hash_corpus,
        workers=_workers(workers),
        max_row_chars=max_row_chars,
        restart=restart,
        keep_checkpoints=keep_checkpoints,
        engine=engine.value,
        spark_master=spark_master,
        index_dir=index_dir,
    )
    with _showing_progress(quiet, verbose) as progress:
        result = run_audit(request, progress)
    if printed is not None:
        from auditor.formats import render_report

        _print_text(render_report(result, printed.removeprefix("--")))
    _print_summary(result, request.outputs, quiet, to_stderr=printed is not None)


def _print_summary(result: AuditResult, outputs: AuditOutputs, quiet: bool, to_stderr: bool = False) -> None:
    """The terminal summary and the files written; on stderr when stdout carries a report."""
    if quiet:
        return
    from auditor.formats.terminal import render_terminal

    console = _stderr() if to_stderr else _stdout()
    console.print(render_terminal(result))
    written = [f"{what[0].upper() + what[1:] + ':':<17}{printable(path)}" for path, what in outputs.paths()]
    console.print("\n" + "\n".join(written), highlight=False, soft_wrap=True, markup=False)


def _write_text(path: Path, text: str, what: str, append: bool = False) -> None:
    if not append:
        from auditor.outputs import write_text_atomically

        write_text_atomically(path, text, what)
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as stream:
            stream.write(text)
    except OSError as error:
        raise InputError(f"{path}: cannot write {what} ({error.strerror}); {cannot_write_fix(error.errno)}.") from None


# ---------------------------------------------------------------------------------------------------------
# check


class CheckFormat(str, Enum):
    """What `auditor check` prints."""

    terminal = "terminal"
    markdown = "markdown"
    md = "md"  # short for markdown
    json = "json"
    sarif = "sarif"


@app.command(cls=_Command)
@reports_errors
def check(
    corpus: Annotated[
        list[str],
        typer.Argument(
            metavar="CORPUS...",
            help="Parquet corpus of the release: files, directories of shards or globs, local or s3://, gs://, "
            "hf://, https:// URLs.",
            show_default=False,
        ),
    ],
    fingerprints: Annotated[
        list[Path] | None,
        typer.Option(
            "--fingerprints",
            metavar="SET-OR-DIR",
            help="Fingerprint sets, or directories of them; repeat for several.",
            show_default="fingerprints in [tool.auditor], else every set in fingerprints/",
            rich_help_panel=INPUTS,
        ),
    ] = None,
    text_column: Annotated[
        str | None,
        typer.Option(
            metavar="NAME", help="Corpus column holding the text.", show_default="text", rich_help_panel=INPUTS
        ),
    ] = None,
    id_column: IdColumnOption = None,
    key_file: KeyFileOption = None,
    max_post_rate: Annotated[
        float | None,
        typer.Option(
            metavar="SHARE",
            help="Fail when a larger share of a set's posts is found.",
            show_default=False,
            rich_help_panel=LIMITS,
        ),
    ] = None,
    max_row_rate: Annotated[
        float | None,
        typer.Option(
            metavar="SHARE",
            help="Fail when a larger share of corpus rows carries posts.",
            show_default=False,
            rich_help_panel=LIMITS,
        ),
    ] = None,
    max_matches: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            help="Fail when there are more new matches. With no limit given, any new match fails.",
            show_default=False,
            rich_help_panel=LIMITS,
        ),
    ] = None,
    baseline: Annotated[
        Path | None,
        typer.Option(
            metavar="FILE",
            help="Accepted matches (JSON): they are counted but never fail the check.",
            show_default=False,
            rich_help_panel=LIMITS,
        ),
    ] = None,
    update_baseline: Annotated[
        bool,
        typer.Option(
            "--update-baseline",
            metavar="",
            help="Write every current match into --baseline and pass.",
            rich_help_panel=LIMITS,
        ),
    ] = False,
    exit_zero: Annotated[
        bool,
        typer.Option(
            "--exit-zero",
            metavar="",
            help="Exit 0 even when a limit is exceeded (report only); errors still exit 2.",
            rich_help_panel=LIMITS,
        ),
    ] = False,
    output_format: Annotated[
        CheckFormat,
        typer.Option("--format", help="What to print.", rich_help_panel=OUTPUTS),
    ] = CheckFormat.terminal,
    junit: Annotated[
        Path | None,
        typer.Option(
            metavar="PATH", help="Also write JUnit XML here; - prints it.", show_default=False, rich_help_panel=OUTPUTS
        ),
    ] = None,
    sarif: Annotated[
        Path | None,
        typer.Option(
            metavar="PATH",
            help="Also write SARIF 2.1.0 here, for code-scanning dashboards; - prints it.",
            show_default=False,
            rich_help_panel=OUTPUTS,
        ),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            metavar="SHARE",
            help=THRESHOLD_HELP,
            show_default=str(DEFAULT_THRESHOLD),
            rich_help_panel=MATCHING,
        ),
    ] = None,
    workers: WorkersOption = 0,
    engine: EngineOption = EngineName.local,
    spark_master: SparkMasterOption = None,
    index_dir: IndexDirOption = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Gate a dataset release in CI: audit the corpus against fingerprint sets and fail on findings.

    Exit codes: 0 the release passes; 1 a limit is exceeded (findings); 2 usage, input or parameter-mismatch
    error. Matches in --baseline are accepted: counted in the summary, never failing. Settings may also come
    from `[tool.auditor]` in the nearest pyproject.toml (fingerprints, limits, baseline, columns, threshold,
    key-file); options given here win. Under GitHub Actions the Markdown summary is appended to
    $GITHUB_STEP_SUMMARY and each violation becomes an error annotation.
    """
    from auditor.audit import CheckRequest, CorpusSpec, find_fingerprint_sets, run_check
    from auditor.config import load_check_settings
    from auditor.gate import Limits
    from auditor.plural import counted

    _check_quiet_verbose(quiet, verbose)
    printed = _to_stdout([(junit, "--junit"), (sarif, "--sarif")])
    if printed is not None and output_format is not CheckFormat.terminal:
        raise UsageError(f"{printed} - and --format {output_format.value} would both print; give one of them.")
    settings = load_check_settings(Path.cwd())
    if verbose and settings.source is not None:
        _stderr().print(
            printable(f"settings from {settings.source} [tool.auditor]: {settings.describe()}"),
            highlight=False,
            soft_wrap=True,
            markup=False,
        )
    given_limits = (max_post_rate, max_row_rate, max_matches)
    limits = (
        Limits(max_post_rate, max_row_rate, max_matches)
        if any(value is not None for value in given_limits)
        else Limits(settings.max_post_rate, settings.max_row_rate, settings.max_matches)
    )
    baseline = baseline if baseline is not None else settings.baseline
    sets = list(fingerprints or settings.fingerprints)
    request = CheckRequest(
        sets=find_fingerprint_sets(sets, DEFAULT_FINGERPRINT_DIR),
        corpus=CorpusSpec(
            tuple(corpus), text_column or settings.text_column or "text", id_column or settings.id_column
        ),
        limits=limits,
        baseline=baseline,
        update_baseline=update_baseline,
        key_file=key_file or settings.key_file,
        threshold=threshold if threshold is not None else settings.threshold or DEFAULT_THRESHOLD,
        workers=_workers(workers),
        engine=engine.value,
        spark_master=spark_master,
        index_dir=index_dir,
        reports=tuple(
            (path, what) for path, what in ((junit, "JUnit report"), (sarif, "SARIF report")) if path is not None
        ),  # - (standard output) included: with --update-baseline, any report is refused
        protected=(settings.source,) if settings.source is not None else (),
    )
    with _showing_progress(quiet, verbose) as progress:
        outcome = run_check(request, progress)
    if update_baseline:
        written = len(outcome.baseline_of_all().accepted)
        matches = counted(written, "accepted match", "accepted matches")
        if outcome.baseline_kept:
            matches += f", {len(outcome.baseline_kept):,} of them kept of sets this check did not judge"
        _stdout().print(f"Wrote {printable(baseline)}: {matches}.", soft_wrap=True, markup=False)
        raise typer.Exit(EXIT_OK)
    _report_check(outcome, output_format, junit, sarif, printed, quiet)
    raise typer.Exit(EXIT_OK if outcome.passed or exit_zero else EXIT_FINDINGS)


def _report_check(
    outcome: GateOutcome,
    output_format: CheckFormat,
    junit: Path | None,
    sarif: Path | None,
    printed: str | None,
    quiet: bool,
) -> None:
    from auditor.formats.github import render_annotations
    from auditor.formats.json_report import dumps_indented, gate_dict
    from auditor.formats.junit import render_junit
    from auditor.formats.markdown import render_gate_markdown
    from auditor.formats.sarif import render_sarif

    markdown = render_gate_markdown(outcome)
    if output_format is CheckFormat.json:
        _print_text(dumps_indented(gate_dict(outcome, arrow_strings=True)))
    elif output_format is CheckFormat.sarif:
        _print_text(render_sarif(outcome))
    elif output_format in (CheckFormat.markdown, CheckFormat.md):
        _print_text(markdown)
    elif not quiet:
        from auditor.formats.terminal import render_gate_terminal

        (_stderr() if printed else _stdout()).print(render_gate_terminal(outcome))
    for path, option, render, what in (
        (junit, "--junit", render_junit, "the JUnit report"),
        (sarif, "--sarif", render_sarif, "the SARIF report"),
    ):
        if path is None:
            continue
        if printed == option:
            _print_text(render(outcome))
        else:
            _write_text(path, render(outcome), what)
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        _write_text(Path(os.environ["GITHUB_STEP_SUMMARY"]), markdown + "\n", "the step summary", append=True)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        annotations = render_annotations(outcome)
        if annotations:
            _OUT.write(annotations)
            _OUT.flush()


# ---------------------------------------------------------------------------------------------------------
# demo, report, inspect


@app.command(cls=_Command)
@reports_errors
def demo(
    output_dir: Annotated[
        Path,
        typer.Option(
            metavar="DIR", help="Where the demo writes its fingerprint set and reports.", rich_help_panel=OUTPUTS
        ),
    ] = Path("."),
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Run the whole flow on the embedded demo: fingerprint 300 posts, audit a 3-file corpus (hive partitions), report.

    Needs no argument and no network. The demo corpus was collected on 2025-06-30, so posts published
    later serve as the negative control. Writes fingerprints/demo.fp.parquet and reports/demo.* under
    --output-dir (the current directory by default).
    """
    from auditor.audit import AuditOutputs, AuditRequest, CorpusSpec, run_audit
    from auditor.demo import DEMO_CUTOFF, demo_corpus, demo_posts
    from auditor.params import FingerprintParams

    _check_quiet_verbose(quiet, verbose)
    if output_dir.exists() and not output_dir.is_dir():
        raise UsageError(f"{output_dir}: --output-dir is a file, not a folder; give a folder (made when missing).")
    output = output_dir / DEFAULT_FINGERPRINT_DIR / f"demo{SET_SUFFIX}"
    fingerprint_posts(
        [_shortest(demo_posts())], output, params=FingerprintParams(), keep_text=True, quiet=quiet, verbose=verbose
    )
    reports = output_dir / DEFAULT_REPORT_DIR
    request = AuditRequest(
        fingerprints=output,
        corpus=CorpusSpec((str(_shortest(demo_corpus())),)),
        outputs=AuditOutputs(reports / "demo.evidence.parquet", reports / "demo.report.json"),
        cutoff=DEMO_CUTOFF,
    )
    with _showing_progress(quiet, verbose) as progress:
        result = run_audit(request, progress)
    _print_summary(result, request.outputs, quiet)


class ReportFormat(str, Enum):
    """What `auditor report` renders."""

    terminal = "terminal"
    markdown = "markdown"
    md = "md"  # short for markdown
    json = "json"
    html = "html"


# Kept under its former name: the formats `auditor report` renders.
OutputFormat = ReportFormat


@app.command(cls=_Command)
@reports_errors
def report(
    finished: Annotated[
        Path,
        typer.Argument(
            metavar="EVIDENCE-OR-JSON",
            help="An evidence Parquet file or a JSON report written by `auditor audit`.",
            show_default=False,
        ),
    ],
    output_format: Annotated[ReportFormat, typer.Option("--format", help="The format to render.")] = (
        ReportFormat.terminal
    ),
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", metavar="PATH", help="Write here instead of printing; - prints.", show_default=False
        ),
    ] = None,
) -> None:
    """Re-render a finished audit without rescanning the corpus.

    The evidence file carries the whole report in its manifest, so it alone is enough; a JSON report
    works too (it holds no evidence: the HTML and terminal renderings then say so). Formats: terminal (the
    summary `auditor audit` prints), markdown, json, html.
    """
    from auditor.formats import render_report
    from auditor.report_loader import load_finished_audit

    result = load_finished_audit(finished)
    if output is not None and str(output) != STDOUT:
        from auditor.outputs import check_outputs

        check_outputs([(output, "report")], [finished])
    try:
        if output_format is ReportFormat.terminal and output is None:
            from auditor.formats.terminal import render_terminal

            _stdout().print(render_terminal(result))
            return
        text = render_report(result, output_format.value)
    except (TypeError, AttributeError, ValueError, KeyError, IndexError, OverflowError) as error:
        # The loader checks the report's shape; a value of the wrong type deep inside shows only here.
        raise InputError(
            f"{finished}: the report holds a value of the wrong type ({printable(error)}); rerun the audit to "
            "rewrite it."
        ) from None
    if output is None or str(output) == STDOUT:
        _print_text(text)
    else:
        _write_text(output, text, "the report")


@app.command(cls=_Command)
@reports_errors
def index(
    fingerprints: Annotated[
        Path,
        typer.Argument(metavar="SET", help="A fingerprint set made by `auditor fingerprint`.", show_default=False),
    ],
    threshold: ThresholdOption = DEFAULT_THRESHOLD,
    index_dir: IndexDirOption = None,
    key_file: KeyFileOption = None,
    quiet: QuietOption = False,
) -> None:
    """Build a fingerprint set's containment index ahead of time, so audits open it in seconds.

    Audits build and store the index on first use; this does it beforehand (say, for a CI cache). The index
    is kept beside the set (twitter.index/ for twitter.fp.parquet) or under --index-dir, named by the
    set's SHA-256, the threshold and the index format version, and memory-mapped by every audit process.
    An index already there and usable is kept; a damaged or mismatched one is rebuilt. Only a set that
    keeps texts needs its key.
    """
    from auditor.indexing import index_set
    from auditor.plural import counted

    started = time.perf_counter()
    with _showing_progress(quiet) as progress:
        stored = index_set(fingerprints, key_file, threshold, progress, index_dir)
    if quiet:
        return
    size = sum(path.stat().st_size for path in stored.directory.iterdir())
    posts = len(stored.fingerprints.slot_hashes)
    per_post = f" ({size / posts:,.0f} bytes a post)" if posts else ""
    _stdout().print(
        printable(
            f"Index of {fingerprints} for threshold {threshold}: {stored.directory} ({counted(posts, 'post')}, "
            f"{size / 2**20:,.1f} MiB{per_post}; ready in {time.perf_counter() - started:,.1f} s)."
        ),
        highlight=False,
        soft_wrap=True,
        markup=False,
    )


@app.command(cls=_Command)
@reports_errors
def inspect(
    fingerprints: Annotated[Path, typer.Argument(metavar="SET", help="A fingerprint set.", show_default=False)],
    verify: Annotated[
        bool,
        typer.Option(
            "--verify",
            help="Also read every row and check the set's content digest (exit 2 when the set was altered); "
            "without it only the self-description is read and checked, as fast for any size of set.",
        ),
    ] = False,
) -> None:
    """Print what a fingerprint set records about itself (parameters, inputs, counts) as JSON.

    Every field of the self-description is checked; the content digest (every row) is checked with
    --verify, and by every audit and check that loads the set.
    """
    import json

    from auditor import fingerprint_set as fingerprint_sets

    info = fingerprint_sets.load(fingerprints).info if verify else fingerprint_sets.read_info(fingerprints)
    _print_text(json.dumps(info.to_dict(), indent=2))


def _shortest(path: Path) -> Path:
    """The path relative to the working directory when it lies below it, so reports read well."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _version(value: bool) -> None:
    if value:
        _print_text(f"provenance-auditor {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", metavar="", callback=_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    pass


def main() -> None:
    from auditor import stopping
    from auditor.startup import prepare_process

    stopping.install()  # SIGINT and SIGTERM stop workers and remove temporary files before exiting
    prepare_process(sys.argv[1:])
    app()
