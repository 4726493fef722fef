//go:build !cgo

package memory

// The binding calls the blockmem C library through cgo. With cgo off
// (CGO_ENABLED=0, or no C compiler found), building stops here with
// "undefined: blockmem_requires_cgo__build_with_CGO_ENABLED_1_and_a_C_compiler".
var _ = blockmem_requires_cgo__build_with_CGO_ENABLED_1_and_a_C_compiler
