"""Plays systemd's part for the unit, without systemd: the daemon's side of the contract.

    unit_contract.py UNIT BINARY

Starts the simulator, then `BINARY run` as the unit would: under the unit's system call
filter (seccomp_run.py), with NOTIFY_SOCKET and WATCHDOG_USEC pointing at a socket
this script reads, the API token in a credentials-like file, and the API reached by
host name (so that name resolution runs under RestrictAddressFamilies=). Then checks:

- READY=1 arrives (Type=notify), and WATCHDOG=1 at least every WatchdogSec / 2;
- events reach the file sink;
- SIGHUP (ExecReload=) gives RELOADING=1, then READY=1 again;
- SIGTERM gives STOPPING=1 and exit status 0 within TimeoutStopSec=.

Exits 1 with the reason and the daemon's last log lines on any failure.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WATCHDOG_USEC = 2_000_000


def fail(reason, log=None):
    print(f"  FAIL: {reason}")
    if log and log.exists():
        for line in log.read_text(errors="replace").splitlines()[-15:]:
            print(f"    {line}")
    sys.exit(1)


def wait_for(messages, sock, want, seconds):
    """Reads notifications into `messages` until one holds `want`; True if it came."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = sock.recv(4096).decode()
        except (socket.timeout, BlockingIOError):
            continue
        messages.append((time.monotonic(), data))
        if want in data.split("\n"):
            return True
    return False


def start_sim(binary, work):
    sim_log = work / "sim.log"
    sim = subprocess.Popen([binary, "sim", "--listen", "127.0.0.1:0", "--events", "3000",
                            "--trickle", "5"], stdout=open(sim_log, "w"),
                           stderr=subprocess.STDOUT)
    for _ in range(100):
        text = sim_log.read_text()
        urls = dict(re.findall(r'^\s+(base_url|token_url)\s+=\s+"(.*)"$', text, re.M))
        if len(urls) == 2:
            # By name, not address: the daemon must resolve it under the filter.
            return sim, {k: v.replace("127.0.0.1", "localhost") for k, v in urls.items()}
        time.sleep(0.1)
    sim.kill()
    fail("the simulator did not start", sim_log)


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    unit, binary = argv[1], os.path.realpath(argv[2])
    work = Path(tempfile.mkdtemp(prefix="unit-contract-"))
    sim, urls = start_sim(binary, work)
    daemon = None
    try:
        credentials = work / "credentials"
        credentials.mkdir(mode=0o700)
        (credentials / "api-token").write_text("sim-api-token\n")
        events = work / "events.ndjson"
        config = work / "own-audit-forwarder.toml"
        config.write_text(f"""
state_dir = "{work / 'state'}"
[telemetry]
listen = "127.0.0.1:0"
[[sources]]
name = "contract"
base_url = "{urls['base_url']}"
token_url = "{urls['token_url']}"
api_token_file = "{credentials / 'api-token'}"
poll_interval = "1s"
[[sinks]]
type = "file"
name = "file"
path = "{events}"
""")
        notify_path = work / "notify"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(notify_path))
        env = {k: v for k, v in os.environ.items() if not k.startswith("OWN_AUDIT")}
        env.update(NOTIFY_SOCKET=str(notify_path), WATCHDOG_USEC=str(WATCHDOG_USEC),
                   CREDENTIALS_DIRECTORY=str(credentials))
        log = work / "daemon.log"
        daemon = subprocess.Popen(
            [sys.executable, str(HERE / "seccomp_run.py"), unit, "--", binary, "run",
             "--config", str(config)], env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)
        messages = []

        if not wait_for(messages, sock, "READY=1", 30):
            fail("no READY=1 within 30s (Type=notify would time out)", log)
        print("  ok: READY=1 once sources and sinks started")
        ready_at = time.monotonic()
        wait_for(messages, sock, "never", 3 * WATCHDOG_USEC / 1e6)
        pets = [t for t, m in messages if "WATCHDOG=1" in m.split("\n") and t >= ready_at]
        if len(pets) < 2:
            fail(f"{len(pets)} WATCHDOG=1 in {3 * WATCHDOG_USEC / 1e6:.0f}s "
                 f"(WATCHDOG_USEC={WATCHDOG_USEC})", log)
        print(f"  ok: WATCHDOG=1 {len(pets)} times in {3 * WATCHDOG_USEC / 1e6:.0f}s "
              f"with WATCHDOG_USEC={WATCHDOG_USEC}")

        for _ in range(100):
            if events.exists() and events.read_text().count("\n") >= 3000:
                break
            time.sleep(0.1)
        else:
            fail("the 3000 simulated events did not reach the file sink within 10s", log)
        print("  ok: 3000 events delivered under the unit's system call filter, the API "
              "resolved by name")

        messages.clear()
        daemon.send_signal(signal.SIGHUP)
        if not wait_for(messages, sock, "RELOADING=1", 10):
            fail("no RELOADING=1 after SIGHUP", log)
        if not wait_for(messages, sock, "READY=1", 30):
            fail("no READY=1 after the reload", log)
        print("  ok: SIGHUP gives RELOADING=1, then READY=1")

        messages.clear()
        daemon.send_signal(signal.SIGTERM)
        if not wait_for(messages, sock, "STOPPING=1", 10):
            fail("no STOPPING=1 after SIGTERM", log)
        try:
            status = daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            fail("still running 60s after SIGTERM (TimeoutStopSec=60s)", log)
        if status != 0:
            fail(f"exit status {status} after SIGTERM", log)
        daemon = None
        print("  ok: SIGTERM gives STOPPING=1 and exit status 0")
    finally:
        for process in (daemon, sim):
            if process and process.poll() is None:
                process.kill()
                process.wait()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
