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
#   status   exit 0 when running, 3 when not (three-node mode: 4 when only some nodes run)
#   topics   create missing topics only (the broker must be running)
#   reset    stop and delete .data/kafka (all topics and offsets)
#   stop/status/reset act on the mode recorded in .run/kafka-<KAFKA_PORT>.mode (1 or 3 nodes).
#
# Environment:
#   KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (+1)     listener ports on localhost
#   KAFKA_NODES (1)                                   3 = three-node KRaft cluster on one machine
#                                                     (fault tests): node i has client port
#                                                     KAFKA_PORT+2(i-1), controller port +1;
#                                                     replication 3, min ISR 2
#   KAFKA_HEAP_OPTS ("-Xms256m -Xmx512m")             broker heap (per node)
#   KAFKA_START_TIMEOUT (120)                         seconds to wait for readiness
#   KAFKA_TOPICS_WITH_TOPICCOMMAND=1                  create topics with TopicCommand (one JVM each)
#                                                     instead of the one-JVM EnsureTopics helper
#
# Files: .run/kafka.pid, .run/kafka/server.properties (rendered), .run/logs/kafka.log (log4j2),
#        .run/logs/kafka.out (JVM stdout/stderr), .data/kafka (log.dirs), .cache/kafka-libs (jars);
#        a single node on another port P uses .run/kafka-P.pid, .run/kafka-P/, .run/logs/kafka-P/, .data/kafka-P.
#        Three-node mode (B = KAFKA_PORT): .run/kafka-3n-B/node-<i>.{properties,pid},
#        .run/logs/kafka-3n-B/node-<i>/kafka.{log,out}, .data/kafka-3n-B/node-<i>.
set -euo pipefail

LOG_TAG=kafka
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT_GIVEN="${KAFKA_CONTROLLER_PORT:+1}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
KAFKA_HOST=localhost
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-120}"
KAFKA_NODES_GIVEN="${KAFKA_NODES:+1}"
KAFKA_NODES="${KAFKA_NODES:-1}"
BOOTSTRAP="$KAFKA_HOST:$KAFKA_PORT"
REPLICATION=1 # of the topics created from topics.txt; 3 in three-node mode

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
# The single node on the default port keeps the plain names; on any other port every file carries the
# port, so `KAFKA_PORT=29092 kafka.sh start|stop|status|reset` never touches the broker on 9092.
SINGLE_NAME=kafka
[[ "$KAFKA_PORT" == 9092 ]] || SINGLE_NAME="kafka-$KAFKA_PORT"
KAFKA_DATA="$DATA_DIR/$SINGLE_NAME"
KAFKA_RUN="$RUN_DIR/$SINGLE_NAME"
PROPS="$KAFKA_RUN/server.properties"
PID_FILE="$RUN_DIR/$SINGLE_NAME.pid"
SINGLE_LOG_DIR="$LOG_DIR"
[[ "$SINGLE_NAME" == kafka ]] || SINGLE_LOG_DIR="$LOG_DIR/$SINGLE_NAME"
OUT_FILE="$SINGLE_LOG_DIR/kafka.out"
SERVER_LOG="$SINGLE_LOG_DIR/kafka.log"
READY_LINE="Kafka Server started"

# Three-node mode (KAFKA_NODES=3); names include the base port so that clusters on other
# ports never share files with each other or with the single node.
MODE_FILE="$RUN_DIR/kafka-$KAFKA_PORT.mode" # "1" or "3": the mode started on this base port
CLUSTER_NAME="kafka-3n-$KAFKA_PORT"
CLUSTER_RUN="$RUN_DIR/$CLUSTER_NAME"
CLUSTER_DATA="$DATA_DIR/$CLUSTER_NAME"
CLUSTER_LOGS="$LOG_DIR/$CLUSTER_NAME"
CLUSTER_SIZE=3

