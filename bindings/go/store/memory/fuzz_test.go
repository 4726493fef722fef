package memory_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/blockmem/blockmem/bindings/go/store"
	"github.com/blockmem/blockmem/bindings/go/store/memory"
)

// FuzzOps decodes a sequence of operations from the input, applies each to
// a Store and to a map model of the contract, and compares every result,
// errors included, then the counters.
//
// Input format: byte 0 picks the limits (bit 0: MaxBytes 64, bit 1:
// MaxBlockSize 24, bit 2: MaxKeyLen 3). Then each operation is an opcode
// byte followed by its arguments, each drawn from the next bytes (0 once
// the input runs out): keys and prefixes from a small alphabet that
// includes 0x00, 0xFF and an invalid UTF-8 byte, so keys collide, nest
// and hit the limits; offsets and lengths from a table of edge values.
// Opcodes 0xE0-0xEF are the streaming calls (0xE8-0xEF with a done
// context), 0xF0-0xFF the others with a done context.
func FuzzOps(f *testing.F) {
	f.Add([]byte{0, 0, 0x12, 5, 1, 0x12, 2, 0x12, 0, 0})
	f.Add([]byte{7, 0, 0x23, 30, 7, 0, 0x13, 40, 1, 0x23, 8, 0, 0x23})
	f.Add([]byte{1, 0, 0x11, 20, 3, 0, 0x12, 30, 4, 0, 0x11, 60, 1, 9, 0, 10, 0x01, 0, 2})
	f.Add([]byte{0, 0, 0x31, 9, 2, 0x31, 3, 4, 2, 0x31, 9, 0, 2, 0x31, 12, 1, 4, 0x31, 5, 3, 11, 0x44})
	f.Add([]byte{2, 0, 0x24, 10, 9, 0x01, 10, 0x00, 0x21, 2, 11, 13, 12, 1, 0x24, 3, 0x24, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 1024 {
			return
		}
		fz := &fuzzer{in: in}
		opts := fz.options()
		s, err := memory.NewWithOptions(opts)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		m := &model{opts: opts, blocks: map[string][]byte{}}
		for step := 0; !fz.done(); step++ {
			fz.step(t, step, s, m)
		}
	})
}

type fuzzer struct {
	in  []byte
	pos int
}

func (f *fuzzer) done() bool { return f.pos >= len(f.in) }

func (f *fuzzer) byte() byte {
	if f.pos >= len(f.in) {
		return 0
	}
	b := f.in[f.pos]
	f.pos++
	return b
}

func (f *fuzzer) options() memory.Options {
	b := f.byte()
	var o memory.Options
	if b&1 != 0 {
		o.MaxBytes = 64
	}
	if b&2 != 0 {
		o.MaxBlockSize = 24
	}
	if b&4 != 0 {
		o.MaxKeyLen = 3
	}
	return o
}

var fuzzAlphabet = []byte{'a', 'b', '/', 0x00, 0xFF, 0xC3}

// key: the high nibble is the length (0: empty), the low nibble and the
// next byte choose the characters.
func (f *fuzzer) key() string {
	b := f.byte()
	n := int(b>>4) % 6
	seed := uint(b&0x0F) | uint(f.byte())<<4
	var sb strings.Builder
	for range n {
		sb.WriteByte(fuzzAlphabet[seed%uint(len(fuzzAlphabet))])
		seed /= uint(len(fuzzAlphabet))
	}
	return sb.String()
}

func (f *fuzzer) data() []byte {
	b := f.byte()
	if b == 0xFF {
		return nil
	}
	fill := f.byte()
	out := make([]byte, int(b)%70)
	for i := range out {
		out[i] = fill + byte(i)
	}
	return out
}

var fuzzInts = []int64{0, 1, 2, 3, 5, 8, 13, 20, 33, 64, 69, 70, -1, -2, math.MaxInt64, math.MinInt64, math.MaxInt32, 1 << 40}

func (f *fuzzer) int64() int64 { return fuzzInts[int(f.byte())%len(fuzzInts)] }

// errNegativeLimit and errNegativeSize stand for the *memory.ArgumentError
// a negative listing limit or stream size gets (a new value each time, so
// not comparable with ==).
var (
	errNegativeLimit = errors.New("limit")
	errNegativeSize  = errors.New("size")
)

