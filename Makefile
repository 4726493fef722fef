# blockmem build entry point. `make` builds everything and runs the
# examples; `make test` runs every test suite; see README.md.
#
# The Rust crate itself builds only an rlib. The C libraries and the header
# are built here: `cargo rustc --features capi --crate-type staticlib,cdylib`
# (the `capi` feature makes build.rs generate the header into OUT_DIR).
# Go is optional: without `go` on PATH the Go targets say so and skip.

SHELL       := bash
.SHELLFLAGS := -o pipefail -ec

ROOT       := .
include tools/common.mk
GO         ?= go
RELEASE_DIR := target/release
HEADER     := include/blockmem.h
# What the static library needs from the system, as rustc reports it for
# this target (`--print native-static-libs`), written by `make lib`.
NATIVE_LIBS := $(RELEASE_DIR)/blockmem-native-libs.txt
CAPI_JSON   := $(RELEASE_DIR)/blockmem-capi.json
# This crate's package id in cargo's JSON messages: `path+file:///dir#blockmem@0.1.0`,
# or `path+file:///.../blockmem#0.1.0` when the directory has the crate's name
# (as a plain `git clone` makes it).
PKG_ID_RE   := path\+file://[^"\#]*(\#blockmem@|/blockmem\#)[^"]*

# The Go module carries the header and, per platform, the static archive.
GO_PKG     := bindings/go/store/memory
HOST       := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
GO_PLATFORM := $(if $(filter x86_64-unknown-linux-gnu,$(HOST)),linux_amd64)
GO_ARCHIVE := $(GO_PKG)/lib/$(GO_PLATFORM)/libblockmem.a
HAVE_GO    := $(shell command -v $(GO) >/dev/null 2>&1 && echo yes)
NO_GO       = $(call skip,go,Go 1.24 or later from your distribution or the Go project)
include tools/skip.mk
MODULE     := github.com/blockmem/blockmem/bindings/go
GOPROXY_DIR := target/dist/goproxy

comma := ,
# The shared library's SONAME, and -z nodelete: jemalloc's background
# threads and the extent hooks it calls (src/large.rs) run code of the
# library, so a dlclose must never unmap it.
SO_LINK_FLAGS := $(if $(filter %-linux-gnu %-linux-musl,$(HOST)),-C link-arg=-Wl$(comma)-soname$(comma)libblockmem.so.$(SOMAJOR) -C link-arg=-Wl$(comma)-z$(comma)nodelete)

.PHONY: all build lib go-lib example test test-rust test-c test-go test-install \
        test-clone test-go-module test-readme lint lint-rust lint-go header-check \
        test-long test-rust-release test-c-valgrind test-go-long \
        bench bench-quick bench-scaling soak install uninstall dist clean

all: build example

# Release libraries (static and shared), the generated header, the Go
# module's copies of both, and the build-tree pkg-config file.
build: lib go-lib
	$(MAKE) -C bindings/c pc

# cargo's JSON names the build script's OUT_DIR, where the header is; the
# native-static-libs note is replayed by cargo even when nothing rebuilt.
lib:
	@mkdir -p $(RELEASE_DIR)
	$(CARGO) rustc --release --lib --features capi --crate-type staticlib,cdylib \
	  --message-format=json-render-diagnostics \
	  -- $(SO_LINK_FLAGS) --print native-static-libs \
	  2>&1 > $(CAPI_JSON) | tee $(CAPI_JSON).err >&2
	@out=$$(sed -n -E 's%^\{"reason":"build-script-executed","package_id":"$(PKG_ID_RE)".*"out_dir":"([^"]*)".*%\2%p' $(CAPI_JSON) | tail -n 1); \
	  test -f "$$out/blockmem.h" || { echo "cargo did not report the generated header" >&2; exit 1; }; \
	  cmp -s "$$out/blockmem.h" $(HEADER) || cp "$$out/blockmem.h" $(HEADER)
	@sed -n 's/^note: native-static-libs: //p' $(CAPI_JSON).err | tail -n 1 | \
	  tr ' ' '\n' | grep -vx -- '-lc' | paste -sd ' ' > $(NATIVE_LIBS).tmp
	@test -s $(NATIVE_LIBS).tmp || { echo "rustc did not report native-static-libs" >&2; exit 1; }
	@mv -f $(NATIVE_LIBS).tmp $(NATIVE_LIBS)
	@ln -sf libblockmem.so $(RELEASE_DIR)/libblockmem.so.$(SOMAJOR)

