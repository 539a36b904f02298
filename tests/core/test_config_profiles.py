"""Named strategy profiles (config/profiles.yaml, `maker.profile`): a profile lays its settings
over the shipped defaults, the user's file and overrides still win, variants extend a base,
and every mistake is one ConfigError line naming the key."""

from __future__ import annotations

import pytest

from config import ConfigError, load_config
from config._profiles import profile_names, profile_settings

SHIPPED = ("nhl_hybrid", "nhl_hybrid_conservative", "nhl_hybrid_aggressive")


def test_the_defaults_choose_no_profile_and_quote_avellaneda_stoikov():
    cfg = load_config()

    assert (cfg.maker.profile, cfg.maker.model.name, cfg.risk.hybrid.preset) == ("none", "avellaneda_stoikov", "default")


def test_every_shipped_profile_is_listed_and_loads_cleanly():
    assert profile_names() == ("none", *SHIPPED)
    for name in SHIPPED:
        assert load_config(overrides={"maker": {"profile": name}}).maker.profile == name


@pytest.mark.parametrize("name, preset", [("nhl_hybrid", "default"), ("nhl_hybrid_conservative", "conservative"),
                                          ("nhl_hybrid_aggressive", "aggressive")])
def test_the_nhl_profiles_quote_with_the_nhl_model_and_select_their_hybrid_preset(name, preset):
    cfg = load_config(overrides={"maker": {"profile": name}})

    assert cfg.maker.model.name == "nhl_hybrid"
    assert (cfg.maker.base_size, cfg.maker.max_position, cfg.maker.fair_value.source) == (10, 30, "ewma")
    assert cfg.maker.model.time_decay is False
    assert cfg.risk.hybrid.preset == preset


def test_a_profile_chosen_in_the_config_file_applies_and_the_file_still_wins(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("maker:\n  profile: nhl_hybrid_conservative\n  base_size: 4\n")

    cfg = load_config(path)

    assert (cfg.maker.model.name, cfg.risk.hybrid.preset) == ("nhl_hybrid", "conservative")
    assert cfg.maker.base_size == 4  # the user's own key over the profile's 10


def test_an_override_may_choose_another_profile_than_the_file(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("maker:\n  profile: nhl_hybrid_conservative\n")

    cfg = load_config(path, overrides={"maker": {"profile": "nhl_hybrid_aggressive"}})

    assert cfg.risk.hybrid.preset == "aggressive"


def test_an_override_may_switch_the_profile_off_again(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("maker:\n  profile: nhl_hybrid\n")

    cfg = load_config(path, overrides={"maker": {"profile": "none"}})

    assert (cfg.maker.model.name, cfg.maker.base_size) == ("avellaneda_stoikov", 5)


def test_an_unknown_profile_is_refused_naming_the_known_ones():
    with pytest.raises(ConfigError) as caught:
        load_config(overrides={"maker": {"profile": "nhl_hybird"}})

    assert caught.value.errors == [
        "maker.profile: unknown profile 'nhl_hybird'; one of none, nhl_hybrid, nhl_hybrid_conservative, "
        "nhl_hybrid_aggressive"
    ]


def test_a_profile_name_that_is_not_a_string_is_refused_like_any_bad_value():
    with pytest.raises(ConfigError) as caught:
        load_config(overrides={"maker": {"profile": 7}})

    assert caught.value.errors == ["maker.profile: expected str, got 7"]


def test_a_variant_extends_its_base_and_overrides_only_what_it_names(tmp_path):
    path = tmp_path / "profiles.yaml"
    path.write_text("base:\n  settings: {maker: {base_size: 9, gamma: 0.5}}\n"
                    "variant:\n  extends: base\n  settings: {maker: {gamma: 0.7}}\n")

    assert profile_settings("variant", errors := [], path) == {"maker": {"base_size": 9, "gamma": 0.7}}
    assert errors == []


@pytest.mark.parametrize("text, problem", [
    ("a:\n  extends: b\n  settings: {}\nb:\n  extends: a\n  settings: {}\n", "profile 'a' extends itself (a -> b -> a)"),
    ("a:\n  extends: ghost\n  settings: {}\n", "profile 'a' extends unknown profile 'ghost'"),
    ("a:\n  settings: {maker: {profile: a}}\n", "profile 'a' sets maker.profile itself"),
    ("a:\n  setings: {}\n", "profile 'a': unknown key 'setings'"),
])
def test_a_malformed_profiles_file_is_one_line_naming_the_profile(tmp_path, text, problem):
    path = tmp_path / "profiles.yaml"
    path.write_text(text)

    profile_settings("a", errors := [], path)

    assert len(errors) == 1 and problem in errors[0]


def test_the_nhl_model_may_not_stay_two_sided_past_the_governors_threshold():
    with pytest.raises(ConfigError) as caught:
        load_config(overrides={"maker": {"profile": "nhl_hybrid", "model": {"nhl_one_sided_above": "25"}}})

    assert caught.value.errors == [
        "maker.model.nhl_one_sided_above: 25 must not exceed risk.hybrid.skew_threshold_contracts (20) "
        "with maker.model.name nhl_hybrid"
    ]


def test_the_nhl_model_keys_are_checked_like_any_other():
    with pytest.raises(ConfigError) as caught:
        load_config(overrides={"maker": {"model": {"nhl_quote_offset": "0", "nhl_exit_widen": "-1"}}})

    assert "maker.model.nhl_quote_offset: must be > 0 (got '0')" in caught.value.errors
    assert "maker.model.nhl_exit_widen: must be >= 0 (got '-1')" in caught.value.errors

