"""Quoting models and fair-value sources for the maker (SPEC 8), as plain objects.

The interface the maker session integrates against:

Quoting::

    model = build_quoting_model(config.maker)          # maker.model.name picks the base
    plan = model.plan(QuoteContext(fair=..., book=..., position=..., ...))
    for level in plan.levels:                          # bids best first, then asks
        level.side, level.price, level.size            # model price: snap + clamp it
    plan.why_empty                                     # "" unless nothing to quote
    plan.force_exit                                    # fixed spread: exit, do not quote

`QuoteContext` carries the fair value, the book less our own orders, the signed
position, max_position, sigma, gamma (gamma0 x regime multiplier), k, the clock's now,
session start/end and market close (ns), the tick, whether the series charges maker
fees, quote_sides (messages.QuoteSides), size_factor, base_size, max_notional (dollars
per order; 0 = none), min/max total spread, the throttles' extra_widen_ticks, and the
market's liquidity (for fixed-spread widening). The pipeline is: base model
(avellaneda_stoikov | glft | fixed_spread | nhl_hybrid) -> time decay -> spread bounds -> fee floor
-> throttle widening -> one-sided quoting -> ladder -> sizing. Each stage is a plain
function exported below.

Fair value::

    source = build_fair_value(config.maker, strike=None, expiry_ns=None,
                              ticker=None, symbol=None, inplay_from_ns=None)
    source.on_book(book, ts_ns); source.on_trade(price, count, ts_ns)
    source.on_reference(ReferencePriceUpdated); source.on_spot(SpotPriceUpdated)
    source.value(now_ns) -> Decimal | None; source.why_unavailable(now_ns) -> str

Shock::

    shock = ShockDetector(config.maker)    # or a ShockConfig
    if shock.update(price, ts_ns): pause until shock.pause_until_ns()

Money is Decimal throughout; floats appear only inside exp/ln/erf/sqrt and come back
rounded to 1e-9 dollars.
"""

from ._avellaneda_stoikov import AvellanedaStoikovModel, horizon_fraction
from ._core import CoreQuote, SessionWindow
from ._fair_value import (
    FAIR_VALUE_SOURCES,
    BookFairValue,
    EwmaFairValue,
    ModelNd2FairValue,
    ReferenceBlendFairValue,
    build_fair_value,
    fair_value_config_problems,
)
from ._fees import fee_per_contract, min_profitable_spread, trading_fee
from ._fixed_spread import FixedSpreadModel
from ._glft import GlftModel
from ._ladder import ladder
from ._nhl_hybrid import NhlHybridModel
from ._pipeline import (
    BASE_MODELS,
    QuotePipeline,
    apply_fee_floor,
    apply_spread_bounds,
    build_quoting_model,
    model_config_problems,
)
from ._shock import ShockDetector
from ._sizing import size_levels
from ._time_decay import apply_time_decay
from ._types import FairValueSource, QuoteContext, QuoteLevel, QuotePlan, QuotingModel, Side

__all__ = [
    "QuoteContext",
    "QuoteLevel",
    "QuotePlan",
    "QuotingModel",
    "FairValueSource",
    "Side",
    "build_quoting_model",
    "model_config_problems",
    "fair_value_config_problems",
    "QuotePipeline",
    "BASE_MODELS",
    "AvellanedaStoikovModel",
    "GlftModel",
    "FixedSpreadModel",
    "NhlHybridModel",
    "CoreQuote",
    "SessionWindow",
    "horizon_fraction",
    "apply_time_decay",
    "apply_spread_bounds",
    "apply_fee_floor",
    "ladder",
    "size_levels",
    "trading_fee",
    "fee_per_contract",
    "min_profitable_spread",
    "build_fair_value",
    "FAIR_VALUE_SOURCES",
    "BookFairValue",
    "EwmaFairValue",
    "ReferenceBlendFairValue",
    "ModelNd2FairValue",
    "ShockDetector",
]
