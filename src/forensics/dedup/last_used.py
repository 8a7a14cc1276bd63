"""A few values kept by key, the one used longest ago dropped first: what the checks at full size read once for
all the pairs that come together (a video's moments, a photo, a picture's features)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LastUsed(Generic[K, V]):
    """The values of the `size` keys used last."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._held: dict[K, V] = {}

    def __contains__(self, key: K) -> bool:
        return key in self._held

    def get(self, key: K, make: Callable[[], V]) -> V:
        """Gives the value of `key`, made by `make` when it is not held (an error `make` raises holds nothing)."""
        if key in self._held:
            value = self._held.pop(key)
        else:
            value = make()
            if len(self._held) >= self.size:
                self._held.pop(next(iter(self._held)))  # the one used longest ago
        self._held[key] = value
        return value
