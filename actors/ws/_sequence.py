"""Per-subscription sequence checking (kalshi-api.md §7.4).

`seq` counts per sid and rises by one, snapshots included (they share the sid's
counter). Any `seq != last + 1` is a gap: a frame for some market of the sid was lost,
so every market of that sid is untrusted until its own fresh snapshot arrives. A snapshot
makes its own market trusted, so when the gap shows on a snapshot, every OTHER market
of the sid is untrusted and refreshed. Sids are renumbered per connection, so everything
resets on reconnect.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

__all__ = ["SequenceTracker", "SequenceVerdict"]


@dataclass(frozen=True, slots=True)
class SequenceVerdict:
    gap: bool
    refresh: tuple[str, ...]  # markets of the sid that need a fresh snapshot (on a gap)
    apply: bool  # the frame's own market has a trusted book (or this is its snapshot): apply it


class SequenceTracker:
    def __init__(self) -> None:
        self._last: dict[int, int] = {}
        self._tickers: dict[int, set[str]] = defaultdict(set)
        self._trusted: set[str] = set()
        self.gaps = 0

    def watch(self, sid: int, tickers: tuple[str, ...] | list[str]) -> None:
        """Markets subscribed on `sid`: refreshed on a gap even if no frame named them yet."""
        self._tickers[sid].update(tickers)

    def unwatch(self, sid: int, tickers: tuple[str, ...] | list[str]) -> None:
        self._tickers[sid].difference_update(tickers)
        self._trusted.difference_update(tickers)

    def observe(self, sid: int, seq: int, *, ticker: str | None = None, snapshot: bool = False) -> SequenceVerdict:
        last = self._last.get(sid)
        self._last[sid] = seq
        if ticker is not None:
            self._tickers[sid].add(ticker)
        gap = last is not None and seq != last + 1
        refresh: tuple[str, ...] = ()
        if gap:
            # checked before the snapshot branch: the lost frame may belong to another
            # market of the sid, whose book this snapshot does not repair
            self.gaps += 1
            refresh = tuple(sorted(t for t in self._tickers[sid] if not (snapshot and t == ticker)))
            self._trusted.difference_update(refresh)
        if snapshot:
            if ticker is not None:
                self._trusted.add(ticker)
            return SequenceVerdict(gap=gap, refresh=refresh, apply=True)
        if gap:
            return SequenceVerdict(gap=True, refresh=refresh, apply=False)
        return SequenceVerdict(gap=False, refresh=(), apply=ticker is None or ticker in self._trusted)

    def observe_control(self, sid: int, seq: int) -> None:
        """An ok/unsubscribed reply carrying seq. Kalshi does not say whether these use up
        the data counter, so take the number only when it is the next one: either way no
        false gap is reported."""
        if self._last.get(sid) == seq - 1:
            self._last[sid] = seq

    def is_trusted(self, ticker: str) -> bool:
        return ticker in self._trusted

    def reset(self) -> None:
        """On reconnect: sids are renumbered and every book must be rebuilt."""
        self._last.clear()
        self._tickers.clear()
        self._trusted.clear()
