// Package speed holds Go benchmarks of blockmem's cache mode
// (memory.Options{MaxBytes, Evict: true}) beside store mode and otter: hits
// through ReadBlockInto from one and two goroutines, small writes, and a
// 64 KiB write that evicts at steady state. They are in speed_test.go,
// behind the blockmem_cache build tag (they need the binding's cache mode
// and the Rust library); without the tag the package is empty.
//
//	go test -tags blockmem_cache -run '^$' -bench . -benchmem ./speed
//
// make bench runs them as the cache-speed set (benches/report/run.sh) and
// compares the columns (impl=store, cache, otter, copy) with benchstat.
package speed
