"""The simulator's depth book: the operations between two books (simulator/depth_book.py)."""

from __future__ import annotations

import random
from decimal import Decimal as D

from ibkr_broker.simulator import depth_book as db


def test_depth_operations_rebuild_the_new_book_and_never_overflow_it() -> None:
    rng = random.Random(3)
    old: list[db.Row] = []
    for _ in range(300):
        levels = sorted(rng.sample(range(20), rng.randrange(0, 6)))
        new = [db.Row(D(100 + p), D(rng.randrange(1, 5) * 100)) for p in levels]
        book = list(old)
        for op in db.diff_side(old, new, db.ASK, limit=5):
            db.apply(book, op)
            assert len(book) <= 5
        assert book == new
        old = new
