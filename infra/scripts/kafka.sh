#!/usr/bin/env bash
# Local Apache Kafka 4.1.1 (KRaft, one combined broker+controller node) run from Maven jars,
# without Docker. See docs/decisions/0003-local-infrastructure.md.
#
# usage: bash infra/scripts/kafka.sh <command>
#   fetch    download the jars into .cache/kafka-libs (skipped when already complete)
#   start    fetch if needed, format storage once, start the broker in the background, wait until
#            it is usable, create the topics of infra/kafka/topics.txt. Idempotent: when it is
#            already running it says so and only ensures the topics.
#   stop     SIGTERM, wait up to 30 s, then SIGKILL
#   status   exit 0 when running, 3 when not
#   topics   create missing topics only (the broker must be running)
#   reset    stop and delete .data/kafka (all topics and offsets)
#
# Environment:
#   KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093)   listener ports on localhost
#   KAFKA_HEAP_OPTS ("-Xms256m -Xmx512m")             broker heap
#   KAFKA_START_TIMEOUT (120)                         seconds to wait for readiness
#   KAFKA_TOPICS_WITH_TOPICCOMMAND=1                  create topics with TopicCommand (one JVM each)
#                                                     instead of the one-JVM EnsureTopics helper
#
# Files: .run/kafka.pid, .run/kafka/server.properties (rendered), .run/logs/kafka.log (log4j2),
#        .run/logs/kafka.out (JVM stdout/stderr), .data/kafka (log.dirs), .cache/kafka-libs (jars).
set -euo pipefail

LOG_TAG=kafka
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_HOST=localhost
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-120}"
BOOTSTRAP="$KAFKA_HOST:$KAFKA_PORT"

KAFKA_CONF_DIR="$REPO_ROOT/infra/kafka"
POM="$KAFKA_CONF_DIR/pom.xml"
TEMPLATE="$KAFKA_CONF_DIR/server.properties.template"
TOPICS_FILE="$KAFKA_CONF_DIR/topics.txt"
SERVER_LOG4J="$KAFKA_CONF_DIR/log4j2.properties"
TOOLS_LOG4J="$KAFKA_CONF_DIR/tools-log4j2.properties"
HELPER_SRC="$KAFKA_CONF_DIR/EnsureTopics.java"

LIBS_DIR="$CACHE_DIR/kafka-libs"
LIBS_MARKER="$LIBS_DIR/.complete"   # holds the sha256 of pom.xml that produced the folder
HELPER_DIR="$CACHE_DIR/kafka-helper"
KAFKA_DATA="$DATA_DIR/kafka"
KAFKA_RUN="$RUN_DIR/kafka"
PROPS="$KAFKA_RUN/server.properties"
PID_FILE="$RUN_DIR/kafka.pid"
OUT_FILE="$LOG_DIR/kafka.out"
SERVER_LOG="$LOG_DIR/kafka.log"
READY_LINE="Kafka Server started"

usage() {
  sed -n '4,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
}

validate_port() {
  if ! [[ "$2" =~ ^[0-9]+$ ]] || (("$2" < 1 || "$2" > 65535)); then
    die "$1 must be a TCP port, got '$2'"
  fi
}

# --- jars ----------------------------------------------------------------------

libs_complete() {
  [[ -f "$LIBS_MARKER" ]] && [[ "$(cat "$LIBS_MARKER")" == "$(file_hash "$POM")" ]]
}

cmd_fetch() {
  ensure_dirs
  if libs_complete; then
    info "jars up to date in ${LIBS_DIR#"$REPO_ROOT"/} ($(find "$LIBS_DIR" -name '*.jar' | wc -l) jars)"
    return 0
  fi
  require_cmd mvn "install Maven 3.8+"
  require_cmd java "install a Java 17+ runtime"
  local t0 tmp
  t0="$(now_s)"
  tmp="$LIBS_DIR.tmp.$$"
  rm -rf "$tmp"
  info "fetching Kafka jars with Maven (pom: ${POM#"$REPO_ROOT"/}) ..."
  # Maven's output goes to a log shown only on failure (Debian's Maven 3.8.7 prints stray
  # ANSI resets even with -q -B -Dstyle.color=never).
  if ! mvn -q -B -Dstyle.color=never -f "$POM" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$tmp" >"$LOG_DIR/kafka-fetch.log" 2>&1; then
    rm -rf "$tmp"
    tail -n 40 "$LOG_DIR/kafka-fetch.log" >&2
    die "mvn dependency:copy-dependencies failed (full output: ${LOG_DIR#"$REPO_ROOT"/}/kafka-fetch.log)"
  fi
  # Swap in atomically: a half-filled folder never looks complete, and jars of an older
  # pom.xml never linger on the classpath.
  rm -rf "$LIBS_DIR"
  mv "$tmp" "$LIBS_DIR"
  file_hash "$POM" >"$LIBS_MARKER"
  info "fetched $(find "$LIBS_DIR" -name '*.jar' | wc -l) jars ($(du -sh "$LIBS_DIR" | cut -f1)) in $(elapsed_since "$t0")s"
}

