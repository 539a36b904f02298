"""mmd configuration: shipped defaults (default.yaml) validated into frozen objects."""

from ._loader import ConfigError, default_config_path, load_config, validate
from ._rules import (
    FAIR_VALUE_FEEDS,
    FAIR_VALUE_SOURCES,
    FEED_OFF,
    QUOTING_MODELS,
    fair_value_config_problems,
    fair_value_feed_problem,
    feeds_config_problems,
    model_config_problems,
    reference_token_map,
)
from ._schema import *  # noqa: F401,F403
from ._schema import __all__ as _schema_all

__all__ = [
    "ConfigError",
    "load_config",
    "default_config_path",
    "validate",
    "QUOTING_MODELS",
    "FAIR_VALUE_SOURCES",
    "model_config_problems",
    "fair_value_config_problems",
    "FEED_OFF",
    "FAIR_VALUE_FEEDS",
    "feeds_config_problems",
    "fair_value_feed_problem",
    "reference_token_map",
    *_schema_all,
]
