#!/usr/bin/env bash
# Installs what the tests need, then runs every check CI runs: formatting, lints, the
# unit and black-box tests, and the deployment artifacts checked by the tools that use
# them. Safe to run again: installed tools are reused.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "installing test dependencies"
scripts/install-test-deps.sh

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets --locked -- -D warnings

step "cargo test"
cargo test --all-targets --locked

# cargo test has built target/debug/own-audit-forwarder, which these checks run.
step "deployment artifacts: systemd unit, alerts, dashboard, Kubernetes, live /metrics"
scripts/check-deploy.sh target/debug/own-audit-forwarder

step "container image (buildah, with the host's binary in place of the build stage)"
scripts/check-container.sh target/debug/own-audit-forwarder

step "all checks passed"
