//go:build cgo

package memory

// Links the static library, so Go binaries carry blockmem and need no
// LD_LIBRARY_PATH. The system libraries are what Rust's standard library
// needs on linux/amd64 (`rustc --print native-static-libs`, checked by
// `make test`). In a repository clone, `make` at the root builds the
// archive and copies it here; a module fetched through a proxy ships it.

/*
#cgo LDFLAGS: ${SRCDIR}/lib/linux_amd64/libblockmem.a -lgcc_s -lutil -lrt -lpthread -lm -ldl
#if !__has_include("../lib/linux_amd64/libblockmem.a")
#error "blockmem: lib/linux_amd64/libblockmem.a is missing: run make at the root of the blockmem repository to build it"
#endif
*/
import "C"
