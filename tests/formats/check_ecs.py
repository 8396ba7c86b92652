#!/usr/bin/env python3
"""Checks ECS events against Elastic's published field list, independently of the encoder.

Usage: check_ecs.py FILE...      each FILE holds one encoded event per line
       check_ecs.py --self-test  proves that broken events are refused

The field list is $OAF_FORMAT_TOOLS/ecs_flat.json (default
~/.cache/own-audit-forwarder/format-tools), written by scripts/install-format-tools.sh
from the @elastic/ecs package. Each event is flattened into dotted leaf paths. Every path
must be an ECS field, lie inside an ECS field of type object or flattened, or lie under
the custom roots `own.` and `labels.`. Values must have the field's type, arrays appear
only where ECS normalizes the field to an array, the categorization fields take only
their allowed values, and each event.type must be one that an event.category expects.
Prints each problem as FILE:LINE: message and exits 1, or prints "N events ok".
"""

import datetime
import ipaddress
import json
import os
import re
import sys

from checkers import check_files, json_lines

CUSTOM_ROOTS = ("own",)
REQUIRED = ("@timestamp", "ecs.version", "event.kind")
STRING_TYPES = {"keyword", "constant_keyword", "wildcard", "match_only_text", "text"}
RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
)


def tools_dir():
    default = os.path.join(os.path.expanduser("~"), ".cache/own-audit-forwarder/format-tools")
    return os.environ.get("OAF_FORMAT_TOOLS", default)


def load_ecs():
    with open(os.path.join(tools_dir(), "ecs_flat.json"), encoding="utf-8") as file:
        return json.load(file)


