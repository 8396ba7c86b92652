#!/usr/bin/env python3
"""Checks LEEF 2.0 lines written by the forwarder's `leef` encoder, without its Rust code.

Usage: check_leef.py [--delimiter X] FILE...   one encoded event per line
       check_leef.py --self-test               proves the checks reject broken lines

Each line is split as QRadar splits it: the header on unescaped `|` (vendor, product,
version, event id), then the delimiter field (one character, or its code in hex as x09
or 0x09), then the attributes on that delimiter, each at its first `=`, with nothing
unescaped. The line must hold the attributes the forwarder documents and no other:
an attribute forged by a value shows up as an unknown or repeated key. Values must hold
no control character, and must undo the forwarder's escapes (\\\\, \\n, \\r, \\t, \\xHH) into
UTF-8. devTime must parse with the Java SimpleDateFormat pattern in devTimeFormat.

--delimiter X (a character or hex) also requires every line's delimiter to be X.

Prints each problem as FILE:LINE: message and exits 1; else prints "N events ok".
"""

import datetime
import ipaddress
import json
import re
import sys

from checkers import check_files, is_control

VENDOR = "Own"
PRODUCT = "Own Audit Log"
KNOWN = {
    "devTime", "devTimeFormat", "cat", "sev", "eventId", "ownKey", "outcome", "usrName",
    "userId", "src", "ipAddress", "channel", "serviceId", "parameters", "sourceName",
    "region", "forwarderHost", "createdAtInvalid", "otherFields",
}
REQUIRED = [
    "devTime", "devTimeFormat", "cat", "sev", "eventId", "outcome", "sourceName", "region",
    "forwarderHost",
]
CATEGORIES = {
    "logon", "logoff", "account_create", "account_change", "config_change", "create",
    "read", "update", "delete", "other",
}
OUTCOMES = {"success", "failure", "unknown"}
KEY = re.compile(r"[A-Za-z0-9]+")
HEX = re.compile(r"(?:0x|x)([0-9A-Fa-f]{1,4})")
MAX_EVENT_ID = 255

# SimpleDateFormat letters this checker reads, as regular expressions.
DATE_PARTS = {
    "yyyy": r"(?P<year>\d{4})",
    "MM": r"(?P<month>\d{2})",
    "dd": r"(?P<day>\d{2})",
    "HH": r"(?P<hour>\d{2})",
    "mm": r"(?P<minute>\d{2})",
    "ss": r"(?P<second>\d{2})",
    "SSS": r"(?P<milli>\d{3})",
    "X": r"(?P<zone>Z|[+-]\d{2}(?::?\d{2})?)",
}


class Broken(Exception):
    """A line that cannot be read at all."""


def read_delimiter(field):
    """The character a delimiter field names."""
    match = HEX.fullmatch(field)
    if match:
        return chr(int(match.group(1), 16))
    if len(field) == 1:
        return field
    raise Broken(f"delimiter field {field!r} is neither one character nor hex")


def split_line(line):
    """The 4 header fields (unescaped), the delimiter field, and the attribute text."""
    if not line.startswith("LEEF:2.0|"):
        raise Broken("does not start with LEEF:2.0|")
    fields, text = [], []
    i = len("LEEF:2.0|")
    while len(fields) < 4:
        if i >= len(line):
            raise Broken(f"the header has {len(fields)} of 4 fields and a delimiter")
        c = line[i]
        if c == "\\":
            nxt = line[i + 1 : i + 2]
            if nxt not in ("\\", "|"):
                raise Broken(f"header escape \\{nxt} is not \\\\ or \\|")
            text.append(nxt)
            i += 2
            continue
        if c == "|":
            fields.append("".join(text))
            text = []
        else:
            text.append(c)
        i += 1
    end = line.find("|", i)
    if end < 0:
        raise Broken("no | ends the delimiter field")
    return fields, line[i:end], line[end + 1 :]


def unescape(raw):
    """A value with the forwarder's escapes undone."""
    out = bytearray()
    i = 0
    simple = {"\\": b"\\", "n": b"\n", "r": b"\r", "t": b"\t"}
    while i < len(raw):
        c = raw[i]
        if c != "\\":
            out += c.encode("utf-8")
            i += 1
            continue
        nxt = raw[i + 1 : i + 2]
        if nxt in simple:
            out += simple[nxt]
            i += 2
        elif nxt == "x" and re.fullmatch(r"[0-9A-F]{2}", raw[i + 2 : i + 4]):
            out.append(int(raw[i + 2 : i + 4], 16))
            i += 4
        else:
            raise ValueError(f"unknown escape \\{raw[i + 1 : i + 4]}")
    return out.decode("utf-8")


