#!/usr/bin/env bash
# Brings up the real services labbot's tests and demo use, all on loopback, idempotently:
# Redis (AOF on), a Docker engine, a container registry and the offline base image.
# `down` stops only what `up` started (pids recorded under .labbot/services).
#   bash scripts/services.sh up|down|status|env
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
state="${LABBOT_SERVICES_DIR:-$root/.labbot/services}"
redis_port="${LABBOT_TEST_REDIS_PORT:-6390}"
registry_port="${LABBOT_TEST_REGISTRY_PORT:-5050}"
base_image="${LABBOT_BASE_IMAGE:-labbot/busybox:1}"
# Names of the services this invocation's `up` started; `down` with the same list stops only them.
started_list="${LABBOT_SERVICES_LIST:-$state/started.list}"
mkdir -p "$state"

log() { printf '[services] %s\n' "$*" >&2; }

apt_updated=0
ensure_apt() { # ensure_apt <binary> <debian package>
  command -v "$1" >/dev/null 2>&1 && return 0
  install_pkg "$2"
}

install_pkg() {
  log "installing $1 (Debian package)"
  if [ "$apt_updated" = 0 ]; then apt-get update -qq >/dev/null; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
}

wait_for() { # wait_for <seconds> <what> <command...>
  local seconds=$1 what=$2; shift 2
  for _ in $(seq 1 $((seconds * 5))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  log "$what did not come up in ${seconds}s"; return 1
}

started() { [ -f "$state/$1.pid" ] && kill -0 "$(cat "$state/$1.pid")" 2>/dev/null; }

redis_up() {
  ensure_apt redis-server redis-server
  if redis-cli -h 127.0.0.1 -p "$redis_port" ping >/dev/null 2>&1; then log "redis already answers on $redis_port"; return; fi
  mkdir -p "$state/redis"
  redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$state/redis" --databases 32 --appendonly yes \
    --save '' --daemonize yes --pidfile "$state/redis.pid" --logfile "$state/redis.log" >/dev/null
  wait_for 10 redis redis-cli -h 127.0.0.1 -p "$redis_port" ping
  echo redis >>"$started_list"
  log "redis started on 127.0.0.1:$redis_port (AOF on)"
}

docker_up() {
  ensure_apt dockerd docker.io
  if docker info >/dev/null 2>&1; then log "docker engine already answers"; return; fi
  # --bridge=none: containers and build steps get loopback only, which keeps tests off the network.
  setsid dockerd --host unix:///var/run/docker.sock --bridge=none --iptables=false \
    --ip-forward=false --ip-masq=false >"$state/dockerd.log" 2>&1 < /dev/null &
  echo $! >"$state/dockerd.pid"
  wait_for 60 dockerd docker info
  echo dockerd >>"$started_list"
  log "docker engine started (pid $(cat "$state/dockerd.pid"))"
}

registry_up() {
  ensure_apt docker-registry docker-registry
  # htpasswd: the registry-credentials tests run a second registry with basic auth.
  ensure_apt htpasswd apache2-utils
  if curl -fsS "http://127.0.0.1:$registry_port/v2/" >/dev/null 2>&1; then log "registry already answers on $registry_port"; return; fi
  mkdir -p "$state/registry-data"
  cat >"$state/registry.yml" <<YML
version: 0.1
log: { level: warn }
storage:
  filesystem: { rootdirectory: $state/registry-data }
  delete: { enabled: true }
http:
  addr: 127.0.0.1:$registry_port
YML
  setsid docker-registry serve "$state/registry.yml" >"$state/registry.log" 2>&1 < /dev/null &
  echo $! >"$state/registry.pid"
  wait_for 20 registry curl -fsS "http://127.0.0.1:$registry_port/v2/"
  echo registry >>"$started_list"
  log "registry started on 127.0.0.1:$registry_port"
}

base_image_up() {
  if docker image inspect "$base_image" >/dev/null 2>&1; then return; fi
  # No image can be pulled here: import a rootfs made of busybox-static and its applet links.
  # busybox-static: the one binary is statically linked, so it runs alone in the rootfs.
  dpkg -s busybox-static >/dev/null 2>&1 || install_pkg busybox-static
  local rootfs; rootfs=$(mktemp -d)
  mkdir -p "$rootfs"/{bin,tmp,etc,home/app,var/www}
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in $("$rootfs/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\napp:x:10001:10001:app:/home/app:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$rootfs/etc/passwd"
  printf 'root:x:0:\napp:x:10001:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
  chmod 1777 "$rootfs/tmp"; chown 10001:10001 "$rootfs/home/app"
  tar -C "$rootfs" -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["sh"]' - "$base_image" >/dev/null
  rm -rf "$rootfs"
  log "imported offline base image $base_image"
}

stop_pid() { # stop_pid <name>: only processes this script started
  local f="$state/$1.pid"
  [ -f "$f" ] || return 0
  local pid; pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    log "stopped $1 (pid $pid)"
  fi
  rm -f "$f"
}

case "${1:-up}" in
  up)
    command -v curl >/dev/null 2>&1 || ensure_apt curl curl
    redis_up; docker_up; registry_up; base_image_up ;;
  down)
    [ -f "$started_list" ] || exit 0
    for name in registry redis dockerd; do
      grep -qx "$name" "$started_list" && stop_pid "$name"
    done
    rm -f "$started_list" ;;
  status)
    redis-cli -h 127.0.0.1 -p "$redis_port" ping 2>/dev/null || echo "redis: down"
    docker info --format 'docker {{.ServerVersion}}' 2>/dev/null || echo "docker: down"
    curl -fsS "http://127.0.0.1:$registry_port/v2/" >/dev/null 2>&1 && echo "registry: up" || echo "registry: down" ;;
  env)
    echo "REDIS_URL=redis://127.0.0.1:$redis_port"
    echo "LABBOT_REGISTRY=127.0.0.1:$registry_port"
    echo "LABBOT_BASE_IMAGE=$base_image" ;;
  *) echo "usage: $0 up|down|status|env" >&2; exit 2 ;;
esac
