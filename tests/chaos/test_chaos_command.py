"""`mmd chaos` on the command line: its options, and bad input refused in one line before any
process starts (the parser is added with mmd.chaos.add_chaos_parser)."""

from __future__ import annotations

import argparse

import pytest

from mmd.chaos import add_chaos_parser


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mmd")
    add_chaos_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["chaos", *argv])


def test_defaults_are_the_short_campaign_on_the_default_scenario_at_the_basic_tier():
    args = parse()
    assert (args.seed, args.campaign, args.scenario, args.tier, args.scale) == (1, "short", "default", "basic", 1.0)


def test_options_are_read():
    args = parse("--seed", "9", "--campaign", "full", "--scenario", "mr_jump", "--tier", "advanced", "--scale", "0.5")
    assert (args.seed, args.campaign, args.scenario, args.tier, args.scale) == (9, "full", "mr_jump", "advanced", 0.5)


def test_an_unknown_campaign_is_refused_by_the_parser():
    with pytest.raises(SystemExit):
        parse("--campaign", "forever")


@pytest.mark.parametrize("argv, says", [
    (("--scenario", "no-such-scenario"), "no such scenario"),
    (("--tier", "platinum"), "unknown rate-limit tier"),
    (("--campaign", "full", "--scale", "0"), "scale must be positive"),
])
def test_bad_input_is_one_line_and_exit_1_before_anything_starts(argv, says, capsys, tmp_path):
    args = parse(*argv, "--work-dir", str(tmp_path / "work"))
    assert args.func(args) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("mmd: chaos: ") and says in err and "\n" not in err
    assert not (tmp_path / "work").exists()