usage() {
  sed -n '4,30p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
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
      -Dkafka.logs.dir="$SINGLE_LOG_DIR" -Dlog4j2.configurationFile="$SERVER_LOG4J" \
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
      --create --if-not-exists --topic "$name" --partitions "$parts" --replication-factor "$REPLICATION" 2>&1)"; then
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
    summary="$(JAVA_TOOL_CP="$HELPER_DIR" java_tool EnsureTopics "$BOOTSTRAP" "$TOPICS_FILE" 60 "$REPLICATION")" ||
      die "creating topics from ${TOPICS_FILE#"$REPO_ROOT"/} failed"
    info "$summary"
  else
    info "creating topics with one TopicCommand JVM per topic (no javac, or KAFKA_TOPICS_WITH_TOPICCOMMAND=1; slower)"
    topics_with_topic_command
  fi
  info "topics ensured in $(elapsed_since "$t0")s"
}

# --- three-node mode (KAFKA_NODES=3) ----------------------------------------------------

node_port() { printf '%s\n' "$((KAFKA_PORT + 2 * ($1 - 1)))"; }
node_controller_port() { printf '%s\n' "$((KAFKA_PORT + 2 * ($1 - 1) + 1))"; }
node_props() { printf '%s\n' "$CLUSTER_RUN/node-$1.properties"; }
node_pid_file() { printf '%s\n' "$CLUSTER_RUN/node-$1.pid"; }
node_data() { printf '%s\n' "$CLUSTER_DATA/node-$1"; }
node_logs() { printf '%s\n' "$CLUSTER_LOGS/node-$1"; }

cluster_voters() {
  local i voters=""
  for ((i = 1; i <= CLUSTER_SIZE; i++)); do
    voters+="${voters:+,}$i@$KAFKA_HOST:$(node_controller_port "$i")"
  done
  printf '%s\n' "$voters"
}

cluster_bootstrap() {
  local i servers=""
  for ((i = 1; i <= CLUSTER_SIZE; i++)); do
    servers+="${servers:+,}$KAFKA_HOST:$(node_port "$i")"
  done
  printf '%s\n' "$servers"
}

# set_prop FILE KEY VALUE: replace the KEY= line of a rendered server.properties (the key must
# be in the template, so a renamed key fails loudly instead of being silently ignored).
set_prop() {
  grep -qE "^$2=" "$1" || die "key $2 not found in ${TEMPLATE#"$REPO_ROOT"/}"
  sed -i -e "s|^$2=.*|$2=$3|" "$1"
}

# render_node_props I FILE: the single-node template with node I's ports, id, quorum and
# replication settings of a three-node cluster.
render_node_props() {
  local i="$1" file="$2"
  sed -e "s|@KAFKA_PORT@|$(node_port "$i")|g" \
    -e "s|@KAFKA_CONTROLLER_PORT@|$(node_controller_port "$i")|g" \
    -e "s|@KAFKA_LOG_DIRS@|$(node_data "$i")|g" \
    "$TEMPLATE" >"$file"
  set_prop "$file" node.id "$i"
  set_prop "$file" controller.quorum.voters "$(cluster_voters)"
  set_prop "$file" default.replication.factor 3
  set_prop "$file" min.insync.replicas 2
  set_prop "$file" offsets.topic.replication.factor 3
  set_prop "$file" transaction.state.log.replication.factor 3
  set_prop "$file" transaction.state.log.min.isr 2
  set_prop "$file" share.coordinator.state.topic.replication.factor 3
  set_prop "$file" share.coordinator.state.topic.min.isr 2
}

# node_running_pid I: pid of node I (pid file, else a kafka.Kafka JVM with its properties file).
node_running_pid() {
  local i="$1" pid props
  props="$(node_props "$i")"
  if pid="$(pidfile_alive "$(node_pid_file "$i")" "kafka.Kafka")" && pid_cmdline_has "$pid" "$props"; then
    printf '%s\n' "$pid"
    return 0
  fi
  for pid in $(pgrep -f 'kafka[.]Kafka' || true); do
    if pid_cmdline_has "$pid" "$props"; then
      write_pid "$(node_pid_file "$i")" "$pid"
      printf '%s\n' "$pid"
      return 0
    fi
  done
  return 1
}