# The Go module's header is a committed link to include/blockmem.h (make
# dist ships a copy); the archive is not committed (see README "Go"):
# copied here only when it changed. The go command does not hash files
# named in #cgo LDFLAGS, so it would go on linking a cached test binary
# with the old archive; GO_STAMP, a header in the package directory (which
# it does hash), holds the archive's checksum, so a new archive makes it
# rebuild and relink the package.
GO_STAMP := $(GO_PKG)/libblockmem_stamp.h
go-lib: lib
ifneq ($(GO_PLATFORM),)
	@mkdir -p $(dir $(GO_ARCHIVE))
	@cmp -s $(RELEASE_DIR)/libblockmem.a $(GO_ARCHIVE) || cp $(RELEASE_DIR)/libblockmem.a $(GO_ARCHIVE)
	@sum=$$(sha256sum $(GO_ARCHIVE) | cut -d' ' -f1); \
	  line="/* The archive in lib/ this package links: sha256 $$sum (written by make go-lib). */"; \
	  [ "$$(cat $(GO_STAMP) 2>/dev/null)" = "$$line" ] || echo "$$line" > $(GO_STAMP)
else
	@echo "no Go archive for host $(HOST): the Go module supports linux/amd64"
endif

example: build
	$(MAKE) -C bindings/c example
ifeq ($(HAVE_GO),yes)
	$(MAKE) -C bindings/go example
else
	@$(NO_GO)
endif

# The suites a change must pass (a few minutes on 2 cores); test-long adds
# the slow ones (the release-mode Rust tests, valgrind, the cgocheck2 run
# and fuzzing of the Go binding), which .ci/run also runs.
test: lint test-rust header-check test-c test-install test-clone test-go test-go-module test-readme
	@echo "make test: every suite passed"

test-long: test-rust-release test-c-valgrind test-go-long
	@echo "make test-long: every suite passed"

lint: lint-rust lint-go

# Every unsafe block states why it is sound, every unsafe fn its caller's
# duties, every fallible public fn its errors.
CLIPPY_FLAGS := -D warnings -D clippy::undocumented_unsafe_blocks \
                -D clippy::missing_safety_doc -D clippy::missing_errors_doc

lint-rust:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- $(CLIPPY_FLAGS)
	$(CARGO) clippy --all-targets --features fault-injection,system-alloc -- $(CLIPPY_FLAGS)
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps

lint-go:
ifeq ($(HAVE_GO),yes)
	$(MAKE) -C bindings/go lint
	$(MAKE) -C bindings/go lint-dir DIR=$(abspath tools/godist)
	$(MAKE) -C bindings/go lint-dir DIR=$(abspath benches/cache)
else
	@$(NO_GO)
endif

# Every Rust test, in one debug build with fault injection (panic hooks),
# which never touches the release libraries; the benchmarks compile under
# `make lint` (clippy --all-targets). test-rust-release runs them again
# optimised, where the stress tests do many more operations.
test-rust:
	$(CARGO) test --features fault-injection

test-rust-release:
	$(CARGO) test --release

# A build must not change the committed header.
header-check: build
	git diff --exit-code -- include/ || \
	  (echo "the generated header differs from the committed one: commit it" >&2; exit 1)

test-c: build
	$(MAKE) -C bindings/c test

test-c-valgrind: build
	$(MAKE) -C bindings/c test-long

# Install into a scratch prefix (and stage with DESTDIR), build consumers
# through pkg-config (shared and static) and CMake, then uninstall.
test-install: build
ifeq ($(call have,pkg-config)$(call have,cmake),yesyes)
	sh packaging/c-install-test.sh
else
	@$(call skip,pkg-config or cmake,apt-get install pkgconf cmake)
endif

# `make lib` in a copy of the tree under the directory name a plain
# `git clone` gives it.
test-clone: build
	sh packaging/clone-test.sh

