"""A step's settings, handed over as one JSON value (``--settings``), become its config dataclass.

The workflow passes each job the block of params.yaml its step reads (workflow/lib/step_settings.py); the
job builds its dataclass from it with ``build``. A hyperparameter's name thus lives in params.yaml, its
schema and the dataclass that uses it, and nowhere in between.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any, Mapping, TypeVar

T = TypeVar("T")


def parse_settings(text: str) -> dict[str, Any]:
    """``--settings``: a JSON object, inline or in a file (the workflow passes results/settings/...json)."""
    where = "inline JSON"
    if not text.lstrip().startswith("{"):
        where = text
        try:
            text = Path(text).read_text(encoding="utf-8")
        except OSError as err:
            raise argparse.ArgumentTypeError(f"{where}: {err.strerror}") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise argparse.ArgumentTypeError(f"{where}: not JSON ({err})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"{where}: not a JSON object")
    return value


def add_settings_argument(parser: argparse.ArgumentParser, block: str) -> None:
    parser.add_argument(
        "--settings",
        type=parse_settings,
        required=True,
        metavar="FILE|JSON",
        help=f"the {block} block of params.yaml: a JSON file (what the workflow passes) or inline JSON",
    )


def deep_merge(base: dict, override: dict) -> dict:
    """``override`` merged into ``base`` key by key (as Snakemake merges a --configfile into the config)."""
    merged = dict(base)
    for key, value in override.items():
        merged[key] = deep_merge(base[key], value) if isinstance(value, dict) and key in base else value
    return merged


def step_block(config: Mapping[str, Any], study: str, step: str) -> dict[str, Any]:
    """What a step reads: ``<study>.<step>`` of the workflow config with ``<study>.scales.<scale>.<step>``
    merged over it (the workflow writes it to the step's settings file, workflow/lib/step_settings.py)."""
    block = config[study]
    scaled = block.get("scales", {}).get(config["scale"], {}).get(step, {})
    return deep_merge(block.get(step, {}), scaled)


def _as_field_type(value: Any, hint: Any) -> Any:
    """JSON has lists where a frozen dataclass holds tuples (hashable, comparable with a checkpoint's)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [h for h in typing.get_args(hint) if h is not type(None)]
        return _as_field_type(value, options[0]) if value is not None and len(options) == 1 else value
    if origin is tuple and isinstance(value, list):
        args = typing.get_args(hint)
        inner = args[0] if args else Any
        return tuple(_as_field_type(v, inner) for v in value)
    if dataclasses.is_dataclass(hint) and isinstance(value, Mapping):
        return build(hint, value, hint.__name__)
    return value


def build(cls: type[T], settings: Mapping[str, Any], where: str, **fixed: Any) -> T:
    """``cls(**settings, **fixed)``, where ``fixed`` holds what the job itself knows (wildcards, derived
    values). Raises ValueError naming ``where`` and the key for an unknown or missing setting."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(settings) - set(fields))
    if unknown:
        raise ValueError(f"{where}: unknown setting '{unknown[0]}' (known: {', '.join(sorted(fields))})")
    clash = sorted(set(settings) & set(fixed))
    if clash:
        raise ValueError(f"{where}: '{clash[0]}' is set by the job, not by its settings")
    hints = typing.get_type_hints(cls)
    values = {k: _as_field_type(v, hints[k]) for k, v in settings.items()} | fixed
    missing = [
        name
        for name, f in fields.items()
        if f.init
        and name not in values
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise ValueError(f"{where}: missing setting '{missing[0]}'")
    return cls(**values)
