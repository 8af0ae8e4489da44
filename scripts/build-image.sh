#!/usr/bin/env bash
# Builds labbot's image offline: the app is built and pruned on the host, then copied into an image
# whose base (a build argument) scripts/base-images.sh made without pulling anything.
#   bash scripts/build-image.sh [tag]      (default labbot/labbot:latest)
# Variables: LABBOT_NODE_IMAGE (the base, default labbot/node:20).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tag="${1:-labbot/labbot:latest}"
node_image="${LABBOT_NODE_IMAGE:-labbot/node:20}"
context="$root/.labbot/image-context"
log() { printf '[build-image] %s\n' "$*" >&2; }

docker image inspect "$node_image" >/dev/null 2>&1 || bash scripts/base-images.sh
log "building the workspaces"
npx turbo run build --output-logs=errors-only >&2

log "staging the production tree in $context"
rm -rf "$context"
mkdir -p "$context"
cp package.json package-lock.json infra/entrypoint.sh "$context/"
for workspace in packages/* apps/* test/sims/*; do
  [ -f "$workspace/package.json" ] || continue
  mkdir -p "$context/$workspace"
  # Everything a package needs at run time: package.json, dist, and assets (lessons, bin); no sources.
  tar -C "$workspace" --exclude=./src --exclude=./node_modules --exclude=./bench --exclude='./tsconfig*.json' \
    --exclude='*.tsbuildinfo' --exclude=./.turbo --exclude='*.test.*' -c . | tar -C "$context/$workspace" -x
done
# Production dependencies only; from npm's cache when it has them.
(cd "$context" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error >&2)

log "docker build $tag (base $node_image)"
docker build -q -f infra/Dockerfile --build-arg "NODE_BASE=$node_image" -t "$tag" "$context"
