"""The command line: thin commands that call the library and turn its errors into one sentence and exit 2.

Exit codes: 0 the job ran (for `check`: the release passes); 1 `check` found what its limits forbid; 2 usage
or input error (bad option, unreadable or mismatched file).
"""

from __future__ import annotations

import functools
import io
import json
import os
from collections.abc import Callable
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console, RenderableType
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from auditor import __version__
from auditor import fingerprint_set as fingerprint_sets
from auditor.audit import audit as run_audit
from auditor.baseline import Baseline
from auditor.build import build_fingerprint_set
from auditor.claims import compare, parse_cutoff
from auditor.engine.processes import available_cores
from auditor.errors import AuditorError, InputError, UsageError
from auditor.fingerprint import Fingerprinter
from auditor.fingerprint_set import SUFFIX, FingerprintSetInfo
from auditor.formats.evidence_parquet import write_evidence
from auditor.formats.github import render_annotations
from auditor.formats.html import render_html
from auditor.formats.json_report import gate_dict, render_json
from auditor.formats.junit import render_junit
from auditor.formats.markdown import render_gate_markdown, render_markdown
from auditor.formats.terminal import render_gate_terminal, render_terminal
from auditor.formats.wording import describe_reasons
from auditor.gate import GateOutcome, Limits, judge
from auditor.kernels.shingle_hash import key_id
from auditor.params import (
    DEFAULT_MIN_SHINGLES,
    DEFAULT_NUM_PERM,
    DEFAULT_SEED,
    DEFAULT_SHINGLE_SIZE,
    FingerprintParams,
)
from auditor.report_loader import load_finished_audit
from auditor.result import AuditResult
from auditor.sampling import RowSample
from auditor.sampling import sample_posts as sample_posts_of
from auditor.scan import DEFAULT_THRESHOLD, CorpusScanner
from auditor.sources.corpus import CorpusFile, open_corpus
from auditor.sources.posts import PostSource


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
DEFAULT_FINGERPRINT_DIR = Path("fingerprints")
DEFAULT_REPORT_DIR = Path("reports")

app = typer.Typer(
    name="auditor",
    help=(
        "Tell, with evidence, whether a platform's posts ended up in an AI training corpus.\n\n"
        "1. `auditor fingerprint posts.jsonl -o twitter.fp.parquet` turns posts into a shareable fingerprint set.\n\n"
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
            stderr.print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_ERROR) from None
        except KeyboardInterrupt:
            stderr.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None

    return wrapper


def _progress(quiet: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
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


def _read_key(key_file: Path | None) -> bytes:
    if key_file is None:
        return b""
    try:
        key = key_file.read_bytes().strip()
    except OSError as error:
        raise InputError(f"{key_file}: cannot read the key file ({error.strerror}); check the path.") from None
    if len(key) < 16:
        raise InputError(
            f"{key_file}: a key needs at least 16 bytes; make one with `head -c 32 /dev/urandom | base64`."
        )
    return key


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
        help="Secret key for the base hash (16+ bytes). Sets meant to be shared need one: without it anyone can "
        "test guessed text against a set. Only the key's id is recorded; audits must pass the same file.",
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
) -> FingerprintSetInfo:
    if sum(str(p) == "-" for p in posts) > 1:
        raise UsageError("standard input (-) can be given once; name the other inputs by path.")
    sources = [
        PostSource(p, id_field, text_field, skip_bad_lines, input_format=input_format, include_private=include_private)
        for p in posts
    ]
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
            help="Posts: JSON lines (also .gz, .zst), a JSON array, CSV, Parquet, or a platform's export (an X "
            "archive .zip or folder, Twitter API / twarc2 JSON, a Reddit .zst dump, a StackExchange Posts.xml or "
            ".7z, a Mastodon archive or outbox.json, a Bluesky .car); `-` reads standard input.",
            show_default=False,
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
    input_format: Annotated[
        InputFormat,
        typer.Option(help="The inputs' format; `auto` tells it from each input's content."),
    ] = InputFormat.auto,
    id_field: Annotated[
        str, typer.Option(help="Field or column holding the post id (generic formats; `a.b` reaches inside objects).")
    ] = "id",
    text_field: Annotated[
        str,
        typer.Option(help="Field or column holding the post text (generic formats; `tweet.full_text` reaches inside)."),
    ] = "text",
    include_private: Annotated[
        bool,
        typer.Option(
            "--include-private",
            help="Keep posts that were not public (Mastodon followers-only and direct); counted either way.",
        ),
    ] = False,
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
    key_file: KeyFileOption = None,
    skip_bad_lines: Annotated[
        bool, typer.Option("--skip-bad-lines", help="Count and skip unreadable lines instead of stopping at the first.")
    ] = False,
    quiet: QuietOption = False,
) -> None:
    """Turn a platform's posts into a fingerprint set: MinHash signatures, shareable without the texts.

    Texts are normalized (Unicode NFKC, case, accents, punctuation, links, @mentions and `RT @user:`
    prefixes removed), cut into character shingles and MinHashed bit-identically to datasketch's
    default scheme. Every parameter is recorded in the set; audits refuse sets they cannot reproduce.
    """
    key = _read_key(key_file)
    params = FingerprintParams(num_perm=num_perm, seed=seed, shingle_size=shingle_size, key_id=key_id(key))
    if output is None:
        stem = "stdin" if str(posts[0]) == "-" else posts[0].name.split(".")[0] or "posts"
        output = DEFAULT_FINGERPRINT_DIR / (stem + SUFFIX)
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
    )
    if not quiet:
        stdout.print(fingerprint_summary(output, info), highlight=False, soft_wrap=True)


