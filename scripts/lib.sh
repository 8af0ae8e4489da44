# Sourced by test.sh, demo.sh, chat.sh and bench.sh (from the repository root): npm dependencies, then
# the services (Redis, Docker, registry, base image) for this run, stopped on exit if this run started
# them, and their settings exported (REDIS_URL, LABBOT_REGISTRY, LABBOT_BASE_IMAGE).
# turbo prints a telemetry notice on every run unless this is set; our scripts never send telemetry.
export TURBO_TELEMETRY_DISABLED=1

start_services() { # start_services <run name>
  bash scripts/ensure-deps.sh || return 1
  # The list lives in the checkout even when LABBOT_SERVICES_DIR puts the services' state elsewhere.
  mkdir -p "$PWD/.labbot/services"
  export LABBOT_SERVICES_LIST="$PWD/.labbot/services/started-by-$1.$$"
  bash scripts/services.sh up || return 1
  trap 'bash scripts/services.sh down' EXIT
  set -a
  eval "$(bash scripts/services.sh env)"
  set +a
}
