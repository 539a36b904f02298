"""Running a fault campaign (`mmd chaos`, bench/bench_chaos.py): processes, faults,
observation and checks of each phase. What is checked and how recovery is timed: mmd/chaos.py.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Callable

from simex import load_scenario

from .chaos_checks import (
    PhaseResult,
    Recovery,
    burst_answers,
    burst_end_s,
    compare_fills,
    feed_healthy,
    feed_progress,
    first_order_after_s,
    format_recoveries,
    format_table,
    resting_violations,
    why_untimed,
)
from .chaos_plan import FEED, REST, Campaign, Fault, Phase
from .chaos_procs import (
    Account,
    DaemonView,
    FaultAdmin,
    end_process,
    first_order_ns,
    free_port,
    listening,
    spawn_mmd,
    stored_fill_ids,
    wait_until,
)
from .chaos_proxy import CountingRelay

__all__ = ["run_campaign", "campaign_tickers", "check_tier", "daemon_config", "report", "PhaseRun", "ChaosAbort"]

NS_PER_S = 1_000_000_000
SAMPLE_EVERY_S = 1.0
STATUS_POLL_S = 0.1
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 90.0
REST_WINDOWS = ("burst_429", "burst_5xx", "slow_responses")
DAEMON_REST_TIMEOUT_S = 5.0  # rest.timeout_s, pinned: slow faults outlast it, a burst's end counts it
LEFTOVER_TIMEOUT_S = 15.0  # after a restart's start-up cancels (or a close), nothing of before may rest


class ChaosAbort(Exception):
    """The phase cannot go on (a process would not start, the daemon died)."""


def campaign_tickers(scenario: str, count: int) -> list[str]:
    """Markets to pin: the scenario's first non-sports markets closing no sooner than in a day."""
    markets = [m.ticker for m in load_scenario(scenario).markets
               if (m.category or "").lower() != "sports" and (m.close_in_s or 0) >= 86_400]
    if len(markets) < count:
        raise ValueError(f"scenario {scenario!r} has {len(markets)} market(s) to quote; the campaign needs {count}")
    return markets[:count]


def check_tier(tier: str) -> None:
    """A rate-limit tier `mmd sim --tier` accepts: refused here, before any process starts."""
    from simex._ratelimit import TIERS

    if tier != "off" and tier not in TIERS:
        raise ValueError(f"unknown rate-limit tier {tier!r}; expected off or one of {', '.join(TIERS)}")


def daemon_config(tickers: list[str], ladder_levels: int) -> str:
    """The daemon's config for a phase: these markets pinned at once, and budgets wide enough
    that risk limits do not stop the quoting a recovery is judged by (paper money)."""
    return "\n".join([
        "rest:",
        f"  timeout_s: {DAEMON_REST_TIMEOUT_S}",
        "scanner:",
        f"  tickers: [{', '.join(tickers)}]",
        f"  max_markets: {len(tickers)}",
        "supervisor:",
        "  explicit_restart_s: 5",  # a pinned session a fault ended comes back soon
        "maker:",
        "  model:",
        f"    ladder_levels: {ladder_levels}",
        "risk:",
        '  per_market_budget_dollars: "100.00"',
        '  per_category_budget_dollars: "300.00"',
        '  global_budget_dollars: "500.00"',
        '  fill_rate_limit_dollars: "500.00"',
        '  max_drawdown_dollars: "400.00"',
        '  daily_loss_limit_dollars: "400.00"',
        "",
    ])


