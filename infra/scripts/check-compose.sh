#!/usr/bin/env bash
# Parse-check docker-compose.yml (no Docker engine needed): installs Debian's docker-compose
# (1.29) when no compose implementation is present, then runs `config -q`, which validates
# the YAML, anchors/merge keys, variable interpolation and the compose schema.
#
# usage: bash infra/scripts/check-compose.sh [compose-file]   (default: <repo>/docker-compose.yml)
set -euo pipefail

LOG_TAG=compose
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

COMPOSE_FILE="${1:-$REPO_ROOT/docker-compose.yml}"
[[ -f "$COMPOSE_FILE" ]] || die "no such file: $COMPOSE_FILE"

install_docker_compose() {
  ((EUID == 0)) || die "docker-compose is missing and installing it needs root (apt-get install docker-compose)"
  require_cmd apt-get "install docker-compose by hand"
  info "installing Debian's docker-compose (apt-get, quiet) ..."
  local log="${TMPDIR:-/tmp}/gelombang-apt-docker-compose.log"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose; } >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    die "apt-get install docker-compose failed (full log: $log)"
  fi
}

# Prefer Debian's docker-compose; the docker CLI's compose plugin works without an engine too.
if command -v docker-compose >/dev/null 2>&1; then
  compose=(docker-compose)
elif command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  install_docker_compose
  compose=(docker-compose)
fi

info "checking ${COMPOSE_FILE#"$REPO_ROOT"/} with ${compose[*]} ($("${compose[@]}" version --short 2>/dev/null || echo '?'))"
# Run from the compose file's folder so relative paths resolve as they would for `up`.
(cd "$(dirname "$COMPOSE_FILE")" && "${compose[@]}" -f "$COMPOSE_FILE" config -q)
info "docker-compose.yml OK: $(cd "$(dirname "$COMPOSE_FILE")" && "${compose[@]}" -f "$COMPOSE_FILE" config --services | sort | tr '\n' ' ')"
