#!/usr/bin/env python3
"""Checks CEF lines written by the forwarder's `cef` encoder, without its Rust code.

Usage: check_cef.py FILE...      one encoded event per line
       check_cef.py --self-test  proves the checks reject broken lines

Each line is read twice: by pycef (an independent CEF parser) and by a strict reading
of the ArcSight rules written here (header fields split on unescaped `|`, extension keys
before unescaped `=`). The two readings must agree, and the line must hold the fields
the forwarder documents, with no other key: a key forged by a value shows up as an
unknown key, a missing label, or a disagreement.

pycef cannot read a header field that holds `\\` or `=` (its header pattern stops at
either, and the CEF rules allow both in the header), so for such a line pycef is given
a neutral header with the line's own extension, and the header is checked by the strict
reading alone.

Prints each problem as FILE:LINE: message and exits 1; else prints "N events ok".
Run with the format tools' Python: $OAF_FORMAT_TOOLS/venv/bin/python (default folder
~/.cache/own-audit-forwarder/format-tools), where scripts/install-format-tools.sh
installs pycef.
"""

import ipaddress
import json
import re
import sys

import pycef

from checkers import check_files, is_control

VENDOR = "Own"
PRODUCT = "Own Audit Log"
LABELS = {
    "cs1": "channel",
    "cs2": "serviceId",
    "cs3": "parameters",
    "cs4": "region",
    "cs5": "ipAddress",
    "cs6": "otherFields",
    "c6a2": "Source IPv6 Address",
}
PLAIN_KEYS = {
    "rt", "externalId", "act", "cat", "outcome", "suser", "suid", "src", "dvchost",
    "deviceExternalId", "msg",
}
KNOWN_KEYS = PLAIN_KEYS | set(LABELS) | {key + "Label" for key in LABELS}
REQUIRED = ["rt", "externalId", "cat", "outcome", "dvchost", "deviceExternalId"]
CATEGORIES = {
    "logon", "logoff", "account_create", "account_change", "config_change", "create",
    "read", "update", "delete", "other",
}
OUTCOMES = {"success", "failure", "unknown"}
PYCEF_HEADER_KEYS = {
    "CEFVersion", "DeviceVendor", "DeviceProduct", "DeviceVersion", "DeviceEventClassID",
    "Name", "DeviceName", "Severity", "DeviceSeverity",
}
EXTENSION_ESCAPES = {"\\": "\\", "=": "=", "n": "\n", "r": "\r"}
KEY = re.compile(r"[A-Za-z0-9]+")


class Broken(Exception):
    """A line that cannot be read at all."""


def split_header(line):
    """The 7 header fields, raw and unescaped, and the raw extension."""
    if not line.startswith("CEF:0|"):
        raise Broken("does not start with CEF:0|")
    raw, text, fields = [], [], []
    i = 0
    while len(fields) < 7:
        if i >= len(line):
            raise Broken(f"the header has {len(fields)} of 7 fields")
        c = line[i]
        if c == "\\":
            nxt = line[i + 1 : i + 2]
            if nxt not in ("\\", "|"):
                raise Broken(f"header escape \\{nxt} is not \\\\ or \\|")
            raw.append(c + nxt)
            text.append(nxt)
            i += 2
            continue
        if c == "|":
            fields.append(("".join(raw), "".join(text)))
            raw, text = [], []
        else:
            raw.append(c)
            text.append(c)
        i += 1
    return fields, line[i:]


def split_extension(ext):
    """The extension's (key, raw value) pairs: each key is the word before an unescaped
    `=`, and its value runs to the space before the next key."""
    equals = []
    i = 0
    while i < len(ext):
        if ext[i] == "\\":
            i += 2
            continue
        if ext[i] == "=":
            equals.append(i)
        i += 1
    pairs = []
    value_start = None
    previous_key = None
    for at in equals:
        key_start = at
        while key_start > (value_start or 0) and not ext[key_start - 1].isspace():
            key_start -= 1
        key = ext[key_start:at]
        if not key:
            raise Broken("an unescaped = has no key before it")
        if previous_key is None:
            if ext[:key_start].strip():
                raise Broken(f"text before the first key: {ext[:key_start]!r}")
        else:
            if key_start == value_start or ext[key_start - 1] != " ":
                raise Broken(f"the value of {previous_key} holds an unescaped =")
            pairs.append((previous_key, ext[value_start : key_start - 1]))
        previous_key, value_start = key, at + 1
    if previous_key is not None:
        pairs.append((previous_key, ext[value_start:]))
    elif ext:
        raise Broken("the extension has no key=value pair")
    return pairs


