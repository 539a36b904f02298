"""The risk governor actor: every order command passes here on its way to the REST client.

Direction: commands come down from makers (tell) and go on down to the order gateway
(tell); order events, books and session events come up from the bus (tell). Refusals,
OrderRejected(source="risk"), also go down to the order gateway, which publishes them on
the bus: every outcome of a command then comes from one thread, in command order
(replays stay deterministic), and the maker hears a refusal like any other rejection.
Nothing here asks another actor: the supervisor asks us (`exposure_snapshot`), the
operator reaches us through the status server (`engage_kill_switch` / `release_kill_switch`).

What it publishes: RiskDirective per market (flatten on a hybrid-policy trigger; pause
on the fill-rate limit; reduce_only / resume as the market's restriction changes;
end_session when a breaker ends trading), TriggerRecorded for every policy flatten,
RiskWarning as limits are approached, RiskStateChanged, KillSwitchEngaged/Released.

Time-based rules (a position ageing past the duration limit, a breach persisting through
its window, a pause running out, a flatten running out of time) are timers on the
injected clock, so they fire on the replay clock exactly as on the wall clock.

Hazards named here:
- a market that is determined or settled (MarketLifecycleChanged with a yes/no result)
  closes its position at $1 / $0 and loses its orders: risk settles it, forgets the
  market's timers, flatten and restrictions, and refuses further orders on it;
- a policy flatten is carried out by the market's maker, which may not do it (its exit
  gave up, a cancel exit left the position, no session at all): when the session ends
  with the position left (SessionStopped / MakerFinished), or flatten_timeout_s passes
  without flat, the flatten state is dropped, a flatten_incomplete warning goes out, and
  the policy judges the market afresh (a new flatten if still beyond its limits; with no
  session, the next session on the market is told to flatten);
- HALTED (kill switch or daily loss) means nothing rests: an order that shows up resting
  after the halt's cancel-all (a place already in flight) is cancelled, and a cancel-all
  that left orders behind is retried.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from config import RiskConfig
from messages import (
    AllOrdersCancelled,
    AmendOrder,
    BookUpdated,
    CancelAllOrders,
    CancelOrder,
    KillSwitchEngaged,
    KillSwitchReleased,
    MakerFinished,
    MarketLifecycleChanged,
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderUpdated,
    PlaceOrder,
    RiskDirective,
    RiskStateChanged,
    RiskWarning,
    SessionStarted,
    SessionStopped,
    TimerFired,
    TriggerRecorded,
    rejection_of,
)
from kernel.bus import Bus, InFlightTracker
from kernel.clock import seconds

from .._base import MmdActor, handles
from ._governor import RiskGovernor, TradingState
from ._hybrid import HybridPolicy, HybridTrigger, duration_weighted_exposure
from ._killswitch import KillSwitch
from ._limits import FillRateLimiter, LevelCrossing, PnlLimits, WarningLevels

__all__ = ["RiskGovernorActor", "estimate_trigger"]

_ORDER_EVENTS = (
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderFilled,
    OrderUpdated,
    OrderRejected,
    AllOrdersCancelled,  # settles places whose outcome was unknown
)
_HYBRID_TIMER = "risk:hybrid:"
_UNPAUSE_TIMER = "risk:unpause:"
_FLATTEN_TIMEOUT_TIMER = "risk:flatten-timeout:"
_KILL_RETRY_TIMER = "risk:kill-cancel-retry"
_HALT_PREFIX = "risk: "
_SETTLEMENT_PRICES = {"yes": Decimal(1), "no": Decimal(0)}
_KILL_CAUSE = "kill_switch"
_KILL_PREFIX = "kill switch: "


def estimate_trigger(
    governor: RiskGovernor, ticker: str, trigger: HybridTrigger, session_id: str, now_ns: int
) -> TriggerRecorded:
    """The triggers row of a policy flatten, recorded when the flatten is ordered.

    The flatten's own fills are not known yet, so the exit price is the mark-to-mid
    estimate (the last trusted book mid; the VWAP when there is none) and the P&L from the
    flatten is position x (exit - VWAP), before exit fees. pnl_before is the market's
    realised P&L net of fees before the flatten."""
    inventory = governor.inventory(ticker)
    position = inventory.position if inventory is not None else Decimal(0)
    vwap = inventory.vwap if inventory is not None else None
    mark = governor.marks.get(ticker, vwap)
    pnl_from_flatten = None if mark is None or vwap is None else position * (mark - vwap)
    return TriggerRecorded(
        session_id=session_id,
        ticker=ticker,
        reason=trigger.reason,
        position_before=position,
        vwap=vwap,
        exit_price=mark,
        pnl_before=inventory.realized_pnl if inventory is not None else None,
        pnl_from_flatten=pnl_from_flatten,
        ts=now_ns,
    )


class RiskGovernorActor(MmdActor):
    def __init__(
        self,
        *,
        clock: Any,
        bus: Bus,
        tracker: InFlightTracker | None = None,
        config: RiskConfig,
        order_gateway: Any,
        kill_switch_path: Path | None = None,
    ) -> None:
        super().__init__(clock=clock, bus=bus, tracker=tracker)
        self.config = config
        self.governor = RiskGovernor(config)
        self.order_gateway = order_gateway
        self.kill_switch = KillSwitch(kill_switch_path)
        self.fill_rate = FillRateLimiter(config.fill_rate_limit_dollars, seconds(config.fill_rate_window_s))
        self.pnl = PnlLimits(config.max_drawdown_dollars, config.daily_loss_limit_dollars, config.trading_day_start_utc_hour)
        margin, rearm_ns = config.warning_rearm_margin, seconds(config.warning_rearm_s)
        self._warning_levels = {
            "daily_loss": WarningLevels(config.daily_loss_warning_levels, margin, rearm_ns),
            "drawdown": WarningLevels(config.drawdown_warning_levels, margin, rearm_ns),
            "position": WarningLevels(config.position_warning_levels, margin, rearm_ns),
            "exposure": WarningLevels(config.exposure_warning_levels, margin, rearm_ns),
        }
        self._policies: dict[str, HybridPolicy] = {}
        self._sessions: dict[str, str] = {}  # ticker -> active session id
        self._flattening: dict[str, str] = {}  # ticker -> trigger reason, until flat
        self._hybrid_timers: dict[str, Any] = {}  # ticker -> (deadline, handle)
        self._flatten_timers: dict[str, Any] = {}  # ticker -> (deadline, handle): flatten gives up then
        self._pause_timers: dict[str, Any] = {}  # ticker -> (until, handle)
        self._directed: dict[str, str] = {}  # ticker -> last restriction directed: "" | pause | reduce_only
        self.triggers: list[TriggerRecorded] = []
        self._kill_retry: Any = None  # timer of a cancel-all retried while HALTED

    def on_start(self) -> None:
        for message_type in (
            *_ORDER_EVENTS,
            BookUpdated,
            SessionStarted,
            SessionStopped,
            MakerFinished,
            MarketLifecycleChanged,
            KillSwitchEngaged,
            KillSwitchReleased,
        ):
            self.bus.subscribe(self.actor_ref, message_type)
        if self.kill_switch.engaged:  # restored from before a restart: still halted
            self.log.warning("kill switch still engaged (%s): trading HALTED until a resume", self.kill_switch.reason)
            self._halt_for_kill_switch(self.kill_switch.reason, announce=True)

    def on_stop(self) -> None:
        self.bus.unsubscribe_all(self.actor_ref)
        for _, handle in (*self._hybrid_timers.values(), *self._pause_timers.values(), *self._flatten_timers.values()):
            self.clock.cancel(handle)
        self.clock.cancel(self._kill_retry)

    # -- commands -------------------------------------------------------------------
    @handles(PlaceOrder, AmendOrder)
    def _on_order_command(self, command: PlaceOrder | AmendOrder) -> None:
        verdict = self.governor.admit(command)
        if verdict.ok:
            self.send(self.order_gateway, command)
            self._after_market_change(command.ticker)
            return
        self.log.info("refused %s %s: %s", type(command).__name__, command.client_order_id, verdict.reason)
        refusal = rejection_of(
            command, source="risk", code=verdict.code, reason=verdict.reason, ts_recv=self.clock.now_ns()
        )
        self.send(self.order_gateway, refusal)

    @handles(CancelOrder, CancelAllOrders)
    def _on_cancel(self, command: CancelOrder | CancelAllOrders) -> None:
        self.governor.admit(command)  # always passes; a cancel-all is remembered
        self.send(self.order_gateway, command)

    # -- events ---------------------------------------------------------------------
    @handles(*_ORDER_EVENTS)
    def _on_order_event(self, event: Any) -> None:
        fills_before = self._fills_counted(event)
        self.governor.apply(event)
        if self.governor.state == TradingState.HALTED:  # the kill switch, or the daily loss limit
            self._enforce_halt(event)
        if isinstance(event, OrderFilled) and self._fills_counted(event) > fills_before:
            self._on_fill(event)  # a fill reported twice (WS, REST reconcile) counts once
        ticker = getattr(event, "ticker", None)
        if ticker:
            self._after_market_change(ticker)

    def _enforce_halt(self, event: Any) -> None:
        """HALTED (the kill switch or the daily loss limit), nothing may rest. Hazards: a
        place already at the exchange when the halt came lands after the cancel-all; a
        cancel-all can fail or leave orders behind. The first is cancelled as it shows up,
        the second retried."""
        now = self.clock.now_ns()
        prefix = _KILL_PREFIX if self.kill_switch.engaged else _HALT_PREFIX
        if isinstance(event, OrderAccepted | OrderAmended | OrderUpdated):
            status = getattr(event, "status", "resting")
            if status == "resting" and event.remaining > 0 and event.order_id:
                self.send(
                    self.order_gateway,
                    CancelOrder(
                        order_id=event.order_id,
                        client_order_id=event.client_order_id,
                        ticker=event.ticker,
                        ts=now,
                        reason=f"{prefix}resting while halted",
                    ),
                )
        elif isinstance(event, AllOrdersCancelled) and event.reason.startswith((_KILL_PREFIX, _HALT_PREFIX)):
            if event.still_resting != 0 and self._kill_retry is None:
                message = TimerFired(what=_KILL_RETRY_TIMER, ts=now)
                self._kill_retry = self.clock.call_later(seconds(self.config.kill_cancel_retry_s), self.actor_ref, message)

    def _fills_counted(self, event: Any) -> int:
        inventory = self.governor.inventory(getattr(event, "ticker", ""))
        return 0 if inventory is None else inventory.fill_count

    def _on_fill(self, fill: OrderFilled) -> None:
        now = self.clock.now_ns()
        value = fill.count * fill.price  # filled value: contracts x YES price
        if self.fill_rate.record(fill.ticker, value, now):
            rate = self.fill_rate.rate(fill.ticker, now)
            until = now + seconds(self.config.fill_rate_pause_s)
            reason = (
                f"fill_rate ${rate:.2f} in {self.config.fill_rate_window_s:g}s "
                f"exceeds ${self.config.fill_rate_limit_dollars}"
            )
            self.governor.pause_market(fill.ticker, reason)
            self._schedule(self._pause_timers, fill.ticker, until, _UNPAUSE_TIMER)
            self._warn("fill_rate", fill.ticker, rate / self.config.fill_rate_limit_dollars, reason, now)

    @handles(BookUpdated)
    def _on_book(self, event: BookUpdated) -> None:
        self.governor.apply(event)
        if event.ticker in self._policies or self.governor.inventory(event.ticker) is not None:
            self._evaluate_hybrid(event.ticker)
            self._check_pnl()

    @handles(SessionStarted)
    def _on_session_started(self, event: SessionStarted) -> None:
        self._sessions[event.ticker] = event.session_id
        self.governor.budgets.learn(event.ticker, event.config)
        if self.kill_switch.engaged:  # a session started under the kill switch never quotes
            self._direct(event.ticker, "pause", f"{_KILL_PREFIX}{self.kill_switch.reason}")
        elif event.ticker in self._flattening:  # a flatten ordered with no maker to carry it out
            reason = self._flattening[event.ticker]
            self.publish(RiskDirective(ticker=event.ticker, action="flatten", reason=reason, ts=self.clock.now_ns()))
            self._arm_flatten_timeout(event.ticker)

    @handles(SessionStopped)
    def _on_session_stopped(self, event: SessionStopped) -> None:
        if self._sessions.get(event.ticker) == event.session_id:
            del self._sessions[event.ticker]
            self._directed.pop(event.ticker, None)  # a new session starts unrestricted-as-told
            if event.ticker in self._flattening:
                self._flatten_incomplete(event.ticker, f"session ended ({event.reason})")

    @handles(MakerFinished)
    def _on_maker_finished(self, event: MakerFinished) -> None:
        """The maker carrying a flatten is done (its exit may have given up, or a cancel
        exit left the position): the flatten will not complete."""
        if self._sessions.get(event.ticker) == event.session_id and event.ticker in self._flattening:
            # the session is over for risk: its SessionStopped, trailing, is then inert
            del self._sessions[event.ticker]
            self._directed.pop(event.ticker, None)
            self._flatten_incomplete(event.ticker, f"maker finished ({event.reason})")

    @handles(MarketLifecycleChanged)
    def _on_lifecycle(self, event: MarketLifecycleChanged) -> None:
        """A market determined or settled: its position closes at $1 (YES) or $0 (NO), its
        orders are gone, and nothing about it is watched any more."""
        if event.event_type not in ("determined", "settled"):
            return
        price = _SETTLEMENT_PRICES.get((event.result or "").lower())
        if price is None:
            if event.result:
                self.log.warning("%s %s with result %r: not settled in risk", event.ticker, event.event_type, event.result)
            return
        ticker = event.ticker
        position = self.governor.position(ticker)
        if not self.governor.settle_market(ticker, price, event.ts_event):
            return
        self.log.info("%s %s %s: position %s settled at $%s", ticker, event.event_type, event.result, position, price)
        for timers in (self._hybrid_timers, self._pause_timers, self._flatten_timers):
            self._cancel_timer(timers, ticker)
        self._flattening.pop(ticker, None)
        self._policies.pop(ticker, None)
        self._directed.pop(ticker, None)
        self.fill_rate.forget(ticker)
        self._check_market_levels(ticker)
        self._check_pnl()

    @handles(TimerFired)
    def _on_timer(self, timer: TimerFired) -> None:
        if timer.what.startswith(_HYBRID_TIMER):
            ticker = timer.what.removeprefix(_HYBRID_TIMER)
            self._hybrid_timers.pop(ticker, None)
            self._evaluate_hybrid(ticker)
        elif timer.what.startswith(_FLATTEN_TIMEOUT_TIMER):
            ticker = timer.what.removeprefix(_FLATTEN_TIMEOUT_TIMER)
            self._flatten_timers.pop(ticker, None)
            if ticker in self._flattening:
                self._flatten_incomplete(ticker, f"not flat after {self.config.flatten_timeout_s:g}s")
        elif timer.what == _KILL_RETRY_TIMER:
            self._kill_retry = None
            if self.kill_switch.engaged:
                self._send_kill_cancel_all(f"{self.kill_switch.reason} (retry)")
            elif self.governor.state == TradingState.HALTED:
                self._send_halt_cancel_all(f"{self.governor.state_reason} (retry)")
        elif timer.what.startswith(_UNPAUSE_TIMER):
            ticker = timer.what.removeprefix(_UNPAUSE_TIMER)
            self._pause_timers.pop(ticker, None)
            self.governor.unpause_market(ticker)
            self._sync_directive(ticker)

    @handles(KillSwitchEngaged)
    def _on_kill_switch(self, message: KillSwitchEngaged) -> None:
        if not self.kill_switch.engaged:  # our own announcement comes back here: ignored
            self.kill_switch.engage(message.reason, self.clock.now_ns())
            self._halt_for_kill_switch(message.reason, announce=False)

    @handles(KillSwitchReleased)
    def _on_kill_switch_released(self, message: KillSwitchReleased) -> None:
        if self.kill_switch.engaged:
            self._resume(message.reason, announce=False)

    # -- the kill switch and the manual resume ------------------------------------------
    def engage_kill_switch(self, reason: str = "operator") -> dict:
        """Halt everything and cancel every resting order; only a resume undoes it."""
        reason = reason or "operator"
        if self.kill_switch.engage(reason, self.clock.now_ns()):
            self._halt_for_kill_switch(reason, announce=True)
        return self.kill_switch_status()

    def release_kill_switch(self, reason: str = "operator") -> dict:
        """The manual resume: lifts the kill switch and the breakers (accepting the losses
        so far: they are measured again from here)."""
        self._resume(reason or "operator", announce=True)
        return self.kill_switch_status()

    def kill_switch_status(self) -> dict:
        return {**self.kill_switch.status(), "state": self.governor.state, "state_reason": self.governor.state_reason}

    def _halt_for_kill_switch(self, reason: str, *, announce: bool) -> None:
        now = self.clock.now_ns()
        self._change_state(lambda: self.governor.hold(_KILL_CAUSE, TradingState.HALTED, f"{_KILL_PREFIX}{reason}"))
        self._send_kill_cancel_all(reason)
        if announce:
            self.publish(KillSwitchEngaged(reason=reason, ts=now))
        for ticker in sorted(self._sessions):
            self._direct(ticker, "pause", f"{_KILL_PREFIX}{reason}")

    def _send_halt_cancel_all(self, reason: str) -> None:
        cancel_all = CancelAllOrders(reason=f"{_HALT_PREFIX}{reason}", ts=self.clock.now_ns())
        self.governor.admit(cancel_all)
        self.send(self.order_gateway, cancel_all)

    def _send_kill_cancel_all(self, reason: str) -> None:
        cancel_all = CancelAllOrders(reason=f"{_KILL_PREFIX}{reason}", ts=self.clock.now_ns())
        self.governor.admit(cancel_all)
        self.send(self.order_gateway, cancel_all)

    def _resume(self, reason: str, *, announce: bool) -> None:
        now = self.clock.now_ns()
        was_engaged = self.kill_switch.release()
        self.clock.cancel(self._kill_retry)
        self._kill_retry = None
        self.pnl.rebase(self.governor.total_pnl(), now)
        for levels in self._warning_levels.values():
            levels.clear()

        def release_all() -> bool:
            before = self.governor.state
            for cause in ("drawdown", "daily_loss", _KILL_CAUSE):  # not the operator's own hold
                self.governor.release(cause, f"resumed: {reason}")
            return self.governor.state != before

        self._change_state(release_all)
        if was_engaged and announce:
            self.publish(KillSwitchReleased(reason=reason, ts=now))
        for ticker in sorted(self._sessions):
            self._directed[ticker] = "pause"  # force the market's real restriction out
            self._sync_directive(ticker)

    # -- control and queries (through a proxy) ----------------------------------------
    def set_trading_state(self, state: str, reason: str) -> None:
        self._change_state(lambda: self.governor.set_state(state, reason))

    def note_balance(self, available_dollars: Decimal) -> None:
        """The exchange's available balance (the supervisor tells it when it reads it)."""
        self.governor.note_balance(Decimal(available_dollars))

    def exposure_snapshot(self) -> dict:
        """Per ticker position, resting order value and exposure; totals; trading state."""
        snapshot = self.governor.exposure_snapshot()
        snapshot["kill_switch"] = self.kill_switch.status()
        return snapshot

    def get_status(self) -> dict:
        now = self.clock.now_ns()
        available = self.governor.available_balance()  # the last reported, less what was admitted since
        status = self.governor.status()
        hybrid = {}
        for ticker in sorted(self._policies):
            inventory = self.governor.inventory(ticker)
            policy = self._policies[ticker]
            layers = inventory.layers if inventory is not None else ()
            hybrid[ticker] = {
                "duration_weighted_exposure": str(duration_weighted_exposure(layers, now).quantize(Decimal("0.01"))),
                "adverse_excursion": None if policy.last_excursion is None else str(policy.last_excursion),
                "breach_since_ns": policy.breach_start_ns,
                "flattening": self._flattening.get(ticker),
            }
        status.update(
            {
                "kill_switch": self.kill_switch.status(),
                "holds": {cause: list(held) for cause, held in sorted(self.governor.holds().items())},
                "hybrid": hybrid,
                "restrictions": {t: self.governor.market_restriction(t)[0] for t in self.governor.tickers()},
                "pnl": {
                    "total": str(self.governor.total_pnl()),
                    "drawdown": str(self.pnl.drawdown),
                    "daily_loss": str(self.pnl.daily_loss),
                },
                "triggers": len(self.triggers),
                "available_balance": None if available is None else str(available),
                "flattening": dict(sorted(self._flattening.items())),
            }
        )
        return status

    # -- per-market rules ---------------------------------------------------------------
    def _after_market_change(self, ticker: str) -> None:
        if ticker in self._flattening and self.governor.position(ticker) == 0:
            del self._flattening[ticker]  # the flatten is done: the market may trade again
            self._cancel_timer(self._flatten_timers, ticker)
            self.governor.unrestrict_market(ticker)
        self._evaluate_hybrid(ticker)
        self._check_market_levels(ticker)
        self._check_pnl()
        self._sync_directive(ticker)

    def _evaluate_hybrid(self, ticker: str) -> None:
        inventory = self.governor.inventory(ticker)
        policy = self._policies.get(ticker)
        # flat counting fills the exchange reported but we have not seen yet: an executed
        # exit's fills trail its acknowledgement, and must not trigger a second flatten
        flat = inventory is None or inventory.position == 0 or self.governor.position(ticker) == 0
        if flat or ticker in self._flattening:
            if policy is not None:
                policy.reset()
            self._cancel_timer(self._hybrid_timers, ticker)
            return
        if policy is None:
            policy = self._policies[ticker] = HybridPolicy(self.governor.hybrid_limits)
        now = self.clock.now_ns()
        layers = inventory.layers
        trigger = policy.observe(layers, inventory.vwap, self.governor.marks.get(ticker), now)
        if trigger is not None:
            self._flatten(ticker, trigger)
            return
        deadline = policy.next_check_ns(layers)
        if deadline is None:
            self._cancel_timer(self._hybrid_timers, ticker)
        else:
            self._schedule(self._hybrid_timers, ticker, deadline, _HYBRID_TIMER)

    def _flatten(self, ticker: str, trigger: HybridTrigger) -> None:
        now = self.clock.now_ns()
        self._cancel_timer(self._hybrid_timers, ticker)
        record = estimate_trigger(self.governor, ticker, trigger, self._sessions.get(ticker, ""), now)
        self.triggers.append(record)
        self._flattening[ticker] = trigger.reason
        self.governor.restrict_market(ticker, f"flatten: {trigger.reason}")
        self.log.warning("hybrid policy flattens %s: %s (position %s)", ticker, trigger.reason, record.position_before)
        self.publish(record)
        self._directed[ticker] = "reduce_only"  # the flatten says more than reduce_only would
        self.publish(RiskDirective(ticker=ticker, action="flatten", reason=trigger.reason, ts=now))
        if ticker in self._sessions:  # with no maker, the next session's start carries it out
            self._arm_flatten_timeout(ticker)

    def _arm_flatten_timeout(self, ticker: str) -> None:
        deadline = self.clock.now_ns() + seconds(self.config.flatten_timeout_s)
        self._schedule(self._flatten_timers, ticker, deadline, _FLATTEN_TIMEOUT_TIMER)

    def _flatten_incomplete(self, ticker: str, why: str) -> None:
        """A flatten that will not complete as ordered (the maker gave up or is gone, or
        it ran out of time): the market leaves the flatten state, the operator is warned,
        and the policy judges it afresh at once: a position still beyond its limits is
        flattened again (a new trigger; with no session, the next session on the market
        is told), and meanwhile the MAE failsafe watches it again."""
        reason = self._flattening.pop(ticker)
        self._cancel_timer(self._flatten_timers, ticker)
        self.governor.unrestrict_market(ticker)
        position = self.governor.position(ticker)
        if position == 0:
            return
        message = f"flatten {reason} incomplete: {why}, position {position} left"
        self._warn("flatten_incomplete", ticker, Decimal(1), message, self.clock.now_ns())
        policy = self._policies.get(ticker)
        if policy is not None:
            policy.reset()
        self._after_market_change(ticker)

    def _sync_directive(self, ticker: str) -> None:
        """Tell the market's maker when what it may do changes (pause / reduce_only / resume)."""
        if self.kill_switch.engaged and ticker in self._sessions:
            return  # paused by the kill switch until the resume
        if ticker in self._flattening:
            return  # the flatten governs until flat: a pause now could stall the exit
        action, reason = self.governor.market_restriction(ticker)
        previous = self._directed.get(ticker, "")
        if action == previous:
            return
        if action == "":
            self._direct(ticker, "resume", f"lifted: {reason or 'restriction over'}")
        else:
            self._direct(ticker, action, reason)

    def _direct(self, ticker: str, action: str, reason: str) -> None:
        until = None
        if action == "pause" and ticker in self._pause_timers:
            until = self._pause_timers[ticker][0]
        self._directed[ticker] = "" if action == "resume" else action
        self.publish(RiskDirective(ticker=ticker, action=action, reason=reason, until_ts=until, ts=self.clock.now_ns()))

    def _end_all_sessions(self, reason: str) -> None:
        now = self.clock.now_ns()
        for ticker in sorted(self._sessions):
            self.publish(RiskDirective(ticker=ticker, action="end_session", reason=reason, ts=now))

    # -- warnings and breakers ----------------------------------------------------------
    def _check_market_levels(self, ticker: str) -> None:
        now = self.clock.now_ns()
        position = abs(self.governor.position(ticker))
        self._level("position", ticker, position, Decimal(self.config.max_position_contracts), now)
        exposure = self._warning_levels["exposure"]
        crossing = exposure.update(
            "market_exposure", ticker, self.governor.exposure(ticker), self.governor.budgets.market_limit(ticker), now
        )
        self._report(crossing, "market exposure vs its budget", now)
        category = self.governor.budgets.category_of(ticker)
        if category:
            used = self.governor.category_exposure(category)
            crossing = exposure.update("category_exposure", category, used, self.governor.budgets.category_limit(), now)
            self._report(crossing, f"category {category} exposure vs its budget", now)
        crossing = exposure.update("global_exposure", "", self.governor.global_exposure(), self.config.global_budget_dollars, now)
        self._report(crossing, "global exposure vs the global budget", now)

    def _level(self, kind: str, key: str, used: Decimal, limit: Decimal, now: int) -> None:
        self._report(self._warning_levels[kind].update(kind, key, used, limit, now), f"{used} of {limit}", now)

    def _report(self, crossing: LevelCrossing | None, what: str, now: int) -> None:
        if crossing is not None:
            ticker = crossing.key if crossing.kind in ("position", "market_exposure") else ""
            self._warn(crossing.kind, ticker, crossing.level, what, now)

    def _warn(self, kind: str, ticker: str, level: Decimal, reason: str, now: int) -> None:
        self.log.warning("risk warning %s %s at %s: %s", kind, ticker or "(global)", level, reason)
        self.publish(RiskWarning(kind=kind, ticker=ticker, level=level, reason=reason, ts=now))

    def _check_pnl(self) -> None:
        now = self.clock.now_ns()
        new_day, drawdown, daily_loss = self.pnl.update(self.governor.total_pnl(), now)
        if new_day:
            self._warning_levels["daily_loss"].clear()
            if "daily_loss" in self.governor.holds():
                self._change_state(lambda: self.governor.release("daily_loss", "a new trading day"))
        self._level("drawdown", "", drawdown, self.config.max_drawdown_dollars, now)
        self._level("daily_loss", "", daily_loss, self.config.daily_loss_limit_dollars, now)
        for breach in self.pnl.breaches():
            if breach.kind in self.governor.holds():
                continue
            reason = f"{breach.kind} ${breach.amount:.2f} reached the ${breach.limit} limit"
            if breach.kind == "drawdown":  # stop adding risk; exits still allowed
                self._change_state(lambda: self.governor.hold("drawdown", TradingState.REDUCING, reason))
            else:  # the daily loss limit halts trading and cancels every resting order
                self._change_state(lambda: self.governor.hold("daily_loss", TradingState.HALTED, reason))
                self._send_halt_cancel_all(reason)
            self._end_all_sessions(breach.kind)

    # -- plumbing -----------------------------------------------------------------------
    def _schedule(self, timers: dict, ticker: str, deadline: int, prefix: str) -> None:
        current = timers.get(ticker)
        if current is not None and current[0] == deadline:
            return
        if current is not None:
            self.clock.cancel(current[1])
        message = TimerFired(what=f"{prefix}{ticker}", ts=deadline)
        timers[ticker] = (deadline, self.clock.call_at(deadline, self.actor_ref, message))

    def _cancel_timer(self, timers: dict, ticker: str) -> None:
        current = timers.pop(ticker, None)
        if current is not None:
            self.clock.cancel(current[1])

    def _change_state(self, change) -> None:
        if change():
            state, reason = self.governor.state, self.governor.state_reason
            self.publish(RiskStateChanged(state=state, reason=reason, ts=self.clock.now_ns()))
