"""REST error bodies in Kalshi's shape (kalshi-api.md section 3)."""

from __future__ import annotations

__all__ = ["ApiError", "error_body"]


class ApiError(Exception):
    """A rejected request; becomes `{"error": {"code", "message", "details"?}}` with `status`."""

    def __init__(self, status: int, code: str, message: str, details: str | None = None) -> None:
        super().__init__(f"{status} {code}: {details or message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict:
        return error_body(self.code, self.message, self.details)

    @classmethod
    def bad_request(cls, details: str) -> "ApiError":
        return cls(400, "bad_request", "bad request", details)

    @classmethod
    def missing(cls, field: str) -> "ApiError":
        return cls(400, "missing_parameters", "missing parameters", f"{field} is required")

    @classmethod
    def invalid_order(cls, details: str) -> "ApiError":
        return cls(400, "invalid_order", "invalid order", details)

    @classmethod
    def not_found(cls, what: str) -> "ApiError":
        return cls(404, "not_found", "not found", what)


def error_body(code: str, message: str, details: str | None = None) -> dict:
    error = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}
