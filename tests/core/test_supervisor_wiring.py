"""Wiring details the supervisor depends on (mmd.app)."""

import json
from types import MappingProxyType

from config import load_config
from mmd.app import _jsonable, config_to_json


def test_the_whole_config_is_recorded_as_json_read_only_mappings_included():
    recorded = json.loads(config_to_json(load_config()))
    assert recorded["supervisor"]["session_ttl_s"] == 300.0
    assert recorded["supervisor"]["allowed_regimes"] == ["MEAN_REVERTING", "QUIET"]
    assert recorded["supervisor"]["min_available_balance_dollars"] == "100.00"


def test_read_only_mappings_and_decimals_become_plain_json():
    from decimal import Decimal

    assert _jsonable(MappingProxyType({"a": Decimal("0.10"), 1: (2, 3)})) == {"a": "0.10", "1": [2, 3]}
