#!/usr/bin/env bash
# Resolves a runnable Apache Kafka (KRaft broker, storage tool, command-line tools) from Maven
# Central into the Wharf cache, with launcher scripts:
#
#   <install dir>/libs/server/*.jar  the broker's classpath (kafka_2.13, kafka-storage)
#   <install dir>/libs/tools/*.jar   the command-line tools' classpath (kafka-tools)
#   <install dir>/bin/kafka-server   kafka.Kafka <server.properties>
#   <install dir>/bin/kafka-storage, kafka-topics, kafka-producer-perf-test, ... (see LAUNCHERS)
#   <install dir>/config/log4j2-server.properties, log4j2-tools.properties
#
# stdout: the install dir, and nothing else. stderr: progress. A second run prints "cached"
# and returns at once.
# Env: WHARF_CACHE_DIR (default ~/.cache/wharf); needs java >= 17 and mvn.
set -euo pipefail

KAFKA_VERSION=4.4.0
# kafka-tools and kafka-tools-api 4.4.0 are not on Maven Central (2026-11-21: their
# maven-metadata.xml ends at 4.3.1 while kafka_2.13's lists 4.4.0). kafka-tools fails against
# the 4.4.0 jars (NoClassDefFoundError: org.apache.kafka.common.utils.Exit), so the tools get a
# classpath of their own, all 4.3.1: an older client against a newer broker is supported.
# Set this to KAFKA_VERSION once kafka-tools 4.4.0 is published.
KAFKA_TOOLS_VERSION=4.3.1
LOG4J_VERSION=2.26.1
# Bump when the launchers, configs or layout below change, so that caches are rebuilt.
LAYOUT_REVISION=2

CACHE_ROOT="${WHARF_CACHE_DIR:-$HOME/.cache/wharf}"
INSTALL_DIR="$CACHE_ROOT/kafka-$KAFKA_VERSION-tools-$KAFKA_TOOLS_VERSION-r$LAYOUT_REVISION"
# Shared by all versions so that an upgrade downloads only what changed.
MAVEN_REPO="$CACHE_ROOT/m2"
POM_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/kafka"

# launcher name = classpath (libs/<name>) main class
LAUNCHERS=(
  "kafka-server=server kafka.Kafka"
  "kafka-storage=server kafka.tools.StorageTool"
  "kafka-topics=tools org.apache.kafka.tools.TopicCommand"
  "kafka-producer-perf-test=tools org.apache.kafka.tools.ProducerPerformance"
  "kafka-consumer-perf-test=tools org.apache.kafka.tools.ConsumerPerformance"
  "kafka-console-producer=tools org.apache.kafka.tools.ConsoleProducer"
  "kafka-console-consumer=tools org.apache.kafka.tools.consumer.ConsoleConsumer"
  "kafka-consumer-groups=tools org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"
  "kafka-transactions=tools org.apache.kafka.tools.TransactionsCommand"
  "kafka-get-offsets=tools org.apache.kafka.tools.GetOffsetShell"
  "kafka-metadata-quorum=tools org.apache.kafka.tools.MetadataQuorumCommand"
)

log() { printf '[install-kafka] %s\n' "$*" >&2; }

if [[ -f "$INSTALL_DIR/.complete" ]]; then
  log "cached: $INSTALL_DIR"
  echo "$INSTALL_DIR"
  exit 0
fi

for tool in java mvn; do
  command -v "$tool" >/dev/null || { log "$tool is not on PATH (need Java >= 17 and Maven >= 3.6.3)"; exit 1; }
done
mkdir -p "$CACHE_ROOT"

# Serialise concurrent installs of the same version (e.g. parallel test workers).
if command -v flock >/dev/null; then
  exec 9>"$CACHE_ROOT/.${INSTALL_DIR##*/}.lock"
  flock 9
  if [[ -f "$INSTALL_DIR/.complete" ]]; then
    log "cached: $INSTALL_DIR"
    echo "$INSTALL_DIR"
    exit 0
  fi
fi

tmp="$(mktemp -d "$CACHE_ROOT/.kafka-$KAFKA_VERSION.XXXXXX")"
chmod 755 "$tmp" # mktemp makes it 0700
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/libs" "$tmp/bin" "$tmp/config" "$tmp/poms"

log "resolving Kafka $KAFKA_VERSION (tools $KAFKA_TOOLS_VERSION) from Maven Central into $MAVEN_REPO"
started=$SECONDS
for classpath in server tools; do
  # The pom is copied so that Maven writes nothing (target/) into the source tree.
  cp "$POM_DIR/$classpath/pom.xml" "$tmp/poms/$classpath.xml"
  mvn -B -q -f "$tmp/poms/$classpath.xml" \
    -Dmaven.repo.local="$MAVEN_REPO" -Dstyle.color=never \
    -Dkafka.version="$KAFKA_VERSION" \
    -Dkafka.tools.version="$KAFKA_TOOLS_VERSION" \
    -Dlog4j.version="$LOG4J_VERSION" \
    dependency:copy-dependencies \
    -DincludeScope=runtime \
    -DoutputDirectory="$tmp/libs/$classpath" 2>&1 |
    sed -e $'s/\x1b\\[[0-9;]*m//g' >&2 # Debian's Maven prints colour codes even with -B
