"""The sweep spec (mmd/sweep_spec.py): a grid is every combination, a random search draws
the same settings for the same seed, and a malformed spec is one line."""

from __future__ import annotations

import pytest

from mmd.sweep_spec import SpecError, load_spec


def spec_file(tmp_path, text: str):
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return path


def test_a_grid_is_every_combination_in_the_specs_key_order(tmp_path):
    spec = load_spec(spec_file(tmp_path, "grid: {maker.gamma: [0.1, 1.0], maker.model.name: [as, glft]}\n"
                                         "scenarios: [mr_jump]\nseeds: [1, 2]\n"))
    assert [s.assignments for s in spec.settings] == [
        ["maker.gamma=0.1", "maker.model.name=as"], ["maker.gamma=0.1", "maker.model.name=glft"],
        ["maker.gamma=1.0", "maker.model.name=as"], ["maker.gamma=1.0", "maker.model.name=glft"]]
    assert spec.name == "spec" and spec.seeds == "1,2" and spec.fill_models == ("pessimistic",)


def test_a_random_search_draws_the_same_settings_for_the_same_seed_within_bounds(tmp_path):
    text = "random: {maker.gamma: {low: 0.01, high: 10, log: true}, maker.base_size: {low: 1, high: 9}}\n" \
           "samples: 5\nseed: 3\nscenarios: [mr_jump]\n"
    first, again = load_spec(spec_file(tmp_path, text)), load_spec(spec_file(tmp_path, text))
    assert first.settings == again.settings and len(first.settings) == 5
    for setting in first.settings:
        values = dict(setting.values)
        assert 0.01 <= values["maker.gamma"] <= 10
        assert isinstance(values["maker.base_size"], int) and 1 <= values["maker.base_size"] <= 9


@pytest.mark.parametrize(("text", "message"), [
    ("grid: {}\nscenarios: [mr_jump]\n", "grid: give at least one config key"),
    ("grid: {maker.gamma: []}\nscenarios: [mr_jump]\n", "grid: maker.gamma: give a non-empty list of values"),
    ("scenarios: [mr_jump]\n", "give exactly one of grid: or random:"),
    ("random: {maker.gamma: {low: 1, high: 0}}\nsamples: 2\n", "random: maker.gamma: low and high are numbers"),
    ("random: {maker.gamma: [0.1]}\n", "random: give samples: N"),
    ("grid: {maker.gamma: [1]}\ntapse: [x.csv]\n", "unknown key 'tapse'"),
    ("- just a list\n", "a sweep spec is a mapping"),
])
def test_a_malformed_spec_is_one_error(tmp_path, text, message):
    with pytest.raises(SpecError, match=None) as caught:
        load_spec(spec_file(tmp_path, text))
    assert message in str(caught.value)
