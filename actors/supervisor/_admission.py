"""Admission of volatility events (SPEC 7): which waiting event may start a session now.

Plain logic, no actors: the supervisor core feeds it facts (the risk governor's latest
published exposure, balance from the REST client, the scanner's latest regime view) and
acts on the verdict. An event is offered once; it then waits `regime_wait_s` for the regime to
settle, and after that each evaluation either starts it, drops it (a reason that will not
go away: an open position, a bad regime, too old) or keeps it waiting (no free slot,
balance or resting-order gate closed, no fresh regime view yet) while it stays valid.

The regime check needs the scanner's own view (RegimeUpdated, which the scanner publishes
for a ticker with a pending event from the moment it fires): fresh by its data_ts
(_rules.regime_is_stale), stable and allowed. The regime stamped in the event is 5 s old
by then and is never used as a fallback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Mapping

from config import SupervisorConfig
from messages import ExposureChanged, RegimeUpdated, VolatilityDetected
from kernel.clock import seconds

from ._rules import regime_is_stale

__all__ = [
    "ExposureView",
    "NO_EXPOSURE",
    "exposure_view_of",
    "BalanceGate",
    "RestingValueGate",
    "RegimeView",
    "PendingEvent",
    "Verdict",
    "Admission",
    "START",
    "WAIT",
    "DROP",
]

START, WAIT, DROP = "start", "wait", "drop"
ZERO = Decimal("0")


@dataclass(frozen=True, slots=True)
class ExposureView:
    """What the risk governor last published about our positions and resting orders."""

    positions: Mapping[str, Decimal]  # signed YES contracts per ticker (unseen fills included)
    resting_orders: Mapping[str, int]  # resting order count per ticker
    resting_order_value: Decimal  # dollars locked in resting orders, all tickers

    def position(self, ticker: str) -> Decimal:
        return self.positions.get(ticker, ZERO)

    def has_resting_orders(self, ticker: str) -> bool:
        return self.resting_orders.get(ticker, 0) > 0


NO_EXPOSURE = ExposureView({}, {}, ZERO)  # before the governor's first ExposureChanged: nothing held, nothing resting


def exposure_view_of(changed: ExposureChanged) -> ExposureView:
    """The admission's view of the risk governor's latest ExposureChanged."""
    return ExposureView(
        {m.ticker: m.position for m in changed.markets},
        {m.ticker: m.resting_orders for m in changed.markets},
        changed.resting_order_value,
    )


class BalanceGate:
    """Open while the available balance is high enough. Hysteresis: once closed (under
    the minimum) it reopens only at minimum / ratio, so a balance hovering at the line
    does not flap sessions on and off. Closed until the first balance is known."""

    def __init__(self, minimum: Decimal, ratio: Decimal) -> None:
        self.minimum = minimum
        self.reopen_at = minimum / ratio
        self.balance: Decimal | None = None
        self.updated_ns: int | None = None
        self.open = False

    def update(self, balance: Decimal, now_ns: int) -> None:
        first = self.balance is None
        self.balance, self.updated_ns = balance, now_ns
        if first:
            self.open = balance >= self.minimum
        elif self.open and balance < self.minimum:
            self.open = False
        elif not self.open and balance >= self.reopen_at:
            self.open = True

    def refusal(self) -> str | None:
        if self.balance is None:
            return "available balance not known yet"
        if not self.open:
            return f"available balance ${self.balance} under ${self.minimum} (reopens at ${self.reopen_at:.2f})"
        return None


class RestingValueGate:
    """Open while resting orders lock less than the cap; reopens under cap x ratio."""

    def __init__(self, cap: Decimal, ratio: Decimal) -> None:
        self.cap = cap
        self.reopen_below = cap * ratio
        self.open = True

    def update(self, resting_value: Decimal) -> None:
        if self.open and resting_value >= self.cap:
            self.open = False
        elif not self.open and resting_value < self.reopen_below:
            self.open = True

    def refusal(self, resting_value: Decimal) -> str | None:
        if self.open:
            return None
        return f"resting orders hold ${resting_value} (cap ${self.cap}, reopens under ${self.reopen_below})"


@dataclass(frozen=True, slots=True)
class RegimeView:
    update: RegimeUpdated
    received_ns: int


@dataclass(slots=True)
class PendingEvent:
    event: VolatilityDetected
    received_ns: int
    ready_ns: int  # regime wait over: from here on each evaluation decides
    waiting_for: str = ""  # why it is still waiting (status)


@dataclass(frozen=True, slots=True)
class Verdict:
    action: str  # START | WAIT | DROP
    reason: str = ""


@dataclass
class Admission:
    config: SupervisorConfig
    sample_interval_s: float  # scanner.volatility.sample_interval_s: part of the regime staleness rule
    pending: dict[str, PendingEvent] = field(default_factory=dict)  # ticker -> event, arrival order

    def __post_init__(self) -> None:
        cfg = self.config
        self.balance = BalanceGate(cfg.min_available_balance_dollars, cfg.balance_hysteresis_ratio)
        self.resting = RestingValueGate(cfg.max_resting_order_value_dollars, cfg.balance_hysteresis_ratio)

    # -- events in and out ------------------------------------------------------------
    def offer(self, event: VolatilityDetected, now_ns: int, *, session_active: bool) -> str | None:
        """Queue an event; returns why it was refused outright, or None when it waits."""
        if session_active:
            return "a session is already active on this ticker"
        close_ts = event.config.close_ts if event.config is not None else None
        if close_ts is not None and now_ns >= close_ts - seconds(self.config.close_buffer_s):
            return "market closes too soon"
        # a newer event for the same ticker replaces the waiting one (and queues at the back)
        self.pending.pop(event.ticker, None)
        self.pending[event.ticker] = PendingEvent(event, now_ns, now_ns + seconds(self.config.regime_wait_s))
        return None

    def withdraw(self, ticker: str) -> PendingEvent | None:
        return self.pending.pop(ticker, None)

    def clear(self) -> None:
        self.pending.clear()

    def waiting(self) -> list[PendingEvent]:
        return list(self.pending.values())

    # -- the checks -------------------------------------------------------------------
    def regime_is_fresh(self, regime: RegimeView | None, now_ns: int) -> bool:
        return regime is not None and not regime_is_stale(
            regime.update.data_ts, now_ns, self.config, self.sample_interval_s
        )

    def regime_refusal(self, regime: RegimeView, now_ns: int) -> str | None:
        """Why a fresh regime view refuses the session (None: stable and allowed)."""
        if not regime.update.stable:
            return f"regime not stable ({regime.update.candidate} pending)"
        if regime.update.regime not in self.config.allowed_regimes:
            return f"regime {regime.update.regime} not allowed"
        return None

    def decide(
        self,
        pending: PendingEvent,
        now_ns: int,
        *,
        session_active: bool,
        slot_free: bool,
        exposure: ExposureView,
        regime: RegimeView | None,
    ) -> Verdict:
        """Start, keep waiting or drop one waiting event. Order matters: reasons that will
        not go away drop it first; then transient ones keep it waiting."""
        cfg = self.config
        event = pending.event
        if now_ns < pending.ready_ns:
            return Verdict(WAIT, "waiting for the regime to settle")
        if session_active:
            return Verdict(DROP, "a session is already active on this ticker")
        close_ts = event.config.close_ts if event.config is not None else None
        if close_ts is not None and now_ns >= close_ts - seconds(cfg.close_buffer_s):
            return Verdict(DROP, "market closes too soon")
        if now_ns - pending.received_ns > seconds(cfg.pending_event_max_age_s):
            return Verdict(DROP, "event too old")
        if not self.regime_is_fresh(regime, now_ns):
            return Verdict(WAIT, "no fresh regime view from the scanner")
        regime_refusal = self.regime_refusal(regime, now_ns)
        if regime_refusal:
            return Verdict(DROP, regime_refusal)
        if exposure.position(event.ticker) != 0:
            return Verdict(DROP, f"open position of {exposure.position(event.ticker)} on this ticker")
        if exposure.has_resting_orders(event.ticker):
            return Verdict(WAIT, "orders of ours still rest on this ticker")
        if not slot_free:
            return Verdict(WAIT, f"all {cfg.max_concurrent_sessions} session slots in use")
        balance_refusal = self.balance.refusal()
        if balance_refusal:
            return Verdict(WAIT, balance_refusal)
        self.resting.update(exposure.resting_order_value)
        resting_refusal = self.resting.refusal(exposure.resting_order_value)
        if resting_refusal:
            return Verdict(WAIT, resting_refusal)
        return Verdict(START)
