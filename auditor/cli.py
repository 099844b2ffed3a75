"""The command line: thin commands that call the library and turn its errors into one sentence and exit 2.

Exit codes: 0 the job ran (for `check`: the release passes); 1 `check` found what its limits forbid; 2 usage
or input error (bad option, unreadable or mismatched file).
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from enum import Enum
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from auditor import __version__, stopping
from auditor import fingerprint_set as fingerprint_sets
from auditor.audit import (
    DEFAULT_REPORT_DIR,
    AuditOutputs,
    AuditRequest,
    CheckRequest,
    CorpusSpec,
    find_fingerprint_sets,
    index_set,
    run_audit,
    run_check,
)
from auditor.batch import DEFAULT_MAX_ROW_CHARS
from auditor.build import build_fingerprint_set
from auditor.engine.processes import available_cores
from auditor.errors import AuditorError, InputError
from auditor.fingerprint import Fingerprinter
from auditor.fingerprint_set import SUFFIX, FingerprintSetInfo
from auditor.formats.github import render_annotations
from auditor.formats.html import render_html
from auditor.formats.json_report import gate_dict, render_json
from auditor.formats.junit import render_junit
from auditor.formats.markdown import render_gate_markdown, render_markdown
from auditor.formats.safe import printable
from auditor.formats.terminal import render_gate_terminal, render_terminal
from auditor.gate import Limits
from auditor.keys import key_for_new_set, new_key_id
from auditor.outputs import write_text_atomically
from auditor.params import (
    DEFAULT_MIN_SHINGLES,
    DEFAULT_NUM_PERM,
    DEFAULT_SEED,
    DEFAULT_SHINGLE_SIZE,
    FingerprintParams,
)
from auditor.report_loader import load_finished_audit
from auditor.result import AuditResult
from auditor.scan import DEFAULT_THRESHOLD
from auditor.sources.posts import PostSource
from auditor.stopping import Stopped

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2
RESUME_HINT = "rerun the same command to resume an audit from its finished parts."
DEFAULT_FINGERPRINT_DIR = Path("fingerprints")

app = typer.Typer(
    name="auditor",
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
    pretty_exceptions_show_locals=False,  # locals may hold post texts
)
stdout = Console()
stderr = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn library errors into one sentence on stderr and exit code 2: never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except AuditorError as error:
            # Messages echo paths and ids: printed as plain text, never parsed as markup or passed raw.
            stderr.print(Text.assemble(("error:", "bold red"), " ", printable(error)), highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_ERROR) from None
        except (KeyboardInterrupt, Stopped) as stop:
            signum = stop.signum if isinstance(stop, Stopped) else signal.SIGINT
            stderr.print(f"[yellow]stopped by {signal.Signals(signum).name}[/]: {RESUME_HINT}")
            raise typer.Exit(128 + signum) from None

    return wrapper


class _DescriptionColumn(TextColumn):
    """The task's description (it names files) as plain printable text, never parsed as markup."""

    def __init__(self) -> None:
        super().__init__("", style="bold")

    def render(self, task: Task) -> Text:
        return Text(printable(task.description), style="bold")


def _progress(quiet: bool) -> Progress:
    return Progress(
        _DescriptionColumn(),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=stderr,
        disable=quiet or not stderr.is_terminal,  # a log file gets the summary, not bar redraws
        transient=False,
    )


def _rate_updater(progress: Progress, task: TaskID, unit: str) -> Callable[[int], None]:
    def advance(count: int) -> None:
        progress.advance(task, count)
        speed = progress.tasks[task].speed
        progress.update(task, rate=f"{speed:,.0f} {unit}/s" if speed else "")

    return advance


