#!/usr/bin/env bash
# Fetch, start and stop a single-node Apache Kafka broker (KRaft) on loopback.
# Jars come from Maven Central via Maven (pom.xml beside this file) and are cached.
#   kafka.sh fetch | start | stop | status
# Env: DOCPIPE_KAFKA_HOME (state + cache, default ~/.cache/docpipe/kafka),
#      DOCPIPE_KAFKA_PORT (default 19092), DOCPIPE_KAFKA_CONTROLLER_PORT (default 19093),
#      DOCPIPE_KAFKA_HEAP (default -Xmx768m).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
home=${DOCPIPE_KAFKA_HOME:-$HOME/.cache/docpipe/kafka}
port=${DOCPIPE_KAFKA_PORT:-19092}
cport=${DOCPIPE_KAFKA_CONTROLLER_PORT:-19093}
version=${DOCPIPE_KAFKA_VERSION:-$(sed -n "s:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p" "$here/pom.xml")}
lib="$home/lib-$version"
data="$home/data-$port"
pidfile="$home/broker-$port.pid"
log="$home/broker-$port.log"

fetch() {
  if [ -f "$lib/.complete" ]; then return 0; fi
  mkdir -p "$lib"
  mvn -q -B -f "$here/pom.xml" -Dkafka.version="$version" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$lib" >&2
  touch "$lib/.complete"
}

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

start() {
  fetch
  if running; then echo "kafka already running on 127.0.0.1:$port (pid $(cat "$pidfile"))"; return 0; fi
  mkdir -p "$data"
  cat > "$home/server-$port.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$data/logs
num.partitions=6
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=6
group.initial.rebalance.delay.ms=0
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
log.flush.interval.messages=1
PROPS
  local cp="$lib/*"
  if [ ! -f "$data/logs/meta.properties" ]; then
    java -cp "$cp" kafka.tools.StorageTool format -t "docpipe-local-$port" \
      -c "$home/server-$port.properties" >/dev/null
  fi
  nohup java ${DOCPIPE_KAFKA_HEAP:--Xmx768m} -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$here/log4j2.yaml" -Dkafka.logs.dir="$home/logs-$port" \
    -cp "$cp" kafka.Kafka "$home/server-$port.properties" >"$log" 2>&1 &
  echo $! > "$pidfile"
  for _ in $(seq 1 120); do
    if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
      echo "kafka $version running on 127.0.0.1:$port (pid $(cat "$pidfile"), log $log)"; return 0
    fi
    running || { echo "kafka failed to start, see $log" >&2; tail -20 "$log" >&2; exit 1; }
    sleep 0.5
  done
  echo "kafka did not open 127.0.0.1:$port within 60 s, see $log" >&2; exit 1
}

stop() {
  if running; then
    local pid; pid=$(cat "$pidfile")
    kill "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  status) if running; then echo "running (pid $(cat "$pidfile"))"; else echo "stopped"; exit 1; fi ;;
  wipe) stop; rm -rf "$data" ;;
  *) echo "usage: $0 fetch|start|stop|status|wipe" >&2; exit 2 ;;
esac
