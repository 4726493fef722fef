#!/bin/sh
# Tests `make install` / `make uninstall` and the installed packages, from
# the repository root after `make`:
#  1. a DESTDIR staging install (LIBDIR and INCLUDEDIR not the defaults)
#     puts exactly the expected files (versioned shared library with its
#     SONAME and links, stripped libraries, pkg-config and CMake files), and
#     uninstall removes all of them;
#  2. into a scratch PREFIX, small consumers
#     build and run: through pkg-config, shared and --static, and through
#     CMake's find_package, both imported targets.
set -eu
MAKE=${MAKE:-make}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
CMAKE=${CMAKE:-cmake}
version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n 1)
major=${version%%.*}
src=$(pwd)/packaging/consumer
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "c-install-test: $*" >&2; exit 1; }

# 1. Staging install and uninstall.
stage=$tmp/stage
dirs="PREFIX=/opt/blockmem LIBDIR=/opt/blockmem/lib64 INCLUDEDIR=/opt/blockmem/include/bm"
$MAKE --no-print-directory -s install DESTDIR="$stage" $dirs
(cd "$stage" && find . \( -type f -o -type l \) | sort) > "$tmp/files"
cat > "$tmp/want" <<LIST
./opt/blockmem/include/bm/blockmem.h
./opt/blockmem/lib64/cmake/blockmem/blockmem-config-version.cmake
./opt/blockmem/lib64/cmake/blockmem/blockmem-config.cmake
./opt/blockmem/lib64/libblockmem.a
./opt/blockmem/lib64/libblockmem.so
./opt/blockmem/lib64/libblockmem.so.$major
./opt/blockmem/lib64/libblockmem.so.$version
./opt/blockmem/lib64/pkgconfig/blockmem-shared.pc
./opt/blockmem/lib64/pkgconfig/blockmem.pc
LIST
diff -u "$tmp/want" "$tmp/files" || fail "installed files differ from the expected list"
lib=$stage/opt/blockmem/lib64
test "$(readlink "$lib/libblockmem.so")" = "libblockmem.so.$major" || fail "libblockmem.so link"
test "$(readlink "$lib/libblockmem.so.$major")" = "libblockmem.so.$version" || fail "SONAME link"
readelf -d "$lib/libblockmem.so.$version" | grep -q "SONAME.*\[libblockmem\.so\.$major\]" ||
  fail "libblockmem.so.$version has no SONAME libblockmem.so.$major"
readelf -d "$lib/libblockmem.so.$version" | grep -q "FLAGS_1.*NODELETE" ||
  fail "libblockmem.so.$version is not marked nodelete (it runs jemalloc's background threads)"
for f in "$lib/libblockmem.so.$version" "$lib/libblockmem.a"; do
  if readelf -S -W "$f" | grep -q '\.debug_info'; then fail "$f is not stripped"; fi
done
grep -q "^libdir=/opt/blockmem/lib64\$" "$lib/pkgconfig/blockmem.pc" || fail "libdir in blockmem.pc"
grep -q "^includedir=/opt/blockmem/include/bm\$" "$lib/pkgconfig/blockmem.pc" || fail "includedir in blockmem.pc"
grep -q '"${CMAKE_CURRENT_LIST_DIR}/../../../include/bm"' "$lib/cmake/blockmem/blockmem-config.cmake" ||
  fail "include directory in blockmem-config.cmake"
$MAKE --no-print-directory -s uninstall DESTDIR="$stage" $dirs
left=$(cd "$stage" && find . -mindepth 1)
test "$left" = "./opt" || fail "uninstall left: $left"

# 2. Consumers against an installed prefix.
prefix=$tmp/prefix
$MAKE --no-print-directory -s install PREFIX="$prefix"
pc() { PKG_CONFIG_PATH= PKG_CONFIG_LIBDIR="$prefix/lib/pkgconfig" $PKG_CONFIG "$@"; }
test "$(pc --modversion blockmem)" = "$version" || fail "pkg-config version"
needed() { readelf -d "$1" | grep 'NEEDED.*libblockmem' || true; }

"${CC:-cc}" -std=c11 -Wall -Wextra -Werror -pedantic "$src/main.c" -o "$tmp/pc-shared" \
  $(pc --cflags --libs blockmem)
case "$(needed "$tmp/pc-shared")" in
  *"[libblockmem.so.$major]"*) ;;
  *) fail "pkg-config shared link does not need libblockmem.so.$major" ;;
esac
LD_LIBRARY_PATH="$prefix/lib" "$tmp/pc-shared" | grep -q 'read hello, blockmem'

# The README's rpath line for a prefix the dynamic linker does not search.
rpath_line='cc main.c $(pkg-config --cflags --libs blockmem) -Wl,-rpath,$(pkg-config --variable=libdir blockmem)'
grep -qF -- "$rpath_line" README.md || fail "README.md lost its rpath line: $rpath_line"
"${CC:-cc}" "$src/main.c" -o "$tmp/pc-rpath" $(pc --cflags --libs blockmem) \
  -Wl,-rpath,$(pc --variable=libdir blockmem)
env -u LD_LIBRARY_PATH "$tmp/pc-rpath" | grep -q 'read hello, blockmem' ||
  fail "a program linked with the README's rpath line does not run"

"${CC:-cc}" -std=c11 -Wall -Wextra -Werror -pedantic "$src/main.c" -o "$tmp/pc-static" \
  $(pc --static --cflags --libs blockmem)
test -z "$(needed "$tmp/pc-static")" || fail "pkg-config --static link needs the shared library"
env -u LD_LIBRARY_PATH "$tmp/pc-static" | grep -q 'read hello, blockmem'

$CMAKE -S "$src" -B "$tmp/cmake" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
$CMAKE --build "$tmp/cmake" >/dev/null
case "$(needed "$tmp/cmake/app_shared")" in
  *"[libblockmem.so.$major]"*) ;;
  *) fail "blockmem::blockmem does not link libblockmem.so.$major" ;;
esac
test -z "$(needed "$tmp/cmake/app_static")" || fail "blockmem::blockmem_static links the shared library"
env -u LD_LIBRARY_PATH "$tmp/cmake/app_shared" | grep -q 'read hello, blockmem'
env -u LD_LIBRARY_PATH "$tmp/cmake/app_static" | grep -q 'read hello, blockmem'

# The version file: the exact version is accepted; for 0.x, the next
# minor version is not.
minor=$(echo "$version" | cut -d. -f2)
mkdir "$tmp/version"
cat > "$tmp/version/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.16)
project(blockmem_version NONE)
find_package(blockmem $version EXACT REQUIRED)
unset(blockmem_DIR CACHE)
find_package(blockmem $major.$((minor + 1)) QUIET)
if(blockmem_FOUND)
  message(FATAL_ERROR "find_package(blockmem $major.$((minor + 1))) accepted $version")
endif()
CMAKE
$CMAKE -S "$tmp/version" -B "$tmp/cmake-v" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null ||
  fail "the CMake version file"

$MAKE --no-print-directory -s uninstall PREFIX="$prefix"
test ! -e "$prefix" || fail "uninstall left: $(find "$prefix")"
echo "c-install-test: install, uninstall, pkg-config (shared, static) and CMake consumers pass"
