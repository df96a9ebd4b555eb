#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer where DATABASE_URL and REDIS_URL point, starting
# private local instances only when nothing answers there.
#
# usage: bash infra/scripts/datastores.sh <command>
#   ensure   PostgreSQL: use the server that answers; else initdb a private cluster under
#            .data/postgres (trust auth, superuser = the URL's user, database = the URL's
#            database) and start it on the URL's host/port. Redis: likewise, redis-server
#            --daemonize with --dir .data/redis and no persistence.
#   stop     stop only what this script started (pid files .run/postgres.pid, .run/redis.pid)
#   status   exit 0 when both answer, 3 otherwise
#
# Environment: DATABASE_URL (postgres://root@127.0.0.1:5432/test), REDIS_URL (redis://127.0.0.1:6379)
set -euo pipefail

LOG_TAG=datastores
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

DATABASE_URL="${DATABASE_URL:-postgres://root@127.0.0.1:5432/test}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"

PG_BASE="$DATA_DIR/postgres"          # owned by the postgres OS user: data/ + postgres.log
PG_PID_FILE="$RUN_DIR/postgres.pid"    # written only when this script started the server
PG_DATADIR_FILE="$RUN_DIR/postgres.datadir"
REDIS_DIR="$DATA_DIR/redis"
REDIS_PID_FILE="$RUN_DIR/redis.pid"
REDIS_LOG="$LOG_DIR/redis.log"
START_TIMEOUT="${DATASTORES_START_TIMEOUT:-60}"

usage() {
  sed -n '4,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
}

# --- URL parsing -----------------------------------------------------------------------

# parse_url URL SCHEMES: sets URL_USER URL_PASS URL_HOST (IPv6 without brackets) URL_PORT URL_PATH
# from scheme://[user[:pass]@]host[:port][/path], or fails when the scheme is not one of SCHEMES (a|b).
parse_url() {
  local re="^($2)://(([^:@/]*)(:([^@/]*))?@)?(\\[[^]]*\\]|[^:/?]*)(:([0-9]+))?(/([^?]*))?"
  [[ "$1" =~ $re ]] || return 1
  URL_USER="${BASH_REMATCH[3]}"
  URL_PASS="${BASH_REMATCH[5]}"
  URL_HOST="${BASH_REMATCH[6]#[}"
  URL_HOST="${URL_HOST%]}"
  URL_PORT="${BASH_REMATCH[8]}"
  URL_PATH="${BASH_REMATCH[10]}"
}

# parse_pg_url: sets PG_USER PG_PASS PG_HOST PG_PORT PG_DB from DATABASE_URL.
parse_pg_url() {
  parse_url "$DATABASE_URL" 'postgres|postgresql' || die "DATABASE_URL is not a postgres:// URL: $DATABASE_URL"
  PG_USER="${URL_USER:-${PGUSER:-$(id -un)}}"
  PG_PASS="$URL_PASS"
  PG_HOST="${URL_HOST:-127.0.0.1}"
  PG_PORT="${URL_PORT:-5432}"
  PG_DB="${URL_PATH:-$PG_USER}"
}

# parse_redis_url: sets REDIS_HOST REDIS_PORT REDIS_PASS from REDIS_URL.
parse_redis_url() {
  parse_url "$REDIS_URL" 'redis|rediss' || die "REDIS_URL is not a redis:// URL: $REDIS_URL"
  REDIS_PASS="$URL_PASS"
  REDIS_HOST="${URL_HOST:-127.0.0.1}"
  REDIS_PORT="${URL_PORT:-6379}"
}

is_local_host() {
  case "$1" in
    localhost | 127.* | ::1) return 0 ;;
    *) return 1 ;;
  esac
}

# --- PostgreSQL ----------------------------------------------------------------------------

# pg_bin NAME: path of a PostgreSQL binary (PATH first, then the newest /usr/lib/postgresql/*/bin).
pg_bin() {
  local name="$1" dir
  if command -v "$name" >/dev/null 2>&1; then
    command -v "$name"
    return 0
  fi
  for dir in $(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -rV); do
    if [[ -x "$dir/$name" ]]; then
      printf '%s\n' "$dir/$name"
      return 0
    fi
  done
  return 1
}

pg_answers() {
  local isready
  if isready="$(pg_bin pg_isready)"; then
    "$isready" -q -h "$PG_HOST" -p "$PG_PORT" -t 3
  else
    port_open "$PG_HOST" "$PG_PORT"
  fi
}

# psql_run SQL [DB]: run SQL as the URL's user over TCP.
psql_run() {
  local psql
  psql="$(pg_bin psql)" || return 1
  PGPASSWORD="$PG_PASS" PGCONNECT_TIMEOUT=5 "$psql" -X -q -A -t -v ON_ERROR_STOP=1 \
    -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "${2:-$PG_DB}" -c "$1"
}