def fingerprint_summary(output: Path, info: FingerprintSetInfo) -> str:
    """What `auditor fingerprint` says it did: posts kept and left out, each input's format, undated posts."""
    skipped = describe_reasons(info.skipped)
    lines = [
        f"Wrote [bold]{escape(str(output))}[/]: {info.counts['posts_fingerprinted']:,} posts fingerprinted "
        f"of {info.counts['posts_read']:,} read; left out: {skipped}."
    ]
    for source in info.sources:
        left_out = f"; left out: {describe_reasons(source.left_out)}" if source.left_out else ""
        if source.kept:
            left_out += f"; kept on request: {describe_reasons(source.kept)}"
        name = escape(source.name)
        lines.append(f"  {name} ({source.format}): {source.records:,} records, {source.posts:,} posts{left_out}")
    undated = info.counts.get("posts_undated", 0)
    if undated:
        lines.append(
            f"{undated:,} posts in the set are undated ({describe_reasons(info.undated)}): the --cutoff control "
            "leaves them out."
        )
    return "\n".join(lines)


def audit_corpus(
    fingerprints: Path,
    corpus: list[str] | list[CorpusFile],
    *,
    text_column: str = "text",
    id_column: str | None = None,
    url_column: str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    key: bytes = b"",
    workers: int = 1,
    cutoff: str | None = None,
    keep_nonspecific: bool = False,
    sample_posts: float | None = None,
    sample_rows: float | None = None,
    seed: int = 0,
    hash_corpus: bool = True,
    quiet: bool = False,
) -> AuditResult:
    """Audit one set against a corpus given as paths, or as files already opened and checked."""
    row_sample = RowSample(sample_rows, seed) if sample_rows is not None else None
    cutoff = parse_cutoff(cutoff) if cutoff is not None else None
    if workers < 1:
        raise AuditorError(f"--workers must be at least 1, got {workers}.")
    if not 0.0 < threshold <= 1.0:
        raise AuditorError(f"--threshold must be above 0 and at most 1, got {threshold}; 0.6 is the default.")
    fingerprint_sets.read_info(fingerprints)  # cheap checks of both inputs before the expensive load
    files = [f for f in corpus if isinstance(f, CorpusFile)] or open_corpus(
        [str(c) for c in corpus],
        text_column,
        id_column or "id",
        id_required=id_column is not None,
        url_column=url_column or "url",
        url_required=url_column is not None,
    )
    with _progress(quiet) as progress:
        # Loading and indexing take minutes for millions of posts: show them as steps of their own.
        step = progress.add_task(f"loading {fingerprints.name}", total=None, rate="")
        loaded = fingerprint_sets.load(fingerprints)
        if sample_posts is not None:
            loaded = loaded.subset(sample_posts_of(len(loaded.slot_hashes), sample_posts, seed))
        progress.update(step, total=1, completed=1)
        step = progress.add_task(f"indexing {len(loaded.slot_hashes):,} posts", total=None, rate="")
        scanner = CorpusScanner(loaded, key, threshold)
        progress.update(step, total=1, completed=1)
        task = progress.add_task(f"scanning for {fingerprints.name}", total=sum(f.rows for f in files), rate="")
        return run_audit(
            scanner,
            files,
            _rate_updater(progress, task, "rows"),
            workers=workers,
            cutoff=cutoff,
            keep_nonspecific=keep_nonspecific,
            row_sample=row_sample,
            post_sample=sample_posts,
            hash_corpus=hash_corpus,
        )


