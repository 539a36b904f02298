"""Leaving a session (SPEC 8 "Exit", seed 001 passive exit), as a plain object.

Urgency (messages.ExitUrgency):
- cancel: pull the quotes and keep any position (startup reconciliation adopts it);
- passive: pull the quotes; a position under `close_at_once_below` contracts is closed
  at once (hard); a larger one is left `mean_reversion_wait_s` (15 s) to mean-revert,
  then worked with passive limit orders (post-only, at the touch or one tick inside it)
  no worse than `max_slippage` (4 cents) from the mark when the exit began, for at most
  `soft_max_s` (20 s); then hard;
- immediate: hard now: cross the spread with reduce-only immediate-or-cancel orders at
  the other side's best price until flat.

An exit never gives up by itself (hazard: one that did left its position to ride to
settlement). A hard exit not flat after `hard_max_s` (nobody on the other side, or no
fill) is stuck: the session says so (status, one WARNING), and the exit keeps working the
position within `max_slippage` of the CURRENT mark (the market may have moved on): it
crosses when the other side's best price is within that cap, else rests a post-only
order at the touch, no worse than the cap. Only flat, or a cancel, ends it.

A cancel is final: one that arrives while a passive or immediate exit runs stops that
exit (`cancel`), and nothing escalates a cancel. Its orders are awaited at most
`cancel_confirm_s`; then the session ends anyway (the actor's last words cancel them
again, the market's unacknowledged places by a cancel-all).

`plan` is called on every input while the exit runs; it returns what to work:
`ExitOrder` (side, price, size, aggressive) or None (no order), and the phase.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from config import MakerExitConfig
from messages import BookView, ExitUrgency
from kernel.clock import seconds
from kalshi.wire import ceil_to, floor_to

__all__ = ["ExitPhase", "ExitOrder", "ExitPlan"]

_ZERO = Decimal(0)
_ONE = Decimal(1)


class ExitPhase:
    CANCEL = "cancel"  # pulling orders only
    WAIT = "wait"  # waiting for mean reversion
    SOFT = "soft"  # passive limit orders
    HARD = "hard"  # crossing to flatten
    STUCK = "stuck"  # the hard exit did not get out in time: working within the slippage cap


@dataclass(frozen=True, slots=True)
class ExitOrder:
    side: str  # "ask" sells YES (closes a long), "bid" buys YES (closes a short)
    price: Decimal
    size: Decimal
    aggressive: bool  # True: immediate-or-cancel, crossing; False: post-only, resting


class ExitPlan:
    def __init__(
        self,
        config: MakerExitConfig,
        *,
        urgency: str,
        reason: str,
        start_ns: int,
        position: Decimal,
        mark: Decimal | None,
        tick: Decimal,
    ) -> None:
        self.config = config
        self.urgency = urgency
        self.reason = reason
        self.start_ns = start_ns
        self.mark = mark  # fair value when the exit began: the slippage reference
        self.tick = tick
        self._hard_since_ns: int | None = None
        self.stuck_reported = False  # the session warned that this exit cannot get out
        self._cancel_since_ns: int | None = start_ns if urgency == ExitUrgency.CANCEL else None
        if urgency == ExitUrgency.IMMEDIATE or (
            urgency == ExitUrgency.PASSIVE and abs(position) < config.close_at_once_below
        ):
            self._hard_since_ns = start_ns

    def escalate(self, now_ns: int) -> None:
        """A later, more urgent stop (a risk flatten during a passive exit): hard now.
        A cancel stays a cancel."""
        if self.urgency == ExitUrgency.CANCEL:
            return
        if self._hard_since_ns is None:
            self._hard_since_ns = now_ns
        self.urgency = ExitUrgency.IMMEDIATE

    def cancel(self, now_ns: int, reason: str) -> None:
        """A cancel stop during the exit: stop working it, only pull the orders."""
        if self.urgency == ExitUrgency.CANCEL:
            return
        self.urgency = ExitUrgency.CANCEL
        self.reason = reason
        self._cancel_since_ns = now_ns

    def cancel_overdue(self, now_ns: int) -> bool:
        """A cancel whose orders have had `cancel_confirm_s` to be confirmed gone."""
        since = self._cancel_since_ns
        return since is not None and now_ns - since >= seconds(self.config.cancel_confirm_s)

    def phase(self, now_ns: int) -> str:
        if self.urgency == ExitUrgency.CANCEL:
            return ExitPhase.CANCEL
        cfg = self.config
        if self._hard_since_ns is None:
            soft_from = self.start_ns + seconds(cfg.mean_reversion_wait_s)
            if now_ns < soft_from:
                return ExitPhase.WAIT
            if now_ns < soft_from + seconds(cfg.soft_max_s):
                return ExitPhase.SOFT
            self._hard_since_ns = soft_from + seconds(cfg.soft_max_s)
        if now_ns - self._hard_since_ns >= seconds(cfg.hard_max_s):
            return ExitPhase.STUCK
        return ExitPhase.HARD

    def next_deadline_ns(self, now_ns: int) -> int | None:
        """When the phase next changes on its own (for a timer), None when it will not."""
        cfg = self.config
        if self.urgency == ExitUrgency.CANCEL:
            assert self._cancel_since_ns is not None
            overdue = self._cancel_since_ns + seconds(cfg.cancel_confirm_s)
            return overdue if now_ns < overdue else None
        if self._hard_since_ns is None:
            soft_from = self.start_ns + seconds(cfg.mean_reversion_wait_s)
            return soft_from if now_ns < soft_from else soft_from + seconds(cfg.soft_max_s)
        end = self._hard_since_ns + seconds(cfg.hard_max_s)
        return end if now_ns < end else None

    def order(
        self, now_ns: int, position: Decimal, market: BookView | None, mark: Decimal | None = None
    ) -> ExitOrder | None:
        """What to work now to reduce `position`, given the book of others' orders; `mark`:
        the current fair value (the stuck phase's slippage reference)."""
        phase = self.phase(now_ns)
        if position == 0 or phase in (ExitPhase.CANCEL, ExitPhase.WAIT) or market is None:
            return None
        side = "ask" if position > 0 else "bid"
        size = abs(position)
        if phase == ExitPhase.HARD:
            price = market.best_bid if side == "ask" else market.best_ask
            if price is None:
                return None  # nobody to trade with: wait for the book (stuck in time)
            return ExitOrder(side, price, size, aggressive=True)
        if phase == ExitPhase.STUCK:
            return self._within_cap(side, size, market, mark if mark is not None else self.mark)
        return self._passive(side, size, market, self.mark)

    def _within_cap(self, side: str, size: Decimal, market: BookView, mark: Decimal | None) -> ExitOrder | None:
        """Cross when the other side's best price is within the slippage cap of `mark`,
        else rest passively no worse than the cap."""
        if mark is None:
            return None  # no price to judge slippage by: wait for the book
        slip = self.config.max_slippage
        if side == "ask":
            best, cap = market.best_bid, ceil_to(mark - slip, self.tick)
            if best is not None and best >= cap:
                return ExitOrder(side, best, size, aggressive=True)
        else:
            best, cap = market.best_ask, floor_to(mark + slip, self.tick)
            if best is not None and best <= cap:
                return ExitOrder(side, best, size, aggressive=True)
        return self._passive(side, size, market, mark)

    def _passive(self, side: str, size: Decimal, market: BookView, mark: Decimal | None) -> ExitOrder | None:
        tick, slip = self.tick, self.config.max_slippage
        if side == "ask":  # selling YES: at the ask, one tick inside it when there is room
            touch = market.best_ask
            price = None if touch is None else touch - tick
            if price is not None and market.best_bid is not None and price <= market.best_bid:
                price = touch  # no room inside: join the touch
            floor = None if mark is None else ceil_to(mark - slip, tick)
            if price is None:
                price = floor
            elif floor is not None:
                price = max(price, floor)
            if price is None or (market.best_bid is not None and price <= market.best_bid):
                return None  # would cross (post-only refused): wait for the book to move
            price = min(price, _ONE - tick)
        else:  # buying YES back: at the bid, one tick inside it when there is room
            touch = market.best_bid
            price = None if touch is None else touch + tick
            if price is not None and market.best_ask is not None and price >= market.best_ask:
                price = touch
            cap = None if mark is None else floor_to(mark + slip, tick)
            if price is None:
                price = cap
            elif cap is not None:
                price = min(price, cap)
            if price is None or (market.best_ask is not None and price >= market.best_ask):
                return None
            price = max(price, tick)
        return ExitOrder(side, price, size, aggressive=False)
