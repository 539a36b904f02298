"""The risk governor's decisions as a plain object: given a message and the time, what to
do (kernel.effects: Send to the order gateway, Publish on the bus, ArmTimer/CancelTimer).

Direction: commands come down from makers and go on down to the order gateway
(Send(to=GATEWAY)); order events, books and session events come up from the bus.
Refusals, OrderRejected(source="risk"), also go down to the order gateway, which
publishes them on the bus: every outcome of a command then comes from one thread, in
command order (replays stay deterministic), and the maker hears a refusal like any other
rejection. The core holds no actor refs, reads no clock and asks no one.

What it publishes: TradingStateChanged after every change of the trading ledger (the
governor is its only writer: an admitted command, an order event, a settlement), first
among the effects of that change, so the market's maker reads the ledger's state at the
point where it used to apply the raw event to a copy of its own (an order event on the
market always gets one, changed or not: the maker's cue to requote; an admitted command's
view goes out just after the command itself, so the order gateway's thread is woken before
the maker's, which has nothing to answer to it); RiskDirective per market (flatten on a hybrid-policy trigger; pause
on the fill-rate limit; reduce_only / resume as the market's restriction changes;
end_session when a breaker ends trading), TriggerRecorded for every policy flatten,
RiskWarning as limits are approached, RiskStateChanged, KillSwitchEngaged/Released, and
ExposureChanged after anything that changed the exposure (readers keep the latest copy
instead of asking).

Time-based rules (a position ageing past the duration limit, a breach persisting through
its window, a pause running out, a flatten running out of time, a cancel-all retried)
are keyed timers whose typed messages come back through `handle`, so they fire on the
replay clock exactly as on the wall clock.

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
- an order of ours from another run (our client-id prefix, another run id) reported
  resting is cancelled as it shows up: a create a killed run sent can land after this
  run's start-up cancel swept that run's orders, and no session quotes it;
- HALTED (kill switch or daily loss) means nothing rests: an order that shows up resting
  after the halt's cancel-all (a place already in flight) is cancelled, and a cancel-all
  that left orders behind is retried;
- timers due at the same instant fire in the order of their message type names, then
  ticker (kernel.clock): the names below keep flatten timeout < hybrid check < cancel-all
  retry < unpause, the order the single "risk:..." timer style had, so replays agree.
"""

from __future__ import annotations

import logging
from collections import Counter
from decimal import Decimal
from typing import Any, Callable

from config import RiskConfig
from kernel.clock import seconds
from kernel.effects import ArmTimer, CancelTimer, Effect, Publish, Send
from kernel.ids import of_another_run
from messages import (
    AllOrdersCancelled,
    AmendOrder,
    BalanceRead,
    PositionsReconciled,
    BookUpdated,
    CancelAllOrders,
    CancelOrder,
    ExposureChanged,
    KillSwitchEngaged,
    KillSwitchReleased,
    MakerFinished,
    MarketLifecycleChanged,
    Message,
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
    TriggerRecorded,
    message,
    rejection_of,
)

from ._governor import RiskGovernor, TradingState
from ._hybrid import HybridPolicy, HybridTrigger, duration_weighted_exposure
from ._killswitch import KillSwitch
from ._limits import FillRateLimiter, LevelCrossing, PnlLimits, WarningLevels

__all__ = [
    "RiskCore",
    "GATEWAY",
    "ORDER_EVENTS",
    "SUBSCRIPTIONS",
    "RiskFlattenTimeoutDue",
    "RiskHybridCheckDue",
    "RiskRetryCancelAllDue",
    "RiskUnpauseDue",
    "estimate_trigger",
]

log = logging.getLogger("mmd.RiskGovernorActor")

GATEWAY = "gateway"  # the role name of the order gateway below risk (Send.to)

