"""Guardrails (SPEC 8, seed 001): conditions that freeze quoting or end the session.

- stop quoting `stop_before_close_s` (180 s) before the market closes -> freeze for good
  (time only moves on); ending the session then is the supervisor's rule (SPEC 7), which
  records it as market_close and picks the exit;
- a quiet market pauses, never ends, the session (hazard: ending it in every quiet
  stretch of a long-lived market churned a pinned market through 50-70 sessions a game,
  each reopened a minute later): realised sigma below `min_sigma` (0.01) -> freeze
  ("quiet market: ..."); sigma is the scanner's measure (std of 5-s-bucketed mids over
  `sigma_window_s`, 10 minutes), None (not judged) until the session's own mids cover the
  whole window (see _throttles.SigmaEstimator); no public trade for `no_trade_freeze_s`
  (15 s) -> freeze;
- the WS feed unhealthy for more than `stale_freeze_s` (5 s) -> freeze, more than
  `stale_stop_s` (15 s) -> end. Hazard: the feed's health (ping/pong liveness), not the
  age of the last book change, decides staleness: a quiet market is not a dead feed.

A freeze is temporary (quoting resumes when the condition clears); an end starts the
session's exit. Ends are judged before freezes, so a freeze never hides an end. `check` is a pure function of its inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from config import MakerGuardrailConfig
from kernel.clock import seconds

__all__ = ["GuardrailVerdict", "check_guardrails"]


@dataclass(frozen=True, slots=True)
class GuardrailVerdict:
    freeze: str = ""  # why quoting is frozen ("" when not)
    end: str = ""  # why the session must end ("" when not)


def check_guardrails(
    config: MakerGuardrailConfig,
    *,
    now_ns: int,
    close_ns: int | None,
    last_trade_ns: int,
    feed_unhealthy_since_ns: int | None,
    sigma: Decimal | None,
) -> GuardrailVerdict:
    """last_trade_ns: the last public trade, or the session start before any."""
    if feed_unhealthy_since_ns is not None:
        stale_ns = now_ns - feed_unhealthy_since_ns
        if stale_ns > seconds(config.stale_stop_s):
            return GuardrailVerdict(end=f"market data stale over {config.stale_stop_s:g} s")
    if close_ns is not None and close_ns - now_ns <= seconds(config.stop_before_close_s):
        return GuardrailVerdict(freeze="market close near")
    if feed_unhealthy_since_ns is not None and now_ns - feed_unhealthy_since_ns > seconds(config.stale_freeze_s):
        return GuardrailVerdict(freeze=f"market data stale over {config.stale_freeze_s:g} s")
    if sigma is not None and sigma < config.min_sigma:
        # the reason names no figure: it would change each check and re-publish the status
        return GuardrailVerdict(freeze=f"quiet market: sigma below {config.min_sigma}")
    if now_ns - last_trade_ns >= seconds(config.no_trade_freeze_s):
        return GuardrailVerdict(freeze=f"no trades for {config.no_trade_freeze_s:g} s")
    return GuardrailVerdict()
