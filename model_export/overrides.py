"""Recipe changes from the command line: ``--set KEY=VALUE`` on any field of a TrainConfig or, under
``model.``, of the ModelConfig (the architecture).

    --set weight_decay=0.05 --set loss.distill=1.0 --set data.kind_probs.pseudo=0.4
    --set model.stage_channels=[16,32,64] --set model.deep_dilations=[2,4,8]

KEY is a dotted path into the config (dataclass fields, then dict keys); VALUE is read as JSON (bare
words as strings) and must have the type of the value it replaces (an int where a float is expected is
taken as a float). An unknown key or a wrong type is an error that names the key, so a typo never
trains the default recipe under another name. Every field lands in the checkpoint's train_config (and
model_config), so the run records what was changed. The input size is the data's (``data.height``,
``data.width``), never set under ``model.``. Used by ``vbg train`` and ``model_export.cross_validate``
to screen a recipe against the default one; tests in tests/test_overrides.py.
"""
from __future__ import annotations

import copy
import dataclasses
import json


def parse_assignment(text: str) -> tuple[list[str], object]:
    """'loss.distill=1.0' -> (['loss', 'distill'], 1.0); ValueError when there is no '=' or key."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"--set {text!r}: expected KEY=VALUE, e.g. loss.distill=1.0")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw  # a bare word: a string
    return key.strip().split("."), value


def _checked(path: str, old: object, new: object, any_length: bool = False) -> object:
    """NEW converted to OLD's type where that loses nothing; ValueError when the types differ. A sequence
    keeps OLD's length unless ANY_LENGTH (a field annotated tuple[X, ...]); its items are checked
    against OLD's items (past OLD's end, against its last)."""
    if isinstance(old, bool) or isinstance(new, bool):
        if isinstance(old, bool) and isinstance(new, bool):
            return new
    elif isinstance(old, float) and isinstance(new, (int, float)):
        return float(new)
    elif isinstance(old, int) and isinstance(new, int):
        return new
    elif isinstance(old, str) and isinstance(new, str):
        return new
    elif isinstance(old, (tuple, list)) and isinstance(new, list) and (len(new) == len(old) or any_length and old):
        return type(old)(_checked(f"{path}[{i}]", old[min(i, len(old) - 1)], n) for i, n in enumerate(new))
    raise ValueError(f"--set {path}: {new!r} is not a {type(old).__name__} like the value it replaces ({old!r})")


def _field(node: object, key: str, path: str) -> dataclasses.Field:
    """The field KEY of the dataclass NODE; ValueError naming the fields there are."""
    fields = {f.name: f for f in dataclasses.fields(node)}
    if key not in fields:
        raise ValueError(f"--set {path}: no field {key!r} (there are: {', '.join(fields)})")
    return fields[key]


def _new_value(field: dataclasses.Field, old: object, rest: list[str], value: object, path: str) -> object:
    """What a dataclass FIELD holding OLD becomes: VALUE set at REST inside it, or VALUE itself, checked.
    A field annotated tuple[int, ...] takes a sequence of any length."""
    if rest:
        return _assign(old, rest, value, path)
    return _checked(path, old, value, any_length="..." in str(field.type))


def _assign(node: object, keys: list[str], value: object, path: str) -> object:
    """A copy of NODE with the field or entry at KEYS set to VALUE."""
    key, rest = keys[0], keys[1:]
    if dataclasses.is_dataclass(node):
        field = _field(node, key, path)
        return dataclasses.replace(node, **{key: _new_value(field, getattr(node, key), rest, value, path)})
    if isinstance(node, dict):
        if key not in node:
            raise ValueError(f"--set {path}: no key {key!r} (there are: {', '.join(map(str, node))})")
        out = dict(node)
        out[key] = _assign(node[key], rest, value, path) if rest else _checked(path, node[key], value)
        return out
    raise ValueError(f"--set {path}: {key!r} is inside a {type(node).__name__}, which has no fields")


def apply(cfg, assignments: list[str], prefix: str = ""):
    """A copy of the dataclass CFG with every 'KEY=VALUE' of ASSIGNMENTS applied, in order; PREFIX is put
    before each key in error messages. CFG's own fields change in one step at the end, so a config that
    checks its fields against each other (ModelConfig) sees them all changed, in whatever order given."""
    cfg = copy.deepcopy(cfg)
    changes: dict[str, object] = {}
    for text in assignments:
        keys, value = parse_assignment(text)
        path = prefix + ".".join(keys)
        field = _field(cfg, keys[0], path)
        old = changes.get(field.name, getattr(cfg, field.name))
        changes[field.name] = _new_value(field, old, keys[1:], value, path)
    return dataclasses.replace(cfg, **changes)


MODEL_PREFIX = "model"
INPUT_SIZE_FIELDS = ("input_height", "input_width")  # follow data.height / data.width


def apply_recipe(cfg, assignments: list[str]):
    """(TrainConfig CFG with ASSIGNMENTS applied, the ModelConfig they give): a key under 'model.' changes
    the architecture (ModelConfig's defaults, input size from CFG's data), any other key CFG. ValueError
    as apply(), or when a 'model.' key names the input size (that is data.height and data.width)."""
    from model_export.model import ModelConfig

    train_side, model_side = [], []
    for text in assignments:
        keys, _ = parse_assignment(text)
        if keys[0] != MODEL_PREFIX:
            train_side.append(text)
            continue
        if len(keys) < 2:
            raise ValueError(f"--set {text!r}: name a model field, e.g. model.stage_channels=[16,32,64]")
        if keys[1] in INPUT_SIZE_FIELDS:
            raise ValueError(f"--set {'.'.join(keys)}: the input size follows data.height and data.width; set those")
        model_side.append(text.split(".", 1)[1])
    cfg = apply(cfg, train_side)
    model_cfg = ModelConfig(input_height=cfg.data.height, input_width=cfg.data.width)
    return cfg, apply(model_cfg, model_side, prefix=f"{MODEL_PREFIX}.")
