"""Runs a command under the system call filter the systemd unit asks for.

    seccomp_run.py UNIT -- COMMAND [ARG...]

There is no systemd to start the unit here, so this rebuilds the seccomp parts of its
sandbox with libseccomp (Debian's python3-seccomp) from the unit's own settings, then
execs COMMAND under them:

- SystemCallFilter= lines: the allow list, groups expanded by
  `systemd-analyze syscall-filter`, minus the ~ lines; other calls fail with
  SystemCallErrorNumber=.
- RestrictAddressFamilies=: socket() for other families fails with EAFNOSUPPORT.
- MemoryDenyWriteExecute=yes: mappings both writable and executable, and mprotect()
  adding execute permission, fail with EPERM.

So a daemon that needs a call or a socket family the unit forbids fails here, in the
test, rather than in production. Namespaces, mounts and capabilities are not
reproduced.
"""

import errno
import os
import socket
import subprocess
import sys

import seccomp

PROT_WRITE, PROT_EXEC = 0x2, 0x4
FAMILIES = {"AF_UNIX": socket.AF_UNIX, "AF_INET": socket.AF_INET, "AF_INET6": socket.AF_INET6,
            "AF_NETLINK": 16, "AF_PACKET": 17}


def unit_settings(path):
    settings = {}
    for line in open(path):
        line = line.strip()
        if line and not line.startswith("#") and "=" in line and not line.startswith("["):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


def expand(names, seen=None):
    """System call names of a list of names and @groups."""
    seen = set() if seen is None else seen
    calls = set()
    for name in names:
        if not name.startswith("@"):
            calls.add(name)
            continue
        if name in seen:
            continue
        seen.add(name)
        listing = subprocess.run(["systemd-analyze", "syscall-filter", name], check=True,
                                 capture_output=True, text=True).stdout
        members = [w.strip() for w in listing.splitlines()[1:]
                   if w.strip() and not w.strip().startswith("#")]
        calls |= expand(members, seen)
    return calls


def main(argv):
    if len(argv) < 4 or argv[2] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    settings = unit_settings(argv[1])
    allowed, denied = set(), set()
    for value in settings.get("SystemCallFilter", []):
        if value.startswith("~"):
            denied |= expand(value[1:].split())
        else:
            allowed |= expand(value.split())
    allowed -= denied
    error_name = settings.get("SystemCallErrorNumber", ["EPERM"])[-1]
    families = set()
    for value in settings.get("RestrictAddressFamilies", []):
        families |= {FAMILIES[f] for f in value.split()}
    mdwe = settings.get("MemoryDenyWriteExecute", ["no"])[-1] == "yes"

    f = seccomp.SyscallFilter(defaction=seccomp.ERRNO(getattr(errno, error_name)))
    special = {"socket", "mmap", "mprotect", "pkey_mprotect"}
    unknown = []
    for call in sorted(allowed - special):
        try:
            f.add_rule(seccomp.ALLOW, call)
        except (RuntimeError, ValueError):
            unknown.append(call)  # not a call of this architecture
    if "socket" in allowed:
        for family in sorted(families):
            f.add_rule(seccomp.ALLOW, "socket", seccomp.Arg(0, seccomp.EQ, family))
        for family in sorted(set(FAMILIES.values()) - families):
            f.add_rule(seccomp.ERRNO(errno.EAFNOSUPPORT), "socket",
                       seccomp.Arg(0, seccomp.EQ, family))
    wx = PROT_WRITE | PROT_EXEC
    for call in ("mmap", "mprotect", "pkey_mprotect"):
        if call not in allowed:
            continue
        if not mdwe:
            f.add_rule(seccomp.ALLOW, call)
        elif call == "mmap":
            for prot in (0, PROT_WRITE, PROT_EXEC):
                f.add_rule(seccomp.ALLOW, call, seccomp.Arg(2, seccomp.MASKED_EQ, wx, prot))
        else:
            f.add_rule(seccomp.ALLOW, call, seccomp.Arg(2, seccomp.MASKED_EQ, PROT_EXEC, 0))
    print(f"seccomp: {len(allowed)} calls allowed, {len(denied)} denied, families "
          f"{sorted(families)}, MemoryDenyWriteExecute={'yes' if mdwe else 'no'}",
          file=sys.stderr)
    f.load()
    os.execvp(argv[3], argv[3:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
