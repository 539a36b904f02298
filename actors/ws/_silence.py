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


class SilenceWatch:
    def __init__(self, window_ns: int) -> None:
        self.window_ns = window_ns
        self._heard: dict[tuple[str, str], int] = {}  # (channel, market) -> last frame
        self._confirmed: dict[str, int] = {}  # channel -> when its subscription was confirmed
        self._expected: dict[tuple[str, str], int] = {}  # (channel, market) -> earliest unanswered evidence

    def heard(self, channel: str, market: str, ts_ns: int) -> None:
        self._heard[(channel, market)] = ts_ns
        self._expected.pop((channel, market), None)

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
