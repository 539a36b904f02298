"""Which book updates become market_snapshots rows."""

from __future__ import annotations

__all__ = ["SnapshotSampler"]

# tickers remembered before the first prune: a paper day prints books on ~16-40 markets
# at once (of ~400 a day); the prune is by age, so its size changes no sample taken
_MIN_PRUNE = 64


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
        self._prune_above = _MIN_PRUNE  # _last's size that triggers the next prune
        self.sampled = 0
        self.skipped = 0

    def should_sample(self, ticker: str, ts_ns: int) -> bool:
        last = self._last.get(ticker)
        if last is not None and ts_ns - last < self.interval_ns:
            self.skipped += 1
            return False
        self._last[ticker] = ts_ns
        self.sampled += 1
        if len(self._last) > self._prune_above:
            self._forget_before(ts_ns - 2 * self.interval_ns)
        return True

    def _forget_before(self, horizon_ns: int) -> None:
        """A ticker last sampled more than an interval ago samples its next update whether
        remembered or not: forget those (twice the interval, for updates a little out of
        order), or every market that ever printed a book stays for the life of the process.
        Amortised: pruned again once the map has doubled."""
        for ticker in [t for t, last in self._last.items() if last < horizon_ns]:
            del self._last[ticker]
        self._prune_above = max(_MIN_PRUNE, 2 * len(self._last))