def unescape(raw):
    out = []
    i = 0
    while i < len(raw):
        c = raw[i]
        if c == "\\":
            nxt = raw[i + 1 : i + 2]
            if nxt not in EXTENSION_ESCAPES:
                raise ValueError(f"unknown escape \\{nxt}")
            out.append(EXTENSION_ESCAPES[nxt])
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def pycef_reading(line, header_is_plain, header_fields, ext):
    """What pycef makes of the line, or a problem."""
    if header_is_plain:
        parsed = pycef.parse(line)
    else:
        parsed = pycef.parse("CEF:0|v|p|1|s|n|1|" + ext)
    if not parsed:
        raise Broken("pycef cannot parse the line")
    if header_is_plain:
        names = ["DeviceVendor", "DeviceProduct", "DeviceVersion", "DeviceEventClassID",
                 "Name", "Severity"]
        for name, (raw, _) in zip(names, header_fields[1:]):
            if parsed.get(name) != raw:
                raise Broken(f"pycef reads {name} as {parsed.get(name)!r}, not {raw!r}")
    return {k: v for k, v in parsed.items() if k not in PYCEF_HEADER_KEYS}


def as_pycef_would(pairs):
    """The pairs with each csN/csNLabel pair folded into label=value, as pycef does."""
    values = dict(pairs)
    for key in [k for k in values if k.endswith("Label")]:
        base = key[: -len("Label")]
        if base in values:
            values[values[key]] = values.pop(base)
            del values[key]
    return values


def check_line(line):
    """Every problem of one line."""
    if "\r" in line:
        return ["holds a raw carriage return"]
    try:
        header, ext = split_header(line)
        pairs = split_extension(ext)
        header_is_plain = not any("\\" in raw or "=" in raw for raw, _ in header)
        theirs = pycef_reading(line, header_is_plain, header, ext)
    except Broken as e:
        return [str(e)]
    except Exception as e:  # pycef raising is itself a finding
        return [f"pycef fails: {e!r}"]

    problems = []
    ours = as_pycef_would(pairs)
    if ours != theirs:
        differ = sorted(set(ours.items()) ^ set(theirs.items()))
        problems.append(f"pycef reads the extension differently: {differ[:4]}")

    problems += check_header([text for _, text in header])
    values = {}
    for key, raw in pairs:
        if not KEY.fullmatch(key):
            problems.append(f"extension key {key!r} is not alphanumeric")
        elif key not in KNOWN_KEYS:
            problems.append(f"unexpected extension key {key!r}")
        if key in values:
            problems.append(f"{key} appears twice")
        try:
            values[key] = unescape(raw)
        except ValueError as e:
            problems.append(f"{key}: {e}")
            values[key] = raw
        if raw == "":
            problems.append(f"{key} is empty")
    problems += check_values(values, [text for _, text in header])
    return problems


def check_header(header):
    problems = []
    _, vendor, product, version, signature, name, severity = header
    if vendor != VENDOR or product != PRODUCT:
        problems.append(f"vendor and product are {vendor!r}, {product!r}")
    for field, text in [("version", version), ("signature id", signature), ("name", name)]:
        if not text:
            problems.append(f"the {field} is empty")
        if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text):
            problems.append(f"the {field} holds a control character")
    if not (severity.isdigit() and 0 <= int(severity) <= 10):
        problems.append(f"severity {severity!r} is not 0 to 10")
    return problems


