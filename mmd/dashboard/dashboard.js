// The dashboard: reads GET /status (same origin) every few seconds and shows it. Read-only:
// it sends nothing but that GET. Hazard: every value is the daemon's text (tickers, reasons
// quoted from the exchange), so it is put in the page as text (textContent), never as HTML.
"use strict";

(() => {
  const DEFAULT_REFRESH_MS = 2000;
  const HISTORY_POINTS = 720; // the sparkline keeps this many readings (24 min at 2 s)
  const MISSING = "–";

  const refreshMs = (() => {
    // ?every=<seconds> (0.5 to 60): a faster or slower refresh for this tab
    const every = Number(new URLSearchParams(window.location.search).get("every"));
    return Number.isFinite(every) && every >= 0.5 && every <= 60 ? every * 1000 : DEFAULT_REFRESH_MS;
  })();

  const pnlHistory = []; // [daemon time ns, total P&L] of each reading since the page opened
  let refreshes = 0;
  let lastGoodMs = null;

  const $ = (id) => document.getElementById(id);

  // ----- formatting: the daemon sends money and counts as decimal strings -----------------
  const isBlank = (value) => value === null || value === undefined || value === "";

  function plain(value, minDecimals = 0) {
    // "5.000" -> "5", "0.450000" -> "0.45" (with minDecimals 2): no float in between
    if (isBlank(value)) return MISSING;
    const text = String(value);
    const match = /^(-?\d+)(?:\.(\d+))?$/.exec(text);
    if (!match) return text;
    let fraction = (match[2] || "").replace(/0+$/, "");
    while (fraction.length < minDecimals) fraction += "0";
    return fraction ? `${match[1]}.${fraction}` : match[1];
  }

  function number(value) {
    if (isBlank(value)) return null;
    const n = Number(value);
    return Number.isFinite(n) ? n : null;
  }

  function dollars(n) {
    return Math.abs(n).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  function money(value) {
    // signed, coloured: { text, cls }
    const n = number(value);
    if (n === null) return { text: MISSING, cls: "" };
    const cents = Math.round(n * 100) / 100;
    const sign = cents < 0 ? "−" : cents > 0 ? "+" : "";
    return { text: `${sign}$${dollars(cents)}`, cls: cents < 0 ? "neg" : cents > 0 ? "pos" : "" };
  }

  function amount(value) {
    const n = number(value);
    return n === null ? MISSING : `${n < 0 ? "−" : ""}$${dollars(n)}`;
  }

  function duration(ns) {
    if (ns === null || !Number.isFinite(ns)) return MISSING;
    let s = Math.max(0, Math.floor(ns / 1e9));
    if (s < 60) return `${s}s`;
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    s %= 60;
    if (d) return `${d}d ${h}h`;
    if (h) return `${h}h ${String(m).padStart(2, "0")}m`;
    return `${m}m ${String(s).padStart(2, "0")}s`;
  }

  function since(status, thenNs) {
    const now = number(status.now_ns);
    const then = number(thenNs);
    return now === null || then === null ? MISSING : duration(now - then);
  }

  function stateClass(state) {
    switch (String(state || "").toUpperCase()) {
      case "ACTIVE":
      case "QUOTING":
        return "good";
      case "HALTED":
      case "ERROR":
        return "bad";
      case "DONE":
      case "ENDED":
      case "":
        return "";
      default:
        return "warn"; // REDUCING, PAUSED, WAIT_DATA, FLATTENING, STOPPING, unknown...
    }
  }

  // ----- building the page (text only) ----------------------------------------------------
  function cell(content) {
    // content: a string, or { text, cls }
    const td = document.createElement("td");
    const spec = typeof content === "object" && content !== null ? content : { text: content };
    td.textContent = isBlank(spec.text) ? MISSING : String(spec.text);
    if (spec.cls) td.className = spec.cls;
    return td;
  }

  function fillTable(id, rows, emptyText) {
    const table = $(id);
    const body = table.tBodies[0];
    const fresh = document.createElement("tbody");
    if (rows.length === 0) {
      const td = cell({ text: emptyText, cls: "empty" });
      td.colSpan = table.tHead.rows[0].cells.length;
      fresh.appendChild(document.createElement("tr")).appendChild(td);
    }
    for (const cells of rows) {
      const tr = fresh.appendChild(document.createElement("tr"));
      for (const content of cells) tr.appendChild(cell(content));
    }
    table.replaceChild(fresh, body);
  }

  function fillFacts(id, facts) {
    const list = $(id);
    list.replaceChildren();
    for (const [name, value, cls] of facts) {
      list.appendChild(document.createElement("dt")).textContent = name;
      const dd = list.appendChild(document.createElement("dd"));
      dd.textContent = isBlank(value) ? MISSING : String(value);
      if (cls) dd.className = cls;
    }
  }

  function setBadge(id, text, cls) {
    const badge = $(id);
    badge.textContent = text;
    badge.className = `badge ${cls || ""}`.trim();
  }

  function setValue(id, content) {
    const spec = typeof content === "object" && content !== null ? content : { text: content };
    const el = $(id);
    el.textContent = isBlank(spec.text) ? MISSING : spec.text;
    el.className = `value ${spec.cls || ""}`.trim();
  }

  const asList = (value) => (Array.isArray(value) ? value : []);
  const asObject = (value) => (value && typeof value === "object" && !Array.isArray(value) ? value : {});
  const ticker = (text) => ({ text, cls: "ticker" });
  const num = (text) => ({ text, cls: "num" });
  const state = (text) => ({ text, cls: `state ${stateClass(text)}` });
  const why = (text) => ({ text: text || "", cls: text ? "why" : "" });
  const signed = (value) => {
    const m = money(value);
    return { text: m.text, cls: `num ${m.cls}`.trim() };
  };
  const yesNo = (flag) => (flag === true ? "yes" : flag === false ? "no" : MISSING);
  const withReason = (what, reason) => (reason ? `${what} — ${reason}` : what);

  function orderRow(tickerText, o) {
    const status = [o.pending ? `pending ${o.pending}` : "resting", o.adopted ? "adopted" : ""];
    return [
      ticker(tickerText),
      o.side,
      num(plain(o.price, 2)),
      num(`${plain(o.remaining)} / ${plain(o.count)}`),
      num(plain(o.filled)),
      status.filter(Boolean).join(", "),
    ];
  }

  // ----- the sections -----------------------------------------------------------------------
  function renderHeader(status, risk) {
    const mode = String(status.mode || "?");
    setBadge("mode", mode === "prod" ? "PROD · real money" : mode, mode === "prod" ? "bad" : "info");

    const feed = asObject(status.feed);
    if (feed.ws_healthy === true) setBadge("feed", "feed ok", "good");
    else if (feed.connected === true) setBadge("feed", "feed unhealthy", "warn");
    else setBadge("feed", "feed DOWN", "bad");

    const riskState = risk.state || "unknown";
    setBadge("risk-state", `risk ${riskState}`, stateClass(riskState));
    const kill = asObject(risk.kill_switch);
    if (kill.engaged) setBadge("kill-switch", "KILL SWITCH ENGAGED", "bad");
    else setBadge("kill-switch", "kill switch off", "good");

    const now = number(status.now_ns);
    const clock = now === null ? MISSING : new Date(now / 1e6).toISOString().slice(0, 19).replace("T", " ");
    $("clock").textContent = `daemon time ${clock} UTC · run ${status.run_id || MISSING}`;
  }

  function totalPnl(status, risk) {
    // the governor's total (every market, net of fees); else the makers' own sum
    const total = number(asObject(risk.pnl).total);
    if (total !== null) return total;
    let sum = null;
    for (const pnl of Object.values(asObject(status.pnl))) {
      const realized = number(asObject(pnl).realized);
      const unrealized = number(asObject(pnl).unrealized);
      if (realized !== null || unrealized !== null) sum = (sum || 0) + (realized || 0) + (unrealized || 0);
    }
    return sum;
  }

  function renderTiles(status, risk, makers) {
    const pnl = asObject(risk.pnl);
    const total = totalPnl(status, risk);
    setValue("pnl-total", money(total));
    setValue("drawdown", amount(pnl.drawdown));
    setValue("daily-loss", amount(pnl.daily_loss));
    setValue("balance", amount(risk.available_balance));
    setValue("exposure", amount(risk.global_exposure));
    setValue("session-count", String(asList(status.sessions).length));
    const orders = makers.reduce((n, m) => n + asList(m.open_orders).length, 0);
    setValue("order-count", String(orders || asList(status.open_orders).length));
    if (total !== null) {
      const now = number(status.now_ns);
      const last = pnlHistory[pnlHistory.length - 1];
      if (!last || last[0] !== now || last[1] !== total) pnlHistory.push([now, total]);
      if (pnlHistory.length > HISTORY_POINTS) pnlHistory.splice(0, pnlHistory.length - HISTORY_POINTS);
    }
    drawSparkline();
  }

  function renderSessions(status) {
    const rows = asList(status.sessions).map((s) => {
      const maker = asObject(s.maker);
      return [
        ticker(s.ticker),
        s.kind,
        state(s.state),
        state(maker.state),
        why(maker.why_not_quoting || s.end_reason),
        num(since(status, s.started_ns)),
      ];
    });
    fillTable("sessions", rows, "No active sessions: the daemon is watching for volatility events");
  }

  function quoteSide(quote, price, size) {
    if (!quote || isBlank(quote[price])) return MISSING;
    return `${plain(quote[price], 2)} × ${plain(quote[size])}`;
  }

  function renderMakers(makers) {
    const rows = makers.map((m) => {
      const quote = m.last_quote ? asObject(m.last_quote) : null;
      const throttles = [...asList(m.throttles), ...(m.reduce_only ? ["reduce-only"] : [])].join(", ");
      return [
        ticker(m.ticker),
        state(m.state),
        num(quoteSide(quote, "bid", "bid_size")),
        num(quoteSide(quote, "ask", "ask_size")),
        num(quote ? plain(quote.fair_value, 2) : MISSING),
        throttles,
        num(isBlank(asObject(m.counters).fills) ? MISSING : String(m.counters.fills)),
        why(m.why_not_quoting),
      ];
    });
    fillTable("makers", rows, "No makers running");
  }

  function renderPositions(status, risk, makers) {
    // every market with a position: the makers', and the governor's (settled or unseen fills too)
    const byTicker = new Map();
    for (const m of makers) if (m.ticker) byTicker.set(m.ticker, m);
    const governorPositions = asObject(risk.positions);
    for (const [t, position] of Object.entries(governorPositions)) {
      if (!byTicker.has(t)) byTicker.set(t, { ticker: t, position });
    }
    const pnlOf = asObject(status.pnl);
    const rows = [...byTicker.values()]
      .filter((m) => number(m.position) !== 0 || !isBlank(m.realized_pnl))
      .map((m) => {
        const pnl = asObject(pnlOf[m.ticker]);
        const realized = isBlank(pnl.realized) ? m.realized_pnl : pnl.realized;
        const unrealized = isBlank(pnl.unrealized) ? m.unrealized_pnl : pnl.unrealized;
        const fees = isBlank(pnl.fees) ? m.fees : pnl.fees;
        const parts = [number(realized), number(unrealized)];
        const net = parts.every((n) => n === null) ? null : (parts[0] || 0) + (parts[1] || 0);
        return [
          ticker(m.ticker),
          num(plain(m.position)),
          num(plain(m.vwap, 2)),
          signed(realized),
          signed(unrealized),
          num(amount(fees)),
          signed(net),
        ];
      });
    fillTable("positions", rows, "Flat: no positions");
  }

  function renderOrders(status, makers) {
    const rows = [];
    for (const m of makers) {
      for (const o of asList(m.open_orders)) {
        rows.push(orderRow(m.ticker, o));
      }
    }
    if (rows.length === 0) {
      // a daemon whose makers do not list their orders: the flat list, without tickers
      for (const o of asList(status.open_orders)) {
        rows.push(orderRow(o.ticker, o));
      }
    }
    fillTable("orders", rows, "No open orders");
  }

  function renderFills(status) {
    if (!Array.isArray(status.recent_fills)) {
      fillTable("fills", [], "This daemon's /status does not list fills (fill counts are in Makers)");
      return;
    }
    const rows = status.recent_fills
      .slice(-50)
      .reverse()
      .map((f) => [
        `${since(status, f.ts)} ago`,
        ticker(f.ticker),
        f.side,
        num(plain(f.price, 2)),
        num(plain(f.count)),
        num(amount(f.fee)),
      ]);
    fillTable("fills", rows, "No fills yet");
  }

  function renderRisk(status, risk) {
    const kill = asObject(risk.kill_switch);
    const holds = Object.entries(asObject(risk.holds))
      .filter(([, held]) => asList(held).length)
      .map(([cause, held]) => `${cause}: ${asList(held).join(", ")}`)
      .join("; ");
    const restricted = Object.entries(asObject(risk.restrictions))
      .filter(([, how]) => how && how !== "ACTIVE")
      .map(([t, how]) => `${t} ${how}`)
      .join(", ");
    const rejections = Object.entries(asObject(risk.rejections)).map(([why, n]) => `${why} ×${n}`).join(", ");
    const killed = `${withReason("ENGAGED", kill.reason || "no reason given")} (${since(status, kill.since_ns)} ago)`;
    fillFacts("risk", [
      ["State", withReason(risk.state || "unknown", risk.state_reason), `state ${stateClass(risk.state)}`],
      ["Kill switch", kill.engaged ? killed : "off", kill.engaged ? "state bad" : ""],
      ["Holds", holds || "none"],
      ["Restricted markets", restricted || "none"],
      ["Rejected orders", rejections || "none"],
      ["Risk triggers", isBlank(risk.triggers) ? MISSING : String(risk.triggers)],
      ...(risk.error ? [["Risk actor", `did not answer (${risk.error})`, "state bad"]] : []),
    ]);
  }

  function renderFeed(status) {
    const feed = asObject(status.feed);
    const details = asObject(feed.details);
    const down = Object.entries(asObject(details.subscriptions_down)).map(([ch]) => ch).join(", ");
    fillFacts("feed-facts", [
      ["Connected", yesNo(feed.connected), feed.connected ? "" : "state bad"],
      ["Healthy", feed.ws_healthy ? "yes" : "no", feed.ws_healthy ? "state good" : "state bad"],
      ["Last message", isBlank(feed.last_message_ns) ? "none yet" : `${since(status, feed.last_message_ns)} ago`],
      ["Reconnects", isBlank(details.reconnects) ? MISSING : String(details.reconnects)],
      ["Sequence gaps", isBlank(details.gaps) ? MISSING : String(details.gaps)],
      ["Tracked markets", isBlank(details.tracked_markets) ? MISSING : String(details.tracked_markets)],
      ["Subscriptions down", down || "none", down ? "state warn" : ""],
      ...outsideFeedFacts(status.outside_feeds),
    ]);
  }

  function outsideFeedFacts(outside) {
    // where the reference and spot feeds read; a daemon that does not say: nothing shown
    if (!outside || typeof outside !== "object") return [];
    return [
      ["Polymarket book", outside.reference_book_url || "off"],
      ["Binance stream", outside.spot_stream_prefix || "off"],
    ];
  }

  function renderEnded(status) {
    const rows = [];
    for (const s of asList(status.ended_sessions).slice().reverse()) {
      rows.push([ticker(s.ticker), `session ended ${since(status, s.ended_ns)} ago`, s.reason, signed(s.pnl)]);
    }
    for (const e of asList(status.waiting_events)) {
      rows.push([ticker(e.ticker), `event ${e.event_id || ""} waiting`, e.waiting_for, num(MISSING)]);
    }
    for (const e of asList(status.dropped_events).slice().reverse()) {
      rows.push([ticker(e.ticker), `event ${e.event_id || ""} dropped`, e.reason, num(MISSING)]);
    }
    fillTable("ended", rows.slice(0, 30), "Nothing yet");
  }

  // ----- the sparkline ------------------------------------------------------------------------
  function drawSparkline() {
    const canvas = $("pnl-spark");
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 300;
    const height = canvas.clientHeight || 56;
    if (canvas.width !== Math.round(width * ratio)) canvas.width = Math.round(width * ratio);
    if (canvas.height !== Math.round(height * ratio)) canvas.height = Math.round(height * ratio);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const values = pnlHistory.map((point) => point[1]);
    $("pnl-spark-note").textContent =
      values.length < 2
        ? "P&L since this page opened: waiting for a second reading"
        : `P&L over ${values.length} readings since this page opened`;
    if (values.length === 0) return;
    const styles = getComputedStyle(document.documentElement);
    const low = Math.min(0, ...values);
    const high = Math.max(0, ...values);
    const span = high - low || 1;
    const pad = 4;
    const x = (i) => (values.length === 1 ? width - pad : pad + (i * (width - 2 * pad)) / (values.length - 1));
    const y = (v) => height - pad - ((v - low) * (height - 2 * pad)) / span;
    ctx.strokeStyle = styles.getPropertyValue("--zero").trim() || "#4a5566";
    ctx.setLineDash([3, 3]);
    ctx.beginPath();
    ctx.moveTo(0, y(0));
    ctx.lineTo(width, y(0));
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.strokeStyle = styles.getPropertyValue("--spark").trim() || "#58a6ff";
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    values.forEach((v, i) => (i ? ctx.lineTo(x(i), y(v)) : ctx.moveTo(x(i), y(v))));
    ctx.stroke();
    const last = values[values.length - 1];
    ctx.fillStyle = styles.getPropertyValue(last < 0 ? "--bad" : "--good").trim() || "#3fb950";
    ctx.beginPath();
    ctx.arc(x(values.length - 1), y(last), 2.5, 0, 2 * Math.PI);
    ctx.fill();
  }

  // ----- the refresh loop -------------------------------------------------------------------
  function render(status) {
    const risk = asObject(status.risk);
    // the makers' own answers (sessions carry them); the flat list when sessions do not
    const fromSessions = asList(status.sessions).map((s) => asObject(s.maker)).filter((m) => m.ticker);
    const makers = fromSessions.length ? fromSessions : asList(status.makers).map(asObject);
    renderHeader(status, risk);
    renderTiles(status, risk, makers);
    renderSessions(status);
    renderMakers(makers);
    renderPositions(status, risk, makers);
    renderOrders(status, makers);
    renderFills(status);
    renderRisk(status, risk);
    renderFeed(status);
    renderEnded(status);
  }

  function showProblem(text) {
    const problem = $("problem");
    problem.hidden = !text;
    problem.textContent = text || "";
  }

  function showFreshness() {
    if (lastGoodMs === null) return;
    const age = (Date.now() - lastGoodMs) / 1000;
    const stale = age > (3 * refreshMs) / 1000;
    const ago = age < 1 ? "now" : `${Math.round(age)}s ago`;
    setBadge("freshness", stale ? `STALE: last read ${ago}` : `updated ${ago}`, stale ? "bad" : "good");
  }

  async function refresh() {
    try {
      const response = await fetch("/status", {
        cache: "no-store",
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      const body = await response.json();
      if (!response.ok) {
        throw new Error(`/status answered HTTP ${response.status}: ${(body && body.error) || "no detail"}`);
      }
      render(asObject(body));
      lastGoodMs = Date.now();
      refreshes += 1;
      document.body.dataset.refreshes = String(refreshes); // how many readings are shown (tests wait on it)
      showProblem("");
    } catch (error) {
      // keep the last reading on screen, marked stale; say why
      const reason = (error && error.message) || String(error);
      showProblem(`Cannot read the daemon's status: ${reason}. Showing the last reading.`);
      if (lastGoodMs === null) setBadge("freshness", "no status yet", "bad");
    } finally {
      showFreshness();
      window.setTimeout(refresh, refreshMs);
    }
  }

  window.setInterval(showFreshness, 1000);
  window.addEventListener("resize", drawSparkline);
  refresh();
})();
