"""Metrics: bus events as Prometheus series, served on loopback (SPEC 12)."""

from ._actor import MetricsActor
from ._core import RISK_STATE_VALUES, SUBSCRIBED, MetricsCore
from ._http import MetricsHttpServer
from ._labels import BoundedLabel, slug
from ._series import MarketSeries

__all__ = ["MetricsActor", "MetricsCore", "MetricsHttpServer", "MarketSeries", "BoundedLabel", "slug", "SUBSCRIBED", "RISK_STATE_VALUES"]
