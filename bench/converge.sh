#!/usr/bin/env bash
# Measures the local target: a first converge of site.yml into a fresh
# prefix, converges with nothing to do (the median of three), then playbooks/verify.yml
# and playbooks/status.yml (the median of 5 runs), and prints the wall time
# of each. Goal: the no-op converge takes at most
# 10% of the first one (issue 20). It runs beside the default site (own prefix, ports,
# instance and state) and removes everything it made at the end.
#
#   bench/converge.sh                     # pip may use its wheel cache
#   DASKHUB_BENCH_NO_PIP_CACHE=1 bench/converge.sh   # download everything, as a fresh machine does
#
# Results are also appended to bench/results/converge.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export PATH="$root/.venv/bin:$PATH"
work=$(mktemp -d /tmp/daskhub-bench.XXXXXX)
# As root, the users' accounts run the stack from the prefix inside: its
# parents must be searchable by them, as /opt is (mktemp makes it 0700).
chmod 755 "$work"
prefix="$work/prefix"
inventory="$work/inventory"

cleanup() {
  # The project's own uninstall: it stops whatever runs the prefix's software,
  # the users' servers and clusters included, and the watchdog's cron entry.
  if [ -d "$prefix" ]; then
    ansible-playbook -i "$inventory" playbooks/uninstall.yml -e purge=true >"$work/uninstall.log" 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$inventory/group_vars/all" "$inventory/group_vars/daskhub"
cp inventories/local/hosts.yml "$inventory/hosts.yml"
cp inventories/local/group_vars/all/*.yml "$inventory/group_vars/all/"
cp inventories/local/group_vars/daskhub/main.yml "$inventory/group_vars/daskhub/model.yml"
cat > "$inventory/group_vars/daskhub/zz-bench.yml" <<YAML
---
daskhub_state_dir: $work/state
daskhub_local_prefix: $prefix
daskhub_local_instance: daskhub-bench
daskhub_local_hub_port: 28000
daskhub_local_hub_api_port: 28081
daskhub_local_proxy_api_port: 28001
daskhub_local_gateway_port: 28002
daskhub_local_gateway_api_port: 28003
YAML
if [ -n "${DASKHUB_BENCH_NO_PIP_CACHE:-}" ]; then
  # pip installs uv into the venv, and uv the stack from its own cache.
  export PIP_NO_CACHE_DIR=1 UV_NO_CACHE=1
fi

run() {  # run <label> <log> <command...>: prints milliseconds, fails loudly
  local label=$1 log=$2 start end
  shift 2
  start=$(date +%s%N)
  if ! "$@" >"$log" 2>&1; then
    echo "bench: $label failed, last lines of $log:" >&2
    tail -n 30 "$log" >&2
    exit 1
  fi
  end=$(date +%s%N)
  echo $(((end - start) / 1000000))
}
seconds() { printf '%d.%d' $(($1 / 1000)) $((($1 % 1000) / 100)); }

first=$(run "first converge" "$work/first.log" ansible-playbook site.yml -i "$inventory")
# The no-op converge: the median of three, each of which must change nothing
# (one run's figure moves by a tenth with the machine's noise).
noops=()
for n in 1 2 3; do
  noops+=("$(run "no-op converge $n" "$work/noop-$n.log" ansible-playbook site.yml -i "$inventory")")
  if ! grep -Eq "localhost +: ok=[0-9]+ +changed=0 " "$work/noop-$n.log"; then
    echo "bench: no-op converge $n changed something:" >&2
    grep -E "changed:|localhost +:" "$work/noop-$n.log" >&2
    exit 1
  fi
done
second=$(printf '%s\n' "${noops[@]}" | sort -n | sed -n 2p)
verify=$(run "verify" "$work/verify.log" ansible-playbook playbooks/verify.yml -i "$inventory")
# The read-only status (issue 21): the median of bench/status.sh's runs.
status_line=$(bench/status.sh "$inventory" 5)

ratio=$((100 * second / first))
verdict=$([ $((10 * second)) -le "$first" ] && echo "goal met" || echo "goal MISSED")
status_ms=$(sed -n 's/.* median=\([0-9]*\) ms.*/\1/p' <<<"$status_line")
summary=$(printf '%s  first converge %ss  no-op converge %ss (%s%% of first, %s)  verify %ss  status %ss  cpus=%s%s' \
  "$(date -u +%Y-%m-%dT%H:%MZ)" "$(seconds "$first")" "$(seconds "$second")" "$ratio" "$verdict" \
  "$(seconds "$verify")" "$(seconds "$status_ms")" "$(nproc)" \
  "${DASKHUB_BENCH_NO_PIP_CACHE:+  no pip or uv cache}")
echo "$summary"
mkdir -p bench/results
echo "$summary" >> bench/results/converge.txt
