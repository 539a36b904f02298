"""Label values with bounded cardinality.

Hazard: every distinct label value is a series Prometheus keeps for good. Reasons and
codes are free text (an exchange error code, "risk: daily_loss $12.00 reached ..."), so
they are reduced to a short slug, and each label keeps at most `limit` distinct values;
later newcomers are counted under "other".
"""

from __future__ import annotations

import re

__all__ = ["OTHER", "BoundedLabel", "slug"]

OTHER = "other"
UNKNOWN = "unknown"
_MAX_LENGTH = 40
_NOT_SLUG = re.compile(r"[^a-z0-9_]+")


def slug(text: str | None) -> str:
    """The leading words of a reason as a label value: "risk: daily_loss $12" -> "risk",
    "Too Many Requests" -> "too_many_requests"."""
    head = re.split(r"[:(\[]", (text or "").strip().lower(), maxsplit=1)[0]
    value = _NOT_SLUG.sub("_", head).strip("_")[:_MAX_LENGTH].rstrip("_")
    return value or UNKNOWN


class BoundedLabel:
    """The values one label may take: the first `limit` distinct slugs, then "other"."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._seen: set[str] = set()

    def __call__(self, text: str | None) -> str:
        value = slug(text)
        if value in self._seen:
            return value
        if len(self._seen) < self.limit:
            self._seen.add(value)
            return value
        return OTHER
