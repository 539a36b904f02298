"""Alert decisions (SPEC 12: webhook alerts for loss and position limits, no fills for 10
minutes, a stale price feed), as a plain core: given a message and the time, it returns
effects — PostAlert (the shell's sender posts it), ArmTimer, CancelTimer.

What alerts:
- the kill switch engaged (and released), trading state HALTED or REDUCING (and ACTIVE
  again after one of those), a maker crash, a failed reconciliation;
- the market data feed down (FeedHealthChanged unhealthy) for longer than `feed_down_s`
  (a keyed timer, cancelled when it is healthy again; its recovery is told too);
- risk warnings (RiskWarning) of the kinds listed, e.g. the daily loss at 50/80/100 %;
- no fill for `no_fills_s` while at least one maker is QUOTING.

Rate limit: at most one alert per key every `min_interval_s`. An alert inside the window
is held back, not lost: at the window's end the latest one held goes out with the count
of those it stands for. Keys are the alert kind, plus the level for risk warnings (an
80 % warning must not wait behind the 50 % one).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from actors.supervisor import MakerCrashed
from kernel.clock import seconds
from kernel.effects import ArmTimer, CancelTimer
from messages import (
    FeedHealthChanged,
    KillSwitchEngaged,
    KillSwitchReleased,
    MakerFinished,
    MakerStatus,
    OrderFilled,
    ReconciliationFailed,
    RiskStateChanged,
    RiskWarning,
    SessionStopped,
)

from ._timers import AlertFlushDue, FeedDownDue, NoFillsDue

__all__ = [
    "AlertRules",
    "PostAlert",
    "AlertThrottle",
    "AlertsCore",
    "SUBSCRIBED",
    "FEED_DOWN",
    "NO_FILLS",
    "timer_key",
]

FEED_DOWN = "feed-down"  # timer keys
NO_FILLS = "no-fills"
_FLUSH = "flush:"  # + the alert key
QUOTING = "QUOTING"
ALERTED_STATES = ("HALTED", "REDUCING")

SUBSCRIBED = (
    KillSwitchEngaged, KillSwitchReleased, RiskStateChanged, MakerCrashed, FeedHealthChanged, RiskWarning,
    ReconciliationFailed, MakerStatus, MakerFinished, SessionStopped, OrderFilled,
)


@dataclass(frozen=True, slots=True)
class AlertRules:
    min_interval_s: float = 300.0  # per alert key
    feed_down_s: float = 5.0  # SPEC 12: price feed stale > 5 s
    no_fills_s: float = 600.0  # SPEC 12: no fills for 10 minutes
    risk_warning_kinds: tuple[str, ...] = (
        "daily_loss", "drawdown", "position", "global_exposure", "fill_rate", "flatten_incomplete",
    )
    origin: str = "mmd"  # names the daemon in every alert, e.g. "mmd paper"

    @classmethod
    def from_config(cls, config: Any, origin: str = "mmd") -> "AlertRules":
        """From an `alerts` config section (attributes of the same names)."""
        return cls(
            min_interval_s=config.min_interval_s,
            feed_down_s=config.feed_down_s,
            no_fills_s=config.no_fills_s,
            risk_warning_kinds=tuple(config.risk_warning_kinds),
            origin=origin,
        )


@dataclass(frozen=True, slots=True)
class PostAlert:
    """Post `text` to the webhook (off the actor's thread: the shell's sender)."""

    key: str
    text: str


def timer_key(due: Any) -> str:
    """The keyed-timer key a timer message was armed under."""
    if isinstance(due, FeedDownDue):
        return FEED_DOWN
    if isinstance(due, NoFillsDue):
        return NO_FILLS
    return _FLUSH + due.what


def _duration(ns: int) -> str:
    s = ns / 1e9
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.0f} min"
    return f"{s / 3600:.1f} h"


def _percent(level: Decimal) -> str:
    return f"{level * 100:.0f}%"


@dataclass
class _Held:
    count: int
    latest: str


class AlertThrottle:
    """At most one alert per key per window; the rest held and sent, counted, at its end."""

    def __init__(self, min_interval_ns: int) -> None:
        self.min_interval_ns = min_interval_ns
        self._last_sent: dict[str, int] = {}
        self._held: dict[str, _Held] = {}

    def offer(self, key: str, text: str, now_ns: int) -> list:
        last = self._last_sent.get(key)
        if last is None or now_ns - last >= self.min_interval_ns:
            effects: list = []
            held = self._held.pop(key, None)
            if held is not None:  # the window's flush timer is due at this same instant
                text = f"{text} (+{held.count} similar held back by the rate limit)"
                effects.append(CancelTimer(_FLUSH + key))
            self._last_sent[key] = now_ns
            return [*effects, PostAlert(key, text)]
        held = self._held.get(key)
        if held is not None:
            held.count += 1
            held.latest = text
            return []
        self._held[key] = _Held(1, text)
        window_end = last + self.min_interval_ns
        return [ArmTimer(_FLUSH + key, window_end, AlertFlushDue(what=key, ts=window_end))]

    def flush(self, key: str, now_ns: int) -> list:
        held = self._held.pop(key, None)
        if held is None:
            return []
        self._last_sent[key] = now_ns
        earlier = held.count - 1
        window = _duration(self.min_interval_ns)
        text = held.latest if earlier == 0 else f"{held.latest} (+{earlier} similar in the last {window})"
        return [PostAlert(key, text)]

    def held(self, key: str) -> int:
        held = self._held.get(key)
        return 0 if held is None else held.count


class AlertsCore:
    def __init__(self, rules: AlertRules) -> None:
        self.rules = rules
        self.throttle = AlertThrottle(seconds(rules.min_interval_s))
        self._feed_down_ns = seconds(rules.feed_down_s)
        self._no_fills_ns = seconds(rules.no_fills_s)
        self._feed_down_since: int | None = None
        self._feed_down_reason = ""
        self._feed_down_alerted = False
        self._state_alerted = False  # a HALTED/REDUCING alert went out: tell when ACTIVE again
        self._quoting: dict[str, str] = {}  # session id -> ticker, makers in QUOTING
        self._no_fill_since = 0  # the last fill, or when quoting began after none quoted
        self._handlers = {
            KillSwitchEngaged: self._on_kill_switch_engaged,
            KillSwitchReleased: self._on_kill_switch_released,
            RiskStateChanged: self._on_risk_state,
            MakerCrashed: self._on_maker_crashed,
            FeedHealthChanged: self._on_feed_health,
            RiskWarning: self._on_risk_warning,
            ReconciliationFailed: self._on_reconciliation_failed,
            MakerStatus: self._on_maker_status,
            MakerFinished: self._on_session_over,
            SessionStopped: self._on_session_over,
            OrderFilled: self._on_fill,
            FeedDownDue: self._on_feed_down_due,
            NoFillsDue: self._on_no_fills_due,
            AlertFlushDue: self._on_flush_due,
        }

    def on_message(self, message: Any, now_ns: int) -> list:
        """A bus event or a (fired, current) timer message in; effects out."""
        handler = self._handlers.get(type(message))
        return [] if handler is None else handler(message, now_ns)

    @property
    def quoting_tickers(self) -> list[str]:
        return sorted(set(self._quoting.values()))

    def _alert(self, key: str, text: str, now_ns: int) -> list:
        return self.throttle.offer(key, f"[{self.rules.origin}] {text}", now_ns)

    # -- risk -------------------------------------------------------------------------
    def _on_kill_switch_engaged(self, engaged: KillSwitchEngaged, now: int) -> list:
        return self._alert("kill_switch", f"Kill switch ENGAGED: {engaged.reason}. Trading halted, orders being cancelled.", now)

    def _on_kill_switch_released(self, released: KillSwitchReleased, now: int) -> list:
        return self._alert("kill_switch_released", f"Kill switch released: {released.reason}.", now)

    def _on_risk_state(self, changed: RiskStateChanged, now: int) -> list:
        if changed.state in ALERTED_STATES:
            self._state_alerted = True
            what = "exits only" if changed.state == "REDUCING" else "no new orders"
            return self._alert(f"trading_{changed.state.lower()}", f"Trading {changed.state} ({what}): {changed.reason}", now)
        if self._state_alerted:
            self._state_alerted = False
            return self._alert("trading_active", f"Trading {changed.state} again: {changed.reason}", now)
        return []

    def _on_risk_warning(self, warning: RiskWarning, now: int) -> list:
        if warning.kind not in self.rules.risk_warning_kinds:
            return []
        where = f" on {warning.ticker}" if warning.ticker else ""
        text = f"Risk warning: {warning.kind}{where} at {_percent(warning.level)} of its limit ({warning.reason})"
        return self._alert(f"risk_warning:{warning.kind}:{warning.level}", text, now)

    def _on_maker_crashed(self, crash: MakerCrashed, now: int) -> list:
        text = f"Maker for {crash.ticker} crashed (session {crash.session_id}): {crash.error}. Its orders are swept."
        return self._alert("maker_crash", text, now)

    def _on_reconciliation_failed(self, failed: ReconciliationFailed, now: int) -> list:
        return self._alert("reconciliation_failed", f"Reconciliation with the exchange FAILED: {failed.reason}", now)

    # -- feed -------------------------------------------------------------------------
    def _on_feed_health(self, health: FeedHealthChanged, now: int) -> list:
        if not health.healthy:
            if self._feed_down_since is not None:
                return []  # down already: the first loss's timer stands
            self._feed_down_since = now
            self._feed_down_reason = health.reason
            deadline = now + self._feed_down_ns
            return [ArmTimer(FEED_DOWN, deadline, FeedDownDue(since_ts=now, ts=deadline))]
        since, self._feed_down_since = self._feed_down_since, None
        effects: list = [CancelTimer(FEED_DOWN)] if since is not None else []
        if self._feed_down_alerted:
            self._feed_down_alerted = False
            down_for = _duration(now - since) if since is not None else "a while"
            effects += self._alert("feed_restored", f"Market data feed restored after {down_for}.", now)
        return effects

    def _on_feed_down_due(self, due: FeedDownDue, now: int) -> list:
        if self._feed_down_since is None:
            return []
        self._feed_down_alerted = True
        text = f"Market data feed DOWN for {_duration(now - self._feed_down_since)}: {self._feed_down_reason}"
        return self._alert("feed_down", text, now)

    # -- fills while quoting ----------------------------------------------------------
    def _arm_no_fills(self, now: int) -> ArmTimer:
        deadline = now + self._no_fills_ns  # re-armed by every fill, and after each alert
        return ArmTimer(NO_FILLS, deadline, NoFillsDue(ts=deadline))

    def _on_maker_status(self, status: MakerStatus, now: int) -> list:
        if status.state == QUOTING:
            was_quoting = bool(self._quoting)
            self._quoting[status.session_id] = status.ticker
            if was_quoting:
                return []
            self._no_fill_since = now
            return [self._arm_no_fills(now)]
        return self._stopped_quoting(status.session_id)

    def _on_session_over(self, over: MakerFinished | SessionStopped, now: int) -> list:
        return self._stopped_quoting(over.session_id)

    def _stopped_quoting(self, session_id: str) -> list:
        if self._quoting.pop(session_id, None) is not None and not self._quoting:
            return [CancelTimer(NO_FILLS)]
        return []

    def _on_fill(self, _fill: OrderFilled, now: int) -> list:
        self._no_fill_since = now
        return [self._arm_no_fills(now)] if self._quoting else []

    def _on_no_fills_due(self, _due: NoFillsDue, now: int) -> list:
        if not self._quoting:
            return []
        tickers = self.quoting_tickers
        shown = ", ".join(tickers[:5]) + (f" and {len(tickers) - 5} more" if len(tickers) > 5 else "")
        text = f"No fills for {_duration(now - self._no_fill_since)} while quoting {len(tickers)} market(s): {shown}"
        return [*self._alert("no_fills", text, now), self._arm_no_fills(now)]

    def _on_flush_due(self, due: AlertFlushDue, now: int) -> list:
        return self.throttle.flush(due.what, now)
