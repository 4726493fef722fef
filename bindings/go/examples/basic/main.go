// Command basic shows the blockmem Go binding in a few lines: a store used
// through the classic store.BlockStore interface, then the extensions.
package main

import (
	"context"
	"fmt"
	"log"

	"github.com/blockmem/blockmem/bindings/go/store"
	"github.com/blockmem/blockmem/bindings/go/store/memory"
)

func main() {
	ctx := context.Background()
	s := memory.New()
	defer s.Close()

	// The classic interface, unchanged for existing callers.
	var blocks store.BlockStore = s
	for i := range 3 {
		key := fmt.Sprintf("share/content/chunk-0/block-%d", i)
		if err := blocks.WriteBlock(ctx, key, []byte(fmt.Sprintf("block %d data", i))); err != nil {
			log.Fatal(err)
		}
	}
	data, err := blocks.ReadBlock(ctx, "share/content/chunk-0/block-1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("read %q\n", data)
	part, _ := blocks.ReadBlockRange(ctx, "share/content/chunk-0/block-1", 6, 4)
	fmt.Printf("range %q\n", part)
	if _, err := blocks.ReadBlock(ctx, "share/content/chunk-9/block-0"); err == store.ErrBlockNotFound {
		fmt.Println("missing block:", err)
	}
	keys, _ := blocks.ListByPrefix(ctx, "share/content/chunk-0/")
	fmt.Println("keys:", keys)

	// Extensions: reads into a reused buffer, sizes without copying,
	// paging with sizes, deletes that report what they freed, stats.
	buf := make([]byte, 64)
	n, _ := s.ReadBlockInto(ctx, "share/content/chunk-0/block-2", buf)
	fmt.Printf("read into buffer: %q\n", buf[:n])
	size, _ := s.Stat(ctx, "share/content/chunk-0/block-0")
	fmt.Println("size of block-0:", size)
	page, _ := s.ListPage(ctx, "share/", "", 2)
	fmt.Println("first page:", page.Entries, "more:", page.More)
	removed, freed, _ := s.DeleteByPrefixStats(ctx, "share/content/chunk-0/")
	fmt.Printf("deleted %d blocks, %d bytes\n", removed, freed)
	fmt.Printf("stats: %+v\n", s.Stats())
}
