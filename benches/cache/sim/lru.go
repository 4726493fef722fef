package sim

import (
	"container/list"
	"fmt"
	"sync"
)

func init() {
	Register("lru", func(capacity int64, _ *Trace) (Cache, error) { return NewLRU(capacity), nil })
}

// LRU is the cache a Go program typically writes by hand: a map and a
// container/list under one sync.RWMutex, bounded by the sum of value
// lengths. Every hit takes the write lock to move its entry to the front;
// only Held and Len share the read lock.
type LRU struct {
	mu        sync.RWMutex
	capacity  int64
	bytes     int64
	ll        *list.List // front: most recently used
	items     map[string]*list.Element
	evictions int64
	evicted   int64 // bytes
	rejected  int64 // values larger than the whole capacity, never stored
}

type lruItem struct {
	key   string
	value []byte
}

// NewLRU returns an empty LRU holding at most capacity bytes of values.
func NewLRU(capacity int64) *LRU {
	return &LRU{capacity: capacity, ll: list.New(), items: make(map[string]*list.Element)}
}

// Lookup returns the value under key and marks it most recently used.
func (c *LRU) Lookup(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		return nil, false
	}
	c.ll.MoveToFront(e)
	return e.Value.(*lruItem).value, true
}

// Store puts value under key as the most recently used entry, then evicts
// least recently used entries until the values fit the capacity. A value
// larger than the capacity is not stored (and an older value under key is
// dropped), rather than flushing the whole cache for nothing.
func (c *LRU) Store(key string, value []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.remove(e)
	}
	if int64(len(value)) > c.capacity {
		c.rejected++
		return
	}
	c.items[key] = c.ll.PushFront(&lruItem{key, value})
	c.bytes += int64(len(value))
	for c.bytes > c.capacity {
		victim := c.ll.Back()
		c.evicted += int64(len(victim.Value.(*lruItem).value))
		c.evictions++
		c.remove(victim)
	}
}

func (c *LRU) remove(e *list.Element) {
	it := c.ll.Remove(e).(*lruItem)
	delete(c.items, it.key)
	c.bytes -= int64(len(it.value))
}

// Keys returns the keys from most to least recently used.
func (c *LRU) Keys() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	keys := make([]string, 0, c.ll.Len())
	for e := c.ll.Front(); e != nil; e = e.Next() {
		keys = append(keys, e.Value.(*lruItem).key)
	}
	return keys
}

// Len returns the number of entries.
func (c *LRU) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.ll.Len()
}

func (c *LRU) Get(key string) (int, bool, error) {
	v, ok := c.Lookup(key)
	return len(v), ok, nil
}

func (c *LRU) Set(key string, value []byte) error {
	c.Store(key, value)
	return nil
}

func (c *LRU) Held() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.bytes
}

func (c *LRU) Notes() string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return fmt.Sprintf("entries=%d evictions=%d evicted_bytes=%d too_large=%d", c.ll.Len(), c.evictions, c.evicted, c.rejected)
}

func (c *LRU) Close() error { return nil }
