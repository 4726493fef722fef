// Package blocks shows a program's own store package switching to blockmem
// while keeping its own sentinel errors: memory.Options.Errors makes the
// store return them, so every err == blocks.ErrBlockNotFound in the
// program keeps working unchanged.
package blocks

import (
	"context"
	"errors"

	"github.com/blockmem/blockmem/bindings/go/store/memory"
)

// BlockStore is the program's own interface; *memory.Store satisfies it.
type BlockStore interface {
	WriteBlock(ctx context.Context, key string, data []byte) error
	ReadBlock(ctx context.Context, key string) ([]byte, error)
	ReadBlockRange(ctx context.Context, key string, offset, length int64) ([]byte, error)
	DeleteBlock(ctx context.Context, key string) error
	Close() error
}

// The program's own errors, as declared before the switch.
var (
	ErrBlockNotFound  = errors.New("blocks: block not found")
	ErrStoreClosed    = errors.New("blocks: store closed")
	ErrInvalidKey     = errors.New("blocks: invalid key")
	ErrInvalidRange   = errors.New("blocks: invalid range")
	ErrBufferTooSmall = errors.New("blocks: buffer too small")
	ErrBlockTooLarge  = errors.New("blocks: block too large")
	ErrStoreFull      = errors.New("blocks: store full")
	ErrOutOfMemory    = errors.New("blocks: out of memory")
)

// New returns the program's store, backed by blockmem and returning this
// package's errors.
func New(maxBytes, maxBlockSize int64) (BlockStore, error) {
	s, err := memory.NewWithOptions(memory.Options{
		MaxBytes:     maxBytes,
		MaxBlockSize: maxBlockSize,
		Errors: memory.Errors{
			BlockNotFound:  ErrBlockNotFound,
			StoreClosed:    ErrStoreClosed,
			InvalidKey:     ErrInvalidKey,
			InvalidRange:   ErrInvalidRange,
			BufferTooSmall: ErrBufferTooSmall,
			BlockTooLarge:  ErrBlockTooLarge,
			StoreFull:      ErrStoreFull,
			OutOfMemory:    ErrOutOfMemory,
		},
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}
