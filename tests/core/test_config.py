"""Configuration: shipped defaults load; every error is reported at once with its key path."""

import subprocess
import sys
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_load_into_frozen_objects_with_spec_numbers():
    cfg = load_config()
    assert cfg.mode == "paper"
    assert cfg.rest.read_tokens_per_s == 200 and cfg.rest.write_tokens_per_s == 100
    assert cfg.ws.reconnect_base_s == 0.5 and cfg.ws.reconnect_cap_s == 5.0
    assert cfg.maker.gamma == 0.3 and cfg.maker.kappa == 1.5
    assert cfg.risk.per_market_budget_dollars == Decimal("8.00")
    with pytest.raises(AttributeError):
        cfg.maker.gamma = 1.0


def test_every_error_is_reported_at_once_with_its_key_path():
    with pytest.raises(ConfigError) as caught:
        load_config(
            overrides={
                "mode": "yolo",
                "maker": {"gama": 0.1, "kappa": -1},
                "risk": {"max_price": "lots"},
            }
        )
    errors = caught.value.errors
    assert "mode: must be one of paper, demo, prod, backtest (got 'yolo')" in errors
    assert "maker.gama: unknown key (did you mean 'gamma'?)" in errors
    assert "maker.kappa: must be > 0 (got -1)" in errors
    assert any(e.startswith("risk.max_price: expected Decimal") for e in errors)
    assert len(errors) == 4


def test_money_written_as_a_float_is_refused():
    with pytest.raises(ConfigError) as caught:
        load_config(overrides={"risk": {"global_budget_dollars": 60.1}})
    assert caught.value.errors[0].startswith("risk.global_budget_dollars: write money and prices as quoted strings")


def test_a_user_file_overrides_only_what_it_names(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("maker:\n  base_size: 2\n")
    cfg = load_config(path)
    assert cfg.maker.base_size == 2
    assert cfg.maker.gamma == 0.3


def test_unreadable_yaml_is_a_config_error(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("maker: [unclosed\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "not valid YAML" in caught.value.errors[0]


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "mmd", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_config_check_prints_every_error_and_exits_1(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("maker:\n  kappa: 0\n  gama: 1\nrisk:\n  min_price: \"0.9\"\n  max_price: \"0.5\"\n")
    result = run_cli("config", "check", str(path))
    assert result.returncode == 1
    assert f"{path}: maker.kappa: must be > 0 (got 0)" in result.stdout
    assert f"{path}: maker.gama: unknown key (did you mean 'gamma'?)" in result.stdout


def test_config_check_accepts_the_shipped_defaults():
    result = run_cli("config", "check", str(ROOT / "config" / "default.yaml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith(": ok")


def test_a_bad_config_value_at_start_exits_1_naming_the_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("maker:\n  base_size: -3\n")
    result = run_cli("start", "--config", str(path), "--data-dir", str(tmp_path / "var"))
    assert result.returncode == 1
    assert "maker.base_size: must be > 0" in result.stderr


def test_live_mode_without_credentials_exits_1_with_one_clear_line(tmp_path):
    env_free = {k: v for k, v in __import__("os").environ.items() if not k.startswith("KALSHI_")}
    result = subprocess.run(
        [sys.executable, "-m", "mmd", "start", "--env", "demo", "--data-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, env=env_free,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == ["mmd: --env demo needs credentials: set KALSHI_ACCESS_KEY and KALSHI_PRIVATE_KEY "
                     "(PEM text or a path to a PEM file)"]


def test_prod_needs_the_explicit_real_money_flag(tmp_path):
    result = run_cli("start", "--env", "prod", "--data-dir", str(tmp_path))
    assert result.returncode == 1
    assert "--i-understand-this-trades-real-money" in result.stderr


def test_infinite_and_nan_numbers_are_refused():
    with pytest.raises(ConfigError) as caught:
        load_config(overrides={"maker": {"warmup_s": float("inf")}, "ws": {"reconnect_cap_s": float("nan")}})
    assert "maker.warmup_s: must be a finite number, got inf" in caught.value.errors
    assert "ws.reconnect_cap_s: must be a finite number, got nan" in caught.value.errors


def test_a_request_cost_no_bucket_can_hold_is_refused():
    with pytest.raises(ConfigError) as caught:
        load_config(overrides={"rest": {"write_tokens_per_s": 5}})
    assert caught.value.errors[0].startswith("rest.default_cost: 10 tokens exceeds a bucket's capacity")


def test_the_supervisors_exit_deadline_outlasts_a_passive_exit_until_the_maker_reports_it_stuck():
    cfg = load_config()
    maker_exit = cfg.maker.exit
    assert cfg.supervisor.exit_timeout_s > maker_exit.mean_reversion_wait_s + maker_exit.soft_max_s + maker_exit.hard_max_s
    with pytest.raises(ConfigError) as caught:
        load_config(overrides={"supervisor": {"exit_timeout_s": 60.0}})  # 15 + 20 + 60 = 95 s
    assert caught.value.errors == [
        "supervisor.exit_timeout_s: 60 s must exceed the maker's passive exit before it reports itself stuck "
        "(maker.exit mean_reversion_wait_s + soft_max_s + hard_max_s = 95 s)"
    ]


def test_model_cross_field_rules_are_reported_at_load(tmp_path):
    from config import ConfigError, load_config

    path = tmp_path / "bad.yaml"
    path.write_text('maker:\n  fair_value:\n    nd2_min: "0.99"\n    nd2_max: "0.01"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "maker.fair_value.nd2_min: must be below nd2_max" in str(caught.value)


def test_config_validates_itself_without_importing_any_actor():
    probe = "import sys, config; config.load_config(); print(sorted(m for m in sys.modules if m.split('.')[0] in ('actors', 'mmd')))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_model_names_config_accepts_are_the_models_the_maker_implements():
    from actors.maker.models import BASE_MODELS, build_fair_value
    from config import FAIR_VALUE_SOURCES, QUOTING_MODELS

    assert tuple(BASE_MODELS) == QUOTING_MODELS
    fair_value = load_config().maker.fair_value
    for source in FAIR_VALUE_SOURCES:  # each one builds (model_nd2 needs its strike and expiry)
        assert build_fair_value(replace(fair_value, source=source), strike=Decimal("100"), expiry_ns=1) is not None


def test_a_model_rule_broken_after_loading_is_refused_when_the_model_is_built():
    from actors.maker.models import build_quoting_model

    model = load_config().maker.model
    with pytest.raises(ValueError, match="maker.model.decay_extreme_low: must be below decay_extreme_high"):
        build_quoting_model(replace(model, decay_extreme_low=model.decay_extreme_high))
