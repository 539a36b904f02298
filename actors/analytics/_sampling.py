"""Which book updates become market_snapshots rows."""

from __future__ import annotations

__all__ = ["SnapshotSampler"]


class SnapshotSampler:
    """At most one snapshot per ticker per interval of clock time.

    Sampled on the message's ts_recv: it is stamped from the injected clock at ingestion,
    so it is clock time without the actor's queueing delay, and the choice depends on the
    messages alone (a replay samples the same updates).
    """

    def __init__(self, interval_ns: int) -> None:
        if interval_ns <= 0:
            raise ValueError(f"snapshot interval must be > 0 ns, got {interval_ns}")
        self.interval_ns = interval_ns
        self._last: dict[str, int] = {}
        self.sampled = 0
        self.skipped = 0

    def should_sample(self, ticker: str, ts_ns: int) -> bool:
        last = self._last.get(ticker)
        if last is not None and ts_ns - last < self.interval_ns:
            self.skipped += 1
            return False
        self._last[ticker] = ts_ns
        self.sampled += 1
        return True
