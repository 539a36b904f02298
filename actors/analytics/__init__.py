"""Analytics sink: messages -> buffered rows -> SQLite (schema in schema/), CSV export."""

from ._actor import AnalyticsActor
from ._export import EXPORTABLE_TABLES, export_csv
from ._recent_fills import RecentFills
from ._rows import MICROPRICE_QUANTUM, RECORDED_MESSAGES, Row, decimal_text, rows_from
from ._sampling import SnapshotSampler
from ._store import AnalyticsStore

__all__ = [
    "AnalyticsActor",
    "AnalyticsStore",
    "SnapshotSampler",
    "RecentFills",
    "export_csv",
    "EXPORTABLE_TABLES",
    "rows_from",
    "decimal_text",
    "Row",
    "RECORDED_MESSAGES",
    "MICROPRICE_QUANTUM",
]
