#!/usr/bin/env bash
# Runs the benchmarks of bench/ against the real services; figures go to BENCHMARKS.md by hand.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/lib.sh
start_services bench || exit 1
run() { echo "== $*"; node --conditions labbot-source --import tsx "$@"; }
run bench/lab-vs-manual.ts 5
run bench/class-start.ts 20 virtual
run bench/class-start.ts 20 docker
run bench/class.ts 100 virtual
run bench/class.ts 30 docker
run bench/recovery.ts 20 takeover
run bench/recovery.ts 50 takeover
