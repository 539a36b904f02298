"""Session supervisor: admits volatility events, spawns and ends per-ticker maker sessions."""

from ._actor import MakerFactory, SessionSupervisorActor
from ._admission import NO_EXPOSURE, Admission, BalanceGate, ExposureView, RestingValueGate, exposure_view_of
from ._core import RestRead, StartMaker, StopMaker, SupervisorCore, TellMaker
from ._crash import MakerCrashed, MakerStartFailed, crash_reporting
from ._rules import EndDecision, close_deadline_ns, regime_end, regime_is_stale, risk_end
from ._sessions import Session, SessionBook, SessionKind
from ._timers import (
    SupervisorAdmissionDue,
    SupervisorCloseReadRetryDue,
    SupervisorCloseWindowDue,
    SupervisorExitDeadlineDue,
    SupervisorMonitorDue,
    SupervisorRestartDue,
    SupervisorSessionTtlDue,
)

__all__ = [
    "SessionSupervisorActor",
    "MakerFactory",
    "SupervisorCore",
    "StartMaker",
    "TellMaker",
    "StopMaker",
    "RestRead",
    "SupervisorAdmissionDue",
    "SupervisorCloseReadRetryDue",
    "SupervisorCloseWindowDue",
    "SupervisorExitDeadlineDue",
    "SupervisorMonitorDue",
    "SupervisorRestartDue",
    "SupervisorSessionTtlDue",
    "MakerCrashed",
    "MakerStartFailed",
    "crash_reporting",
    "Admission",
    "BalanceGate",
    "RestingValueGate",
    "ExposureView",
    "NO_EXPOSURE",
    "exposure_view_of",
    "EndDecision",
    "regime_end",
    "regime_is_stale",
    "close_deadline_ns",
    "risk_end",
    "Session",
    "SessionBook",
    "SessionKind",
]