# cluster_running_count: how many nodes of the cluster on this base port run.
cluster_running_count() {
  local i n=0
  for ((i = 1; i <= CLUSTER_SIZE; i++)); do
    if node_running_pid "$i" >/dev/null; then
      n=$((n + 1))
    fi
  done
  printf '%s\n' "$n"
}

# running_mode: 3 when a node of the three-node cluster on KAFKA_PORT runs, 1 when the single
# node runs with client port KAFKA_PORT; fails when neither.
running_mode() {
  if (($(cluster_running_count) > 0)); then
    echo 3
    return 0
  fi
  if running_pid >/dev/null && grep -qE "^listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT," "$PROPS" 2>/dev/null; then
    echo 1
    return 0
  fi
  return 1
}

# recorded_mode: the mode of .run/kafka-<port>.mode, else KAFKA_NODES.
recorded_mode() {
  local m=""
  [[ -f "$MODE_FILE" ]] && m="$(tr -cd '0-9' <"$MODE_FILE")"
  case "$m" in
    1 | 3) echo "$m" ;;
    *) echo "$KAFKA_NODES" ;;
  esac
}

node_show_log_tail() {
  local f
  for f in "$(node_logs "$1")/kafka.log" "$(node_logs "$1")/kafka.out"; do
    if [[ -s "$f" ]]; then
      printf -- '----- node %s: last 15 lines of %s -----\n' "$1" "${f#"$REPO_ROOT"/}" >&2
      tail -n 15 "$f" >&2
    fi
  done
}

# stop_cluster_pids GRACE PID...: SIGTERM to all at once (a node stopping alone would wait for
# a quorum that is shutting down as well), wait up to GRACE s, then SIGKILL what is left.
stop_cluster_pids() {
  local grace="$1" pid alive
  shift
  local deadline=$((SECONDS + grace))
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  while ((SECONDS < deadline)); do
    alive=0
    for pid in "$@"; do pid_alive "$pid" && alive=1; done
    ((alive)) || return 0
    sleep 0.25
  done
  for pid in "$@"; do
    if pid_alive "$pid"; then
      warn "kafka node (pid $pid) still running after ${grace}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  sleep 0.5
  for pid in "$@"; do ! pid_alive "$pid" || return 1; done
}

# format_cluster_storage: format every node not yet formatted with the cluster id of the
# formatted ones (or a new id); all three must share one cluster id.
format_cluster_storage() {
  local i id="" node_id meta t0
  t0="$(now_s)"
  for ((i = 1; i <= CLUSTER_SIZE; i++)); do
    meta="$(node_data "$i")/meta.properties"
    [[ -f "$meta" ]] || continue
    node_id="$(sed -n 's/^cluster.id=//p' "$meta")"
    if [[ -n "$id" && "$node_id" != "$id" ]]; then
      die "nodes of ${CLUSTER_DATA#"$REPO_ROOT"/} have different cluster ids ($id, $node_id); run: KAFKA_NODES=3 KAFKA_PORT=$KAFKA_PORT kafka.sh reset"
    fi
    id="$node_id"
  done
  local formatted=0
  for ((i = 1; i <= CLUSTER_SIZE; i++)); do
    [[ -f "$(node_data "$i")/meta.properties" ]] && continue
    if [[ -z "$id" ]]; then
      id="$(java_tool kafka.tools.StorageTool random-uuid | tail -n 1)"
      [[ -n "$id" ]] || die "kafka.tools.StorageTool random-uuid printed nothing"
    fi
    java_tool kafka.tools.StorageTool format -t "$id" -c "$(node_props "$i")" >&2 ||
      die "kafka.tools.StorageTool format failed for node $i"
    formatted=$((formatted + 1))
  done
  if ((formatted > 0)); then
    info "formatted $formatted node(s) of ${CLUSTER_DATA#"$REPO_ROOT"/} with cluster id $id in $(elapsed_since "$t0")s"
  else
    info "storage of all nodes already formatted (cluster.id=$id)"
  fi
}