class PhaseRun:
    """One phase: start the exchange and the daemon, inject, observe, stop, check."""

    def __init__(self, phase: Phase, *, seed: int, scenario: str, tier: str, tickers: list[str], work_dir: Path,
                 say: Callable[[str], None]) -> None:
        self.phase = phase
        self.scenario = scenario
        self.tier = tier
        self.tickers = tickers[: phase.markets]
        self.dir = work_dir
        self.data_dir = work_dir / "var"
        self.say = lambda line: say(f"{time.strftime('%H:%M:%S')} {line}")
        self.rng = random.Random(f"{seed}:{phase.name}")  # settle times: part of the schedule
        self.result = PhaseResult(phase.name, faults=len(phase.faults))
        self.view = DaemonView(self.data_dir)
        self.sim = None
        self.daemon = None
        self.relay: CountingRelay | None = None
        self.admin: FaultAdmin | None = None
        self.account: Account | None = None
        self.rest_fault_pending = False
        self._last_sample = 0.0

    # ----- the phase -----
    def run(self) -> PhaseResult:
        self.dir.mkdir(parents=True, exist_ok=True)
        try:
            self._start_exchange()
            self._start_daemon()
            if not wait_until(self._quoting_everywhere, START_TIMEOUT_S, 0.25, self._sample):
                raise ChaosAbort(f"the daemon did not quote every market within {START_TIMEOUT_S:.0f} s")
            for number, fault in enumerate(self.phase.faults, 1):
                self._settle()
                recovery = self._inject(fault)
                self.result.recoveries.append(recovery)
                took = (f"untimed ({recovery.untimed})" if recovery.untimed else "NOT within the bound"
                        if recovery.seconds is None else f"in {recovery.seconds:.2f} s")
                self.say(f"[{self.phase.name} {number}/{len(self.phase.faults)}] {fault.describe()}: "
                         f"{recovery.basis} {took}")
                if recovery.failed:
                    self.result.failures.append(f"{fault.describe()}: no recovery within "
                                                f"{self.phase.recovery_timeout_s:.0f} s ({recovery.basis})")
                self._require_alive(fault)
            self._stop_and_check()
        except ChaosAbort as exc:
            self.result.failures.append(str(exc))
            self.say(f"[{self.phase.name}] aborted: {exc}")
        finally:
            end_process(self.daemon)
            if self.relay is not None:
                self.relay.stop()
                self.result.daemon_429 = self.relay.statuses[429]
                self.result.daemon_429_routes = dict(self.relay.answers(429).most_common())
                self.relay.write_timeline(self.dir / "rest-answers.tsv")
            if self.account is not None:
                self.result.harness_429 = self.account.too_many_requests
            if self.admin is not None and self.sim is not None and self.sim.poll() is None:
                try:
                    self.result.limiter_429 = self.admin.rate_limited()
                except (OSError, ValueError, KeyError) as exc:  # an exchange too old or gone: not counted
                    self.say(f"[{self.phase.name}] could not read the exchange's rate-limit count: {exc}")
            end_process(self.sim)
        if self.result.duplicates:
            (self.dir / "duplicates.txt").write_text("\n".join(self.result.duplicates) + "\n")
            self.result.failures.append(f"{len(self.result.duplicates)} duplicate resting order(s) sampled, "
                                        f"first: {self.result.duplicates[0]}")
        if self.result.orphans:
            self.result.failures.append(f"{len(self.result.orphans)} orphan order(s), first: {self.result.orphans[0]}")
        return self.result

    # ----- processes -----
    def _start_exchange(self) -> None:
        port = free_port()
        self.sim = spawn_mmd(["sim", "--port", str(port), "--data-dir", str(self.data_dir), "--scenario",
                              self.scenario, "--tier", self.tier], self.dir / "sim.log")
        key = self.data_dir / "paper-keys" / "paper-key.pub.pem"
        if not wait_until(lambda: self.sim.poll() is not None or (key.exists() and listening(port)), 30, 0.2) \
                or self.sim.poll() is not None:
            raise ChaosAbort(f"mmd sim did not start (see {self.dir / 'sim.log'})")
        self.admin = FaultAdmin(port)
        self.account = Account(self.data_dir, port)
        self.relay = CountingRelay(port).start()
        (self.dir / "chaos.yaml").write_text(daemon_config(self.tickers, self.phase.ladder_levels))

    def _start_daemon(self) -> None:
        assert self.relay is not None
        self.daemon = spawn_mmd(
            ["start", "--config", str(self.dir / "chaos.yaml"), "--data-dir", str(self.data_dir), "--status-port", "0",
             "--exchange-url", f"http://127.0.0.1:{self.relay.port}/trade-api/v2"],
            self.dir / "daemon.log",
        )
        self.started_ns = time.time_ns()
        pid = self.daemon.pid
        up = wait_until(lambda: self.daemon.poll() is not None or (self.view.info() or {}).get("pid") == pid,
                        START_TIMEOUT_S, 0.1, self._sample)
        if not up or self.daemon.poll() is not None:
            raise ChaosAbort(f"the daemon did not start (see {self.dir / 'daemon.log'})")

    def _quoting_everywhere(self) -> bool:
        return all(first_order_ns(self.view.db, self.started_ns, ticker=t) for t in self.tickers)

    def _status(self) -> dict | None:
        return self.view.status(self.daemon.pid if self.daemon is not None else None)

    def _require_alive(self, fault: Fault) -> None:
        if self.daemon is None or self.daemon.poll() is not None:
            raise ChaosAbort(f"the daemon died after {fault.describe()} (exit {self.daemon.returncode if self.daemon else '?'})")
        if not wait_until(self._status, 10, 0.2):
            raise ChaosAbort(f"the daemon stopped answering its status after {fault.describe()}")

    # ----- sampling -----
    def _sample(self) -> None:
        """The exchange's resting orders, about once a second, checked for duplicates."""
        if self.rest_fault_pending or self.account is None or time.monotonic() - self._last_sample < SAMPLE_EVERY_S:
            return
        self._last_sample = time.monotonic()
        try:
            resting = self.account.resting()
        except Exception as exc:  # a read the exchange refused: the next sample tries again
            self.say(f"[{self.phase.name}] resting-order sample failed: {exc}")
            return
        self.result.samples += 1
        for problem in resting_violations(resting, self.phase.ladder_levels):
            self.result.duplicates.append(f"{time.strftime('%H:%M:%S')} {problem}")

    def _settle(self) -> None:
        self._hold(self.rng.uniform(*self.phase.settle_s))

    def _hold(self, seconds: float) -> None:
        """Let `seconds` pass, sampling the resting orders meanwhile."""
        deadline = time.monotonic() + seconds
        wait_until(lambda: time.monotonic() >= deadline, seconds + 1, 0.05, self._sample)

    # ----- faults -----
    def _inject(self, fault: Fault) -> Recovery:
        if fault.kind == "kill9":
            return self._kill_and_restart(fault)
        if fault.basis == FEED:
            return self._feed_fault(fault)
        if fault.is_rest_burst:
            return self._rest_burst(fault)
        if fault.kind == "pause_market":
            return self._pause(fault)
        if fault.kind == "close_market":
            return self._close(fault)
        raise ValueError(f"unknown fault kind {fault.kind!r}")

    def _feed_fault(self, fault: Fault) -> Recovery:
        status = wait_until(self._status, 10, 0.2)
        if status is None:
            raise ChaosAbort(f"no daemon status before {fault.describe()}")
        before = feed_progress(fault.kind, status["feed"]["details"])
        started = time.monotonic()
        injected_ns = time.time_ns()
        self.admin.apply(fault.admin)

        def recovered() -> bool:
            current = self._status()
            if current is None:
                return False
            details = current["feed"]["details"]
            return feed_progress(fault.kind, details) > before and feed_healthy(details)

        seen = wait_until(recovered, self.phase.recovery_timeout_s, STATUS_POLL_S, self._sample)
        took = time.monotonic() - started if seen else None
        if fault.kind == "seq_skip" and not seen:
            self.admin.clear()  # a skip no frame used up must not linger into the next fault
        if seen:
            self._require_new_order(fault, injected_ns)
        return Recovery(fault.describe(), fault.kind, fault.basis, took)

    def _require_new_order(self, fault: Fault, since_ns: int) -> None:
        """The feed is back: the daemon must also be quoting, i.e. place or amend an order.
        (Not every market: a maker may be paused for its market's own reasons, a price
        shock or a volume spike the scenario scripted.)"""
        if not wait_until(lambda: first_order_ns(self.view.db, since_ns), self.phase.recovery_timeout_s, 0.1,
                          self._sample):
            states = {m.get("ticker"): m.get("state") for m in (self._status() or {}).get("makers", [])}
            self.result.failures.append(f"{fault.describe()}: no order placed or amended within "
                                        f"{self.phase.recovery_timeout_s:.0f} s after it (makers: {states})")

    def _rest_burst(self, fault: Fault) -> Recovery:
        """Injected, then waited for until used up (the harness does not read meanwhile); the
        daemon must place an order again within the bound; timed from the burst's end to the
        first order after it when an order was waiting (mmd/chaos_checks.py)."""
        assert self.relay is not None
        self.rest_fault_pending = True
        injected_s = time.time()
        try:
            self.admin.apply(fault.admin)
            used_up = wait_until(lambda: not self._rest_windows(), self.phase.recovery_timeout_s, 0.05)
            if not used_up:
                left = sum(w.get("remaining", 0) for w in self._rest_windows() if w["fault"] == "burst_429")
                self.admin.clear()
                self.result.injected_429 += fault.injected_429 - left
                self.result.failures.append(f"{fault.describe()}: not used up within "
                                            f"{self.phase.recovery_timeout_s:.0f} s (no REST traffic?)")
            else:
                self.result.injected_429 += fault.injected_429
        finally:
            self.rest_fault_pending = False
        used_up_s = time.time()
        alive = self._first_order(fault, int(injected_s * NS_PER_S), int(used_up_s * NS_PER_S))
        if alive.seconds is None:
            return alive
        spec = fault.admin[0]
        if spec["fault"] == "slow_responses":  # the relay records an answer when it is given
            self._hold(max(0.0, used_up_s + spec["delay_s"] + 0.5 - time.time()))
        faulted = burst_answers(self.relay.answers_since(injected_s), spec, injected_s, used_up_s)
        untimed = why_untimed(faulted)
        if untimed:
            return Recovery(fault.describe(), fault.kind, REST, None, untimed)
        end_s = burst_end_s(faulted, DAEMON_REST_TIMEOUT_S)

        def first_after() -> float | None:
            confirmed_ns = first_order_ns(self.view.db, int(end_s * NS_PER_S))
            return first_order_after_s(self.relay.answers_since(end_s), end_s,
                                       None if confirmed_ns is None else confirmed_ns / NS_PER_S)

        first = wait_until(first_after, self.phase.recovery_timeout_s, 0.1, self._sample)
        return Recovery(fault.describe(), fault.kind, REST, None if first is None else first - end_s)

    def _rest_windows(self) -> list[dict]:
        return [w for w in self.admin.active() if w.get("fault") in REST_WINDOWS]

    def _kill_and_restart(self, fault: Fault) -> Recovery:
        assert self.daemon is not None and self.account is not None
        killed_ns = time.time_ns()
        self.daemon.kill()  # SIGKILL to the pid we started, nothing broader
        self.daemon.wait(10)
        try:
            left = {o.order_id: o for o in self.account.resting()}
        except Exception as exc:
            self.say(f"[{self.phase.name}] could not read what the killed run left resting: {exc}")
            left = {}
        self._start_daemon()

        def none_left() -> bool:
            return not left.keys() & {o.order_id for o in self.account.resting()}

        if left and not wait_until(none_left, LEFTOVER_TIMEOUT_S, 0.5):
            still = left.keys() & {o.order_id for o in self.account.resting()}
            self.result.orphans += [f"left by a killed run, resting after the restart: {left[i].client_order_id} "
                                    f"{left[i].ticker} {left[i].side}" for i in sorted(still)]
        return self._first_order(fault, killed_ns, killed_ns)

    def _pause(self, fault: Fault) -> Recovery:
        self.admin.apply(fault.admin)
        self._hold(fault.hold_s)
        self.admin.apply(({"fault": "resume_market", "ticker": fault.ticker},))
        resumed_ns = time.time_ns()
        return self._first_order(fault, resumed_ns, resumed_ns, ticker=fault.ticker)

    def _close(self, fault: Fault) -> Recovery:
        closed_ns = time.time_ns()
        self.admin.apply(fault.admin)
        recovery = self._first_order(fault, closed_ns, closed_ns, not_ticker=fault.ticker)
        on_closed = wait_until(lambda: not [o for o in self.account.resting() if o.ticker == fault.ticker],
                               LEFTOVER_TIMEOUT_S, 0.5)
        if not on_closed:
            self.result.orphans.append(f"resting on {fault.ticker} after it closed")
        return recovery

    def _first_order(self, fault: Fault, from_ns: int, since_ns: int, *, ticker: str | None = None,
                     not_ticker: str | None = None) -> Recovery:
        """Seconds from `from_ns` to the first order acknowledged at or after `since_ns`."""
        first = wait_until(lambda: first_order_ns(self.view.db, since_ns, ticker, not_ticker),
                           self.phase.recovery_timeout_s, 0.1, self._sample)
        seconds = None if first is None else (first - from_ns) / NS_PER_S
        return Recovery(fault.describe(), fault.kind, fault.basis, seconds)

    # ----- the end -----
    def _stop_and_check(self) -> None:
        assert self.daemon is not None and self.account is not None
        stopped = self.view.stop()
        if stopped.returncode != 0:
            self.result.failures.append(f"mmd stop failed: {stopped.stderr.strip() or stopped.stdout.strip()}")
        try:
            code = self.daemon.wait(STOP_TIMEOUT_S)
        except Exception:
            raise ChaosAbort(f"the daemon did not exit within {STOP_TIMEOUT_S:.0f} s of mmd stop") from None
        if code != 0:
            self.result.failures.append(f"the daemon exited {code} after mmd stop (see {self.dir / 'daemon.log'})")
        self.result.orphans += [f"resting after stop: {o.client_order_id} {o.ticker} {o.side} {o.price}"
                                for o in self.account.resting()]
        exchange_fills = self.account.fills()
        (self.dir / "exchange-fills.json").write_text(json.dumps(
            [{"fill_id": f.fill_id, "order_id": f.order_id, "client_order_id": f.client_order_id, "ticker": f.ticker,
              "side": f.side, "price": str(f.price), "count": str(f.count), "ts_event": f.ts_event}
             for f in exchange_fills], indent=1))
        fills = compare_fills([f.fill_id for f in exchange_fills], stored_fill_ids(self.view.db))
        self.result.fills = fills
        if not fills.ok:
            by_id = {f.fill_id: f for f in exchange_fills}
            missing = "; ".join(f"{i} ({by_id[i].client_order_id}, ts {by_id[i].ts_event})" for i in fills.missing)
            self.result.failures.append(f"fills: {fills.describe()}" + (f"; missing: {missing}" if missing else ""))


