#!/bin/sh
# The Go binding's build errors say what to do: a copy of the module
# without the static library (a clone where `make` has not run) fails
# naming `make`; with cgo off it fails naming cgo; other platforms get
# unsupported.go (checked by file selection and by compiling that file:
# a full build for them would need their C cross compiler). The copy's path is new,
# and the go command keys a cgo package's cached build on its expanded
# ${SRCDIR} flags, so no earlier build of the package can be reused.
set -eu
root=$(pwd)
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "go-errors-test: $*" >&2; exit 1; }

mkdir "$tmp/module"
git ls-files --cached --others --exclude-standard -- bindings/go |
  sed 's|^bindings/go/||' | (cd bindings/go && xargs cp --parents -t "$tmp/module")
test ! -e "$tmp/module/store/memory/lib" || fail "the staged module has a library"
cd "$tmp/module"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local

if out=$(go build ./store/memory 2>&1); then fail "built without the library"; fi
echo "$out" | grep -q 'libblockmem.a is missing: run make at the root' ||
  fail "no hint to run make in: $out"

if out=$(CGO_ENABLED=0 go build ./store/memory 2>&1); then fail "built with cgo off"; fi
echo "$out" | grep -q 'blockmem_requires_cgo__build_with_CGO_ENABLED_1' ||
  fail "no hint about cgo in: $out"
for platform in linux/arm64 darwin/arm64 windows/amd64; do
  files=$(GOOS=${platform%/*} GOARCH=${platform#*/} CGO_ENABLED=1 \
    go list -f '{{.GoFiles}} {{.CgoFiles}}' ./store/memory)
  case "$files" in
    *unsupported.go*) ;;
    *) fail "$platform does not get unsupported.go: $files" ;;
  esac
  case "$files" in *cgo_linux_amd64.go*) fail "$platform links the linux/amd64 archive" ;; esac
done
if out=$(GOOS=darwin GOARCH=arm64 go build -o /dev/null ./store/memory/unsupported.go 2>&1); then
  fail "unsupported.go compiles"
fi
echo "$out" | grep -q 'undefined: blockmem_supports_only_linux_amd64' ||
  fail "no platform hint in: $out"
echo "go-errors-test: missing library, cgo off and other platforms fail with a hint (from $root)"