KeyFileOption = Annotated[
    Path | None,
    typer.Option(
        "--key-file",
        help="Secret key of the base hash (16+ bytes) [default: the key beside the set: twitter.key for "
        "twitter.fp.parquet]. Only the "
        "key's id is recorded in the set; audits need the same key.",
        show_default=False,
    ),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar and no summary.")]
TextColumnOption = Annotated[str, typer.Option(help="Corpus column holding the text.")]
IdColumnOption = Annotated[
    str | None,
    typer.Option(
        help="Corpus column holding row ids, copied into the evidence and naming rows in baselines "
        "[default: `id` when present]",
        show_default=False,
    ),
]
ThresholdOption = Annotated[
    float,
    typer.Option(help="Share of a post's shingles a corpus row must contain (estimated from its MinHash slots)."),
]
WorkersOption = Annotated[
    int,
    typer.Option(
        help="Processes scanning parts of the corpus (whole row groups, about 64 MB of text each); the "
        "report is the same for any number. [default: the cores available]",
        show_default=False,
    ),
]


IndexDirOption = Annotated[
    Path | None,
    typer.Option(
        help="Where stored indexes of fingerprint sets are kept and looked for [default: twitter.index/ beside "
        "twitter.fp.parquet]. A missing index is built there on first use.",
        show_default=False,
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
    ),
]
SparkMasterOption = Annotated[
    str | None,
    typer.Option(
        help="With --engine spark: the Spark master URL [default: the running spark-submit session, else "
        "$SPARK_MASTER, else local[*]]",
        show_default=False,
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
    quiet: bool = False,
) -> FingerprintSetInfo:
    sources = [PostSource(p, id_field, text_field, skip_bad_lines) for p in posts]
    fingerprinter = Fingerprinter(params, key, min_shingles, keep_text)
    with _progress(quiet) as progress:
        task = progress.add_task("fingerprinting", total=None, rate="")
        info = build_fingerprint_set(sources, output, fingerprinter, _rate_updater(progress, task, "posts"))
    return info


@app.command()
@reports_errors
def fingerprint(
    posts: Annotated[
        list[Path],
        typer.Argument(
            help="Posts files: .jsonl, .jsonl.gz, .csv or .parquet, one post per line or row.", show_default=False
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help=f"Where to write the set [default: fingerprints/<first input>{SUFFIX}]",
            show_default=False,
        ),
    ] = None,
    id_field: Annotated[str, typer.Option(help="Field or column holding the post id.")] = "id",
    text_field: Annotated[str, typer.Option(help="Field or column holding the post text.")] = "text",
    keep_text: Annotated[
        bool,
        typer.Option(
            "--keep-text", help="Store post texts too, for exact verification (the set is then not shareable)."
        ),
    ] = False,
    min_shingles: Annotated[
        int, typer.Option(help="Posts with fewer distinct shingles after normalization are too short to attribute.")
    ] = DEFAULT_MIN_SHINGLES,
    num_perm: Annotated[int, typer.Option(help="MinHash slots per post (datasketch num_perm).")] = DEFAULT_NUM_PERM,
    seed: Annotated[int, typer.Option(help="MinHash permutation seed (datasketch seed).")] = DEFAULT_SEED,
    shingle_size: Annotated[
        int, typer.Option(help="Characters per shingle of normalized text.")
    ] = DEFAULT_SHINGLE_SIZE,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file",
            help="Secret key of the base hash (16+ bytes) [default: the key beside the set, made when absent: "
            "twitter.key for twitter.fp.parquet]. "
            "Only the key's id is recorded in the set; audits need the same key.",
            show_default=False,
        ),
    ] = None,
    public: Annotated[
        bool,
        typer.Option(
            "--public",
            help="Build an unkeyed set on purpose: anyone holding it can test guessed text against it and "
            "recover posts from a known start.",
        ),
    ] = False,
    skip_bad_lines: Annotated[
        bool, typer.Option("--skip-bad-lines", help="Count and skip unreadable lines instead of stopping at the first.")
    ] = False,
    quiet: QuietOption = False,
) -> None:
    """Turn a platform's posts into a fingerprint set: keyed MinHash signatures, without the texts.

    Texts are normalized (Unicode NFKC, case, accents, punctuation, links, @mentions and `RT @user:`
    prefixes removed), cut into character shingles and MinHashed bit-identically to datasketch's
    default scheme. The base hash is keyed: a random key is made beside the set (twitter.key for
    twitter.fp.parquet, readable by you only) unless --key-file or --public is given. Every parameter
    is recorded in the set; audits refuse sets they cannot reproduce.
    """
    if output is None:
        output = DEFAULT_FINGERPRINT_DIR / (posts[0].name.split(".")[0] + SUFFIX)
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
            quiet=quiet,
        )
    except BaseException:
        if key_made and key_path is not None:  # no set, so no key made for it either
            key_path.unlink(missing_ok=True)
        raise
    if not quiet:
        skipped = ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in info.skipped.items()) or "none"
        stdout.print(
            Text.assemble(
                "Wrote ",
                (printable(output), "bold"),
                printable(
                    f": {info.counts['posts_fingerprinted']:,} posts fingerprinted of {info.counts['posts_read']:,} "
                    f"read; left out: {skipped}."
                ),
            ),
            highlight=False,
            soft_wrap=True,
        )
        if key_path is None:
            privacy = (
                "Public set (no key): anyone holding it can test whether a guessed text is among its posts and "
                "recover posts from a known start; build without --public to key it."
            )
        else:
            made = "made" if key_made else "reused"
            privacy = (
                f"Keyed with {key_path} ({made}): keep the key apart from the set. The set alone lets no one "
                "test text; whoever holds both can test guessed text, as audits do."
            )
        if keep_text:
            privacy += " The set stores the post texts (--keep-text): keep it private."
        stdout.print(printable(privacy), highlight=False, soft_wrap=True, markup=False)


