-- mmd analytics schema, version 1 (SPEC section 10; seeds 000 and 001).
--
-- Conventions
--   * Money, prices and contract counts are TEXT holding an exact fixed-point decimal
--     string exactly as the message carried it ("0.4200", "10.00"), never REAL: binary
--     floats cannot hold 0.42. Read them back with decimal.Decimal(text). SQL arithmetic
--     on them (CAST(... AS REAL)) is for ad-hoc queries only, never for reports of record.
--   * Times are INTEGER nanoseconds since the Unix epoch from the injected clock
--     (*_ns; ts_ns is the clock's receive stamp, ts_event_ns the exchange's own time).
--     No row carries a wall-clock stamp or a random id, so a replay writes the same bytes.
--   * Every table carries run_id (strategy_runs.run_id). There are no FOREIGN KEYs: rows
--     are written in batches whose order across tables is not the order of events.
--   * Scores, sigmas and other estimator outputs are REAL (not money).

CREATE TABLE strategy_runs (
    run_id      TEXT PRIMARY KEY,
    mode        TEXT NOT NULL,              -- paper | demo | prod | backtest
    started_ns  INTEGER NOT NULL,
    ended_ns    INTEGER,
    config_json TEXT NOT NULL,              -- the validated config, secrets masked
    exit_reason TEXT
);

-- Sampled books: at most one row per ticker per analytics.snapshot_interval_s.
CREATE TABLE market_snapshots (
    id          INTEGER PRIMARY KEY,
    run_id      TEXT NOT NULL,
    ticker      TEXT NOT NULL,
    ts_ns       INTEGER NOT NULL,
    ts_event_ns INTEGER,
    best_bid    TEXT,                       -- YES-leg dollars; NULL when the side is empty
    best_ask    TEXT,
    bid_size    TEXT,                       -- contracts resting at best_bid
    ask_size    TEXT,
    mid         TEXT,
    microprice  TEXT,                       -- rounded half-even to 0.000001 dollar
    depth       TEXT,                       -- contracts in the top 5 levels of both sides
    trusted     INTEGER NOT NULL CHECK (trusted IN (0, 1))
);
CREATE INDEX market_snapshots_run_ticker_ts ON market_snapshots (run_id, ticker, ts_ns);

-- One row per order lifecycle event, in arrival order.
CREATE TABLE orders (
    id                       INTEGER PRIMARY KEY,
    run_id                   TEXT NOT NULL,
    session_id               TEXT,          -- NULL when the event does not say
    ts_ns                    INTEGER NOT NULL,
    ts_event_ns              INTEGER,       -- NULL for rejections (no exchange time)
    event                    TEXT NOT NULL
        CHECK (event IN ('accepted', 'amended', 'rejected', 'cancelled', 'updated')),
    client_order_id          TEXT NOT NULL,
    previous_client_order_id TEXT,          -- amended: the client id before the amend
    order_id                 TEXT,          -- NULL when a place was refused
    ticker                   TEXT NOT NULL,
    side                     TEXT,          -- YES-leg bid | ask
    price                    TEXT,
    count                    TEXT,          -- order total (updated: initial; rejected: requested)
    filled                   TEXT,
    remaining                TEXT,
    reduced_by               TEXT,          -- cancelled: contracts taken off the book
    status                   TEXT,          -- updated: resting | canceled | executed
    action                   TEXT,          -- rejected: place | amend | cancel
    source                   TEXT,          -- rejected: risk | exchange | transport
    code                     TEXT,
    reason                   TEXT
);
CREATE INDEX orders_run_ts ON orders (run_id, ts_ns);
CREATE INDEX orders_order_id ON orders (order_id);
CREATE INDEX orders_client_order_id ON orders (client_order_id);

