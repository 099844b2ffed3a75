"""The benchmarks' generated data depend on their seed only, not on the day they are generated: the
accuracy figures the README prints must be what its command prints again."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import faker.providers.date_time as faker_dates
import pytest

from benchmarks.realtext import Decorator
from benchmarks.synthetic import REFERENCE_DAY, Dataset, generate


def _later_clock(monkeypatch: pytest.MonkeyPatch, days: int) -> None:
    """Faker's clock (its `datetime.now` and `date.today`) moved `days` days ahead; what it tests as a
    date or a datetime still is one."""

    class Plain(type):
        def __instancecheck__(cls, instance: object) -> bool:
            return isinstance(instance, cls.__mro__[1])

    class LaterDateTime(datetime, metaclass=Plain):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return datetime.now(tz) + timedelta(days=days)

    class LaterDate(date, metaclass=Plain):
        @classmethod
        def today(cls) -> Any:
            return date.today() + timedelta(days=days)

    monkeypatch.setattr(faker_dates, "datetime", LaterDateTime)
    monkeypatch.setattr(faker_dates, "dtdate", LaterDate)


def _small(seed: int = 3) -> Dataset:
    return generate(posts=300, background_pages=4, page_chars=(2_000, 4_000), seed=seed)


def test_generated_data_do_not_move_with_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    today = _small()
    decorator = Decorator(5)
    decorated = [decorator.templated(["word"]) for _ in range(40)] + [decorator.timeline(["a post"] * 40)]
    _later_clock(monkeypatch, days=3 * 365 + 100)
    later = _small()
    assert later.posts == today.posts and later.files == today.files and later.plants == today.plants
    decorator = Decorator(5)
    assert [decorator.templated(["word"]) for _ in range(40)] + [decorator.timeline(["a post"] * 40)] == decorated
    assert max(post["created_at"] for post in today.posts) <= REFERENCE_DAY.isoformat()
    assert _small(seed=4).posts != today.posts  # the seed does move them


def test_a_two_halves_row_holding_more_than_half_of_a_post_is_told() -> None:
    from benchmarks.realtext import holds_more_than_half

    post = "Update debian/TODO, remove obsolete items, add some testsuite items. #Debian"  # 62 characters
    # 34 characters held, the run cut inside a word of the post
    assert holds_more_than_half(post, "Update debian/TODO, remove obsolete item on canvas self.cv)")
    assert not holds_more_than_half(post, "Update debian/TODO, remove obsolete with canvas self.cv)")  # 30
    other = "Add include/attr to debian/clean to fix building twice in a row."  # 51 characters
    assert not holds_more_than_half(other, "Add back upstream 'make distclean' to fix building twice in a row.")  # 24
    assert holds_more_than_half(other, "Add back 'make clean' to fix building twice in a row.")  # 29, whole words
    # RT is not held: normalization drops it from the post (17 of 33 characters held counting "rt", 15 not)
    retweet = "RT @dcox: Stop building the python3-venv package."
    assert not holds_more_than_half(retweet, "RT @dcox: Stop building the everywhere Closes: #1025506")
