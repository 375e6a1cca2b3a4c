"""Recipe changes from the command line: ``--set KEY=VALUE`` on any field of a TrainConfig.

    --set weight_decay=0.05 --set loss.distill=1.0 --set data.kind_probs.pseudo=0.4

KEY is a dotted path into the config (dataclass fields, then dict keys); VALUE is read as JSON (bare
words as strings) and must have the type of the value it replaces (an int where a float is expected is
taken as a float). An unknown key or a wrong type is an error that names the key, so a typo never
trains the default recipe under another name. Every field lands in the checkpoint's train_config, so
the run records what was changed. Used by ``vbg train`` and ``model_export.cross_validate`` to screen a
recipe against the default one; tests in tests/test_overrides.py.
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


def _checked(path: str, old: object, new: object) -> object:
    """NEW converted to OLD's type where that loses nothing; ValueError when the types differ."""
    if isinstance(old, bool) or isinstance(new, bool):
        if isinstance(old, bool) and isinstance(new, bool):
            return new
    elif isinstance(old, float) and isinstance(new, (int, float)):
        return float(new)
    elif isinstance(old, int) and isinstance(new, int):
        return new
    elif isinstance(old, str) and isinstance(new, str):
        return new
    elif isinstance(old, (tuple, list)) and isinstance(new, list) and len(new) == len(old):
        return type(old)(_checked(f"{path}[{i}]", o, n) for i, (o, n) in enumerate(zip(old, new)))
    raise ValueError(f"--set {path}: {new!r} is not a {type(old).__name__} like the value it replaces ({old!r})")


def _assign(node: object, keys: list[str], value: object, path: str) -> object:
    """A copy of NODE with the field or entry at KEYS set to VALUE."""
    key, rest = keys[0], keys[1:]
    if dataclasses.is_dataclass(node):
        names = [f.name for f in dataclasses.fields(node)]
        if key not in names:
            raise ValueError(f"--set {path}: no field {key!r} (there are: {', '.join(names)})")
        old = getattr(node, key)
        return dataclasses.replace(node, **{key: _assign(old, rest, value, path) if rest else _checked(path, old, value)})
    if isinstance(node, dict):
        if key not in node:
            raise ValueError(f"--set {path}: no key {key!r} (there are: {', '.join(map(str, node))})")
        out = dict(node)
        out[key] = _assign(node[key], rest, value, path) if rest else _checked(path, node[key], value)
        return out
    raise ValueError(f"--set {path}: {key!r} is inside a {type(node).__name__}, which has no fields")


def apply(cfg, assignments: list[str]):
    """A copy of the dataclass CFG with every 'KEY=VALUE' of ASSIGNMENTS applied, in order."""
    out = copy.deepcopy(cfg)
    for text in assignments:
        keys, value = parse_assignment(text)
        out = _assign(out, keys, value, ".".join(keys))
    return out
