//go:build cgo && !(linux && amd64)

package memory

// The module ships the blockmem static library for linux/amd64 only.
// Building for any other platform stops here, at compile time, with
// "undefined: blockmem_supports_only_linux_amd64".
var _ = blockmem_supports_only_linux_amd64
