#!/usr/bin/env bash
# The local demo on the embedded defaults: dependencies, the real services (Redis, Docker,
# registry, offline base image), a build, a doctor check, then `labbot demo` (kube-sim + runner +
# local chat: start the lab, watch it to 3/3 Running, stop it).
# Extra arguments go to `labbot demo`. Services this script started are stopped at the end.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

source scripts/lib.sh
start_services demo || exit 1
npx turbo run build --output-logs=errors-only >/dev/null || { echo "build failed: run npx turbo run build"; exit 1; }
node apps/cli/bin/labbot.js doctor >/dev/null || { node apps/cli/bin/labbot.js doctor; exit 1; }
node apps/cli/bin/labbot.js demo "$@"
