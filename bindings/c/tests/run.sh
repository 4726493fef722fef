#!/bin/sh
# Runs C test programs and sums up their results.
#
#   run.sh asan|valgrind BIN_DIR "STATUSES" TEST...
#
# A TEST is a program's name, or NAME=ARG to run it with the argument ARG.
# asan: runs each program as is (ASAN_OPTIONS/UBSAN_OPTIONS from the
# caller) and fails on any sanitizer report. valgrind: runs each program
# under $VALGRIND, keeping each log in BIN_DIR/NAME.valgrind.log, and prints
# its error and leak summaries. Either way a program fails when it exits
# non-zero. Finally checks that the programs together saw the library return
# every status in STATUSES (each program prints a "statuses:" line).
# A program running longer than $TEST_TIMEOUT seconds (default 300) fails.
set -u
limit=${TEST_TIMEOUT:-300}
mode=$1 dir=$2 want_statuses=$3
shift 3

programs=0 tests=0 checks=0 failures=0 bad=""
seen=""
for t in "$@"; do
    arg=""
    case $t in *=*) arg=${t#*=} t=${t%%=*} ;; esac
    log=$dir/$t.log
    start=$(date +%s)
    case $mode in
    asan)
        timeout "$limit" "$dir/$t" ${arg:+"$arg"} > "$log" 2>&1
        rc=$?
        ;;
    valgrind)
        # shellcheck disable=SC2086
        timeout "$limit" $VALGRIND --log-file="$dir/$t.valgrind.log" "$dir/$t" ${arg:+"$arg"} > "$log" 2>&1
        rc=$?
        ;;
    *)
        echo "run.sh: unknown mode $mode" >&2
        exit 2
        ;;
    esac
    secs=$(( $(date +%s) - start ))
    # test_oom makes the sanitizer's allocator refuse an allocation on
    # purpose, and the sanitizer says so on stderr: one line stands for
    # those warnings instead.
    refused='^==[0-9]+==WARNING: AddressSanitizer failed to allocate 0x[0-9a-f]+ bytes$'
    grep -vE "$refused" "$log"
    n=$(grep -cE "$refused" "$log")
    [ "$n" -eq 0 ] || echo "  ($n allocations refused by the sanitizer's allocator, as $t intends)"
    [ "$rc" -ne 124 ] || echo "$t: timed out after ${limit}s"
    programs=$((programs + 1))
    summary=$(grep -E "^$t: [0-9]+ tests, [0-9]+ checks, [0-9]+ failures$" "$log")
    if [ -z "$summary" ]; then
        echo "$t: no summary line (crashed?)"
        bad="$bad $t"
        continue
    fi
    set -- $summary
    tests=$((tests + $2)) checks=$((checks + $4)) failures=$((failures + $6))
    seen="$seen $(sed -n 's/^statuses://p' "$log")"
    if [ "$mode" = asan ]; then
        reports=$(grep -cE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log")
        echo "[asan] $t: exit $rc, $reports sanitizer reports, ${secs}s"
        [ "$reports" -eq 0 ] || bad="$bad $t"
    else
        vlog=$dir/$t.valgrind.log
        errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$vlog" | tail -n 1)
        leak=$(grep -E 'definitely lost:|indirectly lost:|possibly lost:|still reachable:|All heap blocks were freed' "$vlog" |
               sed 's/^==[0-9]*== *//' | tr -s ' ' | paste -sd ';' -)
        echo "[valgrind] $t: exit $rc, ERROR SUMMARY: ${errs:-?} errors; ${leak}; ${secs}s"
        [ "${errs:-1}" = 0 ] || bad="$bad $t"
    fi
    [ "$rc" -eq 0 ] || bad="$bad $t"
done

missing=""
for s in $want_statuses; do
    case " $seen " in
    *" $s "*) ;;
    *) missing="$missing $s" ;;
    esac
done

echo "== $mode: $programs programs, $tests tests, $checks checks, $failures failures"
if [ -n "$missing" ]; then
    echo "== $mode: statuses never returned by the library:$missing"
    bad="$bad (statuses)"
else
    echo "== $mode: every expected status was returned: $want_statuses"
fi
if [ -n "$bad" ]; then
    echo "== $mode: FAILED:$bad"
    exit 1
fi