class _RichProgress:
    """The library's Progress shown as rich progress bars: one task a stage."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: TaskID | None = None
        self._unit = ""

    def stage(self, description: str, total: int | None = None, unit: str = "") -> None:
        self._finish()
        self._task = self._progress.add_task(description, total=total, rate="")
        self._unit = unit

    def advance(self, count: int) -> None:
        if self._task is None:
            return
        self._progress.advance(self._task, count)
        speed = self._progress.tasks[self._task].speed
        self._progress.update(self._task, rate=f"{speed:,.0f} {self._unit}/s" if speed and self._unit else "")

    def note(self, message: str) -> None:
        self._progress.console.print(
            Text.assemble(("note:", "yellow"), " ", printable(message)), highlight=False, soft_wrap=True
        )

    def _finish(self) -> None:
        if self._task is not None:
            task = self._progress.tasks[self._task]
            if task.total is None:
                self._progress.update(self._task, total=1, completed=1)

    def close(self) -> None:
        self._finish()


@contextlib.contextmanager
def _showing_progress(quiet: bool) -> Iterator[_RichProgress]:
    with _progress(quiet) as progress:
        shown = _RichProgress(progress)
        yield shown
        shown.close()


@app.command()
@reports_errors
def audit(
    fingerprints: Annotated[
        Path, typer.Argument(help="A fingerprint set made by `auditor fingerprint`.", show_default=False)
    ],
    corpus: Annotated[
        list[str],
        typer.Argument(
            help="Parquet corpus: files, directories of shards (hive partitions too) or globs; local, or URLs "
            "s3://BUCKET/PREFIX/, gs://..., hf://datasets/ORG/NAME/..., https://... (see the README).",
            show_default=False,
        ),
    ],
    evidence: Annotated[
        Path | None,
        typer.Option(
            help="Evidence Parquet, one row per match [default: reports/<set>.evidence.parquet]", show_default=False
        ),
    ] = None,
    json_report: Annotated[
        Path | None,
        typer.Option("--json", help="JSON report [default: reports/<set>.report.json]", show_default=False),
    ] = None,
    markdown: Annotated[
        Path | None,
        typer.Option(help="Also write a Markdown report (fits a pull-request comment).", show_default=False),
    ] = None,
    html: Annotated[
        Path | None,
        typer.Option(
            help="Also write a self-contained HTML report with charts and searchable evidence.", show_default=False
        ),
    ] = None,
    text_column: TextColumnOption = "text",
    id_column: IdColumnOption = None,
    url_column: Annotated[
        str | None,
        typer.Option(
            help="Corpus column holding each row's source URL, for matches by domain [default: `url` when present]",
            show_default=False,
        ),
    ] = None,
    threshold: ThresholdOption = DEFAULT_THRESHOLD,
    key_file: KeyFileOption = None,
    workers: WorkersOption = 0,
    cutoff: Annotated[
        str | None,
        typer.Option(
            help="The date the corpus was collected (YYYY-MM-DD). Posts published later cannot be in it: their "
            "match rate is the chance baseline, compared with the rate of earlier posts (Fisher's exact test).",
            show_default=False,
        ),
    ] = None,
    keep_nonspecific: Annotated[
        bool,
        typer.Option(
            "--keep-nonspecific",
            help="Keep posts that match unusually many rows (templated, generic) in the headline rate.",
        ),
    ] = False,
    sample_posts: Annotated[
        float | None,
        typer.Option(
            help="Audit a seeded random sample of posts: a number, or a fraction below 1. The share found "
            "comes with its interval; a full run agrees within it.",
            show_default=False,
        ),
    ] = None,
    sample_rows: Annotated[
        float | None,
        typer.Option(
            help="Scan a seeded random fraction of corpus rows (the others are counted as not sampled).",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of --sample-posts and --sample-rows.")] = 0,
    hash_corpus: Annotated[
        bool,
        typer.Option(
            "--hash-corpus/--no-hash-corpus",
            help="Record each corpus file's SHA-256 in the report, so a rerun can be checked against the same data. "
            "A remote file (s3://, gs://, hf://, https://) is then read whole once more, beyond the columns the "
            "scan reads: on a large remote corpus, --no-hash-corpus saves that transfer (the report still "
            "records each object's size, ETag and last-modified time).",
        ),
    ] = True,
    control: Annotated[
        Path | None,
        typer.Option(
            help="A fingerprint set of posts that cannot be in the corpus (say, written after it was collected): "
            "audited too, its rate is the chance baseline the set's rate is compared with.",
            show_default=False,
        ),
    ] = None,
    engine: EngineOption = EngineName.local,
    spark_master: SparkMasterOption = None,
    index_dir: IndexDirOption = None,
    max_row_chars: Annotated[
        int,
        typer.Option(
            help="Rows longer than this many characters are skipped and counted as too_large (scanning takes "
            "some 30 bytes of memory a character)."
        ),
    ] = DEFAULT_MAX_ROW_CHARS,
    restart: Annotated[
        bool,
        typer.Option("--restart", help="Start afresh instead of resuming from the parts an interrupted run finished."),
    ] = False,
    keep_checkpoints: Annotated[
        bool,
        typer.Option(
            "--keep-checkpoints",
            help="Keep the finished parts (beside the evidence, in .<evidence>.checkpoints/) after the audit.",
        ),
    ] = False,
    quiet: QuietOption = False,
) -> None:
    """Find a fingerprint set's posts in a Parquet corpus: as whole rows or inside longer documents.

    Streams the corpus in record batches of only the needed columns, so memory stays bounded. Every
    match is verified on all MinHash slots (and on exact shingles when the set keeps texts) and written
    to the evidence file; the JSON report has the counts, rates with 95% intervals and a per-file
    breakdown.

    Each finished part of the corpus is kept beside the evidence output until the audit ends: rerun the
    same command after a crash or a kill and it resumes where it stopped, with the same results.
    """
    outputs = AuditOutputs.defaults_for(fingerprints)
    request = AuditRequest(
        fingerprints=fingerprints,
        corpus=CorpusSpec(tuple(corpus), text_column, id_column, url_column),
        outputs=AuditOutputs(evidence or outputs.evidence, json_report or outputs.json, markdown, html),
        key_file=key_file,
        threshold=threshold,
        cutoff=cutoff,
        control=control,
        keep_nonspecific=keep_nonspecific,
        sample_posts=sample_posts,
        sample_rows=sample_rows,
        seed=seed,
        hash_corpus=hash_corpus,
        workers=workers or available_cores(),
        max_row_chars=max_row_chars,
        restart=restart,
        keep_checkpoints=keep_checkpoints,
        engine=engine.value,
        spark_master=spark_master,
        index_dir=index_dir,
    )
    with _showing_progress(quiet) as progress:
        result = run_audit(request, progress)
    _print_summary(result, request.outputs, quiet)


def _write_text(path: Path, text: str, what: str, append: bool = False) -> None:
    if not append:
        write_text_atomically(path, text, what)
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as stream:
            stream.write(text)
    except OSError as error:
        raise InputError(f"{path}: cannot write {what} ({error.strerror}); choose another path.") from None


def _print_summary(result: AuditResult, outputs: AuditOutputs, quiet: bool) -> None:
    if quiet:
        return
    stdout.print(render_terminal(result))
    written = [f"{what[0].upper() + what[1:] + ':':<17}{printable(path)}" for path, what in outputs.paths()]
    stdout.print("\n" + "\n".join(written), highlight=False, soft_wrap=True, markup=False)


class OutputFormat(str, Enum):
    terminal = "terminal"
    markdown = "markdown"
    md = "md"  # short for markdown
    json = "json"
    html = "html"


@app.command()
@reports_errors
def check(
    corpus: Annotated[
        list[str],
        typer.Argument(
            help="Parquet corpus of the release: files, directories of shards or globs, local or s3://, gs://, "
            "hf://, https:// URLs.",
            show_default=False,
        ),
    ],
    fingerprints: Annotated[
        list[Path] | None,
        typer.Option(
            "--fingerprints",
            help="Fingerprint sets, or directories of them; repeat for several. [default: every set in fingerprints/]",
            show_default=False,
        ),
    ] = None,
    max_post_rate: Annotated[
        float | None, typer.Option(help="Fail when a larger share of a set's posts is found.", show_default=False)
    ] = None,
    max_row_rate: Annotated[
        float | None, typer.Option(help="Fail when a larger share of corpus rows carries posts.", show_default=False)
    ] = None,
    max_matches: Annotated[
        int | None,
        typer.Option(
            help="Fail when there are more new matches. With no limit given, any new match fails.", show_default=False
        ),
    ] = None,
    baseline: Annotated[
        Path | None,
        typer.Option(help="Accepted matches (JSON): they are counted but never fail the check.", show_default=False),
    ] = None,
    update_baseline: Annotated[
        bool, typer.Option("--update-baseline", help="Write every current match into --baseline and pass.")
    ] = False,
    output_format: Annotated[OutputFormat, typer.Option("--format", help="What to print.")] = OutputFormat.terminal,
    junit: Annotated[Path | None, typer.Option(help="Also write JUnit XML here.", show_default=False)] = None,
    text_column: TextColumnOption = "text",
    id_column: IdColumnOption = None,
    threshold: ThresholdOption = DEFAULT_THRESHOLD,
    key_file: KeyFileOption = None,
    workers: WorkersOption = 0,
    engine: EngineOption = EngineName.local,
    spark_master: SparkMasterOption = None,
    index_dir: IndexDirOption = None,
    quiet: QuietOption = False,
) -> None:
    """Gate a dataset release in CI: audit the corpus against fingerprint sets and fail on findings.

    Exit codes: 0 the release passes; 1 a limit is exceeded (findings); 2 usage, input or parameter-mismatch
    error. Matches in --baseline are accepted: counted in the summary, never failing. Under GitHub Actions
    the Markdown summary is appended to $GITHUB_STEP_SUMMARY and each violation becomes an error annotation.
    """
    request = CheckRequest(
        sets=find_fingerprint_sets(fingerprints or [], DEFAULT_FINGERPRINT_DIR),
        corpus=CorpusSpec(tuple(corpus), text_column, id_column),
        limits=Limits(max_post_rate, max_row_rate, max_matches),
        baseline=baseline,
        update_baseline=update_baseline,
        key_file=key_file,
        threshold=threshold,
        workers=workers or available_cores(),
        engine=engine.value,
        spark_master=spark_master,
        index_dir=index_dir,
    )
    with _showing_progress(quiet) as progress:
        outcome = run_check(request, progress)
    if update_baseline:
        written = len(outcome.baseline_of_all().accepted)
        stdout.print(f"Wrote {printable(baseline)}: {written:,} accepted matches.", soft_wrap=True, markup=False)
        raise typer.Exit(EXIT_OK)
    markdown = render_gate_markdown(outcome)
    if output_format is OutputFormat.json:
        stdout.print_json(json.dumps(gate_dict(outcome)))
    elif output_format in (OutputFormat.markdown, OutputFormat.md):
        print(markdown, end="")
    elif not quiet:
        stdout.print(render_gate_terminal(outcome))
    if junit is not None:
        _write_text(junit, render_junit(outcome), "the JUnit report")
    if os.environ.get("GITHUB_STEP_SUMMARY"):
        _write_text(Path(os.environ["GITHUB_STEP_SUMMARY"]), markdown + "\n", "the step summary", append=True)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        print(render_annotations(outcome), end="")
    raise typer.Exit(EXIT_OK if outcome.passed else EXIT_FINDINGS)


@app.command()
@reports_errors
def demo(
    output_dir: Annotated[Path, typer.Option(help="Where the demo writes its fingerprint set and reports.")] = Path(
        "."
    ),
    quiet: QuietOption = False,
) -> None:
    """Run the whole flow on the embedded demo: fingerprint 300 posts, audit a 3-file corpus (hive partitions), report.

    Needs no argument and no network. The demo corpus was collected on 2025-06-30, so posts published
    later serve as the negative control. Writes fingerprints/demo.fp.parquet and reports/demo.* under
    --output-dir (the current directory by default).
    """
    from auditor.demo import DEMO_CUTOFF, demo_corpus, demo_posts

    output = output_dir / DEFAULT_FINGERPRINT_DIR / f"demo{SUFFIX}"
    fingerprint_posts([_shortest(demo_posts())], output, params=FingerprintParams(), keep_text=True, quiet=quiet)
    reports = output_dir / DEFAULT_REPORT_DIR
    request = AuditRequest(
        fingerprints=output,
        corpus=CorpusSpec((str(_shortest(demo_corpus())),)),
        outputs=AuditOutputs(reports / "demo.evidence.parquet", reports / "demo.report.json"),
        cutoff=DEMO_CUTOFF,
    )
    with _showing_progress(quiet) as progress:
        result = run_audit(request, progress)
    _print_summary(result, request.outputs, quiet)


@app.command()
@reports_errors
def report(
    finished: Annotated[
        Path,
        typer.Argument(
            help="An evidence Parquet file or a JSON report written by `auditor audit`.", show_default=False
        ),
    ],
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="The format to render.")
    ] = OutputFormat.terminal,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of printing.", show_default=False)
    ] = None,
) -> None:
    """Re-render a finished audit without rescanning the corpus.

    The evidence file carries the whole report in its manifest, so it alone is enough; a JSON report
    works too. Formats: terminal (the summary `auditor audit` prints), markdown, json.
    """
    result = load_finished_audit(finished)
    if output_format is OutputFormat.terminal and output is None:
        stdout.print(render_terminal(result))
        return
    if output_format is OutputFormat.json:
        text = render_json(result)
    elif output_format in (OutputFormat.markdown, OutputFormat.md):
        text = render_markdown(result)
    elif output_format is OutputFormat.html:
        text = render_html(result)
    else:
        text = _plain_text(render_terminal(result))
    if output is None:
        print(text, end="" if text.endswith("\n") else "\n")
    else:
        _write_text(output, text, "the report")


def _plain_text(renderable: RenderableType) -> str:
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


@app.command()
@reports_errors
def index(
    fingerprints: Annotated[
        Path, typer.Argument(help="A fingerprint set made by `auditor fingerprint`.", show_default=False)
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
    started = time.perf_counter()
    with _showing_progress(quiet) as progress:
        stored = index_set(fingerprints, key_file, threshold, progress, index_dir)
    if quiet:
        return
    size = sum(path.stat().st_size for path in stored.directory.iterdir())
    posts = len(stored.fingerprints.slot_hashes)
    per_post = f" ({size / posts:,.0f} bytes a post)" if posts else ""
    stdout.print(
        printable(
            f"Index of {fingerprints} for threshold {threshold}: {stored.directory} ({posts:,} posts, "
            f"{size / 2**20:,.1f} MiB{per_post}; ready in {time.perf_counter() - started:,.1f} s)."
        ),
        highlight=False,
        soft_wrap=True,
        markup=False,
    )


@app.command()
@reports_errors
def inspect(
    fingerprints: Annotated[Path, typer.Argument(help="A fingerprint set.", show_default=False)],
) -> None:
    """Print what a fingerprint set records about itself (parameters, inputs, counts) as JSON."""

    info = fingerprint_sets.read_info(fingerprints)
    stdout.print_json(json.dumps(info.to_dict()))


def _shortest(path: Path) -> Path:
    """The path relative to the working directory when it lies below it, so reports read well."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _version(value: bool) -> None:
    if value:
        stdout.print(f"provenance-auditor {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    pass


def main() -> None:
    stopping.install()  # SIGINT and SIGTERM stop workers and remove temporary files before exiting
    app()
