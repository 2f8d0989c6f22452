#!/usr/bin/env bash
# Times playbooks/status.yml against a deployed site (default: the local
# site, inventories/local): N runs (default 5), each run's wall time, then
# the median and the largest. It changes nothing (status.yml is read-only
# and takes no lock), so it may run beside a live site.
#
#   bench/status.sh                          # inventories/local, 5 runs
#   bench/status.sh inventories/<site> 10
#
# Results are also appended to bench/results/status.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
inventory=${1:-inventories/local}
runs=${2:-5}
log=$(mktemp /tmp/daskhub-bench-status.XXXXXX)
trap 'rm -f "$log"' EXIT
times=()
for _ in $(seq "$runs"); do
  start=$(date +%s%N)
  # A failed status (a service down) is timed too: it is still an answer.
  ansible-playbook -i "$inventory" playbooks/status.yml >"$log" 2>&1 || echo "bench: status.yml reported a problem (exit $?)" >&2
  end=$(date +%s%N)
  times+=($(( (end - start) / 1000000 )))
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
median=$(printf '%s\n' "$sorted" | sed -n "$(( (runs + 1) / 2 ))p")
largest=$(printf '%s\n' "$sorted" | tail -n 1)
line="$(date -u +%Y-%m-%dT%H:%M:%SZ) status.yml on $inventory: runs=$runs median=${median} ms max=${largest} ms (each: ${times[*]})"
echo "$line"
mkdir -p bench/results
echo "$line" >>bench/results/status.txt
