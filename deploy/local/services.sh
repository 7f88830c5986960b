#!/usr/bin/env bash
# Local services for amlstream, without Docker: a real Apache Kafka 4.x broker
# (KRaft, one node acting as broker + controller) and a real Redis.
#
#   services.sh install                   fetch what is missing (redis via apt, Kafka jars via mvn)
#   services.sh start  [kafka|redis|all]  install, start, wait until they answer (idempotent)
#   services.sh stop   [kafka|redis|all]  SIGTERM, up to 30 s, then SIGKILL (idempotent)
#   services.sh status                    one line per service; exit 0 only if all are up
#   services.sh topics NAME:PARTITIONS[:compact] ...   create missing topics
#   services.sh reset                     stop all and wipe Kafka's and Redis' data
#                                         (never the cluster folders below)
#
# Clusters for the reliability tests (tests/reliability), separate from the above:
#
#   services.sh cluster-start [kafka|redis|all]   3-node Kafka (KRaft, each node broker +
#                                         controller, RF 3, min ISR 2) on 127.0.0.1:19092-19094
#                                         (controllers 19192-19194); Redis Cluster of 3 masters
#                                         (+ 1 replica each) on 127.0.0.1:7001-7006, AOF on.
#                                         Starts what is missing, waits until all nodes answer.
#   services.sh cluster-stop  [kafka|redis|all]   SIGTERM every node at once, then SIGKILL
#   services.sh cluster-status [kafka|redis|all]  one line per node; exit 0 only if all are up
#   services.sh cluster-node-stop N [--kill]      stop Kafka node N (1-3): SIGTERM (controlled
#                                         shutdown, up to 30 s) or SIGKILL (--kill)
#   services.sh cluster-node-start N      start Kafka node N again; waits until it is a live
#                                         (unfenced) broker of the cluster
#   services.sh cluster-bootstrap         print the Kafka cluster's bootstrap servers
#   services.sh cluster-reset [kafka|redis|all]   stop and wipe the cluster folders
#
# Everything lives under $AMLSTREAM_LOCAL_DIR (default <project>/.local, git-ignored):
#   kafka/libs/        jars resolved by Maven from deploy/local/kafka/pom.xml
#   kafka/data/        broker log dirs (persist across restarts)
#   kafka/logs/        server.log (log4j2, WARN+) and server.out (stdout/stderr)
#   kafka/cluster.id, kafka/kafka.pid, kafka/server.properties (rendered)
#   redis/             AOF data, redis.pid, redis.log
#   kafka-cluster/     cluster.id, node-N/{data,logs,server.properties,kafka.pid}
#   redis-cluster/     node-PORT/{appendonlydir,nodes.conf,redis.pid,redis.log}
#
# Environment: AMLSTREAM_LOCAL_DIR, KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT
# (9093), REDIS_PORT (6379), KAFKA_HEAP_OPTS (-Xms512m -Xmx1g),
# SERVICES_START_TIMEOUT (seconds to wait for a service to answer, 90);
# for the clusters: KAFKA_CLUSTER_PORT (19092, first client port),
# KAFKA_CLUSTER_CONTROLLER_PORT (19192), KAFKA_CLUSTER_HEAP_OPTS (-Xms128m -Xmx384m),
# REDIS_CLUSTER_PORT (7001, first node), REDIS_CLUSTER_REPLICAS (1 per master, or 0),
# CLUSTER_START_TIMEOUT (seconds, 180).
set -euo pipefail

# --- paths and settings -------------------------------------------------------
SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
LOCAL_DIR="${AMLSTREAM_LOCAL_DIR:-$ROOT/.local}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
REDIS_PORT="${REDIS_PORT:-6379}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms512m -Xmx1g}"
START_TIMEOUT="${SERVICES_START_TIMEOUT:-90}"
STOP_TIMEOUT=30

KAFKA_POM="$SCRIPT_DIR/kafka/pom.xml"
KAFKA_TEMPLATE="$SCRIPT_DIR/kafka/server.properties"
KAFKA_LOG4J="$SCRIPT_DIR/kafka/log4j2.properties"
KAFKA_HOME="$LOCAL_DIR/kafka"
KAFKA_LIBS="$KAFKA_HOME/libs"
KAFKA_STAMP="$KAFKA_LIBS/.pom.sha256"
KAFKA_DATA="$KAFKA_HOME/data"
KAFKA_LOGS="$KAFKA_HOME/logs"
KAFKA_CONFIG="$KAFKA_HOME/server.properties"
KAFKA_PIDFILE="$KAFKA_HOME/kafka.pid"
KAFKA_CLUSTER_ID_FILE="$KAFKA_HOME/cluster.id"
KAFKA_OUT="$KAFKA_LOGS/server.out"

REDIS_HOME="$LOCAL_DIR/redis"
REDIS_PIDFILE="$REDIS_HOME/redis.pid"
REDIS_LOG="$REDIS_HOME/redis.log"

