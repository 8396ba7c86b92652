"""What the format checkers share: reading files of one encoded event per line, and
reporting problems as FILE:LINE: message with a count at the end."""

import json


def is_control(c):
    """C0 and C1 control characters, and DEL."""
    return ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F


def json_lines(check_event):
    """A line checker for a JSON format: the line must parse, then `check_event` judges
    the value."""

    def check_line(line):
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            return [f"not JSON: {error}"]
        return check_event(value)

    return check_line


def check_files(paths, check_line):
    """Checks every line of every file (split on LF only, as a receiver splits them);
    prints each problem and the count. Returns the exit code: 0 when all are good."""
    total, problems = 0, []
    for path in paths:
        with open(path, "rb") as f:
            lines = f.read().split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        total += len(lines)
        for number, raw in enumerate(lines, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                problems.append(f"{path}:{number}: not UTF-8: {e}")
                continue
            problems += [f"{path}:{number}: {p}" for p in check_line(line)]
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print(f"{total} events ok")
    return 0