# launch_cluster I...: start the given nodes together (a node of a fresh cluster only gets
# ready once a quorum of controllers runs), then wait until every node of the cluster answers
# and logged "Kafka Server started".
launch_cluster() {
  local i pid t0 heap logs props
  local -A offset=() pids=()
  read -r -a heap <<<"$KAFKA_HEAP_OPTS"
  t0="$(now_s)"
  for i in "$@"; do
    logs="$(node_logs "$i")"
    props="$(node_props "$i")"
    mkdir -p "$logs"
    offset[$i]="$(stat -c %s "$logs/kafka.log" 2>/dev/null || echo 0)"
    printf '===== %s kafka.sh start (node %s) =====\n' "$(date -Is)" "$i" >>"$logs/kafka.out"
    (
      cd "$REPO_ROOT"
      exec setsid nohup java "${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
        -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
        -Dkafka.logs.dir="$logs" -Dlog4j2.configurationFile="$SERVER_LOG4J" \
        -cp "$LIBS_DIR/*" kafka.Kafka "$props" >>"$logs/kafka.out" 2>&1 </dev/null 9>&-
    ) &
    pids[$i]=$!
  done
  sleep 0.3
  for i in "$@"; do
    pid="${pids[$i]}"
    if ! pid_cmdline_has "$pid" "kafka.Kafka"; then
      pid="$(node_running_pid "$i")" || {
        node_show_log_tail "$i"
        die "the Kafka JVM of node $i exited at once"
      }
      pids[$i]="$pid"
    fi
    write_pid "$(node_pid_file "$i")" "$pid"
    info "started node $i (pid $pid, port $(node_port "$i"), controller $(node_controller_port "$i"), heap: $KAFKA_HEAP_OPTS)"
  done

  info "waiting for $(cluster_bootstrap) ..."
  local deadline=$((SECONDS + KAFKA_START_TIMEOUT)) pending failed=""
  local -A ready=()
  while :; do
    pending=0
    for i in "$@"; do
      [[ -n "${ready[$i]:-}" ]] && continue
      if ! pid_alive "${pids[$i]}"; then
        failed="node $i exited during startup"
        break 2
      fi
      if port_open "$KAFKA_HOST" "$(node_port "$i")" &&
        SERVER_LOG="$(node_logs "$i")/kafka.log" log_has_ready_line "${offset[$i]}"; then
        ready[$i]=1
        info "node $i ready $(elapsed_since "$t0")s after launch, RSS $(rss_mib "${pids[$i]}") MiB"
      else
        pending=$((pending + 1))
      fi
    done
    ((pending == 0)) && break
    if ((SECONDS >= deadline)); then
      failed="not all nodes ready within ${KAFKA_START_TIMEOUT}s (no '$READY_LINE' in their kafka.log)"
      break
    fi
    sleep 0.25
  done
  # nodes that were already running must answer as well
  for ((i = 1; i <= CLUSTER_SIZE; i++)); do
    [[ -n "$failed" ]] && break
    port_open "$KAFKA_HOST" "$(node_port "$i")" || failed="node $i does not answer on port $(node_port "$i")"
  done
  if [[ -n "$failed" ]]; then
    for i in "$@"; do node_show_log_tail "$i"; done
    printf -- '-----\n' >&2
    stop_cluster_pids 30 "${pids[@]}" || true
    for i in "$@"; do rm -f "$(node_pid_file "$i")"; done
    die "$failed; stopped the nodes started now (logs in ${CLUSTER_LOGS#"$REPO_ROOT"/})"
  fi
  info "all $CLUSTER_SIZE nodes ready $(elapsed_since "$t0")s after launch"
}

