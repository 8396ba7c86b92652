#!/usr/bin/env bash
# Checks every deployment artifact with the tool that consumes it:
#
#   scripts/check-deploy.sh BINARY
#
# BINARY is an own-audit-forwarder build (debug is fine). Runs every check, then exits
# 1 if any failed, naming each. Needs the tools of scripts/install-deploy-tools.sh.
#
#   systemd     systemd-analyze verify (in a scratch root holding BINARY at the
#               unit's ExecStart path), systemd-analyze security --offline=yes with a
#               ceiling on the exposure score, the unit's command lines against
#               BINARY's real flags, the example configuration, and `BINARY run`
#               under the unit's seccomp filter answering READY=1, WATCHDOG=1,
#               RELOADING=1 and STOPPING=1 as Type=notify and WatchdogSec= expect
#   prometheus  promtool check rules and promtool test rules on the alerts
#   metrics     promtool check metrics on a live scrape of `BINARY demo`
#   grafana     the dashboard's structure, and every query through promtool
#   kubernetes  each object against the Kubernetes JSON schema (kubernetes-validate,
#               offline), the objects' references, the ServiceMonitor's fields, and
#               the ConfigMap's configuration through `BINARY validate`
#   container   the image's configuration through `BINARY validate`, the
#               Dockerfile's COPY sources against .dockerignore, and the build stage's
#               files through cargo's manifest and lock-file checks
#   scripts     shellcheck on the deployment scripts
set -euo pipefail
cd "$(dirname "$0")/.."

# Exposure ceiling for systemd-analyze security, in tenths (15 = 1.5; the unit scores
# 1.1). A change that weakens the sandbox past it fails the check.
SECURITY_THRESHOLD=15
# Kubernetes versions the manifests must validate against: the oldest still common
# and the newest kubernetes-validate knows.
KUBERNETES_VERSIONS=(1.29.0 1.37.0)

