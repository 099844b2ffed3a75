"""Real human-written text found on this machine, made into posts, a Parquet corpus and ground truth.

Posts are real short texts (30 to 280 characters): Debian changelog entries (`/usr/share/doc/*/
changelog.Debian.gz`), the first paragraph of docstrings of the Python standard library and the one-line
descriptions of manual pages. They are decorated like
posts of a platform (@mentions, links, hashtags, emoji, HTML entities, `RT @user:` prefixes); a few are
bot posts written from templates. Corpus pages are real long documents: manual pages (`/usr/share/man`,
roff markup stripped) and the long module docstrings of the standard library.

Placements, cleanings and near misses are those of `synthetic.py`, on this text: a post is planted as a
row of a post dataset, quoted inside a long page or inside a scraped timeline, after one cleaning. Near
misses must not match: a row made of the first half of one post and the last half of another, and a
templated post filled in differently. A row of two halves whose first half goes on, by chance, with the
next whole words of its post ("Adjust packaging for" + "using the ...") holds more than half of that
post word for word: it is a copy truncated to more than half, which must match, so it is not made (and
counted).

Real text repeats itself: two changelog entries may differ by a version number, a docstring may be
quoted in a manual page. A post whose text is already (in part) in the corpus would make the ground
truth wrong, so posts sharing 25% or more of their 12-character shingles with another post, with a
corpus page or with a foreign post are left out before sampling (their count is reported).
"""

from __future__ import annotations

import ast
import gzip
import html
import itertools
import os
import random
import re
import sysconfig
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from faker import Faker

from auditor.fingerprint import shingle_texts
from auditor.kernels.normalize import normalize_texts
from auditor.kernels.shingle_hash import ShingleHasher
from auditor.kernels.sorting import unique_sorted
from benchmarks.synthetic import (
    CLEANINGS,
    EMOJI,
    PLACEMENTS,
    TEMPLATES,
    Dataset,
    Plant,
    day_before,
    half_of,
    normalized_lengths,
    weekday,
)

DOC = Path("/usr/share/doc")
MAN = Path("/usr/share/man")
POST_CHARS = (30, 280)
SHARED_LIMIT = 0.25  # a post sharing this share of its shingles with other text is left out
MIN_NORMALIZED = 25  # posts shorter than this once normalized are out of scope (too short to test)

_BULLET = re.compile(r"^  [*+-] (.*)")
_CONTINUED = re.compile(r"^\s{4,}\S")


def changelog_entries() -> Iterator[tuple[str, str]]:
    """(source, entry) for every bullet of every Debian changelog, continuation lines joined."""
    for path in sorted(DOC.glob("*/changelog.Debian.gz")):
        try:
            with gzip.open(path, "rt", encoding="utf-8", errors="replace") as stream:
                text = stream.read()
        except OSError:
            continue
        current: list[str] = []
        for line in text.splitlines():
            bullet = _BULLET.match(line)
            if bullet or not (current and _CONTINUED.match(line)):
                if current:
                    yield "changelog", " ".join(current)
                current = [bullet.group(1).strip()] if bullet else []
            else:
                current.append(line.strip())
        if current:
            yield "changelog", " ".join(current)


def _stdlib_files() -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    files: list[Path] = []
    for folder, folders, names in os.walk(root):
        folders[:] = sorted(f for f in folders if f not in {"site-packages", "test", "tests", "idlelib"})
        files.extend(Path(folder) / name for name in sorted(names) if name.endswith(".py"))
    return files


def docstrings() -> tuple[list[tuple[str, str]], list[str]]:
    """(first paragraphs of the stdlib's docstrings, its long module docstrings)."""
    short: list[tuple[str, str]] = []
    long: list[str] = []
    for path in _stdlib_files():
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if not doc:
                    continue
                if isinstance(node, ast.Module) and len(doc) >= 4_000:
                    long.append(doc)
                short.append(("docstring", " ".join(doc.split("\n\n")[0].split())))
    return short, long