ORDER_EVENTS = (
    OrderAccepted,
    OrderAmended,
    OrderCancelled,
    OrderFilled,
    OrderUpdated,
    OrderRejected,
    AllOrdersCancelled,  # settles places whose outcome was unknown
)
SUBSCRIPTIONS = (
    *ORDER_EVENTS,
    BookUpdated,
    SessionStarted,
    SessionStopped,
    MakerFinished,
    MarketLifecycleChanged,
    KillSwitchEngaged,
    KillSwitchReleased,
    BalanceRead,
    PositionsReconciled,  # the runner's start-up read of positions held before this run
)
# what can move positions or resting orders (the governor's apply/admit/settle_market);
# anything else (books, sessions, timers, the kill switch) can change only the state
_MOVES_EXPOSURE = (
    *ORDER_EVENTS, PlaceOrder, AmendOrder, CancelOrder, CancelAllOrders, MarketLifecycleChanged, PositionsReconciled
)
_HALT_PREFIX = "risk: "
_SETTLEMENT_PRICES = {"yes": Decimal(1), "no": Decimal(0)}
_KILL_CAUSE = "kill_switch"
_KILL_PREFIX = "kill switch: "
_RETRY_KEY = "cancel-all-retry"
_ANOTHER_RUN_REASON = "order of another run"


# -- timers (what is due; names ordered as the hazard above says) -------------------------
@message
class RiskFlattenTimeoutDue(Message):
    """A policy flatten's time is up: not flat by now, it is judged incomplete."""

    ticker: str
    ts: int  # the deadline


@message
class RiskHybridCheckDue(Message):
    """The hybrid policy may trigger now with nothing else happening (layers aged, a
    breach persisted)."""

    ticker: str
    ts: int  # the deadline


@message
class RiskRetryCancelAllDue(Message):
    """HALTED and a cancel-all left orders behind: send it again."""

    ts: int  # when the retry was armed


@message
class RiskUnpauseDue(Message):
    """A fill-rate pause of a market runs out."""

    ticker: str
    ts: int  # the deadline


def _hybrid_key(ticker: str) -> str:
    return f"hybrid:{ticker}"


def _unpause_key(ticker: str) -> str:
    return f"unpause:{ticker}"


def _flatten_key(ticker: str) -> str:
    return f"flatten-timeout:{ticker}"


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


