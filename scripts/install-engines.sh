#!/usr/bin/env bash
# Fetches the distributed engines the tests start (issue 10), once, into .cache/ (git-ignored):
#   scripts/install-engines.sh s3      versitygw, an S3 server built from the Go module proxy
#   scripts/install-engines.sh kafka   Apache Kafka (KRaft) jars from Maven Central
#   scripts/install-engines.sh all     both
# A second run finds them there and does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="$PWD/.cache"

# versitygw v1.8 (S3 on a posix folder) built from the Go module proxy into .cache/bin, with Go's
# module and build caches under .cache/go (a few minutes, once).
versitygw() {
  local version=v1.8.0
  [ -x "$cache/bin/versitygw" ] && return 0
  # Go's own tarball puts it in /usr/local/go/bin, which only interactive shells add to PATH.
  command -v go >/dev/null 2>&1 || [ ! -x /usr/local/go/bin/go ] || PATH="/usr/local/go/bin:$PATH"
  if ! command -v go >/dev/null 2>&1; then
    echo "versitygw is built with Go 1.22+: install Go (https://go.dev/dl/ or apt-get install golang)" >&2
    return 1
  fi
  mkdir -p "$cache/bin" "$cache/go"
  echo "Building versitygw $version into $cache/bin (a few minutes, once)" | tee "$cache/versitygw-build.log" >&2
  GOBIN="$cache/bin" GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build" GOFLAGS=-modcacherw \
    go install "github.com/versity/versitygw/cmd/versitygw@$version" >>"$cache/versitygw-build.log" 2>&1 || {
    echo "Cannot build versitygw; see $cache/versitygw-build.log" >&2
    return 1
  }
  rm -rf "$cache/go/build" # ~430 MB of compiled packages nothing reuses
}

# Apache Kafka from Maven Central through a throwaway pom: the broker, its tools (StorageTool) and
# an SLF4J 2 binding (Kafka brings slf4j-api 1.7.36, which would leave it without one).
kafka() {
  local version=4.4.0
  local dir="$cache/kafka/$version"
  [ -f "$dir/libs/.complete" ] && return 0
  if ! command -v java >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
    echo "Kafka's jars need Java 17+ and Maven: apt-get install -y openjdk-17-jre-headless maven" >&2
    return 1
  fi
  mkdir -p "$dir"
  cat >"$dir/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>motorcade.test</groupId>
  <artifactId>kafka-jars</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$version</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$version</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>2.0.17</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>2.26.1</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>2.26.1</version></dependency>
  </dependencies>
</project>
POM
  rm -rf "$dir/libs"
  (cd "$dir" && mvn -q -B -Dmaven.repo.local="$cache/kafka/m2" \
    dependency:copy-dependencies -DoutputDirectory=libs -DincludeScope=runtime)
  touch "$dir/libs/.complete"
}

case "${1:-all}" in
  s3) versitygw ;;
  kafka) kafka ;;
  all) versitygw; kafka ;;
  *) echo "usage: scripts/install-engines.sh s3|kafka|all" >&2; exit 2 ;;
esac
