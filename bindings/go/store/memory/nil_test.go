package memory_test

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/blockmem/blockmem/bindings/go/store"
	"github.com/blockmem/blockmem/bindings/go/store/memory"
)

// yielded is one value an iterator yielded.
type yielded struct {
	e   memory.Entry
	err error
}

// nilStoreCalls calls every exported method of *Store on s with ctx and
// valid arguments, and returns what each one returned, in order. Entries
// returns everything its iterator yields.
func nilStoreCalls(s *memory.Store, ctx context.Context) map[string]func() []any {
	buf := make([]byte, 8)
	return map[string]func() []any{
		"WriteBlock": func() []any { return []any{s.WriteBlock(ctx, "k", []byte("v"))} },
		"WriteBlockFrom": func() []any {
			return []any{s.WriteBlockFrom(ctx, "k", strings.NewReader("v"), 1)}
		},
		"ReadBlock":      func() []any { b, err := s.ReadBlock(ctx, "k"); return []any{b, err} },
		"ReadBlockRange": func() []any { b, err := s.ReadBlockRange(ctx, "k", 0, 1); return []any{b, err} },
		"ReadBlockTo": func() []any {
			var w bytes.Buffer
			n, err := s.ReadBlockTo(ctx, "k", &w)
			return []any{n, err, w.Len()}
		},
		"ReadBlockRangeTo": func() []any {
			var w bytes.Buffer
			n, err := s.ReadBlockRangeTo(ctx, "k", 0, 1, &w)
			return []any{n, err, w.Len()}
		},
		"ReadBlockInto":      func() []any { n, err := s.ReadBlockInto(ctx, "k", buf); return []any{n, err} },
		"ReadBlockRangeInto": func() []any { n, err := s.ReadBlockRangeInto(ctx, "k", 0, buf); return []any{n, err} },
		"Stat":               func() []any { n, err := s.Stat(ctx, "k"); return []any{n, err} },
		"Exists":             func() []any { ok, err := s.Exists(ctx, "k"); return []any{ok, err} },
		"DeleteBlock":        func() []any { return []any{s.DeleteBlock(ctx, "k")} },
		"Delete":             func() []any { ok, err := s.Delete(ctx, "k"); return []any{ok, err} },
		"DeleteByPrefix":     func() []any { return []any{s.DeleteByPrefix(ctx, "k")} },
		"DeleteByPrefixStats": func() []any {
			n, size, err := s.DeleteByPrefixStats(ctx, "")
			return []any{n, size, err}
		},
		"ListByPrefix": func() []any { keys, err := s.ListByPrefix(ctx, ""); return []any{keys, err} },
		"ListPage":     func() []any { p, err := s.ListPage(ctx, "", "", 10); return []any{p, err} },
		"Entries": func() []any {
			var got []yielded
			for e, err := range s.Entries(ctx, "", 10) {
				got = append(got, yielded{e, err})
			}
			return []any{got}
		},
		"HealthCheck": func() []any { return []any{s.HealthCheck(ctx)} },
		"Close":       func() []any { return []any{s.Close(), s.Close()} },
		"BlockCount":  func() []any { return []any{s.BlockCount()} },
		"TotalSize":   func() []any { return []any{s.TotalSize()} },
		"Stats":       func() []any { return []any{s.Stats()} },
	}
}

// nilStoreWant is what each call of nilStoreCalls returns on a nil *Store:
// that of a closed store.
var nilStoreWant = map[string][]any{
	"WriteBlock":          {store.ErrStoreClosed},
	"WriteBlockFrom":      {store.ErrStoreClosed},
	"ReadBlock":           {[]byte(nil), store.ErrStoreClosed},
	"ReadBlockRange":      {[]byte(nil), store.ErrStoreClosed},
	"ReadBlockTo":         {int64(0), store.ErrStoreClosed, 0},
	"ReadBlockRangeTo":    {int64(0), store.ErrStoreClosed, 0},
	"ReadBlockInto":       {0, store.ErrStoreClosed},
	"ReadBlockRangeInto":  {0, store.ErrStoreClosed},
	"Stat":                {int64(0), store.ErrStoreClosed},
	"Exists":              {false, store.ErrStoreClosed},
	"DeleteBlock":         {store.ErrStoreClosed},
	"Delete":              {false, store.ErrStoreClosed},
	"DeleteByPrefix":      {store.ErrStoreClosed},
	"DeleteByPrefixStats": {0, int64(0), store.ErrStoreClosed},
	"ListByPrefix":        {[]string(nil), store.ErrStoreClosed},
	"ListPage":            {memory.Page{}, store.ErrStoreClosed},
	"Entries":             {[]yielded{{memory.Entry{}, store.ErrStoreClosed}}},
	"HealthCheck":         {store.ErrStoreClosed},
	"Close":               {nil, nil},
	"BlockCount":          {0},
	"TotalSize":           {int64(0)},
	"Stats":               {memory.Stats{Closed: true}},
}

