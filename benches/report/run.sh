#!/usr/bin/env bash
# Runs benchmark phases into one run directory; Makefile sets the knobs.
#
#   run.sh PHASE...   phases: build (run info, the C programs), build-all
#                     (the Rust and Go benchmarks), scaling, large-c (the C
#                     real-size rows, benches/large_set.c), criterion, go,
#                     benchstat, cache (hit ratios of the store's cache mode
#                     against Go caches: benches/cache, built and run here,
#                     on its synthetic traces and a block I/O trace file
#                     that it fetches into TRACE_DIR on first use),
#                     cache-speed (the cache mode's Go speed benchmarks,
#                     benches/cache/speed, and their benchstat tables)
#
#   DIR             run directory (raw outputs, meta.txt)
#   SCALING_DIR     where scaling writes <cores>-cores.csv
#   QUICK           1 for the reduced set (cache: hitratio -quick)
#   SCALING_ARGS    scaling's and large-c's DURATION_MS RUNS
#   CRITERION_ARGS  extra criterion arguments
#   COUNT           Go rounds (go and cache-speed), each a separate
#                   process per run kind
#   BENCHTIME       Go -benchtime (go and cache-speed)
#   MEMLIMIT_ENV    Go settings of the memlimit run (equal GC pacing)
#   BENCHSTAT       benchstat binary
#   TRACE_DIR       where the cache phase keeps the block I/O trace it
#                   fetches (default benches/report/out/traces)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
: "${DIR:?}" "${SCALING_DIR:?}"
CARGO=${CARGO:-cargo}
GO=${GO:-go}
CC=${CC:-cc}
TRACE_DIR=${TRACE_DIR:-$ROOT/benches/report/out/traces}
export BLOCKMEM_BENCH_QUICK=${QUICK:-}
mkdir -p "$DIR" "$SCALING_DIR"
cd "$DIR"

# Go benchmark sets: the classic store methods against the pure-Go store
# (impl=...), the read paths again under MEMLIMIT_ENV, blockmem's
# streaming calls against copying ones (path=...), and the real-size set
# (impl=...).
GO_CLASSIC='^Benchmark(WriteBlock|WriteBlock_Parallel|ReadBlock|ReadBlockRange|ReadBlockInto|Stat|HealthCheck|ListByPrefix|TotalSize)$'
GO_READS='^Benchmark(ReadBlock|ReadBlockRange)$'
GO_STREAM='^Benchmark(ReadBlockToCRC32|ReadBlockToTCP|WriteBlockFrom)$'
# The real-size set runs in a process of its own: what the Go heap holds
# from earlier benchmarks changes how often it collects and faults.
GO_LARGE='^BenchmarkLargeSet$'

# The cache-speed set (benches/cache/speed): hits, small writes and the
# 2-goroutine rows in one process; the steady-state write, which holds
# 64 MiB of blocks, and the real-size reads against otter, which hold
# 256 MiB, each in a process of its own, as the binding's real-size set is.
SPEED_HITS='^Benchmark(Hit|Write)$'
SPEED_STEADY='^BenchmarkSteadyWrite$'
SPEED_LARGE='^BenchmarkLargeHit$'

