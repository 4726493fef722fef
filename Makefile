# blockmem build entry point. `make` builds everything and runs the
# examples; `make test` runs every test suite; see README.md.

CARGO   ?= cargo
PREFIX  ?= /usr/local
GO      ?= go

RELEASE_DIR := target/release
LIBS        := $(RELEASE_DIR)/libblockmem.a $(RELEASE_DIR)/libblockmem.so
HEADER      := include/blockmem.h

.PHONY: all build lib example test test-rust test-c test-go lint header-check \
        bench bench-quick bench-scaling soak install clean

all: build example

# Release libraries (static and shared) and the generated header.
build lib:
	$(CARGO) build --release
	$(MAKE) -C bindings/c pc

example: build
	$(MAKE) -C bindings/c example
	$(MAKE) -C bindings/go example

test: lint test-rust header-check test-c test-go

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	$(CARGO) clippy --all-targets --features fault-injection -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps

# Release build for speed; the fault-injection build (panic hooks) is a
# debug build so it never touches the release libraries.
test-rust:
	$(CARGO) test --release
	$(CARGO) test --features fault-injection
	$(CARGO) bench --no-run

# A build must not change the committed header.
header-check: build
	git diff --exit-code -- $(HEADER) || \
	  (echo "include/blockmem.h differs from the generated header: commit it" >&2; exit 1)

test-c: build
	$(MAKE) -C bindings/c test

test-go: build
	$(MAKE) -C bindings/go test

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
	$(CARGO) run --release --example soak -- --duration $(DURATION)
	$(MAKE) -C bindings/go soak DURATION=$(DURATION)

install: build
	$(MAKE) -C bindings/c install PREFIX=$(abspath $(PREFIX))

clean:
	$(CARGO) clean
	$(MAKE) -C bindings/c clean
	$(MAKE) -C bindings/go clean