[[ $# -eq 1 ]] || {
    echo "usage: scripts/check-deploy.sh BINARY" >&2
    exit 2
}
[[ -x $1 ]] || {
    echo "check-deploy: $1 is not an executable own-audit-forwarder" >&2
    exit 2
}
binary=$(realpath "$1")
venv=${OWN_AUDIT_DEPLOY_TOOLS:-$HOME/.cache/own-audit-forwarder/deploy-tools}/venv
python=$venv/bin/python
for tool in systemd-analyze promtool curl /usr/bin/python3 "$venv/bin/kubernetes-validate"; do
    command -v "$tool" >/dev/null || {
        echo "check-deploy: $tool is missing; run scripts/install-deploy-tools.sh" >&2
        exit 2
    }
done

# OWN_AUDIT__ variables override configuration files, and demo's own configuration:
# the checks must see the files as shipped.
while read -r name; do
    unset "$name"
done < <(compgen -e | grep '^OWN_AUDIT' || true)

work=$(mktemp -d)
demo_pid=""
cleanup() {
    if [[ -n $demo_pid ]]; then
        kill "$demo_pid" 2>/dev/null || true
        wait "$demo_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

failed=()
started=$SECONDS
section() { printf '\n==> %s\n' "$*"; }
say() { printf '  %s\n' "$*"; }
bad() { printf '  FAIL: %s\n' "$*" >&2; }
validate() {
    local out
    if out=$("$binary" validate --config "$1" 2>&1); then
        say "ok: own-audit-forwarder validate: $out"
    else
        bad "own-audit-forwarder validate --config $1:"
        printf '%s\n' "$out" | sed 's/^/    /' >&2
        return 1
    fi
}

check_systemd() {
    local unit=deploy/systemd/own-audit-forwarder.service
    local example=deploy/systemd/own-audit-forwarder.toml
    local root=$work/systemd-root name
    name=$(basename "$unit")

    # verify loads the unit with its dependencies and checks that every command
    # exists. A scratch root gives it the system's units and the commands at the
    # unit's paths (BINARY at the daemon's), without touching this machine's own.
    mkdir -p "$root/etc/systemd/system" "$root/usr/lib/systemd"
    cp -a /usr/lib/systemd/system "$root/usr/lib/systemd/"
    cp "$unit" "$root/etc/systemd/system/"
    local exe host
    while read -r exe; do
        mkdir -p "$root$(dirname "$exe")"
        if [[ $(basename "$exe") == own-audit-forwarder ]]; then
            cp "$binary" "$root$exe"
        else
            # The program itself (type -P), not a shell builtin of the same name.
            host=$(type -P "$(basename "$exe")") || {
                bad "the unit runs $exe, which this machine does not have"
                return 1
            }
            cp "$host" "$root$exe"
        fi
    done < <(sed -nE 's/^Exec[A-Za-z]*=[-+!@:]*(\/[^ ]+).*/\1/p' "$unit" | sort -u)
    local out
    out=$(systemd-analyze verify --root="$root" --man=no "$name" 2>&1) || {
        bad "systemd-analyze verify:"
        printf '%s\n' "$out" | sed 's/^/    /' >&2
        return 1
    }
    # verify exits 0 on unknown settings and unparsable values, which it only prints.
    if [[ -n $out ]]; then
        bad "systemd-analyze verify has complaints:"
        printf '%s\n' "$out" | sed 's/^/    /' >&2
        return 1
    fi
    say "ok: systemd-analyze verify"

    out=$(systemd-analyze security --offline=yes --threshold="$SECURITY_THRESHOLD" \
        "$unit" 2>&1) || {
        printf '%s\n' "$out" | grep '✗' | sed 's/^/    /' >&2
        bad "systemd-analyze security: $(tail -n 1 <<<"$out") (ceiling $SECURITY_THRESHOLD/10)"
        return 1
    }
    say "ok: systemd-analyze security --offline=yes: $(tail -n 1 <<<"$out" | sed 's/^→ //')"
    say "    still exposed (what a network daemon cannot give up):"
    grep '✗' <<<"$out" | sed -E 's/^✗ +([^ ]+) +(.*[^ ]) +([0-9.]+)$/      \3  \1: \2/'

    # The unit's command lines, run against BINARY: ExecStartPre as it stands (on the
    # example configuration), ExecStart up to its configuration (a missing file is a
    # configuration error, exit 1; an unknown flag would be a usage error, exit 2).
    local pre start status=0
    pre=$(sed -n 's/^ExecStartPre=//p' "$unit")
    start=$(sed -n 's/^ExecStart=//p' "$unit")
    local config_path=${pre##* }
    read -ra words <<<"${pre/#*own-audit-forwarder /}"
    words[${#words[@]} - 1]=$example
    "$binary" "${words[@]}" >/dev/null 2>&1 || {
        bad "ExecStartPre ($pre) fails with BINARY on $example"
        return 1
    }
    read -ra words <<<"${start/#*own-audit-forwarder /}"
    words[${#words[@]} - 1]=$work/missing.toml
    "$binary" "${words[@]}" >/dev/null 2>"$work/start.err" || status=$?
    if [[ $status -ne 1 ]] || ! grep -q 'file not found' "$work/start.err"; then
        bad "ExecStart ($start) is not understood by BINARY (exit $status):"
        sed 's/^/    /' "$work/start.err" >&2
        return 1
    fi
    say "ok: ExecStartPre and ExecStart use flags BINARY has (configuration $config_path)"

    validate "$example" || return 1
    "$python" tests/deploy/check_artifacts.py systemd "$unit" "$example" || return 1

    # What systemd would do with the unit, done by hand: the daemon under the unit's
    # system call filter and address families, notifying a socket we read.
    /usr/bin/python3 tests/deploy/unit_contract.py "$unit" "$binary"
}

check_prometheus() {
    local out
    out=$(promtool check rules deploy/prometheus/alerts.yml 2>&1) || {
        bad "promtool check rules:"
        printf '%s\n' "$out" | sed 's/^/    /' >&2
        return 1
    }
    say "ok: promtool check rules: $(grep -o 'SUCCESS.*' <<<"$out")"
    out=$(cd deploy/prometheus && promtool test rules alerts_test.yml 2>&1) || {
        bad "promtool test rules:"
        printf '%s\n' "$out" | sed 's/^/    /' >&2
        return 1
    }
    local cases
    cases=$(grep -c 'alertname:' deploy/prometheus/alerts_test.yml)
    say "ok: promtool test rules alerts_test.yml: $cases alert evaluations pass"
    "$python" tests/deploy/check_artifacts.py prometheus deploy/prometheus/alerts.yml \
        deploy/prometheus/alerts_test.yml src/telemetry/names.rs
}

check_metrics() {
    local out=$work/demo addr=""
    # --follow keeps the listener up after the backlog; port 0 takes a free port.
    "$binary" demo --follow --events 2000 --output-dir "$out" --metrics-listen 127.0.0.1:0 \
        >"$work/demo.out" 2>"$work/demo.err" &
    demo_pid=$!
    local _
    for _ in $(seq 300); do
        grep -q 'following the live trickle' "$work/demo.out" && break
        kill -0 "$demo_pid" 2>/dev/null || break
        sleep 0.1
    done
    addr=$(sed -nE 's|.*metrics +http://([^/]+)/metrics.*|\1|p' "$work/demo.out")
    if [[ -z $addr ]] || ! grep -q 'following the live trickle' "$work/demo.out"; then
        bad "demo did not get through its backlog within 30s:"
        sed 's/^/    /' "$work/demo.out" "$work/demo.err" >&2
        return 1
    fi
    curl -sf --max-time 10 "http://$addr/metrics" >"$work/metrics.txt" || {
        bad "no answer from http://$addr/metrics"
        return 1
    }
    local lint status=0
    lint=$(promtool check metrics <"$work/metrics.txt" 2>&1) || status=$?
    if [[ $status -ne 0 ]]; then
        bad "promtool check metrics on the scrape:"
        printf '%s\n' "$lint" | sed 's/^/    /' >&2
        return 1
    fi
    local families
    families=$(grep -c '^# TYPE' "$work/metrics.txt")
    say "ok: promtool check metrics on http://$addr/metrics ($families families)${lint:+: $lint}"
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$addr/healthz")
    [[ $code == 200 ]] || { bad "/healthz answered $code"; return 1; }
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$addr/readyz")
    [[ $code == 200 ]] || { bad "/readyz answered $code"; return 1; }
    say "ok: /healthz and /readyz answer 200"
    local missing
    missing=$(grep -ohE '\bown_audit_[a-z_]+' deploy/prometheus/alerts.yml \
        deploy/grafana/own-audit-forwarder.json | sed -E 's/_(bucket|sum|count)$//' | sort -u |
        while read -r name; do
            grep -q "^# TYPE $name " "$work/metrics.txt" || echo "$name"
        done | tr '\n' ' ')
    [[ -z $missing ]] ||
        say "note: not in the demo's scrape (only with other sinks or states): $missing"

    kill -INT "$demo_pid"
    local rc=0
    wait "$demo_pid" || rc=$?
    demo_pid=""
    [[ $rc -eq 0 ]] || { bad "demo exited with $rc after SIGINT"; return 1; }
    say "ok: demo stopped cleanly on SIGINT"
}

check_grafana() {
    "$python" tests/deploy/check_artifacts.py grafana deploy/grafana/own-audit-forwarder.json \
        src/telemetry/names.rs "$work/dashboard-rules.yml" || return 1
    local out
    out=$(promtool check rules "$work/dashboard-rules.yml" 2>&1) || {
        bad "a dashboard query does not parse:"
        printf '%s\n' "$out" | sed 's/^/    /' >&2
        return 1
    }
    say "ok: every dashboard query parses (promtool check rules: $(grep -o 'SUCCESS.*' <<<"$out"))"
}

check_kubernetes() {
    local dir=deploy/kubernetes files=() version out
    local file
    for file in "$dir"/*.yaml; do
        case $(basename "$file") in
            # Not Kubernetes API objects: kustomize's own file, and a CRD instance that
            # check_artifacts.py checks field by field.
            kustomization.yaml | servicemonitor.yaml) ;;
            *) files+=("$file") ;;
        esac
    done
    for version in "${KUBERNETES_VERSIONS[@]}"; do
        out=$("$venv/bin/kubernetes-validate" --strict --quiet -k "$version" \
            "${files[@]}" 2>&1) || {
            bad "kubernetes-validate --strict -k $version:"
            printf '%s\n' "$out" | sed 's/^/    /' >&2
            return 1
        }
        say "ok: kubernetes-validate --strict -k $version: ${#files[@]} files"
    done
    "$python" tests/deploy/check_artifacts.py kubernetes "$dir" "$work/configmap.toml" || return 1
    validate "$work/configmap.toml"
}

check_container() {
    # The image sets these; validate the shipped file as the image reads it.
    local env=() line
    while read -r line; do
        env+=("$line")
    done < <(sed -nE 's/^(ENV +| +)(OWN_AUDIT_[A-Z_]+=[^ ]+).*/\2/p' Dockerfile)
    [[ ${#env[@]} -gt 0 ]] || { bad "Dockerfile sets no OWN_AUDIT_ variables"; return 1; }
    local out
    local image_config=deploy/container/own-audit-forwarder.toml
    if out=$(env "${env[@]}" "$binary" validate --config "$image_config" 2>&1); then
        say "ok: own-audit-forwarder validate (with ${env[*]}): $out"
    else
        bad "the image's configuration does not validate:"
        printf '%s\n' "$out" | sed 's/^/    /' >&2
        return 1
    fi
    # Every file the Dockerfile copies from the context must exist and be let through
    # by .dockerignore's allow list.
    local source allowed pattern
    while read -r source; do
        [[ -e $source ]] || { bad "Dockerfile copies $source, which does not exist"; return 1; }
        allowed=""
        while read -r pattern; do
            pattern=${pattern#!}
            pattern=${pattern%/}
            [[ $source == "$pattern" || $source == "$pattern"/* ]] && allowed=yes
        done < <(grep '^!' .dockerignore)
        [[ -n $allowed ]] || {
            bad ".dockerignore keeps $source out of the build context"
            return 1
        }
    done < <(sed -nE 's/^COPY +([^-][^ ]*( +[^ ]+)*) +[^ ]+$/\1/p' Dockerfile | tr ' ' '\n')
    say "ok: the Dockerfile's COPY sources exist and .dockerignore lets them through"

    # The build stage sees only what it copies: lay exactly that out and let cargo
    # load the manifest, the lock file (--locked) and every target's path from it,
    # stopping before it compiles anything.
    local probe=$work/build-stage dest out
    mkdir -p "$probe"
    while read -r line; do
        read -ra words <<<"$line"
        dest=${words[-1]}
        for source in "${words[@]:0:${#words[@]}-1}"; do
            case $dest in
                ./ | "./$source") cp -r "$source" "$probe/" ;;
                *)
                    bad "build stage: COPY $source $dest: this check expects ./ or ./$source"
                    return 1
                    ;;
            esac
        done
    done < <(sed -n '/^FROM .* AS build$/,/^FROM /p' Dockerfile | sed -nE 's/^COPY +([^-].*)$/\1/p')
    out=$(cd "$probe" && CARGO_TARGET_DIR=$work/build-stage-target \
        cargo build --release --locked --bin own-audit-forwarder-no-such-target 2>&1) || true
    if ! grep -q 'no bin target named' <<<"$out"; then
        bad "the build stage's files do not make a crate cargo can build:"
        printf '%s\n' "$out" | sed 's/^/    /' >&2
        return 1
    fi
    say "ok: the build stage's COPY lines give cargo a complete manifest and lock file"
}

check_scripts() {
    local scripts=(scripts/install-deploy-tools.sh scripts/check-deploy.sh
        scripts/check-container.sh tests/deploy/container-smoke.sh)
    if ! command -v shellcheck >/dev/null; then
        say "skipped: shellcheck is not installed"
        return 0
    fi
    shellcheck "${scripts[@]}" || return 1
    say "ok: shellcheck: ${#scripts[@]} scripts"
}

for check in systemd prometheus metrics grafana kubernetes container scripts; do
    section "$check"
    "check_$check" || failed+=("$check")
done

echo
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "deployment checks FAILED: ${failed[*]} (in $((SECONDS - started))s)" >&2
    exit 1
fi
echo "deployment checks passed in $((SECONDS - started))s"