// sameResults compares results: errors (and nil) with ==, so a wrapped or
// merely equal-looking error fails; everything else with reflect.DeepEqual.
func sameResults(got, want []any) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range want {
		_, gotErr := got[i].(error)
		_, wantErr := want[i].(error)
		if gotErr || wantErr || want[i] == nil {
			if got[i] != want[i] {
				return false
			}
		} else if !reflect.DeepEqual(got[i], want[i]) {
			return false
		}
	}
	return true
}

// Every exported method of *Store is in the nil-store table, so a new
// method must say what it does on a nil *Store.
func TestNilStoreTableCoversEveryMethod(t *testing.T) {
	calls := nilStoreCalls(nil, bg)
	typ := reflect.TypeFor[*memory.Store]()
	for i := range typ.NumMethod() {
		name := typ.Method(i).Name
		if _, ok := calls[name]; !ok {
			t.Errorf("method %s is not called on a nil *Store by nilStoreCalls", name)
		}
		if _, ok := nilStoreWant[name]; !ok {
			t.Errorf("method %s has no result in nilStoreWant", name)
		}
	}
	for name := range calls {
		if _, ok := typ.MethodByName(name); !ok {
			t.Errorf("nilStoreCalls has %s, which is no method of *Store", name)
		}
	}
	if len(nilStoreWant) != len(calls) {
		t.Errorf("nilStoreWant has %d entries, nilStoreCalls %d", len(nilStoreWant), len(calls))
	}
}

// A nil *Store panics nowhere and acts as a closed store, with a context
// or with a nil one; a store closed by Close returns the same (but its
// Stats keep its limits).
func TestNilStoreActsClosed(t *testing.T) {
	closed := memory.New()
	closed.Close()
	for _, tc := range []struct {
		name string
		s    *memory.Store
		ctx  context.Context
	}{
		{"nil store", nil, bg},
		{"nil store, nil ctx", nil, nil},
		{"closed store", closed, bg},
	} {
		for name, call := range nilStoreCalls(tc.s, tc.ctx) {
			if tc.s != nil && name == "Stats" {
				continue
			}
			t.Run(tc.name+"/"+name, func(t *testing.T) {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("panic: %v", r)
					}
				}()
				if got, want := call(), nilStoreWant[name]; !sameResults(got, want) {
					t.Errorf("got %#v, want %#v", got, want)
				}
			})
		}
	}
}

