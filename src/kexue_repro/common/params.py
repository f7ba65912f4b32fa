"""Validation of the workflow configuration (params.yaml plus any --config overrides)."""

from __future__ import annotations

import os
from typing import Any

import jsonschema
import yaml


def _key_path(err: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in err.absolute_path)
    if err.validator == "additionalProperties":
        allowed = set(err.schema.get("properties", {}))
        unknown = sorted(k for k in err.instance if k not in allowed)
        path = ".".join(filter(None, [path, unknown[0] if unknown else ""]))
    elif err.validator == "required":
        missing = next(k for k in err.validator_value if k not in err.instance)
        path = ".".join(filter(None, [path, missing]))
    return path or "(top level)"


def check_params(config: dict[str, Any], schema_file: str | os.PathLike, source: str = "config") -> None:
    """Raise ValueError with one line naming the offending key if ``config`` breaks the schema.

    Among several errors the one deepest in the tree is reported: it names the key most precisely.
    """
    with open(schema_file, encoding="utf-8") as fh:
        schema = yaml.safe_load(fh)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(
        validator.iter_errors(config), key=lambda e: (-len(e.absolute_path), str(e.absolute_path))
    )
    if errors:
        err = errors[0]
        if err.validator == "additionalProperties":
            message = "unknown key"
        elif err.validator in ("oneOf", "anyOf"):  # jsonschema's message would print the whole value
            message = err.schema.get("description", "matches none of the allowed forms")
        else:
            message = err.message
        raise ValueError(f"{source}: key '{_key_path(err)}': {message}".replace("\n", " "))
