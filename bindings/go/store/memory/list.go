package memory

/*
#include "blockmem.h"
*/
import "C"

import (
	"context"
	"iter"
	"runtime"
	"unsafe"
)

// Entry is one key in a listing, with the size of its block.
type Entry struct {
	Key  string
	Size int64
}

// Page is one page of a listing: entries in ascending byte order of key,
// and whether more matching keys follow.
type Page struct {
	Entries []Entry
	// More reports that keys after the last entry also match; pass
	// Next() as startAfter to get them.
	More bool
}

// Next returns the startAfter that continues the listing after this page:
// the last entry's key, or "" when the page is empty.
func (p Page) Next() string {
	if len(p.Entries) == 0 {
		return ""
	}
	return p.Entries[len(p.Entries)-1].Key
}

// ListByPrefix returns the keys that start with prefix, in ascending byte
// order; nil when none match. The whole listing crosses into the library
// once. Cost is O(log n + k) for k matching keys.
//
// A listing is not a snapshot and never stops writers: a key stored,
// unchanged, for the whole call is listed exactly once; a key stored at no
// time during the call never is; a key created or deleted during the call
// may or may not be.
//
// The returned strings share one backing allocation, so keeping any one
// of them keeps the whole listing's key bytes alive.
//
// Errors: store.ErrStoreClosed, store.ErrOutOfMemory.
func (s *Store) ListByPrefix(ctx context.Context, prefix string) ([]string, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	page, err := s.list("ListByPrefix", prefix, "", 0)
	if err != nil {
		return nil, err
	}
	defer C.blockmem_list_page_free(page)
	all, offs, _ := view(page)
	if len(all) == 0 {
		return nil, nil
	}
	keys := make([]string, len(offs)-1)
	for i := range keys {
		keys[i] = all[offs[i]:offs[i+1]]
	}
	return keys, nil
}

// ListPage returns up to limit keys that start with prefix and sort
// strictly after startAfter (empty: from the first key), each with its
// block size, with the guarantees of ListByPrefix. limit 0 means no
// limit; a negative limit is an *ArgumentError. To walk a whole listing,
// pass page.Next() as the next startAfter while page.More is true (or use
// Entries). A walk lists each key stored for the whole walk exactly once,
// in order; keys written or deleted during it may or may not appear, but
// no key appears twice.
//
// Keys share one backing allocation per page, as in ListByPrefix.
//
// Errors: store.ErrStoreClosed, store.ErrOutOfMemory, *ArgumentError.
func (s *Store) ListPage(ctx context.Context, prefix, startAfter string, limit int) (Page, error) {
	if err := ctxErr(ctx); err != nil {
		return Page{}, err
	}
	if limit < 0 {
		return Page{}, &ArgumentError{Op: "ListPage", Arg: "limit", Value: int64(limit)}
	}
	page, err := s.list("ListPage", prefix, startAfter, limit)
	if err != nil {
		return Page{}, err
	}
	defer C.blockmem_list_page_free(page)
	all, offs, sizes := view(page)
	var entries []Entry
	if len(sizes) > 0 {
		entries = make([]Entry, len(sizes))
		for i := range entries {
			entries[i] = Entry{Key: all[offs[i]:offs[i+1]], Size: int64(sizes[i])}
		}
	}
	return Page{Entries: entries, More: bool(page.has_more)}, nil
}

// Entries iterates over every key that starts with prefix, with its size,
// fetching pageSize entries per call into the library (0 or less: 1000).
// Pages behave as described in ListPage. On an error the iterator
// yields it once, with a zero Entry, and stops.
func (s *Store) Entries(ctx context.Context, prefix string, pageSize int) iter.Seq2[Entry, error] {
	if pageSize <= 0 {
		pageSize = 1000
	}
	return func(yield func(Entry, error) bool) {
		after := ""
		for {
			page, err := s.ListPage(ctx, prefix, after, pageSize)
			if err != nil {
				yield(Entry{}, err)
				return
			}
			for _, e := range page.Entries {
				if !yield(e, nil) {
					return
				}
			}
			if !page.More {
				return
			}
			after = page.Next()
		}
	}
}

// list fetches one page in a single C call. The caller frees it with
// blockmem_list_page_free.
func (s *Store) list(op, prefix, startAfter string, limit int) (*C.blockmem_list_page, error) {
	var page *C.blockmem_list_page
	st := C.blockmem_list(s.handle(), keyPtr(prefix), C.size_t(len(prefix)),
		keyPtr(startAfter), C.size_t(len(startAfter)), C.size_t(limit), &page)
	runtime.KeepAlive(s)
	return page, s.check(op, st)
}

// view returns a page's contents: all key bytes copied into one Go string
// (a single allocation; keys are never empty, so an empty string means an
// empty page), the count+1 offsets of the keys in it, and the sizes. offs
// and sizes point into the page and must not be used after it is freed.
func view(page *C.blockmem_list_page) (all string, offs []C.size_t, sizes []C.uint64_t) {
	n := int(page.count)
	if n == 0 {
		return "", nil, nil
	}
	offs = unsafe.Slice(page.key_offsets, n+1)
	all = string(unsafe.Slice((*byte)(unsafe.Pointer(page.keys)), int(offs[n])))
	return all, offs, unsafe.Slice(page.sizes, n)
}