def check_values(values, header):
    problems = []
    for key in REQUIRED:
        if key not in values:
            problems.append(f"{key} is missing")
    rt = values.get("rt", "100000000000")
    if not re.fullmatch(r"-?\d+", rt) or abs(int(rt)) < 10**11:
        problems.append(f"rt {rt!r} is not a time in milliseconds")
    if not re.fullmatch(r"\d+", values.get("externalId", "0")):
        problems.append(f"externalId {values['externalId']!r} is not an integer")
    if values.get("cat", "other") not in CATEGORIES:
        problems.append(f"cat {values['cat']!r} is not a known category")
    if values.get("outcome", "unknown") not in OUTCOMES:
        problems.append(f"outcome {values['outcome']!r} is not a known outcome")
    problems += check_addresses(values)
    for key, label in LABELS.items():
        if (key in values) != (key + "Label" in values):
            problems.append(f"{key} and {key}Label do not come together")
        elif key in values and values[key + "Label"] != label:
            problems.append(f"{key}Label is {values[key + 'Label']!r}, not {label!r}")
    for key, kind in [("cs3", (dict, list, str, int, float, bool)), ("cs6", dict)]:
        if key in values:
            try:
                if not isinstance(json.loads(values[key]), kind):
                    problems.append(f"{key} is not a JSON object")
            except ValueError:
                problems.append(f"{key} is not JSON")
    signature = header[4]
    if "act" in values:
        expected = "".join(" " if is_control(c) else c for c in values["act"])
        if signature != expected:
            problems.append(f"the signature id {signature!r} is not act {values['act']!r}")
    elif signature != "unknown":
        problems.append(f"no act, but the signature id is {signature!r}")
    return problems


def check_addresses(values):
    problems = []
    for key, kind in [("src", ipaddress.IPv4Address), ("c6a2", ipaddress.IPv6Address)]:
        if key in values:
            try:
                kind(values[key])
            except ValueError:
                problems.append(f"{key} {values[key]!r} is not an {kind.__name__}")
    return problems


GOOD = (
    "CEF:0|Own|Own Audit Log|1.0|user.login \\| x\\\\y|User logged in|1|rt=1566656122000 "
    "externalId=42 act=user.login | x\\\\y cat=logon outcome=success suser=a\\=b c "
    "dvchost=h deviceExternalId=prod cs1Label=channel cs1=web app\\nx"
)
BROKEN = {
    "a forged key": GOOD + " suser=root foo=bar",
    "an unlabelled custom string": GOOD.replace("cs1Label=channel ", ""),
    "a wrong label": GOOD.replace("cs1Label=channel", "cs1Label=region"),
    "a value's unescaped =": GOOD.replace("suser=a\\=b c", "suser=a=b c"),
    "an unescaped | in the header": GOOD.replace("user.login \\| x", "user.login | x"),
    "a six-field header": "CEF:0|Own|Own Audit Log|1.0|k|1|rt=1566656122000",
    "rt in seconds": GOOD.replace("rt=1566656122000", "rt=1566656122"),
    "a missing externalId": GOOD.replace("externalId=42 ", ""),
    "an IPv6 src": GOOD + " src=2001:db8::1",
    "an unknown escape": GOOD.replace("web app\\nx", "web app\\tx"),
    "a duplicate key": GOOD + " cat=logon",
    "a raw carriage return": GOOD.replace("\\nx", "\rx"),
    "a signature id that is not act": GOOD.replace("act=user.login", "act=user.logout"),
    "not CEF": "LEEF:2.0|Own|Own Audit Log|1.0|k|^|a=b",
}


def self_test():
    failed = []
    for name, line in BROKEN.items():
        problems = check_line(line)
        print(f"self-test: {name}: {problems[0] if problems else 'NOT REJECTED'}")
        if not problems:
            failed.append(name)
    good = check_line(GOOD)
    for name in failed:
        print(f"self-test: {name} was not rejected: {BROKEN[name]}")
    if good:
        print(f"self-test: the good line was rejected: {good}")
    if failed or good:
        return 1
    print(f"self-test ok: {len(BROKEN)} broken lines rejected, the good line accepted")
    return 0


def main(argv):
    if argv == ["--self-test"]:
        return self_test()
    if not argv or any(a.startswith("-") for a in argv):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    return check_files(argv, check_line)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
