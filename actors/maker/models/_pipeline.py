"""The quoting pipeline: a base model, then time decay, spread bounds, the fee floor,
throttle widening, one-sided quoting, the ladder and sizing, in that order.

Each stage is a plain function of (config, context, quote) so a test can drive any one
of them alone; `QuotePipeline.plan` runs them all. Bad input (a fair value outside
(0, 1), a non-positive k) gives an empty plan that says why; it never raises.
"""

from __future__ import annotations

from decimal import Decimal

from config import MakerConfig, QuoteModelConfig, model_config_problems
from messages import QuoteSides

from ._avellaneda_stoikov import AvellanedaStoikovModel
from ._core import CoreQuote
from ._fees import min_profitable_spread
from ._fixed_spread import FixedSpreadModel
from ._glft import GlftModel
from ._ladder import ladder
from ._nhl_hybrid import NhlHybridModel
from ._numeric import clamp
from ._sizing import depth_cap, size_levels
from ._time_decay import apply_time_decay, decay_phase
from ._types import QuoteContext, QuotePlan

__all__ = ["QuotePipeline", "build_quoting_model", "model_config_problems", "BASE_MODELS", "apply_spread_bounds", "apply_fee_floor"]

BASE_MODELS = {
    "avellaneda_stoikov": AvellanedaStoikovModel,
    "glft": GlftModel,
    "fixed_spread": FixedSpreadModel,
    "nhl_hybrid": NhlHybridModel,
}

_ZERO = Decimal(0)
_ONE = Decimal(1)


def apply_spread_bounds(ctx: QuoteContext, core: CoreQuote) -> CoreQuote:
    total = core.half_spread * 2
    bounded = clamp(total, ctx.min_spread, ctx.max_spread)
    return core if bounded == total else core.noted("spread_bounds", half_spread=bounded / 2)


def apply_fee_floor(cfg: QuoteModelConfig, ctx: QuoteContext, core: CoreQuote) -> CoreQuote:
    """Never a total spread that loses after fees and the adverse-selection buffer (this
    floor wins over max_spread: a capped spread that loses money is not a quote)."""
    floor = min_profitable_spread(
        cfg, fair=ctx.fair, size=ctx.base_size * ctx.size_factor, maker_fee_series=ctx.maker_fee_series
    )
    if core.half_spread * 2 >= floor:
        return core
    return core.noted("fee_floor", half_spread=floor / 2)


def _empty(why: str, core: CoreQuote | None = None) -> QuotePlan:
    if core is None:
        return QuotePlan(levels=(), reservation=None, half_spread=None, why_empty=why)
    return QuotePlan(
        levels=(),
        reservation=core.reservation,
        half_spread=core.half_spread,
        why_empty=why,
        force_exit=core.force_exit,
        notes=core.notes,
    )


class QuotePipeline:
    """A `QuotingModel`: `plan(ctx) -> QuotePlan`."""

    def __init__(self, cfg: QuoteModelConfig, base=None) -> None:
        self.cfg = cfg
        self.base = base if base is not None else BASE_MODELS[cfg.name](cfg)

    @property
    def name(self) -> str:
        return self.base.name

    def time_phase(self, ctx: QuoteContext) -> tuple:
        """Everything the plan reads from the clock (ctx.now_ns), as a value: two contexts
        that differ only in now_ns and share a phase get the same plan."""
        return self.base.time_phase(ctx), decay_phase(self.cfg, ctx) if self.cfg.time_decay else None

    def book_reads(self, ctx: QuoteContext) -> Decimal | None:
        """What the plan reads of the book (ctx.book): the depth cap sizing puts on a
        level, or None where that cap cannot bind (no book or no depth: no cap; or a cap at
        least the largest size a level has before it). No base model or other stage reads
        the book. Hazard: a busy market's depth moves on almost every update, and a plan
        keyed by it would be computed again for nothing."""
        cap = depth_cap(self.cfg, ctx.book)
        if cap is None:
            return None
        largest = min(self._level_size(ctx) * ctx.size_factor, Decimal(self.cfg.size_max_contracts))
        return None if cap >= largest else cap

    def _level_size(self, ctx: QuoteContext) -> Decimal:
        """Each ladder level's size before the sizing limits."""
        return self.cfg.ladder_size_per_level if self.cfg.ladder_size_per_level > 0 else ctx.base_size

    def core(self, ctx: QuoteContext) -> CoreQuote:
        """Centre and half spread after every price stage (before ladder and sizing)."""
        core = self.base.core(ctx)
        if core.why_empty:
            return core
        if self.cfg.time_decay:
            core = apply_time_decay(self.cfg, ctx, core)
            if core.why_empty:
                return core
        core = apply_spread_bounds(ctx, core)
        if self.cfg.fee_aware:
            core = apply_fee_floor(self.cfg, ctx, core)
        if ctx.extra_widen_ticks > 0:
            core = core.noted(
                f"throttle_widen_{ctx.extra_widen_ticks}", half_spread=core.half_spread + ctx.extra_widen_ticks * ctx.tick
            )
        if ctx.quote_sides == QuoteSides.BID_ONLY and core.ask_on:
            core = core.noted("bid_only", ask_on=False)
        elif ctx.quote_sides == QuoteSides.ASK_ONLY and core.bid_on:
            core = core.noted("ask_only", bid_on=False)
        return core

    def plan(self, ctx: QuoteContext) -> QuotePlan:
        if not _ZERO < ctx.fair < _ONE:
            return _empty(f"fair value {ctx.fair} outside (0, 1)")
        if ctx.quote_sides not in (QuoteSides.BOTH, QuoteSides.BID_ONLY, QuoteSides.ASK_ONLY):
            return _empty(f"unknown quote_sides {ctx.quote_sides!r}")
        try:
            core = self.core(ctx)
        except (ValueError, ArithmeticError, OverflowError) as exc:  # bad parameters: say so, do not raise
            return _empty(f"{self.name} cannot quote: {exc}")
        if core.why_empty:
            return _empty(core.why_empty, core)
        if not core.bid_on and not core.ask_on:
            return _empty("both sides switched off", core)
        levels = [level for level in ladder(self.cfg, core, self._level_size(ctx)) if _ZERO < level.price < _ONE]
        levels = size_levels(self.cfg, ctx, levels)
        if not levels:
            return _empty("no level left after price and size limits (inventory, depth, notional)", core)
        return QuotePlan(
            levels=tuple(levels),
            reservation=core.reservation,
            half_spread=core.half_spread,
            force_exit=core.force_exit,
            notes=core.notes,
        )


def build_quoting_model(cfg: QuoteModelConfig | MakerConfig) -> QuotePipeline:
    """The configured base model (maker.model.name) wrapped in every stage. Raises
    ValueError listing every cross-field problem of the config."""
    model_cfg = cfg.model if isinstance(cfg, MakerConfig) else cfg
    problems = model_config_problems(model_cfg)
    if problems:
        raise ValueError("; ".join(problems))
    return QuotePipeline(model_cfg)
