"""Strategy: discovery, volatility events, regimes, maker status, risk directives, records.

These are the contracts between the scanner, the session supervisor, the makers and the
risk governor (SPEC sections 6-9). Payload classes without the `Message` base
(`MarketConfig`, `ScoredMarket`) ride inside messages and are never told on their own.
"""

from __future__ import annotations

from decimal import Decimal

from ._base import Count, Message, Money, Price, message

__all__ = [
    "QuoteSides",
    "ExitUrgency",
    "MarketConfig",
    "ScoredMarket",
    "DiscoveryCompleted",
    "VolatilityDetected",
    "VolatilityEnded",
    "RegimeUpdated",
    "MakerStatus",
    "MakerFinished",
    "RiskDirective",
    "TriggerRecorded",
    "RealizationRecorded",
    "RiskWarning",
    "ReferencePriceUpdated",
    "SpotPriceUpdated",
    "MarketExposure",
    "ExposureChanged",
    "BalanceRead",
]


class QuoteSides:
    BOTH = "both"
    BID_ONLY = "bid_only"  # hard extreme, cheap: only buy YES
    ASK_ONLY = "ask_only"  # hard extreme, expensive: only sell YES


class ExitUrgency:
    """How a maker leaves when its session is stopped (StopSession.urgency)."""

    CANCEL = "cancel"  # cancel orders, keep any position (shutdown; startup reconciles)
    PASSIVE = "passive"  # SPEC 8 passive exit: soft phase then hard
    IMMEDIATE = "immediate"  # hard exit now (CHAOTIC, stale regime, risk flatten)


@message
class MarketConfig:
    """A session's generated market config (SPEC 6 "Dynamic market config").

    Built by the scanner, carried by `VolatilityDetected` / `ScoredMarket`, handed by the
    supervisor to the maker it spawns. Everything a maker needs beyond config defaults.
    """

    ticker: str
    category: str  # lower case: rates | economics | crypto | sports | entertainment | ...
    profile: str  # mean_reverting | medium_trending | hard_trending | low_liquidity
    max_exposure: Money  # dollars: min(alpha*sqrt(liquidity), per-market cap, global share, category cap)
    size_factor: Decimal  # price band factor x long-dated haircut x regime max-position factor
    quote_sides: str  # QuoteSides
    price_band: str  # normal | soft_extreme | hard_extreme
    k: Decimal  # order-arrival decay for the category, regime multiplier applied
    sigma: Decimal  # blended and clamped to [0.005, 0.08], dollars
    gamma_multiplier: Decimal  # regime multiplier
    min_spread: Price  # profile (or regime override) spreads, dollars
    max_spread: Price
    regime: str  # regime at generation time
    close_ts: int | None  # market close, ns; None when unknown
    long_dated: bool = False
    tick: Decimal | None = None  # the market's price tick, dollars; None: maker.tick


@message
class ScoredMarket:
    """One market of a discovery run, with its score and why (discovered_markets row)."""

    ticker: str
    title: str
    category: str
    score: float  # min-max normalised composite; a ranking, not money
    rank: int  # 1-based; 0 when filtered out before scoring
    volume_24h: Money
    spread: Price | None
    mid: Price | None
    liquidity: Money
    reasons: tuple[str, ...]
    config: MarketConfig | None
    selected: bool  # in the top N handed on for trading


@message
class DiscoveryCompleted(Message):
    discovery_id: str
    total_markets: int
    binary_markets: int
    pre_filtered: int  # left after the pre-filters
    markets: tuple[ScoredMarket, ...]  # scored ones, best first
    model_version: str
    ts: int


@message
class VolatilityDetected(Message):
    event_id: str
    ticker: str
    category: str
    strength: Decimal  # 0..1
    sigma: Decimal  # realised sigma over the window, dollars
    jump: Price  # signed YES-price move inside the jump window
    direction: str  # up | down | "" (move under 5 cents)
    regime: str
    config: MarketConfig
    ts: int


@message
class VolatilityEnded(Message):
    event_id: str
    ticker: str
    reason: str  # sigma_below_threshold | market_inactive | left_tracked_set
    ts: int


@message
class RegimeUpdated(Message):
    """The scanner's regime view of a market; published on each classification of a
    tracked market with a session (the supervisor treats > 4 s silence as stale)."""

    ticker: str
    regime: str  # accepted (stable) regime: QUIET | MEAN_REVERTING | TRENDING | CHAOTIC | NOISE | UNKNOWN
    candidate: str  # latest raw classification
    stable: bool  # candidate repeated the required number of windows
    sigma: Decimal
    drift_z: Decimal  # drift normalised by sigma
    mr_score: Decimal  # mean-reversion score 0..1
    gamma_multiplier: Decimal
    k_multiplier: Decimal
    ts: int
    data_ts: int = 0  # time of the newest observation behind the regime (0: none yet); judge staleness on this, not ts


