# shellcheck shell=bash
# Shared helpers for infra/scripts/*.sh. Source it, do not execute it:
#   # shellcheck source-path=SCRIPTDIR source=lib.sh
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Provides: REPO_ROOT, RUN_DIR, LOG_DIR, DATA_DIR, CACHE_DIR, log/info/warn/die,
# now_s/elapsed_since, port_open/wait_for_port, pid file helpers, with_lock.

if [[ -n "${GELOMBANG_LIB_LOADED:-}" ]]; then
  return 0
fi
GELOMBANG_LIB_LOADED=1

# --- repository layout -------------------------------------------------------

_lib_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# repo_root: the git top level if this is a checkout, else two levels above
# infra/scripts (works from a tarball or a copied tree as well).
repo_root() {
  local top
  if top="$(git -C "$_lib_dir" rev-parse --show-toplevel 2>/dev/null)" && [[ -n "$top" ]]; then
    printf '%s\n' "$top"
  else
    (cd "$_lib_dir/../.." && pwd)
  fi
}

REPO_ROOT="$(repo_root)"
RUN_DIR="$REPO_ROOT/.run"      # pid files, generated config, logs (git-ignored)
LOG_DIR="$RUN_DIR/logs"
DATA_DIR="$REPO_ROOT/.data"    # persistent state (git-ignored)
CACHE_DIR="$REPO_ROOT/.cache"  # downloaded jars, compiled helpers (git-ignored)
export REPO_ROOT RUN_DIR LOG_DIR DATA_DIR CACHE_DIR

ensure_dirs() {
  mkdir -p "$RUN_DIR" "$LOG_DIR" "$DATA_DIR" "$CACHE_DIR"
}

# --- logging -----------------------------------------------------------------

# Every message goes to stderr so that stdout stays usable for data.
# LOG_TAG is set by each script (e.g. "kafka"); colours only on a terminal.
LOG_TAG="${LOG_TAG:-infra}"

_log() {
  local level="$1"
  shift
  printf '%s [%s] %s%s\n' "$(date +%H:%M:%S)" "$LOG_TAG" "$level" "$*" >&2
}
log() { _log '' "$@"; }
info() { _log '' "$@"; }
warn() { _log 'WARN: ' "$@"; }
error() { _log 'ERROR: ' "$@"; }
die() {
  error "$@"
  exit 1
}

# require_cmd NAME [hint]: fail clearly when a tool is missing.
require_cmd() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found in PATH${2:+ ($2)}"
}

# --- time --------------------------------------------------------------------

# now_s: seconds since the epoch with milliseconds, e.g. 1764465335.123
now_s() {
  date +%s.%3N
}

# elapsed_since START: seconds since START (from now_s), one decimal.
elapsed_since() {
  awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'
}

# --- ports -------------------------------------------------------------------

# port_open HOST PORT: true when something accepts TCP connections there.
# Uses bash's /dev/tcp, bounded by `timeout` so an unroutable host cannot hang.
port_open() {
  local host="$1" port="$2"
  # shellcheck disable=SC2016 # $0/$1 are expanded by the inner bash, on purpose
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null
}

# wait_for_port HOST PORT TIMEOUT_S [PID]: wait until HOST:PORT answers.
# When PID is given, give up early if that process dies.
wait_for_port() {
  local host="$1" port="$2" timeout_s="$3" pid="${4:-}"
  local deadline=$((SECONDS + timeout_s))
  while ((SECONDS < deadline)); do
    if port_open "$host" "$port"; then
      return 0
    fi
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      return 2
    fi
    sleep 0.25
  done
  return 1
}

# port_owner PORT: best-effort description of who listens on PORT (may be empty).
port_owner() {
  local port="$1"
  if command -v ss >/dev/null 2>&1; then
    ss -Hltnp "sport = :$port" 2>/dev/null | awk '{ $1=$1; print }' | head -n 3
  fi
}

# --- pid files -----------------------------------------------------------------

# read_pid FILE: print the pid stored in FILE (digits only) or fail.
read_pid() {
  local file="$1" pid
  [[ -f "$file" ]] || return 1
  pid="$(head -n 1 "$file" 2>/dev/null | tr -cd '0-9')"
  [[ -n "$pid" ]] || return 1
  printf '%s\n' "$pid"
}

# pid_alive PID: true when the process exists (zombies count as dead).
pid_alive() {
  local pid="$1" state
  kill -0 "$pid" 2>/dev/null || return 1
  state="$(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null || true)"
  [[ "$state" != "Z" ]]
}

# pid_cmdline_has PID TEXT: true when the process command line contains TEXT
# (guards against a recycled pid belonging to an unrelated process).
pid_cmdline_has() {
  local pid="$1" text="$2"
  [[ -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$text"
}

# pidfile_alive FILE [TEXT]: print the pid when FILE names a live process
# (whose command line contains TEXT, if given). Removes a stale FILE.
pidfile_alive() {
  local file="$1" text="${2:-}" pid
  pid="$(read_pid "$file")" || return 1
  if pid_alive "$pid" && { [[ -z "$text" ]] || pid_cmdline_has "$pid" "$text"; }; then
    printf '%s\n' "$pid"
    return 0
  fi
  rm -f "$file"
  return 1
}

write_pid() {
  local file="$1" pid="$2"
  mkdir -p "$(dirname "$file")"
  printf '%s\n' "$pid" >"$file"
}

# stop_pid PID NAME [GRACE_S]: SIGTERM, wait up to GRACE_S (default 30), then SIGKILL.
stop_pid() {
  local pid="$1" name="$2" grace="${3:-30}"
  local deadline=$((SECONDS + grace))
  pid_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  while pid_alive "$pid" && ((SECONDS < deadline)); do
    sleep 0.25
  done
  if pid_alive "$pid"; then
    warn "$name (pid $pid) still running after ${grace}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  ! pid_alive "$pid"
}

# rss_mib PID: resident set size of PID in MiB (empty when unknown).
rss_mib() {
  local pid="$1"
  awk '/^VmRSS:/ { printf "%d", $2 / 1024 }' "/proc/$pid/status" 2>/dev/null || true
}

# --- locking -------------------------------------------------------------------

# with_lock NAME CMD...: run CMD while holding .run/NAME.lock (serialises
# concurrent start/stop calls from several terminals or scripts). The lock fd
# is 9; anything started in the background must close it (9>&-) or it would
# keep the lock after the script exits.
with_lock() {
  local name="$1"
  shift
  mkdir -p "$RUN_DIR"
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$RUN_DIR/$name.lock"
    if ! flock -w 180 9; then
      die "could not take $RUN_DIR/$name.lock within 180s (another $name command running?)"
    fi
  fi
  "$@"
}

# sha256 of a file (first field only).
file_hash() {
  sha256sum "$1" | awk '{ print $1 }'
}
