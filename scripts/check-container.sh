#!/usr/bin/env bash
# Builds the Dockerfile's runtime stage and runs the image, without a Docker engine or a
# container registry.
#
#   scripts/check-container.sh BINARY
#
# BINARY is an own-audit-forwarder built on this host (release or debug; Debian
# bookworm's glibc, like the runtime stage). How:
#
#   1. The runtime stage's base image (its FROM, read from the Dockerfile) is made with
#      debootstrap --variant=minbase from Debian's archive, trimmed like Docker's
#      official slim images, and imported with `podman import` under that exact name.
#      It is cached in the container storage below and reused by later runs.
#   2. `buildah bud --target runtime --build-context build=DIR` builds the real
#      Dockerfile: the named context DIR stands in for the build stage, so
#      `COPY --from=build` takes BINARY from DIR and the Rust stage is skipped. Nothing
#      else of the Dockerfile is changed; the image's binary is checked to be BINARY.
#   3. The image's configuration (non-root numeric user, volume, port, HEALTHCHECK) is
#      checked, and tests/deploy/container-smoke.sh runs inside it with
#      `buildah run --isolation=chroot`: --version, validate of the shipped
#      configuration, a short demo, and the image's `run` against the simulator with
#      the token in /run/secrets, the HEALTHCHECK command, and a clean stop on SIGTERM.
#
# Needs root, buildah, podman and debootstrap (scripts/install-deploy-tools.sh
# --container installs them). Storage: vfs under $OWN_AUDIT_DEPLOY_CACHE (default
# ~/.cache/own-audit-forwarder/containers); set OWN_AUDIT_REFRESH_BASE=1 to make the base
# image again, DEBIAN_MIRROR to use another mirror.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
say() { printf '==> %s\n' "$*"; }
die() {
    printf 'check-container: %s\n' "$*" >&2
    exit 1
}

