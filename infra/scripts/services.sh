#!/usr/bin/env bash
# Start, stop and list the Gelombang services as local processes (built dist/, Node 24 from
# node_modules/.bin). Each service's pid is in .run/<name>.pid, its log in .run/logs/<name>.log.
#
# usage: bash infra/scripts/services.sh start|stop|status
# Services, ports and per-process settings are listed in infra/services.txt. Personal-data keys come from the
# environment or, for local use only, from .run/dev-keys.env (generated once, git-ignored).
set -euo pipefail

LOG_TAG=services
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

# The binary itself, not pnpm's .bin shim (a shell script that would sit between us and the signal).
NODE_BIN="$REPO_ROOT/node_modules/node/bin/node"
SERVICES_FILE="$REPO_ROOT/infra/services.txt"
DEV_KEYS="$RUN_DIR/dev-keys.env"

services() { grep -vE '^\s*(#|$)' "$SERVICES_FILE"; }

# Local keys: random per machine, never committed. Production injects PII_* from a secret store.
ensure_dev_keys() {
  if [[ -z "${PII_KEYS:-}" && ! -f "$DEV_KEYS" ]]; then
    umask 077
    {
      echo "PII_KEYS=local1:$(head -c 32 /dev/urandom | base64 -w0)"
      echo "PII_ACTIVE_KEY_ID=local1"
      echo "PII_INDEX_KEY=$(head -c 32 /dev/urandom | base64 -w0)"
    } >"$DEV_KEYS"
    info "generated local personal-data keys in $DEV_KEYS"
  fi
  # The applicant-session key pair (Ed25519): the email service signs, every service verifies.
  if [[ -z "${SESSION_SIGNING_KEY:-}" ]] && ! grep -q "^SESSION_SIGNING_KEY=" "$DEV_KEYS" 2>/dev/null; then
    (umask 077 && "$NODE_BIN" -e '
      const { privateKey, publicKey } = require("node:crypto").generateKeyPairSync("ed25519");
      console.log("SESSION_SIGNING_KEY=" + privateKey.export({ type: "pkcs8", format: "der" }).toString("base64"));
      console.log("SESSION_VERIFY_KEYS=" + publicKey.export({ type: "spki", format: "der" }).toString("base64"));' >>"$DEV_KEYS")
  fi
  # Tokens added after the first keys file was written are appended to it, once.
  local token
  for token in ADMIN_TOKEN REGISTRY_API_TOKEN; do
    if [[ -z "${!token:-}" ]] && ! grep -q "^$token=" "$DEV_KEYS" 2>/dev/null; then
      (umask 077 && echo "$token=$(head -c 24 /dev/urandom | base64 -w0 | tr '+/' '-_')" >>"$DEV_KEYS")
    fi
  done
  if [[ -f "$DEV_KEYS" ]]; then
    # Values already in the environment (production, CI secrets) win over the local file.
    local line key
    while IFS= read -r line; do
      key="${line%%=*}"
      [[ -n "$key" && -z "${!key:-}" ]] && export "$line"
    done <"$DEV_KEYS"
  fi
  return 0
}

# `HEALTH_PATH=/x` among a service's settings names its readiness URL (default /health/ready).
health_path() {
  local word
  for word in $1; do
    if [[ "$word" == HEALTH_PATH=* ]]; then
      echo "${word#HEALTH_PATH=}"
      return
    fi
  done
  echo /health/ready
}

cmd_start() {
  ensure_dirs
  [[ -x "$NODE_BIN" ]] || die "Node 24 not installed: run ./gelombang start (it installs dependencies first)"
  ensure_dev_keys
  local name port entry settings
  while read -r name port entry settings; do
    local pidfile="$RUN_DIR/$name.pid"
    if pidfile_alive "$pidfile" "$entry" >/dev/null; then
      info "$name already running (pid $(read_pid "$pidfile")) on http://127.0.0.1:$port"
      continue
    fi
    port_open 127.0.0.1 "$port" && die "port $port (for $name) is taken by $(port_owner "$port")"
    [[ -f "$REPO_ROOT/$entry" ]] || die "$entry missing: build first (pnpm run build)"
    (
      cd "$REPO_ROOT"
      # No balancer in front of a local cluster: a short drain (the default, 5 s, is for one) keeps
      # `./gelombang stop` quick.
      # shellcheck disable=SC2086 # settings: KEY=VALUE words from services.txt
      env HTTP_PORT="$port" HTTP_TRUST_PROXY="${HTTP_TRUST_PROXY:-false}" HTTP_SHUTDOWN_DRAIN_MS="${HTTP_SHUTDOWN_DRAIN_MS:-500}" $settings \
        nohup "$NODE_BIN" "$entry" >>"$LOG_DIR/$name.log" 2>&1 9>&- &
      echo $! >"$pidfile"
    )
    if ! wait_for_http "http://127.0.0.1:$port$(health_path "$settings")" 60; then
      tail -n 20 "$LOG_DIR/$name.log" >&2 || true
      die "$name did not become ready on port $port (log: $LOG_DIR/$name.log)"
    fi
    if [[ "$entry" == services/* ]]; then
      info "$name ready: http://127.0.0.1:$port  (OpenAPI: /docs/openapi.json, metrics: /metrics)"
    else
      info "$name ready: http://127.0.0.1:$port"
    fi
  done < <(services)
}

wait_for_http() {
  local url="$1" timeout="$2"
  local deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    if "$NODE_BIN" -e "fetch(process.argv[1]).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" "$url" 2>/dev/null; then
      return 0
    fi
    sleep 0.5
  done
  return 1
}

cmd_stop() {
  local name port entry
  while read -r name port entry _; do
    local pidfile="$RUN_DIR/$name.pid"
    local pid
    if pid="$(pidfile_alive "$pidfile" "$entry")"; then
      # SIGTERM: the service drains, closes consumers and flushes its producer.
      stop_pid "$pid" "$name" 30
      info "$name stopped"
    fi
    rm -f "$pidfile"
  done < <(services | tac)
}

cmd_status() {
  local rc=0 name port entry
  while read -r name port entry _; do
    if pidfile_alive "$RUN_DIR/$name.pid" "$entry" >/dev/null; then
      info "$name running (pid $(read_pid "$RUN_DIR/$name.pid")) http://127.0.0.1:$port"
    else
      info "$name not running"
      rc=3
    fi
  done < <(services)
  return $rc
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) sed -n '2,8p' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
esac
