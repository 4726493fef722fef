package memory_test

import (
	"context"
	"fmt"
	"hash/crc32"
	"strings"

	"github.com/blockmem/blockmem/bindings/go/store"
	"github.com/blockmem/blockmem/bindings/go/store/memory"
)

// chunkWriter is existing application code: it knows only the
// store.BlockStore interface and compares errors with ==.
type chunkWriter struct {
	blocks store.BlockStore
}

func (w *chunkWriter) save(ctx context.Context, chunk string, data []byte) error {
	for i := 0; len(data) > 0; i++ {
		n := min(len(data), store.BlockSize)
		key := fmt.Sprintf("share/content/%s/block-%d", chunk, i)
		if err := w.blocks.WriteBlock(ctx, key, data[:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

func (w *chunkWriter) load(ctx context.Context, chunk string, i int) ([]byte, bool, error) {
	data, err := w.blocks.ReadBlock(ctx, fmt.Sprintf("share/content/%s/block-%d", chunk, i))
	if err == store.ErrBlockNotFound {
		return nil, false, nil
	}
	return data, err == nil, err
}

// Switching an existing caller to blockmem: the caller keeps its
// store.BlockStore field and its == comparisons; only the package that
// provides New changes.
func Example() {
	ctx := context.Background()

	// Before: blocks := <classic in-memory store>.New()
	blocks := memory.New()
	defer blocks.Close()

	w := &chunkWriter{blocks: blocks}
	if err := w.save(ctx, "chunk-0", make([]byte, store.BlockSize+10)); err != nil {
		panic(err)
	}
	data, ok, _ := w.load(ctx, "chunk-0", 1)
	fmt.Println(len(data), ok)
	_, ok, _ = w.load(ctx, "chunk-0", 2)
	fmt.Println(ok)

	keys, _ := blocks.ListByPrefix(ctx, "share/content/chunk-0/")
	fmt.Println(keys)
	fmt.Println(blocks.BlockCount(), blocks.TotalSize())
	// Output:
	// 10 true
	// false
	// [share/content/chunk-0/block-0 share/content/chunk-0/block-1]
	// 2 4194314
}

// ReadBlockInto reuses one buffer for every read. When the buffer is too
// small it reports the size needed, so the caller grows it and retries.
func ExampleStore_ReadBlockInto() {
	ctx := context.Background()
	s := memory.New()
	defer s.Close()
	s.WriteBlock(ctx, "a", []byte("a small block"))
	s.WriteBlock(ctx, "b", []byte("a somewhat larger block"))

	buf := make([]byte, 16)
	for _, key := range []string{"a", "b"} {
		n, err := s.ReadBlockInto(ctx, key, buf)
		if err == store.ErrBufferTooSmall {
			buf = make([]byte, n)
			n, err = s.ReadBlockInto(ctx, key, buf)
		}
		if err != nil {
			panic(err)
		}
		fmt.Printf("%s: %q\n", key, buf[:n])
	}
	// Output:
	// a: "a small block"
	// b: "a somewhat larger block"
}

// ListPage walks a large listing a page at a time, with sizes.
func ExampleStore_ListPage() {
	ctx := context.Background()
	s := memory.New()
	defer s.Close()
	for i := range 5 {
		s.WriteBlock(ctx, fmt.Sprintf("dir/%d", i), make([]byte, i*100))
	}

	after := ""
	for {
		page, err := s.ListPage(ctx, "dir/", after, 2)
		if err != nil {
			panic(err)
		}
		fmt.Println(page.Entries, page.More)
		if !page.More {
			break
		}
		after = page.Next()
	}
	// Output:
	// [{dir/0 0} {dir/1 100}] true
	// [{dir/2 200} {dir/3 300}] true
	// [{dir/4 400}] false
}

// A store with a byte limit refuses writes that do not fit and keeps what
// it has.
func ExampleNewWithOptions() {
	ctx := context.Background()
	s, err := memory.NewWithOptions(memory.Options{MaxBytes: 1 << 20})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	fmt.Println(s.WriteBlock(ctx, "a", make([]byte, 600<<10)))
	fmt.Println(s.WriteBlock(ctx, "b", make([]byte, 600<<10)) == store.ErrStoreFull)
	fmt.Println(s.Stats().TotalSize)
	// Output:
	// <nil>
	// true
	// 614400
}

// Zero-copy streaming: a block of known size goes from a reader straight
// into the store's memory, and from there straight to a writer (here a
// checksum; a net.Conn or an *os.File work the same way).
func ExampleStore_WriteBlockFrom() {
	ctx := context.Background()
	s := memory.New()
	defer s.Close()

	body := strings.NewReader("a block that arrives from a socket")
	if err := s.WriteBlockFrom(ctx, "share/content/chunk-0/block-0", body, body.Size()); err != nil {
		panic(err)
	}

	sum := crc32.NewIEEE()
	n, err := s.ReadBlockTo(ctx, "share/content/chunk-0/block-0", sum)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d bytes, crc32 %08x\n", n, sum.Sum32())
	// Output:
	// 34 bytes, crc32 9552064e
}
