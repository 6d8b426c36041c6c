#!/usr/bin/env bash
# Run the PostgreSQL crash test N times in a row (default 50); stop at the first failure.
# TEST=tests/faults runs the fault suite (kills, database restarts, cut connections, clock
# jumps) instead.
# Prints one line per run and the count that passed in a row. Each run's workers' logs are kept
# under $OUT (default /tmp/weft-crash-loop/run-K/) for reading after a failure.
#   bench/crash_loop.sh [N]
set -u
cd "$(dirname "$0")/.."
runs="${1:-50}"
out="${OUT:-/tmp/weft-crash-loop}"
rm -rf "$out" && mkdir -p "$out"
pytest="${PYTEST:-.venv/bin/pytest}"  # another checkout may lend its virtualenv
passed=0
for k in $(seq 1 "$runs"); do
    start=$(date +%s)
    if WEFT_TEST_DATABASES=postgres "$pytest" "${TEST:-tests/engine/test_crash.py}" -q -x \
        -p no:cacheprovider --basetemp="$out/run-$k" >"$out/run-$k.out" 2>&1; then
        passed=$((passed + 1))
        echo "run $k: passed in $(($(date +%s) - start)) s"
    else
        echo "run $k: FAILED in $(($(date +%s) - start)) s (see $out/run-$k.out)"
        break
    fi
done
echo "crash test passed $passed of $runs times in a row"
[ "$passed" -eq "$runs" ]
