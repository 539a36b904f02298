"""Which subscriptions have gone silent while their markets are known to trade (plain, no clock).

Pings only prove the socket is alive; a subscription the server has dropped without a word
sends nothing, and a quiet market sends nothing either. The two are told apart by evidence
from elsewhere: when something shows that market M changed at time T (a trade printed on
another channel, the ticker's touch or volume moved, our own fill or order), each channel
that must carry that change for M is expected to have carried a frame for M within the
window around T: a frame from T - window on, or its subscription confirmed from then on.
Evidence still unanswered at T + window means the channel is silent.

The evidence each channel must answer is chosen by WsCore (the rule table is in its
docstring); this class only keeps the times: last frame per (channel, market), when each
subscription was confirmed, and the earliest unanswered evidence per (channel, market).
"""

from __future__ import annotations

__all__ = ["SilenceWatch"]

_MIN_PRUNE = 512  # (channel, market) pairs heard before the first prune


class SilenceWatch:
    def __init__(self, window_ns: int) -> None:
        self.window_ns = window_ns
        self._heard: dict[tuple[str, str], int] = {}  # (channel, market) -> last frame
        self._confirmed: dict[str, int] = {}  # channel -> when its subscription was confirmed
        self._expected: dict[tuple[str, str], int] = {}  # (channel, market) -> earliest unanswered evidence
        self._prune_above = _MIN_PRUNE  # _heard's size that triggers the next prune

    def heard(self, channel: str, market: str, ts_ns: int) -> None:
        self._heard[(channel, market)] = ts_ns
        self._expected.pop((channel, market), None)
        if len(self._heard) > self._prune_above:
            self._forget_heard_before(ts_ns - 2 * self.window_ns)

    def _forget_heard_before(self, horizon_ns: int) -> None:
        """A frame heard before `now - window` answers no evidence from now on (evidence at T
        needs a frame from T - window): forget those (twice the window, for a clock that
        steps back a little), or one connection would remember every market it ever carried.
        Amortised: pruned again once the map has doubled."""
        for key in [k for k, ts in self._heard.items() if ts < horizon_ns]:
            del self._heard[key]
        self._prune_above = max(_MIN_PRUNE, 2 * len(self._heard))

    def confirmed(self, channel: str, ts_ns: int) -> None:
        """A (re)confirmed subscription: what was expected of the old one is void."""
        self.forget(channel)
        self._confirmed[channel] = ts_ns

    def expect(self, channel: str, market: str, ts_ns: int) -> bool:
        """Evidence at ts_ns that `channel` must carry `market`. True when this starts a
        new expectation (the caller makes sure a check runs at its deadline)."""
        key = (channel, market)
        since = ts_ns - self.window_ns
        if key in self._expected or self._confirmed.get(channel, since - 1) >= since or self._heard.get(key, since - 1) >= since:
            return False
        self._expected[key] = ts_ns
        return True

    def forget(self, channel: str) -> None:
        """The channel's subscription is gone (ended, silent, unsubscribed)."""
        self._confirmed.pop(channel, None)
        for key in [k for k in self._expected if k[0] == channel]:
            del self._expected[key]

    def reset(self) -> None:
        """A new connection: nothing heard on the old one counts."""
        self._heard.clear()
        self._confirmed.clear()
        self._expected.clear()

    def overdue(self, now_ns: int) -> dict[str, tuple[str, int]]:
        """Silent channels: channel -> (a market it failed to carry, the evidence time),
        the earliest such evidence per channel."""
        silent: dict[str, tuple[str, int]] = {}
        for (channel, market), ts_ns in sorted(self._expected.items(), key=lambda item: (item[1], item[0])):
            if ts_ns + self.window_ns <= now_ns and channel not in silent:
                silent[channel] = (market, ts_ns)
        return silent

    def next_deadline(self) -> int | None:
        return min(self._expected.values()) + self.window_ns if self._expected else None