// On a nil *Store, as on a closed one, argument errors come before
// ErrStoreClosed, and a done context before everything.
func TestNilStoreArgumentErrorsFirst(t *testing.T) {
	var s *memory.Store
	for _, tc := range []struct {
		name string
		want error
		op   func() error
	}{
		{"empty key", store.ErrInvalidKey, func() error { return s.WriteBlock(bg, "", nil) }},
		{"long key", store.ErrInvalidKey, func() error {
			_, err := s.ReadBlock(bg, strings.Repeat("k", memory.DefaultMaxKeyLen+1))
			return err
		}},
		{"negative offset", store.ErrInvalidRange, func() error { _, err := s.ReadBlockRange(bg, "k", -1, 1); return err }},
		{"nil writer", store.ErrInvalidArgument, func() error { _, err := s.ReadBlockTo(bg, "k", nil); return err }},
		{"nil reader", store.ErrInvalidArgument, func() error { return s.WriteBlockFrom(bg, "k", nil, 1) }},
		{"done context", context.Canceled, func() error { return s.HealthCheck(canceled) }},
	} {
		if err := tc.op(); err != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	var ae *memory.ArgumentError
	if _, err := s.ListPage(bg, "", "", -1); !errors.As(err, &ae) {
		t.Errorf("negative limit: got %v (%T), want *memory.ArgumentError", err, err)
	}
}

// A nil io.Writer is ErrInvalidArgument, checked before the key and the
// block (so also for an empty or missing block), and changes nothing.
func TestNilWriter(t *testing.T) {
	s := memory.New()
	mustWrite(t, s, "block", []byte("data"))
	mustWrite(t, s, "empty", nil)
	for _, key := range []string{"block", "empty", "missing", ""} {
		for name, read := range map[string]func() (int64, error){
			"ReadBlockTo":      func() (int64, error) { return s.ReadBlockTo(bg, key, nil) },
			"ReadBlockRangeTo": func() (int64, error) { return s.ReadBlockRangeTo(bg, key, 0, 2, nil) },
		} {
			if n, err := read(); n != 0 || err != store.ErrInvalidArgument {
				t.Errorf("%s(%q, nil writer) = %d, %v; want 0, ErrInvalidArgument", name, key, n, err)
			}
		}
	}
	if got := mustRead(t, s, "block"); string(got) != "data" {
		t.Errorf("block changed to %q", got)
	}
	wantCounts(t, s, 2, 4)
}

// A nil io.Reader is ErrInvalidArgument whatever the size, checked before
// anything is reserved: nothing is stored, replaced or held back.
func TestNilReader(t *testing.T) {
	s := newStore(t, memory.Options{MaxBytes: 10})
	mustWrite(t, s, "old", []byte("old"))
	for _, tc := range []struct {
		key  string
		size int64
	}{{"old", 0}, {"old", 3}, {"new", 0}, {"new", 7}, {"new", 1 << 40}, {"new", -1}, {"", 1}} {
		if err := s.WriteBlockFrom(bg, tc.key, nil, tc.size); err != store.ErrInvalidArgument {
			t.Errorf("WriteBlockFrom(%q, nil reader, %d) = %v, want ErrInvalidArgument", tc.key, tc.size, err)
		}
	}
	if got := mustRead(t, s, "old"); string(got) != "old" {
		t.Errorf("block changed to %q", got)
	}
	if ok, err := s.Exists(bg, "new"); ok || err != nil {
		t.Errorf("Exists(new) = %v, %v; want false, nil", ok, err)
	}
	wantCounts(t, s, 1, 3)
	// The whole remaining budget is still free: nothing was reserved.
	mustWrite(t, s, "rest", make([]byte, 7))
}

// Options.Errors.InvalidArgument replaces store.ErrInvalidArgument.
func TestNilArgumentOwnError(t *testing.T) {
	own := errors.New("own invalid argument")
	s := newStore(t, memory.Options{Errors: memory.Errors{InvalidArgument: own}})
	if err := s.WriteBlockFrom(bg, "k", nil, 1); err != own {
		t.Errorf("WriteBlockFrom: got %v, want the caller's value", err)
	}
	if _, err := s.ReadBlockTo(bg, "k", nil); err != own {
		t.Errorf("ReadBlockTo: got %v, want the caller's value", err)
	}
}

// A nil context counts as context.Background() in every method that takes
// one.
func TestNilContext(t *testing.T) {
	s := memory.New()
	calls := everyCall(s, nil, "a")
	typ := reflect.TypeFor[*memory.Store]()
	ctxType := reflect.TypeFor[context.Context]()
	for i := range typ.NumMethod() {
		m := typ.Method(i)
		// m.Type's first input is the receiver.
		if m.Type.NumIn() > 1 && m.Type.In(1) == ctxType {
			if _, ok := calls[m.Name]; !ok {
				t.Errorf("method %s takes a context but is not in everyCall", m.Name)
			}
		}
	}
	for name, call := range calls {
		mustWrite(t, s, "a", []byte("x"))
		if err := call(); err != nil {
			t.Errorf("%s with a nil context: %v", name, err)
		}
	}
}
