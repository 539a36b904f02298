"""mmd configuration: shipped defaults (default.yaml) validated into frozen objects."""

from ._loader import ConfigError, default_config_path, load_config, validate
from ._schema import *  # noqa: F401,F403
from ._schema import __all__ as _schema_all

__all__ = ["ConfigError", "load_config", "default_config_path", "validate", *_schema_all]