// stream runs one streaming call: ReadBlockTo or ReadBlockRangeTo into a
// writer that accepts at most a few bytes, then fails or reports a short
// write; or WriteBlockFrom from a reader that may end early or fail.
func (f *fuzzer) stream(op byte, ctx context.Context, s *memory.Store, m *model, wantErr func(got, want error), fail func(string, ...any)) {
	if op%3 == 2 {
		f.writeFrom(ctx, s, m, wantErr)
		return
	}
	k, limit, ranged := f.key(), int(f.byte()), op%3 == 1
	w := &limitWriter{limit: limit % 72, fail: limit&0x80 != 0}
	var (
		n         int64
		err, werr error
		want      []byte
	)
	if ranged {
		off, length := f.int64(), f.int64()
		n, err = s.ReadBlockRangeTo(ctx, k, off, length, w)
		want, werr = m.rangeOf(k, off, length)
	} else {
		n, err = s.ReadBlockTo(ctx, k, w)
		want, werr = m.lookup(k)
	}
	if werr == nil && ctx.Err() == nil && len(want) > w.limit {
		want, werr = want[:w.limit], io.ErrShortWrite
		if w.fail {
			werr = errLimit
		}
	}
	wantErr(err, werr)
	if ctx.Err() == nil && (werr == nil || werr == io.ErrShortWrite || werr == errLimit) &&
		(n != int64(len(want)) || !bytes.Equal(w.got, want)) {
		fail("streamed %d bytes %q, want %q", n, w.got, want)
	}
}

// writeFrom runs WriteBlockFrom of size bytes, size being the data's length,
// one more (the reader ends early), one less, or negative; bit 7 of the
// size byte makes the reader fail after half the data.
func (f *fuzzer) writeFrom(ctx context.Context, s *memory.Store, m *model, wantErr func(got, want error)) {
	k, data, b := f.key(), f.data(), f.byte()
	size := int64(len(data)) + []int64{0, 1, -1, -1 - int64(len(data))}[b%4]
	var r io.Reader = bytes.NewReader(data)
	if b&0x80 != 0 {
		r = io.MultiReader(bytes.NewReader(data[:len(data)/2]), iotest.ErrReader(errLimit))
	}
	var want error
	switch {
	case ctx.Err() != nil:
	case size < 0:
		want = errNegativeSize
	default:
		want = m.writeErr(k, size)
		if want == nil && b&0x80 != 0 && size > int64(len(data)/2) {
			want = errLimit
		} else if want == nil && size > int64(len(data)) {
			want = io.ErrUnexpectedEOF
		} else if want == nil {
			want = m.write(k, data[:size])
		}
	}
	wantErr(s.WriteBlockFrom(ctx, k, r, size), want)
}

// errLimit is what a limitWriter with fail set returns past its limit.
var errLimit = errors.New("writer limit reached")

// limitWriter accepts up to limit bytes in total; past that it takes what
// fits and returns errLimit (fail) or nothing (a short write).
type limitWriter struct {
	limit int
	fail  bool
	got   []byte
}

func (w *limitWriter) Write(p []byte) (int, error) {
	n := min(len(p), w.limit-len(w.got))
	w.got = append(w.got, p[:n]...)
	if n < len(p) && w.fail {
		return n, errLimit
	}
	return n, nil
}

// model is the contract as a map. Its methods return what the store must.
type model struct {
	opts   memory.Options
	blocks map[string][]byte
	closed bool
}

func (m *model) maxKeyLen() int {
	if m.opts.MaxKeyLen == 0 {
		return memory.DefaultMaxKeyLen
	}
	return m.opts.MaxKeyLen
}

func (m *model) keyErr(k string) error {
	if k == "" || len(k) > m.maxKeyLen() {
		return store.ErrInvalidKey
	}
	return nil
}

// lookup applies the common order: key, then closed, then presence.
func (m *model) lookup(k string) ([]byte, error) {
	if err := m.keyErr(k); err != nil {
		return nil, err
	}
	if m.closed {
		return nil, store.ErrStoreClosed
	}
	b, ok := m.blocks[k]
	if !ok {
		return nil, store.ErrBlockNotFound
	}
	return b, nil
}

func (m *model) total() int64 {
	var n int64
	for _, b := range m.blocks {
		n += int64(len(b))
	}
	return n
}

func (m *model) write(k string, data []byte) error {
	if err := m.writeErr(k, int64(len(data))); err != nil {
		return err
	}
	m.blocks[k] = bytes.Clone(data)
	return nil
}

