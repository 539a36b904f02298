"""AnalyticsActor: the analytics sink, a thin Pykka shell over AnalyticsStore.

Direction: events come *up* to it by bus tell only; it never asks anyone, so it cannot
take part in an ask cycle. Writes are off the trading path: handlers only buffer rows;
SQLite is written when a buffer reaches batch_size, on the FlushDue timer, on
flush_now(), and on stop (so nothing buffered is lost on shutdown). The timer is armed by
the first row that finds the buffers empty, so a row waits at most flush_interval_s and an
idle sink costs nothing (a replay of a quiet market no longer wakes it every second);
when rows are written does not change which rows, nor their order in each table.

It also keeps the last fills (RecentFills, bounded) for get_status: GET /status lists
them.

The actor does not own the store's lifetime: the app calls store.start_run before
starting it, and store.end_run / store.close after stopping it.
"""

from __future__ import annotations

from typing import Any

from config import AnalyticsConfig
from messages import BookUpdated, FlushDue, OrderFilled
from kernel.bus import Bus, InFlightTracker
from kernel.clock import seconds

from .._base import MmdActor, handles
from ._recent_fills import RecentFills
from ._rows import RECORDED_MESSAGES
from ._sampling import SnapshotSampler
from ._store import AnalyticsStore

__all__ = ["AnalyticsActor"]

_EVENTS = tuple(t for t in RECORDED_MESSAGES if t is not BookUpdated)
_FLUSH = "flush"  # key of the FlushDue timer


class AnalyticsActor(MmdActor):
    subscriptions = RECORDED_MESSAGES

    def __init__(
        self,
        *,
        clock: Any,
        bus: Bus,
        tracker: InFlightTracker | None = None,
        store: AnalyticsStore,
        config: AnalyticsConfig,
    ) -> None:
        super().__init__(clock=clock, bus=bus, tracker=tracker)
        self.store = store
        self.batch_size = config.batch_size
        self.flush_interval_ns = seconds(config.flush_interval_s)
        self.sampler = SnapshotSampler(seconds(config.snapshot_interval_s))
        self.recent_fills = RecentFills(config.recent_fills)

    # -- lifecycle ----------------------------------------------------------------------
    def on_stop(self) -> None:
        self._shut_down()

    def on_failure(self, exception_type: Any, exception_value: Any, traceback: Any) -> None:
        self._shut_down()  # on_stop does not run after a failure: still keep the rows

    def _shut_down(self) -> None:
        self.timers.cancel_all()
        self._flush()

    # -- events -------------------------------------------------------------------------
    @handles(*_EVENTS)
    def on_event(self, message: Any) -> None:
        if isinstance(message, OrderFilled):
            self.recent_fills.add(message)
        self._buffer(message)

    @handles(BookUpdated)
    def on_book_updated(self, message: BookUpdated) -> None:
        if self.sampler.should_sample(message.ticker, message.ts_recv):
            self._buffer(message)

    @handles(FlushDue)
    def on_flush_due(self, message: FlushDue) -> None:
        if not self.timers.fired(_FLUSH, message):
            return
        self._flush()
        if self.store.pending:  # rows a failed write kept: try again next interval
            self._arm_flush()

    def _arm_flush(self) -> None:
        due_ns = self.clock.now_ns() + self.flush_interval_ns
        self.timers.arm_at(_FLUSH, due_ns, FlushDue(ts=due_ns))

    def _buffer(self, message: Any) -> None:
        pending = self.store.record(message)
        if pending >= self.batch_size:
            self._flush()
        elif pending and not self.timers.armed(_FLUSH):
            self._arm_flush()

    def _flush(self) -> int:
        return self.store.flush(self.clock.now_ns())

    # -- proxy API (control and queries) ------------------------------------------------
    def flush_now(self) -> int:
        """Write everything pending now; returns rows written. For graceful shutdown."""
        return self._flush()

    def get_status(self) -> dict[str, Any]:
        return {
            **self.store.stats(),
            "snapshots_sampled": self.sampler.sampled,
            "snapshots_skipped": self.sampler.skipped,
            "handler_errors": dict(self.errors),
            "recent_fills": self.recent_fills.rows(),
        }
