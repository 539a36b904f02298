"""The scanner's decisions as a plain object (no threads, no clock reads).

Every entry point takes `now_ns` and returns the outputs in order: `Message`s to publish
on the bus, `RestRead`s to hand to the REST client actor, and `Subscribe`s for the WS
connection. The actor shell only routes them, so tests drive this synchronously.

Modes: `scanner.tickers` set -> announce those markets (MarketSelected) and only keep
regimes for their sessions; otherwise `scanner.style` volatility (events) or discovery
(MarketSelected for the top N of each discovery run, plus DiscoveryCompleted).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from config import ScannerConfig
from messages import (
    DiscoveryCompleted,
    MarketSelected,
    RegimeUpdated,
    RestReadCompleted,
    ScoredMarket,
    VolatilityDetected,
    VolatilityEnded,
)
from kernel.clock import NS_PER_SECOND, seconds

from ..market_state import DecimalColumn, IntColumn, PackedRing

from ._discovery import DAY_NS, LISTING_FIELDS, MarketListing, parse_market, prefilter, score_markets, track_filter
from ._market_config import Budgets, build_market_config
from ._profiles import CategoryProfiles, normalise_category
from ._regimes import RegimeTracker, classify, to_decimal
from ._volatility import MarketFacts, PriceHistory, PricePoint, check_event, ended_reason

__all__ = ["ScannerCore", "RestRead", "Subscribe", "RetryDiscovery"]

ZERO = Decimal(0)
ONE = Decimal(1)
HOUR_NS = 3_600 * NS_PER_SECOND
_INACTIVE_LIFECYCLE = frozenset({"deactivated", "closed", "determined", "settled"})
_ACTIVE_LIFECYCLE = frozenset({"activated"})  # a paused market resumed
_LIVE_STATUSES = ("active", "open")
_POLLED_LISTINGS = 512  # the last listing of each polled market, kept to spot a repeat


@dataclass(frozen=True, slots=True)
class RestRead:
    request_id: str
    path: str
    query: tuple[tuple[str, str], ...]
    all_pages: bool = False
    list_key: str = ""


@dataclass(frozen=True, slots=True)
class Subscribe:
    tickers: tuple[str, ...]
    remove: bool = False


@dataclass(frozen=True, slots=True)
class RetryDiscovery:
    """The listing failed: ask again after scanner.retry_after_s."""

    reason: str


@dataclass
class _MarketState:
    history: PriceHistory
    regime: RegimeTracker
    last_ws_ns: int | None = None
    liquidity: Decimal = ZERO
    active: bool = True
    # (ts_ns, dollars) of the last 1,000 trades, packed: ~13 bytes a trade, not a ~200-byte tuple
    trades: PackedRing = field(default_factory=lambda: PackedRing(1000, IntColumn(), DecimalColumn(narrow=True)))
    # the regime's last reading as message Decimals (sigma, drift_z, mr_score): readings are
    # immutable, and the heartbeat publishes the same one every second between samples
    reading_decimals: tuple = (None, None, None, None)


def _content(update: RegimeUpdated) -> tuple:
    """What a RegimeUpdated says, whenever it is said."""
    return (
        update.regime, update.candidate, update.stable, update.sigma, update.drift_z, update.mr_score,
        update.gamma_multiplier, update.k_multiplier, update.data_ts,
    )


class ScannerCore:
    def __init__(self, config: ScannerConfig, budgets: Budgets) -> None:
        self.config = config
        self.budgets = budgets
        self.profiles = CategoryProfiles(config)
        self.mode = "tickers" if config.tickers else config.style
        self.markets: dict[str, MarketListing] = {}
        self.volume_marks: dict[str, deque] = {}  # ticker -> (ts_ns, lifetime volume) for 1 h volume
        self.event_category: dict[str, str] = {}
        self.series_category: dict[str, str] = {}
        self.states: dict[str, _MarketState] = {}
        self.tracked: list[str] = []
        self.sessions: dict[str, str] = {}  # ticker -> session id
        # sessions whose regime is published on news only (a pinned or discovery session:
        # the supervisor keeps the view, judges nothing on it), and what each was last told
        self.news_only: set[str] = set()
        self.published: dict[str, tuple] = {}  # ticker -> content of its last RegimeUpdated
        self.active_events: dict[str, str] = {}  # ticker -> event id
        self.event_regimes_until: dict[str, int] = {}  # ticker -> publish RegimeUpdated until (no session yet)
        self.rearm_at: dict[str, int] = {}  # ticker -> no new event before this (after an event's session or lapse)
        self.polled_ns: dict[str, int] = {}  # ticker -> last REST poll for its regime data (quiet WS)
        self.selected: list[str] = []
        self.queue: deque[RestRead] = deque()
        self.issued: deque[int] = deque()
        self.pending_lookups: dict[str, tuple[str, str]] = {}
        self.listing: list[MarketListing] | None = None
        self.listing_stats = (0, 0)
        self.discovering = False
        self.cursor = 0
        self.parsed: dict[str, tuple[tuple, MarketListing]] = {}  # ticker -> (its fields' texts, listing)
        self.counters = {"discoveries": 0, "events": 0, "ended": 0, "requests": 0, "bad_markets": 0, "sweeps": 0}
        self.last_error = ""
        self._seq = 0

    # -- helpers -------------------------------------------------------------------
    def _next_id(self, kind: str) -> str:
        self._seq += 1
        return f"scanner-{kind}-{self._seq}"

    def _pump(self, now_ns: int) -> list[RestRead]:
        """Hand out queued reads within the scanner's share of the read budget."""
        out = []
        while self.issued and self.issued[0] <= now_ns - NS_PER_SECOND:
            self.issued.popleft()
        while self.queue and len(self.issued) < self.config.volatility.max_requests_per_s:
            self.issued.append(now_ns)
            self.counters["requests"] += 1
            out.append(self.queue.popleft())
        return out

    def next_pump_ns(self) -> int | None:
        """When queued reads can next go out (None: nothing queued). The actor sets a timer
        for it, so a queue left over a full second never waits for an unrelated event."""
        if not self.queue:
            return None
        if len(self.issued) < self.config.volatility.max_requests_per_s:
            return None  # already pumpable: the caller's own pump takes it
        return self.issued[0] + NS_PER_SECOND

    def pump(self, now_ns: int) -> list[RestRead]:
        return self._pump(now_ns)

    def category_of(self, market: MarketListing | None) -> str:
        if market is None:
            return ""
        return self.event_category.get(market.event_ticker, "")

    def category_known(self, market: MarketListing | None) -> bool:
        """The category lookup for the market's event has answered (a failed lookup caches
        nothing: the market stays unscored, untracked and eventless until one does)."""
        return market is not None and market.event_ticker in self.event_category

    def _state(self, ticker: str) -> _MarketState:
        state = self.states.get(ticker)
        if state is None:
            v = self.config.volatility
            state = _MarketState(PriceHistory(v.sample_interval_s, v.history_window_s, v.max_points), RegimeTracker(self.config.regimes))
            self.states[ticker] = state
        return state

    def _drift_threshold(self, ticker: str) -> Decimal:
        profile = self.profiles.profile_name(self.category_of(self.markets.get(ticker)))
        return self.config.regimes.drift_threshold_by_profile.get(profile, self.config.regimes.drift_threshold)

    # -- start and discovery -------------------------------------------------------
    def start(self, now_ns: int) -> list[Any]:
        if self.mode == "tickers":
            out = []
            for ticker in self.config.tickers[: self.config.max_markets]:
                self.selected.append(ticker)
                out.append(MarketSelected(ticker=ticker, reason="configured in scanner.tickers", ts=now_ns))
            return out
        return self.rediscover(now_ns)

    def rediscover(self, now_ns: int) -> list[Any]:
        if self.mode == "tickers" or self.discovering:
            return []
        self.discovering = True
        self.queue.appendleft(
            RestRead(
                request_id=self._next_id("markets"),
                path="/markets",
                query=(("status", self.config.status), ("limit", str(self.config.discovery.page_limit))),
                all_pages=True,
                list_key="markets",
            )
        )
        return self._pump(now_ns)

    def _parse_all(self, items: Any, *, polled: bool = False) -> list[MarketListing]:
        """polled: a sweep or poll of markets the scanner follows (their listings repeat)."""
        listings = []
        parse = self._parse_polled if polled else parse_market
        for item in items if isinstance(items, tuple) else ():  # JSON arrays arrive frozen as tuples
            try:
                listings.append(parse(item))
            except ValueError:  # bad entries are skipped and counted, never fatal
                self.counters["bad_markets"] += 1
        return listings

    def _parse_polled(self, item: Any) -> MarketListing:
        """parse_market, reusing the ticker's last listing when every field it reads is the
        same text (a poll of a quiet market repeats itself; only all-text entries are
        reused: 1 == 1.0 == True would match entries that parse differently)."""
        if not isinstance(item, Mapping):
            return parse_market(item)
        shown = tuple(map(item.get, LISTING_FIELDS))
        ticker = shown[0]
        last = self.parsed.get(ticker) if type(ticker) is str else None
        if last is not None and last[0] == shown:
            return last[1]
        listing = parse_market(item)
        if all(type(value) is str or value is None for value in shown):
            if len(self.parsed) >= _POLLED_LISTINGS and ticker not in self.parsed:
                self.parsed.clear()  # memory stays bounded whatever is polled
            self.parsed[ticker] = (shown, listing)
        return listing

    def _remember_volume(self, market: MarketListing, now_ns: int) -> None:
        marks = self.volume_marks.setdefault(market.ticker, deque(maxlen=64))
        marks.append((now_ns, market.volume))
        while len(marks) > 1 and marks[1][0] <= now_ns - HOUR_NS:
            marks.popleft()

    def volume_1h_dollars(self, ticker: str, now_ns: int) -> Decimal:
        """Lifetime-volume growth over the last hour, or traded dollars seen on WS, whichever is larger."""
        marks = self.volume_marks.get(ticker)
        market = self.markets.get(ticker)
        listed = (marks[-1][1] - marks[0][1]) * (market.notional if market else ONE) if marks else ZERO
        state = self.states.get(ticker)
        seen = sum((d for ts, d in state.trades if ts > now_ns - HOUR_NS), ZERO) if state else ZERO
        return max(listed, seen)

    def _recent_trades(self, ticker: str, now_ns: int) -> int:
        state = self.states.get(ticker)
        start = now_ns - seconds(self.config.discovery.recent_trades_window_s)
        return sum(1 for ts in state.trades.values(0) if ts >= start) if state else 0

    def _on_listing(self, reply: RestReadCompleted, now_ns: int) -> list[Any]:
        if reply.status != 200 or not isinstance(reply.body, Mapping):
            self.discovering = False
            self.last_error = f"GET /markets failed: {reply.status} {reply.error}"
            return [RetryDiscovery(self.last_error)]
        raw = reply.body.get("markets", ())
        listings = self._parse_all(raw)
        self.listing = listings
        self.listing_stats = (len(raw) if isinstance(raw, tuple) else 0, sum(1 for m in listings if m.market_type == "binary"))
        seen = set()
        for m in listings:
            self.markets[m.ticker] = m
            self._remember_volume(m, now_ns)
            seen.add(m.ticker)
        for ticker in [t for t in self.volume_marks if t not in seen]:
            del self.volume_marks[ticker]  # memory stays bounded by the live listing
        self._forget_unlisted(seen)
        ended: list[Any] = []
        for m in listings:  # the listing says whether a known market is live (a resumed pause, say)
            state = self.states.get(m.ticker)
            if state is not None:
                state.active = m.status in _LIVE_STATUSES
                if not state.active:
                    ended.extend(self._end_event(m.ticker, "market_inactive", now_ns))
        # category lookups: only for markets that pass the category-free pre-filters (of
        # discovery or of the tracked set), busiest first
        widest = max(
            max(w.max_days for w in self.config.discovery.time_windows.values()) * DAY_NS,
            self.config.volatility.tracked_max_hours_to_expiry * HOUR_NS,
        )
        candidates = [
            m
            for m in listings
            if m.market_type == "binary"
            and m.status in _LIVE_STATUSES
            and m.close_ns is not None
            and now_ns < m.close_ns <= now_ns + int(widest)
            and m.event_ticker
            and m.event_ticker not in self.event_category
        ]
        candidates.sort(key=lambda m: (-m.volume_24h_dollars, m.ticker))
        wanted: list[str] = []
        for m in candidates:
            if m.event_ticker not in wanted and len(wanted) < self.config.discovery.max_category_lookups:
                wanted.append(m.event_ticker)
        for event_ticker in wanted:
            read = RestRead(request_id=self._next_id("event"), path=f"/events/{event_ticker}", query=())
            self.pending_lookups[read.request_id] = ("event", event_ticker)
            self.queue.append(read)
        if not self.pending_lookups:
            return ended + self._finish_discovery(now_ns)
        return ended

    def _forget_unlisted(self, listed: set[str]) -> None:
        """Markets that left the listing (closed, settled: GET /markets?status=open drops
        them) are forgotten, with the categories of events none of whose markets is left,
        unless the scanner still follows them (a session's market, a tracked one until the
        discovery's retrack). Hazard: Kalshi lists new markets every day; kept, every
        market ever listed would stay for the life of the process."""
        followed = set(self.states) | set(self.sessions) | set(self.tracked)
        for ticker in [t for t in self.markets if t not in listed and t not in followed]:
            del self.markets[ticker]
        # a polled market's last listing goes with it (the cap alone kept ~400 a day)
        for ticker in [t for t in self.parsed if t not in self.markets and t not in followed]:
            del self.parsed[ticker]
        events = {m.event_ticker for m in self.markets.values()}
        for event_ticker in [e for e in self.event_category if e not in events]:
            del self.event_category[event_ticker]

    def _on_lookup(self, reply: RestReadCompleted, now_ns: int) -> list[Any]:
        kind, key = self.pending_lookups.pop(reply.request_id)
        body = reply.body if reply.status == 200 and isinstance(reply.body, Mapping) else None
        if body is None:
            # a failed lookup caches nothing: the next discovery asks again, and until then the
            # market stays out of scoring, tracking and events (a sports market must never
            # pass for the default profile)
            self.last_error = f"GET {reply.path} failed: {reply.status} {reply.error}"
        elif kind == "event":
            event = body.get("event") if isinstance(body.get("event"), Mapping) else {}
            category = normalise_category(event.get("category"))
            series = event.get("series_ticker")
            if category or not isinstance(series, str) or not series:
                self.event_category[key] = category
            elif series in self.series_category:
                self.event_category[key] = self.series_category[series]
            else:
                read = RestRead(request_id=self._next_id("series"), path=f"/series/{series}", query=())
                self.pending_lookups[read.request_id] = ("series", f"{series}\n{key}")
                self.queue.append(read)
        else:
            series, event_ticker = key.split("\n", 1)
            data = body.get("series") if isinstance(body.get("series"), Mapping) else {}
            category = normalise_category(data.get("category"))
            self.series_category[series] = category
            self.event_category[event_ticker] = category
        if not self.pending_lookups and self.discovering:
            return self._finish_discovery(now_ns)
        return []

    def _finish_discovery(self, now_ns: int) -> list[Any]:
        self.discovering = False
        self.counters["discoveries"] += 1
        cfg = self.config
        listings = self.listing or []
        scoring, tracking = [], []
        for m in listings:
            known = self.category_known(m)
            category = self.category_of(m)
            recent = self._recent_trades(m.ticker, now_ns)
            if known and not prefilter(m, category, now_ns, recent, cfg.discovery, cfg.market_config):
                scoring.append(m)
            if not track_filter(m, category if known else None, now_ns, recent, cfg.discovery, cfg.volatility):
                tracking.append(m)
        volume_1h = {m.ticker: self.volume_1h_dollars(m.ticker, now_ns) for m in tracking}
        scored = score_markets(scoring, volume_1h, now_ns, cfg.discovery)
        active_markets = max(1, sum(1 for s in scored if s.selected))
        out: list[Any] = []
        rows = []
        for s in scored:
            m = s.market
            category = self.category_of(m)
            config = None
            if s.selected:
                state = self.states.get(m.ticker)
                regime = state.regime.accepted if state is not None and state.regime.stable else None
                config = build_market_config(
                    ticker=m.ticker, category=category, mid=m.mid, liquidity=m.liquidity,
                    days_to_expiry=m.days_to_expiry(now_ns), close_ts=m.close_ns, regime=regime,
                    event_sigma=None, jump=ZERO, active_markets=active_markets, budgets=self.budgets,
                    rules=cfg.market_config, regimes=cfg.regimes, profiles=self.profiles, sigma_base=cfg.discovery.sigma_base,
                )
            reasons = [f"score {s.score:.4f}", f"volume band {s.volume_band}", f"category {category or 'unknown'}",
                       f"sigma proxy {s.sigma_proxy.quantize(Decimal('0.0001'))}"]
            if not s.eligible:
                reasons.append(f"24h volume below {cfg.discovery.min_volume_24h_dollars}")
            if s.selected:
                reasons.append(f"top {cfg.discovery.top_n}")
            rows.append(ScoredMarket(
                ticker=m.ticker, title=m.title, category=category, score=s.score, rank=s.rank,
                volume_24h=m.volume_24h_dollars, spread=m.spread, mid=m.mid, liquidity=m.liquidity,
                reasons=tuple(reasons), config=config, selected=s.selected,
            ))
        total, binary = self.listing_stats
        out.append(DiscoveryCompleted(
            discovery_id=f"discovery-{self.counters['discoveries']}", total_markets=total, binary_markets=binary,
            pre_filtered=len(scoring), markets=tuple(rows), model_version=cfg.model_version, ts=now_ns,
        ))
        if self.mode == "discovery":
            for s in scored:
                if s.selected and s.market.ticker not in self.selected:
                    self.selected.append(s.market.ticker)
                    out.append(MarketSelected(ticker=s.market.ticker, reason=f"discovery rank {s.rank}", ts=now_ns))
        # the tracked set: top markets by activity under its own filter (track_filter),
        # extremes included (configs handle them)
        ranked = score_markets(tracking, volume_1h, now_ns, cfg.discovery, top_n=len(tracking))
        new_tracked = [s.market.ticker for s in ranked[: cfg.volatility.track_top]]
        out.extend(self._retrack(new_tracked, now_ns))
        self._forget_unlisted({m.ticker for m in listings})  # the markets the retrack let go
        return out

    def _retrack(self, new_tracked: list[str], now_ns: int) -> list[Any]:
        out: list[Any] = []
        keep = set(new_tracked)
        left = [t for t in self.tracked if t not in keep]
        for ticker in left:
            out.extend(self._end_event(ticker, "left_tracked_set", now_ns))
            if ticker not in self.sessions:
                self.states.pop(ticker, None)
        added = [t for t in new_tracked if t not in self.tracked]
        self.tracked = new_tracked
        self.cursor = 0
        for ticker in new_tracked:
            self._state(ticker)
        if self.config.volatility.subscribe_tracked:
            if added:
                out.append(Subscribe(tuple(added)))
            gone = tuple(t for t in left if t not in self.sessions)
            if gone:
                out.append(Subscribe(gone, remove=True))
        return out

    # -- REST replies ---------------------------------------------------------------
    def on_reply(self, reply: RestReadCompleted, now_ns: int) -> list[Any]:
        rid = reply.request_id
        if rid in self.pending_lookups:
            out = self._on_lookup(reply, now_ns)
        elif rid.startswith("scanner-markets-"):
            out = self._on_listing(reply, now_ns)
        elif rid.startswith(("scanner-sweep-", "scanner-poll-")):
            out = self._on_sweep(reply, now_ns)
        else:
            out = []
        return out + self._pump(now_ns)

    def _on_sweep(self, reply: RestReadCompleted, now_ns: int) -> list[Any]:
        if reply.status != 200 or not isinstance(reply.body, Mapping):
            self.last_error = f"sweep failed: {reply.status} {reply.error}"
            return []
        out: list[Any] = []
        for m in self._parse_all(reply.body.get("markets", ()), polled=True):
            if m.ticker not in self.states:
                continue
            self.markets[m.ticker] = m
            state = self.states[m.ticker]
            state.active = m.status in _LIVE_STATUSES
            if not state.active:
                out.extend(self._end_event(m.ticker, "market_inactive", now_ns))
                continue
            v = self.config.volatility
            # a market whose regime is published must keep its regime data fresh: there a WS
            # price older than one sample gives way to the listing (a quiet book sends nothing)
            fresh_s = min(v.ws_fresh_s, v.sample_interval_s) if self._publishes_regime(m.ticker) else v.ws_fresh_s
            if state.last_ws_ns is not None and state.last_ws_ns >= now_ns - seconds(fresh_s):
                continue  # WS data is fresher than any listing: never mix the two
            if m.mid is not None:
                state.liquidity = m.liquidity
                out.extend(self._observe(m.ticker, PricePoint(now_ns, m.mid, m.spread, m.depth), now_ns))
        return out

    # -- market data ----------------------------------------------------------------
    def on_touch(
        self, ticker: str, bid: Decimal | None, ask: Decimal | None, bid_size: Decimal | None,
        ask_size: Decimal | None, now_ns: int,
    ) -> list[Any]:
        """A fresh top of book from the WS feed (book or ticker channel)."""
        state = self.states.get(ticker)
        if state is None:
            return []
        if bid is None or ask is None or bid >= ask:
            return []  # one-sided or crossed: no price, so no fresh data (the REST sweep stays on)
        state.last_ws_ns = now_ns
        bid_size, ask_size = bid_size or ZERO, ask_size or ZERO
        state.liquidity = bid_size * bid + ask_size * (ONE - ask)
        return self._observe(ticker, PricePoint(now_ns, (bid + ask) / 2, ask - bid, bid_size + ask_size), now_ns)

    def on_trade(self, ticker: str, price: Decimal, count: Decimal, now_ns: int) -> None:
        state = self.states.get(ticker)
        if state is not None:
            state.trades.append((now_ns, count * price))

    def on_lifecycle(self, ticker: str, event_type: str, now_ns: int) -> list[Any]:
        state = self.states.get(ticker)
        if state is None:
            return []
        if event_type in _ACTIVE_LIFECYCLE:
            state.active = True  # resumed: it may fire again
            return []
        if event_type not in _INACTIVE_LIFECYCLE:
            return []
        state.active = False
        return self._end_event(ticker, "market_inactive", now_ns)

    def _observe(self, ticker: str, point: PricePoint, now_ns: int) -> list[Any]:
        state = self.states[ticker]
        if not state.history.add(point):
            return []
        window = state.history.mids_since(now_ns - seconds(self.config.regimes.window_s))
        reading = classify(window, point.spread, point.depth, self._drift_threshold(ticker), self.config.regimes)
        state.regime.observe(reading, now_ns)
        if self.mode != "volatility" or ticker not in self.tracked:
            return []
        self._lapse_events(now_ns)
        if ticker in self.active_events:
            reason = ended_reason(state.history, now_ns, active=state.active, tracked=True, config=self.config.volatility)
            return self._end_event(ticker, reason, now_ns) if reason else []
        return self._maybe_detect(ticker, state, now_ns)

    def _maybe_detect(self, ticker: str, state: _MarketState, now_ns: int) -> list[Any]:
        market = self.markets.get(ticker)
        category = self.category_of(market)
        regime = state.regime.accepted
        profile = self.profiles.effective(category, regime)
        facts = MarketFacts(
            category=category,
            volume_24h_dollars=market.volume_24h_dollars if market else ZERO,
            regime=regime,
            profile_excluded=profile.exclude,
            in_session=ticker in self.sessions,
            active=state.active,
            regime_stable=state.regime.stable,
            category_known=self.category_known(market),
            regime_sigma=to_decimal(state.regime.last.sigma),
            cooling_down=now_ns < self.rearm_at.get(ticker, now_ns),
        )
        check = check_event(state.history, now_ns, facts, self.config.volatility)
        if not check.fires:
            return []
        latest = state.history.latest
        config = build_market_config(
            ticker=ticker, category=category, mid=latest.mid, liquidity=state.liquidity,
            days_to_expiry=market.days_to_expiry(now_ns) if market else None,
            close_ts=market.close_ns if market else None, regime=regime, event_sigma=check.sigma, jump=check.jump,
            active_markets=len(self.sessions) + 1, budgets=self.budgets, rules=self.config.market_config,
            regimes=self.config.regimes, profiles=self.profiles, sigma_base=self.config.discovery.sigma_base,
        )
        self.counters["events"] += 1
        event_id = f"vol-{self.counters['events']}-{ticker}"
        self.active_events[ticker] = event_id
        self.event_regimes_until[ticker] = now_ns + seconds(self.config.regimes.event_publish_s)
        event = VolatilityDetected(
            event_id=event_id, ticker=ticker, category=category, strength=check.strength, sigma=check.sigma,
            jump=check.jump, direction=check.direction, regime=regime, config=config, ts=now_ns,
        )
        # the supervisor waits for a stable allowed regime: it hears this one at once, from
        # the same tracker state the event was classified in
        return [event, self._regime_update(ticker, now_ns)]

    def _end_event(self, ticker: str, reason: str, now_ns: int) -> list[Any]:
        event_id = self.active_events.pop(ticker, None)
        self.event_regimes_until.pop(ticker, None)
        if event_id is None:
            return []
        self.counters["ended"] += 1
        return [VolatilityEnded(event_id=event_id, ticker=ticker, reason=reason, ts=now_ns)]

    # -- sessions -------------------------------------------------------------------
    def on_session_started(self, ticker: str, session_id: str, *, heartbeat: bool = True) -> None:
        """heartbeat False: the session's regime is published on news only (the supervisor
        judges a volatility session's regime on every update; any other it only keeps)."""
        self.sessions[ticker] = session_id
        if heartbeat:
            self.news_only.discard(ticker)
        else:
            self.news_only.add(ticker)
        self.event_regimes_until.pop(ticker, None)  # from here on the session keeps it published
        self._state(ticker)

    def on_session_stopped(self, ticker: str, session_id: str, now_ns: int) -> None:
        """The session is over: its event is spent. The ticker re-arms (may fire again)
        after volatility.rearm_cooldown_s, so a market that stays volatile is not lost."""
        if self.sessions.get(ticker) == session_id:
            del self.sessions[ticker]
            self.news_only.discard(ticker)
            self.published.pop(ticker, None)
            self.polled_ns.pop(ticker, None)
            self._rearm(ticker, now_ns)
            if ticker not in self.tracked:
                self.states.pop(ticker, None)

    def _rearm(self, ticker: str, now_ns: int) -> None:
        """Forget the ticker's event without a VolatilityEnded (the supervisor ends sessions
        by ticker on one: a late end could hit a session admitted a moment ago)."""
        self.active_events.pop(ticker, None)
        self.event_regimes_until.pop(ticker, None)
        self.rearm_at[ticker] = now_ns + seconds(self.config.volatility.rearm_cooldown_s)

    def _lapse_events(self, now_ns: int) -> None:
        """Events nobody admitted within regimes.event_publish_s (the supervisor drops a
        waiting event after as long) lapse: the ticker re-arms after the cooldown."""
        for ticker in [t for t, until in self.event_regimes_until.items() if until < now_ns]:
            del self.event_regimes_until[ticker]
            if ticker in self.active_events and ticker not in self.sessions:
                self._rearm(ticker, now_ns)
        for ticker in [t for t, at in self.rearm_at.items() if at <= now_ns]:
            del self.rearm_at[ticker]  # memory stays bounded

    # -- timers ---------------------------------------------------------------------
    def sweep_tick(self, now_ns: int) -> list[Any]:
        """Queue REST reads for the next round-robin chunk of tracked markets whose WS data
        is stale, sized so the whole tracked set is covered once per sweep cycle."""
        v = self.config.volatility
        if self.mode != "volatility" or not self.tracked:
            return self._pump(now_ns)
        chunk = max(1, math.ceil(len(self.tracked) * v.sweep_tick_s / v.sweep_cycle_s))
        fresh_after = now_ns - seconds(v.ws_fresh_s)
        batch: list[str] = []
        for _ in range(min(chunk, len(self.tracked))):
            ticker = self.tracked[self.cursor % len(self.tracked)]
            self.cursor = (self.cursor + 1) % len(self.tracked)
            state = self.states.get(ticker)
            if state is not None and state.last_ws_ns is not None and state.last_ws_ns >= fresh_after:
                continue  # WS data first: no read needed
            batch.append(ticker)
        for i in range(0, len(batch), v.tickers_per_request):
            part = batch[i : i + v.tickers_per_request]
            self.queue.append(RestRead(request_id=self._next_id("sweep"), path="/markets", query=(("tickers", ",".join(part)),)))
            self.counters["sweeps"] += 1
        return self._pump(now_ns)

    def regime_tickers(self, now_ns: int) -> list[str]:
        """Markets whose regime is published: every session's, then every event's that has
        no session yet, from detection until the event ends or `regimes.event_publish_s`
        passes (the supervisor waits on these before it starts a session)."""
        self._lapse_events(now_ns)
        return list(self.sessions) + [t for t in self.event_regimes_until if t not in self.sessions]

    def _publishes_regime(self, ticker: str) -> bool:
        return ticker in self.sessions or ticker in self.event_regimes_until

    def poll_regime_markets(self, now_ns: int) -> list[RestRead]:
        """REST reads for markets whose regime is published but whose newest observation is
        older than one sample (a quiet WS book sends nothing), at most one per market per
        sample interval, so RegimeUpdated.data_ts stays within a sample of now."""
        v = self.config.volatility
        stale_before = now_ns - seconds(v.sample_interval_s)
        due = []
        for ticker in self.regime_tickers(now_ns):
            state = self.states.get(ticker)
            latest = state.history.latest if state is not None else None
            if latest is not None and latest.ts_ns >= stale_before:
                continue
            if self.polled_ns.get(ticker, stale_before) > stale_before:
                continue  # asked within the last sample interval
            self.polled_ns[ticker] = now_ns
            due.append(ticker)
        for i in range(0, len(due), v.tickers_per_request):
            part = due[i : i + v.tickers_per_request]
            self.queue.append(RestRead(request_id=self._next_id("poll"), path="/markets", query=(("tickers", ",".join(part)),)))
        return self._pump(now_ns)

    def _regime_update(self, ticker: str, now_ns: int) -> RegimeUpdated:
        state = self._state(ticker)
        tracker = state.regime
        reading = tracker.last
        # Freshness is the newest observation, not the last classification: a regime is
        # classified once per sample bucket, so its own time lags by up to a bucket and
        # a healthy market would read stale. No classification yet stays 0 (no data).
        latest = state.history.latest
        data_ts = max(tracker.updated_ns, latest.ts_ns if latest is not None else 0) if tracker.updated_ns else 0
        if state.reading_decimals[0] is not reading:
            state.reading_decimals = (
                reading, to_decimal(reading.sigma), to_decimal(reading.drift_z), to_decimal(reading.mr_score),
            )
        _reading, sigma, drift_z, mr_score = state.reading_decimals
        return RegimeUpdated(
            ticker=ticker, regime=tracker.accepted, candidate=tracker.candidate, stable=tracker.stable,
            sigma=sigma, drift_z=drift_z, mr_score=mr_score,
            gamma_multiplier=tracker.gamma_multiplier(), k_multiplier=tracker.k_multiplier(), ts=now_ns,
            data_ts=data_ts,
        )

    def regime_updates(self, now_ns: int) -> list[RegimeUpdated]:
        """RegimeUpdated for every market in `regime_tickers` (news: all of them)."""
        return [self._told(self._regime_update(ticker, now_ns)) for ticker in self.regime_tickers(now_ns)]

    def regime_heartbeat(self, now_ns: int) -> list[RegimeUpdated]:
        """The heartbeat's RegimeUpdated: every market in `regime_tickers`, but a news-only
        session's only when it says something new (anything but `ts`)."""
        out = []
        for ticker in self.regime_tickers(now_ns):
            update = self._regime_update(ticker, now_ns)
            if ticker in self.news_only and self.published.get(ticker) == _content(update):
                continue
            out.append(self._told(update))
        return out

    def _told(self, update: RegimeUpdated) -> RegimeUpdated:
        if update.ticker in self.news_only:
            self.published[update.ticker] = _content(update)
        return update

    def next_heartbeat_ns(self, now_ns: int) -> int:
        """The earliest instant a regime heartbeat may do something, as things stand (each
        input asks again; none can make it earlier but a new market to publish):
        - every tick while reads are queued, an event's regime is published, a session's
          is judged on every update, or none is published any more (that tick ends the
          heartbeat);
        - otherwise (news-only sessions) when a session's market gets quiet enough to be
          polled (`poll_regime_markets`; data only ever gets newer, so never sooner). A
          news-only session's new regime is told at whatever tick runs next: the
          supervisor keeps it and judges nothing on it."""
        if self.queue or self.event_regimes_until or not self.sessions or len(self.news_only) < len(self.sessions):
            return now_ns
        sample_ns = seconds(self.config.volatility.sample_interval_s)
        due: int | None = None
        for ticker in self.sessions:
            state = self.states.get(ticker)
            latest = state.history.latest if state is not None else None
            # polled at a tick t when latest < t - sample and polled <= t - sample
            at = now_ns if latest is None else latest.ts_ns + sample_ns + 1
            polled = self.polled_ns.get(ticker)
            if polled is not None:
                at = max(at, polled + sample_ns)
            due = at if due is None else min(due, at)
        return now_ns if due is None else due

    def status(self, now_ns: int) -> dict:
        return {
            "mode": self.mode,
            "selected": list(self.selected),
            "tracked": len(self.tracked),
            "sessions": dict(self.sessions),
            "active_events": dict(self.active_events),
            "queued_reads": len(self.queue),
            "counters": dict(self.counters),
            "last_error": self.last_error,
            "regimes": {t: s.regime.accepted for t, s in self.states.items() if t in self.sessions},
        }
