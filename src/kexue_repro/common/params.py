"""Validation of the workflow configuration (params.yaml plus any --config overrides)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

# A study's block of params.yaml, where it is not named after the study (a study sharing another's settings).
STUDY_PARAMS = {"clue_mrc_ner": "clue"}


def params_block(study: str) -> str:
    """The params.yaml block a study's settings and provenance come from."""
    return STUDY_PARAMS.get(study, study)


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


def load_yaml(path: str | os.PathLike) -> Any:
    """A YAML file; a syntax error is a ValueError naming the file and its line."""
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"{path}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(path)
        why = err.problem or err.context
        if err.problem and err.context and err.context_mark:
            why += f"; {err.context} at line {err.context_mark.line + 1}"
        raise ValueError(f"{where}: not valid YAML ({why})") from None


def schema_registry(schema_dir: Path) -> Registry:
    """Every ``*.schema.yaml`` of the folder, by file name: the top-level schema refers to each study's."""
    return Registry().with_resources(
        (path.name, Resource.from_contents(load_yaml(path), default_specification=DRAFT202012))
        for path in sorted(schema_dir.glob("*.schema.yaml"))
    )


def check_params(config: dict[str, Any], schema_file: str | os.PathLike, source: str = "config") -> None:
    """Raise ValueError with one line naming the offending key if ``config`` breaks the schema.

    ``schema_file`` is the top-level schema; the studies' schemas beside it are found by name. Among
    several errors the one deepest in the tree is reported: it names the key most precisely.
    """
    schema_file = Path(schema_file)
    validator = jsonschema.Draft202012Validator(
        load_yaml(schema_file), registry=schema_registry(schema_file.parent)
    )
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
