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
MODE_FILE="$RUN_DIR/kafka-$KAFKA_PORT.mode" # "1" or "3": the mode started on this base port
READY_LINE="Kafka Server started"
PID_OF=()     # during start: node -> pid of its JVM
LOG_OFFSET=() # during start: node -> size of its kafka.log before this launch (launched nodes only)

usage() {
  sed -n '4,/^[^#]/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
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

# --- nodes -----------------------------------------------------------------------------
# Every command works on a list of nodes laid out by use_mode: one for the single node, three for
# the cluster. Node I is described by NODE_NAME[I] (for messages), NODE_PORT[I],
# NODE_CONTROLLER_PORT[I], NODE_PROPS[I], NODE_PID_FILE[I], NODE_DATA[I] and NODE_LOGS[I].

# add_node I NAME PORT CONTROLLER_PORT PROPS PID_FILE DATA LOGS
add_node() {
  NODE_IDS+=("$1")
  NODE_NAME[$1]="$2" NODE_PORT[$1]="$3" NODE_CONTROLLER_PORT[$1]="$4"
  NODE_PROPS[$1]="$5" NODE_PID_FILE[$1]="$6" NODE_DATA[$1]="$7" NODE_LOGS[$1]="$8"
}

# use_mode N: lay out the single node (1) or the three-node cluster (3) on base port KAFKA_PORT.
use_mode() {
  local i port name
  MODE="$1"
  NODE_IDS=() NODE_NAME=() NODE_PORT=() NODE_CONTROLLER_PORT=() NODE_PROPS=() NODE_PID_FILE=()
  NODE_DATA=() NODE_LOGS=()
  if [[ "$MODE" == 3 ]]; then
    # Names carry the base port, so clusters on other ports never share files with each other or
    # with the single node.
    name="kafka-3n-$KAFKA_PORT"
    MODE_LABEL="Kafka cluster $name" MODE_RUN="$RUN_DIR/$name" MODE_DATA="$DATA_DIR/$name"
    MODE_LOGS="$LOG_DIR/$name" PORTS_HINT="another base port with KAFKA_PORT" REPLICATION=3
    for i in 1 2 3; do
      port=$((KAFKA_PORT + 2 * (i - 1)))
      add_node "$i" "Kafka node $i" "$port" "$((port + 1))" "$MODE_RUN/node-$i.properties" \
        "$MODE_RUN/node-$i.pid" "$MODE_DATA/node-$i" "$MODE_LOGS/node-$i"
    done
  else
    # The single node on the default port keeps the plain names; on any other port every file
    # carries the port, so `KAFKA_PORT=29092 kafka.sh start|stop|status|reset` never touches the
    # broker on 9092.
    name=kafka
    [[ "$KAFKA_PORT" == 9092 ]] || name="kafka-$KAFKA_PORT"
    MODE_LABEL=Kafka MODE_RUN="$RUN_DIR/$name" MODE_DATA="$DATA_DIR/$name" MODE_LOGS="$LOG_DIR"
    [[ "$name" == kafka ]] || MODE_LOGS="$LOG_DIR/$name"
    PORTS_HINT="other ports with KAFKA_PORT / KAFKA_CONTROLLER_PORT" REPLICATION=1
    add_node 1 Kafka "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" "$MODE_RUN/server.properties" \
      "$RUN_DIR/$name.pid" "$MODE_DATA" "$MODE_LOGS"
  fi
  MODE_NAME="$name"
  BOOTSTRAP=""
  for i in "${NODE_IDS[@]}"; do
    BOOTSTRAP+="${BOOTSTRAP:+,}$KAFKA_HOST:${NODE_PORT[i]}"
  done
}

# set_prop FILE KEY VALUE: replace the KEY= line of a rendered server.properties (the key must
# be in the template, so a renamed key fails loudly instead of being silently ignored).
set_prop() {
  grep -qE "^$2=" "$1" || die "key $2 not found in ${TEMPLATE#"$REPO_ROOT"/}"
  sed -i -e "s|^$2=.*|$2=$3|" "$1"
}

# render_props I FILE: node I's server.properties. The template is the single node's; a cluster
# node gets its own id, the quorum of all nodes, and replication 3 / min ISR 2.
render_props() {
  local i="$1" file="$2" j voters=""
  sed -e "s|@KAFKA_PORT@|${NODE_PORT[i]}|g" \
    -e "s|@KAFKA_CONTROLLER_PORT@|${NODE_CONTROLLER_PORT[i]}|g" \
    -e "s|@KAFKA_LOG_DIRS@|${NODE_DATA[i]}|g" \
    "$TEMPLATE" >"$file"
  [[ "$MODE" == 3 ]] || return 0
  for j in "${NODE_IDS[@]}"; do
    voters+="${voters:+,}$j@$KAFKA_HOST:${NODE_CONTROLLER_PORT[j]}"
  done
  set_prop "$file" node.id "$i"
  set_prop "$file" controller.quorum.voters "$voters"
  set_prop "$file" default.replication.factor 3
  set_prop "$file" min.insync.replicas 2
  set_prop "$file" offsets.topic.replication.factor 3
  set_prop "$file" transaction.state.log.replication.factor 3
  set_prop "$file" transaction.state.log.min.isr 2
  set_prop "$file" share.coordinator.state.topic.replication.factor 3
  set_prop "$file" share.coordinator.state.topic.min.isr 2
}

# format_storage: format every node not formatted yet. All nodes of a cluster must share one
# cluster id, so a node formatted later takes the id of those already formatted.
format_storage() {
  local i id="" node_id meta t0 formatted=0
  for i in "${NODE_IDS[@]}"; do
    meta="${NODE_DATA[i]}/meta.properties"
    [[ -f "$meta" ]] || continue
    node_id="$(sed -n 's/^cluster.id=//p' "$meta")"
    if [[ -n "$id" && "$node_id" != "$id" ]]; then
      die "nodes of ${MODE_DATA#"$REPO_ROOT"/} have different cluster ids ($id, $node_id); run: KAFKA_NODES=$MODE KAFKA_PORT=$KAFKA_PORT kafka.sh reset"
    fi
    id="$node_id"
  done
  for i in "${NODE_IDS[@]}"; do
    [[ ! -f "${NODE_DATA[i]}/meta.properties" ]] || continue
    t0="$(now_s)"
    if [[ -z "$id" ]]; then
      id="$(java_tool kafka.tools.StorageTool random-uuid | tail -n 1)"
      [[ -n "$id" ]] || die "kafka.tools.StorageTool random-uuid printed nothing"
    fi
    java_tool kafka.tools.StorageTool format -t "$id" -c "${NODE_PROPS[i]}" >&2 ||
      die "kafka.tools.StorageTool format failed for ${NODE_DATA[i]#"$REPO_ROOT"/}"
    info "formatted ${NODE_DATA[i]#"$REPO_ROOT"/} with cluster id $id in $(elapsed_since "$t0")s"
    formatted=1
  done
  ((formatted)) || info "storage already formatted (cluster.id=$id)"
}

# node_pid I: pid of node I's JVM. The pid file only counts when its process is a kafka.Kafka
# started with this node's properties (a recycled pid is never taken for ours); when the file
# was lost, the JVM is looked up by its command line and the file rewritten.
node_pid() {
  local i="$1" pid
  if pid="$(pidfile_alive "${NODE_PID_FILE[i]}" "kafka.Kafka ${NODE_PROPS[i]}")"; then
    printf '%s\n' "$pid"
    return 0
  fi
  for pid in $(pgrep -f 'kafka[.]Kafka' || true); do
    if pid_cmdline_has "$pid" "kafka.Kafka ${NODE_PROPS[i]}"; then
      write_pid "${NODE_PID_FILE[i]}" "$pid"
      printf '%s\n' "$pid"
      return 0
    fi
  done
  return 1
}

# stop_pids PID...: SIGTERM to all at once (a cluster node stopping alone would wait for a
# quorum that is shutting down as well), then SIGKILL whatever is left after 30 s.
stop_pids() {
  local pid rc=0
  local -a stoppers=()
  for pid in "$@"; do
    stop_pid "$pid" kafka 30 &
    stoppers+=("$!")
  done
  for pid in "${stoppers[@]}"; do
    wait "$pid" || rc=1
  done
  return "$rc"
}

# show_log_tails I...: the end of the log files of the given nodes.
show_log_tails() {
  local i f lines=25
  (($# == 1)) || lines=15 # three nodes' tails must still fit on a screen
  for i in "$@"; do
    for f in "${NODE_LOGS[i]}/kafka.log" "${NODE_LOGS[i]}/kafka.out"; do
      if [[ -s "$f" ]]; then
        printf -- '----- last %s lines of %s -----\n' "$lines" "${f#"$REPO_ROOT"/}" >&2
        tail -n "$lines" "$f" >&2
      fi
    done
  done
  printf -- '-----\n' >&2
}

# log_has_ready_line FILE OFFSET: "Kafka Server started" appears in FILE after byte OFFSET.
log_has_ready_line() {
  local file="$1" offset="$2" size
  [[ -f "$file" ]] || return 1
  size="$(stat -c %s "$file")"
  ((size >= offset)) || offset=0 # the log rolled over meanwhile
  tail -c "+$((offset + 1))" "$file" | grep -qF "$READY_LINE"
}

# launch I...: start the given nodes together: a node of a fresh cluster only gets ready once a
# quorum of controllers runs. Sets PID_OF[I] and LOG_OFFSET[I] (where this launch's log begins).
launch() {
  local i pid heap
  read -r -a heap <<<"$KAFKA_HEAP_OPTS"
  for i in "$@"; do
    mkdir -p "${NODE_LOGS[i]}"
    LOG_OFFSET[i]="$(stat -c %s "${NODE_LOGS[i]}/kafka.log" 2>/dev/null || echo 0)"
    printf '===== %s kafka.sh start =====\n' "$(date -Is)" >>"${NODE_LOGS[i]}/kafka.out"
    # setsid: own session, so the broker outlives the calling shell/CI step; 9>&- so the broker
    # does not inherit (and hold forever) the lock taken by with_lock.
    (
      cd "$REPO_ROOT"
      exec setsid nohup java "${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
        -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
        -Dkafka.logs.dir="${NODE_LOGS[i]}" -Dlog4j2.configurationFile="$SERVER_LOG4J" \
        -cp "$LIBS_DIR/*" kafka.Kafka "${NODE_PROPS[i]}" >>"${NODE_LOGS[i]}/kafka.out" 2>&1 </dev/null 9>&-
    ) &
    PID_OF[i]=$!
  done
  # setsid execs in place unless it is a process-group leader; double-check the pids.
  sleep 0.3
  for i in "$@"; do
    pid="${PID_OF[i]}"
    if ! pid_cmdline_has "$pid" kafka.Kafka; then
      pid="$(node_pid "$i")" || {
        show_log_tails "$i"
        die "${NODE_NAME[i]}: the JVM exited at once"
      }
      PID_OF[i]="$pid"
    fi
    write_pid "${NODE_PID_FILE[i]}" "$pid"
    info "started ${NODE_NAME[i]} (pid $pid, port ${NODE_PORT[i]}, controller ${NODE_CONTROLLER_PORT[i]}, heap: $KAFKA_HEAP_OPTS)"
  done
  info "waiting for $BOOTSTRAP ..."
}

# wait_ready T0: wait until every node answers on its client port and each node launched now has
# also logged the ready line since its launch (a port can answer before the broker is usable).
# On failure the nodes launched now are stopped again.
wait_ready() {
  local t0="$1" i failed=""
  local deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  local -a pending=("${NODE_IDS[@]}") left launched=("${!LOG_OFFSET[@]}")
  local -A answers=()
  while ((${#pending[@]} > 0)); do
    left=()
    for i in "${pending[@]}"; do
      if ! pid_alive "${PID_OF[i]}"; then
        failed="${NODE_NAME[i]} exited during startup"
        break 2
      fi
      if [[ -z "${answers[$i]:-}" ]]; then
        if ! port_open "$KAFKA_HOST" "${NODE_PORT[i]}"; then
          left+=("$i")
          continue
        fi
        answers[$i]=1
        [[ -z "${LOG_OFFSET[i]:-}" ]] || info "port ${NODE_PORT[i]} answers after $(elapsed_since "$t0")s"
      fi
      [[ -n "${LOG_OFFSET[i]:-}" ]] || continue # was running already: answering is enough
      if log_has_ready_line "${NODE_LOGS[i]}/kafka.log" "${LOG_OFFSET[i]}"; then
        info "${NODE_NAME[i]} ready ('$READY_LINE') $(elapsed_since "$t0")s after launch, RSS $(rss_mib "${PID_OF[i]}") MiB"
      else
        left+=("$i")
      fi
    done
    pending=("${left[@]}")
    ((${#pending[@]} > 0)) || break
    if ((SECONDS >= deadline)); then
      for i in "${pending[@]}"; do
        failed+="${failed:+; }${NODE_NAME[i]}"
        if [[ -z "${LOG_OFFSET[i]:-}" ]]; then
          failed+=" (pid ${PID_OF[i]}) runs but does not answer on $KAFKA_HOST:${NODE_PORT[i]}"
        elif [[ -z "${answers[$i]:-}" ]]; then
          failed+=" not ready within ${KAFKA_START_TIMEOUT}s (no answer on port ${NODE_PORT[i]})"
        else
          failed+=" not ready within ${KAFKA_START_TIMEOUT}s (no '$READY_LINE' in its kafka.log)"
        fi
      done
      break
    fi
    sleep 0.25
  done
  if [[ -z "$failed" ]]; then
    if ((${#NODE_IDS[@]} > 1 && ${#launched[@]} > 0)); then
      info "all ${#NODE_IDS[@]} nodes ready $(elapsed_since "$t0")s after launch"
    fi
    return 0
  fi
  ((${#launched[@]} > 0)) || die "$failed; try: kafka.sh stop && kafka.sh start"
  show_log_tails "${launched[@]}"
  local -a launched_pids=()
  for i in "${launched[@]}"; do launched_pids+=("${PID_OF[i]}"); done
  stop_pids "${launched_pids[@]}" || true
  for i in "${launched[@]}"; do rm -f "${NODE_PID_FILE[i]}"; done
  die "$failed; stopped the node(s) started now (logs in ${MODE_LOGS#"$REPO_ROOT"/})"
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

# --- commands ------------------------------------------------------------------------

cmd_start() {
  local t0 i pid port owner props
  local -a to_launch=()
  t0="$(now_s)"
  ensure_dirs
  cmd_fetch
  mkdir -p "$MODE_RUN" "$MODE_DATA" "$MODE_LOGS"
  for i in "${NODE_IDS[@]}"; do
    props="${NODE_PROPS[i]}"
    render_props "$i" "$props.new"
    if pid="$(node_pid "$i")"; then
      [[ -f "$props" ]] || cp "$props.new" "$props" # .run/ was wiped under a running broker
      if [[ "$(grep -E '^listeners=' "$props.new")" != "$(grep -E '^listeners=' "$props")" ]]; then
        rm -f "$props.new"
        die "${NODE_NAME[i]} is already running (pid $pid) on other ports: $(grep -E '^listeners=' "$props"). Run kafka.sh stop first."
      fi
      if ! cmp -s "$props.new" "$props"; then
        warn "${NODE_NAME[i]}: server.properties.template changed since it started; apply with: kafka.sh stop && kafka.sh start"
      fi
      rm -f "$props.new"
      info "${NODE_NAME[i]} already running (pid $pid) on $KAFKA_HOST:${NODE_PORT[i]}"
      PID_OF[i]="$pid"
    else
      for port in "${NODE_PORT[i]}" "${NODE_CONTROLLER_PORT[i]}"; do
        if port_open "$KAFKA_HOST" "$port"; then
          rm -f "$props.new"
          owner="$(port_owner "$port")"
          die "port $port (${NODE_NAME[i]}) is already in use by a process not started by this script${owner:+: $owner}. Stop it, or choose $PORTS_HINT."
        fi
      done
      mv "$props.new" "$props"
      to_launch+=("$i")
    fi
  done
  # Recorded before the launch, so that stop/status/reset find a half-started cluster as well.
  printf '%s\n' "$MODE" >"$MODE_FILE"
  local t_launch="$t0"
  if ((${#to_launch[@]} > 0)); then
    format_storage
    t_launch="$(now_s)"
    launch "${to_launch[@]}"
  fi
  wait_ready "$t_launch"
  ensure_topics
  info "$MODE_LABEL up on $BOOTSTRAP (kafka.sh start took $(elapsed_since "$t0")s)"
}

cmd_stop() {
  local i pid t0 s
  local -a pids=()
  for i in "${NODE_IDS[@]}"; do
    if pid="$(node_pid "$i")"; then
      pids+=("$pid")
    fi
  done
  if ((${#pids[@]} > 0)); then
    t0="$(now_s)"
    s="${pids[1]:+s}" # "pids" for more than one
    info "stopping $MODE_LABEL (pid$s ${pids[*]}, SIGTERM, up to 30s) ..."
    stop_pids "${pids[@]}" || die "could not stop pid$s ${pids[*]}"
    info "stopped in $(elapsed_since "$t0")s"
  else
    info "not running ($MODE_NAME)"
    for i in "${NODE_IDS[@]}"; do
      if port_open "$KAFKA_HOST" "${NODE_PORT[i]}"; then
        warn "port ${NODE_PORT[i]} is answering, but not from a Kafka started by this script: left alone"
      fi
    done
  fi
  for i in "${NODE_IDS[@]}"; do rm -f "${NODE_PID_FILE[i]}"; done
  rm -f "$MODE_FILE"
}

# status: exit 0 when every node runs, 3 when none does, 4 when only some do.
cmd_status() {
  local i pid who state running=0
  for i in "${NODE_IDS[@]}"; do
    who="${NODE_NAME[i],,}"
    if pid="$(node_pid "$i")"; then
      running=$((running + 1))
      state="not answering yet"
      port_open "$KAFKA_HOST" "${NODE_PORT[i]}" && state="answering"
      echo "$who: running (pid $pid, RSS $(rss_mib "$pid") MiB) on $KAFKA_HOST:${NODE_PORT[i]} ($state)," \
        "controller $KAFKA_HOST:${NODE_CONTROLLER_PORT[i]}, data ${NODE_DATA[i]#"$REPO_ROOT"/}"
    elif port_open "$KAFKA_HOST" "${NODE_PORT[i]}"; then
      echo "$who: not started by this script, but port ${NODE_PORT[i]} is in use: $(port_owner "${NODE_PORT[i]}")"
    else
      echo "$who: not running (port ${NODE_PORT[i]})"
    fi
  done
  if ((${#NODE_IDS[@]} > 1)); then
    echo "kafka: $running of ${#NODE_IDS[@]} nodes running ($MODE_NAME, bootstrap $BOOTSTRAP)"
  fi
  ((running == ${#NODE_IDS[@]})) && return 0
  ((running == 0)) && return 3
  return 4
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
  rm -rf "$MODE_DATA" "$MODE_RUN"
  info "deleted ${MODE_DATA#"$REPO_ROOT"/} (next start formats fresh storage)"
}

# running_mode: 3 when a node of the three-node cluster on KAFKA_PORT runs, 1 when the single
# node runs with client port KAFKA_PORT; fails when neither. Call it in $(...): it changes the
# layout.
running_mode() {
  local i
  use_mode 3
  for i in "${NODE_IDS[@]}"; do
    if node_pid "$i" >/dev/null; then
      echo 3
      return 0
    fi
  done
  use_mode 1
  if node_pid 1 >/dev/null && grep -qE "^listeners=PLAINTEXT://$KAFKA_HOST:$KAFKA_PORT," "${NODE_PROPS[1]}" 2>/dev/null; then
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

# start_checked: refuse to start a mode other than the one running on this base port.
start_checked() {
  local running
  if running="$(running_mode)" && [[ "$running" != "$KAFKA_NODES" ]]; then
    die "a $running-node Kafka is already running on base port $KAFKA_PORT; refusing to start KAFKA_NODES=$KAFKA_NODES. Stop it first (KAFKA_PORT=$KAFKA_PORT bash infra/scripts/kafka.sh stop) or start with KAFKA_NODES=$running."
  fi
  use_mode "$KAFKA_NODES"
  cmd_start
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
  "cmd_$1"
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
