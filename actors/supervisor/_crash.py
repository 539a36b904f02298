"""Crash reporting for makers: a failure hook wrapped around whatever maker class is used.

Pykka stops an actor whose `tell` handler raises (MmdActor lets only FatalActorError
through). The supervisor notices a dead maker on its monitor tick anyway; this hook tells
it at once, and deterministically in replays.

Hazard: MmdActor marks the message done before the exception reaches Pykka, so the
in-flight count could read zero (a replay step "quiet") between the crash and any later
report. The wrapper holds one extra count across the handler and releases it only after
MakerCrashed is published.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from messages import Message, message

__all__ = ["MakerCrashed", "crash_reporting"]


@message
class MakerCrashed(Message):
    """A maker's handler failed and Pykka is stopping it (supervisor-internal event)."""

    session_id: str
    ticker: str
    error: str
    ts: int


def _session_id_of(maker) -> str:
    session = getattr(maker, "session", None)
    return str(getattr(maker, "session_id", "") or getattr(session, "session_id", "") or "")


@lru_cache(maxsize=None)
def crash_reporting(maker_class: type) -> type:
    """A subclass of `maker_class` that publishes MakerCrashed when a handler fails."""

    class CrashReportingMaker(maker_class):  # type: ignore[misc, valid-type]
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.log = logging.getLogger(f"mmd.{maker_class.__name__}")  # logs under the maker's own name

        def on_receive(self, incoming):
            tracker = self.tracker
            if tracker is not None:
                tracker.sent()  # held until a crash is reported (see the module hazard)
            try:
                return super().on_receive(incoming)
            except BaseException as exc:
                report = MakerCrashed(
                    session_id=_session_id_of(self),
                    ticker=str(getattr(self, "ticker", "")),
                    error=f"{type(exc).__name__}: {exc}",
                    ts=self.clock.now_ns(),
                )
                self.bus.publish(report)
                raise
            finally:
                if tracker is not None:
                    tracker.done()

    CrashReportingMaker.__name__ = CrashReportingMaker.__qualname__ = f"CrashReporting{maker_class.__name__}"
    return CrashReportingMaker