-- Our fills, the exchange's truth. A fill reported twice (WS and REST reconciliation)
-- is written once: writers use INSERT OR IGNORE on (run_id, fill_id).
CREATE TABLE order_fills (
    id              INTEGER PRIMARY KEY,
    run_id          TEXT NOT NULL,
    fill_id         TEXT,
    order_id        TEXT NOT NULL,
    client_order_id TEXT,
    ticker          TEXT NOT NULL,
    side            TEXT NOT NULL,          -- our order's YES-leg side
    price           TEXT NOT NULL,
    count           TEXT NOT NULL,
    fee             TEXT NOT NULL,
    is_taker        INTEGER NOT NULL CHECK (is_taker IN (0, 1)),
    post_position   TEXT,                   -- signed YES position after the fill
    ts_event_ns     INTEGER NOT NULL,
    ts_recv_ns      INTEGER NOT NULL,
    UNIQUE (run_id, fill_id)
);
CREATE INDEX order_fills_run_ticker_ts ON order_fills (run_id, ticker, ts_recv_ns);
CREATE INDEX order_fills_order_id ON order_fills (order_id);

-- Public prints. A print seen twice (reconnect replay) is written once; prints without
-- an id are stored with trade_id NULL and never collapse into each other.
CREATE TABLE trades (
    id          INTEGER PRIMARY KEY,
    run_id      TEXT NOT NULL,
    trade_id    TEXT,
    ticker      TEXT NOT NULL,
    price       TEXT NOT NULL,              -- YES-leg
    count       TEXT NOT NULL,
    taker_side  TEXT NOT NULL,              -- taker's YES-leg side: bid bought, ask sold
    ts_event_ns INTEGER NOT NULL,
    ts_recv_ns  INTEGER NOT NULL,
    UNIQUE (run_id, trade_id)
);
CREATE INDEX trades_run_ticker_ts ON trades (run_id, ticker, ts_recv_ns);

-- Position after each change: from PositionUpdated (source 'position') and from fills
-- that report the position after them (source 'fill'; a duplicate fill adds no row:
-- writers use INSERT OR IGNORE on (run_id, fill_id), NULL for 'position' rows).
CREATE TABLE position_history (
    id           INTEGER PRIMARY KEY,
    run_id       TEXT NOT NULL,
    ticker       TEXT NOT NULL,
    ts_ns        INTEGER NOT NULL,
    ts_event_ns  INTEGER,
    source       TEXT NOT NULL CHECK (source IN ('position', 'fill')),
    fill_id      TEXT,
    position     TEXT NOT NULL,             -- signed: + YES, - NO
    vwap         TEXT,                      -- entry VWAP of the open position, when known
    realized_pnl TEXT,
    fees         TEXT,                      -- fees paid to date, when known
    UNIQUE (run_id, fill_id)
);
CREATE INDEX position_history_run_ticker_ts ON position_history (run_id, ticker, ts_ns);

-- Scanner discovery passes (seed 001 discovery mode) and what each found.
CREATE TABLE discovery_sessions (
    id                INTEGER PRIMARY KEY,
    run_id            TEXT NOT NULL,
    session_id        TEXT NOT NULL,
    ts_ns             INTEGER NOT NULL,
    total_markets     INTEGER,
    binary_markets    INTEGER,
    pre_filtered      INTEGER,
    scored            INTEGER,
    top_markets_count INTEGER,
    configs_generated INTEGER,
    model_version     TEXT,
    UNIQUE (run_id, session_id)
);

CREATE TABLE discovered_markets (
    id                    INTEGER PRIMARY KEY,
    run_id                TEXT NOT NULL,
    session_id            TEXT NOT NULL,    -- discovery_sessions.session_id
    ts_ns                 INTEGER NOT NULL,
    ticker                TEXT NOT NULL,
    title                 TEXT,
    score                 REAL,
    rank                  INTEGER,
    volume_24h            TEXT,
    spread                TEXT,
    mid_price             TEXT,
    liquidity             TEXT,
    reasons_json          TEXT,             -- JSON array of scoring reasons
    generated_config_json TEXT,
    selected_for_trading  INTEGER NOT NULL DEFAULT 0 CHECK (selected_for_trading IN (0, 1)),
    trade_side            TEXT              -- yes | no | NULL
);
CREATE INDEX discovered_markets_run_session ON discovered_markets (run_id, session_id);
CREATE INDEX discovered_markets_ticker ON discovered_markets (ticker);

