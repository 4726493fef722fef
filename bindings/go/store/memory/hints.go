//go:build go1.24

package memory

// Call hints for the C functions used per operation (Go 1.24+, see "cgo
// noescape" in cmd/cgo). noescape: the library never keeps a pointer it is
// given (blockmem.h: inputs are borrowed for the call only, outputs are
// written during the call), so keys, data, destination buffers and
// out-parameters may stay on the Go stack instead of being moved to the
// heap. nocallback: the library never calls back into Go, so the runtime
// may skip its callback preparations.

/*
#cgo noescape blockmem_write
#cgo nocallback blockmem_write
#cgo noescape blockmem_get
#cgo nocallback blockmem_get
#cgo noescape blockmem_block_free
#cgo nocallback blockmem_block_free
#cgo noescape blockmem_read
#cgo nocallback blockmem_read
#cgo noescape blockmem_read_range
#cgo nocallback blockmem_read_range
#cgo noescape blockmem_stat
#cgo nocallback blockmem_stat
#cgo noescape blockmem_exists
#cgo nocallback blockmem_exists
#cgo noescape blockmem_delete
#cgo nocallback blockmem_delete
#cgo noescape blockmem_delete_prefix
#cgo nocallback blockmem_delete_prefix
#cgo noescape blockmem_list
#cgo nocallback blockmem_list
#cgo noescape blockmem_list_page_free
#cgo nocallback blockmem_list_page_free
#cgo noescape blockmem_health_check
#cgo nocallback blockmem_health_check
#cgo noescape blockmem_block_count
#cgo nocallback blockmem_block_count
#cgo noescape blockmem_total_size
#cgo nocallback blockmem_total_size
#cgo noescape blockmem_store_stats
#cgo nocallback blockmem_store_stats
#cgo noescape blockmem_store_close
#cgo nocallback blockmem_store_close
#cgo noescape blockmem_reserve
#cgo nocallback blockmem_reserve
#cgo noescape blockmem_commit
#cgo nocallback blockmem_commit
#cgo noescape blockmem_reservation_free
#cgo nocallback blockmem_reservation_free
*/
import "C"
