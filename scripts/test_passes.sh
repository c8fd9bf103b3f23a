#!/usr/bin/env bash
# The suite in both configurations (README "Tests"): every test on the embedded engines, then the
# DVR and playback tests whose server is a real `main.ts` again, against the distributed deployment
# (S3, Kafka, PostgreSQL, two ingest processes, an indexer, an api process behind nginx:
# tests/support/distributed.ts). Both passes always run; each ends with a line
# `pass <name>: <deno's summary>` (.ci/run adds them up), and the script fails when either fails.
set -uo pipefail
cd "$(dirname "$0")/.."

# The DVR and playback tests that start main.ts (tests/support/server.ts startServer); the others
# call the app in-process, with nothing distributed to run against.
DISTRIBUTED_TESTS=(
  tests/dvr/agent_e2e_test.ts
  tests/dvr/agent_clock_test.ts
  tests/dvr/ingest_bad_input_test.ts
  tests/dvr/players_test.ts
  tests/dvr/player_matrix_test.ts
  tests/playback/holes_test.ts
)

run_pass() {
  local name=$1 log status summary started
  shift
  log=$(mktemp)
  started=$SECONDS
  "$@" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  summary=$(sed -E 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^(ok|FAILED) \| [0-9]+ passed' | tail -n 1)
  rm -f "$log"
  # Where the pass's time went (the brief keeps a full run under ~45 minutes).
  [ -s ".cache/junit-$name.xml" ] &&
    deno run --allow-read scripts/slowest_tests.ts ".cache/junit-$name.xml" 12
  echo "pass $name: ${summary:-no summary} (exit $status, $((SECONDS - started)) s)"
  return "$status"
}

mkdir -p .cache
rm -f .cache/junit-*.xml
run_pass embedded bash scripts/netns.sh deno test --allow-all --junit-path=.cache/junit-embedded.xml tests/
embedded=$?
run_pass distributed env MOTORCADE_TEST_ENGINES=distributed \
  bash scripts/netns.sh deno test --allow-all --junit-path=.cache/junit-distributed.xml \
  "${DISTRIBUTED_TESTS[@]}"
distributed=$?
[ "$embedded" -eq 0 ] && [ "$distributed" -eq 0 ]
