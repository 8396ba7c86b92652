#!/usr/bin/env bash
# Installs what the tests need, then runs every check CI runs: formatting, lints, and
# the unit and black-box tests. Safe to run again: installed tools are reused.
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

step "all checks passed"
