package main

import (
	"context"
	"errors"
	"testing"

	"github.com/blockmem/blockmem/bindings/go/store"
	"github.com/blockmem/blockmem/bindings/go/store/memory"
)

// The fetched module works: a block round-trips and a missing key is the
// store's sentinel error.
func TestStore(t *testing.T) {
	s := memory.New()
	defer s.Close()
	ctx := context.Background()
	if err := s.WriteBlock(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadBlock(ctx, "k")
	if err != nil || string(got) != "v" {
		t.Fatalf("ReadBlock = %q, %v; want \"v\", nil", got, err)
	}
	if _, err := s.ReadBlock(ctx, "missing"); !errors.Is(err, store.ErrBlockNotFound) {
		t.Fatalf("ReadBlock(missing) error = %v, want ErrBlockNotFound", err)
	}
}
