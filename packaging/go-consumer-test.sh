#!/bin/sh
# A new user's view of the Go module: in a fresh module outside the
# repository, with the module proxy written by `make dist` as the only
# source (GOPROXY=file://..., GOSUMDB=off) and no Rust toolchain on PATH,
# `go get` the binding, then `go vet`, `go build`, `go test` and run a
# program that uses memory.New() (packaging/consumer/go).
#
#   go-consumer-test.sh ABS_GOPROXY_DIR MODULE_PATH VERSION
set -eu
proxy=$1 module=$2 version=$3
src=$(cd "$(dirname "$0")/consumer/go" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
fail() { echo "go-consumer-test: $*" >&2; exit 1; }

# PATH: the go command and the C toolchain only.
gobin=$(dirname "$(command -v go)")
PATH="$gobin:/usr/bin:/bin"
for tool in cargo rustc; do
  if command -v "$tool" >/dev/null 2>&1; then fail "$tool is still on PATH ($(command -v $tool))"; fi
done
export PATH GOPROXY="file://$proxy" GOSUMDB=off GOFLAGS="-mod=mod -modcacherw" \
  GOMODCACHE="$tmp/modcache" GOTOOLCHAIN=local GOWORK=off GONOSUMDB= GOPRIVATE= GONOPROXY=

mkdir "$tmp/app"
cp "$src/main.go" "$src/main_test.go" "$tmp/app/"
cd "$tmp/app"
go mod init example.com/consumer >/dev/null 2>&1
go get "$module@$version"
go vet ./...
go build -o app .
go test -count=1 ./...
out=$(./app)
test "$out" = "read hello, blockmem (1 blocks)" || fail "the program printed '$out'"
moddir=$(go list -m -f '{{.Dir}}' "$module")
for f in LICENSE-MIT LICENSE-APACHE; do
  test -s "$moddir/$f" || fail "the module zip has no $f"
done
echo "go-consumer-test: $module@$version from $proxy builds, vets, tests and runs without Rust"

# The README's other path: a local clone, through a replace directive and
# `go mod tidy`, with no proxy at all.
mkdir "$tmp/local"
cp "$src/main.go" "$tmp/local/"
cd "$tmp/local"
go mod init example.com/consumer >/dev/null 2>&1
go mod edit -replace "$module=$repo/bindings/go"
GOPROXY=off go mod tidy
GOPROXY=off go build -o app .
out=$(./app)
test "$out" = "read hello, blockmem (1 blocks)" || fail "the local-clone program printed '$out'"
echo "go-consumer-test: a local clone through go mod edit -replace and go mod tidy builds and runs"
