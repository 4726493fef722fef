package blocks_test

import (
	"context"
	"strings"
	"testing"

	"github.com/blockmem/blockmem/bindings/go/store"
	"github.com/blockmem/blockmem/bindings/go/store/memory"

	adopted "github.com/blockmem/blockmem/bindings/go/examples/switchover/adopt"
	blocks "github.com/blockmem/blockmem/bindings/go/examples/switchover/own"
)

// Every sentinel the store can return arrives as the program's own value,
// comparable with ==, through the program's own interface.
func TestOwnSentinels(t *testing.T) {
	ctx := context.Background()
	s, err := blocks.New(100, 10)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WriteBlock(ctx, "a", []byte("12345")); err != nil {
		t.Fatal(err)
	}
	fill := func() error {
		if err := s.WriteBlock(ctx, "b", make([]byte, 10)); err != nil {
			return err
		}
		for i := range 10 {
			if err := s.WriteBlock(ctx, "c"+string(rune('0'+i)), make([]byte, 10)); err != nil {
				return err
			}
		}
		return nil
	}
	for _, tc := range []struct {
		want error
		op   func() error
	}{
		{blocks.ErrBlockNotFound, func() error { _, err := s.ReadBlock(ctx, "missing"); return err }},
		{blocks.ErrInvalidKey, func() error { return s.WriteBlock(ctx, "", nil) }},
		{blocks.ErrInvalidRange, func() error { _, err := s.ReadBlockRange(ctx, "a", 6, 1); return err }},
		{blocks.ErrInvalidRange, func() error { _, err := s.ReadBlockRange(ctx, "a", -1, 1); return err }},
		{blocks.ErrBufferTooSmall, func() error {
			_, err := s.(*memory.Store).ReadBlockInto(ctx, "a", make([]byte, 4))
			return err
		}},
		{blocks.ErrBlockTooLarge, func() error { return s.WriteBlock(ctx, "a", make([]byte, 11)) }},
		{blocks.ErrStoreFull, fill},
		{blocks.ErrOutOfMemory, func() error {
			// No caps but the block's: nothing can allocate 2^62 bytes.
			big, err := blocks.New(0, 0)
			if err != nil {
				return err
			}
			defer big.Close()
			return big.(*memory.Store).WriteBlockFrom(ctx, "a", strings.NewReader(""), 1<<62)
		}},
		{blocks.ErrStoreClosed, func() error { s.Close(); _, err := s.ReadBlock(ctx, "a"); return err }},
	} {
		if err := tc.op(); err != tc.want {
			t.Errorf("got %v, want the program's %v", err, tc.want)
		}
	}
}

// Fields left nil keep package store's sentinels.
func TestUnsetFieldsKeepStoreSentinels(t *testing.T) {
	s, err := memory.NewWithOptions(memory.Options{Errors: memory.Errors{InvalidKey: blocks.ErrInvalidKey}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadBlock(context.Background(), "missing"); err != store.ErrBlockNotFound {
		t.Errorf("got %v, want store.ErrBlockNotFound", err)
	}
	if _, err := s.ReadBlock(context.Background(), ""); err != blocks.ErrInvalidKey {
		t.Errorf("got %v, want blocks.ErrInvalidKey", err)
	}
}

// Adopting store's sentinels needs no option at all.
func TestAdoptedSentinels(t *testing.T) {
	s := adopted.New()
	if _, err := s.ReadBlock(context.Background(), "missing"); err != adopted.ErrBlockNotFound {
		t.Errorf("got %v, want %v", err, adopted.ErrBlockNotFound)
	}
	s.Close()
	if err := s.WriteBlock(context.Background(), "", nil); err != adopted.ErrInvalidKey {
		t.Errorf("got %v, want %v", err, adopted.ErrInvalidKey)
	}
	if err := s.WriteBlock(context.Background(), "k", nil); err != adopted.ErrStoreClosed {
		t.Errorf("got %v, want %v", err, adopted.ErrStoreClosed)
	}
}