# roff: escapes dropped or replaced, macros whose arguments are text kept.
_ROFF_REPLACE = (
    (re.compile(r"\\\((em|en|hy)"), "-"),
    (re.compile(r"\\\(aq|\\\(cq|\\\(oq"), "'"),
    (re.compile(r"\\\(dq|\\\(lq|\\\(rq"), '"'),
    (re.compile(r"\\-"), "-"),
    (re.compile(r"\\e"), "\\\\"),
    (re.compile(r"\\ "), " "),
    (
        re.compile(r"\\f(\[[^\]]*\]|\(..|.)|\\s[+-]?\d+|\\\*(\[[^\]]*\]|\(..|.)|\\\((..)|\\\[[^\]]*\]|\\[&|^%:cdu/,]"),
        "",
    ),
)
_TEXT_MACROS = {"SH", "SS", "B", "I", "BR", "IR", "RB", "RI", "BI", "IB", "SM", "SB", "IP", "Nd", "Dl"}
_BREAK_MACROS = {"SH", "SS", "PP", "LP", "P", "TP", "IP", "Sh", "Pp"}


def strip_roff(source: str) -> str:
    """The text of a manual page: paragraphs separated by blank lines, markup gone."""
    paragraphs: list[list[str]] = [[]]
    for line in source.splitlines():
        if line.startswith(('.\\"', "'\\\"", '.\\"')):
            continue
        if line.startswith((".", "'")):
            name, _, rest = line[1:].strip().partition(" ")
            if name in _BREAK_MACROS and paragraphs[-1]:
                paragraphs.append([])
            if name not in _TEXT_MACROS or not rest:
                continue
            line = rest.replace('"', "")
        for pattern, replacement in _ROFF_REPLACE:
            line = pattern.sub(replacement, line)
        if line.strip():
            paragraphs[-1].append(line.strip())
        elif paragraphs[-1]:
            paragraphs.append([])
    return "\n\n".join(" ".join(p) for p in paragraphs if p)


def manual_pages(rng: random.Random, wanted: int, chars: tuple[int, int]) -> Iterator[tuple[str, str, str]]:
    """(name, one-line description, text) of English manual pages whose text has `chars` characters."""
    paths = sorted(p for section in sorted(MAN.glob("man[1-8]")) for p in section.iterdir())
    rng.shuffle(paths)
    given = 0
    for path in paths:
        if given >= wanted:
            return
        try:
            with gzip.open(path, "rt", encoding="utf-8", errors="replace") as stream:
                source = stream.read()
        except (OSError, EOFError):
            continue
        if source.startswith(".so ") or ".Dd" in source[:2_000]:
            continue  # links to another page; BSD mdoc pages keep little text once macros go
        text = strip_roff(source)
        description = ""
        heading = text.find("NAME\n\n")
        if heading >= 0:
            first = text[heading + 6 :].split("\n\n", 1)[0]
            description = first.split(" - ", 1)[1].strip() if " - " in first else ""
        if chars[0] <= len(text) <= chars[1]:
            given += 1
            yield path.name, description, text


def _shingle_sets(texts: list[str], hasher: ShingleHasher) -> list[npt.NDArray[np.uint32]]:
    shingled = shingle_texts(pa.array(texts, type=pa.string()), hasher)
    offsets = shingled.window_offsets
    return [np.unique(shingled.mixed[offsets[i] : offsets[i + 1]]) for i in range(len(texts))]


@dataclass(frozen=True)
class RealDataset:
    dataset: Dataset
    left_out: dict[str, int]  # real texts not used, by reason
    sources: dict[str, str]  # post id -> where its text came from (changelog, docstring, ..., template)


