"""Session supervisor: spawns and stops per-ticker maker actors."""

from ._actor import SessionSupervisorActor
from ._sessions import Session, SessionBook

__all__ = ["SessionSupervisorActor", "Session", "SessionBook"]