# java_tool CLASS ARGS...: a short-lived CLI JVM on the Kafka classpath (small heap, C1 only:
# these JVMs live a second or two). JAVA_TOOL_CP prepends entries to the classpath.
java_tool() {
  java -Xms64m -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -Dlog4j2.configurationFile="$TOOLS_LOG4J" -cp "${JAVA_TOOL_CP:+$JAVA_TOOL_CP:}$LIBS_DIR/*" "$@"
}

# --- config and storage ------------------------------------------------------------

# render_props FILE: server.properties from the template and the current environment.
render_props() {
  sed -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" \
    -e "s|@KAFKA_CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
    -e "s|@KAFKA_LOG_DIRS@|$KAFKA_DATA|g" \
    "$TEMPLATE" >"$1"
}

format_storage_if_needed() {
  if [[ -f "$KAFKA_DATA/meta.properties" ]]; then
    info "storage already formatted ($(grep -E '^cluster.id=' "$KAFKA_DATA/meta.properties" || true))"
    return 0
  fi
  local t0 uuid
  t0="$(now_s)"
  uuid="$(java_tool kafka.tools.StorageTool random-uuid | tail -n 1)"
  [[ -n "$uuid" ]] || die "kafka.tools.StorageTool random-uuid printed nothing"
  java_tool kafka.tools.StorageTool format -t "$uuid" -c "$PROPS" >&2 ||
    die "kafka.tools.StorageTool format failed"
  info "formatted ${KAFKA_DATA#"$REPO_ROOT"/} with cluster id $uuid in $(elapsed_since "$t0")s"
}

# --- process -----------------------------------------------------------------------

# find_our_kafka: pid of a kafka.Kafka JVM started with our server.properties (in case the
# pid file was lost).
find_our_kafka() {
  local pid
  for pid in $(pgrep -f 'kafka[.]Kafka' || true); do
    if pid_cmdline_has "$pid" "$PROPS"; then
      printf '%s\n' "$pid"
      return 0
    fi
  done
  return 1
}

running_pid() {
  local pid
  if pid="$(pidfile_alive "$PID_FILE" "kafka.Kafka")"; then
    printf '%s\n' "$pid"
    return 0
  fi
  if pid="$(find_our_kafka)"; then
    write_pid "$PID_FILE" "$pid"
    printf '%s\n' "$pid"
    return 0
  fi
  return 1
}

show_log_tail() {
  local f
  for f in "$SERVER_LOG" "$OUT_FILE"; do
    if [[ -s "$f" ]]; then
      printf -- '----- last 25 lines of %s -----\n' "${f#"$REPO_ROOT"/}" >&2
      tail -n 25 "$f" >&2
    fi
  done
  printf -- '-----\n' >&2
}

# log_has_ready_line OFFSET: "Kafka Server started" appears in kafka.log after byte OFFSET.
log_has_ready_line() {
  local offset="$1" size
  [[ -f "$SERVER_LOG" ]] || return 1
  size="$(stat -c %s "$SERVER_LOG")"
  ((size >= offset)) || offset=0 # the log rolled over meanwhile
  tail -c "+$((offset + 1))" "$SERVER_LOG" | grep -qF "$READY_LINE"
}

