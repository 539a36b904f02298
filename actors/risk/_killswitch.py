"""The kill switch's state: engaged until a manual resume, and nothing else clears it.

With a file, an engaged switch survives a restart: engaging writes the file, only a
release removes it, and a file that cannot be read counts as engaged (fail safe: a
corrupt file must not silently re-enable trading).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

__all__ = ["KillSwitch"]

log = logging.getLogger(__name__)


class KillSwitch:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.engaged = False
        self.reason = ""
        self.since_ns: int | None = None
        self.restored = False
        if path is not None and path.exists():
            self._restore(path)

    def _restore(self, path: Path) -> None:
        self.engaged = True
        self.restored = True
        try:
            saved = json.loads(path.read_text())
            self.reason = f"restored after restart: {saved['reason']}"
            self.since_ns = int(saved["since_ns"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.reason = f"restored after restart: unreadable {path.name} ({exc.__class__.__name__})"
            log.error("kill switch file %s is unreadable; staying HALTED until a resume", path)

    def engage(self, reason: str, now_ns: int) -> bool:
        """Engage (or keep engaged). True when it was not engaged before."""
        newly = not self.engaged
        if newly:
            self.engaged, self.reason, self.since_ns, self.restored = True, reason, now_ns, False
            self._save()
        return newly

    def release(self) -> bool:
        """The manual resume. True when it was engaged."""
        was = self.engaged
        self.engaged, self.reason, self.since_ns, self.restored = False, "", None, False
        if self.path is not None:
            try:
                self.path.unlink(missing_ok=True)
            except OSError:
                log.exception("could not remove kill switch file %s", self.path)
        return was

    def _save(self) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"reason": self.reason, "since_ns": self.since_ns}))
            os.replace(tmp, self.path)
        except OSError:
            # still engaged in memory; only the restart survival is lost
            log.exception("could not persist the kill switch to %s", self.path)

    def status(self) -> dict:
        return {"engaged": self.engaged, "reason": self.reason, "since_ns": self.since_ns, "restored": self.restored}
