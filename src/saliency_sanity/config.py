"""Load and validate the workflow configuration against ``config/schema.yaml``.

Errors name the offending key by its dotted path (``testbed.size``), and defaults from the
schema are filled in, so code downstream can index every documented key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import yaml


class ConfigError(ValueError):
    """The configuration does not match the schema."""


def _key(error: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return ".".join(filter(None, [path, *extra[:1]]))
    if error.validator == "required":
        return ".".join(filter(None, [path, error.message.split("'")[1]]))
    return path or "<top level>"


def _fill_defaults(instance: Any, schema: dict, root: dict) -> None:
    if "$ref" in schema:
        schema = root["definitions"][schema["$ref"].split("/")[-1]]
    if not isinstance(instance, dict):
        return
    for name, sub in schema.get("properties", {}).items():
        if name not in instance and "default" in sub:
            instance[name] = _copy(sub["default"])
        if name in instance:
            _fill_defaults(instance[name], sub, root)


def _copy(value: Any) -> Any:
    return yaml.safe_load(yaml.safe_dump(value))


def validate(config: dict, schema_path: str | Path) -> dict:
    """Validate ``config`` (in place: defaults are filled in); raise :class:`ConfigError`."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"  config key '{_key(e)}': {e.message}" for e in errors]
        raise ConfigError("invalid configuration:\n" + "\n".join(lines))
    _fill_defaults(config, schema, schema)
    return config