@message
class MakerStatus(Message):
    """A maker's state after any change of state, pause reason or throttle."""

    session_id: str
    ticker: str
    state: str  # INIT | WAIT_DATA | QUOTING | PAUSED | FLATTENING | DONE
    why_not_quoting: str  # "" while quoting
    adverse_selection: bool  # the adverse-selection throttle is engaged
    position: Count  # signed YES contracts
    realized_pnl: Money
    unrealized_pnl: Money
    ts: int


@message
class MakerFinished(Message):
    """A maker reached DONE: orders gone (or confirmed cancelling) and exit finished."""

    session_id: str
    ticker: str
    reason: str
    position: Count  # what is left (non-zero after a CANCEL stop or a failed exit)
    realized_pnl: Money  # net of fees
    fees: Money
    ts: int


@message
class RiskDirective(Message):
    """The risk governor's instruction for one market.

    action: flatten (maker exits IMMEDIATE), pause (no quotes until `until_ts`),
    reduce_only, resume, end_session (supervisor ends the session with `reason`).
    """

    ticker: str
    action: str
    reason: str
    ts: int
    until_ts: int | None = None


@message
class TriggerRecorded(Message):
    """A risk-policy flatten (triggers table).

    Recorded when the risk governor orders the flatten, before its fills exist: exit_price
    is then the mark-to-mid estimate (last trusted mid, else the VWAP) and
    pnl_from_flatten = position_before x (exit_price - vwap), before exit fees;
    pnl_before is the market's realised P&L net of fees (actors.risk.estimate_trigger).
    """

    session_id: str
    ticker: str
    reason: str
    position_before: Count
    vwap: Price | None
    exit_price: Price | None
    pnl_before: Money | None
    pnl_from_flatten: Money | None
    ts: int


@message
class RealizationRecorded(Message):
    """One closed FIFO round trip (realizations table)."""

    session_id: str
    ticker: str
    side: str  # the YES position closed: long | short
    count: Count
    entry_price: Price
    exit_price: Price
    entry_ts: int
    exit_ts: int
    pnl: Money  # net of both legs' fees
    fees: Money
    exit_reason: str
    ts: int


@message
class RiskWarning(Message):
    """A limit crossed a warning level (50% / 80% / 100%) or a breaker fired."""

    kind: str  # daily_loss | drawdown | position | fill_rate | inventory_value | ...
    ticker: str  # "" when global
    level: Decimal  # fraction of the limit used, e.g. 0.5
    reason: str
    ts: int


@message
class ReferencePriceUpdated(Message):
    """Best bid/ask of the same outcome on a reference venue (seed 003), YES-leg dollars."""

    ticker: str  # the Kalshi ticker it references
    source: str
    bid: Price | None
    ask: Price | None
    ts_event: int
    ts_recv: int


@message
class SpotPriceUpdated(Message):
    """Spot price of an underlying (seed 004), e.g. BTCUSDT."""

    symbol: str
    price: Decimal
    ts_event: int
    ts_recv: int


@message
class MarketExposure:
    """One market's exposure as the risk governor counts it (payload of ExposureChanged)."""

    ticker: str
    position: Count  # signed YES contracts, fills reported but not yet seen included
    resting_orders: int  # our resting orders on this market
    resting_order_value: Money  # dollars locked in them
    exposure: Money  # positions and resting orders, as the per-market budget counts it
    category: str = ""  # lower case, as the category budget groups it; "" unknown (no category budget)


@message
class ExposureChanged(Message):
    """The risk governor's exposure after anything that changed it. Published on the bus;
    readers (the session supervisor's admission) keep the latest copy instead of asking."""

    markets: tuple[MarketExposure, ...]  # sorted by ticker; a market with nothing left is absent
    resting_order_value: Money  # all markets
    global_exposure: Money
    state: str  # ACTIVE | REDUCING | HALTED
    ts: int
    # the budgets the governor checks against (None: not told), so a maker sizes to the
    # room other markets leave instead of learning it from refusals
    market_budget: Money | None = None  # per market (a session's MarketConfig.max_exposure may be lower)
    category_budget: Money | None = None  # all markets of one category together
    global_budget: Money | None = None  # all markets together


@message
class BalanceRead(Message):
    """The exchange's available balance, as just read over REST (published by whoever read
    it; the risk governor's balance check and the supervisor's admission keep the latest)."""

    available: Money  # dollars
    ts: int
