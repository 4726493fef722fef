package memory_test

import (
	"context"
	"errors"
	"sync"
)

// slabStore is the machine's limit for a store that copies on write and
// on read, used as the "limit" column of BenchmarkLargeSet: every block
// has a fixed slot in one pointer-free slab allocated up front, so a
// write is a copy into memory that is already mapped (no allocation, no
// page fault, nothing for the collector) and ReadBlockInto a copy out of
// it. Any store that keeps a private copy of each block pays at least
// this; blockmem's and the map store's rows compare against it.
//
// It serves only the real-size benchmark: every block has the size of
// the first one written, and the slab holds benchLargeSetBytes. The
// other BlockStore methods are the map store's, which holds nothing here.
type slabStore struct {
	*refStore
	mu    sync.RWMutex
	slab  []byte
	size  int
	slots map[string]int
}

func newSlabStore() *slabStore {
	return &slabStore{refStore: newRefStore(), slots: make(map[string]int)}
}

var errSlab = errors.New("slab store: block of another size, or the slab is full")

// slot returns the data of blockKey's slot, giving it one on its first
// write.
func (s *slabStore) slot(blockKey string, n int, create bool) ([]byte, bool) {
	s.mu.RLock()
	i, ok := s.slots[blockKey]
	s.mu.RUnlock()
	if !ok {
		if !create {
			return nil, false
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.slab == nil {
			s.size = n
			s.slab = make([]byte, benchLargeSetBytes/n*n)
		}
		if i, ok = s.slots[blockKey]; !ok {
			i = len(s.slots)
			if n != s.size || (i+1)*n > len(s.slab) {
				return nil, false
			}
			s.slots[blockKey] = i
		}
	}
	return s.slab[i*s.size : (i+1)*s.size], true
}

func (s *slabStore) WriteBlock(ctx context.Context, blockKey string, data []byte) error {
	if err := refCheck(ctx, blockKey); err != nil {
		return err
	}
	dst, ok := s.slot(blockKey, len(data), true)
	if !ok || len(dst) != len(data) {
		return errSlab
	}
	copy(dst, data)
	return nil
}

func (s *slabStore) ReadBlockInto(ctx context.Context, blockKey string, buf []byte) (int, error) {
	if err := refCheck(ctx, blockKey); err != nil {
		return 0, err
	}
	src, ok := s.slot(blockKey, 0, false)
	if !ok {
		return 0, errSlab
	}
	return copy(buf, src), nil
}
