#!/usr/bin/env bash
# One benchmark run; bench/Makefile sets the parameters (see its header).
#
#   DIR             run directory (emptied first)
#   QUICK           1 for the reduced set, empty for the full one
#   CRITERION_ARGS  extra criterion arguments (measurement times)
#   COUNT           Go rounds; each round is a separate process
#   BENCHTIME       Go -benchtime
#   BENCHSTAT       path to benchstat (may be missing)
#   CARGO, GO       tools
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
: "${DIR:?}" "${COUNT:?}" "${BENCHTIME:?}"
CARGO=${CARGO:-cargo}
GO=${GO:-go}
export BLOCKMEM_BENCH_QUICK=${QUICK:-}

GO_OPS='^Benchmark(WriteBlock|WriteBlock_Parallel|ReadBlock|ReadBlockRange|ReadBlockInto|Stat)$'
GO_LARGE='^Benchmark(ListByPrefix|TotalSize)$'

rm -rf "$DIR"
mkdir -p "$DIR"
cd "$DIR"

# What the machine does during the run, to tell this run's CPU use from
# other processes' (the report shows both).
date -u +%s > start.txt
cat /proc/loadavg > loadavg-start.txt
head -1 /proc/stat > stat-start.txt

phase() {
  echo "== $(date -u +%H:%M:%S) $*"
  echo "$(date -u +%s) $*" >> phases.txt
}

phase "build: cargo bench --no-run, go test -c"
(cd "$ROOT" && "$CARGO" bench --bench store --bench memory --no-run)
(cd "$ROOT/bindings/go" && "$GO" test -c -o "$DIR/memory.test" ./store/memory)

phase "Rust: criterion"
(cd "$ROOT" && CRITERION_HOME="$DIR/criterion" \
  "$CARGO" bench --bench store -- --noplot ${CRITERION_ARGS:-}) 2>&1 | tee criterion.txt

phase "Rust: memory overhead"
(cd "$ROOT" && "$CARGO" bench --bench memory) 2>&1 | tee memory-rust.txt

phase "Go: $COUNT rounds, -benchtime $BENCHTIME"
for i in $(seq "$COUNT"); do
  echo "-- round $i"
  ./memory.test -test.run '^$' -test.bench "$GO_OPS" -test.benchmem \
    -test.benchtime "$BENCHTIME" | tee -a go.txt
  ./memory.test -test.run '^$' -test.bench "$GO_LARGE" -test.benchmem \
    -test.benchtime "$BENCHTIME" | tee -a go.txt
done

phase "Go: memory overhead"
for impl in ref blockmem; do
  BLOCKMEM_MEMORY_IMPL=$impl ./memory.test -test.run '^TestMemoryOverhead$' -test.v \
    | grep '^memory ' | tee -a memory-go.txt
done

phase "benchstat"
if [ -n "${BENCHSTAT:-}" ] && [ -x "$BENCHSTAT" ]; then
  "$BENCHSTAT" -col /impl go.txt > benchstat.txt
  "$BENCHSTAT" -col /impl -format csv go.txt > benchstat.csv
else
  echo "warning: benchstat not available; the report will lack its tables" >&2
fi

phase "end"
cat /proc/loadavg > loadavg-end.txt
head -1 /proc/stat > stat-end.txt
# CPU time of this script (first line) and of everything it ran (second
# line), user and system. Not in a pipeline: that would run in a subshell.
times > cpu-self.txt