def date_pattern(pattern):
    """A regular expression for a SimpleDateFormat pattern, or ValueError."""
    out = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "'":
            end = pattern.find("'", i + 1)
            if end < 0:
                raise ValueError("an unclosed quote")
            out.append(re.escape(pattern[i + 1 : end]) if end > i + 1 else "'")
            i = end + 1
            continue
        for part, regex in DATE_PARTS.items():
            if pattern.startswith(part, i):
                out.append(regex)
                i += len(part)
                break
        else:
            if pattern[i].isalpha():
                raise ValueError(f"pattern letter {pattern[i]!r} is not one this checker reads")
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def check_time(value, pattern):
    try:
        match = date_pattern(pattern).fullmatch(value)
    except ValueError as e:
        return [f"devTimeFormat {pattern!r}: {e}"]
    if not match:
        return [f"devTime {value!r} does not match devTimeFormat {pattern!r}"]
    parts = match.groupdict()
    if not all(parts.get(k) for k in ("year", "month", "day", "hour", "minute", "second")):
        return [f"devTimeFormat {pattern!r} does not give a whole date and time"]
    if parts.get("zone") is None:
        return [f"devTimeFormat {pattern!r} has no time zone"]
    try:
        datetime.datetime(
            int(parts["year"]), int(parts["month"]), int(parts["day"]), int(parts["hour"]),
            int(parts["minute"]), int(parts["second"]), int(parts.get("milli") or 0) * 1000,
        )
    except ValueError as e:
        return [f"devTime {value!r} is not a real time: {e}"]
    return []


def check_line(line, want_delimiter=None):
    """Every problem of one line."""
    if "\r" in line:
        return ["holds a raw carriage return"]
    try:
        header, delimiter_field, rest = split_line(line)
        delimiter = read_delimiter(delimiter_field)
    except Broken as e:
        return [str(e)]
    problems = check_header(header, delimiter, want_delimiter)
    values = {}
    for attr in rest.split(delimiter):
        key, equals, raw = attr.partition("=")
        if not equals:
            problems.append(f"attribute {attr!r} has no =")
            continue
        if not KEY.fullmatch(key):
            problems.append(f"attribute key {key!r} is not alphanumeric")
        elif key not in KNOWN:
            problems.append(f"unexpected attribute {key!r}")
        if key in values:
            problems.append(f"{key} appears twice")
        if not raw:
            problems.append(f"{key} is empty")
        if any(is_control(c) for c in raw):
            problems.append(f"{key} holds a raw control character")
        try:
            values[key] = unescape(raw)
        except (ValueError, UnicodeDecodeError) as e:
            problems.append(f"{key}: {e}")
            values[key] = raw
    return problems + check_values(values, header)


def check_header(header, delimiter, want_delimiter):
    problems = []
    vendor, product, version, event_id = header
    if vendor != VENDOR or product != PRODUCT:
        problems.append(f"vendor and product are {vendor!r}, {product!r}")
    for name, text in [("version", version), ("event id", event_id)]:
        if not text:
            problems.append(f"the {name} is empty")
        if any(is_control(c) for c in text):
            problems.append(f"the {name} holds a control character")
    if len(event_id) > MAX_EVENT_ID:
        problems.append(f"the event id is {len(event_id)} characters, over {MAX_EVENT_ID}")
    if delimiter.isalnum() or delimiter in "=|\\\r\n-:.'_":
        problems.append(f"delimiter {delimiter!r} cannot separate attributes")
    if want_delimiter is not None and delimiter != want_delimiter:
        problems.append(f"the delimiter is {delimiter!r}, not {want_delimiter!r}")
    return problems