# pg_os_user: the OS user that owns and runs the private cluster (postgres refuses to run as root).
pg_os_user() {
  if ((EUID != 0)); then
    id -un
  elif id -u postgres >/dev/null 2>&1; then
    echo postgres
  else
    if ! id -u gelombang-pg >/dev/null 2>&1; then
      useradd --system --no-create-home --shell /usr/sbin/nologin gelombang-pg ||
        die "no 'postgres' OS user and could not create 'gelombang-pg'"
      info "created system user gelombang-pg to run the private PostgreSQL"
    fi
    echo gelombang-pg
  fi
}

# as_user USER CMD...: run CMD as USER (directly when that is us already).
as_user() {
  local user="$1"
  shift
  if [[ "$user" == "$(id -un)" ]]; then
    "$@"
  else
    runuser -u "$user" -- "$@"
  fi
}

# pg_base_for USER: .data/postgres, or a folder under /var/tmp when USER cannot reach the repo
# (e.g. a clone under /root, which is mode 700).
pg_base_for() {
  local user="$1"
  mkdir -p "$DATA_DIR"
  if as_user "$user" test -x "$DATA_DIR" 2>/dev/null; then
    printf '%s\n' "$PG_BASE"
  else
    printf '/var/tmp/gelombang-postgres-%s\n' "$(printf '%s' "$REPO_ROOT" | sha256sum | cut -c1-12)"
  fi
}