# The cache phase's file trace: CloudPhysics' vSCSI block I/O trace sample
# cloudPhysicsIO.csv (CloudPhysics: the SHARDS paper, Waldspurger et al.,
# FAST 2015), as shipped in the data/ directory of libCacheSim (GPL-3.0),
# taken from the libcachesim 0.3.3 sdist on PyPI. Fetched, not shipped with
# this repository; the download and the file are each checked against
# their SHA-256. See benches/cache/README.md.
TRACE_URL=https://files.pythonhosted.org/packages/7e/c0/70ab287f0c262b35204b49dd4513e7c2f6b96e79e78044991126ae9682d1/libcachesim-0.3.3.tar.gz
TRACE_URL_SHA256=3255bf6c52c6f7b7836fca554bb68ca74aea063215c67d980ef7355821b00ba7
TRACE_MEMBER=libcachesim-0.3.3/src/libCacheSim/data/cloudPhysicsIO.csv
TRACE_SHA256=987ff2213050e47d24e8ba6e010d4b3127e51aafef6a76a8a6d43d13b9156fa1
TRACE_FILE=$TRACE_DIR/${TRACE_MEMBER##*/}

meta() { echo "$1: $2" >> meta.txt; }
sha256_is() { # file sum: whether file exists and its SHA-256 is sum
  [ -f "$1" ] && [ "$(sha256sum < "$1" | cut -d' ' -f1)" = "$2" ]
}
fetch_trace() { # TRACE_FILE, downloaded and extracted unless already there;
  # on failure sets trace_error to why and returns 1
  trace_error=
  sha256_is "$TRACE_FILE" "$TRACE_SHA256" && return 0
  local tmp
  if ! mkdir -p "$TRACE_DIR" || ! tmp=$(mktemp -d "$TRACE_DIR/fetch.XXXXXX"); then
    trace_error="cannot write to $TRACE_DIR"
    return 1
  fi
  if ! curl -fsS --retry 2 --connect-timeout 20 --max-time 900 -o "$tmp/sdist.tar.gz" "$TRACE_URL" 2> "$tmp/err"; then
    trace_error="download failed: $(tail -1 "$tmp/err")"
  elif ! sha256_is "$tmp/sdist.tar.gz" "$TRACE_URL_SHA256"; then
    trace_error="the download's sha256 is not $TRACE_URL_SHA256"
  elif ! tar -xzf "$tmp/sdist.tar.gz" -O "$TRACE_MEMBER" > "$tmp/trace.csv" 2> "$tmp/err"; then
    trace_error="cannot extract $TRACE_MEMBER: $(tail -1 "$tmp/err")"
  elif ! sha256_is "$tmp/trace.csv" "$TRACE_SHA256"; then
    trace_error="the extracted file's sha256 is not $TRACE_SHA256"
  else
    mv "$tmp/trace.csv" "$TRACE_FILE"
  fi
  rm -rf "$tmp"
  [ -z "$trace_error" ]
}
go_bench() { # output-name regex benchtime [env...]
  local name=$1 regex=$2 benchtime=$3
  shift 3
  env "$@" ./memory.test -test.run '^$' -test.bench "$regex" -test.benchmem \
    -test.benchtime "$benchtime" | tee -a "raw-go-$name.txt"
}
speed_bench() { # regex: the cache-speed set, as go_bench runs the binding's
  ./speed.test -test.run '^$' -test.bench "$1" -test.benchmem \
    -test.benchtime "${BENCHTIME:?}" | tee -a raw-go-cache-speed.txt
}
bench_stat() { # set-name column: benchstat's text and CSV of raw-go-<set>.txt
  "${BENCHSTAT:?}" -col "$2" "raw-go-$1.txt" > "go-$1.txt" 2> /dev/null
  "$BENCHSTAT" -col "$2" -format csv "raw-go-$1.txt" > "go-$1.csv" 2> /dev/null
}
lib_stamp() { # the first 16 hex digits of the Go binding's archive checksum
  sed -n 's/.*sha256 \([0-9a-f]\{16\}\).*/\1/p' "$ROOT/bindings/go/store/memory/libblockmem_stamp.h"
}

for phase in "$@"; do
  echo "== $(date -u +%H:%M:%S) $phase"
  start=$(date +%s)
  case $phase in
  build)
    rm -f meta.txt raw-go-*.txt go-*.txt go-*.csv cache.md cache.csv large-c.csv
    meta "started" "$(date -u '+%Y-%m-%d %H:%M UTC')"
    meta "mode" "$([ -n "${QUICK:-}" ] && echo quick || echo full)"
    meta "CPU" "$(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) logical cores"
    meta "memory" "$(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
    meta "kernel" "$(uname -r)"
    meta "load average at start" "$(cut -d' ' -f1-3 /proc/loadavg)"
    meta "toolchain" "$(rustc --version | cut -d' ' -f1-2), $($GO version | cut -d' ' -f3), $($CC --version | head -1)"
    for prog in scaling large_set; do
      "$CC" -O2 -std=c11 -pthread -I"$ROOT/include" "$ROOT/benches/$prog.c" -o "$prog-c" \
        "$ROOT/target/release/libblockmem.a" $(cat "$ROOT/target/release/blockmem-native-libs.txt")
    done
    ;;
  build-all)
    (cd "$ROOT" && "$CARGO" bench --bench store --bench prefix --no-run)
    (cd "$ROOT/bindings/go" && "$GO" test -c -o "$DIR/memory.test" ./store/memory)
    ;;
  scaling)
    out="$SCALING_DIR/$(nproc)-cores.csv"
    { echo "# $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) logical cores,"\
        "$(date -u +%Y-%m-%d)"; ./scaling-c "$(nproc)" ${SCALING_ARGS:?}; } > "$out.tmp"
    mv "$out.tmp" "$out"
    column -s, -t < "$out"
    ;;
  large-c)
    ./large_set-c ${SCALING_ARGS:?} > large-c.csv.tmp
    mv large-c.csv.tmp large-c.csv
    column -s, -t < large-c.csv
    ;;
  criterion)
    (cd "$ROOT" && CRITERION_HOME="$DIR/criterion" \
      "$CARGO" bench --bench store --bench prefix -- --noplot ${CRITERION_ARGS:-}) | tee criterion.txt
    ;;
  go)
    # Every round runs each set in a fresh process, so the sets and the
    # rounds interleave in time and benchstat sees independent samples.
    for i in $(seq "${COUNT:?}"); do
      echo "-- round $i"
      go_bench classic "$GO_CLASSIC" "${BENCHTIME:?}"
      go_bench classic-memlimit "$GO_READS" "$BENCHTIME" ${MEMLIMIT_ENV:?}
      go_bench stream "$GO_STREAM" "$BENCHTIME"
      go_bench large "$GO_LARGE" "$BENCHTIME"
    done
    # Memory per block: once, one implementation per process.
    for impl in blockmem ref; do
      go_bench memory "^BenchmarkMemoryPerBlock\$/^impl=$impl\$" 1x
    done
    meta "Go memlimit run" "$MEMLIMIT_ENV"
    ;;
  benchstat)
    for raw in raw-go-*.txt; do
      name=${raw#raw-go-}
      name=${name%.txt}
      col=/impl
      [ "$name" != stream ] || col=/path
      bench_stat "$name" "$col"
    done
    meta "benchstat" "$("$GO" version -m "$BENCHSTAT" | awk '$1 == "mod" {print $2 " " $3}')"
    ;;
  cache)
    # benches/cache's hit-ratio run with blockmem (its default settings, or
    # -quick) on the synthetic traces and, when it can be fetched, the
    # file trace (replayed whole either way): the markdown tables on stdout
    # and the CSV beside them, from one run; progress on stderr. The
    # binding links the archive make go-lib wrote; its stamp header makes
    # go relink when that changes.
    (cd "$ROOT/benches/cache" && "$GO" build -tags blockmem_cache -o "$DIR/hitratio" ./cmd/hitratio)
    io_trace=
    if fetch_trace; then
      io_trace=$TRACE_FILE
      meta "cache file trace" "${TRACE_FILE##*/} from libcachesim 0.3.3 (PyPI sdist), sha256 ${TRACE_SHA256:0:16}..."
    else
      echo "cache: no file trace ${TRACE_FILE##*/} ($trace_error); replaying the synthetic traces alone"
      meta "cache file trace" "missing: ${TRACE_FILE##*/} could not be fetched ($trace_error)"
    fi
    ./hitratio ${QUICK:+-quick} ${io_trace:+-io-traces "$io_trace"} -csv cache.csv.tmp > cache.md.tmp
    mv cache.csv.tmp cache.csv
    mv cache.md.tmp cache.md
    awk '/^## Hit ratio \(/ {p = 1} /^## Byte/ {p = 0} p' cache.md
    meta "cache phase library" "bindings/go libblockmem.a, sha256 $(lib_stamp)..."
    ;;
  cache-speed)
    # benches/cache/speed's benchmarks: cache mode beside store mode, otter
    # and a plain copy (columns impl=...). Rounds as in the go phase, each
    # process fresh; this phase runs after the benchstat phase, so it makes
    # its own tables (a later benchstat phase remakes them alike).
    (cd "$ROOT/benches/cache" && "$GO" test -c -tags blockmem_cache -o "$DIR/speed.test" ./speed)
    rm -f raw-go-cache-speed.txt
    for i in $(seq "${COUNT:?}"); do
      echo "-- round $i"
      speed_bench "$SPEED_HITS"
      speed_bench "$SPEED_STEADY"
      speed_bench "$SPEED_LARGE"
    done
    bench_stat cache-speed /impl
    meta "cache-speed library" "bindings/go libblockmem.a, sha256 $(lib_stamp)..."
    ;;
  *)
    echo "run.sh: unknown phase $phase" >&2
    exit 2
    ;;
  esac
  meta "phase $phase" "$(( $(date +%s) - start )) s"
done
