#!/usr/bin/env bash
# Runs the benchmarks of bench/ against the real services; figures go to BENCHMARKS.md by hand.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/ensure-deps.sh || exit 1
export LABBOT_SERVICES_LIST="$root/.labbot/services/started-by-bench.$$"
bash scripts/services.sh up || exit 1
trap 'bash scripts/services.sh down' EXIT
set -a; eval "$(bash scripts/services.sh env)"; set +a
run() { echo "== $*"; node --conditions labbot-source --import tsx "$@"; }
run bench/lab-vs-manual.ts 5
run bench/class-start.ts 20 virtual
run bench/class-start.ts 20 docker
