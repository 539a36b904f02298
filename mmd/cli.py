"""Command line: `mmd start | status | stop | kill | resume | config check | sim | replay | backtest | sweep | report | data fetch | doctor | cancel-all | chaos | install-service | research`.

Domain errors (bad config, bad key, no credentials, exchange unreachable) print one
clear line and exit 1; anything else is a bug and shows its traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import urllib.error
import urllib.request
from pathlib import Path

from config import ConfigError, load_config
from mmd.backtest import add_backtest_parser
from mmd.chaos import add_chaos_parser
from mmd.datafetch import add_data_parser
from mmd.doctor import add_doctor_parser
from mmd.reconcile import add_cancel_all_parser
from mmd.report import add_report_parser
from mmd.sweep import add_sweep_parser
from mmd.logs import LOG_FORMATS, configure_logging, log_uncaught_exceptions

__all__ = ["main"]

REAL_MONEY_FLAG = "--i-understand-this-trades-real-money"


def _setup_logging(verbose: bool, log_format: str) -> None:
    configure_logging(logging.DEBUG if verbose else logging.INFO, log_format)
    log_uncaught_exceptions()


def _fail(message: str) -> int:
    print(f"mmd: {message}", file=sys.stderr)
    return 1


def _load(args: argparse.Namespace, overrides: dict | None = None):
    return load_config(args.config, overrides=overrides)


def _data_dir(args: argparse.Namespace, cfg=None) -> Path:
    if getattr(args, "data_dir", None):
        return Path(args.data_dir)
    if cfg is None:
        cfg = load_config(getattr(args, "config", None))
    return Path(cfg.paths.data_dir)


def cmd_start(args: argparse.Namespace) -> int:
    if args.env == "prod" and not args.real_money:
        return _fail(f"--env prod trades real money: add {REAL_MONEY_FLAG} to confirm")
    overrides: dict = {"mode": args.env}
    if args.status_port is not None:
        overrides["status"] = {"port": args.status_port}
    cfg = _load(args, overrides)
    # before the import: numpy starts its BLAS threads on import, and a thread that does not
    # block SIGTERM takes it (default action: die) whenever the main thread is not waiting
    # Hazard: a blocked mask is inherited by every process started later from this one
    # (tests call main() in-process): the caller's mask is restored on every way out
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, (signal.SIGTERM, signal.SIGINT))
    try:
        from mmd.runner import StartupError, run_daemon  # after validation: a bad config fails fast

        try:
            return run_daemon(
                cfg,
                env=args.env,
                exchange_url=args.exchange_url,
                data_dir=_data_dir(args, cfg),
                duration_s=args.duration,
                real_money=args.real_money,
            )
        except StartupError as exc:
            return _fail(str(exc))
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)


def _daemon_info(args: argparse.Namespace) -> dict:
    path = _data_dir(args) / "daemon.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise SystemExit(_fail(f"no running daemon found ({path} does not exist)")) from None


def cmd_status(args: argparse.Namespace) -> int:
    url = args.url or _daemon_info(args)["status_url"]
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            status = json.load(response)
    except (urllib.error.URLError, OSError) as exc:
        return _fail(f"daemon did not answer at {url}: {exc}")
    print(json.dumps(status, indent=2, sort_keys=True))
    return 0


def _control(args: argparse.Namespace, action: str) -> int:
    """POST /kill or /resume to the running daemon's loopback status server, with the control
    token the daemon wrote to its data dir (or --token-file)."""
    from mmd.control import TOKEN_FILE, ControlError, read_token, send_control

    status_url = args.url or _daemon_info(args)["status_url"]
    token_path = Path(args.token_file) if args.token_file else _data_dir(args) / TOKEN_FILE
    try:
        state = send_control(status_url, action, args.reason, read_token(token_path))
    except ControlError as exc:
        return _fail(str(exc))
    print(json.dumps(state, indent=2, sort_keys=True))
    engaged = bool(state.get("engaged"))
    if engaged != (action == "kill"):
        return _fail(f"{action} sent but the kill switch is {'still engaged' if engaged else 'not engaged'}")
    return 0


def cmd_kill(args: argparse.Namespace) -> int:
    return _control(args, "kill")


def cmd_resume(args: argparse.Namespace) -> int:
    return _control(args, "resume")


def cmd_stop(args: argparse.Namespace) -> int:
    """SIGTERM the daemon, only once its pid is proven to be the daemon that wrote daemon.json."""
    from mmd.control import ControlError, stop_daemon

    try:
        print(stop_daemon(_data_dir(args)))
    except ControlError as exc:
        return _fail(str(exc))
    return 0


def cmd_config_check(args: argparse.Namespace) -> int:
    try:
        load_config(args.file)
    except ConfigError as exc:
        for line in exc.errors:
            print(f"{args.file}: {line}")
        return 1
    print(f"{args.file}: ok")
    return 0


def cmd_sim(args: argparse.Namespace) -> int:
    from simex import run_standalone

    cfg = _load(args)
    paper = cfg.paper
    tier = args.tier or paper.rate_limit_tier
    seed = args.seed
    if seed is None and args.scenario is None:
        seed = paper.seed  # a scenario brings its own seed unless --seed is given
    try:
        return run_standalone(
            host=args.host,
            port=args.port,
            seed=seed,
            key_dir=_data_dir(args, cfg) / "paper-keys",
            balance_cents=int(paper.balance_dollars * 100),
            scenario=args.scenario,
            tier=None if tier == "off" else tier,
            admin=paper.admin if args.admin is None else args.admin,
            ping_interval_s=paper.ws_ping_interval_s,
            ws_options={
                "max_commands_per_s": paper.ws_max_commands_per_s,
                "max_markets_per_subscription": paper.ws_max_markets_per_subscription,
                "max_backlog_frames": paper.ws_max_backlog_frames,
                "sequence_trade_and_lifecycle": paper.ws_sequence_trade_and_lifecycle,
            },
        ) or 0
    except ValueError as exc:  # unknown scenario or tier, a scenario file with errors
        return _fail(f"sim: {exc}")
    except OSError as exc:  # port in use, key dir not writable
        return _fail(f"simulated exchange cannot start on {args.host}:{args.port}: {exc}")


def cmd_replay(args: argparse.Namespace) -> int:
    from mmd.replay import run_replay

    cfg = _load(args)
    if (args.tape is None) == (args.scenario is None):
        return _fail("replay: give a tape file or --scenario NAME (not both)")
    tape = Path(args.tape) if args.tape is not None else None
    if tape is not None and not tape.is_file():
        return _fail(f"tape not found: {tape}")
    try:
        summary = run_replay(
            cfg,
            tape=tape,
            scenario=args.scenario,
            seed=args.seed,
            duration_s=args.duration,
            db_path=Path(args.db),
            run_id=args.run_id,
            first_event=args.first_event,
            max_events=args.events,
            runtime=args.runtime,
        )
    except ValueError as exc:  # unreadable tape rows, empty range, a scenario file with errors
        return _fail(str(exc))
    print(json.dumps(summary, indent=2, sort_keys=True))
    return 0


def cmd_research(args: argparse.Namespace) -> int:
    """Reproduce a paper with our own quoting code and print ours beside the published table."""
    from mmd.research import Setting, format_table, reproduce

    if args.study == "as2008":
        if args.paths <= 0:
            return _fail("--paths must be > 0")
        print(format_table(reproduce(Setting(paths=args.paths, seed=args.seed))))
    return 0


def cmd_install_service(args: argparse.Namespace) -> int:
    from mmd.service import command

    return command(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mmd", description="Market-making daemon for Kalshi")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("--log-format", choices=LOG_FORMATS, default=os.environ.get("MMD_LOG_FORMAT") or "auto",
                        help="auto (journald under systemd, else human), human, journald or json "
                             "(default: $MMD_LOG_FORMAT, else auto)")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", help="YAML config file (defaults: config/default.yaml)")
        p.add_argument("--data-dir", help="where SQLite, paper keys and run state live")
        return p

    start = with_config(sub.add_parser("start", help="run the daemon (paper by default)"))
    start.add_argument("--env", choices=["paper", "demo", "prod"], default="paper")
    start.add_argument("--exchange-url", help="REST base URL, e.g. http://127.0.0.1:8080/trade-api/v2")
    start.add_argument("--status-port", type=int, help="loopback status port (0 = any free)")
    start.add_argument("--duration", type=float, help="stop by itself after this many seconds")
    start.add_argument(REAL_MONEY_FLAG, dest="real_money", action="store_true")
    start.set_defaults(func=cmd_start)

    status = with_config(sub.add_parser("status", help="print the running daemon's state as JSON"))
    status.add_argument("--url", help="status URL (default: read from the data dir)")
    status.set_defaults(func=cmd_status)

    stop = with_config(sub.add_parser("stop", help="gracefully stop the running daemon"))
    stop.set_defaults(func=cmd_stop)

    kill = with_config(
        sub.add_parser("kill", help="kill switch: halt all trading and cancel every resting order until `resume`")
    )
    kill.add_argument("--reason", default="operator kill switch", help="recorded with the kill")
    kill.add_argument("--url", help="status URL (default: read from the data dir)")
    kill.add_argument("--token-file", help="control token file (default: <data dir>/control.token)")
    kill.set_defaults(func=cmd_kill)

    resume = with_config(sub.add_parser("resume", help="release the kill switch (and the loss breakers)"))
    resume.add_argument("--reason", default="operator resume", help="recorded with the resume")
    resume.add_argument("--url", help="status URL (default: read from the data dir)")
    resume.add_argument("--token-file", help="control token file (default: <data dir>/control.token)")
    resume.set_defaults(func=cmd_resume)

    config = sub.add_parser("config", help="configuration tools")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    check = config_sub.add_parser("check", help="validate a config file, listing every error")
    check.add_argument("file")
    check.set_defaults(func=cmd_config_check)

    sim = with_config(sub.add_parser("sim", help="run the simulated Kalshi exchange standalone"))
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8080)
    sim.add_argument("--seed", type=int, help="random seed (default: the scenario's own, else paper.seed)")
    sim.add_argument("--scenario", help="scenario name (simex/scenarios/NAME.yaml) or path to a scenario YAML")
    sim.add_argument("--tier", help="rate-limit tier: off, basic, advanced, expert, premier, paragon, prime, prestige")
    sim.add_argument("--admin", action=argparse.BooleanOptionalAction, default=None,
                     help="serve /_admin/faults to loopback clients (default: paper.admin, on)")
    sim.set_defaults(func=cmd_sim)

    replay = with_config(sub.add_parser("replay", help="replay a recorded tape or a scenario through the actors"))
    replay.add_argument("tape", nargs="?", help="trade tape CSV or ticker JSONL (see shared/data/kalshi/README.md)")
    replay.add_argument("--scenario", help="scenario name (simex/scenarios/NAME.yaml) or YAML path, instead of a tape")
    replay.add_argument("--seed", type=int, help="scenario seed (default: the scenario's own)")
    replay.add_argument("--duration", type=float, help="scenario seconds to replay (default: the scenario's)")
    replay.add_argument("--db", default="var/replay.sqlite")
    replay.add_argument("--run-id", default="replay")
    replay.add_argument("--first-event", type=int, default=0, help="skip this many tape rows")
    replay.add_argument("--events", type=int, help="replay at most this many tape rows")
    replay.add_argument("--runtime", choices=("deterministic", "threading"), default="deterministic",
                        help="deterministic: all actors in one thread (fast, the default); threading: one thread "
                             "per actor, as live trading runs them (same results, slower)")
    replay.set_defaults(func=cmd_replay)
    add_backtest_parser(sub)
    add_sweep_parser(sub)
    add_report_parser(sub)
    add_data_parser(sub)
    add_doctor_parser(sub)
    add_cancel_all_parser(sub)
    add_chaos_parser(sub)

    install = sub.add_parser("install-service", help="write the systemd unit and print the steps to enable it")
    install.add_argument("--dry-run", action="store_true", help="print the files instead of writing them")
    install.add_argument("--unit-dir", default="/etc/systemd/system")
    install.add_argument("--env-file", default="/etc/mmd/mmd.env")
    install.set_defaults(func=cmd_install_service)

    research = sub.add_parser("research", help="reproduce published results with our own code")
    research.add_argument("study", choices=["as2008"], help="as2008: Avellaneda & Stoikov (QF 2008) section 3.3, beside the published Tables 1-3")
    research.add_argument("--paths", type=int, default=1000)
    research.add_argument("--seed", type=int, default=2008)
    research.set_defaults(func=cmd_research)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.log_format not in LOG_FORMATS:  # from $MMD_LOG_FORMAT: argparse checks only given values
        return _fail(f"MMD_LOG_FORMAT={args.log_format!r}: expected one of {', '.join(LOG_FORMATS)}")
    _setup_logging(args.verbose, args.log_format)
    try:
        return args.func(args)
    except ConfigError as exc:
        for line in exc.errors:
            print(f"mmd: config: {line}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