// writeErr is the error writing size bytes under k gets, nil if it fits.
func (m *model) writeErr(k string, size int64) error {
	if err := m.keyErr(k); err != nil {
		return err
	}
	if m.opts.MaxBlockSize != 0 && size > m.opts.MaxBlockSize {
		return store.ErrBlockTooLarge
	}
	if m.opts.MaxBytes != 0 && size > m.opts.MaxBytes {
		return store.ErrStoreFull
	}
	if m.closed {
		return store.ErrStoreClosed
	}
	if m.opts.MaxBytes != 0 && m.total()-int64(len(m.blocks[k]))+size > m.opts.MaxBytes {
		return store.ErrStoreFull
	}
	return nil
}

func (m *model) rangeOf(k string, off, length int64) ([]byte, error) {
	if off < 0 || length < 0 {
		return nil, store.ErrInvalidRange
	}
	b, err := m.lookup(k)
	if err != nil {
		return nil, err
	}
	if off > int64(len(b)) {
		return nil, store.ErrInvalidRange
	}
	end := int64(len(b))
	if length < end-off {
		end = off + length
	}
	return b[off:end], nil
}

func (m *model) list(prefix, after string, limit int) ([]memory.Entry, bool, error) {
	if limit < 0 {
		return nil, false, errNegativeLimit
	}
	if m.closed {
		return nil, false, store.ErrStoreClosed
	}
	var es []memory.Entry
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range m.blocks {
			if !yield(k) {
				return
			}
		}
	}) {
		if strings.HasPrefix(k, prefix) && k > after {
			es = append(es, memory.Entry{Key: k, Size: int64(len(m.blocks[k]))})
		}
	}
	if limit > 0 && len(es) > limit {
		return es[:limit], true, nil
	}
	return es, false, nil
}

func (m *model) deletePrefix(prefix string) (int, int64, error) {
	if m.closed {
		return 0, 0, store.ErrStoreClosed
	}
	var n int
	var size int64
	for k, b := range m.blocks {
		if strings.HasPrefix(k, prefix) {
			n++
			size += int64(len(b))
			delete(m.blocks, k)
		}
	}
	return n, size, nil
}

