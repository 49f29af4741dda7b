"""What a module keeps for the case running now: the wire trace (``_wire``) and the evidence
(``_evidence``) each have one.

The plugin starts a fresh one when a case's call begins and stops it after the case's
teardown; meanwhile the client helpers record into it, and outside a case (``now`` is None)
they record nothing.  One case runs at a time in a process: a check runs in one thread, and
a helper thread of its own (the fake upstream) records into the same case.
"""

from __future__ import annotations

from typing import Callable, Generic, TypeVar

T = TypeVar("T")


class PerCase(Generic[T]):
    """The ``T`` of the case running now (``now``, None outside a case), made by ``make``."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self.now: T | None = None

    def start(self) -> T:
        """A fresh one, for the case that begins now."""
        self.now = self._make()
        return self.now

    def stop(self) -> None:
        self.now = None

    def current(self) -> T | None:
        return self.now