# Clusters of the reliability tests (see "clusters" below).
KAFKA_CLUSTER_PORT="${KAFKA_CLUSTER_PORT:-19092}"
KAFKA_CLUSTER_CONTROLLER_PORT="${KAFKA_CLUSTER_CONTROLLER_PORT:-19192}"
KAFKA_CLUSTER_HEAP_OPTS="${KAFKA_CLUSTER_HEAP_OPTS:--Xms128m -Xmx384m}"
KAFKA_CLUSTER_NODES=3
KAFKA_CLUSTER_HOME="$LOCAL_DIR/kafka-cluster"
KAFKA_CLUSTER_TEMPLATE="$SCRIPT_DIR/kafka/cluster-server.properties"
KCLUSTER_ID_FILE="$KAFKA_CLUSTER_HOME/cluster.id"  # the 3-node cluster's own id (not the single node's)
REDIS_CLUSTER_PORT="${REDIS_CLUSTER_PORT:-7001}"
REDIS_CLUSTER_MASTERS=3
REDIS_CLUSTER_REPLICAS="${REDIS_CLUSTER_REPLICAS:-1}"
REDIS_CLUSTER_HOME="$LOCAL_DIR/redis-cluster"
CLUSTER_START_TIMEOUT="${CLUSTER_START_TIMEOUT:-180}"

log() { printf '%s\n' "$*"; }
die() { printf 'services.sh: error: %s\n' "$*" >&2; exit 1; }

# Short-lived Kafka CLI JVMs (StorageTool, TopicCommand): small heap, C1 only,
# which roughly halves their start-up time on a 2-core machine. Their log4j2
# output (WARN and up, to the console) is left at log4j's default.
kafka_tool() {
    java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
        -cp "$KAFKA_LIBS/*" "$@"
}

# True if something accepts TCP connections on 127.0.0.1:$1 (bash's /dev/tcp).
port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Prints the pid recorded in $1 if that process is alive and its command line
# contains $2 (guards against a stale pid file whose pid was reused).
live_pid() {
    local pidfile=$1 marker=$2 pid
    [[ -s $pidfile ]] || return 1
    pid="$(<"$pidfile")"
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker" || return 1
    printf '%s\n' "$pid"
}

kafka_pid() { live_pid "$KAFKA_PIDFILE" kafka.Kafka; }
redis_pid() { live_pid "$REDIS_PIDFILE" redis-server; }

