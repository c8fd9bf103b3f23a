#!/usr/bin/env bash
# The suite in both configurations (README "Tests"), in four passes:
# - `embedded` and `beside` at once, each in a private network namespace of its own
#   (scripts/netns.sh), on the embedded engines: `beside` holds the long end-to-end tests that
#   mostly wait on real time (outages of minutes, recordings, players at 4x), `embedded` the rest
#   but the live tests. On the 2-core CI machine one pass alone leaves a core idle most of the time
#   (load average ~1): side by side the two took about the time of the longer;
# - `live` alone after them: the live tests judge WebRTC viewers' frames and the ABR's reaction on
#   throttled links, which a busy machine changes (issue 13: an encoder starved by other work reads
#   as a collapsing link);
# - `distributed`: the DVR and playback tests whose server is a real `main.ts` again, against the
#   distributed deployment (S3, Kafka, PostgreSQL, two ingest processes, an indexer, an api process
#   behind nginx: tests/support/distributed.ts).
# Every pass always runs; each ends with a line `pass <name>: <deno's summary>` (.ci/run adds them
# up), and the script fails when any fails. `beside`'s output is kept in a file and printed whole
# once it ends, so the two passes' lines do not interleave.
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

# Long end-to-end tests that mostly wait on real time (CI's per-file times: 45-186 s each, 1,045 s
# in all, against 1,257 s for the rest of `embedded`). Files listed here run in `beside` only.
BESIDE_TESTS=(
  tests/dvr/agent_e2e_test.ts
  tests/dvr/agent_clock_test.ts
  tests/dvr/player_matrix_test.ts
  tests/playback/holes_test.ts
  tests/playback/multivariant_test.ts
  tests/vehicle/agent_e2e_test.ts
  tests/vehicle/capture_clock_e2e_test.ts
  tests/vehicle/policy_e2e_test.ts
  tests/vehicle/recall_offline_e2e_test.ts
  tests/vehicle/recovery_e2e_test.ts
)
for file in "${BESIDE_TESTS[@]}" "${DISTRIBUTED_TESTS[@]}"; do
  [ -f "$file" ] || { echo "test_passes.sh lists $file, which does not exist" >&2; exit 2; }
done
# Every other test file but the live ones, as deno would find them under tests/.
mapfile -t REST_TESTS < <(
  find tests -regextype posix-extended -regex '.*(_test|\.test|/test)\.(ts|tsx|mts|js|mjs|jsx)' \
    -not -path 'tests/live/*' | sort |
    grep -vxF -f <(printf '%s\n' "${BESIDE_TESTS[@]}")
)

mkdir -p .cache
rm -f .cache/junit-*.xml .cache/pass-beside.log
run_pass beside bash scripts/netns.sh deno test --allow-all --junit-path=.cache/junit-beside.xml \
  "${BESIDE_TESTS[@]}" >.cache/pass-beside.log 2>&1 &
beside_pid=$!
run_pass embedded bash scripts/netns.sh deno test --allow-all --junit-path=.cache/junit-embedded.xml \
  "${REST_TESTS[@]}"
embedded=$?
wait "$beside_pid"
beside=$?
echo "---- pass beside (run at the same time as embedded, in its own namespace):"
cat .cache/pass-beside.log
run_pass live bash scripts/netns.sh deno test --allow-all --junit-path=.cache/junit-live.xml \
  tests/live/
live=$?
run_pass distributed env MOTORCADE_TEST_ENGINES=distributed \
  bash scripts/netns.sh deno test --allow-all --junit-path=.cache/junit-distributed.xml \
  "${DISTRIBUTED_TESTS[@]}"
distributed=$?
[ "$embedded" -eq 0 ] && [ "$beside" -eq 0 ] && [ "$live" -eq 0 ] && [ "$distributed" -eq 0 ]
