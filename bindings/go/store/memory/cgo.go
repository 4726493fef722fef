//go:build cgo

package memory

// The module carries the C header (include/blockmem.h: in the repository a
// link to the generated header, in a module zip a copy) and, per supported
// platform, the static library (lib/<GOOS>_<GOARCH>/libblockmem.a), so a
// module fetched with `go get` builds with no other setup. Platform files (cgo_linux_amd64.go)
// link the archive; unsupported.go stops other platforms with a clear
// error; nocgo.go does the same when cgo is off.

/*
#cgo CFLAGS: -I${SRCDIR}/include
*/
import "C"
