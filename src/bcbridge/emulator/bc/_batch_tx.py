"""Savepoints over the record store, for ``Isolation: snapshot`` and atomicity groups."""

from __future__ import annotations

import copy
import weakref
from typing import Any

__all__ = ["Savepoint", "savepoint"]


class _HeldEvents:
    """Change events of an open transaction, delivered only when it commits.

    BC raises no webhook notification for a change that was rolled back, so while a
    savepoint is open the store's listeners are swapped for a recorder; the outermost
    release replays what survived to the real listeners.
    """

    def __init__(self, store: Any) -> None:
        self.store = store
        self.listeners: list[Any] = store._listeners
        self.events: list[tuple[Any, ...]] = []
        self.depth = 0
        store._listeners = [self.record]

    def record(self, *event: Any) -> None:
        self.events.append(event)

    def deliver(self) -> None:
        self.store._listeners = self.listeners
        for event in self.events:
            for listener in list(self.listeners):
                listener(*event)


_HELD: weakref.WeakKeyDictionary[Any, _HeldEvents] = weakref.WeakKeyDictionary()


def _side_tables() -> list[weakref.WeakKeyDictionary[Any, Any]]:
    """Per-store state kept beside the store: warehouse picks, web-service extension fields, pictures."""
    from bcbridge.emulator.bc import _custom_warehouse, _ws_model, pictures

    return [_custom_warehouse._STATE, _ws_model._EXTENSIONS, pictures._STATE]


class Savepoint:
    """A point the store can roll back to; holds the store's write lock until closed.

    Holding the lock makes the batch a transaction for other clients too: their writes
    wait until the batch commits or rolls back, as SQL's snapshot isolation would make
    them. The lock is re-entrant, so the batch's own inner requests write through it.
    Change notifications wait for the commit (:class:`_HeldEvents`).
    """

    def __init__(self, store: Any) -> None:
        self._store = store
        self._store.lock.acquire()
        self._snapshot = store.snapshot()
        self._side = [(table, copy.deepcopy(table.get(store))) for table in _side_tables()]
        self._held: _HeldEvents | None = None
        if isinstance(getattr(store, "_listeners", None), list):
            self._held = _HELD.get(store) or _HELD.setdefault(store, _HeldEvents(store))
            self._held.depth += 1
            self._mark = len(self._held.events)
        self._open = True

    def rollback(self) -> None:
        """Undo every store change made since the savepoint and release it."""
        if self._open:
            self._store.restore(self._snapshot)
            for table, saved in self._side:
                if saved is None:
                    table.pop(self._store, None)
                else:
                    table[self._store] = saved
            if self._held is not None:
                del self._held.events[self._mark :]
            self.release()

    def release(self) -> None:
        """Keep the changes; release the lock (the outermost release delivers events)."""
        if not self._open:
            return
        self._open = False
        try:
            if self._held is not None:
                self._held.depth -= 1
                if self._held.depth == 0:
                    _HELD.pop(self._store, None)
                    self._held.deliver()
        finally:
            self._store.lock.release()


def savepoint(bc: Any) -> Savepoint:
    """A :class:`Savepoint` of ``bc.store`` (:class:`~bcbridge.emulator.bc.store.Store`)."""
    return Savepoint(bc.store)
