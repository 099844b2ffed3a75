"""Realistic synthetic posts and a Parquet corpus that carries some of them, with ground truth.

Text: Zipf-weighted English words (Faker's word list) with function words and stock phrases, so posts
and pages share short n-grams by chance as real English does. Posts look like a platform's: mentions,
hashtags, links, emoji, HTML entities, `RT @user:` prefixes, curly quotes.

Placements of a post in the corpus: a row of a post dataset, quoted inside a long page, one post of a
scraped timeline. Cleanings applied to a planted copy: the ones scrapers and dataset builders apply.
Near misses, which must not match: rows sharing half of a post, and templated posts filled in
differently.
"""

from __future__ import annotations

import html
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import pyarrow as pa
from faker import Faker
from faker.providers.lorem.en_US import Provider as LoremProvider

from auditor.kernels.normalize import normalize_texts

# Dates are drawn before a fixed day, not before today: Faker's relative dates ("-3y", and day_of_week,
# drawn from the epoch to now) move with the clock, so the generated data, and every figure measured on
# it, changed from one run to the next.
REFERENCE_DAY = date(2026, 1, 1)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def day_before(fake: Faker, years: int) -> date:
    """A day of the `years` years before REFERENCE_DAY, drawn from `fake`'s seeded random source."""
    start = REFERENCE_DAY.replace(year=REFERENCE_DAY.year - years)
    day: date = fake.date_between(start_date=start, end_date=REFERENCE_DAY)
    return day


def weekday(fake: Faker) -> str:
    """A day of the week, drawn from `fake`'s seeded random source."""
    name: str = fake.random_element(WEEKDAYS)
    return name


FUNCTION_WORDS = [
    "the",
    "the",
    "the",
    "a",
    "a",
    "to",
    "to",
    "of",
    "of",
    "and",
    "and",
    "in",
    "is",
    "it",
    "you",
    "that",
    "i",
    "for",
    "on",
    "with",
    "this",
    "my",
    "so",
    "just",
    "be",
    "have",
    "was",
    "are",
    "not",
    "but",
    "at",
    "we",
    "they",
    "what",
    "all",
    "can",
    "do",
    "if",
    "me",
    "about",
    "your",
    "like",
    "from",
    "one",
    "out",
    "up",
    "there",
    "when",
    "get",
    "now",
    "more",
    "how",
    "no",
    "time",
    "people",
    "some",
    "really",
    "know",
    "think",
    "good",
    "new",
    "day",
    "go",
    "got",
    "been",
    "would",
    "see",
]
STOCK_PHRASES = (
    "thank you so much",
    "at the end of the day",
    "i can't believe",
    "to be honest",
    "let me know",
    "in the morning",
    "as soon as possible",
    "this is not",
    "one of the best",
    "i don't know",
    "on the other hand",
    "for the first time",
    "what do you think",
    "all the time",
    "right now",
    "can't wait for",
    "happy new year",
    "a lot of people",
    "if you want to",
    "i just want to",
)
EMOJI = ("😂", "❤️", "🔥", "👍", "🙏", "😭", "✨", "🎉", "💯", "🤔")
PLACEMENTS = ("row", "quote", "timeline")
CLEANINGS = (
    "original",
    "lowercase",
    "no_punctuation",
    "links_masked",
    "links_removed",
    "quotes_whitespace",
    "truncated",
    "word_changed",
)
TEMPLATES = (
    "Happy birthday {name}! Wishing you a wonderful year full of {thing} and {thing2}, see you in {city} soon",
    "Weather update for {city}: {n} degrees and {thing} expected this {day}, wind {n2} km/h, stay safe {name}",
    "New order from {name} in {city}: {n} units of {thing}, shipping on {day}, tracking number {n2}{n}",
    "Congratulations to {name} from {city} for winning the {thing} award this {day} with {n} points!",
)


