"""Shock detection (SPEC 8): an EWMA of squared price changes; a change whose size is at
least `threshold` times the EWMA root-mean-square change is a shock, and quoting pauses
for `pause_s`.

The score of a change is taken against the EWMA of the changes BEFORE it (else a jump
would dilute its own yardstick). The rms is floored (one cent by default): in a flat
book the EWMA decays towards zero and any tick would otherwise score as infinite.
No score fires before `min_samples` changes have been seen. Scores are floats (an
estimator, not money).
"""

from __future__ import annotations

import math
from decimal import Decimal

from config import MakerConfig, ShockConfig

__all__ = ["ShockDetector"]

_NS_PER_S = 1_000_000_000


class ShockDetector:
    def __init__(self, cfg: ShockConfig | MakerConfig) -> None:
        self.cfg = cfg.shock if isinstance(cfg, MakerConfig) else cfg
        if not 0 < self.cfg.alpha <= 1:
            raise ValueError(f"shock alpha must be in (0, 1], got {self.cfg.alpha}")
        self.score = 0.0
        self.samples = 0
        self.mean_square = 0.0
        self.last_price: Decimal | None = None
        self.last_shock_ns: int | None = None

    def update(self, price: Decimal, ts_ns: int) -> bool:
        """Feed the latest price; True when this change is a shock."""
        if self.last_price is None:
            self.last_price = price
            return False
        change = float(price - self.last_price)
        self.last_price = price
        rms = max(math.sqrt(self.mean_square), float(self.cfg.floor))
        self.score = abs(change) / rms
        shock = self.samples >= self.cfg.min_samples and self.score >= self.cfg.threshold
        self.mean_square = (1.0 - self.cfg.alpha) * self.mean_square + self.cfg.alpha * change * change
        self.samples += 1
        if shock:
            self.last_shock_ns = ts_ns
        return shock

    def paused(self, now_ns: int) -> bool:
        """True within pause_s of the last shock."""
        return self.last_shock_ns is not None and now_ns - self.last_shock_ns < self.cfg.pause_s * _NS_PER_S

    def pause_until_ns(self) -> int | None:
        if self.last_shock_ns is None:
            return None
        return self.last_shock_ns + int(self.cfg.pause_s * _NS_PER_S)
