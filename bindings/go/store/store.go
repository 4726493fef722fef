// Package store defines the BlockStore interface that block store callers
// program against, the block size they use, and the errors every
// implementation returns.
//
// Implementations return the sentinel errors below themselves, never
// wrapped, so callers may compare with == as well as with errors.Is:
//
//	if err == store.ErrBlockNotFound { ... }
//
// The in-memory implementation backed by blockmem lives in package
// [github.com/blockmem/blockmem/bindings/go/store/memory].
package store

import (
	"context"
	"errors"
)

// BlockSize is the size of a full block as callers cut their data: 4 MiB.
// Stores accept blocks of any size up to their own limit; this constant is
// the conventional chunking unit, not a cap.
const BlockSize = 4 * 1024 * 1024

// BlockStore stores immutable blocks of bytes under string keys.
//
// Every method is safe for concurrent use. Writing a key again replaces the
// whole block atomically: a reader sees the old block or the new one, never
// a mix. A store never keeps a reference to a caller's slice, and the
// slices it returns belong to the caller.
type BlockStore interface {
	// WriteBlock stores a private copy of data under blockKey, replacing
	// any existing block. On error nothing changes.
	WriteBlock(ctx context.Context, blockKey string, data []byte) error
	// ReadBlock returns a copy of the whole block. An empty block reads as
	// an empty, non-nil slice; a missing one as ErrBlockNotFound.
	ReadBlock(ctx context.Context, blockKey string) ([]byte, error)
	// ReadBlockRange returns a copy of bytes [offset, min(offset+length,
	// size)) of the block. offset == size or length == 0 gives an empty
	// slice; offset > size, or a negative offset or length, is
	// ErrInvalidRange.
	ReadBlockRange(ctx context.Context, blockKey string, offset, length int64) ([]byte, error)
	// DeleteBlock removes the block. Deleting a missing key succeeds.
	DeleteBlock(ctx context.Context, blockKey string) error
	// DeleteByPrefix removes every block whose key starts with prefix; the
	// empty prefix removes everything. A key written during the call may
	// or may not be removed.
	DeleteByPrefix(ctx context.Context, prefix string) error
	// ListByPrefix returns the keys starting with prefix in ascending byte
	// order; nil when none match. Every key stored for the whole call is
	// listed once; keys created or deleted during it may or may not be.
	ListByPrefix(ctx context.Context, prefix string) ([]string, error)
	// Close frees every block. It is idempotent; afterwards every method
	// returns ErrStoreClosed.
	Close() error
	// HealthCheck returns nil while the store is open and ErrStoreClosed
	// after Close.
	HealthCheck(ctx context.Context) error
}

// Errors returned by BlockStore implementations, unwrapped.
var (
	// ErrBlockNotFound: no block is stored under the key.
	ErrBlockNotFound = errors.New("block not found")
	// ErrStoreClosed: the store has been closed.
	ErrStoreClosed = errors.New("store is closed")
	// ErrInvalidKey: the key is empty or longer than the store's key limit.
	ErrInvalidKey = errors.New("invalid key")
	// ErrInvalidRange: a range starts past the end of the block, or an
	// offset or length is negative.
	ErrInvalidRange = errors.New("invalid range")
	// ErrBufferTooSmall: the caller's buffer cannot hold the result;
	// nothing was written to it.
	ErrBufferTooSmall = errors.New("buffer too small")
	// ErrBlockTooLarge: the block is larger than the store's block limit.
	ErrBlockTooLarge = errors.New("block too large")
	// ErrStoreFull: the write would take the store's total size over its
	// byte limit.
	ErrStoreFull = errors.New("store full")
	// ErrOutOfMemory: memory for the block could not be allocated.
	ErrOutOfMemory = errors.New("out of memory")
	// ErrInvalidArgument: a required argument is nil (a nil io.Reader or
	// io.Writer, for example); nothing was done. It mirrors the C ABI's
	// BLOCKMEM_STATUS_INVALID_ARGUMENT.
	ErrInvalidArgument = errors.New("invalid argument")
)