@dataclass
class Writer:
    """Generates words, sentences, posts and pages from one seeded random source."""

    seed: int
    rng: random.Random = field(init=False)
    fake: Faker = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.fake = Faker("en_US")
        self.fake.seed_instance(self.seed)
        words = [w.lower() for w in LoremProvider.word_list]
        # Zipf weights over the content vocabulary; function words make up about half the tokens, as in English.
        self.vocab = FUNCTION_WORDS + words
        self.weights = [0.2] * len(FUNCTION_WORDS) + [1.0 / (rank + 1) ** 0.8 for rank in range(len(words))]

    def words(self, count: int) -> list[str]:
        return self.rng.choices(self.vocab, weights=self.weights, k=count)

    def sentence(self, low: int = 5, high: int = 16) -> str:
        words = self.words(self.rng.randint(low, high))
        if self.rng.random() < 0.3:
            words.insert(self.rng.randrange(len(words) + 1), self.rng.choice(STOCK_PHRASES))
        text = " ".join(words)
        return text[0].upper() + text[1:] + self.rng.choice(".!?.")

    def handle(self) -> str:
        return "@" + self.fake.user_name()

    def post(self) -> str:
        # Posts of 60 to 280 characters, as on a microblogging platform.
        parts = [self.sentence() for _ in range(self.rng.randint(1, 3))]
        while sum(len(p) for p in parts) < 60:
            parts.append(self.sentence())
        text = " ".join(parts)
        roll = self.rng.random
        if roll() < 0.3:
            text = f"{self.handle()} {text}"
        if roll() < 0.25:
            text += f" #{self.rng.choice(self.vocab)}{self.rng.choice(self.vocab).capitalize()}"
        if roll() < 0.25:
            text += f" https://t.co/{self.fake.pystr(min_chars=10, max_chars=10)}"
        if roll() < 0.2:
            text += " " + self.rng.choice(EMOJI)
        if roll() < 0.1:
            text = text.replace(" and ", " &amp; ", 1)
        if roll() < 0.15:
            text = f'"{text}"'
        if roll() < 0.08:
            text = f"RT {self.handle()}: {text}"
        return text[:280]

    def templated(self) -> str:
        template = self.rng.choice(TEMPLATES)
        return template.format(
            name=self.fake.first_name(),
            city=self.fake.city(),
            thing=self.rng.choice(self.vocab),
            thing2=self.rng.choice(self.vocab),
            day=weekday(self.fake),
            n=self.rng.randint(2, 99),
            n2=self.rng.randint(100, 999),
        )

    def refill(self, templated: str) -> str:
        """Another instance of the template a templated post came from (a near miss)."""
        for template in TEMPLATES:
            head = template.split("{")[0]
            if templated.startswith(head):
                other = self.templated()
                while not other.startswith(head):
                    other = self.templated()
                return other
        raise ValueError("not a templated post")

    def paragraph(self) -> str:
        return " ".join(self.sentence(6, 22) for _ in range(self.rng.randint(2, 7)))

    def page(self, low: int, high: int, quoted: list[str]) -> str:
        """A news or blog page of low..high characters quoting the given texts."""
        target = self.rng.randint(low, high)
        paragraphs: list[str] = [self.fake.catch_phrase().title()]
        size = 0
        while size < target:
            paragraphs.append(self.paragraph())
            size += len(paragraphs[-1])
        for text in quoted:
            style = self.rng.randrange(3)
            if style == 0:
                block = f'As {self.handle()} put it: "{text}"'
            elif style == 1:
                block = f"> {text}"
            else:
                block = f"{self.sentence()} {text} {self.sentence()}"
            paragraphs.insert(self.rng.randint(1, len(paragraphs)), block)
        return "\n\n".join(paragraphs)

    def timeline(self, posts: list[str]) -> str:
        """A scraped timeline or thread: handles, dates and like counts between posts."""
        lines = []
        for text in posts:
            date = day_before(self.fake, 3).strftime("%b %d, %Y")
            lines.append(f"{self.fake.name()} {self.handle()} · {date}\n{text}\n{self.rng.randint(0, 999)} Likes")
        return "\n\n".join(lines)


def _strip_punctuation(text: str) -> str:
    return re.sub(r"[^\w\s]", "", text)


def clean(text: str, cleaning: str, rng: random.Random, writer: Writer) -> str:
    """Apply one cleaning a scraper or dataset builder would apply."""
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
        curly = re.sub(r'"([^"]*)"', "\u201c\\1\u201d", text).replace("'", "\u2019")
        return re.sub(r" ", lambda _: rng.choice(("  ", " ", "\n", "\t")), curly)
    if cleaning == "truncated":
        cut = int(len(text) * rng.uniform(0.85, 0.9))
        return text[:cut].rstrip() + "…"
    if cleaning == "word_changed":
        words = text.split(" ")
        candidates = [i for i, w in enumerate(words) if w.isalpha() and len(w) > 3]
        if candidates:
            words[rng.choice(candidates)] = writer.rng.choice(writer.vocab[len(FUNCTION_WORDS) :])
        return " ".join(words)
    raise ValueError(f"unknown cleaning {cleaning}")


def normalized_lengths(parts: list[str]) -> list[int]:
    return [len(text) for text in normalize_texts(pa.array(parts, type=pa.string())).to_pylist()]


def half_of(text: str, first: bool) -> str:
    """The first (or last) words of a post holding at most half of its normalized characters (the
    characters matching sees: links, mentions and punctuation do not count)."""
    words = text.split(" ")
    parts = [" ".join(words[:c] if first else words[len(words) - c :]) for c in range(len(words) + 1)]
    lengths = normalized_lengths(parts)
    return parts[max(c for c, length in enumerate(lengths) if length <= lengths[-1] / 2)]