redis_ping() { [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; }

# A real metadata round trip through the Admin client, not just an open port:
# the listener opens before the broker has caught up with the KRaft metadata.
kafka_answers() {
    port_open "$KAFKA_PORT" &&
        kafka_tool org.apache.kafka.tools.TopicCommand \
            --bootstrap-server "127.0.0.1:$KAFKA_PORT" --list >/dev/null 2>&1
}

# --- install ------------------------------------------------------------------
check_java() {
    command -v java >/dev/null || die "java not found: Kafka 4 needs a Java 17+ runtime (apt-get install -y openjdk-17-jre-headless)"
    local major
    major="$(java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)"
    [[ ${major:-0} -ge 17 ]] || die "java ${major:-?} found but Kafka 4 needs Java 17+"
}

install_redis() {
    command -v redis-server >/dev/null && command -v redis-cli >/dev/null && return 0
    command -v apt-get >/dev/null || die "redis-server not found and apt-get unavailable: install Redis 7 by hand"
    [[ $(id -u) -eq 0 ]] || die "redis-server not found: run 'apt-get install -y redis-server' as root"
    log "redis: installing redis-server with apt-get"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q redis-server
    # Where the image allows services to start, Debian's package starts its own
    # redis on 6379; stop it, this script runs its own instance.
    if command -v service >/dev/null && service redis-server status >/dev/null 2>&1; then
        service redis-server stop || true
    fi
}

install_kafka() {
    check_java
    local want
    want="$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)"
    if [[ -f $KAFKA_STAMP && "$(<"$KAFKA_STAMP")" == "$want" ]] &&
        compgen -G "$KAFKA_LIBS/kafka_2.13-*.jar" >/dev/null; then
        return 0
    fi
    command -v mvn >/dev/null || die "mvn not found: it is needed once to fetch the Kafka jars (apt-get install -y maven)"
    log "kafka: resolving jars from $KAFKA_POM (Maven Central)"
    # Resolve into a fresh folder and swap it in, so an interrupted download
    # never leaves a half-filled libs/ that looks complete.
    local tmp="$KAFKA_HOME/libs.tmp"
    rm -rf "$tmp"
    mkdir -p "$KAFKA_HOME"
    # Output goes to a file (Debian's Maven 3.8 prints stray colour codes even
    # with -q) and is shown only if the resolution fails.
    mvn -B -q -f "$KAFKA_POM" dependency:copy-dependencies -DoutputDirectory="$tmp" \
        >"$KAFKA_HOME/mvn.log" 2>&1 </dev/null ||
        die "mvn could not resolve the Kafka jars; last lines of $KAFKA_HOME/mvn.log:
$(tail -n 30 "$KAFKA_HOME/mvn.log")"
    printf '%s\n' "$want" >"$tmp/.pom.sha256"
    rm -rf "$KAFKA_LIBS"
    mv "$tmp" "$KAFKA_LIBS"
    log "kafka: $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars in $KAFKA_LIBS"
}

cmd_install() {
    install_redis
    install_kafka
}

# --- redis --------------------------------------------------------------------
start_redis() {
    local pid
    if pid="$(redis_pid)"; then
        log "redis: already running (pid $pid, 127.0.0.1:$REDIS_PORT)"
        return 0
    fi
    if port_open "$REDIS_PORT"; then
        die "redis: port $REDIS_PORT is already used by a process this script did not start (set REDIS_PORT)"
    fi
    mkdir -p "$REDIS_HOME"
    # Runs in the foreground until the server has forked (daemonize yes).
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" \
        --daemonize yes --pidfile "$REDIS_PIDFILE" --logfile "$REDIS_LOG" \
        --dir "$REDIS_HOME" --appendonly yes --save '' --hash-max-listpack-value 8192 \
        || die "redis: redis-server failed to start; last lines of $REDIS_LOG:
$(tail -n 20 "$REDIS_LOG" 2>/dev/null)"
    local deadline=$((SECONDS + START_TIMEOUT))
    until redis_ping; do
        if ((SECONDS >= deadline)); then
            die "redis: no PONG on 127.0.0.1:$REDIS_PORT after ${START_TIMEOUT}s; last lines of $REDIS_LOG:
$(tail -n 20 "$REDIS_LOG" 2>/dev/null)"
        fi
        sleep 0.2
    done
    log "redis: started (pid $(redis_pid || echo '?'), 127.0.0.1:$REDIS_PORT)"
}

# --- kafka --------------------------------------------------------------------
render_kafka_config() {
    mkdir -p "$KAFKA_DATA" "$KAFKA_LOGS"
    sed -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" \
        -e "s|@KAFKA_CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
        -e "s|@KAFKA_DATA_DIR@|$KAFKA_DATA|g" \
        "$KAFKA_TEMPLATE" >"$KAFKA_CONFIG"
}

# Every test creates topics of its own and the broker keeps them. A broker holds
# every partition's segment files open: one that many test and bench runs had left
# with ~20,000 partitions stopped on "Too many open files" (limit 20,000 here).
warn_many_partitions() {
    local n
    n=$(find "$KAFKA_DATA" -mindepth 1 -maxdepth 1 -type d -name '*-[0-9]*' 2>/dev/null | wc -l)
    if ((n > 10000)); then
        log "kafka: $n partitions in $KAFKA_DATA, mostly earlier test and bench runs' topics; 'services.sh reset' wipes them"
    fi
}

# Formats the storage once (KRaft needs a cluster id and the initial
# single-voter quorum written before the first start). The data dir is never
# reformatted, so topics and records survive restarts.
format_kafka_storage() {
    [[ -f $KAFKA_DATA/meta.properties ]] && return 0
    local cluster_id
    if [[ -s $KAFKA_CLUSTER_ID_FILE ]]; then
        cluster_id="$(<"$KAFKA_CLUSTER_ID_FILE")"
    else
        cluster_id="$(kafka_tool kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)"
        [[ -n $cluster_id ]] || die "kafka: StorageTool random-uuid printed nothing"
        printf '%s\n' "$cluster_id" >"$KAFKA_CLUSTER_ID_FILE"
    fi
    log "kafka: formatting $KAFKA_DATA (cluster id $cluster_id)"
    kafka_tool kafka.tools.StorageTool format --standalone \
        -t "$cluster_id" -c "$KAFKA_CONFIG" >>"$KAFKA_OUT" 2>&1 ||
        die "kafka: storage format failed; last lines of $KAFKA_OUT:
$(tail -n 20 "$KAFKA_OUT")"
}

kafka_failure() {
    die "kafka: $1; last lines of $KAFKA_OUT:
$(tail -n 15 "$KAFKA_OUT" 2>/dev/null)
last lines of $KAFKA_LOGS/server.log:
$(tail -n 15 "$KAFKA_LOGS/server.log" 2>/dev/null)"
}

start_kafka() {
    local pid
    if pid="$(kafka_pid)"; then
        log "kafka: already running (pid $pid, 127.0.0.1:$KAFKA_PORT)"
        return 0
    fi
    local port
    for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
        if port_open "$port"; then
            die "kafka: port $port is already used by a process this script did not start (set KAFKA_PORT / KAFKA_CONTROLLER_PORT)"
        fi
    done
    render_kafka_config
    format_kafka_storage
    warn_many_partitions
    rm -f "$KAFKA_PIDFILE"
    printf '\n=== %s start\n' "$(date -Is)" >>"$KAFKA_OUT"
    # setsid: the broker gets its own session, so a Ctrl-C or a kill of the
    # caller's process group does not take it down. The inner bash writes its
    # own pid and then execs java, so the pid file holds the JVM's pid whether
    # or not setsid had to fork. JVM flags follow Kafka's kafka-run-class.sh.
    # KAFKA_HEAP_OPTS is split into words on purpose.
    # shellcheck disable=SC2016,SC2086 # $$ and "$@" belong to the inner bash
    setsid nohup bash -c 'echo $$ >"$0"; exec "$@"' "$KAFKA_PIDFILE" \
        java $KAFKA_HEAP_OPTS \
        -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
        -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
        -Dkafka.logs.dir="$KAFKA_LOGS" -Dlog4j2.configurationFile="$KAFKA_LOG4J" \
        -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_CONFIG" \
        >>"$KAFKA_OUT" 2>&1 </dev/null &
    local deadline=$((SECONDS + START_TIMEOUT))
    until [[ -s $KAFKA_PIDFILE ]]; do
        ((SECONDS < deadline)) || kafka_failure "no pid file after ${START_TIMEOUT}s"
        sleep 0.1
    done
    pid="$(<"$KAFKA_PIDFILE")"
    until kafka_answers; do
        kill -0 "$pid" 2>/dev/null || kafka_failure "the broker (pid $pid) exited during start-up"
        ((SECONDS < deadline)) || kafka_failure "no answer on 127.0.0.1:$KAFKA_PORT after ${START_TIMEOUT}s (pid $pid still running)"
        sleep 1
    done
    log "kafka: started (pid $pid, 127.0.0.1:$KAFKA_PORT)"
}

# --- stop ---------------------------------------------------------------------
# stop_pid NAME PID PIDFILE: SIGTERM (both servers shut down cleanly on it:
# Kafka does a controlled shutdown, Redis flushes its AOF), then SIGKILL.
stop_pid() {
    local name=$1 pid=$2 pidfile=$3
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$pid" 2>/dev/null; do
        if ((SECONDS >= deadline)); then
            log "$name: still alive after ${STOP_TIMEOUT}s, sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.5
            break
        fi
        sleep 0.2
    done
    rm -f "$pidfile"
    log "$name: stopped (was pid $pid)"
}

stop_service() {
    local name=$1 pid pidfile
    case $name in
        kafka) pidfile=$KAFKA_PIDFILE ;;
        redis) pidfile=$REDIS_PIDFILE ;;
    esac
    if pid="$("${name}_pid")"; then
        stop_pid "$name" "$pid" "$pidfile"
    else
        rm -f "$pidfile"
        log "$name: not running"
    fi
}

