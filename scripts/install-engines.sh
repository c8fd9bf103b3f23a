#!/usr/bin/env bash
# Fetches the distributed engines the tests start (issue 10), once, into .cache/ (git-ignored):
#   scripts/install-engines.sh s3      versitygw, an S3 server built from the Go module proxy
#   scripts/install-engines.sh all     every engine below
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

case "${1:-all}" in
  s3) versitygw ;;
  all) versitygw ;;
  *) echo "usage: scripts/install-engines.sh s3|all" >&2; exit 2 ;;
esac
