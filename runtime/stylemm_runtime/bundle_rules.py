"""The cross-array rules of a bundle (``bundle_rules.json``), checked in the order written there.

The same file is compiled into the native reader (``bindings/src/bundle_rules.inc``, made by
``python -m stylemm_runtime.bundle_rules``), so both readers give the same verdict and the
same message for every bundle; tests/python/test_bundle_verdict.py fuzzes both against each other.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

RULES_FILE = Path(__file__).with_name("bundle_rules.json")
RULES = json.loads(RULES_FILE.read_text())
HEADER = Path(__file__).resolve().parents[2] / "bindings" / "src" / "bundle_rules.inc"


class RuleError(ValueError):
    """A rule of bundle_rules.json is broken; the message is the same as the native reader's."""


def check(manifest: dict, read) -> dict[str, int]:
    """Check ``manifest`` and its arrays (``read(name) -> np.ndarray`` of the listed dtype and
    shape) against the rules; returns the dimensions. Raises RuleError."""
    groups = {name: isinstance(_walk(manifest, path), dict) for name, path in RULES["groups"].items()}
    dims = _dimensions(manifest, groups)
    _check_parents(manifest, dims["joints"])
    for rule in RULES["values"]:
        if not rule.get("group") or groups[rule["group"]]:
            _check_value(manifest, rule)
    minor = manifest.get("format_minor", 0)
    for rule in RULES["arrays"]:
        if rule.get("group") and not groups[rule["group"]]:
            continue
        name = rule["minor_0"] if minor == 0 and "minor_0" in rule else rule["name"]
        entry = manifest["arrays"].get(name)
        if entry is None:
            if rule.get("optional") or ("with" in rule and rule["with"] not in manifest["arrays"]):
                continue  # optional, or only required together with an array that is absent
            raise RuleError(_message("missing", array=name))
        _check_array(name, rule, entry, dims, read)
    return dims


def _dimensions(manifest: dict, groups: dict) -> dict:
    dims: dict[str, int | None] = {}
    for rule in RULES["dimensions"]:
        if rule.get("group") and not groups[rule["group"]]:
            continue
        name = rule["name"]
        if "value" in rule:
            value = _walk(manifest, rule["value"])
            if not _is_int(value) or not rule["min"] <= value <= rule["max"]:
                raise RuleError(_message("dimension", path=".".join(rule["value"]), min=rule["min"], max=rule["max"]))
            dims[name] = 0 if "zero_if_zero" in rule and dims[rule["zero_if_zero"]] == 0 else value
        elif "count" in rule:
            names = _walk(manifest, rule["count"])
            if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names) \
                    or len(set(names)) != len(names):  # fmt: skip
                raise RuleError(_message("names", path=".".join(rule["count"])))
            dims[name] = len(names)
        elif "siren_parameters" in rule:
            hidden, layers = (dims[d] for d in rule["siren_parameters"])
            sizes = [3] + [hidden] * layers + [3]
            dims[name] = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
        elif "sum" in rule:
            dims[name] = sum(dims[d] for d in rule["sum"])
        else:  # "free": bound by the first array that has it
            dims[name] = None
    return dims


def _check_parents(manifest: dict, joints: int) -> None:
    parents = _walk(manifest, ["joints", "parents"])
    ok = isinstance(parents, list) and len(parents) == joints and all(_is_int(p) for p in parents)
    ok = ok and parents[0] == -1 and all(0 <= parents[j] < j for j in range(1, joints))
    if not ok:
        raise RuleError(_message("parents"))


def _check_value(manifest: dict, rule: dict) -> None:
    value, kind = _walk(manifest, rule["path"]), rule["kind"]
    if kind == "range":
        ok = value is None or (isinstance(value, list) and len(value) == 2 and all(_finite_float(v) for v in value)
                               and np.float32(value[0]) < np.float32(value[1]) and np.float32(value[1]) > 0)  # fmt: skip
    elif kind == "finite_number":
        ok = _finite_float(value)
    else:  # "equals"
        ok = value == rule["value"] and isinstance(value, str)
    if not ok:
        raise RuleError(_message(kind, path=".".join(rule["path"]), value=json.dumps(rule.get("value"))))


def _finite_float(value) -> bool:
    """A JSON number that is finite as a float32, as the native reader stores it."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    with np.errstate(over="ignore"):
        try:
            return bool(np.isfinite(np.float32(value)))
        except OverflowError:
            return False


def _check_array(name: str, rule: dict, entry: dict, dims: dict, read) -> None:
    actual = list(entry["shape"])
    expected = [_bind(size, dims, actual, k) for k, size in enumerate(rule["shape"])]
    if entry["dtype"] != rule["dtype"] or actual != expected:
        raise RuleError(_message("shape", array=name, dtype=entry["dtype"], shape=shape_text(actual),
                                 expected_dtype=rule["dtype"], expected_shape=shape_text(expected)))  # fmt: skip
    values = read(name)
    if rule["dtype"] == "float32" and not np.isfinite(values).all():
        raise RuleError(_message("finite", array=name))
    if "indexes" in rule and values.size:
        count = dims[rule["indexes"]]
        if values.min() < 0 or values.max() >= count:
            raise RuleError(_message("index", array=name, count=count, dimension=rule["indexes"]))


def _bind(size, dims: dict, actual: list, k: int) -> int | None:
    if isinstance(size, int):
        return size
    if dims[size] is None and len(actual) > k:
        dims[size] = actual[k]
    return dims[size]


def shape_text(shape: list) -> str:
    """(a, b) and (a,), as both readers print shapes."""
    inner = ", ".join("*" if s is None else str(s) for s in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def _walk(manifest: dict, path: list):
    node = manifest
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _message(kind: str, **fields) -> str:
    return RULES["messages"][kind].format(**fields)


def c_header() -> str:
    """bundle_rules.json as a C++ raw string, for the native reader."""
    return (
        "// Made from runtime/stylemm_runtime/bundle_rules.json by `python -m stylemm_runtime.bundle_rules`;\n"
        "// do not edit (a test checks that the two agree).\n"
        f'R"stylemm_rules({RULES_FILE.read_text()})stylemm_rules"\n'
    )


if __name__ == "__main__":
    HEADER.write_text(c_header())
    print(f"wrote {HEADER}", file=sys.stderr)