# --- clusters (reliability tests) ---------------------------------------------
# A 3-node Kafka cluster and a Redis Cluster, each node with its own folder and
# pid file, so that one node can be stopped, killed and restarted while the
# others (and the single-node services above) keep running.

cluster_of() {
    case ${1:-all} in
        all) echo "kafka redis" ;;
        kafka | redis) echo "$1" ;;
        *) die "unknown cluster '$1' (expected kafka, redis or all)" ;;
    esac
}

check_node() {
    if ! [[ ${1:-} =~ ^[0-9]+$ ]] || (($1 < 1 || $1 > KAFKA_CLUSTER_NODES)); then
        die "bad node '${1:-}' (expected 1 to $KAFKA_CLUSTER_NODES)"
    fi
}

knode_dir() { printf '%s/node-%s\n' "$KAFKA_CLUSTER_HOME" "$1"; }
knode_port() { echo $((KAFKA_CLUSTER_PORT + $1 - 1)); }
knode_cport() { echo $((KAFKA_CLUSTER_CONTROLLER_PORT + $1 - 1)); }
# The JVM's command line names the node's own config file: a unique marker.
knode_pid() { live_pid "$(knode_dir "$1")/kafka.pid" "$(knode_dir "$1")/server.properties"; }

kafka_cluster_bootstrap() {
    local n out=()
    for ((n = 1; n <= KAFKA_CLUSTER_NODES; n++)); do out+=("127.0.0.1:$(knode_port "$n")"); done
    (IFS=,; echo "${out[*]}")
}

# Ids of the brokers the cluster metadata lists as live (registered and not
# fenced), one per line, as seen through $1 (bootstrap servers). One JVM;
# prints nothing while no broker answers.
kafka_cluster_live_brokers() {
    { kafka_tool org.apache.kafka.tools.BrokerApiVersionsCommand --bootstrap-server "$1" 2>/dev/null || true; } |
        sed -n '/isFenced: true/d; s/^[^ ]* (id: \([0-9]*\) rack: .*/\1/p' | sort -u
}

knode_failure() {
    local dir
    dir="$(knode_dir "$1")"
    die "kafka-cluster node $1: $2; last lines of $dir/logs/server.out:
$(tail -n 15 "$dir/logs/server.out" 2>/dev/null)
last lines of $dir/logs/server.log:
$(tail -n 15 "$dir/logs/server.log" 2>/dev/null)"
}

