"""Time decay (SPEC 8, seed 004): quotes change as the session or market runs out.

Through the window (session start to session end, else market close):
- skew x2 after 70% of it has elapsed, x4 after 90%;
- spread x1.5 at extremes (fair < 0.15 or > 0.85), x1.5 in the last 20%, x2 in the last
  10% (the factors multiply);
- in the last 10%, stop bidding the losing side: fair below 0.5 stops the YES bid, fair
  above 0.5 stops the YES ask (the NO bid);
- no quotes at all within 30 s of the market's close.
"""

from __future__ import annotations

from decimal import Decimal

from config import QuoteModelConfig

from ._core import CoreQuote, SessionWindow, seconds_left
from ._types import QuoteContext

__all__ = ["apply_time_decay", "decay_phase"]

_HALF = Decimal("0.5")
_ONE = Decimal(1)


def decay_phase(cfg: QuoteModelConfig, ctx: QuoteContext) -> tuple:
    """Where the clock stands for time decay: (within the stop before expiry, the skew
    multiplier, the late widening stage 0/1/2, the losing side stopped); the stage reads
    nothing else from the clock, so an equal phase decays a quote alike."""
    to_close = seconds_left(ctx.market_close_ns, ctx.now_ns)
    near_expiry = to_close is not None and to_close <= Decimal(str(cfg.decay_stop_before_expiry_s))
    window = SessionWindow.of(ctx)
    if near_expiry or window is None:
        return near_expiry, None, 0, False
    elapsed = window.elapsed_fraction(ctx.now_ns)
    left = _ONE - elapsed
    skew_multiplier = _ONE
    if elapsed >= cfg.decay_skew_at_2:
        skew_multiplier = cfg.decay_skew_multiplier_2
    elif elapsed >= cfg.decay_skew_at_1:
        skew_multiplier = cfg.decay_skew_multiplier_1
    late = 2 if left <= cfg.decay_late_left_2 else 1 if left <= cfg.decay_late_left_1 else 0
    return False, skew_multiplier, late, left <= cfg.decay_losing_side_left


def apply_time_decay(cfg: QuoteModelConfig, ctx: QuoteContext, core: CoreQuote) -> CoreQuote:
    near_expiry, skew_multiplier, late, losing_side = decay_phase(cfg, ctx)
    if near_expiry:
        return core.noted("near_expiry", why_empty=f"within {cfg.decay_stop_before_expiry_s:g} s of expiry")
    widen = _ONE
    if ctx.fair < cfg.decay_extreme_low or ctx.fair > cfg.decay_extreme_high:
        widen *= _ONE + cfg.decay_extreme_widen
        core = core.noted("extreme_widen")
    if skew_multiplier is not None:  # a session window
        if skew_multiplier != _ONE:
            core = core.noted(f"skew_x{skew_multiplier}", reservation=core.fair + core.skew * skew_multiplier)
        if late == 2:
            widen *= _ONE + cfg.decay_late_widen_2
            core = core.noted("late_widen_2")
        elif late == 1:
            widen *= _ONE + cfg.decay_late_widen_1
            core = core.noted("late_widen_1")
        if losing_side and ctx.fair != _HALF:
            yes_losing = ctx.fair < _HALF
            core = core.noted(
                "stop_losing_side",
                bid_on=core.bid_on and not yes_losing,
                ask_on=core.ask_on and yes_losing,
            )
    if widen != _ONE:
        core = core.noted(f"spread_x{widen}", half_spread=core.half_spread * widen)
    return core