done
rm -rf "$tmp/poms"
log "resolved $(find "$tmp/libs" -name '*.jar' | wc -l) jars in $((SECONDS - started))s"

# Broker: INFO into ${kafka.logs.dir}/server.log (the harness points it at its work dir).
cat >"$tmp/config/log4j2-server.properties" <<'PROPS'
name = wharf-kafka-server
property.logDir = ${sys:kafka.logs.dir:-.}
appender.server.type = RollingFile
appender.server.name = server
appender.server.fileName = ${logDir}/server.log
appender.server.filePattern = ${logDir}/server.log.%i
appender.server.layout.type = PatternLayout
appender.server.layout.pattern = [%d] %p %m (%c)%n
appender.server.policies.type = Policies
appender.server.policies.size.type = SizeBasedTriggeringPolicy
appender.server.policies.size.size = 50MB
appender.server.strategy.type = DefaultRolloverStrategy
appender.server.strategy.max = 2
rootLogger.level = INFO
rootLogger.appenderRef.server.ref = server
logger.controller.name = org.apache.kafka.controller
logger.controller.level = INFO
logger.request.name = kafka.request.logger
logger.request.level = WARN
PROPS

# Command-line tools: only warnings, on stderr, so that their stdout stays parseable.
cat >"$tmp/config/log4j2-tools.properties" <<'PROPS'
name = wharf-kafka-tools
appender.stderr.type = Console
appender.stderr.name = stderr
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = WARN
rootLogger.appenderRef.stderr.ref = stderr
PROPS

# Env of every launcher: KAFKA_HEAP_OPTS (heap), KAFKA_JVM_PERFORMANCE_OPTS (GC and JIT),
# KAFKA_OPTS (extra JVM flags), KAFKA_LOG4J_OPTS (replaces the log4j2 flags),
# KAFKA_LOG_DIR (broker: where server.log goes).
cat >"$tmp/bin/kafka-run-class" <<'SH'
#!/usr/bin/env bash
# Usage: kafka-run-class <server|tools> <main class> [args...]
set -euo pipefail
home="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
classpath="$home/libs/$1/*"
main="$2"
shift 2
if [[ "$main" == kafka.Kafka ]]; then
  log4j="${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=$home/config/log4j2-server.properties -Dkafka.logs.dir=${KAFKA_LOG_DIR:-.}}"
  jvm="${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent}"
else
  log4j="${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=$home/config/log4j2-tools.properties}"
  # Short-lived JVMs: without C2 they start on about half the CPU time.
  jvm="${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseSerialGC -XX:TieredStopAtLevel=1}"
fi
heap="${KAFKA_HEAP_OPTS:--Xmx512m}"
# shellcheck disable=SC2086 # the *_OPTS variables are lists of flags
exec java $heap $jvm -Djava.awt.headless=true $log4j ${KAFKA_OPTS:-} -cp "$classpath" "$main" "$@"
SH

for entry in "${LAUNCHERS[@]}"; do
  name="${entry%%=*}"
  # shellcheck disable=SC2016 # expanded when the launcher runs
  printf '#!/usr/bin/env bash\nexec "$(dirname "${BASH_SOURCE[0]}")/kafka-run-class" %s "$@"\n' "${entry#*=}" >"$tmp/bin/$name"
done
chmod +x "$tmp/bin/"*

# Fail now, not in a test, when a launcher's main class is not on the classpath.
check_dir="$tmp/check"
mkdir -p "$check_dir"
cat >"$check_dir/Check.java" <<'JAVA'
import java.nio.file.*;
public class Check {
  public static void main(String[] args) throws Exception {
    for (String name : Files.readAllLines(Path.of(args[0]))) {
      Class.forName(name, false, Check.class.getClassLoader()).getMethod("main", String[].class);
    }
  }
}
JAVA
for classpath in server tools; do
  for entry in "${LAUNCHERS[@]}"; do
    read -r cp main <<<"${entry#*=}"
    if [[ "$cp" == "$classpath" ]]; then printf '%s\n' "$main"; fi
  done >"$check_dir/$classpath.classes"
  java -cp "$tmp/libs/$classpath/*" "$check_dir/Check.java" "$check_dir/$classpath.classes" >&2
done
rm -rf "$check_dir"
"$tmp/bin/kafka-server" --version >&2
"$tmp/bin/kafka-topics" --version >&2

printf 'kafka=%s\nkafka-tools=%s\nlog4j=%s\n' "$KAFKA_VERSION" "$KAFKA_TOOLS_VERSION" "$LOG4J_VERSION" >"$tmp/VERSIONS"
touch "$tmp/.complete"
rm -rf "$INSTALL_DIR"
mv "$tmp" "$INSTALL_DIR"
trap - EXIT
log "installed in $((SECONDS - started))s: $INSTALL_DIR"
echo "$INSTALL_DIR"