render_knode_config() {
    local n=$1 dir voters="" i
    dir="$(knode_dir "$n")"
    mkdir -p "$dir/data" "$dir/logs"
    for ((i = 1; i <= KAFKA_CLUSTER_NODES; i++)); do
        voters+="${voters:+,}$i@127.0.0.1:$(knode_cport "$i")"
    done
    sed -e "s|@NODE_ID@|$n|g" -e "s|@PORT@|$(knode_port "$n")|g" \
        -e "s|@CONTROLLER_PORT@|$(knode_cport "$n")|g" -e "s|@VOTERS@|$voters|g" \
        -e "s|@DATA_DIR@|$dir/data|g" "$KAFKA_CLUSTER_TEMPLATE" >"$dir/server.properties"
}

# Formats the nodes whose data dir is new, all with the one cluster id of the
# cluster (kept in kafka-cluster/cluster.id), in parallel (one JVM each).
format_knodes() {
    local n todo=() cluster_id
    for n in "$@"; do
        [[ -f $(knode_dir "$n")/data/meta.properties ]] || todo+=("$n")
    done
    ((${#todo[@]} > 0)) || return 0
    if [[ -s $KCLUSTER_ID_FILE ]]; then
        cluster_id="$(<"$KCLUSTER_ID_FILE")"
    else
        mkdir -p "$KAFKA_CLUSTER_HOME"
        cluster_id="$(kafka_tool kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)"
        [[ -n $cluster_id ]] || die "kafka-cluster: StorageTool random-uuid printed nothing"
        printf '%s\n' "$cluster_id" >"$KCLUSTER_ID_FILE"
    fi
    log "kafka-cluster: formatting node(s) ${todo[*]} (cluster id $cluster_id)"
    local pids=() dir
    for n in "${todo[@]}"; do
        dir="$(knode_dir "$n")"
        kafka_tool kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/server.properties" \
            >>"$dir/logs/server.out" 2>&1 &
        pids+=($!)
    done
    local i
    for i in "${!pids[@]}"; do
        wait "${pids[$i]}" || knode_failure "${todo[$i]}" "storage format failed"
    done
}

# Starts the JVM of node $1 in its own session (see start_kafka) without waiting.
launch_knode() {
    local n=$1 dir port
    dir="$(knode_dir "$n")"
    for port in "$(knode_port "$n")" "$(knode_cport "$n")"; do
        if port_open "$port"; then
            die "kafka-cluster node $n: port $port is already used by a process this script did not start (set KAFKA_CLUSTER_PORT / KAFKA_CLUSTER_CONTROLLER_PORT)"
        fi
    done
    rm -f "$dir/kafka.pid"
    printf '\n=== %s start\n' "$(date -Is)" >>"$dir/logs/server.out"
    # shellcheck disable=SC2016,SC2086 # $$ and "$@" belong to the inner bash; heap opts split on purpose
    setsid nohup bash -c 'echo $$ >"$0"; exec "$@"' "$dir/kafka.pid" \
        java $KAFKA_CLUSTER_HEAP_OPTS \
        -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
        -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
        -Dkafka.logs.dir="$dir/logs" -Dlog4j2.configurationFile="$KAFKA_LOG4J" \
        -cp "$KAFKA_LIBS/*" kafka.Kafka "$dir/server.properties" \
        >>"$dir/logs/server.out" 2>&1 </dev/null &
    local deadline=$((SECONDS + 30))
    until [[ -s $dir/kafka.pid ]]; do
        ((SECONDS < deadline)) || knode_failure "$n" "no pid file after 30s"
        sleep 0.1
    done
}

# Waits until every node in $@ answers on its own client port and is listed
# there as a live broker. Asking the node itself (not any node) matters right
# after a SIGKILL: until its session times out, the others still list the dead
# incarnation as live. Fails early if one of the JVMs exits.
wait_knodes_live() {
    local deadline=$((SECONDS + CLUSTER_START_TIMEOUT)) n pending=("$@") left
    while true; do
        left=()
        for n in "${pending[@]}"; do
            if ! port_open "$(knode_port "$n")" ||
                ! kafka_cluster_live_brokers "127.0.0.1:$(knode_port "$n")" | grep -qx "$n"; then
                left+=("$n")
            fi
        done
        ((${#left[@]} == 0)) && return 0
        pending=("${left[@]}")
        for n in "${pending[@]}"; do
            knode_pid "$n" >/dev/null || knode_failure "$n" "the node exited during start-up"
        done
        ((SECONDS < deadline)) || knode_failure "${pending[0]}" "node(s) ${pending[*]} not live after ${CLUSTER_START_TIMEOUT}s"
        sleep 1
    done
}

start_kafka_cluster() {
    install_kafka
    local n pid todo=()
    for ((n = 1; n <= KAFKA_CLUSTER_NODES; n++)); do
        if pid="$(knode_pid "$n")"; then
            log "kafka-cluster node $n: already running (pid $pid, 127.0.0.1:$(knode_port "$n"))"
        else
            todo+=("$n")
        fi
    done
    ((${#todo[@]} > 0)) || return 0
    for n in "${todo[@]}"; do render_knode_config "$n"; done
    format_knodes "${todo[@]}"
    # All at once: a lone controller cannot elect itself (it needs 2 of the 3 votes).
    for n in "${todo[@]}"; do launch_knode "$n"; done
    wait_knodes_live "${todo[@]}"
    for n in "${todo[@]}"; do
        log "kafka-cluster node $n: started (pid $(knode_pid "$n" || echo '?'), 127.0.0.1:$(knode_port "$n"))"
    done
    log "kafka-cluster: bootstrap $(kafka_cluster_bootstrap)"
}

cmd_cluster_node_start() {
    (($# == 1)) || die "usage: services.sh cluster-node-start N"
    check_node "$1"
    local n=$1 pid
    if pid="$(knode_pid "$n")"; then
        log "kafka-cluster node $n: already running (pid $pid, 127.0.0.1:$(knode_port "$n"))"
        return 0
    fi
    install_kafka
    render_knode_config "$n"
    format_knodes "$n"
    launch_knode "$n"
    wait_knodes_live "$n"
    log "kafka-cluster node $n: started (pid $(knode_pid "$n" || echo '?'), 127.0.0.1:$(knode_port "$n"))"
}

cmd_cluster_node_stop() {
    local n="" kill=0 arg
    for arg in "$@"; do
        case $arg in
            --kill) kill=1 ;;
            *) [[ -z $n ]] || die "usage: services.sh cluster-node-stop N [--kill]"; n=$arg ;;
        esac
    done
    check_node "$n"
    local dir pid
    dir="$(knode_dir "$n")"
    if ! pid="$(knode_pid "$n")"; then
        rm -f "$dir/kafka.pid"
        log "kafka-cluster node $n: not running"
        return 0
    fi
    if ((kill)); then
        kill -KILL "$pid" 2>/dev/null || true
        local deadline=$((SECONDS + 10))
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
        rm -f "$dir/kafka.pid"
        log "kafka-cluster node $n: killed (was pid $pid)"
    else
        stop_pid "kafka-cluster node $n" "$pid" "$dir/kafka.pid"
    fi
}

# --- redis cluster nodes: ports REDIS_CLUSTER_PORT.. (masters first) ---------
rnode_ports() {
    local total=$((REDIS_CLUSTER_MASTERS * (1 + REDIS_CLUSTER_REPLICAS)))
    seq "$REDIS_CLUSTER_PORT" $((REDIS_CLUSTER_PORT + total - 1))
}
rnode_dir() { printf '%s/node-%s\n' "$REDIS_CLUSTER_HOME" "$1"; }
# redis-server rewrites its command line to "redis-server 127.0.0.1:PORT [cluster]".
rnode_pid() { live_pid "$(rnode_dir "$1")/redis.pid" "redis-server 127.0.0.1:$1"; }
rnode_info() { redis-cli -h 127.0.0.1 -p "$1" cluster info 2>/dev/null | tr -d '\r' | sed -n "s/^$2:\(.*\)/\1/p"; }

start_redis_cluster() {
    install_redis
    [[ $REDIS_CLUSTER_REPLICAS =~ ^[01]$ ]] || die "REDIS_CLUSTER_REPLICAS must be 0 or 1"
    local port pid dir started=()
    for port in $(rnode_ports); do
        if pid="$(rnode_pid "$port")"; then
            log "redis-cluster node $port: already running (pid $pid)"
            continue
        fi
        if port_open "$port" || port_open $((port + 10000)); then
            die "redis-cluster: port $port or its bus port $((port + 10000)) is already used by a process this script did not start (set REDIS_CLUSTER_PORT)"
        fi
        dir="$(rnode_dir "$port")"
        mkdir -p "$dir"
        redis-server --bind 127.0.0.1 --port "$port" \
            --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
            --dir "$dir" --appendonly yes --save '' --hash-max-listpack-value 8192 \
            --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 5000 \
            || die "redis-cluster node $port: redis-server failed to start; last lines of $dir/redis.log:
$(tail -n 20 "$dir/redis.log" 2>/dev/null)"
        started+=("$port")
    done
    local deadline=$((SECONDS + START_TIMEOUT))
    for port in "${started[@]}"; do
        until [[ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" == PONG ]]; do
            ((SECONDS < deadline)) || die "redis-cluster node $port: no PONG after ${START_TIMEOUT}s"
            sleep 0.1
        done
    done
    # Create the cluster once (slots unassigned everywhere); later starts reuse nodes.conf.
    local ports total assigned=0
    ports="$(rnode_ports)"
    total="$(wc -w <<<"$ports")"
    for port in $ports; do
        [[ "$(rnode_info "$port" cluster_slots_assigned)" == 0 ]] || assigned=1
    done
    if ((assigned == 0)); then
        log "redis-cluster: creating ($REDIS_CLUSTER_MASTERS masters, $REDIS_CLUSTER_REPLICAS replica(s) each)"
        # shellcheck disable=SC2046,SC2086 # one argument per node
        redis-cli --cluster create $(printf '127.0.0.1:%s ' $ports) \
            --cluster-replicas "$REDIS_CLUSTER_REPLICAS" --cluster-yes \
            >"$REDIS_CLUSTER_HOME/create.log" 2>&1 ||
            die "redis-cluster: create failed; last lines of $REDIS_CLUSTER_HOME/create.log:
$(tail -n 20 "$REDIS_CLUSTER_HOME/create.log")"
    fi
    deadline=$((SECONDS + CLUSTER_START_TIMEOUT))
    for port in $ports; do
        until [[ "$(rnode_info "$port" cluster_state)" == ok && "$(rnode_info "$port" cluster_known_nodes)" == "$total" ]]; do
            ((SECONDS < deadline)) || die "redis-cluster node $port: no cluster_state:ok after ${CLUSTER_START_TIMEOUT}s"
            sleep 0.2
        done
    done
    log "redis-cluster: ok ($total nodes, 127.0.0.1:$REDIS_CLUSTER_PORT-$((REDIS_CLUSTER_PORT + total - 1)))"
}

# SIGTERM to every listed "name|pid|pidfile" at once, then SIGKILL after STOP_TIMEOUT.
stop_many() {
    local entry name pid pidfile
    for entry in "$@"; do
        IFS='|' read -r name pid pidfile <<<"$entry"
        kill -TERM "$pid" 2>/dev/null || true
    done
    local deadline=$((SECONDS + STOP_TIMEOUT)) alive
    while true; do
        alive=0
        for entry in "$@"; do
            IFS='|' read -r name pid pidfile <<<"$entry"
            kill -0 "$pid" 2>/dev/null && alive=1
        done
        ((alive)) || break
        if ((SECONDS >= deadline)); then
            for entry in "$@"; do
                IFS='|' read -r name pid pidfile <<<"$entry"
                if kill -0 "$pid" 2>/dev/null; then
                    log "$name: still alive after ${STOP_TIMEOUT}s, sending SIGKILL"
                    kill -KILL "$pid" 2>/dev/null || true
                fi
            done
            sleep 0.5
            break
        fi
        sleep 0.2
    done
    for entry in "$@"; do
        IFS='|' read -r name pid pidfile <<<"$entry"
        rm -f "$pidfile"
        log "$name: stopped (was pid $pid)"
    done
}

stop_kafka_cluster() {
    local n pid entries=()
    for ((n = 1; n <= KAFKA_CLUSTER_NODES; n++)); do
        if pid="$(knode_pid "$n")"; then
            entries+=("kafka-cluster node $n|$pid|$(knode_dir "$n")/kafka.pid")
        fi
    done
    if ((${#entries[@]} == 0)); then
        log "kafka-cluster: not running"
        return 0
    fi
    stop_many "${entries[@]}"
}

stop_redis_cluster() {
    local port pid entries=()
    for port in $(rnode_ports); do
        if pid="$(rnode_pid "$port")"; then
            entries+=("redis-cluster node $port|$pid|$(rnode_dir "$port")/redis.pid")
        fi
    done
    if ((${#entries[@]} == 0)); then
        log "redis-cluster: not running"
        return 0
    fi
    stop_many "${entries[@]}"
}

cmd_cluster_start() {
    local which c
    which="$(cluster_of "${1:-all}")"
    for c in $which; do "start_${c}_cluster"; done
}

cmd_cluster_stop() {
    local which c
    which="$(cluster_of "${1:-all}")"
    for c in $which; do "stop_${c}_cluster"; done
}

cmd_cluster_status() {
    local which c n port pid rc=0 live=""
    which="$(cluster_of "${1:-all}")"
    for c in $which; do
        if [[ $c == kafka ]]; then
            for ((n = 1; n <= KAFKA_CLUSTER_NODES; n++)); do
                if pid="$(knode_pid "$n")" && port_open "$(knode_port "$n")"; then
                    [[ -n $live ]] || live=" $(kafka_cluster_live_brokers "$(kafka_cluster_bootstrap)" | tr '\n' ' ') "
                    if [[ $live == *" $n "* ]]; then
                        log "kafka-cluster node $n: running (pid $pid, 127.0.0.1:$(knode_port "$n"))"
                    else
                        log "kafka-cluster node $n: pid $pid up but not a live broker (starting or fenced)"
                        rc=3
                    fi
                elif [[ -n ${pid:-} ]]; then
                    log "kafka-cluster node $n: pid $pid alive but 127.0.0.1:$(knode_port "$n") not open"
                    rc=3
                else
                    log "kafka-cluster node $n: stopped"
                    rc=3
                fi
                pid=""
            done
        else
            for port in $(rnode_ports); do
                if pid="$(rnode_pid "$port")"; then
                    local state role
                    state="$(rnode_info "$port" cluster_state)"
                    role="$(redis-cli -h 127.0.0.1 -p "$port" role 2>/dev/null | head -n1)"
                    log "redis-cluster node $port: running (pid $pid, ${role:-?}, cluster_state:${state:-?})"
                    [[ $state == ok ]] || rc=3
                else
                    log "redis-cluster node $port: stopped"
                    rc=3
                fi
            done
        fi
    done
    return "$rc"
}

cmd_cluster_reset() {
    local which c
    which="$(cluster_of "${1:-all}")"
    for c in $which; do
        "stop_${c}_cluster"
        if [[ $c == kafka ]]; then
            rm -rf "$KAFKA_CLUSTER_HOME"
            log "cluster-reset: wiped $KAFKA_CLUSTER_HOME"
        else
            rm -rf "$REDIS_CLUSTER_HOME"
            log "cluster-reset: wiped $REDIS_CLUSTER_HOME"
        fi
    done
}

# --- commands -----------------------------------------------------------------
# Expands the optional [kafka|redis|all] argument into a list of services.
services_of() {
    case ${1:-all} in
        all) echo "redis kafka" ;;
        kafka | redis) echo "$1" ;;
        *) die "unknown service '$1' (expected kafka, redis or all)" ;;
    esac
}

cmd_start() {
    local which
    which="$(services_of "${1:-all}")"
    cmd_install
    local s
    for s in $which; do "start_$s"; done
}

cmd_stop() {
    local which s
    which="$(services_of "${1:-all}")"
    # Kafka first: it is the slower one and nothing here depends on the order.
    for s in kafka redis; do
        [[ " $which " == *" $s "* ]] && stop_service "$s"
    done
    return 0
}

cmd_status() {
    local pid rc=0
    if pid="$(redis_pid)"; then
        if redis_ping; then
            log "redis: running (pid $pid, 127.0.0.1:$REDIS_PORT)"
        else
            log "redis: pid $pid alive but not answering PING on 127.0.0.1:$REDIS_PORT"
            rc=3
        fi
    else
        log "redis: stopped"
        rc=3
    fi
    if pid="$(kafka_pid)"; then
        if port_open "$KAFKA_PORT"; then
            log "kafka: running (pid $pid, 127.0.0.1:$KAFKA_PORT)"
        else
            log "kafka: pid $pid alive but 127.0.0.1:$KAFKA_PORT not open (starting?)"
            rc=3
        fi
    else
        log "kafka: stopped"
        rc=3
    fi
    return "$rc"
}

# topics NAME:PARTITIONS[:compact] ...
cmd_topics() {
    (($# > 0)) || die "usage: services.sh topics NAME:PARTITIONS[:compact] ..."
    local spec name parts policy
    for spec in "$@"; do
        IFS=: read -r name parts policy <<<"$spec"
        [[ -n $name && $parts =~ ^[1-9][0-9]*$ && ${policy:-delete} =~ ^(compact|delete)$ ]] ||
            die "bad topic spec '$spec' (expected NAME:PARTITIONS or NAME:PARTITIONS:compact)"
    done
    if ! kafka_pid >/dev/null || ! port_open "$KAFKA_PORT"; then
        die "kafka is not running on 127.0.0.1:$KAFKA_PORT (run: services.sh start kafka)"
    fi
    # One JVM to list what exists, then one per missing topic; a second run
    # with the same topics therefore costs a single JVM start.
    local existing
    existing="$(kafka_tool org.apache.kafka.tools.TopicCommand \
        --bootstrap-server "127.0.0.1:$KAFKA_PORT" --list)" ||
        die "could not list topics on 127.0.0.1:$KAFKA_PORT"
    for spec in "$@"; do
        IFS=: read -r name parts policy <<<"$spec"
        if grep -qxF -- "$name" <<<"$existing"; then
            log "topic $name: exists"
            continue
        fi
        local extra=()
        [[ $policy == compact ]] && extra=(--config cleanup.policy=compact)
        kafka_tool org.apache.kafka.tools.TopicCommand \
            --bootstrap-server "127.0.0.1:$KAFKA_PORT" --create --if-not-exists \
            --topic "$name" --partitions "$parts" --replication-factor 1 \
            "${extra[@]}" >/dev/null ||
            die "could not create topic $name"
        log "topic $name: created (partitions=$parts${policy:+, cleanup.policy=$policy})"
    done
}

cmd_reset() {
    cmd_stop all
    rm -rf "$KAFKA_DATA" "$REDIS_HOME/appendonlydir" "$REDIS_HOME"/*.rdb
    log "reset: wiped $KAFKA_DATA and Redis data in $REDIS_HOME"
}

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

main() {
    local cmd=${1:-}
    (($# > 0)) && shift
    case $cmd in
        install) cmd_install ;;
        start) cmd_start "$@" ;;
        stop) cmd_stop "$@" ;;
        status) cmd_status ;;
        topics) cmd_topics "$@" ;;
        reset) cmd_reset ;;
        cluster-start) cmd_cluster_start "$@" ;;
        cluster-stop) cmd_cluster_stop "$@" ;;
        cluster-status) cmd_cluster_status "$@" ;;
        cluster-node-start) cmd_cluster_node_start "$@" ;;
        cluster-node-stop) cmd_cluster_node_stop "$@" ;;
        cluster-bootstrap) kafka_cluster_bootstrap ;;
        cluster-reset) cmd_cluster_reset "$@" ;;
        -h | --help | help) usage ;;
        *)
            usage >&2
            exit 2
            ;;
    esac
}

main "$@"
