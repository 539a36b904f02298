"""simex: a simulated Kalshi exchange (sans-IO core plus an aiohttp shell).

Core (`Exchange`) is deterministic and clock-injected, for replays and backtests; `SimServer`
serves it on loopback with Kalshi's REST and WebSocket wire format for paper trading.
"""

from ._book import ASK, BID, STP_MAKER, STP_TAKER_AT_CROSS, BookOrder, Execution, MatchResult, OrderBook
from ._errors import ApiError
from ._exchange import Exchange, taker_fee
from ._faults import Faults, faults_of
from ._model import FOK, GTC, IOC, Fill, MarketSpec, Order, OrderRequest, Trade
from ._participants import DEFAULT_MARKET, LiquidityProviderSpec, SyntheticMarket, build_default_exchange
from ._reference import ReferenceFeeds
from ._scenario import Scenario, ScenarioError, ScenarioRun, build_scenario_exchange, install_scenario, load_scenario
from ._server import DEFAULT_BALANCE_CENTS, SimServer, build_sim_exchange, run_standalone
from ._tape import TapeMarketDriver, TapeRow, read_tape
from ._ws import WsSession

__all__ = [
    "Faults",
    "faults_of",
    "build_sim_exchange",
    "ASK",
    "BID",
    "STP_MAKER",
    "STP_TAKER_AT_CROSS",
    "GTC",
    "IOC",
    "FOK",
    "ApiError",
    "BookOrder",
    "Execution",
    "MatchResult",
    "OrderBook",
    "Exchange",
    "taker_fee",
    "Fill",
    "MarketSpec",
    "Order",
    "OrderRequest",
    "Trade",
    "DEFAULT_MARKET",
    "LiquidityProviderSpec",
    "SyntheticMarket",
    "build_default_exchange",
    "DEFAULT_BALANCE_CENTS",
    "SimServer",
    "run_standalone",
    "ReferenceFeeds",
    "Scenario",
    "ScenarioError",
    "ScenarioRun",
    "build_scenario_exchange",
    "install_scenario",
    "load_scenario",
    "TapeMarketDriver",
    "TapeRow",
    "read_tape",
    "WsSession",
]
