-- Risk events gain kill-switch releases and limit warnings (50% / 80% / 100% levels,
-- breakers). SQLite cannot alter a CHECK constraint: rebuild the table.
CREATE TABLE risk_events_new (
    id     INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    ts_ns  INTEGER NOT NULL,
    kind   TEXT NOT NULL CHECK (kind IN ('state_changed', 'kill_switch_engaged', 'kill_switch_released', 'warning')),
    state  TEXT,                            -- ACTIVE | REDUCING | HALTED
    reason TEXT NOT NULL
);
INSERT INTO risk_events_new (id, run_id, ts_ns, kind, state, reason)
    SELECT id, run_id, ts_ns, kind, state, reason FROM risk_events;
DROP TABLE risk_events;
ALTER TABLE risk_events_new RENAME TO risk_events;
CREATE INDEX risk_events_run_ts ON risk_events (run_id, ts_ns);
