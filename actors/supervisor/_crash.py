"""Crash reporting for makers: a failure hook wrapped around whatever maker class is used.

A maker has crashed when any of its handlers raises:
- FatalActorError: MmdActor lets it through and Pykka stops the actor. The supervisor
  would notice the dead maker on its monitor tick anyway; this hook tells it at once,
  and deterministically in replays.
- any other exception: MmdActor logs it, counts it (errors["handler:<message>"]) and
  carries on, which is right for actors that must survive one bad message, but a maker
  whose handler failed half way may hold orders its book no longer knows. The hook sees
  the count rise after the base has logged the exception and reports MakerCrashed; the
  supervisor then closes the session as `crashed`, sweeps its ticker (CancelAllOrders via
  risk) and stops the maker. Other actors keep MmdActor's behaviour: only the wrapped
  maker class reports. One report per maker.

A maker whose on_start raises never handles a message: Pykka stops it at once. The hook
publishes MakerStartFailed, so the supervisor's monitor (which skips ticks with nothing to
do) ticks at its next turn, finds the maker dead and closes the session as it always did.

Hazard: the in-flight count could read zero (a replay step "quiet") between the crash
and a later report. The hook wraps MmdActor.handle_message, inside on_receive, which
marks the message done only after MakerCrashed is published.
"""

from __future__ import annotations

import functools
import logging

from messages import Message, message

__all__ = ["MakerCrashed", "MakerStartFailed", "crash_reporting"]


@message
class MakerCrashed(Message):
    """A maker's handler failed and Pykka is stopping it (supervisor-internal event)."""

    session_id: str
    ticker: str
    error: str
    ts: int


@message
class MakerStartFailed(Message):
    """A maker's on_start raised: Pykka stopped it (supervisor-internal event)."""

    session_id: str
    ticker: str
    error: str
    ts: int


def _session_id_of(maker) -> str:
    session = getattr(maker, "session", None)
    return str(getattr(maker, "session_id", "") or getattr(session, "session_id", "") or "")


@functools.cache  # one subclass per maker class, not one per session
def crash_reporting(maker_class: type) -> type:
    """A subclass of `maker_class` that publishes MakerCrashed when a handler fails."""

    class CrashReportingMaker(maker_class):  # type: ignore[misc, valid-type]
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.log = logging.getLogger(f"mmd.{maker_class.__name__}")  # logs under the maker's own name
            self._crash_reported = False

        def on_start(self) -> None:
            try:
                super().on_start()
            except BaseException as exc:
                self.bus.publish(
                    MakerStartFailed(
                        session_id=_session_id_of(self), ticker=str(getattr(self, "ticker", "")),
                        error=f"{type(exc).__name__}: {exc}", ts=self.clock.now_ns(),
                    )
                )
                raise

        def handle_message(self, incoming):
            # MmdActor.on_receive marks the message done only after this returns or
            # raises: the report goes out while the message still counts in flight
            failures_before = self.handler_failures
            try:
                result = super().handle_message(incoming)
            except BaseException as exc:
                self._report_crash(f"{type(exc).__name__}: {exc}")
                raise
            if self.handler_failures > failures_before:  # logged and swallowed by MmdActor
                self._report_crash(f"{type(incoming).__name__} handler failed (logged above)")
            return result

        def _report_crash(self, error: str) -> None:
            if self._crash_reported:
                return
            self._crash_reported = True
            self.bus.publish(
                MakerCrashed(
                    session_id=_session_id_of(self),
                    ticker=str(getattr(self, "ticker", "")),
                    error=error,
                    ts=self.clock.now_ns(),
                )
            )

    CrashReportingMaker.__name__ = CrashReportingMaker.__qualname__ = f"CrashReporting{maker_class.__name__}"
    return CrashReportingMaker
