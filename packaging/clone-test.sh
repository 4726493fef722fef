#!/bin/sh
# A new user's first step: `git clone` makes a directory named after the
# repository, `blockmem`, which is also the crate's name (cargo then spells
# the package id differently). Copies the working tree (tracked and
# untracked files, not ignored ones) into such a directory and runs
# `make lib` there: the C libraries and the header must come out, and the
# header must equal the committed one.
#
# The dependencies' build outputs are copied from this tree's
# target/release first, so only blockmem itself is compiled again.
set -eu
root=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "clone-test: $*" >&2; exit 1; }

clone=$tmp/blockmem
mkdir -p "$clone/target/release"
git ls-files -z --cached --others --exclude-standard |
  (cd "$root" && xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh) |
  xargs -0 cp --parents -t "$clone"
for d in deps build .fingerprint; do
  if [ -d "target/release/$d" ]; then cp -a "target/release/$d" "$clone/target/release/"; fi
done

${MAKE:-make} -C "$clone" --no-print-directory lib > "$tmp/log" 2>&1 ||
  { cat "$tmp/log" >&2; fail "make lib failed in a directory named blockmem"; }
for f in libblockmem.a libblockmem.so blockmem-native-libs.txt; do
  test -s "$clone/target/release/$f" || fail "make lib made no target/release/$f"
done
cmp -s "$clone/include/blockmem.h" include/blockmem.h ||
  fail "the header generated in the clone differs from include/blockmem.h"
echo "clone-test: make lib works in a directory named blockmem"