@dataclass(frozen=True)
class Plant:
    """Ground truth: post `post_id` is carried by `row` of `file` (placement, cleaning), or is a near miss."""

    post_id: str
    file: str
    row: int
    placement: str
    cleaning: str
    near_miss: bool = False


@dataclass
class Dataset:
    posts: list[dict[str, str]]
    files: dict[str, list[dict[str, str]]]  # file name -> rows (id, text, url)
    plants: list[Plant]


def generate(
    posts: int = 2_000,
    planted_share: float = 0.4,
    background_pages: int = 200,
    page_chars: tuple[int, int] = (5_000, 60_000),
    seed: int = 7,
    progress: Callable[[str], None] | None = None,
    planted_before: str | None = None,
) -> Dataset:
    """Posts (a share of them templated), and a corpus of post rows, pages and timelines."""
    writer = Writer(seed)
    rng = random.Random(seed + 1)
    post_rows: list[dict[str, str]] = []
    for number in range(posts):
        text = writer.templated() if rng.random() < 0.05 else writer.post()
        post_rows.append(
            {
                "id": f"p{number:07d}",
                "text": text,
                "author": writer.fake.user_name(),
                "created_at": day_before(writer.fake, 4).isoformat(),
                "url": f"https://example.social/status/{number}",
            }
        )
    files: dict[str, list[dict[str, str]]] = {"posts_dataset.parquet": [], "pages.parquet": [], "timelines.parquet": []}
    plants: list[Plant] = []

    sites = [writer.fake.domain_name() for _ in range(12)]  # corpora come from a few sites, many pages each

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

    # Only posts published by `planted_before` can be in the corpus (it was collected then); later posts
    # are the negative control.
    eligible = [i for i in range(posts) if planted_before is None or post_rows[i]["created_at"] <= planted_before]
    planted = rng.sample(eligible, min(len(eligible), int(posts * planted_share)))
    pending_quotes: list[tuple[str, str, str]] = []
    pending_timeline: list[tuple[str, str, str]] = []
    for index in planted:
        post = post_rows[index]
        placement = rng.choice(PLACEMENTS)
        cleaning = rng.choice(CLEANINGS)
        copy = clean(post["text"], cleaning, rng, writer)
        if placement == "row":
            row = add("posts_dataset.parquet", copy)
            plants.append(Plant(post["id"], "posts_dataset.parquet", row, placement, cleaning))
        elif placement == "quote":
            pending_quotes.append((post["id"], copy, cleaning))
        else:
            pending_timeline.append((post["id"], copy, cleaning))
    # Pages quote one to three posts each; timelines carry two to five planted posts among foreign ones.
    while pending_quotes:
        batch = [pending_quotes.pop() for _ in range(min(len(pending_quotes), rng.randint(1, 3)))]
        row = add("pages.parquet", writer.page(*page_chars, quoted=[c for _, c, _ in batch]))
        plants.extend(Plant(pid, "pages.parquet", row, "quote", cl) for pid, _, cl in batch)
    while pending_timeline:
        batch = [pending_timeline.pop() for _ in range(min(len(pending_timeline), rng.randint(2, 5)))]
        texts = [c for _, c, _ in batch] + [writer.post() for _ in range(rng.randint(5, 40))]
        rng.shuffle(texts)
        row = add("timelines.parquet", writer.timeline(texts))
        plants.extend(Plant(pid, "timelines.parquet", row, "timeline", cl) for pid, _, cl in batch)
    # Near misses: half of a post inside a page or as a row; a templated post filled in differently.
    unplanted = sorted(set(range(posts)) - set(planted))
    for index in rng.sample(unplanted, min(len(unplanted), max(1, posts // 10))):
        post = post_rows[index]
        if any(post["text"].startswith(t.split("{")[0]) for t in TEMPLATES):
            text, kind = writer.refill(post["text"]), "template_refilled"
        else:
            text, kind = half_of(post["text"], first=rng.random() < 0.5), "half_post"
        if rng.random() < 0.5:
            file, row = "posts_dataset.parquet", add("posts_dataset.parquet", text)
        else:
            file, row = "pages.parquet", add("pages.parquet", writer.page(2_000, 8_000, quoted=[text]))
        plants.append(Plant(post["id"], file, row, "near_miss", kind, near_miss=True))
    # Background: foreign posts and pages that carry nothing of the set.
    for _ in range(posts):
        add("posts_dataset.parquet", writer.post())
    for _ in range(background_pages):
        add("pages.parquet", writer.page(*page_chars, quoted=[]))
    for _ in range(max(1, background_pages // 4)):
        add("timelines.parquet", writer.timeline([writer.post() for _ in range(rng.randint(10, 40))]))
    if progress is not None:
        progress(f"generated {posts:,} posts, {sum(len(r) for r in files.values()):,} corpus rows")
    return Dataset(post_rows, files, plants)