launch() {
  local log_offset pid t0 heap
  read -r -a heap <<<"$KAFKA_HEAP_OPTS"
  log_offset="$(stat -c %s "$SERVER_LOG" 2>/dev/null || echo 0)"
  printf '===== %s kafka.sh start =====\n' "$(date -Is)" >>"$OUT_FILE"
  t0="$(now_s)"
  # setsid: own session, so the broker outlives the calling shell/CI step; 9>&- so the broker
  # does not inherit (and hold forever) the lock taken by with_lock.
  (
    cd "$REPO_ROOT"
    exec setsid nohup java "${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
      -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
      -Dkafka.logs.dir="$LOG_DIR" -Dlog4j2.configurationFile="$SERVER_LOG4J" \
      -cp "$LIBS_DIR/*" kafka.Kafka "$PROPS" >>"$OUT_FILE" 2>&1 </dev/null 9>&-
  ) &
  pid=$!
  # setsid execs in place unless it is a process-group leader; double-check the pid.
  sleep 0.3
  if ! pid_cmdline_has "$pid" "kafka.Kafka"; then
    pid="$(find_our_kafka)" || {
      show_log_tail
      die "the Kafka JVM exited at once"
    }
  fi
  write_pid "$PID_FILE" "$pid"
  info "started kafka.Kafka (pid $pid, heap: $KAFKA_HEAP_OPTS), waiting for $BOOTSTRAP ..."

  local deadline=$((SECONDS + KAFKA_START_TIMEOUT)) rc=0
  wait_for_port "$KAFKA_HOST" "$KAFKA_PORT" "$KAFKA_START_TIMEOUT" "$pid" || rc=$?
  if ((rc == 0)); then
    info "port $KAFKA_PORT answers after $(elapsed_since "$t0")s"
    while ! log_has_ready_line "$log_offset"; do
      if ! pid_alive "$pid"; then
        rc=2
        break
      fi
      if ((SECONDS >= deadline)); then
        rc=1
        break
      fi
      sleep 0.25
    done
  fi
  case "$rc" in
    0) ;;
    2)
      rm -f "$PID_FILE"
      show_log_tail
      die "Kafka exited during startup (see above; full logs in ${LOG_DIR#"$REPO_ROOT"/})"
      ;;
    *)
      show_log_tail
      stop_pid "$pid" kafka 30 || true
      rm -f "$PID_FILE"
      die "Kafka not ready within ${KAFKA_START_TIMEOUT}s (no '$READY_LINE' in kafka.log); stopped it"
      ;;
  esac
  info "ready ('$READY_LINE') $(elapsed_since "$t0")s after launch, RSS $(rss_mib "$pid") MiB"
}

# --- topics --------------------------------------------------------------------------