class Decorator:
    """Makes real short texts look like posts of a microblogging platform."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)

    def handle(self) -> str:
        return "@" + self.fake.user_name()

    def link(self) -> str:
        return "https://t.co/" + "".join(
            self.rng.choices("abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ0123456789", k=10)
        )

    def decorate(self, text: str) -> str:
        roll = self.rng.random
        words = [w for w in re.findall(r"[A-Za-z]{4,}", text)]
        if roll() < 0.3:
            text = f"{self.handle()} {text}"
        if roll() < 0.25 and words:
            text += " #" + self.rng.choice(words).capitalize()
        if roll() < 0.25:
            text += " " + self.link()
        if roll() < 0.15:
            text += " " + self.rng.choice(EMOJI)
        if roll() < 0.5:  # as a platform's API serves it: HTML entities
            text = html.escape(text, quote=roll() < 0.5)
        if roll() < 0.1:
            text = f'"{text}"'
        if roll() < 0.08:
            text = f"RT {self.handle()}: {text}"
        return text

    def templated(self, vocabulary: list[str]) -> str:
        return self.rng.choice(TEMPLATES).format(
            name=self.fake.first_name(),
            city=self.fake.city(),
            thing=self.rng.choice(vocabulary),
            thing2=self.rng.choice(vocabulary),
            day=weekday(self.fake),
            n=self.rng.randint(2, 99),
            n2=self.rng.randint(100, 999),
        )

    def refill(self, templated: str, vocabulary: list[str]) -> str:
        head = next(t.split("{")[0] for t in TEMPLATES if templated.startswith(t.split("{")[0]))
        while True:
            other = self.templated(vocabulary)
            if other.startswith(head) and other != templated:
                return other

    def wrap_quote(self, text: str) -> str:
        style = self.rng.randrange(3)
        if style == 0:
            return f'As {self.handle()} put it: "{text}"'
        if style == 1:
            return f"> {text}"
        return f"Someone wrote this about it: {text} End of quote."

    def timeline(self, posts: list[str]) -> str:
        lines = []
        for text in posts:
            date = day_before(self.fake, 3).strftime("%b %d, %Y")
            lines.append(f"{self.fake.name()} {self.handle()} · {date}\n{text}\n{self.rng.randint(0, 999)} Likes")
        return "\n\n".join(lines)


def truncate(text: str, share: float) -> str:
    """The shortest run of first words holding at least `share` of the post's normalized characters."""
    words = text.split(" ")
    parts = [" ".join(words[:c]) for c in range(len(words) + 1)]
    lengths = normalized_lengths(parts)
    return parts[min(c for c, length in enumerate(lengths) if length >= share * lengths[-1])].rstrip() + "…"


def row_word_run(post: str, row: str) -> int:
    """Normalized characters of the longest run of the row's whole words that the post's normalized
    text holds (anywhere: the run may begin or end inside one of the post's words)."""
    text = normalize_texts(pa.array([post], type=pa.string())).to_pylist()[0]
    words = [w for w in normalize_texts(pa.array(row.split(), type=pa.string())).to_pylist() if w]
    best = 0
    for first in range(len(words)):
        run = ""
        for word in words[first:]:
            if run + word not in text:
                break
            run += word
        best = max(best, len(run))
    return best


def holds_more_than_half(post: str, row: str) -> bool:
    """Whether the row holds more than half of the post's normalized characters as one run of the row's
    whole words: a copy truncated to more than half, which the audit must find, not a near miss. The
    cut may fall inside a word of the post, as a scraper's character limit cuts: a first half
    "Update debian/TODO, remove obsolete" going on, by chance, with "item on canvas" of another post
    holds "... remove obsolete item" of "... remove obsolete items, add ...", more than half of it."""
    return 2 * row_word_run(post, row) > normalized_lengths([post])[0]


def _strip_punctuation(text: str) -> str:
    return re.sub(r"[^\w\s]", "", text)


def clean(text: str, cleaning: str, rng: random.Random, vocabulary: list[str]) -> str:
    """One cleaning a scraper or dataset builder applies to a copy."""
    if cleaning == "original":
        return html.unescape(text) if rng.random() < 0.5 else text
    if cleaning == "lowercase":
        return text.lower()
    if cleaning == "no_punctuation":
        return _strip_punctuation(html.unescape(text))
    if cleaning == "links_masked":
        return re.sub(r"@\w+", "@user", re.sub(r"https?://\S+", "http", text))
    if cleaning == "links_removed":
        return re.sub(r"\s+", " ", re.sub(r"@\w+:?|https?://\S+", "", text)).strip()
    if cleaning == "quotes_whitespace":
        plain = html.unescape(text)
        curly = re.sub(r'"([^"]*)"', "\u201c\\1\u201d", plain).replace("'", "\u2019")
        return re.sub(r" ", lambda _: rng.choice(("  ", " ", "\n", "\t")), curly)
    if cleaning == "truncated":
        # Cut after a word, keeping at least half of the post's text (normalized characters).
        return truncate(text, rng.uniform(0.5, 0.95))
    if cleaning == "word_changed":
        words = text.split(" ")
        candidates = [i for i, w in enumerate(words) if w.isalpha() and len(w) > 3]
        if candidates:
            at = rng.choice(candidates)
            replacement = rng.choice(vocabulary)
            while replacement.lower() == words[at].lower():
                replacement = rng.choice(vocabulary)
            words[at] = replacement
        return " ".join(words)
    raise ValueError(f"unknown cleaning {cleaning}")


