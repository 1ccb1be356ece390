"""What a build works out once for the leaflet it is on, shared by the formats made from it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class LastMade(Generic[T]):
    """The one value made last, kept for as long as it is asked for with the very same objects
    (by identity: a leaflet and the settings it was read with; an equal but other object is a
    new leaflet). A build makes every format of one leaflet before the next, so the formats of
    a leaflet share one value and a worker never holds more than one."""

    def __init__(self) -> None:
        self._key: tuple[object, ...] = ()
        self._value: T | None = None

    def get(self, key: tuple[object, ...], make: Callable[[], T]) -> T:
        if self._value is None or len(key) != len(self._key) or any(a is not b for a, b in zip(key, self._key, strict=True)):
            self._value = make()  # made before the key is kept: a make that raises leaves no half entry
            self._key = key
        return self._value
