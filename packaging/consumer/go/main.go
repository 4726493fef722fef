package main

import (
	"context"
	"fmt"
	"log"

	"github.com/blockmem/blockmem/bindings/go/store/memory"
)

func main() {
	s := memory.New()
	defer s.Close()

	ctx := context.Background()
	key := "share/content/chunk-0/block-0"
	if err := s.WriteBlock(ctx, key, []byte("hello, blockmem")); err != nil {
		log.Fatal(err)
	}
	data, err := s.ReadBlock(ctx, key)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("read %s (%d blocks)\n", data, s.BlockCount())
}
