"""Message factories and the SupervisorCore harness shared by the supervisor tests (this
module holds no tests)."""

from __future__ import annotations

from collections import deque
from dataclasses import replace
from decimal import Decimal

from actors.supervisor import RestRead, StartMaker, StopMaker, SupervisorCore, TellMaker
from config import load_config
from kernel.clock import seconds
from kernel.effects import ArmOnGrid, ArmTimer, CancelTimer, Publish, Send
from messages import (
    ExposureChanged,
    MakerFinished,
    MarketConfig,
    MarketExposure,
    RegimeUpdated,
    RestReadCompleted,
    SessionStarted,
    SessionStopped,
    StopSession,
    VolatilityDetected,
)


def supervisor_config(**overrides):
    return load_config(overrides={"supervisor": overrides}).supervisor if overrides else load_config().supervisor


def market_config(ticker="KX-A", close_ts=None, **fields) -> MarketConfig:
    base = MarketConfig(
        ticker=ticker,
        category="economics",
        profile="mean_reverting",
        max_exposure=Decimal("8.00"),
        size_factor=Decimal("1"),
        quote_sides="both",
        price_band="normal",
        k=Decimal("1.5"),
        sigma=Decimal("0.03"),
        gamma_multiplier=Decimal("1.0"),
        min_spread=Decimal("0.02"),
        max_spread=Decimal("0.04"),
        regime="MEAN_REVERTING",
        close_ts=close_ts,
    )
    return replace(base, **fields)


def volatility_event(ticker="KX-A", ts=0, event_id=None, regime="MEAN_REVERTING", close_ts=None) -> VolatilityDetected:
    return VolatilityDetected(
        event_id=event_id or f"ev-{ticker}-{ts}",
        ticker=ticker,
        category="economics",
        strength=Decimal("0.8"),
        sigma=Decimal("0.03"),
        jump=Decimal("0.12"),
        direction="up",
        regime=regime,
        config=market_config(ticker, close_ts=close_ts),
        ts=ts,
    )


def regime_update(
    ticker="KX-A", regime="MEAN_REVERTING", *, stable=True, sigma="0.03", ts=0, data_ts=None
) -> RegimeUpdated:
    """A regime view published at `ts` whose newest observation is from `data_ts` (default: ts)."""
    return RegimeUpdated(
        ticker=ticker,
        regime=regime,
        candidate=regime,
        stable=stable,
        sigma=Decimal(sigma),
        drift_z=Decimal("0.01"),
        mr_score=Decimal("0.7"),
        gamma_multiplier=Decimal("1.0"),
        k_multiplier=Decimal("1.0"),
        ts=ts,
        data_ts=ts if data_ts is None else data_ts,
    )


SAMPLE_INTERVAL_S = load_config().scanner.volatility.sample_interval_s  # what the wiring passes the supervisor
T0 = seconds(1_000)


def exposure(positions=None, resting=None, resting_value="0", ts=0) -> ExposureChanged:
    """The risk governor's ExposureChanged: positions {ticker: contracts}, resting {ticker: count}."""
    positions, resting = positions or {}, resting or {}
    markets = tuple(
        MarketExposure(
            ticker=t, position=Decimal(str(positions.get(t, 0))), resting_orders=resting.get(t, 0),
            resting_order_value=Decimal("0"), exposure=Decimal("0"),
        )
        for t in sorted({*positions, *resting})
    )
    value = Decimal(resting_value)
    return ExposureChanged(markets=markets, resting_order_value=value, global_exposure=value, state="ACTIVE", ts=ts)


FAR_CLOSE = "2099-01-01T00:00:00Z"  # GET /markets/{ticker}: a market that closes long after any test


