#!/usr/bin/env bash
# Runs inside the built image, as the image's user, from scripts/check-container.sh:
#   container-smoke.sh SIM_PORT METRICS_PORT HEALTHCHECK_COMMAND...
#
# The container shares the host's network (buildah's chroot isolation), so every
# listener is put on a free loopback port the caller chose, never on the image's
# 0.0.0.0:9464.
set -euo pipefail

sim_port=$1
metrics_port=$2
shift 2
healthcheck=("$@")

step() { printf '  - %s\n' "$*"; }
fail() {
    printf 'container smoke test failed: %s\n' "$*" >&2
    for log in /tmp/smoke/run.log /tmp/smoke/sim.log; do
        [[ -s $log ]] && { echo "--- $log" >&2; tail -n 20 "$log" >&2; }
    done
    exit 1
}

mkdir -p /tmp/smoke
listen=127.0.0.1:$metrics_port

step "own-audit-forwarder --version"
own-audit-forwarder --version || fail "--version"

step "validate the image's configuration (${OWN_AUDIT_CONFIG})"
own-audit-forwarder validate || fail "the shipped configuration does not validate"

step "the state directory belongs to $(id -un) and is writable"
if ! touch /var/lib/own-audit-forwarder/.writable; then
    fail "/var/lib/own-audit-forwarder is not writable by uid $(id -u)"
fi
rm /var/lib/own-audit-forwarder/.writable

step "ca-certificates are installed"
[[ -s /etc/ssl/certs/ca-certificates.crt ]] || fail "no /etc/ssl/certs/ca-certificates.crt"

# demo applies OWN_AUDIT__ variables to its own configuration too, so the image's
# listener and state directory are pointed away from 0.0.0.0:9464 and the volume.
step "demo (5000 events)"
OWN_AUDIT__TELEMETRY__LISTEN=$listen OWN_AUDIT__STATE_DIR=/tmp/smoke/demo-state \
    own-audit-forwarder demo --events 5000 --output-dir /tmp/smoke/demo >/tmp/smoke/demo.log 2>&1 ||
    { cat /tmp/smoke/demo.log >&2; fail "demo"; }
# The simulator's live trickle may add a few events to the 5000 of the backlog.
forwarded=$(sed -nE 's/^ *events forwarded +([0-9]+)$/\1/p' /tmp/smoke/demo.log)
if [[ ${forwarded:-0} -lt 5000 ]]; then
    cat /tmp/smoke/demo.log >&2
    fail "demo forwarded ${forwarded:-no} events, not 5000"
fi

# The image's own command, `run`, with a configuration like the shipped one (token from
# /run/secrets, state in the volume, file sink on stdout) but pointed at the simulator.
step "run against the simulator, with the token from /run/secrets/own_api_token"
own-audit-forwarder sim --listen "127.0.0.1:$sim_port" --events 3000 --trickle 0 \
    >/tmp/smoke/sim.log 2>&1 &
sim_pid=$!
for _ in $(seq 100); do
    grep -q 'token_url' /tmp/smoke/sim.log && break
    sleep 0.1
done
url_of() { sed -n "s/^ *$1 *= *\"\(.*\)\"\$/\1/p" /tmp/smoke/sim.log; }
base_url=$(url_of base_url)
token_url=$(url_of token_url)
[[ -n $base_url && -n $token_url ]] || fail "the simulator did not start"
cat >/tmp/smoke/sim.toml <<EOF
state_dir = "/var/lib/own-audit-forwarder"
[telemetry]
listen = "0.0.0.0:9464"
log_format = "json"
[[sources]]
name = "smoke"
base_url = "$base_url"
token_url = "$token_url"
api_token_file = "/run/secrets/own_api_token"
poll_interval = "1s"
[[sinks]]
type = "file"
name = "stdout"
path = "-"
EOF

touch /tmp/smoke/before-run
OWN_AUDIT_CONFIG=/tmp/smoke/sim.toml OWN_AUDIT__TELEMETRY__LISTEN=$listen \
    own-audit-forwarder run >/tmp/smoke/events.ndjson 2>/tmp/smoke/run.log &
run_pid=$!

step "the HEALTHCHECK command (${healthcheck[*]}) passes"
healthy=""
for _ in $(seq 100); do
    if OWN_AUDIT__TELEMETRY__LISTEN=$listen "${healthcheck[@]}" 2>/dev/null; then
        healthy=yes
        break
    fi
    kill -0 "$run_pid" 2>/dev/null || fail "run exited early"
    sleep 0.2
done
[[ -n $healthy ]] || fail "the HEALTHCHECK did not pass within 20s"

step "3000 events reach stdout"
lines=0
for _ in $(seq 150); do
    lines=$(wc -l </tmp/smoke/events.ndjson)
    [[ $lines -ge 3000 ]] && break
    sleep 0.2
done
[[ $lines -ge 3000 ]] || fail "only $lines of 3000 events reached stdout within 30s"

step "SIGTERM stops run with exit code 0 and a checkpoint in the volume"
kill -TERM "$run_pid"
status=0
wait "$run_pid" || status=$?
[[ $status -eq 0 ]] || fail "run exited with $status after SIGTERM"
[[ -s /var/lib/own-audit-forwarder/checkpoints/smoke.json ]] || fail "no checkpoint in the volume"

# Outside the volume, only the world-writable folders are writable by the image's
# user; nothing new there means a read-only root file system (as the Kubernetes
# Deployment sets) is enough.
step "run wrote nothing outside the volume (readOnlyRootFilesystem holds)"
stray=$(find /tmp /var/tmp /run/lock /dev/shm -xdev -newer /tmp/smoke/before-run \
    -not -path '/tmp/smoke*' 2>/dev/null || true)
[[ -z $stray ]] || fail "run wrote outside the state directory: $stray"

step "the HEALTHCHECK fails once the daemon is gone"
if OWN_AUDIT__TELEMETRY__LISTEN=$listen "${healthcheck[@]}" 2>/dev/null; then
    fail "the HEALTHCHECK passed with no daemon running"
fi

kill -TERM "$sim_pid" 2>/dev/null || true
wait "$sim_pid" 2>/dev/null || true
echo "container smoke test passed"