def generate_real(
    posts: int = 10_000,
    pages: int = 700,
    planted_share: float = 0.4,
    page_chars: tuple[int, int] = (5_000, 60_000),
    seed: int = 7,
    progress: Callable[[str], None] | None = None,
) -> RealDataset:
    """Posts (5% templated bot posts) and a corpus of post rows, real pages and timelines, with ground truth."""
    say = progress or (lambda _: None)
    rng = random.Random(seed)
    decorator = Decorator(seed + 1)
    hasher = ShingleHasher(12)
    short_doc, long_doc = docstrings()
    man = list(manual_pages(random.Random(seed + 2), pages + 600, page_chars))
    described, man = man[:600], man[600:]  # descriptions come from pages that are not in the corpus
    # Not the summaries of installed packages: those change whenever a package is installed.
    pool = [*changelog_entries(), *short_doc, *(("manual", d) for _, d, _ in described if d)]
    seen: set[str] = set()
    texts: list[tuple[str, str]] = []
    for source, text in pool:
        if POST_CHARS[0] <= len(text) <= POST_CHARS[1] and text not in seen:
            seen.add(text)
            texts.append((source, text))
    rng.shuffle(texts)
    say(f"real short texts: {len(texts):,}; manual pages: {len(man):,}; long module docstrings: {len(long_doc):,}")
    page_texts = [text for _, _, text in man] + [d for d in long_doc if page_chars[0] <= len(d) <= page_chars[1]]
    rng.shuffle(page_texts)

    # Decorate, then keep the texts that share little with the pages and with the texts kept before them.
    decorated = [decorator.decorate(text) for _, text in texts]
    left_out = {"too_short": 0, "shared_with_pages": 0, "shared_with_posts": 0, "two_halves_holding_more_than_half": 0}
    page_shingles = unique_sorted(np.concatenate(_shingle_sets(page_texts, hasher)))
    kept: list[int] = []
    holders: dict[int, list[int]] = defaultdict(list)  # shingle -> kept texts holding it
    sizes: list[int] = []
    lengths = shingle_texts(pa.array(decorated), hasher).normalized_lengths
    for number, shingles in enumerate(_shingle_sets(decorated, hasher)):
        if lengths[number] < MIN_NORMALIZED:
            left_out["too_short"] += 1
            continue
        position = np.minimum(np.searchsorted(page_shingles, shingles), len(page_shingles) - 1)
        if np.mean(page_shingles[position] == shingles) >= SHARED_LIMIT:
            left_out["shared_with_pages"] += 1
            continue
        # Shared both ways: this text in the kept ones, and any kept one in this text.
        shared: dict[int, int] = defaultdict(int)
        for value in shingles.tolist():
            for holder in holders.get(value, ()):
                shared[holder] += 1
        if sum(shared.values()) and (
            sum(1 for v in shingles.tolist() if v in holders) >= SHARED_LIMIT * len(shingles)
            or any(count >= SHARED_LIMIT * sizes[holder] for holder, count in shared.items())
        ):
            left_out["shared_with_posts"] += 1
            continue
        for value in shingles.tolist():
            holders[value].append(len(kept))
        sizes.append(len(shingles))
        kept.append(number)
    if len(kept) < posts + 2_000:
        raise ValueError(f"only {len(kept):,} usable real texts for {posts:,} posts and 2,000 foreign posts")
    vocabulary = sorted({w for _, t in texts for w in re.findall(r"\b[a-z]{4,12}\b", t)})
    set_texts = [decorated[i] for i in kept[:posts]]
    foreign = [decorated[i] for i in kept[posts:]]
    sources = [texts[i][0] for i in kept[:posts]]
    for number in range(posts):
        if rng.random() < 0.05:
            set_texts[number], sources[number] = decorator.templated(vocabulary), "template"
    fake = decorator.fake
    post_rows = [
        {
            "id": f"p{number:07d}",
            "text": text,
            "author": fake.user_name(),
            "created_at": day_before(fake, 4).isoformat(),
            "url": f"https://example.social/status/{number}",
            "source": sources[number],
        }
        for number, text in enumerate(set_texts)
    ]

    files: dict[str, list[dict[str, str]]] = {"posts_dataset.parquet": [], "pages.parquet": [], "timelines.parquet": []}
    plants: list[Plant] = []
    sites = [fake.domain_name() for _ in range(12)]

    def add(file: str, text: str) -> int:
        rows = files[file]
        rows.append(
            {
                "id": f"{file.split('.')[0]}-{len(rows)}",
                "text": text,
                "url": f"https://{sites[rng.randrange(len(sites))]}/{len(rows)}",
            }
        )
        return len(rows) - 1

    def page_with(quoted: list[str]) -> str:
        paragraphs = page_texts[rng.randrange(len(page_texts))].split("\n\n")
        for text in quoted:
            paragraphs.insert(rng.randint(1, len(paragraphs)), decorator.wrap_quote(text))
        return "\n\n".join(paragraphs)

    foreign_at = itertools.cycle(foreign)  # timelines and background rows may reuse foreign posts
    planted = rng.sample(range(posts), int(posts * planted_share))
    pending: dict[str, list[tuple[str, str, str]]] = {"quote": [], "timeline": []}
    for index in planted:
        post = post_rows[index]
        placement, cleaning = rng.choice(PLACEMENTS), rng.choice(CLEANINGS)
        copy = clean(post["text"], cleaning, rng, vocabulary)
        if placement == "row":
            row = add("posts_dataset.parquet", copy)
            plants.append(Plant(post["id"], "posts_dataset.parquet", row, placement, cleaning))
        else:
            pending[placement].append((post["id"], copy, cleaning))
    quotes, timeline = pending["quote"], pending["timeline"]
    while quotes:
        batch = [quotes.pop() for _ in range(min(len(quotes), rng.randint(1, 3)))]
        row = add("pages.parquet", page_with([c for _, c, _ in batch]))
        plants.extend(Plant(pid, "pages.parquet", row, "quote", cl) for pid, _, cl in batch)
    while timeline:
        batch = [timeline.pop() for _ in range(min(len(timeline), rng.randint(2, 5)))]
        entries = [c for _, c, _ in batch] + [next(foreign_at) for _ in range(rng.randint(5, 40))]
        rng.shuffle(entries)
        row = add("timelines.parquet", decorator.timeline(entries))
        plants.extend(Plant(pid, "timelines.parquet", row, "timeline", cl) for pid, _, cl in batch)

    # Near misses: half of one post joined to half of another; a templated post filled in differently.
    unplanted = sorted(set(range(posts)) - set(planted))
    templated = [i for i in unplanted if post_rows[i]["source"] == "template"]
    plain = [i for i in unplanted if post_rows[i]["source"] != "template"]
    rng.shuffle(plain)
    near: list[tuple[list[str], str, str]] = []
    for a, b in zip(plain[: posts // 10 : 2], plain[1 : posts // 10 : 2], strict=False):
        text = half_of(post_rows[a]["text"], first=True) + " " + half_of(post_rows[b]["text"], first=False)
        if holds_more_than_half(post_rows[a]["text"], text) or holds_more_than_half(post_rows[b]["text"], text):
            # The first half went on, by chance, with the next whole words of its post ("Adjust packaging
            # for" + "using the ..." of the other post): the row is a copy truncated to more than half.
            left_out["two_halves_holding_more_than_half"] += 1
            continue
        near.append(([post_rows[a]["id"], post_rows[b]["id"]], text, "two_halves"))
    for i in templated:
        near.append(([post_rows[i]["id"]], decorator.refill(post_rows[i]["text"], vocabulary), "template_refilled"))
    for ids, text, kind in near:
        if rng.random() < 0.5:
            file, row = "posts_dataset.parquet", add("posts_dataset.parquet", text)
        else:
            file, row = "pages.parquet", add("pages.parquet", page_with([text]))
        plants.extend(Plant(pid, file, row, "near_miss", kind, near_miss=True) for pid in ids)

    # Background: foreign posts as rows, real pages and timelines that carry nothing of the set.
    for _ in range(posts):
        add("posts_dataset.parquet", next(foreign_at))
    for _ in range(pages):
        add("pages.parquet", page_with([]))
    for _ in range(max(1, pages // 4)):
        add("timelines.parquet", decorator.timeline([next(foreign_at) for _ in range(rng.randint(10, 40))]))
    say(f"generated {posts:,} posts, {sum(len(r) for r in files.values()):,} corpus rows")
    origin = {row["id"]: row.pop("source") for row in post_rows}
    return RealDataset(Dataset(post_rows, files, plants), left_out, origin)