pg_start_private() {
  local initdb pg_ctl user base datadir t0
  initdb="$(pg_bin initdb)" || die "PostgreSQL does not answer on $PG_HOST:$PG_PORT and no initdb binary was found (install postgresql)"
  pg_ctl="$(pg_bin pg_ctl)" || die "PostgreSQL does not answer on $PG_HOST:$PG_PORT and no pg_ctl binary was found"
  is_local_host "$PG_HOST" || die "PostgreSQL does not answer on $PG_HOST:$PG_PORT, which is not a local address: cannot start it here"
  t0="$(now_s)"
  user="$(pg_os_user)"
  base="$(pg_base_for "$user")"
  datadir="$base/data"
  mkdir -p "$base"
  chown "$user" "$base"
  chmod 700 "$base"
  if [[ ! -f "$datadir/PG_VERSION" ]]; then
    info "initdb private cluster in $datadir (OS user $user, superuser $PG_USER, trust auth)"
    as_user "$user" "$initdb" -D "$datadir" -U "$PG_USER" -A trust -E UTF8 --no-locale >"$LOG_DIR/postgres-initdb.log" 2>&1 ||
      {
        tail -n 20 "$LOG_DIR/postgres-initdb.log" >&2
        die "initdb failed (full output in ${LOG_DIR#"$REPO_ROOT"/}/postgres-initdb.log)"
      }
  fi
  info "starting private PostgreSQL ($("$pg_ctl" --version)) on $PG_HOST:$PG_PORT ..."
  # TCP only (-k ''): no socket folder needed, nothing clashes with a system cluster.
  if ! as_user "$user" "$pg_ctl" -D "$datadir" -l "$base/postgres.log" -w -t "$START_TIMEOUT" \
    -o "-p $PG_PORT -h $PG_HOST -k ''" start >/dev/null 9>&-; then
    tail -n 20 "$base/postgres.log" >&2 || true
    die "pg_ctl start failed (log: $base/postgres.log)"
  fi
  write_pid "$PG_PID_FILE" "$(head -n 1 "$datadir/postmaster.pid")"
  printf '%s\n' "$datadir" >"$PG_DATADIR_FILE"
  ln -sfn "$base/postgres.log" "$LOG_DIR/postgres.log"
  if [[ -z "$(psql_run "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'" postgres)" ]]; then
    psql_run "CREATE DATABASE \"$PG_DB\"" postgres
    info "created database $PG_DB"
  fi
  info "started private PostgreSQL (pid $(read_pid "$PG_PID_FILE"), data $datadir) in $(elapsed_since "$t0")s"
}

# ensure_answering NAME PID_FILE PROCESS ANSWERS START ADDRESS: a server we started and still runs, one
# that answers on its own (never ours to stop), or START a private one.
ensure_answering() {
  local name=$1 pid_file=$2 process=$3 answers=$4 start=$5 address=$6 pid
  if pid="$(pidfile_alive "$pid_file" "$process")" && "$answers"; then
    info "$name: private instance already running (pid $pid) on $address"
  elif "$answers"; then
    info "$name: found a server answering on $address (not started by this script)"
  else
    info "$name: nothing answers on $address"
    "$start"
  fi
}

pg_ensure() {
  parse_pg_url
  ensure_answering postgres "$PG_PID_FILE" postgres pg_answers pg_start_private "$PG_HOST:$PG_PORT"
  if command -v psql >/dev/null 2>&1 || pg_bin psql >/dev/null; then
    if psql_run 'SELECT 1' >/dev/null 2>&1; then
      info "postgres: connected as $PG_USER to database $PG_DB"
    else
      warn "postgres answers, but connecting as '$PG_USER' to database '$PG_DB' failed:"
      psql_run 'SELECT 1' >/dev/null || true
      return 1
    fi
  fi
}

pg_stop() {
  parse_pg_url
  local pid datadir pg_ctl user
  if ! pid="$(pidfile_alive "$PG_PID_FILE" postgres)"; then
    rm -f "$PG_PID_FILE"
    info "postgres: not started by this script, nothing to stop"
    return 0
  fi
  datadir="$(cat "$PG_DATADIR_FILE" 2>/dev/null || echo "$PG_BASE/data")"
  user="$(stat -c %U "$datadir")"
  if pg_ctl="$(pg_bin pg_ctl)" && as_user "$user" "$pg_ctl" -D "$datadir" -m fast -w -t 30 stop >/dev/null; then
    :
  else
    stop_pid "$pid" postgres 30 || die "could not stop postgres pid $pid"
  fi
  rm -f "$PG_PID_FILE" "$PG_DATADIR_FILE"
  info "postgres: stopped private cluster (pid $pid)"
}

# --- Redis --------------------------------------------------------------------------------

redis_answers() {
  if command -v redis-cli >/dev/null 2>&1; then
    [[ "$(REDISCLI_AUTH="$REDIS_PASS" timeout 5 redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]
  else
    port_open "$REDIS_HOST" "$REDIS_PORT"
  fi
}

redis_start_private() {
  local t0 args
  require_cmd redis-server "install redis-server"
  is_local_host "$REDIS_HOST" || die "Redis does not answer on $REDIS_HOST:$REDIS_PORT, which is not a local address: cannot start it here"
  t0="$(now_s)"
  mkdir -p "$REDIS_DIR"
  args=(--daemonize yes --bind "$REDIS_HOST" --port "$REDIS_PORT" --dir "$REDIS_DIR"
    --save '' --appendonly no --pidfile "$REDIS_PID_FILE" --logfile "$REDIS_LOG")
  if [[ -n "$REDIS_PASS" ]]; then
    args+=(--requirepass "$REDIS_PASS")
  fi
  redis-server "${args[@]}" 9>&- || die "redis-server failed to start (log: ${REDIS_LOG#"$REPO_ROOT"/})"
  local deadline=$((SECONDS + START_TIMEOUT))
  until redis_answers; do
    if ((SECONDS >= deadline)); then
      tail -n 20 "$REDIS_LOG" >&2 || true
      die "redis-server not answering on $REDIS_HOST:$REDIS_PORT after ${START_TIMEOUT}s"
    fi
    sleep 0.2
  done
  info "started private Redis ($(redis-server --version | awk '{ sub("v=", "", $3); print $3 }')) pid $(read_pid "$REDIS_PID_FILE") on $REDIS_HOST:$REDIS_PORT in $(elapsed_since "$t0")s"
}

redis_ensure() {
  parse_redis_url
  ensure_answering redis "$REDIS_PID_FILE" redis-server redis_answers redis_start_private "$REDIS_HOST:$REDIS_PORT"
}

redis_stop() {
  parse_redis_url
  local pid
  if ! pid="$(pidfile_alive "$REDIS_PID_FILE" redis-server)"; then
    rm -f "$REDIS_PID_FILE"
    info "redis: not started by this script, nothing to stop"
    return 0
  fi
  stop_pid "$pid" redis 30 || die "could not stop redis pid $pid"
  rm -f "$REDIS_PID_FILE"
  info "redis: stopped private instance (pid $pid)"
}

# --- commands --------------------------------------------------------------------------------

cmd_ensure() {
  ensure_dirs
  local rc=0
  pg_ensure || rc=1
  redis_ensure || rc=1
  return "$rc"
}

cmd_stop() {
  pg_stop
  redis_stop
}

cmd_status() {
  local rc=0 pid
  parse_pg_url
  parse_redis_url
  if pg_answers; then
    if pid="$(pidfile_alive "$PG_PID_FILE" postgres)"; then
      echo "postgres: answering on $PG_HOST:$PG_PORT (private cluster, pid $pid)"
    else
      echo "postgres: answering on $PG_HOST:$PG_PORT (external)"
    fi
  else
    echo "postgres: not answering on $PG_HOST:$PG_PORT"
    rc=3
  fi
  if redis_answers; then
    if pid="$(pidfile_alive "$REDIS_PID_FILE" redis-server)"; then
      echo "redis: answering on $REDIS_HOST:$REDIS_PORT (private instance, pid $pid)"
    else
      echo "redis: answering on $REDIS_HOST:$REDIS_PORT (external)"
    fi
  else
    echo "redis: not answering on $REDIS_HOST:$REDIS_PORT"
    rc=3
  fi
  return "$rc"
}

case "${1:-}" in
  ensure) with_lock datastores cmd_ensure ;;
  stop) with_lock datastores cmd_stop ;;
  status) cmd_status ;;
  -h | --help | help) usage ;;
  *)
    usage
    exit 2
    ;;
esac