def check_values(values, header):
    problems = [f"{key} is missing" for key in REQUIRED if key not in values]
    if "devTime" in values and "devTimeFormat" in values:
        problems += check_time(values["devTime"], values["devTimeFormat"])
    sev = values.get("sev", "1")
    if not (sev.isdigit() and 1 <= int(sev) <= 10):
        problems.append(f"sev {sev!r} is not 1 to 10")
    if not values.get("eventId", "0").isdigit():
        problems.append(f"eventId {values['eventId']!r} is not an integer")
    if values.get("cat", "other") not in CATEGORIES:
        problems.append(f"cat {values['cat']!r} is not a known category")
    if values.get("outcome", "unknown") not in OUTCOMES:
        problems.append(f"outcome {values['outcome']!r} is not a known outcome")
    if values.get("createdAtInvalid", "true") != "true":
        problems.append(f"createdAtInvalid is {values['createdAtInvalid']!r}")
    if "src" in values:
        try:
            ipaddress.ip_address(values["src"])
        except ValueError:
            problems.append(f"src {values['src']!r} is not an IP address")
    for key, kind in [("parameters", object), ("otherFields", dict)]:
        if key in values:
            try:
                if not isinstance(json.loads(values[key]), kind):
                    problems.append(f"{key} is not a JSON object")
            except ValueError:
                problems.append(f"{key} is not JSON")
    return problems + check_key(values, header[3])


def check_key(values, event_id):
    """The header's event id is the key; when it is not the key verbatim, ownKey is."""
    if "ownKey" not in values:
        return []
    key = values["ownKey"]
    expected = "".join(" " if is_control(c) else c for c in key)[:MAX_EVENT_ID]
    if event_id != expected:
        return [f"the event id {event_id!r} is not ownKey {key!r}"]
    if expected == key and "|" not in key and "\\" not in key:
        return ["ownKey is given though the event id holds the key verbatim"]
    return []


GOOD = (
    "LEEF:2.0|Own|Own Audit Log|1.0|user.login \\| x|^|devTime=2019-08-24T14:15:22.000Z"
    "^devTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSX^cat=logon^sev=1^eventId=42"
    "^ownKey=user.login | x^outcome=success^usrName=a=b\\x5Ec\\tx^sourceName=prod"
    "^region=app1^forwarderHost=h^otherFields={\"k\":\"\\\\n\"}"
)
BROKEN = {
    "a forged attribute": GOOD.replace("a=b\\x5Ec", "a=b^sev=10"),
    "an unknown attribute": GOOD + "^usrname=root",
    "a raw tab in a value": GOOD.replace("\\tx", "\tx"),
    "an unknown escape": GOOD.replace("\\tx", "\\qx"),
    "a bad hex escape": GOOD.replace("\\x5E", "\\x5"),
    "escapes that are not UTF-8": GOOD.replace("\\x5E", "\\xC3"),
    "a devTime that does not match": GOOD.replace("22.000Z", "22Z"),
    "a devTime that is not a time": GOOD.replace("08-24T14", "02-30T14"),
    "an unreadable devTimeFormat": GOOD.replace("SSSX", "SSSQ"),
    "a missing devTime": GOOD.replace("devTime=2019-08-24T14:15:22.000Z^", ""),
    "sev out of range": GOOD.replace("sev=1", "sev=11"),
    "an unescaped | in the header": GOOD.replace("login \\| x", "login | x"),
    "a bad delimiter field": GOOD.replace("|^|", "|xyz|"),
    "a delimiter found in typed values": GOOD.replace("|^|", "|x2D|").replace("^", "-"),
    "an empty attribute": GOOD.replace("^cat=", "^^cat="),
    "a raw carriage return": GOOD.replace("\\tx", "\rx"),
    "an event id that is not ownKey": GOOD.replace("ownKey=user.login", "ownKey=user.logout"),
    "a src that is not an address": GOOD + "^src=not an ip",
    "not LEEF": "CEF:0|Own|Own Audit Log|1.0|k|n|1|rt=1",
}


def self_test():
    failed = []
    for name, line in BROKEN.items():
        problems = check_line(line)
        print(f"self-test: {name}: {problems[0] if problems else 'NOT REJECTED'}")
        if not problems:
            failed.append(name)
    good = check_line(GOOD, "^")
    wrong_delimiter = check_line(GOOD, "\t")
    if good:
        print(f"self-test: the good line was rejected: {good}")
    if not wrong_delimiter:
        print("self-test: a line with another delimiter than --delimiter was not rejected")
    if failed or good or not wrong_delimiter:
        return 1
    print(f"self-test ok: {len(BROKEN) + 1} broken lines rejected, the good line accepted")
    return 0


def main(argv):
    if argv == ["--self-test"]:
        return self_test()
    want = None
    if argv[:1] == ["--delimiter"] and len(argv) > 1:
        try:
            want = read_delimiter(argv[1])
        except Broken as e:
            print(e, file=sys.stderr)
            return 2
        argv = argv[2:]
    if not argv or any(a.startswith("-") for a in argv):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    return check_files(argv, lambda line: check_line(line, want))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
