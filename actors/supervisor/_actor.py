"""Session supervisor actor shell: routes bus events, REST replies and its timers into
SupervisorCore (_core.py, where every decision and its reasons live) and carries out the
effects. It keeps the one thing the core never holds: each session's maker actor, by
session id, which it starts, tells and stops.

Direction: subscriptions go down to the WS connection, sweeps (CancelAllOrders) down
through the risk governor, StopSession down to makers, balance and close-time reads down
to the REST client (a tell naming the supervisor as `reply_to`, resolved by the REST
actor's directory); events come up on the bus. The supervisor asks
no actor at run time: the governor's exposure arrives as ExposureChanged, each balance
read leaves as BalanceRead, makers report MakerStatus/MakerFinished.
"""

from __future__ import annotations

from typing import Any, Callable

from actors._base import MmdActor, handles
from config import SupervisorConfig
from kernel.directory import Directory
from messages import ExposureChanged, MarketConfig, RestReadRequested

from ._core import FEED, ORDER_GATEWAY, RestRead, StartMaker, StopMaker, SupervisorCore, TellMaker
from ._timers import SUPERVISOR_TIMERS, SupervisorMonitorDue

__all__ = ["SessionSupervisorActor", "MakerFactory", "SUPERVISOR_READER"]

SUPERVISOR_READER = "supervisor"  # the name REST replies to the supervisor are addressed to

# (ticker, session_id, market_config or None) -> started maker ActorRef
MakerFactory = Callable[[str, str, MarketConfig | None], Any]
MAKER_STOP_WAIT_S = 1.0  # at shutdown, per maker: the daemon checks for survivors right after we stop


class SessionSupervisorActor(MmdActor):
    subscriptions = tuple(kind for kind in SupervisorCore.SUBSCRIBED if kind is not ExposureChanged)
    unwoken_subscriptions = (ExposureChanged,)  # kept for the next decision: need not wake the supervisor

    def __init__(
        self,
        *,
        clock,
        bus,
        tracker=None,
        config: SupervisorConfig,
        run_id: str,
        maker_factory: MakerFactory,
        feed: Any,
        order_gateway: Any,
        rest: Any = None,
        style: str = "volatility",
        regime_sample_interval_s: float,
        directory: Directory | None = None,
    ) -> None:
        super().__init__(clock=clock, bus=bus, tracker=tracker)
        if directory is not None:  # before the loop starts, so no reply can outrun it
            directory.register(SUPERVISOR_READER, self.actor_ref)
        self.core = SupervisorCore(
            config, run_id=run_id, regime_sample_interval_s=regime_sample_interval_s, style=style, errors=self.errors
        )
        self.maker_factory = maker_factory
        self.feed = feed
        self.order_gateway = order_gateway  # sweeps pass through risk, which settles exposure on them
        self.rest = rest  # balance reads, close times of explicit tickers
        self.makers: dict[str, Any] = {}  # session id -> maker ActorRef

    def on_stop(self) -> None:
        """Every maker still alive is stopped and its session recorded (SupervisorCore.shut_down)."""
        stopping = list(self.makers.values())
        self.carry_out(self.core.shut_down(self.clock.now_ns()))
        for maker in stopping:
            maker.actor_stopped.wait(MAKER_STOP_WAIT_S)

    # -- in ---------------------------------------------------------------------------------
    @handles(*SupervisorCore.INPUTS)
    def on_input(self, message: Any) -> None:
        self.carry_out(self.core.handle(message, self.clock.now_ns()))

    @handles(*SUPERVISOR_TIMERS)
    def on_due(self, due: Any) -> None:
        if not self.timers.fired(due.key, due):
            return  # cancelled or replaced after it was sent
        dead: frozenset[str] = frozenset()
        if isinstance(due, SupervisorMonitorDue):  # whether a maker lives: seen by the shell alone
            dead = frozenset(sid for sid, maker in self.makers.items() if not maker.is_alive())
        self.carry_out(self.core.on_due(due, self.clock.now_ns(), dead_makers=dead))

    # -- out --------------------------------------------------------------------------------
    def route(self, name: str) -> Any:
        return {FEED: self.feed, ORDER_GATEWAY: self.order_gateway}[name]

    def on_effect(self, effect: Any) -> None:
        if isinstance(effect, StartMaker):
            self._start_maker(effect)
        elif isinstance(effect, TellMaker):
            maker = self.makers.get(effect.session_id)
            if maker is None or not self.send(maker, effect.message):
                self.carry_out(self.core.maker_gone(effect.session_id, self.clock.now_ns()))
        elif isinstance(effect, StopMaker):
            maker = self.makers.pop(effect.session_id, None)
            if maker is not None:
                maker.stop(block=False)
        elif isinstance(effect, RestRead):
            if self.rest is not None:
                request = RestReadRequested(
                    request_id=effect.request_id, path=effect.path, query=(), reply_to=SUPERVISOR_READER,
                    ts=self.clock.now_ns(),
                )
                self.send(self.rest, request)
        else:
            super().on_effect(effect)

    def _start_maker(self, start: StartMaker) -> None:
        try:
            maker = self.maker_factory(start.ticker, start.session_id, start.market_config)
        except Exception:  # a maker that cannot even start (bad config): no session, carry on
            self.errors["maker_start"] += 1
            self.log.exception("session %s on %s: the maker did not start", start.session_id, start.ticker)
            self.core.maker_did_not_start(start.session_id, start.then)
            return
        self.makers[start.session_id] = maker
        self.carry_out(start.then)

    # -- asked by the composition layer ------------------------------------------------------
    def stop_all_sessions(self, reason: str, tickers: tuple[str, ...] | None = None) -> int:
        """Stop accepting new sessions and end every open one (or those on `tickers`) with
        CANCEL; how many were told."""
        told, effects = self.core.stop_all_sessions(reason, self.clock.now_ns(), tickers)
        self.carry_out(effects)
        return told

    def open_session_tickers(self) -> list[str]:
        return self.core.open_session_tickers()

    def open_session_count(self) -> int:
        return self.core.open_session_count()

    def get_status(self) -> dict:
        """The supervisor's own view; each maker only as its latest MakerStatus (nobody is asked)."""
        return self.core.status()
