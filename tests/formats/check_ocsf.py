#!/usr/bin/env python3
"""Checks OCSF events against the published OCSF schemas, independently of the encoder.

Usage: check_ocsf.py FILE...      each FILE holds one encoded event per line
       check_ocsf.py --self-test  proves that broken events are refused

Each event is validated, with a Draft 2020-12 validator, against the JSON schema that the
`ocsf-json-schema` package builds for its class (from class_uid), in the OCSF version it
declares (metadata.version) and with the profiles it declares (metadata.profiles). The
schema requires the class's required attributes, types every attribute, and refuses any
attribute the class and its objects do not define, outside `unmapped`. On top of the
schema: type_uid must be class_uid * 100 + activity_id, and the names that go with the
numbers (class_name, category_name, type_name, severity, status, and activity_name unless
the activity is 99, Other) must be the schema's captions. The schema files come with the
package in the virtualenv under $OAF_FORMAT_TOOLS (default
~/.cache/own-audit-forwarder/format-tools), which scripts/install-format-tools.sh installs.
Prints each problem as FILE:LINE: message and exits 1, or prints "N events ok".
"""

import json
import sys

import jsonschema
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema, get_packaged_versions

from checkers import check_files, json_lines

VERSIONS = get_packaged_versions()


def shorten(text, limit=300):
    """jsonschema quotes whole values and patterns; a long one would flood the output."""
    return text if len(text) <= limit else text[:limit] + "..."


def where(error):
    """The dotted path of the attribute a validation error is about."""
    return ".".join(str(part) for part in error.absolute_path) or "(event)"


class Checker:
    """Builds each schema once: per version, and per class and profiles."""

    def __init__(self):
        self.schemas = {}
        self.validators = {}

    def schema(self, version):
        if version not in self.schemas:
            raw = get_ocsf_schema(version=version)
            self.schemas[version] = (raw, OcsfJsonSchemaEmbedded(raw))
        return self.schemas[version]

    def validator(self, version, class_uid, profiles):
        key = (version, class_uid, tuple(sorted(profiles)))
        if key not in self.validators:
            _, embedded = self.schema(version)
            name = embedded.lookup_class_name_from_uid(class_uid)
            schema = embedded.get_class_schema(class_name=name, profiles=list(profiles))
            jsonschema.Draft202012Validator.check_schema(schema)
            self.validators[key] = (name, jsonschema.Draft202012Validator(schema))
        return self.validators[key]

    def check(self, event):
        if not isinstance(event, dict):
            return ["the event is not a JSON object"]
        metadata = event.get("metadata") if isinstance(event.get("metadata"), dict) else {}
        version = metadata.get("version")
        if version not in VERSIONS:
            return [f"metadata.version: {version!r} is not a packaged OCSF version"]
        profiles = metadata.get("profiles", [])
        if not isinstance(profiles, list) or not all(isinstance(p, str) for p in profiles):
            return ["metadata.profiles: not a list of strings"]
        class_uid = event.get("class_uid")
        try:
            name, validator = self.validator(version, class_uid, profiles)
        except (ValueError, TypeError) as error:
            return [f"class_uid {class_uid!r} with profiles {profiles}: {error}"]
        problems = [
            f"{where(error)}: {shorten(error.message)}" for error in validator.iter_errors(event)
        ]
        if problems:
            return problems
        return self.check_names(event, self.schema(version)[0]["classes"][name])

    @staticmethod
    def check_names(event, cls):
        attributes = cls["attributes"]
        problems = []
        if event["type_uid"] != event["class_uid"] * 100 + event["activity_id"]:
            problems.append("type_uid: not class_uid * 100 + activity_id")

        def caption(attribute, uid):
            return attributes[attribute].get("enum", {}).get(str(uid), {}).get("caption")

        expected = {
            "class_name": cls["caption"],
            "category_name": cls["category_name"],
            "type_name": caption("type_uid", event["type_uid"]),
            "severity": caption("severity_id", event["severity_id"]),
            "status": caption("status_id", event.get("status_id")),
        }
        if event["activity_id"] != 99:
            expected["activity_name"] = caption("activity_id", event["activity_id"])
        for attribute, want in expected.items():
            if attribute in event and event[attribute] != want:
                problems.append(f"{attribute}: {event[attribute]!r} is not {want!r}")
        return problems


GOOD = {
    "class_uid": 6003,
    "class_name": "API Activity",
    "category_uid": 6,
    "category_name": "Application Activity",
    "activity_id": 1,
    "activity_name": "Create",
    "type_uid": 600301,
    "type_name": "API Activity: Create",
    "severity_id": 1,
    "severity": "Informational",
    "status_id": 1,
    "status": "Success",
    "time": 1566656122000,
    "metadata": {
        "version": "1.3.0",
        "product": {"name": "Own", "vendor_name": "Own"},
        "profiles": ["cloud"],
    },
    "cloud": {"provider": "Own", "region": "app1"},
    "actor": {"user": {"name": "jane@example.com", "email_addr": "jane@example.com"}},
    "api": {"operation": "backup.started"},
    "src_endpoint": {"ip": "203.0.113.45"},
    "unmapped": {"anything": {"goes": [1, "x"]}},
}


def drop(*path):
    def breaking(event):
        for name in path[:-1]:
            event = event[name]
        del event[path[-1]]

    return breaking


def put(value, *path):
    def breaking(event):
        for name in path[:-1]:
            event = event[name]
        event[path[-1]] = value

    return breaking


BROKEN = {
    "a missing required attribute": drop("actor"),
    "a missing required object attribute": drop("api", "operation"),
    "a missing vendor name": drop("metadata", "product", "vendor_name"),
    "a cloud object without the cloud profile": drop("metadata", "profiles"),
    "an actor with nothing in it": put({}, "actor"),
    "a user with neither name nor uid": put({"email_addr": "a@b.co"}, "actor", "user"),
    "a time that is a string": put("soon", "time"),
    "a uid that is a number": put(7, "actor", "user", "uid"),
    "an address that is not one": put("1.2.3", "src_endpoint", "ip"),
    "an email that is not one": put("not an email", "actor", "user", "email_addr"),
    "an unknown attribute": put("x", "own_field"),
    "an unknown object attribute": put("x", "api", "verb"),
    "an activity the class lacks": put(7, "activity_id"),
    "a type_uid of another activity": put(600302, "type_uid"),
    "a type_name of another activity": put("API Activity: Read", "type_name"),
    "a wrong class_name": put("Authentication", "class_name"),
    "a wrong status name": put("Failure", "status"),
    "a string over the length limit": put("k" * 65536, "api", "operation"),
    "an unknown class": put(1, "class_uid"),
    "an unpackaged version": put("0.9", "metadata", "version"),
}


def self_test(checker):
    failures = []
    if checker.check(GOOD):
        failures.append(f"a good event was refused: {checker.check(GOOD)}")
    for name, breaking in BROKEN.items():
        event = json.loads(json.dumps(GOOD))
        breaking(event)
        if not checker.check(event):
            failures.append(f"accepted {name}")
    authentication = {"class_uid": 3002, "time": "soon", "metadata": GOOD["metadata"]}
    if not checker.check(authentication):
        failures.append("accepted an Authentication event missing its attributes")
    for failure in failures:
        print(f"self-test: {failure}")
    if failures:
        return 1
    print(f"self-test ok: {len(BROKEN) + 1} broken events refused")
    return 0


def main(args):
    checker = Checker()
    if args == ["--self-test"]:
        return self_test(checker)
    if not args or any(arg.startswith("-") for arg in args):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    return check_files(args, json_lines(checker.check))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