def leaves(value, path=""):
    """Yields (dotted path, value) for each leaf; a list of scalars is one leaf."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from leaves(inner, f"{path}.{key}" if path else key)
    elif isinstance(value, list) and any(isinstance(item, dict) for item in value):
        for item in value:
            yield from leaves(item, path)
    else:
        yield path, value


def type_problem(ecs_type, value):
    """Why `value` cannot be a value of an ECS field of `ecs_type`, or None."""
    if ecs_type in STRING_TYPES:
        ok = isinstance(value, str)
    elif ecs_type == "long":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif ecs_type in ("float", "scaled_float", "double", "half_float"):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif ecs_type == "boolean":
        ok = isinstance(value, bool)
    elif ecs_type == "ip":
        ok = isinstance(value, str) and is_ip(value)
    elif ecs_type == "date":
        ok = isinstance(value, str) and is_rfc3339(value)
    elif ecs_type in ("object", "flattened", "nested"):
        ok = isinstance(value, dict)
    else:
        ok = True
    return None if ok else f"{json.dumps(value)} is not a valid {ecs_type}"


def is_ip(text):
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def is_rfc3339(text):
    if not RFC3339.match(text):
        return False
    try:
        datetime.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        return True
    except ValueError:
        return False


def container_of(path, fields):
    """The ECS object or flattened field that `path` lies inside, if any."""
    parts = path.split(".")
    for end in range(len(parts) - 1, 0, -1):
        field = fields.get(".".join(parts[:end]))
        if field and field["type"] in ("object", "flattened"):
            return field
    return None


def check_leaf(path, value, ecs):
    fields = ecs["fields"]
    root = path.split(".", 1)[0]
    if root in CUSTOM_ROOTS:
        return []
    if root == "labels":
        if path.count(".") != 1:
            return [f"{path}: labels hold flat keys only"]
        if not isinstance(value, str):
            return [f"{path}: a label must be a string, not {json.dumps(value)}"]
        return []
    field = fields.get(path)
    if field is None:
        container = container_of(path, fields)
        if container is None:
            return [f"{path}: not an ECS {ecs['version']} field"]
        inner = container.get("object_type")
        values = value if isinstance(value, list) else [value]
        problems = [type_problem(inner, item) for item in values] if inner else []
        return [f"{path}: {p}" for p in problems if p]
    if isinstance(value, list):
        if "array" not in field.get("normalize", []):
            return [f"{path}: ECS does not expect an array here"]
        values = value
    else:
        values = [value]
    problems = [type_problem(field["type"], item) for item in values]
    allowed = field.get("allowed_values")
    if allowed:
        names = {entry["name"] for entry in allowed}
        problems += [
            f"{json.dumps(item)} is not an allowed value"
            for item in values
            if isinstance(item, str) and item not in names
        ]
    return [f"{path}: {p}" for p in problems if p]


def check_categorization(flat, fields):
    categories = flat.get("event.category", [])
    types = flat.get("event.type", [])
    categories = categories if isinstance(categories, list) else [categories]
    types = types if isinstance(types, list) else [types]
    expected = {
        entry["name"]: set(entry.get("expected_event_types") or [])
        for entry in fields["event.category"]["allowed_values"]
    }
    problems = []
    for kind in types:
        if categories and not any(kind in expected.get(c, ()) for c in categories):
            problems.append(f"event.type: {kind!r} is not expected with {categories}")
    return problems


def check_event(event, ecs):
    if not isinstance(event, dict):
        return ["the event is not a JSON object"]
    fields = ecs["fields"]
    flat = {}
    problems = []
    for path, value in leaves(event):
        if path in flat:
            problems.append(f"{path}: appears twice")
        flat[path] = value
        problems += check_leaf(path, value, ecs)
    problems += [f"{name}: missing" for name in REQUIRED if name not in flat]
    if flat.get("ecs.version") not in (None, ecs["version"]):
        problems.append(f"ecs.version: {flat['ecs.version']!r} is not {ecs['version']}")
    if "event.type" in flat and "event.category" not in flat:
        problems.append("event.type: given without event.category")
    return problems + check_categorization(flat, fields)


GOOD = {
    "@timestamp": "2019-08-24T14:15:22.000Z",
    "ecs": {"version": "8.11.0"},
    "event": {
        "kind": "event",
        "category": ["authentication"],
        "type": ["start"],
        "outcome": "success",
        "severity": 1,
    },
    "user": {"email": "jane@example.com", "id": "1"},
    "source": {"ip": "2001:db8::1"},
    "labels": {"own_region": "app1"},
    "own": {"fields": {"event.kind": {"x": [1]}}},
}

BROKEN = {
    "an unknown field": lambda e: e["user"].update(emial="x"),
    "a field outside ECS at the root": lambda e: e.update(owner={"x": 1}),
    "a kind not allowed": lambda e: e["event"].update(kind="happening"),
    "a category not allowed": lambda e: e["event"].update(category=["backup"]),
    "a type the category does not expect": lambda e: e["event"].update(type=["creation"]),
    "an outcome not allowed": lambda e: e["event"].update(outcome="ok"),
    "a string for a long": lambda e: e["event"].update(severity="1"),
    "a number for a keyword": lambda e: e["user"].update(id=1),
    "an address that is not one": lambda e: e["source"].update(ip="1.2.3"),
    "a date that is not RFC 3339": lambda e: e.update({"@timestamp": "yesterday"}),
    "an array where ECS expects one value": lambda e: e["user"].update(email=["a", "b"]),
    "a nested label": lambda e: e["labels"].update(x={"y": "z"}),
    "a label that is not a string": lambda e: e["labels"].update(x=1),
    "a missing @timestamp": lambda e: e.pop("@timestamp"),
    "another ECS version": lambda e: e["ecs"].update(version="1.0.0"),
}


def self_test(ecs):
    failures = []
    if check_event(GOOD, ecs):
        failures.append(f"a good event was refused: {check_event(GOOD, ecs)}")
    for name, breaking in BROKEN.items():
        event = json.loads(json.dumps(GOOD))
        breaking(event)
        if not check_event(event, ecs):
            failures.append(f"accepted {name}")
    if check_event([], ecs) == []:
        failures.append("accepted a JSON array")
    for failure in failures:
        print(f"self-test: {failure}")
    if failures:
        return 1
    print(f"self-test ok: {len(BROKEN) + 1} broken events refused")
    return 0


def main(args):
    ecs = load_ecs()
    if args == ["--self-test"]:
        return self_test(ecs)
    if not args or any(arg.startswith("-") for arg in args):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    return check_files(args, json_lines(lambda event: check_event(event, ecs)))

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