@app.command()
@reports_errors
def audit(
    fingerprints: Annotated[
        Path, typer.Argument(help="A fingerprint set made by `auditor fingerprint`.", show_default=False)
    ],
    corpus: Annotated[
        list[str],
        typer.Argument(
            help="Parquet corpus: files, directories of shards (hive partitions too) or globs.", show_default=False
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
            help="Record each corpus file's SHA-256 in the report, so a rerun can be checked against the same data.",
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
    quiet: QuietOption = False,
) -> None:
    """Find a fingerprint set's posts in a Parquet corpus: as whole rows or inside longer documents.

    Streams the corpus in record batches of only the needed columns, so memory stays bounded. Every
    match is verified on all MinHash slots (and on exact shingles when the set keeps texts) and written
    to the evidence file; the JSON report has the counts, rates with 95% intervals and a per-file
    breakdown.
    """
    if control is not None and cutoff is not None:
        raise UsageError("give --cutoff or --control, not both: each defines the negative control.")
    result = audit_corpus(
        fingerprints,
        corpus,
        text_column=text_column,
        id_column=id_column,
        url_column=url_column,
        threshold=threshold,
        key=_read_key(key_file),
        workers=workers or available_cores(),
        cutoff=cutoff,
        keep_nonspecific=keep_nonspecific,
        sample_posts=sample_posts,
        sample_rows=sample_rows,
        seed=seed,
        hash_corpus=hash_corpus,
        quiet=quiet,
    )
    if control is not None:
        chance = audit_corpus(
            control, corpus, text_column=text_column, id_column=id_column, threshold=threshold,
            key=_read_key(key_file), workers=workers or available_cores(), quiet=quiet,
        )  # fmt: skip
        comparison = compare(
            result.claims.headline,
            chance.claims.headline,
            "posts of the set",
            f"posts of the control set {control.name}",
        )
        result = replace(result, claims=replace(result.claims, control=comparison))
    stem = fingerprints.name.removesuffix(SUFFIX).removesuffix(".parquet")
    evidence = evidence or DEFAULT_REPORT_DIR / f"{stem}.evidence.parquet"
    json_report = json_report or DEFAULT_REPORT_DIR / f"{stem}.report.json"
    _write_outputs(result, evidence, json_report, quiet)
    if markdown is not None:
        _write_text(markdown, render_markdown(result), "the Markdown report")
    if html is not None:
        _write_text(html, render_html(result), "the HTML report")


def _write_text(path: Path, text: str, what: str, append: bool = False) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a" if append else "w", encoding="utf-8") as stream:
            stream.write(text)
    except OSError as error:
        raise InputError(f"{path}: cannot write {what} ({error.strerror}); choose another path.") from None


def _write_outputs(result: AuditResult, evidence: Path, json_report: Path, quiet: bool) -> None:
    write_evidence(result, evidence)
    _write_text(json_report, render_json(result), "the report")
    if not quiet:
        stdout.print(render_terminal(result))
        stdout.print(f"\nEvidence: {evidence}\nReport:   {json_report}", highlight=False, soft_wrap=True)


class OutputFormat(str, Enum):
    terminal = "terminal"
    markdown = "markdown"
    md = "md"  # short for markdown
    json = "json"
    html = "html"


def _fingerprint_sets(given: list[Path] | None) -> list[Path]:
    """Sets named (files, or directories of *.fp.parquet), or every set in fingerprints/."""
    found: list[Path] = []
    for path in given or [DEFAULT_FINGERPRINT_DIR]:
        if path.is_dir():
            found.extend(sorted(path.glob(f"*{SUFFIX}")))
        elif given:  # a missing default directory just means there are no sets
            found.append(path)
    if not found:
        raise InputError(
            f"no fingerprint set in {', '.join(str(p) for p in given or [DEFAULT_FINGERPRINT_DIR])}; build one with "
            "`auditor fingerprint` or name sets with --fingerprints."
        )
    return list(dict.fromkeys(found))


@app.command()
@reports_errors
def check(
    corpus: Annotated[
        list[str],
        typer.Argument(
            help="Parquet corpus of the release: files, directories of shards or globs.", show_default=False
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
    quiet: QuietOption = False,
) -> None:
    """Gate a dataset release in CI: audit the corpus against fingerprint sets and fail on findings.

    Exit codes: 0 the release passes; 1 a limit is exceeded (findings); 2 usage, input or parameter-mismatch
    error. Matches in --baseline are accepted: counted in the summary, never failing. Under GitHub Actions
    the Markdown summary is appended to $GITHUB_STEP_SUMMARY and each violation becomes an error annotation.
    """
    limits = Limits(max_post_rate, max_row_rate, max_matches)
    if update_baseline and baseline is None:
        raise UsageError("--update-baseline needs --baseline FILE to write to.")
    accepted = Baseline.read(baseline) if baseline is not None and not update_baseline else Baseline()
    sets = _fingerprint_sets(fingerprints)
    for path in sets:
        fingerprint_sets.read_info(path)  # every set checked before the first scan
    files = open_corpus(corpus, text_column, id_column or "id", id_required=id_column is not None)
    key = _read_key(key_file)
    verdicts = []
    for path in sets:
        result = audit_corpus(
            path, files, threshold=threshold, key=key, workers=workers or available_cores(), quiet=quiet
        )
        verdicts.append(judge(path.name, result, limits, accepted))
    outcome = GateOutcome(tuple(verdicts), limits)
    if update_baseline:
        assert baseline is not None  # checked above
        outcome.baseline_of_all().write(baseline)
        stdout.print(f"Wrote {baseline}: {len(outcome.baseline_of_all().accepted):,} accepted matches.", soft_wrap=True)
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
    result = audit_corpus(output, [str(_shortest(demo_corpus()))], cutoff=DEMO_CUTOFF, quiet=quiet)
    reports = output_dir / DEFAULT_REPORT_DIR
    _write_outputs(result, reports / "demo.evidence.parquet", reports / "demo.report.json", quiet)


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
    app()