[[ $# -eq 1 ]] || die "usage: scripts/check-container.sh BINARY"
[[ -x $1 ]] || die "$1 is not an executable own-audit-forwarder"
binary=$(realpath "$1")
[[ $(id -u) -eq 0 ]] || die "run as root: debootstrap and buildah's chroot isolation need it"
for tool in buildah podman debootstrap jq python3; do
    command -v "$tool" >/dev/null ||
        die "$tool is missing; run scripts/install-deploy-tools.sh --container"
done

cache=${OWN_AUDIT_DEPLOY_CACHE:-$HOME/.cache/own-audit-forwarder}/containers
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
storage=(--root "$cache/storage" --runroot "$cache/run" --storage-driver vfs)
image=localhost/own-audit-forwarder:check
work=$(mktemp -d)
container=""
cleanup() {
    if [[ -n $container ]]; then
        buildah "${storage[@]}" rm "$container" >/dev/null 2>&1 || true
    fi
    buildah "${storage[@]}" rmi -f "$image" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

# What the Dockerfile says; the checks below follow it rather than repeat it.
base=$(sed -nE 's/^FROM +([^ ]+) +[Aa][Ss] +runtime *$/\1/p' Dockerfile)
built_path=$(sed -nE 's/^COPY +--from=build +([^ ]+) .*/\1/p' Dockerfile)
[[ -n $base ]] || die "Dockerfile: no 'FROM IMAGE AS runtime' line"
[[ -n $built_path ]] || die "Dockerfile: no 'COPY --from=build PATH ...' line in the runtime stage"
case $base in
    *debian*bookworm*) suite=bookworm ;;
    *) die "Dockerfile: the runtime stage's base $base is not Debian bookworm; teach me to make it" ;;
esac

make_base() {
    local root=$work/rootfs
    say "debootstrap --variant=minbase $suite from $mirror"
    local t=$SECONDS
    debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
        { tail -n 30 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
    # As in Docker's official slim images: no documentation, manuals or locales from
    # later installs, and no package cache left behind.
    cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
EOF
    cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
    rm -f "$root/etc/apt/sources.list"
    cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
    rm -rf "$root"/usr/share/{man,info,locale}/* "$root"/var/cache/apt/archives/*.deb \
        "$root"/var/lib/apt/lists/*
    say "podman import as $base ($((SECONDS - t))s so far)"
    tar -C "$root" --numeric-owner -cf - . |
        podman "${storage[@]}" import --quiet --change 'CMD ["bash"]' - "$base" >/dev/null
    rm -rf "$root"
}

if [[ ${OWN_AUDIT_REFRESH_BASE:-} == 1 ]]; then
    podman "${storage[@]}" rmi -f "$base" >/dev/null 2>&1 || true
fi
if podman "${storage[@]}" image exists "$base"; then
    say "base image $base: cached"
else
    make_base
fi

say "buildah bud --target runtime, with $binary as the build stage's output"
context=$work/build-context
mkdir -p "$context/$(dirname "$built_path")"
cp "$binary" "$context/$built_path"
t=$SECONDS
buildah "${storage[@]}" bud --isolation=chroot --format docker --pull=never \
    --target runtime --build-context "build=$context" --tag "$image" . >"$work/build.log" 2>&1 ||
    { tail -n 40 "$work/build.log" >&2; die "buildah bud failed"; }
echo "    built in $((SECONDS - t))s"

say "image configuration"
config=$(buildah "${storage[@]}" inspect --type image "$image" | jq '.Docker.config')
check_config() {
    local what=$1 filter=$2
    jq -e "$filter" >/dev/null <<<"$config" || die "image: $what (config: $(jq -c . <<<"$config"))"
    echo "    ok: $what"
}
check_config "runs as a numeric non-root user" '.User | test("^[1-9][0-9]*(:[0-9]+)?$")'
check_config "declares the state directory a volume" \
    '.Volumes | has("/var/lib/own-audit-forwarder")'
check_config "exposes the metrics port" '.ExposedPorts | has("9464/tcp")'
check_config "listens on every interface" \
    '.Env | index("OWN_AUDIT__TELEMETRY__LISTEN=0.0.0.0:9464") != null'
check_config "has a HEALTHCHECK" '.Healthcheck.Test | length > 1'
check_config "runs the daemon by default" \
    '.Entrypoint[0] == "/usr/local/bin/own-audit-forwarder" and .Cmd == ["run"]'
mapfile -t healthcheck < <(jq -r '.Healthcheck.Test
    | if .[0] == "CMD-SHELL" then ["/bin/sh", "-c", .[1]] else .[1:] end | .[]' <<<"$config")

container=$(buildah "${storage[@]}" from --pull=never "$image")
run_in() {
    buildah "${storage[@]}" run --isolation=chroot "$@"
}
inside=$(run_in "$container" -- sha256sum "/usr/local/bin/own-audit-forwarder" | cut -d' ' -f1)
[[ $inside == "$(sha256sum "$binary" | cut -d' ' -f1)" ]] ||
    die "the image's binary is not $binary: --build-context did not replace the build stage"
echo "    ok: the image holds $binary"

say "smoke test inside the image (buildah run --isolation=chroot)"
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
mkdir -p "$work/secrets"
# The simulator's API token, not a secret; readable by the image's user, as Docker and
# Kubernetes mount secrets.
printf 'sim-api-token\n' >"$work/secrets/own_api_token"
chmod 0444 "$work/secrets/own_api_token"
t=$SECONDS
timeout 300 buildah "${storage[@]}" run --isolation=chroot \
    --volume "$PWD/tests/deploy:/check:ro" --volume "$work/secrets:/run/secrets:ro" \
    "$container" -- bash /check/container-smoke.sh "$(free_port)" "$(free_port)" \
    "${healthcheck[@]}" ||
    die "the smoke test failed inside the image"
echo "    ran in $((SECONDS - t))s"

say "container check passed in $((SECONDS - started))s"
