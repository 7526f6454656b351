"""A bounded, per-process store of things worth not making twice."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V", str, bytes)


class Kept(Generic[V]):
    """Values by key, least recently used first out, within a budget of characters or
    bytes. Per process and in memory only: what a caller keeps here may be a page, which
    may hold personal data, so this must never be a shared or persistent store."""

    def __init__(self, max_bytes: int, max_item_bytes: int) -> None:
        self.max_bytes, self.max_item_bytes = max_bytes, max_item_bytes
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()  # gthread workers serve several requests at once

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def set(self, key: Hashable, value: V) -> None:
        if len(value) > self.max_item_bytes:  # rare, and it would evict many small ones
            return
        with self._lock:
            old = self._items.pop(key, None)
            self._bytes += len(value) - (len(old) if old is not None else 0)
            self._items[key] = value
            while self._bytes > self.max_bytes:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= len(evicted)

    def get_or_make(self, key: Hashable, make: Callable[[], V]) -> V:
        """The kept value, or `make()`'s, kept. Two threads may both make a missing value
        once; the second to finish is kept."""
        value = self.get(key)
        if value is None:
            value = make()
            self.set(key, value)
        return value

    def __len__(self) -> int:
        return len(self._items)
