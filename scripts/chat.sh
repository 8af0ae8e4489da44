#!/usr/bin/env bash
# The interactive local chat on the embedded defaults: type /lab commands at the prompt.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/ensure-deps.sh || exit 1
export LABBOT_SERVICES_LIST="$root/.labbot/services/started-by-chat.$$"
bash scripts/services.sh up || exit 1
trap 'bash scripts/services.sh down' EXIT
set -a; eval "$(bash scripts/services.sh env)"; set +a
npx turbo run build --output-logs=errors-only >/dev/null || { echo "build failed: run npx turbo run build"; exit 1; }
node apps/cli/bin/labbot.js chat "$@"
