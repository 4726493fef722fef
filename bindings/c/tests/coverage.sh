#!/bin/sh
# Checks that the C tests call every function of the API.
#
#   coverage.sh HEADER LIBRARY.so TEST_SOURCE...
#
# The list comes from the header; it is compared with what the shared
# library exports (blockmem_test_* exist only in fault-injection builds), so
# a function exported but left out of the header fails too.
set -eu
header=$1 lib=$2
shift 2

declared=$(grep -oE '\bblockmem_[a-z0-9_]+\(' "$header" | tr -d '(' | sort -u)
exported=$(nm -D --defined-only "$lib" | awk '$2 == "T" && $3 ~ /^blockmem_/ { print $3 }' | sort -u)
release_declared=$(echo "$declared" | grep -v '^blockmem_test_' || true)

status=0
if [ "$release_declared" != "$exported" ]; then
    echo "coverage: the header and $lib disagree:"
    echo "$release_declared" > "${TMPDIR:-/tmp}/blockmem-declared.$$"
    echo "$exported" | diff "${TMPDIR:-/tmp}/blockmem-declared.$$" - || true
    rm -f "${TMPDIR:-/tmp}/blockmem-declared.$$"
    status=1
fi

n=0
for f in $declared; do
    n=$((n + 1))
    if ! grep -qE "\b$f\(" "$@"; then
        echo "coverage: no test calls $f"
        status=1
    fi
done
[ $status -eq 0 ] && echo "coverage: the tests call all $n functions of the API (header = library exports)"
exit $status