test-go: build
ifeq ($(HAVE_GO),yes)
	$(MAKE) -C bindings/go test
	$(MAKE) -C benches/cache test-blockmem
else
	@$(NO_GO)
endif

test-go-long: build
ifeq ($(HAVE_GO),yes)
	$(MAKE) -C bindings/go test-long
else
	@$(NO_GO)
endif

# A fresh module outside the repository gets the binding through the local
# GOPROXY written by `make dist`, with no Rust toolchain on PATH.
test-go-module: dist
ifeq ($(HAVE_GO),yes)
	sh packaging/go-consumer-test.sh $(abspath $(GOPROXY_DIR)) $(MODULE) v$(VERSION)
	sh packaging/go-errors-test.sh
else
	@$(NO_GO)
endif

# The Rust blocks of README.md and docs/GUIDE.md are whole programs (the
# doc-tests run them); the streaming example they link compiles.
test-readme: build
ifneq ($(call have,python3),yes)
	@$(call skip,python3,apt-get install python3)
else
	python3 packaging/check-readme.py README.md docs/GUIDE.md
	$(CC) -std=c11 -Wall -Wextra -Werror -pedantic -Iinclude -c \
	  packaging/consumer/stream.c -o target/readme-stream.o
endif

# Benchmarks (not part of `make test`); see benches/report/Makefile.
# bench: benches/report/REPORT.md; bench-quick: a reduced run under
# benches/report/out/quick; bench-scaling: the C ABI scaling table alone.
bench: build
	$(MAKE) -C benches/report all

bench-quick: build
	$(MAKE) -C benches/report quick

bench-scaling: build
	$(MAKE) -C benches/report scaling

# Long-running self-verifying load (not part of `make test`).
DURATION ?= 60s
soak: build
	BLOCKMEM_SOAK_DURATION=$(DURATION) $(CARGO) test --release --test soak -- --ignored --nocapture
ifeq ($(HAVE_GO),yes)
	$(MAKE) -C bindings/go soak DURATION=$(DURATION)
endif

INSTALL_VARS = PREFIX=$(abspath $(PREFIX)) LIBDIR=$(abspath $(LIBDIR)) \
               INCLUDEDIR=$(abspath $(INCLUDEDIR)) DESTDIR=$(DESTDIR)

install: build
	$(MAKE) -C bindings/c install $(INSTALL_VARS)

uninstall:
	$(MAKE) -C bindings/c uninstall $(INSTALL_VARS)

# The Go module in GOPROXY layout for this version (v$(VERSION)): the
# module's committed files, the licences, and the static archive without
# debug info. Written beside the previous output and swapped in only when
# complete, so a failed run leaves the last good target/dist in place.
# tools/godist uses only the Go standard library: no network needed.
DIST_TMP := target/dist.tmp
dist: build
ifeq ($(HAVE_GO),yes)
	@test -n "$(GO_PLATFORM)" || { echo "make dist: no Go archive for host $(HOST)" >&2; exit 1; }
	rm -rf $(DIST_TMP)
	mkdir -p $(DIST_TMP)/module
	git ls-files --cached --others --exclude-standard -- bindings/go | \
	  sed 's|^bindings/go/||' | (cd bindings/go && xargs cp --parents -t ../../$(DIST_TMP)/module)
	cp LICENSE-MIT LICENSE-APACHE $(DIST_TMP)/module/
	mkdir -p $(DIST_TMP)/module/store/memory/lib/$(GO_PLATFORM)
	strip --strip-debug -o $(DIST_TMP)/module/store/memory/lib/$(GO_PLATFORM)/libblockmem.a $(GO_ARCHIVE)
	cd tools/godist && $(GO) run . -module $(MODULE) -version v$(VERSION) \
	  -time "$$(git log -1 --format=%cI)" -dir ../../$(DIST_TMP)/module -out ../../$(DIST_TMP)/goproxy
	rm -rf target/dist && mv $(DIST_TMP) target/dist
else
	@$(NO_GO)
endif

clean:
	$(CARGO) clean
	$(MAKE) -C bindings/c clean
	rm -rf $(GO_PKG)/lib $(GO_STAMP)
ifeq ($(HAVE_GO),yes)
	$(MAKE) -C bindings/go clean
endif
