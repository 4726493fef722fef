package memory_test

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/blockmem/blockmem/bindings/go/store"
)

// refStore is the pure-Go reference the benchmarks compare blockmem with:
// the in-memory block store design Go callers use today. A map from key to
// block under one sync.RWMutex; writes store a private copy of the data,
// reads return a private copy, so callers can never alias stored memory.
//
// It is written the way a careful Go programmer would write it, not to
// lose: copies on write happen before taking the lock, readers share the
// lock, and nothing is done twice. It keeps no extra indexes or counters,
// so listing by prefix and the total size walk the map.
type refStore struct {
	mu     sync.RWMutex
	blocks map[string][]byte
	closed bool
}

var _ store.BlockStore = (*refStore)(nil)

const refMaxKeyLen = 1024

func newRefStore() *refStore {
	return &refStore{blocks: make(map[string][]byte)}
}

func refValidKey(key string) bool {
	return key != "" && len(key) <= refMaxKeyLen
}

// refCheck makes the argument checks every keyed call starts with.
func refCheck(ctx context.Context, blockKey string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !refValidKey(blockKey) {
		return store.ErrInvalidKey
	}
	return nil
}

// locked runs fn under the lock (exclusive for writers, shared for
// readers), once ctx and the closed flag allow.
func (s *refStore) locked(ctx context.Context, exclusive bool, fn func()) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if exclusive {
		s.mu.Lock()
		defer s.mu.Unlock()
	} else {
		s.mu.RLock()
		defer s.mu.RUnlock()
	}
	if s.closed {
		return store.ErrStoreClosed
	}
	fn()
	return nil
}

// lookup returns the block under blockKey. Stored slices are never
// written to after they are stored, so the caller may read the result
// without holding the lock.
func (s *refStore) lookup(ctx context.Context, blockKey string) ([]byte, error) {
	var data []byte
	var ok bool
	if err := s.locked(ctx, false, func() { data, ok = s.blocks[blockKey] }); err != nil {
		return nil, err
	}
	if !ok {
		return nil, store.ErrBlockNotFound
	}
	return data, nil
}

// checkedLookup is refCheck then lookup.
func (s *refStore) checkedLookup(ctx context.Context, blockKey string) ([]byte, error) {
	if err := refCheck(ctx, blockKey); err != nil {
		return nil, err
	}
	return s.lookup(ctx, blockKey)
}

func (s *refStore) WriteBlock(ctx context.Context, blockKey string, data []byte) error {
	if err := refCheck(ctx, blockKey); err != nil {
		return err
	}
	buf := make([]byte, len(data))
	copy(buf, data)
	return s.locked(ctx, true, func() { s.blocks[blockKey] = buf })
}

func (s *refStore) ReadBlock(ctx context.Context, blockKey string) ([]byte, error) {
	return s.ReadBlockRange(ctx, blockKey, 0, -1)
}

// ReadBlockRange copies [offset, min(offset+length, size)); a negative
// length, used only by ReadBlock, means "to the end".
func (s *refStore) ReadBlockRange(ctx context.Context, blockKey string, offset, length int64) ([]byte, error) {
	if err := refCheck(ctx, blockKey); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, store.ErrInvalidRange
	}
	data, err := s.lookup(ctx, blockKey)
	if err != nil {
		return nil, err
	}
	size := int64(len(data))
	if offset > size {
		return nil, store.ErrInvalidRange
	}
	end := size
	if length >= 0 && length < size-offset {
		end = offset + length
	}
	src := data[offset:end]
	out := make([]byte, len(src))
	copy(out, src)
	return out, nil
}

// ReadBlockInto is the reference's counterpart of blockmem's allocation-
// free read; the classic interface has no such method, but a map store
// could offer one just as easily.
func (s *refStore) ReadBlockInto(ctx context.Context, blockKey string, dst []byte) (int, error) {
	data, err := s.checkedLookup(ctx, blockKey)
	if err != nil {
		return 0, err
	}
	if len(dst) < len(data) {
		return len(data), store.ErrBufferTooSmall
	}
	return copy(dst, data), nil
}

func (s *refStore) Stat(ctx context.Context, blockKey string) (int64, error) {
	data, err := s.checkedLookup(ctx, blockKey)
	if err != nil {
		return 0, err
	}
	return int64(len(data)), nil
}

func (s *refStore) DeleteBlock(ctx context.Context, blockKey string) error {
	if err := refCheck(ctx, blockKey); err != nil {
		return err
	}
	return s.locked(ctx, true, func() { delete(s.blocks, blockKey) })
}

func (s *refStore) DeleteByPrefix(ctx context.Context, prefix string) error {
	return s.locked(ctx, true, func() {
		for key := range s.blocks {
			if strings.HasPrefix(key, prefix) {
				delete(s.blocks, key)
			}
		}
	})
}

func (s *refStore) ListByPrefix(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	err := s.locked(ctx, false, func() {
		for key := range s.blocks {
			if strings.HasPrefix(key, prefix) {
				keys = append(keys, key)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(keys)
	return keys, nil
}

func (s *refStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.blocks = nil
	return nil
}

func (s *refStore) HealthCheck(ctx context.Context) error {
	return s.locked(ctx, false, func() {})
}

func (s *refStore) BlockCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.blocks)
}

func (s *refStore) TotalSize() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var total int64
	for _, data := range s.blocks {
		total += int64(len(data))
	}
	return total
}
