#!/usr/bin/env bash
# Fetches the distributed engines the tests start (issue 10), once, into .cache/ (git-ignored):
#   scripts/install-engines.sh s3      versitygw, an S3 server built from the Go module proxy
#   scripts/install-engines.sh kafka   Apache Kafka (KRaft) jars from Maven Central
#   scripts/install-engines.sh deploy  the checkers of deploy/: kubeconform and Kubernetes' JSON
#                                      schemas (offline), and compose-go's loader (compose-config)
#   scripts/install-engines.sh all     all three
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

# What checks deploy/ (tests/deploy/), built or fetched once into .cache:
# - kubeconform v0.8.0 from the Go module proxy into .cache/bin;
# - Kubernetes' JSON schemas, which kubeconform would otherwise download at run time: the PyPI
#   wheel kubernetes-validate ships them per Kubernetes version; the strict ones of one version
#   go to .cache/kubernetes-schemas/v<version>-standalone-strict/, with their "$id"s dropped and
#   their "/api/_definitions.json" references made relative to the file, so kubeconform resolves
#   them on disk;
# - compose-config (scripts/compose-config): compose-go's loader, what `docker compose config` runs.
deploy_checkers() {
  local kubeconform_version=v0.8.0 validate_version=1.37.0 kubernetes_version=1.35.0 compose=scripts/compose-config
  command -v go >/dev/null 2>&1 || [ ! -x /usr/local/go/bin/go ] || PATH="/usr/local/go/bin:$PATH"
  if ! command -v go >/dev/null 2>&1; then
    echo "kubeconform and compose-config are built with Go 1.24+: install Go (https://go.dev/dl/ or apt-get install golang)" >&2
    return 1
  fi
  mkdir -p "$cache/bin" "$cache/go"
  local go_env=(GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build" GOFLAGS=-modcacherw)
  if [ ! -x "$cache/bin/kubeconform" ]; then
    echo "Building kubeconform $kubeconform_version into $cache/bin (once)" >&2
    env "${go_env[@]}" GOBIN="$cache/bin" \
      go install "github.com/yannh/kubeconform/cmd/kubeconform@$kubeconform_version" >&2
  fi
  if [ ! -x "$cache/bin/compose-config" ] || [ "$compose/main.go" -nt "$cache/bin/compose-config" ] ||
    [ "$compose/go.mod" -nt "$cache/bin/compose-config" ]; then
    echo "Building compose-config (compose-go's loader) into $cache/bin (once)" >&2
    (cd "$compose" && env "${go_env[@]}" go build -o "$cache/bin/compose-config" .) >&2
  fi
  rm -rf "$cache/go/build"
  local schemas="$cache/kubernetes-schemas/v$kubernetes_version-standalone-strict"
  if [ ! -f "$schemas/.complete" ]; then
    local python
    python=$(command -v python3 || command -v python || true)
    if [ -z "$python" ] || ! "$python" -m pip --version >/dev/null 2>&1; then
      echo "Kubernetes' schemas come from PyPI: install Python 3 with pip (apt-get install python3-pip)" >&2
      return 1
    fi
    local wheel="$cache/kubernetes-schemas/wheel"
    rm -rf "$wheel" "$schemas"
    mkdir -p "$wheel" "$schemas"
    echo "Fetching Kubernetes $kubernetes_version JSON schemas (kubernetes-validate $validate_version from PyPI)" >&2
    "$python" -m pip download -q --no-deps --only-binary=:all: -d "$wheel" \
      "kubernetes-validate==$validate_version" >&2
    "$python" - "$wheel"/kubernetes_validate-*.whl "v$kubernetes_version-local-strict" "$schemas" <<'PY'
import json, sys, zipfile
wheel, folder, out = sys.argv[1:]
prefix = f"kubernetes_validate/kubernetes-json-schema/{folder}/"
def local(node):
    if isinstance(node, dict):
        node.pop("$id", None)
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("/api/"):
            node["$ref"] = ref[len("/api/"):]
        for value in node.values():
            local(value)
    elif isinstance(node, list):
        for value in node:
            local(value)
count = 0
with zipfile.ZipFile(wheel) as archive:
    for name in archive.namelist():
        if name.startswith(prefix) and name.endswith(".json") and "/" not in name[len(prefix):]:
            schema = json.loads(archive.read(name))
            local(schema)
            with open(f"{out}/{name[len(prefix):]}", "w") as file:
                json.dump(schema, file)
            count += 1
if count < 100:
    sys.exit(f"kubernetes-validate has no schemas under {prefix}")
PY
    rm -rf "$wheel"
    touch "$schemas/.complete"
  fi
}

case "${1:-all}" in
  s3) versitygw ;;
  kafka) kafka ;;
  deploy) deploy_checkers ;;
  all) versitygw; kafka; deploy_checkers ;;
  *) echo "usage: scripts/install-engines.sh s3|kafka|deploy|all" >&2; exit 2 ;;
esac