# compile_helper: javac EnsureTopics.java once per source/jar version into .cache/kafka-helper.
compile_helper() {
  command -v javac >/dev/null 2>&1 || return 1
  local key tmp
  key="$(cat <(file_hash "$HELPER_SRC") "$LIBS_MARKER" | sha256sum | cut -d' ' -f1)"
  if [[ -f "$HELPER_DIR/.key" && "$(cat "$HELPER_DIR/.key")" == "$key" ]]; then
    return 0
  fi
  tmp="$HELPER_DIR.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  if ! javac -nowarn -cp "$LIBS_DIR/*" -d "$tmp" "$HELPER_SRC"; then
    rm -rf "$tmp"
    die "javac of ${HELPER_SRC#"$REPO_ROOT"/} failed"
  fi
  printf '%s\n' "$key" >"$tmp/.key"
  rm -rf "$HELPER_DIR"
  mv "$tmp" "$HELPER_DIR"
}

# Fallback without a JDK compiler: one TopicCommand JVM per topic.
topics_with_topic_command() {
  local line name parts out
  while IFS= read -r line || [[ -n "$line" ]]; do
    line="${line%%#*}"
    read -r name parts _ <<<"$line" || true
    [[ -n "${name:-}" ]] || continue
    if ! out="$(java_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
      --create --if-not-exists --topic "$name" --partitions "$parts" --replication-factor 1 2>&1)"; then
      printf '%s\n' "$out" >&2
      die "TopicCommand --create $name failed"
    fi
    # (drop TopicCommand's warning about '.' and '_' in topic names: we only use '.')
    grep -v "Due to limitations in metric names" <<<"$out" >&2 || true
  done <"$TOPICS_FILE"
}

ensure_topics() {
  local t0 summary
  t0="$(now_s)"
  if [[ "${KAFKA_TOPICS_WITH_TOPICCOMMAND:-}" != 1 ]] && compile_helper; then
    summary="$(JAVA_TOOL_CP="$HELPER_DIR" java_tool EnsureTopics "$BOOTSTRAP" "$TOPICS_FILE" 60)" ||
      die "creating topics from ${TOPICS_FILE#"$REPO_ROOT"/} failed"
    info "$summary"
  else
    info "creating topics with one TopicCommand JVM per topic (no javac, or KAFKA_TOPICS_WITH_TOPICCOMMAND=1; slower)"
    topics_with_topic_command
  fi
  info "topics ensured in $(elapsed_since "$t0")s"
}

# --- commands ------------------------------------------------------------------------

cmd_start() {
  local t0 pid
  t0="$(now_s)"
  ensure_dirs
  cmd_fetch
  mkdir -p "$KAFKA_RUN" "$KAFKA_DATA"
  render_props "$PROPS.new"
  if pid="$(running_pid)"; then
    [[ -f "$PROPS" ]] || cp "$PROPS.new" "$PROPS" # .run/ was wiped under a running broker
    if [[ "$(grep -E '^listeners=' "$PROPS.new")" != "$(grep -E '^listeners=' "$PROPS")" ]]; then
      rm -f "$PROPS.new"
      die "Kafka is already running (pid $pid) on other ports: $(grep -E '^listeners=' "$PROPS"). Run kafka.sh stop first."
    fi
    if ! cmp -s "$PROPS.new" "$PROPS"; then
      warn "server.properties.template changed since this broker started; apply with: kafka.sh stop && kafka.sh start"
    fi
    rm -f "$PROPS.new"
    info "already running (pid $pid) on $BOOTSTRAP"
    wait_for_port "$KAFKA_HOST" "$KAFKA_PORT" "$KAFKA_START_TIMEOUT" "$pid" ||
      die "Kafka (pid $pid) runs but does not answer on $BOOTSTRAP; try: kafka.sh stop && kafka.sh start"
  else
    local port owner
    for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
      if port_open "$KAFKA_HOST" "$port"; then
        owner="$(port_owner "$port")"
        die "port $port is already in use by a process not started by this script${owner:+: $owner}. Stop it, or choose other ports with KAFKA_PORT / KAFKA_CONTROLLER_PORT."
      fi
    done
    mv "$PROPS.new" "$PROPS"
    format_storage_if_needed
    launch
  fi
  ensure_topics
  info "Kafka up on $BOOTSTRAP (kafka.sh start took $(elapsed_since "$t0")s)"
}

cmd_stop() {
  local pid t0
  if pid="$(running_pid)"; then
    t0="$(now_s)"
    info "stopping Kafka (pid $pid, SIGTERM, up to 30s) ..."
    stop_pid "$pid" kafka 30 || die "could not stop pid $pid"
    rm -f "$PID_FILE"
    info "stopped in $(elapsed_since "$t0")s"
  else
    rm -f "$PID_FILE"
    info "not running"
    if port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
      warn "port $KAFKA_PORT is answering, but not from a Kafka started by this script: left alone"
    fi
  fi
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    local state="not answering yet"
    port_open "$KAFKA_HOST" "$KAFKA_PORT" && state="answering"
    echo "kafka: running (pid $pid, RSS $(rss_mib "$pid") MiB) on $BOOTSTRAP ($state)," \
      "controller localhost:$KAFKA_CONTROLLER_PORT, data ${KAFKA_DATA#"$REPO_ROOT"/}"
    return 0
  fi
  if port_open "$KAFKA_HOST" "$KAFKA_PORT"; then
    echo "kafka: not started by this script, but port $KAFKA_PORT is in use: $(port_owner "$KAFKA_PORT")"
  else
    echo "kafka: not running"
  fi
  return 3
}

cmd_topics() {
  ensure_dirs
  cmd_fetch
  port_open "$KAFKA_HOST" "$KAFKA_PORT" ||
    die "nothing answers on $BOOTSTRAP; start Kafka first: bash infra/scripts/kafka.sh start"
  ensure_topics
}

cmd_reset() {
  cmd_stop
  rm -rf "$KAFKA_DATA" "$KAFKA_RUN"
  info "deleted ${KAFKA_DATA#"$REPO_ROOT"/} (next start formats fresh storage)"
}

main() {
  validate_port KAFKA_PORT "$KAFKA_PORT"
  validate_port KAFKA_CONTROLLER_PORT "$KAFKA_CONTROLLER_PORT"
  [[ "$KAFKA_START_TIMEOUT" =~ ^[0-9]+$ ]] || die "KAFKA_START_TIMEOUT must be a number of seconds"
  local cmd="${1:-}"
  case "$cmd" in
    fetch) with_lock kafka cmd_fetch ;;
    start) with_lock kafka cmd_start ;;
    stop) with_lock kafka cmd_stop ;;
    status) cmd_status ;;
    topics) with_lock kafka cmd_topics ;;
    reset) with_lock kafka cmd_reset ;;
    -h | --help | help) usage ;;
    *)
      usage
      exit 2
      ;;
  esac
}

main "$@"