class RiskCore:
    """Every entry point takes the time and returns the effects, in the order they must
    be carried out; ExposureChanged comes last, when the exposure differs from the last
    one published."""

    def __init__(self, config: RiskConfig, kill_switch: KillSwitch | None = None, *, run_id: str | None = None) -> None:
        self.config = config
        self.run_id = run_id  # None: no sweep of other runs' orders (a core driven alone)
        self.governor = RiskGovernor(config)
        self.kill_switch = kill_switch if kill_switch is not None else KillSwitch(None)
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
        self._directed: dict[str, str] = {}  # ticker -> last restriction directed: "" | pause | reduce_only
        self._armed: dict[str, int] = {}  # timer key -> deadline, as armed through the effects
        self.triggers: list[TriggerRecorded] = []
        self.errors: Counter[str] = Counter()
        self._published: tuple | None = None  # content of the last ExposureChanged (ts left out)
        self._passed: PlaceOrder | AmendOrder | CancelOrder | None = None  # passed on, to be recorded (pass_on)
        self._now = 0
        self._out: list[Effect] = []
        self._handlers: dict[type, Callable[[Any], None]] = {
            **{kind: self._on_order_event for kind in ORDER_EVENTS},
            PlaceOrder: self._on_command,
            AmendOrder: self._on_command,
            CancelOrder: self._on_command,
            CancelAllOrders: self._on_command,
            BookUpdated: self._on_book,
            SessionStarted: self._on_session_started,
            SessionStopped: self._on_session_stopped,
            MakerFinished: self._on_maker_finished,
            MarketLifecycleChanged: self._on_lifecycle,
            KillSwitchEngaged: self._on_kill_switch_engaged,
            KillSwitchReleased: self._on_kill_switch_released,
            BalanceRead: self._on_balance,
            PositionsReconciled: self._on_positions_reconciled,
            RiskHybridCheckDue: self._on_hybrid_check_due,
            RiskFlattenTimeoutDue: self._on_flatten_timeout_due,
            RiskRetryCancelAllDue: self._on_retry_cancel_all_due,
            RiskUnpauseDue: self._on_unpause_due,
        }

    # -- entry points -----------------------------------------------------------------
    @staticmethod
    def timer_key(timer: Any) -> str | None:
        """The key a timer message was armed under (None: not one of ours)."""
        if isinstance(timer, RiskHybridCheckDue):
            return _hybrid_key(timer.ticker)
        if isinstance(timer, RiskUnpauseDue):
            return _unpause_key(timer.ticker)
        if isinstance(timer, RiskFlattenTimeoutDue):
            return _flatten_key(timer.ticker)
        if isinstance(timer, RiskRetryCancelAllDue):
            return _RETRY_KEY
        return None

    def start(self, now_ns: int) -> list[Effect]:
        """At start: a kill switch restored from before a restart halts at once; the first
        ExposureChanged (nothing yet) goes out."""

        def restore() -> None:
            if self.kill_switch.engaged:  # restored from before a restart: still halted
                log.warning("kill switch still engaged (%s): trading HALTED until a resume", self.kill_switch.reason)
                self._halt_for_kill_switch(self.kill_switch.reason, announce=True)

        return self._run(now_ns, restore)

    def handle(self, message: Any, now_ns: int) -> list[Effect]:
        """A command, a bus event, a balance read or one of our timers (delivered only
        when it is still the key's current timer)."""
        handler = self._handlers.get(type(message))
        if handler is None:
            self.errors["unknown_message"] += 1
            log.warning("ignored unknown message %s", type(message).__name__)
            return []
        recount = isinstance(message, _MOVES_EXPOSURE)
        return self._run(now_ns, lambda: handler(message), what=type(message).__name__, recount=recount)

    def pass_on(self, command: PlaceOrder | AmendOrder | CancelOrder | CancelAllOrders, now_ns: int) -> list[Effect]:
        """The first half of `handle(command)`: the verdict and its Send to the order
        gateway (the command, or risk's refusal), and nothing else. `record(now_ns)` must
        follow at once with the rest (the ledger's view, the market's rules, the exposure):
        the two give exactly `handle`'s effects, in its order. Hazard it answers: the
        gateway's thread, told last, raced the maker's and the supervisor's (woken by the
        view and the exposure) for the interpreter, and often lost (tick-to-order)."""
        self._passed = None

        def act() -> None:
            self._passed = self._pass_on(command)

        return self._run(now_ns, act, what=type(command).__name__, publish_exposure=False)

    def record(self, now_ns: int) -> list[Effect]:
        """The second half of `handle(command)` for the command `pass_on` just passed on."""
        command, self._passed = self._passed, None
        act = (lambda: None) if command is None else (lambda: self._record(command))
        return self._run(now_ns, act, what="" if command is None else type(command).__name__)

    def engage_kill_switch(self, reason: str, now_ns: int) -> list[Effect]:
        """Halt everything and cancel every resting order; only a resume undoes it."""
        reason = reason or "operator"

        def engage() -> None:
            if self.kill_switch.engage(reason, self._now):
                self._halt_for_kill_switch(reason, announce=True)

        return self._run(now_ns, engage)

    def release_kill_switch(self, reason: str, now_ns: int) -> list[Effect]:
        """The manual resume: lifts the kill switch and the breakers (accepting the losses
        so far: they are measured again from here)."""
        return self._run(now_ns, lambda: self._resume(reason or "operator", announce=True))

    def set_trading_state(self, state: str, reason: str, now_ns: int) -> list[Effect]:
        """The operator's hold (ACTIVE lifts it, and only it)."""
        return self._run(now_ns, lambda: self._change_state(lambda: self.governor.set_state(state, reason)))

    def note_balance(self, available: Decimal) -> None:
        """The exchange's available balance (a BalanceRead); orders admitted later draw it down."""
        self.governor.note_balance(Decimal(available))

    # -- queries ------------------------------------------------------------------------
    def kill_switch_status(self) -> dict:
        return {**self.kill_switch.status(), "state": self.governor.state, "state_reason": self.governor.state_reason}

    def exposure_snapshot(self) -> dict:
        """Per ticker position, resting order value and exposure; totals; trading state."""
        snapshot = self.governor.exposure_snapshot()
        snapshot["kill_switch"] = self.kill_switch.status()
        return snapshot

    def exposure_changed(self, now_ns: int) -> ExposureChanged:
        """The exposure as ExposureChanged carries it (what exposure_snapshot reports)."""
        return self._exposure_message(self._exposure_content(), now_ns)

    def _exposure_content(self) -> tuple:
        """What ExposureChanged says, ts and budgets left out: (markets, resting order
        value, global exposure, state)."""
        markets = self.governor.market_exposures()
        resting_order_value = sum((m.resting_order_value for m in markets), Decimal(0))
        return markets, resting_order_value, self.governor.global_exposure(), self.governor.state

    def _exposure_message(self, content: tuple, now_ns: int) -> ExposureChanged:
        markets, resting_order_value, global_exposure, state = content
        return ExposureChanged(
            markets=markets,
            resting_order_value=resting_order_value,
            global_exposure=global_exposure,
            state=state,
            ts=now_ns,
            **self._budgets(),
        )

    def _budgets(self) -> dict:
        """The budgets ExposureChanged carries (the makers' sizing view)."""
        return {
            "market_budget": self.config.per_market_budget_dollars,
            "category_budget": self.governor.budgets.category_limit(),
            "global_budget": self.governor.budgets.global_limit(),
        }

    def status(self, now_ns: int) -> dict:
        available = self.governor.available_balance()  # the last reported, less what was admitted since
        status = self.governor.status()
        hybrid = {}
        for ticker in sorted(self._policies):
            inventory = self.governor.inventory(ticker)
            policy = self._policies[ticker]
            layers = inventory.layers if inventory is not None else ()
            hybrid[ticker] = {
                "duration_weighted_exposure": str(duration_weighted_exposure(layers, now_ns).quantize(Decimal("0.01"))),
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

    # -- running one entry point ----------------------------------------------------------
    def _run(
        self, now_ns: int, act: Callable[[], None], what: str = "", recount: bool = True, publish_exposure: bool = True
    ) -> list[Effect]:
        """`what` names a message: an error handling it is logged and counted, and what was
        decided before it still goes out (an order already admitted is sent on). Without
        it (a caller's request) the error goes back to the caller."""
        self._now, self._out = now_ns, []
        try:
            act()
        except Exception:
            if not what:
                self._out = []
                raise
            self.errors[f"handler:{what}"] += 1
            log.exception("error handling %s", what)
        if publish_exposure:
            self._publish_exposure_if_changed(recount)
        out, self._out = self._out, []
        return out

    def _publish_exposure_if_changed(self, recount: bool) -> None:
        """ExposureChanged when its content (all but ts) differs from the last published.
        Without `recount` only the state is looked at again: counting every market's
        exposure after each book update cost as much as the rest of risk's work."""
        if recount or self._published is None:
            content = self._exposure_content()
        elif self._published[3] == self.governor.state:
            return  # only the state could have changed, and it did not
        else:
            content = (*self._published[:3], self.governor.state)
        if content != self._published:  # the message is built only when it goes out
            self._published = content
            self._out.append(Publish(self._exposure_message(content, self._now)))

    def _send(self, command: Any) -> None:
        self._out.append(Send(GATEWAY, command))

    def _publish(self, event: Any) -> None:
        self._out.append(Publish(event))

    def _arm(self, key: str, deadline: int, timer: Any) -> None:
        if self._armed.get(key) == deadline:
            return  # armed for then already
        self._armed[key] = deadline
        self._out.append(ArmTimer(key, deadline, timer))

    def _disarm(self, key: str) -> None:
        if self._armed.pop(key, None) is not None:
            self._out.append(CancelTimer(key))

    # -- commands -------------------------------------------------------------------
    def _on_command(self, command: PlaceOrder | AmendOrder | CancelOrder | CancelAllOrders) -> None:
        passed = self._pass_on(command)
        if passed is not None:
            self._record(passed)

    def _pass_on(
        self, command: PlaceOrder | AmendOrder | CancelOrder | CancelAllOrders
    ) -> PlaceOrder | AmendOrder | CancelOrder | None:
        """Admit the command and send it on (or send risk's refusal). Returns the command
        when what it changed is still to be recorded."""
        if isinstance(command, CancelOrder | CancelAllOrders):
            self.governor.admit(command)  # always passes; a cancel-all is remembered
            self._send(command)
            return command if isinstance(command, CancelOrder) else None  # the order awaits its cancel
        verdict = self.governor.admit(command)
        if verdict.ok:
            self._send(command)
            return command
        log.info("refused %s %s: %s", type(command).__name__, command.client_order_id, verdict.reason)
        self._send(rejection_of(command, source="risk", code=verdict.code, reason=verdict.reason, ts_recv=self._now))
        return None

    def _record(self, command: PlaceOrder | AmendOrder | CancelOrder) -> None:
        """What an admitted command changed: the market's view, and its rules (not for a cancel)."""
        self._state_changed(command.ticker, command, self._order_of(command))
        if not isinstance(command, CancelOrder):
            self._after_market_change(command.ticker)

    def _order_of(self, command: PlaceOrder | AmendOrder | CancelOrder) -> Any:
        return self.governor.ledger.find(command.ticker, getattr(command, "order_id", None), command.client_order_id)

    def _state_changed(self, ticker: str, cause: Any, order: Any) -> None:
        self._publish(self.governor.ledger.changed(ticker, cause, order, self._now))

    # -- events ---------------------------------------------------------------------
    def _on_order_event(self, event: Any) -> None:
        fills_before = self._fills_counted(event)
        order, tickers = self.governor.apply(event)
        for ticker in tickers:
            self._state_changed(ticker, event, order)
        if self.governor.state == TradingState.HALTED:  # the kill switch, or the daily loss limit
            self._enforce_halt(event)
        elif order is not None:
            self._cancel_if_of_another_run(order)
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
        prefix = _KILL_PREFIX if self.kill_switch.engaged else _HALT_PREFIX
        if isinstance(event, OrderAccepted | OrderAmended | OrderUpdated):
            status = getattr(event, "status", "resting")
            if status == "resting" and event.remaining > 0 and event.order_id:
                self._send(
                    CancelOrder(
                        order_id=event.order_id,
                        client_order_id=event.client_order_id,
                        ticker=event.ticker,
                        ts=self._now,
                        reason=f"{prefix}resting while halted",
                    )
                )
        elif isinstance(event, AllOrdersCancelled) and event.reason.startswith((_KILL_PREFIX, _HALT_PREFIX)):
            if event.still_resting != 0 and _RETRY_KEY not in self._armed:
                deadline = self._now + seconds(self.config.kill_cancel_retry_s)
                self._arm(_RETRY_KEY, deadline, RiskRetryCancelAllDue(ts=self._now))

    def _cancel_if_of_another_run(self, order: Any) -> None:
        """An order of ours that no session of this run placed, resting: an earlier run's
        create that landed after the start-up cancel. Cancelled once (pending from then)."""
        if self.run_id is None or not order.adopted or order.gone or order.pending is not None:
            return
        if not order.order_id or not of_another_run(order.client_order_id, self.run_id):
            return
        log.warning("order %s (%s) of another run rests on %s: cancelling it",
                    order.order_id, order.client_order_id, order.ticker)
        self._on_command(
            CancelOrder(
                order_id=order.order_id,
                client_order_id=order.client_order_id,
                ticker=order.ticker,
                ts=self._now,
                reason=_ANOTHER_RUN_REASON,
            )
        )

    def _fills_counted(self, event: Any) -> int:
        inventory = self.governor.inventory(getattr(event, "ticker", ""))
        return 0 if inventory is None else inventory.fill_count

    def _on_fill(self, fill: OrderFilled) -> None:
        now = self._now
        value = fill.count * fill.price  # filled value: contracts x YES price
        if self.fill_rate.record(fill.ticker, value, now):
            rate = self.fill_rate.rate(fill.ticker, now)
            until = now + seconds(self.config.fill_rate_pause_s)
            reason = (
                f"fill_rate ${rate:.2f} in {self.config.fill_rate_window_s:g}s "
                f"exceeds ${self.config.fill_rate_limit_dollars}"
            )
            self.governor.pause_market(fill.ticker, reason)
            self._arm(_unpause_key(fill.ticker), until, RiskUnpauseDue(ticker=fill.ticker, ts=until))
            self._warn("fill_rate", fill.ticker, rate / self.config.fill_rate_limit_dollars, reason)

    def _on_book(self, event: BookUpdated) -> None:
        self.governor.apply(event)
        if event.ticker in self._policies or self.governor.inventory(event.ticker) is not None:
            self._evaluate_hybrid(event.ticker)
            self._check_pnl()

    def _on_balance(self, event: BalanceRead) -> None:
        self.note_balance(event.available)

    def _on_positions_reconciled(self, event: PositionsReconciled) -> None:
        """Positions held before this run count like our own fills: budgets, the hybrid
        policy and status see them. A market whose inventory this run already opened is
        left as it is (its fills came first; adding the held position would count twice)."""
        for held in event.positions:
            if self.governor.seed_position(held.ticker, held.position, held.price, event.ts):
                log.warning("%s: position %s held before this run counted at $%s", held.ticker, held.position, held.price)
                self._after_market_change(held.ticker)

    def _on_session_started(self, event: SessionStarted) -> None:
        self._sessions[event.ticker] = event.session_id
        self.governor.budgets.learn(event.ticker, event.config)
        # a position held from an earlier run becomes this session's: a flatten of the
        # market (risk counts the held contracts) is then one its maker can carry out
        if self.governor.ledger.take_over_held(event.ticker, event.session_id, self._now):
            log.warning("%s: session %s takes over the position held before this run", event.ticker, event.session_id)
            self._state_changed(event.ticker, event, None)
        # the new maker subscribed after the last ExposureChanged: publish it again, so it
        # sizes its first quotes to the room the other markets leave (not a refusal)
        self._published = None
        if self.kill_switch.engaged:  # a session started under the kill switch never quotes
            self._direct(event.ticker, "pause", f"{_KILL_PREFIX}{self.kill_switch.reason}")
        elif event.ticker in self._flattening:  # a flatten ordered with no maker to carry it out
            self._direct_flatten(event.ticker, self._flattening[event.ticker])
            self._arm_flatten_timeout(event.ticker)

    def _on_session_stopped(self, event: SessionStopped) -> None:
        self.governor.ledger.end_session(event.ticker, event.session_id)  # its maker is gone
        if self._sessions.get(event.ticker) == event.session_id:
            del self._sessions[event.ticker]
            self._directed.pop(event.ticker, None)  # a new session starts unrestricted-as-told
            if event.ticker in self._flattening:
                self._flatten_incomplete(event.ticker, f"session ended ({event.reason})")

    def _on_maker_finished(self, event: MakerFinished) -> None:
        """The maker carrying a flatten is done (its exit may have given up, or a cancel
        exit left the position): the flatten will not complete."""
        if self._sessions.get(event.ticker) == event.session_id and event.ticker in self._flattening:
            # the session is over for risk: its SessionStopped, trailing, is then inert
            del self._sessions[event.ticker]
            self._directed.pop(event.ticker, None)
            self._flatten_incomplete(event.ticker, f"maker finished ({event.reason})")

    def _on_lifecycle(self, event: MarketLifecycleChanged) -> None:
        """A market determined or settled: its position closes at $1 (YES) or $0 (NO), its
        orders are gone, and nothing about it is watched any more."""
        if event.event_type not in ("determined", "settled"):
            return
        price = _SETTLEMENT_PRICES.get((event.result or "").lower())
        if price is None:
            if event.result:
                log.warning("%s %s with result %r: not settled in risk", event.ticker, event.event_type, event.result)
            return
        ticker = event.ticker
        position = self.governor.position(ticker)
        if not self.governor.settle_market(ticker, price, event.ts_event):
            return
        self._state_changed(ticker, event, None)
        log.info("%s %s %s: position %s settled at $%s", ticker, event.event_type, event.result, position, price)
        for key in (_hybrid_key(ticker), _unpause_key(ticker), _flatten_key(ticker)):
            self._disarm(key)
        self._flattening.pop(ticker, None)
        self._policies.pop(ticker, None)
        self._directed.pop(ticker, None)
        self.fill_rate.forget(ticker)
        self._check_market_levels(ticker)
        self._check_pnl()

    def _on_kill_switch_engaged(self, message: KillSwitchEngaged) -> None:
        if not self.kill_switch.engaged:  # our own announcement comes back here: ignored
            self.kill_switch.engage(message.reason, self._now)
            self._halt_for_kill_switch(message.reason, announce=False)

    def _on_kill_switch_released(self, message: KillSwitchReleased) -> None:
        if self.kill_switch.engaged:
            self._resume(message.reason, announce=False)

    # -- timers (the shell delivers only a key's current timer) ----------------------------
    def _on_hybrid_check_due(self, timer: RiskHybridCheckDue) -> None:
        self._armed.pop(_hybrid_key(timer.ticker), None)
        self._evaluate_hybrid(timer.ticker)

    def _on_flatten_timeout_due(self, timer: RiskFlattenTimeoutDue) -> None:
        self._armed.pop(_flatten_key(timer.ticker), None)
        if timer.ticker in self._flattening:
            self._flatten_incomplete(timer.ticker, f"not flat after {self.config.flatten_timeout_s:g}s")

    def _on_retry_cancel_all_due(self, timer: RiskRetryCancelAllDue) -> None:
        self._armed.pop(_RETRY_KEY, None)
        if self.kill_switch.engaged:
            self._send_cancel_all(f"{_KILL_PREFIX}{self.kill_switch.reason} (retry)")
        elif self.governor.state == TradingState.HALTED:
            self._send_cancel_all(f"{_HALT_PREFIX}{self.governor.state_reason} (retry)")

    def _on_unpause_due(self, timer: RiskUnpauseDue) -> None:
        self._armed.pop(_unpause_key(timer.ticker), None)
        self.governor.unpause_market(timer.ticker)
        self._sync_directive(timer.ticker)

    # -- the kill switch and the manual resume ------------------------------------------
    def _halt_for_kill_switch(self, reason: str, *, announce: bool) -> None:
        self._change_state(lambda: self.governor.hold(_KILL_CAUSE, TradingState.HALTED, f"{_KILL_PREFIX}{reason}"))
        self._send_cancel_all(f"{_KILL_PREFIX}{reason}")
        if announce:
            self._publish(KillSwitchEngaged(reason=reason, ts=self._now))
        for ticker in sorted(self._sessions):
            self._direct(ticker, "pause", f"{_KILL_PREFIX}{reason}")

    def _send_cancel_all(self, reason: str) -> None:
        cancel_all = CancelAllOrders(reason=reason, ts=self._now)
        self.governor.admit(cancel_all)
        self._send(cancel_all)

    def _resume(self, reason: str, *, announce: bool) -> None:
        was_engaged = self.kill_switch.release()
        self._disarm(_RETRY_KEY)
        self.pnl.rebase(self.governor.total_pnl(), self._now)
        for levels in self._warning_levels.values():
            levels.clear()

        def release_all() -> bool:
            before = self.governor.state
            for cause in ("drawdown", "daily_loss", _KILL_CAUSE):  # not the operator's own hold
                self.governor.release(cause, f"resumed: {reason}")
            return self.governor.state != before

        self._change_state(release_all)
        if was_engaged and announce:
            self._publish(KillSwitchReleased(reason=reason, ts=self._now))
        for ticker in sorted(self._sessions):
            self._directed[ticker] = "pause"  # force the market's real restriction out
            self._sync_directive(ticker)

    # -- per-market rules ---------------------------------------------------------------
    def _after_market_change(self, ticker: str) -> None:
        if ticker in self._flattening and self.governor.position(ticker) == 0:
            del self._flattening[ticker]  # the flatten is done: the market may trade again
            self._disarm(_flatten_key(ticker))
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
            self._disarm(_hybrid_key(ticker))
            return
        if policy is None:
            policy = self._policies[ticker] = HybridPolicy(self.governor.hybrid_limits)
        layers = inventory.layers
        trigger = policy.observe(layers, inventory.vwap, self.governor.marks.get(ticker), self._now)
        if trigger is not None:
            self._flatten(ticker, trigger)
            return
        deadline = policy.next_check_ns(layers)
        if deadline is None:
            self._disarm(_hybrid_key(ticker))
        else:
            self._arm(_hybrid_key(ticker), deadline, RiskHybridCheckDue(ticker=ticker, ts=deadline))

    def _flatten(self, ticker: str, trigger: HybridTrigger) -> None:
        self._disarm(_hybrid_key(ticker))
        record = estimate_trigger(self.governor, ticker, trigger, self._sessions.get(ticker, ""), self._now)
        self.triggers.append(record)
        self._flattening[ticker] = trigger.reason
        self.governor.restrict_market(ticker, f"flatten: {trigger.reason}")
        log.warning("hybrid policy flattens %s: %s (position %s)", ticker, trigger.reason, record.position_before)
        self._publish(record)
        self._directed[ticker] = "reduce_only"  # the flatten says more than reduce_only would
        self._direct_flatten(ticker, trigger.reason)
        if ticker in self._sessions:  # with no maker, the next session's start carries it out
            self._arm_flatten_timeout(ticker)

    def _direct_flatten(self, ticker: str, reason: str) -> None:
        directive = RiskDirective(ticker=ticker, action="flatten", reason=reason, ts=self._now)
        if self.governor.ledger.took_over_held(ticker):
            # hazard: a maker started after its session's take-over view was published
            # (the supervisor announces the session before it starts the maker) would
            # flatten a book it has not seen; the view goes ahead of the flatten
            self._state_changed(ticker, directive, None)
        self._publish(directive)

    def _arm_flatten_timeout(self, ticker: str) -> None:
        deadline = self._now + seconds(self.config.flatten_timeout_s)
        self._arm(_flatten_key(ticker), deadline, RiskFlattenTimeoutDue(ticker=ticker, ts=deadline))

    def _flatten_incomplete(self, ticker: str, why: str) -> None:
        """A flatten that will not complete as ordered (the maker gave up or is gone, or
        it ran out of time): the market leaves the flatten state, the operator is warned,
        and the policy judges it afresh at once: a position still beyond its limits is
        flattened again (a new trigger; with no session, the next session on the market
        is told), and meanwhile the MAE failsafe watches it again."""
        reason = self._flattening.pop(ticker)
        self._disarm(_flatten_key(ticker))
        self.governor.unrestrict_market(ticker)
        position = self.governor.position(ticker)
        if position == 0:
            return
        self._warn("flatten_incomplete", ticker, Decimal(1), f"flatten {reason} incomplete: {why}, position {position} left")
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
        until = self._armed.get(_unpause_key(ticker)) if action == "pause" else None
        self._directed[ticker] = "" if action == "resume" else action
        self._publish(RiskDirective(ticker=ticker, action=action, reason=reason, until_ts=until, ts=self._now))

    def _end_all_sessions(self, reason: str) -> None:
        for ticker in sorted(self._sessions):
            self._publish(RiskDirective(ticker=ticker, action="end_session", reason=reason, ts=self._now))

    # -- warnings and breakers ----------------------------------------------------------
    def _check_market_levels(self, ticker: str) -> None:
        position = abs(self.governor.position(ticker))
        self._level("position", ticker, position, Decimal(self.config.max_position_contracts))
        exposure = self._warning_levels["exposure"]
        now = self._now
        crossing = exposure.update(
            "market_exposure", ticker, self.governor.exposure(ticker), self.governor.budgets.market_limit(ticker), now
        )
        self._report(crossing, "market exposure vs its budget")
        category = self.governor.budgets.category_of(ticker)
        if category:
            used = self.governor.category_exposure(category)
            crossing = exposure.update("category_exposure", category, used, self.governor.budgets.category_limit(), now)
            self._report(crossing, f"category {category} exposure vs its budget")
        crossing = exposure.update("global_exposure", "", self.governor.global_exposure(), self.config.global_budget_dollars, now)
        self._report(crossing, "global exposure vs the global budget")

    def _level(self, kind: str, key: str, used: Decimal, limit: Decimal) -> None:
        self._report(self._warning_levels[kind].update(kind, key, used, limit, self._now), f"{used} of {limit}")

    def _report(self, crossing: LevelCrossing | None, what: str) -> None:
        if crossing is not None:
            ticker = crossing.key if crossing.kind in ("position", "market_exposure") else ""
            self._warn(crossing.kind, ticker, crossing.level, what)

    def _warn(self, kind: str, ticker: str, level: Decimal, reason: str) -> None:
        log.warning("risk warning %s %s at %s: %s", kind, ticker or "(global)", level, reason)
        self._publish(RiskWarning(kind=kind, ticker=ticker, level=level, reason=reason, ts=self._now))

    def _check_pnl(self) -> None:
        new_day, drawdown, daily_loss = self.pnl.update(self.governor.total_pnl(), self._now)
        if new_day:
            self._warning_levels["daily_loss"].clear()
            if "daily_loss" in self.governor.holds():
                self._change_state(lambda: self.governor.release("daily_loss", "a new trading day"))
        self._level("drawdown", "", drawdown, self.config.max_drawdown_dollars)
        self._level("daily_loss", "", daily_loss, self.config.daily_loss_limit_dollars)
        for breach in self.pnl.breaches():
            if breach.kind in self.governor.holds():
                continue
            reason = f"{breach.kind} ${breach.amount:.2f} reached the ${breach.limit} limit"
            if breach.kind == "drawdown":  # stop adding risk; exits still allowed
                self._change_state(lambda: self.governor.hold("drawdown", TradingState.REDUCING, reason))
            else:  # the daily loss limit halts trading and cancels every resting order
                self._change_state(lambda: self.governor.hold("daily_loss", TradingState.HALTED, reason))
                self._send_cancel_all(f"{_HALT_PREFIX}{reason}")
            self._end_all_sessions(breach.kind)

    def _change_state(self, change: Callable[[], bool]) -> None:
        if change():
            state, reason = self.governor.state, self.governor.state_reason
            self._publish(RiskStateChanged(state=state, reason=reason, ts=self._now))
