"""Savepoints over the record store, for ``Isolation: snapshot`` and atomicity groups."""

from __future__ import annotations

from typing import Any

__all__ = ["Savepoint", "savepoint"]


class Savepoint:
    """A point the store can roll back to; holds the store's write lock until closed.

    Holding the lock makes the batch a transaction for other clients too: their writes
    wait until the batch commits or rolls back, as SQL's snapshot isolation would make
    them. The lock is re-entrant, so the batch's own inner requests write through it.
    """

    def __init__(self, store: Any) -> None:
        self._store = store
        self._store.lock.acquire()
        self._snapshot = store.snapshot()
        self._open = True

    def rollback(self) -> None:
        """Undo every store change made since the savepoint and release it."""
        if self._open:
            self._store.restore(self._snapshot)
            self.release()

    def release(self) -> None:
        """Keep the changes; release the lock."""
        if self._open:
            self._open = False
            self._store.lock.release()


def savepoint(bc: Any) -> Savepoint:
    """A :class:`Savepoint` of ``bc.store`` (:class:`~bcbridge.emulator.bc.store.Store`)."""
    return Savepoint(bc.store)
