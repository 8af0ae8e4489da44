#!/usr/bin/env bash
# The interactive local chat on the embedded defaults: type /lab commands at the prompt.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/lib.sh
start_services chat || exit 1
npx turbo run build --output-logs=errors-only >/dev/null || { echo "build failed: run npx turbo run build"; exit 1; }
node apps/cli/bin/labbot.js chat "$@"
