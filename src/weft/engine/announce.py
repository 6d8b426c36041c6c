"""Kept for one landing: the wake-up of other processes' workers lives in engine.wakeups."""

from weft.engine.wakeups import wake_workers_in_transaction as notify_in_transaction

__all__ = ["notify_in_transaction"]