class CoreHarness:
    """SupervisorCore with its effects carried out the way the shell would, in one thread:
    timers fire in the clock's order (deadline, type name, ticker, arming order); makers are
    names that answer StopSession with MakerFinished (unless `finishes` is False); REST
    reads are answered from `balance_cents` and `closes` (ticker -> RFC 3339 or a status).
    Replies and reports are handled after the effects of the message that caused them."""

    def __init__(self, *, style="volatility", finishes=True, balance_cents=100_000, closes=None, **overrides):
        self.config = supervisor_config(**overrides)
        self.core = SupervisorCore(
            self.config, run_id="run-t", regime_sample_interval_s=SAMPLE_INTERVAL_S, style=style
        )
        self.now = T0
        self.finishes = finishes
        self.balance_cents = balance_cents
        self.closes = {} if closes is None else closes
        self.timers: dict[str, tuple[int, int, object]] = {}  # key -> (deadline, arming order, message)
        self._armed = 0
        self.makers: set[str] = set()  # running makers, by session id
        self.gone: set[str] = set()  # makers that cannot be told (their actor died unnoticed)
        self.refuse_to_start = False  # the maker factory raises
        self.carried: list = []  # every effect carried out, in order
        self.inbox: deque = deque()
        self._firing: tuple | None = None  # (deadline, type name, ticker) of the timer being fired

    # -- in -------------------------------------------------------------------------------
    def feed(self, message) -> list:
        """Hand the core one message (then any replies it caused); the effects carried out."""
        start = len(self.carried)
        self.inbox.append(message)
        while self.inbox:
            self._carry(self.core.handle(self.inbox.popleft(), self.now))
        return self.carried[start:]

    def run_until(self, t_ns, regimes=()):
        """Fire due timers one at a time up to t_ns; a fresh regime view of `regimes` each second."""
        next_regime = self.now
        while True:
            due = min(self.timers.items(), key=lambda kv: self._order(*kv), default=None)
            due_ns = None if due is None else due[1][0]
            step = min(x for x in (due_ns, t_ns, next_regime if regimes else None) if x is not None)
            if step > t_ns:
                break
            if regimes and step == next_regime:
                self.now = max(self.now, step)
                for ticker in regimes:
                    self.feed(regime_update(ticker, ts=self.now))
                next_regime += seconds(1)
                continue
            if due_ns is None or due_ns > t_ns:
                break
            key, (deadline, _, message) = due
            del self.timers[key]
            self._firing = (deadline, type(message).__name__, getattr(message, "ticker", ""))
            self.now = max(self.now, deadline)
            dead = frozenset(self.gone & self.makers)
            self._carry(self.core.on_due(message, self.now, dead_makers=dead))
            while self.inbox:
                self._carry(self.core.handle(self.inbox.popleft(), self.now))
        self.now = max(t_ns, self.now)

    @staticmethod
    def _order(key, armed):
        deadline, order, message = armed
        return deadline, type(message).__name__, getattr(message, "ticker", ""), order

    def stop_all_sessions(self, reason="shutdown") -> int:
        told, effects = self.core.stop_all_sessions(reason, self.now)
        self._carry(effects)
        while self.inbox:
            self._carry(self.core.handle(self.inbox.popleft(), self.now))
        return told

    def shut_down(self) -> None:
        self._carry(self.core.shut_down(self.now))

    # -- out ------------------------------------------------------------------------------
    def _carry(self, effects) -> None:
        for effect in effects:
            self.carried.append(effect)
            if isinstance(effect, ArmTimer):
                self._armed += 1
                self.timers[effect.key] = (max(effect.deadline_ns, self.now), self._armed, effect.message)
            elif isinstance(effect, ArmOnGrid):
                self._wake_on_grid(effect)
            elif isinstance(effect, CancelTimer):
                self.timers.pop(effect.key, None)
            elif isinstance(effect, StartMaker):
                if self.refuse_to_start:
                    self.core.maker_did_not_start(effect.session_id, effect.then)
                    continue
                self.makers.add(effect.session_id)
                self._carry(effect.then)
            elif isinstance(effect, TellMaker):
                if effect.session_id in self.gone or effect.session_id not in self.makers:
                    self._carry(self.core.maker_gone(effect.session_id, self.now))
                elif self.finishes:
                    self.inbox.append(self._finished(effect.session_id, effect.message))
            elif isinstance(effect, StopMaker):
                self.makers.discard(effect.session_id)
            elif isinstance(effect, RestRead):
                self.inbox.append(self._answer(effect))

    def _wake_on_grid(self, wake: ArmOnGrid) -> None:
        """What KeyedTimers.arm_on_grid does on the replay clock: the first tick of the grid
        at or after not_before whose turn has not passed; an earlier one armed stays."""
        message = wake.message
        not_before = max(wake.not_before_ns, self.now)
        k = max(1, -((wake.anchor_ns - not_before) // wake.interval_ns))
        deadline = wake.anchor_ns + k * wake.interval_ns
        turn = (type(message).__name__, getattr(message, "ticker", ""))
        while deadline < self.now or (deadline == self.now and self._firing is not None and self._firing >= (deadline, *turn)):
            deadline += wake.interval_ns
        current = self.timers.get(message.key)
        if current is None or deadline < current[0]:
            self._armed += 1
            self.timers[message.key] = (deadline, self._armed, message)

    def _finished(self, session_id: str, stop: StopSession) -> MakerFinished:
        return MakerFinished(
            session_id=session_id, ticker=stop.ticker, reason=stop.reason, position=Decimal("0"),
            realized_pnl=Decimal("0.37"), fees=Decimal("0.02"), ts=self.now,
        )

    def _answer(self, read: RestRead) -> RestReadCompleted:
        status = 200
        if read.path.startswith("/markets/"):
            close = self.closes.get(read.path.removeprefix("/markets/"), FAR_CLOSE)
            status, body = (close, {"error": "x"}) if isinstance(close, int) else (200, {"market": {"close_time": close}})
        else:
            body = {"balance": self.balance_cents}
        return RestReadCompleted(request_id=read.request_id, path=read.path, status=status, body=body, error="",
                                 ts_recv=self.now)

    # -- what happened --------------------------------------------------------------------
    def published(self, kind) -> list:
        return [e.message for e in self.carried if isinstance(e, Publish) and isinstance(e.message, kind)]

    def sent(self, kind, to=None) -> list:
        return [
            e.message for e in self.carried
            if isinstance(e, Send) and isinstance(e.message, kind) and (to is None or e.to == to)
        ]

    def started(self) -> list[SessionStarted]:
        return self.published(SessionStarted)

    def stopped(self) -> list[tuple]:
        return [(m.ticker, m.reason, m.pnl) for m in self.published(SessionStopped)]

    def session_id(self, ticker) -> str:
        return [s.session_id for s in self.started() if s.ticker == ticker][-1]

    def told(self, ticker) -> list[tuple[str, str]]:
        """(reason, urgency) of every stop told to the latest session on `ticker`."""
        sid = self.session_id(ticker)
        return [(e.message.reason, e.message.urgency) for e in self.carried
                if isinstance(e, TellMaker) and e.session_id == sid]

    def reads(self) -> list[str]:
        return [e.path for e in self.carried if isinstance(e, RestRead)]

    def status(self) -> dict:
        return self.core.status()

    def start_one(self, ticker="KX-A", also=(), **event_fields):
        """An event, then past the regime wait with `ticker` (and `also`) regimes kept fresh."""
        self.feed(volatility_event(ticker, ts=self.now, **event_fields))
        self.run_until(self.now + seconds(5), regimes=(ticker, *also))