-- Volatility events the scanner detected, and the sessions they spawned.
CREATE TABLE volatility_events (
    id              INTEGER PRIMARY KEY,
    run_id          TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    ticker          TEXT NOT NULL,
    ts_ns           INTEGER NOT NULL,
    signal_strength REAL,                   -- combined signal, 0..1
    sigma           REAL,                   -- realized volatility estimate
    jump_magnitude  TEXT,                   -- YES-leg price jump in dollars
    direction       TEXT CHECK (direction IN ('up', 'down')),
    regime          TEXT,
    close_ts_ns     INTEGER,                -- market close time
    session_id      TEXT,                   -- session spawned for it, if any
    UNIQUE (run_id, event_id)
);
CREATE INDEX volatility_events_run_ticker_ts ON volatility_events (run_id, ticker, ts_ns);

-- One row per maker session: SessionStarted inserts it, SessionStopped completes it.
CREATE TABLE volatility_sessions (
    run_id       TEXT NOT NULL,
    session_id   TEXT NOT NULL,
    ticker       TEXT NOT NULL,
    event_id     TEXT,                      -- volatility_events.event_id
    started_ns   INTEGER,
    ended_ns     INTEGER,
    start_reason TEXT,
    end_reason   TEXT,                      -- why the session was killed or ended
    pnl          TEXT,                      -- final session P&L in dollars
    PRIMARY KEY (run_id, session_id)
);
CREATE INDEX volatility_sessions_ticker ON volatility_sessions (ticker, started_ns);

-- Closed round trips, FIFO (seed 000's realization log).
CREATE TABLE realizations (
    id           INTEGER PRIMARY KEY,
    run_id       TEXT NOT NULL,
    session_id   TEXT,
    ticker       TEXT NOT NULL,
    side         TEXT NOT NULL,             -- the YES position closed: long | short
    count        TEXT NOT NULL,
    entry_price  TEXT NOT NULL,
    exit_price   TEXT NOT NULL,
    entry_ns     INTEGER NOT NULL,
    exit_ns      INTEGER NOT NULL,
    hold_seconds REAL GENERATED ALWAYS AS ((exit_ns - entry_ns) / 1e9) VIRTUAL,
    pnl          TEXT NOT NULL,
    fees         TEXT,
    exit_reason  TEXT
);
CREATE INDEX realizations_run_ticker_exit ON realizations (run_id, ticker, exit_ns);

-- Risk-policy flattens (seed 000's trigger log).
CREATE TABLE triggers (
    id               INTEGER PRIMARY KEY,
    run_id           TEXT NOT NULL,
    session_id       TEXT,
    ticker           TEXT NOT NULL,
    ts_ns            INTEGER NOT NULL,
    reason           TEXT NOT NULL,
    position_before  TEXT NOT NULL,
    vwap             TEXT,                  -- entry VWAP of the position flattened
    exit_price       TEXT,
    pnl_before       TEXT,                  -- realized P&L before the flatten
    pnl_from_flatten TEXT
);
CREATE INDEX triggers_run_ticker_ts ON triggers (run_id, ticker, ts_ns);

-- Global risk: trading-state changes and kill-switch engagements.
CREATE TABLE risk_events (
    id     INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    ts_ns  INTEGER NOT NULL,
    kind   TEXT NOT NULL CHECK (kind IN ('state_changed', 'kill_switch_engaged')),
    state  TEXT,                            -- ACTIVE | REDUCING | HALTED
    reason TEXT NOT NULL
);
CREATE INDEX risk_events_run_ts ON risk_events (run_id, ts_ns);
