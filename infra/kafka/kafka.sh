#!/usr/bin/env bash
# Fetch, start and stop a single-node Apache Kafka broker (KRaft) on loopback.
# Jars come from Maven Central via Maven (pom.xml beside this file) and are cached.
#   kafka.sh fetch | start | start-secure | secure-env | stop | status | wipe
# start-secure: SASL/SCRAM-SHA-512 on every client listener: SASL_PLAINTEXT on $port, SASL_SSL (TLS) on
#   $DOCPIPE_KAFKA_TLS_PORT; a private CA, the broker keystore/truststore (openssl + keytool) and the
#   SCRAM users `admin` (inter-broker) and `docpipe` (clients) are generated once into
#   $DOCPIPE_KAFKA_HOME/secure-$port (mode 700). Passwords live in files there, never on stdout;
#   `secure-env` prints the DOCPIPE_KAFKA_SECURITY__* settings that point a client at them.
# Env: DOCPIPE_KAFKA_HOME (state + cache, default ~/.cache/docpipe/kafka),
#      DOCPIPE_KAFKA_PORT (default 19092), DOCPIPE_KAFKA_CONTROLLER_PORT (default 19093),
#      DOCPIPE_KAFKA_TLS_PORT (default port+2), DOCPIPE_KAFKA_HEAP (default -Xmx768m).
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
tlsport=${DOCPIPE_KAFKA_TLS_PORT:-$((port + 2))}
sec="$home/secure-$port"

fetch() {
  if [ -f "$lib/.complete" ]; then return 0; fi
  mkdir -p "$lib"
  mvn -q -B -f "$here/pom.xml" -Dkafka.version="$version" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$lib" >&2
  touch "$lib/.complete"
}

running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

plain_props() {
  cat <<PROPS
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
PROPS
}

common_props() {
  cat <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
controller.listener.names=CONTROLLER
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
}

# --- secure broker material: private CA, broker keystore + truststore, SCRAM passwords ---------------
secure_material() {
  mkdir -p "$sec"; chmod 700 "$sec"
  local f
  for f in store admin docpipe; do
    [ -s "$sec/$f.password" ] || (umask 077; openssl rand -hex 24 > "$sec/$f.password")
  done
  if [ -n "${DOCPIPE_KAFKA_SCRAM_PASSWORD:-}" ] && [ ! -f "$data/logs/meta.properties" ]; then
    (umask 077; printf '%s\n' "$DOCPIPE_KAFKA_SCRAM_PASSWORD" > "$sec/docpipe.password")
  fi
  [ -f "$sec/broker.keystore.p12" ] && return 0
  (
    cd "$sec"; umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 365 -subj "/CN=docpipe-local-ca" \
      -keyout ca.key -out ca.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -sha256 -subj "/CN=localhost" \
      -keyout broker.key -out broker.csr 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' > broker.ext
    openssl x509 -req -sha256 -days 365 -in broker.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
      -extfile broker.ext -out broker.crt 2>/dev/null
    openssl pkcs12 -export -name broker -in broker.crt -inkey broker.key -certfile ca.crt \
      -out broker.keystore.p12 -passout "file:store.password"
    keytool -importcert -noprompt -alias docpipe-local-ca -file ca.crt -storetype PKCS12 \
      -keystore broker.truststore.p12 -storepass:file store.password >/dev/null 2>&1
    rm -f broker.csr broker.ext ca.srl
    chmod 644 ca.crt  # the CA certificate is public: clients need it to verify the broker
  )
}

