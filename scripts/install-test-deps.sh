#!/usr/bin/env bash
# Installs the tools the tests use, from Debian's packages and crates.io, when missing.
set -euo pipefail

need_apt=()
# A C toolchain, make and perl build librdkafka and OpenSSL for the Kafka sink.
command -v cc >/dev/null || need_apt+=(gcc)
command -v make >/dev/null || need_apt+=(make)
command -v perl >/dev/null || need_apt+=(perl)
# rsyslog, with its TLS driver, receives what the syslog sink's tests send.
deb_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }
deb_installed rsyslog || need_apt+=(rsyslog)
deb_installed rsyslog-gnutls || need_apt+=(rsyslog-gnutls)
# sqlite3 adds an index that Tansu's SQLite storage lacks, so that reads stay fast.
command -v sqlite3 >/dev/null || need_apt+=(sqlite3)
# Python and Node run the independent parsers that check the SIEM formats.
command -v python3 >/dev/null || need_apt+=(python3)
python3 -c 'import ensurepip, venv' 2>/dev/null || need_apt+=(python3-venv)
command -v node >/dev/null || need_apt+=(nodejs)
command -v npm >/dev/null || need_apt+=(npm)

if ((${#need_apt[@]})); then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}"
fi

# Tansu, a Kafka-compatible broker, for the Kafka sink's tests. It takes 20 minutes or
# more to build on two cores, so it is built once and reused.
TANSU_VERSION=0.6.0
if ! { command -v tansu >/dev/null || [ -x "$HOME/.cargo/bin/tansu" ]; } ||
  ! "$(command -v tansu || echo "$HOME/.cargo/bin/tansu")" --version 2>/dev/null | grep -q "$TANSU_VERSION"; then
  echo "building tansu $TANSU_VERSION (once; it takes 20 minutes or more)"
  cargo install tansu --locked --version "$TANSU_VERSION" --features dynostore,libsql
fi

"$(dirname "$0")/install-format-tools.sh"
# systemd-analyze, promtool, a Kubernetes schema validator, and buildah, podman and
# debootstrap for the container image.
"$(dirname "$0")/install-deploy-tools.sh" --container

rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
echo "test dependencies are in place"
