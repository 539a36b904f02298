"""The directory: role name -> actor ref, so a message can name its reader instead of
carrying an actor ref.

A REST read names who gets the reply (`RestReadRequested.reply_to = "scanner"`); the REST
actor's shell resolves that name here when the reply is ready. The composition layer makes
one directory per daemon and hands it to the REST actor (which resolves) and to every
actor that reads (which registers itself under its role name while it is being built).

Hazard: registration must happen before the reader can send its first request (the
scanner reads in on_start; with an inline HTTP call the reply can come back before the
code that started the scanner runs its next line). A reader registers in its constructor,
which runs before its message loop starts, so no reply can outrun its entry.

Readers come and go (one maker per session): an entry whose actor has stopped resolves to
None and is dropped, and every registration sweeps out stopped ones, so the directory
holds the live readers (and those stopped since the last registration). Thread-safe: the
supervisor starts makers on its thread while the REST actor resolves on its own.
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["Directory"]


class Directory:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._refs: dict[str, Any] = {}

    def register(self, name: str, ref: Any) -> None:
        """`ref` answers to `name` from now on (replacing an earlier holder of the name,
        e.g. a restarted maker of the same session)."""
        with self._lock:
            for stopped in [known for known, held in self._refs.items() if not held.is_alive()]:
                del self._refs[stopped]
            self._refs[name] = ref

    def resolve(self, name: str) -> Any | None:
        """The live actor ref registered under `name`, or None (never registered, or stopped)."""
        with self._lock:
            ref = self._refs.get(name)
            if ref is None:
                return None
            if not ref.is_alive():
                del self._refs[name]
                return None
            return ref

    def names(self) -> list[str]:
        """Every registered name (sorted), for status and tests."""
        with self._lock:
            return sorted(self._refs)