def run_campaign(campaign: Campaign, *, scenario: str, tier: str, work_dir: Path,
                 say: Callable[[str], None] = print) -> list[PhaseResult]:
    tickers = campaign_tickers(scenario, max(p.markets for p in campaign.phases))
    results = []
    for number, phase in enumerate(campaign.phases, 1):
        phase_dir = work_dir / f"{number}-{phase.name.replace(' ', '-')}"
        say(f"phase {phase.name}: {len(phase.faults)} fault(s), {phase.markets} market(s) x "
            f"{phase.ladder_levels} level(s), logs in {phase_dir}")
        run = PhaseRun(phase, seed=campaign.seed, scenario=scenario, tier=tier, tickers=tickers,
                       work_dir=phase_dir, say=say)
        result = run.run()
        results.append(result)
        say(f"phase {phase.name} done: fills {result.fills.describe() if result.fills else 'not compared'}; "
            f"{len(result.orphans)} orphan(s), {len(result.duplicates)} duplicate(s) in {result.samples} sample(s); "
            f"{result.daemon_429} 429(s) to the daemon, {result.injected_429} injected; "
            f"{'ok' if result.ok else f'{len(result.failures)} failure(s)'}")
    return results


RECOVERY_LEGEND = (
    "recovery, measured as:",
    "  feed healthy again: from injection to the daemon's status showing the fault noticed and the feed healthy",
    "  first new order: from injection (kill, pause's resume, close) to the first order acknowledged after it",
    "  burst end to next order (one waiting): from the end of a REST burst (its last faulted answer, or for a slow",
    "    one the daemon's REST timeout if sooner) to the first order placement sent and accepted or recorded",
    "    confirmed after it; timed only when a faulted request was itself an order placement (an order waited",
    "    to go), else untimed (n - timed): the next order then waits on the daemon's own lull, not on the fault",
)


def report(results: list[PhaseResult]) -> str:
    lines = [format_table(results), "", format_recoveries(results), *RECOVERY_LEGEND]
    for r in results:
        if r.daemon_429_routes:
            routes = ", ".join(f"{route} {n}" for route, n in r.daemon_429_routes.items())
            lines.append(f"{r.name}: 429s to the daemon by request (injected ones included): {routes}")
        if r.harness_429:
            lines.append(f"{r.name}: the harness's own reads got {r.harness_429} 429(s) (same account budget)")
        if r.limiter_429:
            lines.append(f"{r.name}: the exchange's own rate limiter gave {r.limiter_429} 429(s) "
                         f"(the daemon's {r.caused_429} caused included; the harness's too)")
        for failure in r.failures:
            lines.append(f"FAIL {r.name}: {failure}")
    lines.append("all checks passed" if all(r.ok for r in results) else "some checks FAILED")
    return "\n".join(lines)
