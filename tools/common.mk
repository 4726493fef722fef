# Included by the root Makefile and bindings/c/Makefile (ROOT: the
# repository root): the tools and install places they share, and the
# crate's version.

CARGO      ?= cargo
PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DESTDIR    ?=

VERSION    := $(shell sed -n 's/^version *= *"\(.*\)"/\1/p' $(ROOT)/Cargo.toml | head -n 1)
SOMAJOR    := $(firstword $(subst ., ,$(VERSION)))