secure_props() {
  local admin store
  admin=$(cat "$sec/admin.password"); store=$(cat "$sec/store.password")
  cat <<PROPS
listeners=SASL_PLAINTEXT://127.0.0.1:$port,SASL_SSL://127.0.0.1:$tlsport,CONTROLLER://127.0.0.1:$cport
advertised.listeners=SASL_PLAINTEXT://127.0.0.1:$port,SASL_SSL://127.0.0.1:$tlsport
listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
inter.broker.listener.name=SASL_SSL
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin";
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin";
super.users=User:admin
ssl.keystore.type=PKCS12
ssl.keystore.location=$sec/broker.keystore.p12
ssl.keystore.password=$store
ssl.key.password=$store
ssl.truststore.type=PKCS12
ssl.truststore.location=$sec/broker.truststore.p12
ssl.truststore.password=$store
ssl.client.auth=none
ssl.endpoint.identification.algorithm=https
ssl.enabled.protocols=TLSv1.3,TLSv1.2
PROPS
}

start() {
  local mode=${1:-plain}
  fetch
  if running; then echo "kafka already running on 127.0.0.1:$port (pid $(cat "$pidfile"))"; return 0; fi
  mkdir -p "$data"
  local props="$home/server-$port.properties"
  local format_args=()
  if [ "$mode" = secure ]; then
    secure_material
    (umask 077; { secure_props; common_props; } > "$props")
    format_args=(--add-scram "SCRAM-SHA-512=[name=admin,password=$(cat "$sec/admin.password")]"
                 --add-scram "SCRAM-SHA-512=[name=docpipe,password=$(cat "$sec/docpipe.password")]")
  else
    { plain_props; common_props; } > "$props"
  fi
  local cp="$lib/*"
  if [ ! -f "$data/logs/meta.properties" ]; then
    java -cp "$cp" kafka.tools.StorageTool format -t "docpipe-local-$port" -c "$props" \
      "${format_args[@]}" >/dev/null
  fi
  nohup java ${DOCPIPE_KAFKA_HEAP:--Xmx768m} -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$here/log4j2.yaml" -Dkafka.logs.dir="$home/logs-$port" \
    -cp "$cp" kafka.Kafka "$props" >"$log" 2>&1 &
  echo $! > "$pidfile"
  local wait_port=$port
  [ "$mode" = secure ] && wait_port=$tlsport
  for _ in $(seq 1 120); do
    if (exec 3<>/dev/tcp/127.0.0.1/$wait_port) 2>/dev/null; then
      if [ "$mode" = secure ]; then
        echo "kafka $version running (SASL/SCRAM-SHA-512) on 127.0.0.1:$port (SASL_PLAINTEXT)" \
             "and 127.0.0.1:$tlsport (SASL_SSL), pid $(cat "$pidfile"), log $log"
      else
        echo "kafka $version running on 127.0.0.1:$port (pid $(cat "$pidfile"), log $log)"
      fi
      return 0
    fi
    running || { echo "kafka failed to start, see $log" >&2; tail -20 "$log" >&2; exit 1; }
    sleep 0.5
  done
  echo "kafka did not open 127.0.0.1:$wait_port within 60 s, see $log" >&2; exit 1
}

secure_env() {
  [ -f "$sec/ca.crt" ] || { echo "no secure broker material in $sec (run start-secure first)" >&2; exit 1; }
  cat <<ENV
KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$tlsport
DOCPIPE_KAFKA_SECURITY__PROTOCOL=SASL_SSL
DOCPIPE_KAFKA_SECURITY__SASL_MECHANISM=SCRAM-SHA-512
DOCPIPE_KAFKA_SECURITY__SASL_USERNAME=docpipe
DOCPIPE_KAFKA_SECURITY__SASL_PASSWORD_FILE=$sec/docpipe.password
DOCPIPE_KAFKA_SECURITY__SSL_CA_LOCATION=$sec/ca.crt
ENV
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
  start) start plain ;;
  start-secure) start secure ;;
  secure-env) secure_env ;;
  stop) stop ;;
  status) if running; then echo "running (pid $(cat "$pidfile"))"; else echo "stopped"; exit 1; fi ;;
  wipe) stop; rm -rf "$data" "$sec" ;;
  *) echo "usage: $0 fetch|start|start-secure|secure-env|stop|status|wipe" >&2; exit 2 ;;
esac
