// Package blocks shows a program's own store package switching to blockmem
// by adopting package store's sentinels: its error variables become
// store's values, so every err == blocks.ErrBlockNotFound in the program
// keeps working unchanged.
package blocks

import (
	"context"

	"github.com/blockmem/blockmem/bindings/go/store"
	"github.com/blockmem/blockmem/bindings/go/store/memory"
)

// BlockStore is the program's own interface; *memory.Store satisfies it.
type BlockStore interface {
	ReadBlock(ctx context.Context, key string) ([]byte, error)
	WriteBlock(ctx context.Context, key string, data []byte) error
	Close() error
}

// The program's errors, now the values the store returns.
var (
	ErrBlockNotFound = store.ErrBlockNotFound
	ErrStoreClosed   = store.ErrStoreClosed
	ErrInvalidKey    = store.ErrInvalidKey
)

// New returns the program's store, backed by blockmem.
func New() BlockStore { return memory.New() }
