"""Ids: unique, ordered by creation, and a forked process does not repeat its parent's."""

from __future__ import annotations

import os

import pytest

from weft.ids import is_id, new_id

pytestmark = pytest.mark.unit


def test_ids_are_unique_and_sort_by_creation() -> None:
    ids = [new_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    assert all(is_id(i) for i in ids)
    millis = [i[:12] for i in ids]
    assert millis == sorted(millis)  # (the counter after them wraps every 65,536 ids)


def test_a_forked_child_draws_other_random_bytes_than_its_parent() -> None:
    new_id()  # the parent's block of random bytes is drawn
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, then out without pytest's cleanup
        os.write(write, ",".join(new_id() for _ in range(3)).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = os.read(read, 1000).decode().split(",")
    parent = [new_id() for _ in range(3)]
    # Counter and random bytes (the last 12 hex digits) differ, so ids made in the same
    # millisecond by both processes still differ.
    assert {c[12:] for c in child}.isdisjoint({p[12:] for p in parent})