cmd_start_cluster() {
  local t0 i pid port owner props
  local -a to_launch=()
  t0="$(now_s)"
  ensure_dirs
  cmd_fetch
  mkdir -p "$CLUSTER_RUN" "$CLUSTER_DATA" "$CLUSTER_LOGS"
  for ((i = 1; i <= CLUSTER_SIZE; i++)); do
    props="$(node_props "$i")"
    render_node_props "$i" "$props.new"
    if pid="$(node_running_pid "$i")"; then
      [[ -f "$props" ]] || cp "$props.new" "$props"
      if ! cmp -s "$props.new" "$props"; then
        warn "node $i: server.properties.template changed since it started; apply with: kafka.sh stop && kafka.sh start"
      fi
      rm -f "$props.new"
      info "node $i already running (pid $pid) on $KAFKA_HOST:$(node_port "$i")"
    else
      for port in "$(node_port "$i")" "$(node_controller_port "$i")"; do
        if port_open "$KAFKA_HOST" "$port"; then
          rm -f "$props.new"
          owner="$(port_owner "$port")"
          die "port $port (node $i) is already in use by a process not started by this script${owner:+: $owner}. Stop it, or choose another base port with KAFKA_PORT."
        fi
      done
      mv "$props.new" "$props"
      to_launch+=("$i")
    fi
  done
  printf '3\n' >"$MODE_FILE"
  if ((${#to_launch[@]} > 0)); then
    format_cluster_storage
    launch_cluster "${to_launch[@]}"
  fi
  ensure_topics
  info "Kafka cluster of $CLUSTER_SIZE nodes up on $BOOTSTRAP (kafka.sh start took $(elapsed_since "$t0")s)"
}

cmd_stop_cluster() {
  local i pid t0
  local -a node_pids=()
  for ((i = 1; i <= CLUSTER_SIZE; i++)); do
    if pid="$(node_running_pid "$i")"; then
      node_pids+=("$pid")
    fi
  done
  if ((${#node_pids[@]} > 0)); then
    t0="$(now_s)"
    info "stopping ${#node_pids[@]} Kafka node(s) of $CLUSTER_NAME (pids ${node_pids[*]}, SIGTERM, up to 30s) ..."
    stop_cluster_pids 30 "${node_pids[@]}" || die "could not stop all of pids ${node_pids[*]}"
    info "stopped in $(elapsed_since "$t0")s"
  else
    info "not running ($CLUSTER_NAME)"
  fi
  for ((i = 1; i <= CLUSTER_SIZE; i++)); do rm -f "$(node_pid_file "$i")"; done
  rm -f "$MODE_FILE"
}

cmd_status_cluster() {
  local i pid n=0 state
  for ((i = 1; i <= CLUSTER_SIZE; i++)); do
    if pid="$(node_running_pid "$i")"; then
      n=$((n + 1))
      state="not answering yet"
      port_open "$KAFKA_HOST" "$(node_port "$i")" && state="answering"
      echo "kafka node $i: running (pid $pid, RSS $(rss_mib "$pid") MiB) on $KAFKA_HOST:$(node_port "$i") ($state)," \
        "controller $KAFKA_HOST:$(node_controller_port "$i"), data $(node_data "$i" | sed "s|^$REPO_ROOT/||")"
    else
      echo "kafka node $i: not running (port $(node_port "$i"))"
    fi
  done
  echo "kafka: $n of $CLUSTER_SIZE nodes running ($CLUSTER_NAME, bootstrap $BOOTSTRAP)"
  ((n == CLUSTER_SIZE)) && return 0
  ((n == 0)) && return 3
  return 4
}

cmd_topics_cluster() { cmd_topics; }

cmd_reset_cluster() {
  cmd_stop_cluster
  rm -rf "$CLUSTER_DATA" "$CLUSTER_RUN"
  info "deleted ${CLUSTER_DATA#"$REPO_ROOT"/} (next start formats fresh storage)"
}

# --- commands ------------------------------------------------------------------------

cmd_start() {
  local t0 pid
  t0="$(now_s)"
  ensure_dirs
  cmd_fetch
  mkdir -p "$KAFKA_RUN" "$KAFKA_DATA" "$SINGLE_LOG_DIR"
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
  printf '1\n' >"$MODE_FILE"
  ensure_topics
  info "Kafka up on $BOOTSTRAP (kafka.sh start took $(elapsed_since "$t0")s)"
}

cmd_stop() {
  local pid t0
  if pid="$(running_pid)"; then
    t0="$(now_s)"
    info "stopping Kafka (pid $pid, SIGTERM, up to 30s) ..."
    stop_pid "$pid" kafka 30 || die "could not stop pid $pid"
    rm -f "$PID_FILE" "$MODE_FILE"
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

# use_mode N: point the command functions at the single node (1) or the cluster (3).
MODE_SUFFIX=""
use_mode() {
  if [[ "$1" == 3 ]]; then
    MODE_SUFFIX=_cluster
    REPLICATION=3
    KAFKA_CONTROLLER_PORT=$((KAFKA_PORT + 1))
    BOOTSTRAP="$(cluster_bootstrap)"
  else
    MODE_SUFFIX=""
  fi
}

# start_checked: refuse to start a mode other than the one running on this base port.
start_checked() {
  local running
  if running="$(running_mode)" && [[ "$running" != "$KAFKA_NODES" ]]; then
    die "a $running-node Kafka is already running on base port $KAFKA_PORT; refusing to start KAFKA_NODES=$KAFKA_NODES. Stop it first (KAFKA_PORT=$KAFKA_PORT bash infra/scripts/kafka.sh stop) or start with KAFKA_NODES=$running."
  fi
  use_mode "$KAFKA_NODES"
  "cmd_start$MODE_SUFFIX"
}

# on_running_mode CMD: run cmd_CMD for the mode running on this base port (else the recorded
# mode, else KAFKA_NODES).
on_running_mode() {
  local mode
  mode="$(running_mode)" || mode="$(recorded_mode)"
  if [[ "$mode" != "$KAFKA_NODES" && -n "${KAFKA_NODES_GIVEN:-}" ]]; then
    info "KAFKA_NODES=$KAFKA_NODES, but the Kafka on base port $KAFKA_PORT runs with $mode node(s): acting on that"
  fi
  use_mode "$mode"
  "cmd_$1$MODE_SUFFIX"
}

main() {
  validate_port KAFKA_PORT "$KAFKA_PORT"
  validate_port KAFKA_CONTROLLER_PORT "$KAFKA_CONTROLLER_PORT"
  [[ "$KAFKA_START_TIMEOUT" =~ ^[0-9]+$ ]] || die "KAFKA_START_TIMEOUT must be a number of seconds"
  case "$KAFKA_NODES" in
    1) ;;
    3)
      validate_port "KAFKA_PORT+5 (last port of the three nodes)" "$((KAFKA_PORT + 5))"
      if [[ -n "${KAFKA_CONTROLLER_PORT_GIVEN:-}" && "$KAFKA_CONTROLLER_PORT" != "$((KAFKA_PORT + 1))" ]]; then
        warn "KAFKA_CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT ignored with KAFKA_NODES=3 (controller ports are KAFKA_PORT+1, +3, +5)"
      fi
      ;;
    *) die "KAFKA_NODES must be 1 or 3, got '$KAFKA_NODES'" ;;
  esac
  local cmd="${1:-}"
  case "$cmd" in
    fetch) with_lock kafka cmd_fetch ;;
    start) with_lock kafka start_checked ;;
    stop) with_lock kafka on_running_mode stop ;;
    status) on_running_mode status ;;
    topics) with_lock kafka on_running_mode topics ;;
    reset) with_lock kafka on_running_mode reset ;;
    -h | --help | help) usage ;;
    *)
      usage
      exit 2
      ;;
  esac
}

main "$@"
