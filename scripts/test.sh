#!/usr/bin/env bash
# The whole test suite: dependencies, services (Redis, Docker, registry, base image), build,
# typecheck, lint, structure (dependency-cruiser: layers and cycles; knip: unused files, exports and
# dependencies), then every vitest project. Ends with "N passed, N failed".
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

source scripts/lib.sh
# The compose tests need docker-compose (Debian's 1.29); they are skipped, saying so, only when it cannot be installed.
if ! command -v docker-compose >/dev/null 2>&1; then
  echo "== installing docker-compose (Debian package) for the compose tests"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose; } >/dev/null 2>&1 ||
    echo "!! docker-compose could not be installed: the compose tests will be skipped"
fi
start_services test || { echo "0 passed, 1 failed (dependencies or services did not start)"; exit 1; }

static_failed=0
run_check() { # run_check <name> <command...>
  local name=$1
  shift
  echo "== $name"
  "$@" || { echo "!! $name failed"; static_failed=$((static_failed + 1)); }
}
# The checks after the build run at the same time (each waits on its own processes, and tsc, biome, knip and
# dependency-cruiser leave a core idle part of the time); their output is printed in this order once all ended.
checks_dir=$(mktemp -d)
start_check() { # start_check <name> <command...>: runs in the background, output and status kept in $checks_dir
  local name=$1
  shift
  names+=("$name")
  { "$@" >"$checks_dir/$name.log" 2>&1; echo $? >"$checks_dir/$name.status"; } &
  pids+=($!)
}
names=()
pids=()
run_check build npx turbo run build --output-logs=errors-only
start_check typecheck npx turbo run typecheck --output-logs=errors-only
start_check typecheck-root npx tsc -p tsconfig.json
start_check lint npx biome ci .
# Import boundaries and cycles (dependency-cruiser), unused files, exports and dependencies (knip).
start_check structure npm run -s structure
wait "${pids[@]}"
for name in "${names[@]}"; do
  echo "== $name"
  cat "$checks_dir/$name.log"
  [ "$(cat "$checks_dir/$name.status")" = 0 ] || { echo "!! $name failed"; static_failed=$((static_failed + 1)); }
done
rm -rf "$checks_dir"

results="$root/.labbot/test-results.json"
rm -f "$results"
npx vitest run --reporter=default --reporter=json --outputFile.json="$results" --reporter=./scripts/file-timings.mjs "$@"
node scripts/test-summary.mjs "$results" "$static_failed"
