#!/usr/bin/env bash
# Installs the independent parsers that check the ECS, OCSF, CEF and LEEF encoders:
# a Python virtualenv with pycef (CEF), jsonschema and ocsf-json-schema (the published
# OCSF schemas), and the published ECS field list from Elastic's @elastic/ecs package.
#
# Everything goes to $OAF_FORMAT_TOOLS (default ~/.cache/own-audit-forwarder/format-tools),
# which the tests read. Safe to run again: what is there is kept.
set -euo pipefail

dir="${OAF_FORMAT_TOOLS:-$HOME/.cache/own-audit-forwarder/format-tools}"
ECS_PACKAGE_VERSION=8.11.5
mkdir -p "$dir"

if [ ! -x "$dir/venv/bin/python" ] ||
  ! "$dir/venv/bin/python" -c 'import pycef, jsonschema, ocsf_json_schema' 2>/dev/null; then
  rm -rf "$dir/venv"
  python3 -m venv "$dir/venv"
  "$dir/venv/bin/pip" install --quiet --disable-pip-version-check \
    'pycef==1.11' 'jsonschema>=4.20,<5' 'ocsf-json-schema==1.2.0'
fi

if [ ! -s "$dir/ecs_flat.json" ]; then
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "@elastic/ecs@$ECS_PACKAGE_VERSION" >/dev/null && tar xzf ./*.tgz)
  node -e '
    const ecs = require(process.argv[1] + "/package/build/commonjs/index.js");
    const out = { version: ecs.EcsVersion, fields: ecs.EcsFlat };
    require("fs").writeFileSync(process.argv[2], JSON.stringify(out));
  ' "$work" "$dir/ecs_flat.json.tmp"
  mv "$dir/ecs_flat.json.tmp" "$dir/ecs_flat.json"
fi
echo "format checkers are in $dir"
