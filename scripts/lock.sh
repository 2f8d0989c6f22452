#!/usr/bin/env bash
# Re-locks the Python requirements with the bootstrap's uv, every pin with
# its hashes (the installs use --require-hashes), for Python 3.12 and later
# on any platform:
#   requirements/controller.in -> controller.txt  the runtime (bootstrap.sh)
#   requirements/tests.in      -> tests.txt       the test tools (test-deps.sh),
#                                                 on the runtime's versions
#   requirements/execution-environment.in -> .txt the execution environment's
#                                                 (exact pins, no hashes: below)
# and the test tools' own venvs' locks (oidc-provider.txt,
# network-analyzer.txt: their pins are their .in files). Pins already in a
# lock stay unless a requirement moved; --upgrade takes the newest.
# Then the local target's npm lock of configurable-http-proxy
# (roles/daskhub_local/files/configurable-http-proxy/package-lock.json) for
# the version of daskhub_local_versions.configurable_http_proxy.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/uv ] || ./scripts/bootstrap.sh
upgrade=()
[ "${1:-}" = "--upgrade" ] && upgrade=(--upgrade)
compile() {
  local source=$1 lock=$2
  shift 2
  .venv/bin/uv pip compile --quiet --generate-hashes --universal --python-version 3.12 \
    --custom-compile-command scripts/lock.sh "${upgrade[@]}" "$@" "$source" -o "$lock"
  echo "$lock: $(grep -c -E '^[A-Za-z0-9].*==' "$lock") pins"
}
compile requirements/controller.in requirements/controller.txt
compile requirements/tests.in requirements/tests.txt -c requirements/controller.txt
# Exact pins without hashes: ansible-builder merges these lines with the
# collections' requirements into one file, line by line, and pip's --hash
# options do not survive that; the versions are the hashed runtime lock's.
.venv/bin/uv pip compile --quiet --universal --python-version 3.12 --no-annotate \
  --custom-compile-command scripts/lock.sh "${upgrade[@]}" -c requirements/controller.txt \
  requirements/execution-environment.in -o requirements/execution-environment.txt
echo "requirements/execution-environment.txt: $(grep -c '==' requirements/execution-environment.txt) pins"
compile requirements/oidc-provider.in requirements/oidc-provider.txt
compile requirements/network-analyzer.in requirements/network-analyzer.txt

chp=roles/daskhub_local/files/configurable-http-proxy
version=$(.venv/bin/python -c 'import yaml, sys
print(yaml.safe_load(open(sys.argv[1]))["daskhub_local_versions"]["configurable_http_proxy"])' \
  roles/daskhub_local/defaults/main.yml)
mkdir -p "$chp"
cat >"$chp/package.json" <<JSON
{
  "name": "daskhub-configurable-http-proxy",
  "version": "1.0.0",
  "private": true,
  "description": "The local target's configurable-http-proxy; scripts/lock.sh writes this file and package-lock.json.",
  "license": "BSD-3-Clause",
  "dependencies": {
    "configurable-http-proxy": "$version"
  }
}
JSON
# Without the registry's URLs: npm ci then fetches from the registry a site
# configures (a mirror), and the integrity hashes still decide.
(cd "$chp" && rm -f package-lock.json && npm install --package-lock-only --ignore-scripts --no-audit --no-fund \
  --omit-lockfile-registry-resolved --registry https://registry.npmjs.org/ >/dev/null)
echo "$chp/package-lock.json: $(grep -c '"integrity"' "$chp/package-lock.json") packages"
