#!/usr/bin/env bash
# The test tools (requirements/tests.txt: pytest, Molecule, the linters,
# Playwright, ...) into .venv, on top of scripts/bootstrap.sh's runtime, and
# the system packages the test suite uses beyond .venv: a real slapd for the LDAP
# user source, cron for the schedule test, pebble (an ACME server) for HTTPS, Node.js and npm for
# configurable-http-proxy and the helm/kubectl test copies, and the headers
# the jupyterhub 3.2.1 hub image's pinned pycurl and psycopg2 build from
# source with (tests/support/chart_envs.py), and Debian's Chromium with the
# pinned Playwright that drives it (requirements/tests.txt, never a browser
# download), and ShellCheck, which a test of ansible-test sanity runs
# (scripts/run_ansible_test.py). Installs only what
# is missing, and only where it can (root with apt-get); elsewhere the tests
# that need a missing one skip and say why.
set -euo pipefail
missing=()
command -v slapd >/dev/null 2>&1 || [ -x /usr/sbin/slapd ] || missing+=(slapd ldap-utils)
command -v crontab >/dev/null 2>&1 || missing+=(cron)
# Let's Encrypt's test ACME server: the public site's certificates (tests/support/public_stack.py).
command -v pebble >/dev/null 2>&1 || missing+=(pebble)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
for package in libcurl4-openssl-dev libssl-dev libpq-dev chromium chromium-driver; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
# The test tools' lock, requirements/tests.txt (hashed; on the runtime's
# versions of requirements/controller.txt), into .venv; again only when the
# lock changed.
install_test_tools() {
  local venv=.venv stamp=.venv/.daskhub-test-deps want
  [ -x "$venv/bin/python" ] || return 0
  want=$(sha256sum requirements/tests.txt | cut -d' ' -f1)
  [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && return 0
  echo "test-deps: installing requirements/tests.txt into $venv"
  if [ -x "$venv/bin/uv" ]; then
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 "$venv/bin/uv" pip install --quiet --python "$venv/bin/python" \
      --compile-bytecode --require-hashes -r requirements/tests.txt
  else
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
      --require-hashes -r requirements/tests.txt
  fi
  echo "$want" >"$stamp"
}
cd "$(dirname "$0")/.."
install_test_tools
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "test-deps: not installing ${missing[*]} (needs root and apt-get); the tests that use them will skip"
  exit 0
fi
echo "test-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
