#!/usr/bin/env bash
# Installs the tools that check the deployment artifacts, each only when missing:
#
#   scripts/install-deploy-tools.sh              for scripts/check-deploy.sh
#   scripts/install-deploy-tools.sh --container  and also for scripts/check-container.sh
#
# From Debian: systemd (systemd-analyze), prometheus (promtool), curl, python3-venv,
# python3-seccomp and the shell linter; with --container also buildah, podman,
# debootstrap and jq. From PyPI: kubernetes-validate, which bundles the Kubernetes
# JSON schemas and so validates offline, in a virtualenv under
# ~/.cache/own-audit-forwarder/deploy-tools/.
set -euo pipefail

container=""
case "${1:-}" in
    "") ;;
    --container) container=yes ;;
    *)
        echo "usage: scripts/install-deploy-tools.sh [--container]" >&2
        exit 2
        ;;
esac

# Pinned so that a new release (new schemas, new rules) cannot change a check by itself.
KUBERNETES_VALIDATE=1.37.0
# scripts/check-deploy.sh looks for it here too.
venv=${OWN_AUDIT_DEPLOY_TOOLS:-$HOME/.cache/own-audit-forwarder/deploy-tools}/venv

missing=()
need() {
    local command=$1 package=$2
    command -v "$command" >/dev/null 2>&1 || missing+=("$package")
}
need systemd-analyze systemd
need promtool prometheus
need curl curl
need shellcheck shellcheck
[[ -x /usr/bin/python3 ]] || missing+=(python3)
/usr/bin/python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
# libseccomp's bindings, to run the daemon under the unit's system call filter.
/usr/bin/python3 -c 'import seccomp' >/dev/null 2>&1 || missing+=(python3-seccomp)
if [[ -n $container ]]; then
    need buildah buildah
    need podman podman
    need debootstrap debootstrap
    need jq jq
fi

if [[ ${#missing[@]} -gt 0 ]]; then
    echo "installing from Debian: ${missing[*]}"
    sudo=()
    [[ $(id -u) -eq 0 ]] || sudo=(sudo)
    "${sudo[@]}" apt-get update -qq
    # The prometheus package's service is neither wanted nor started here.
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

pinned=$(cat "$venv/pinned" 2>/dev/null || true)
if [[ ! -x $venv/bin/kubernetes-validate || $pinned != "$KUBERNETES_VALIDATE" ]]; then
    echo "installing kubernetes-validate $KUBERNETES_VALIDATE into $venv"
    rm -rf "$venv"
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
        "kubernetes-validate==$KUBERNETES_VALIDATE"
    echo "$KUBERNETES_VALIDATE" >"$venv/pinned"
fi
echo "deploy tools ready (kubernetes-validate in $venv)"