func (f *fuzzer) step(t *testing.T, step int, s *memory.Store, m *model) {
	t.Helper()
	opcode := f.byte()
	ctx := bg
	if opcode >= 0xF0 || opcode&0xF8 == 0xE8 {
		ctx = canceled // the store must return ctx.Err() and change nothing
	}
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("step %d (opcode %#x): "+format, append([]any{step, opcode}, args...)...)
	}
	wantErr := func(got, want error) {
		t.Helper()
		if ctx.Err() != nil {
			want = ctx.Err()
		}
		var ae *memory.ArgumentError
		if (want == errNegativeLimit || want == errNegativeSize) && errors.As(got, &ae) && ae.Arg == want.Error() {
			return
		}
		if got != want {
			fail("error %v, want %v", got, want)
		}
	}
	// Model results are computed only for a live context; a done context
	// must leave the model (and the store) untouched.
	live := ctx.Err() == nil

	switch op := opcode % 14; {
	case opcode&0xF0 == 0xE0: // streaming calls
		f.stream(opcode&7, ctx, s, m, wantErr, fail)
	case op == 0: // WriteBlock
		k, data := f.key(), f.data()
		var want error
		if live {
			want = m.write(k, data)
		}
		wantErr(s.WriteBlock(ctx, k, data), want)
		if len(data) > 0 {
			data[0]++ // isolation: must not reach the store
		}
	case op == 1: // ReadBlock
		k := f.key()
		got, err := s.ReadBlock(ctx, k)
		want, werr := m.lookup(k)
		wantErr(err, werr)
		if err == nil && (got == nil || !bytes.Equal(got, want)) {
			fail("ReadBlock(%q) = %#v, want %q", k, got, want)
		}
		if len(got) > 0 {
			got[0]++ // isolation
		}
	case op == 2: // ReadBlockRange
		k, off, length := f.key(), f.int64(), f.int64()
		got, err := s.ReadBlockRange(ctx, k, off, length)
		want, werr := m.rangeOf(k, off, length)
		wantErr(err, werr)
		if err == nil && (got == nil || !bytes.Equal(got, want)) {
			fail("ReadBlockRange(%q, %d, %d) = %#v, want %q", k, off, length, got, want)
		}
	case op == 3: // ReadBlockInto
		k, size := f.key(), int(f.byte())%72
		dst := bytes.Repeat([]byte{0xEE}, size)
		n, err := s.ReadBlockInto(ctx, k, dst)
		want, werr := m.lookup(k)
		if werr == nil && len(want) > size {
			werr = store.ErrBufferTooSmall
		}
		wantErr(err, werr)
		switch {
		case err == nil && (n != len(want) || !bytes.Equal(dst[:n], want)):
			fail("ReadBlockInto(%q) = %d %q, want %q", k, n, dst[:n], want)
		case err == store.ErrBufferTooSmall && n != len(want):
			fail("ReadBlockInto(%q) too small: n = %d, want %d", k, n, len(want))
		}
		if err != nil && !bytes.Equal(dst, bytes.Repeat([]byte{0xEE}, size)) {
			fail("ReadBlockInto(%q) wrote to dst on error", k)
		}
	case op == 4: // ReadBlockRangeInto
		k, off, size := f.key(), f.int64(), int(f.byte())%72
		dst := bytes.Repeat([]byte{0xEE}, size)
		n, err := s.ReadBlockRangeInto(ctx, k, off, dst)
		want, werr := m.rangeOf(k, off, int64(size))
		wantErr(err, werr)
		if err == nil && !bytes.Equal(dst[:n], want) {
			fail("ReadBlockRangeInto(%q, %d, %d) = %q, want %q", k, off, size, dst[:n], want)
		}
	case op == 5: // Stat
		k := f.key()
		got, err := s.Stat(ctx, k)
		want, werr := m.lookup(k)
		wantErr(err, werr)
		if err == nil && got != int64(len(want)) {
			fail("Stat(%q) = %d, want %d", k, got, len(want))
		}
	case op == 6: // Exists
		k := f.key()
		got, err := s.Exists(ctx, k)
		_, werr := m.lookup(k)
		want := werr == nil
		if werr == store.ErrBlockNotFound {
			werr = nil
		}
		wantErr(err, werr)
		if err == nil && got != want {
			fail("Exists(%q) = %v, want %v", k, got, want)
		}
	case op == 7: // Delete
		k := f.key()
		_, werr := m.lookup(k)
		want := werr == nil
		if werr == store.ErrBlockNotFound {
			werr = nil
		}
		got, err := s.Delete(ctx, k)
		wantErr(err, werr)
		if err == nil && got != want {
			fail("Delete(%q) = %v, want %v", k, got, want)
		}
		if err == nil {
			delete(m.blocks, k)
		}
	case op == 8: // DeleteByPrefixStats
		prefix := f.key()
		var wn int
		var wsize int64
		var werr error
		if live {
			wn, wsize, werr = m.deletePrefix(prefix)
		}
		n, size, err := s.DeleteByPrefixStats(ctx, prefix)
		wantErr(err, werr)
		if err == nil && (n != wn || size != wsize) {
			fail("DeleteByPrefixStats(%q) = %d, %d; want %d, %d", prefix, n, size, wn, wsize)
		}
	case op == 9: // ListByPrefix
		prefix := f.key()
		got, err := s.ListByPrefix(ctx, prefix)
		es, _, werr := m.list(prefix, "", 0)
		wantErr(err, werr)
		if err == nil && !slices.Equal(got, keysOf(es)) {
			fail("ListByPrefix(%q) = %q, want %q", prefix, got, keysOf(es))
		}
		if err == nil && len(es) == 0 && got != nil {
			fail("ListByPrefix(%q) = %#v, want nil", prefix, got)
		}
	case op == 10: // ListPage
		prefix, after, limit := f.key(), f.key(), int(f.int64()%8)
		got, err := s.ListPage(ctx, prefix, after, limit)
		es, more, werr := m.list(prefix, after, limit)
		wantErr(err, werr)
		if err == nil && (!slices.Equal(got.Entries, es) || got.More != more) {
			fail("ListPage(%q, %q, %d) = %v more=%v; want %v more=%v", prefix, after, limit, got.Entries, got.More, es, more)
		}
	case op == 11: // HealthCheck
		var want error
		if m.closed {
			want = store.ErrStoreClosed
		}
		wantErr(s.HealthCheck(ctx), want)
	case op == 12: // Close, only for some opcodes so that most runs stay open
		if opcode%0x40 != 12 {
			return
		}
		if err := s.Close(); err != nil {
			fail("Close: %v", err)
		}
		m.closed, m.blocks = true, map[string][]byte{}
	case op == 13: // Stats
		st := s.Stats()
		if st.Closed != m.closed || st.MaxKeyLen != m.maxKeyLen() || st.MaxBytes != m.opts.MaxBytes || st.MaxBlockSize != m.opts.MaxBlockSize {
			fail("Stats() = %+v", st)
		}
	}
	if n, size := s.BlockCount(), s.TotalSize(); n != len(m.blocks) || size != m.total() {
		fail("counters %d blocks, %d bytes; model %d, %d", n, size, len(m.blocks), m.total())
	}
}
