"""Session supervisor: admits volatility events, spawns and ends per-ticker maker sessions."""

from ._actor import MakerFactory, SessionSupervisorActor
from ._admission import Admission, BalanceGate, ExposureView, RestingValueGate, exposure_view_from
from ._crash import MakerCrashed, crash_reporting
from ._rules import EndDecision, close_deadline_ns, regime_end, regime_is_stale, risk_end
from ._sessions import Session, SessionBook, SessionKind

__all__ = [
    "SessionSupervisorActor",
    "MakerFactory",
    "MakerCrashed",
    "crash_reporting",
    "Admission",
    "BalanceGate",
    "RestingValueGate",
    "ExposureView",
    "exposure_view_from",
    "EndDecision",
    "regime_end",
    "regime_is_stale",
    "close_deadline_ns",
    "risk_end",
    "Session",
    "SessionBook",
    "SessionKind",
]
