package memory_test

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/blockmem/blockmem/bindings/go/store"
	"github.com/blockmem/blockmem/bindings/go/store/memory"
)

// The Go runner of the behaviour contract's cases, docs/contract-cases.txt;
// its header defines the format. casesPath is that file seen from this
// package's directory. A module zip carries no docs/: the test then skips.
const (
	casesName = "docs/contract-cases.txt"
	casesPath = "../../../../" + casesName
)

// caseErrors maps the cases' error names to the sentinels Go returns.
var caseErrors = map[string]error{
	"not_found":        store.ErrBlockNotFound,
	"store_closed":     store.ErrStoreClosed,
	"invalid_key":      store.ErrInvalidKey,
	"invalid_range":    store.ErrInvalidRange,
	"buffer_too_small": store.ErrBufferTooSmall,
	"block_too_large":  store.ErrBlockTooLarge,
	"store_full":       store.ErrStoreFull,
	"out_of_memory":    store.ErrOutOfMemory,
}

// caseOps gives each operation's arguments: b a byte string, n a number.
var caseOps = map[string]string{
	"write": "bb", "stream": "bb", "read": "b", "get": "b", "range": "bnn",
	"into": "bn", "range_into": "bnn", "stat": "b", "exists": "b",
	"delete": "b", "delete_prefix": "b", "list": "b", "page": "bbn",
	"count": "", "size": "", "stats": "", "health": "", "close": "",
	"evictions": "",
}

// caseWords are the words of expectations besides numbers and error names.
var caseWords = map[string]bool{"ok": true, "true": true, "false": true,
	"more": true, "end": true, "open": true, "closed": true}

type contractCase struct {
	name  string
	line  int
	opts  memory.Options
	steps []caseStep
}

type caseStep struct {
	line int
	text string   // the operation and its arguments, as written
	op   string   // write, read, ...
	strs []string // the byte-string arguments, in order
	nums []uint64 // the number arguments, in order
	want string   // the expectation, written as results are (see runCaseStep)
}

type caseToken struct {
	text  string // a word, or the bytes of a byte string
	bytes bool   // a byte string: "..." or N*HH
	pos   int    // where it starts in the line
}

func TestContractCases(t *testing.T) {
	data, err := os.ReadFile(casesPath)
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip(casesName + " is absent (a module zip carries no docs/); the cases run in a repository checkout")
	}
	if err != nil {
		t.Fatal(err)
	}
	cases, err := parseCases(string(data))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runContractCase(t, c) })
	}
}

// runContractCase runs a case's steps on a fresh store. Besides each
// step's expectation it checks that a step that fails changes nothing.
func runContractCase(t *testing.T, c contractCase) {
	s, err := memory.NewWithOptions(c.opts)
	if err != nil {
		t.Fatalf("%s:%d: NewWithOptions(%+v): %v", casesName, c.line, c.opts, err)
	}
	defer s.Close()
	before := caseSnapshot(t, s, caseStep{line: c.line, text: "case " + c.name})
	for _, st := range c.steps {
		got, err := runCaseStep(t, s, st)
		if got != st.want {
			st.errorf(t, "", st.want, got)
		}
		after := caseSnapshot(t, s, st)
		if err != nil && after != before {
			st.errorf(t, "the failed step changed the store", before, after)
		}
		before = after
	}
}

// runCaseStep runs one step and writes its result as the cases write
// expectations; err is the step's error, nil when it succeeded.
func runCaseStep(t *testing.T, s *memory.Store, st caseStep) (got string, err error) {
	ctx := bg
	var key string // the first byte string: a key or a prefix
	if len(st.strs) > 0 {
		key = st.strs[0]
	}
	data := func(d []byte, e error) { got, err = showBytes(string(d)), e }
	num := func(n int64, e error) { got, err = strconv.FormatInt(n, 10), e }
	yes := func(b bool, e error) { got, err = strconv.FormatBool(b), e }
	need := "" // what follows buffer_too_small
	switch st.op {
	case "write":
		got, err = "ok", s.WriteBlock(ctx, key, []byte(st.strs[1]))
	case "stream":
		d := []byte(st.strs[1])
		got, err = "ok", s.WriteBlockFrom(ctx, key, bytes.NewReader(d), int64(len(d)))
	case "read":
		data(s.ReadBlock(ctx, key))
	case "get":
		var buf bytes.Buffer
		var n int64
		n, err = s.ReadBlockTo(ctx, key, &buf)
		if n != int64(buf.Len()) {
			st.errorf(t, "ReadBlockTo's count", fmt.Sprintf("%d (the bytes written)", buf.Len()), fmt.Sprint(n))
		}
		got = showBytes(buf.String())
	case "range":
		data(s.ReadBlockRange(ctx, key, toInt64(st.nums[0]), toInt64(st.nums[1])))
	case "into", "range_into":
		dst := bytes.Repeat([]byte{0xEE}, int(st.nums[len(st.nums)-1]))
		var n int
		if st.op == "into" {
			n, err = s.ReadBlockInto(ctx, key, dst)
		} else {
			n, err = s.ReadBlockRangeInto(ctx, key, toInt64(st.nums[0]), dst)
		}
		wrote := n
		if err != nil {
			wrote, need = 0, fmt.Sprint(" ", n)
		} else if n < 0 || n > len(dst) {
			st.errorf(t, "the count returned", fmt.Sprintf("at most %d, the buffer's size", len(dst)), fmt.Sprint(n))
			wrote = 0
		}
		for i, b := range dst[wrote:] { // 0xEE past what the step reports
			if b != 0xEE {
				st.errorf(t, fmt.Sprintf("buffer byte %d (%d reported)", wrote+i, wrote), "0xee", fmt.Sprintf("%#02x", b))
				break
			}
		}
		got = showBytes(string(dst[:wrote]))
	case "stat":
		num(s.Stat(ctx, key))
	case "exists":
		yes(s.Exists(ctx, key))
	case "delete":
		yes(s.Delete(ctx, key))
	case "delete_prefix":
		var blocks int
		var size int64
		blocks, size, err = s.DeleteByPrefixStats(ctx, key)
		got = fmt.Sprint(blocks, " ", size)
	case "list":
		var p memory.Page
		p, err = s.ListPage(ctx, key, "", 0)
		got = showEntries(p.Entries, "")
		var want []string // nil for an empty listing, as ListByPrefix gives
		for _, e := range p.Entries {
			want = append(want, e.Key)
		}
		if keys, kerr := s.ListByPrefix(ctx, key); kerr != err || !reflect.DeepEqual(keys, want) {
			st.errorf(t, "ListByPrefix beside ListPage", fmt.Sprintf("%#v, %v", want, err), fmt.Sprintf("%#v, %v", keys, kerr))
		}
	case "page":
		var p memory.Page
		p, err = s.ListPage(ctx, key, st.strs[1], int(min(st.nums[0], math.MaxInt)))
		got = showEntries(p.Entries, map[bool]string{true: "more", false: "end"}[p.More])
	case "count":
		got = strconv.Itoa(s.BlockCount())
	case "size":
		got = strconv.FormatInt(s.TotalSize(), 10)
	case "stats":
		x := s.Stats()
		got = fmt.Sprint(x.BlockCount, " ", x.TotalSize, " ", map[bool]string{true: "closed", false: "open"}[x.Closed])
	case "evictions":
		x := s.Stats()
		got = fmt.Sprint(x.Evictions, " ", x.EvictedBytes)
	case "health":
		got, err = "ok", s.HealthCheck(ctx)
	case "close":
		got, err = "ok", s.Close()
	}
	if err != nil {
		got = caseErrName(err)
		if err == store.ErrBufferTooSmall {
			got += need
		}
	}
	return got, err
}

// caseSnapshot reads back everything the store holds (count, size, every
// key of a full listing with its data) and, while the store is open,
// checks that count and size equal a recount of the listing and that
// every listed size is the size read.
func caseSnapshot(t *testing.T, s *memory.Store, st caseStep) string {
	count, size := s.BlockCount(), s.TotalSize()
	state := fmt.Sprintf("count %d, size %d", count, size)
	open := !s.Stats().Closed
	p, err := s.ListPage(bg, "", "", 0)
	if err != nil {
		if open {
			st.errorf(t, "a full listing after the step", "success", caseErrName(err))
		}
		return state + ", listing " + caseErrName(err)
	}
	var total int64
	for _, e := range p.Entries {
		d, err := s.ReadBlock(bg, e.Key)
		if err != nil || int64(len(d)) != e.Size {
			st.errorf(t, "after the step, reading listed key "+showBytes(e.Key),
				fmt.Sprintf("%d bytes", e.Size), fmt.Sprintf("%d bytes, error %v", len(d), err))
		}
		state += ", " + showBytes(e.Key) + "=" + showBytes(string(d))
		total += e.Size
	}
	if open && (len(p.Entries) != count || total != size) {
		st.errorf(t, "count and size after the step",
			fmt.Sprintf("%d %d (a recount of a full listing)", len(p.Entries), total), fmt.Sprint(count, " ", size))
	}
	return state
}

// errorf reports a mismatch at the step's line, with long values cut.
func (st caseStep) errorf(t *testing.T, what, want, got string) {
	t.Helper()
	if what = st.text + ": " + what; strings.HasSuffix(what, ": ") {
		what = st.text
	}
	for _, s := range []*string{&want, &got} {
		if *s == "" {
			*s = "nothing"
		} else if len(*s) > 400 {
			*s = fmt.Sprintf("%s... (%d characters)", (*s)[:400], len(*s))
		}
	}
	t.Errorf("%s:%d: %s: want %s, got %s", casesName, st.line, what, want, got)
}

// toInt64 converts a number to Go's int64 arguments: over 2^63-1, 2^63-1.
func toInt64(n uint64) int64 { return int64(min(n, math.MaxInt64)) }

// caseErrName names a sentinel as the cases do; other errors as they are.
func caseErrName(err error) string {
	for name, e := range caseErrors {
		if err == e {
			return name
		}
	}
	return fmt.Sprintf("error %q (%T, not a store sentinel)", err, err)
}

// showBytes writes b as the cases do: N*HH for 8 or more equal bytes, else
// "..." with \\ \" and \xHH for bytes outside printable ASCII.
func showBytes(b string) string {
	if len(b) >= 8 && strings.Count(b, b[:1]) == len(b) {
		return fmt.Sprintf("%d*%02x", len(b), b[0])
	}
	var sb strings.Builder
	sb.WriteByte('"')
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case c == '\\' || c == '"':
			sb.WriteString(`\` + string(c))
		case c < 0x20 || c > 0x7e:
			fmt.Fprintf(&sb, `\x%02x`, c)
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String() + `"`
}

// showEntries writes a listing, KEY SIZE ..., then tail unless empty.
func showEntries(entries []memory.Entry, tail string) string {
	var parts []string
	for _, e := range entries {
		parts = append(parts, showBytes(e.Key), strconv.FormatInt(e.Size, 10))
	}
	return strings.TrimSpace(strings.Join(append(parts, tail), " "))
}

// parseCases reads the cases file; an error names the malformed line.
func parseCases(data string) ([]contractCase, error) {
	var cases []contractCase
	prev := "" // the first word of the previous step line
	for i, line := range strings.Split(data, "\n") {
		if line = strings.TrimSpace(line); line == "" || line[0] == '#' {
			continue
		}
		toks, err := tokenizeCaseLine(line)
		switch {
		case err != nil:
		case toks[0].text == "case":
			if len(toks) != 2 || toks[1].bytes {
				err = errors.New("not case NAME")
			}
			cases = append(cases, contractCase{name: toks[len(toks)-1].text, line: i + 1})
		case len(cases) == 0:
			err = errors.New("a step before the first case")
		case toks[0].text == "options":
			if prev != "case" {
				err = errors.New("options must come right after case")
			}
			opts := &cases[len(cases)-1].opts
			for _, tok := range toks[1:] {
				name, v, _ := strings.Cut(tok.text, "=")
				x, perr := strconv.ParseInt(v, 10, 64)
				switch {
				case tok.bytes || perr != nil || x < 0:
					err = fmt.Errorf("option %q", tok.text)
				case name == "max_bytes":
					opts.MaxBytes = x
				case name == "max_block_size":
					opts.MaxBlockSize = x
				case name == "max_key_len":
					opts.MaxKeyLen = int(x)
				case name == "evict":
					opts.Evict = x != 0
				default:
					err = fmt.Errorf("unknown option %q", name)
				}
			}
		default:
			var st caseStep
			st, err = parseCaseStep(line, toks)
			st.line = i + 1
			c := &cases[len(cases)-1]
			c.steps = append(c.steps, st)
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: malformed line (%v): %s", casesName, i+1, err, line)
		}
		prev = toks[0].text
	}
	return cases, nil
}

// parseCaseStep reads OP ARG... -> EXPECT.
func parseCaseStep(line string, toks []caseToken) (caseStep, error) {
	arrow := len(toks) // the first ->
	for i, tok := range toks {
		if tok.text == "->" && !tok.bytes {
			arrow = i
			break
		}
	}
	st := caseStep{op: toks[0].text}
	kinds, ok := caseOps[st.op]
	switch {
	case arrow == len(toks):
		return st, errors.New("no ->")
	case !ok:
		return st, fmt.Errorf("unknown operation %q", st.op)
	case arrow-1 != len(kinds):
		return st, fmt.Errorf("%s takes %d arguments", st.op, len(kinds))
	}
	st.text = strings.TrimSpace(line[:toks[arrow].pos])
	for i, tok := range toks[1:arrow] {
		x, err := strconv.ParseUint(tok.text, 10, 64)
		if kinds[i] == 'b' && tok.bytes {
			st.strs = append(st.strs, tok.text)
		} else if kinds[i] == 'n' && !tok.bytes && err == nil {
			st.nums = append(st.nums, x)
		} else {
			return st, fmt.Errorf("argument %d: want %s", i+1, map[byte]string{'b': "a byte string", 'n': "a number"}[kinds[i]])
		}
	}
	var want []string
	for _, tok := range toks[arrow+1:] {
		x, err := strconv.ParseUint(tok.text, 10, 64)
		switch {
		case tok.bytes:
			tok.text = showBytes(tok.text)
		case err == nil:
			tok.text = strconv.FormatUint(x, 10)
		case !caseWords[tok.text] && caseErrors[tok.text] == nil:
			return st, fmt.Errorf("unknown expectation %q", tok.text)
		}
		want = append(want, tok.text)
	}
	st.want = strings.Join(want, " ")
	return st, nil
}

// tokenizeCaseLine splits a line at spaces into words and byte strings
// ("..." with the escapes \\ \" \xHH, or N*HH).
func tokenizeCaseLine(line string) ([]caseToken, error) {
	var toks []caseToken
	for i := 0; i < len(line); i++ {
		if line[i] == ' ' {
			continue
		}
		tok := caseToken{pos: i, bytes: true}
		if line[i] != '"' {
			end := i + strings.IndexByte(line[i:]+" ", ' ')
			tok.text, tok.bytes, i = line[i:end], false, end
			if n, hh, ok := strings.Cut(tok.text, "*"); ok {
				count, err1 := strconv.ParseUint(n, 10, 31)
				b, err2 := strconv.ParseUint(hh, 16, 8)
				if err1 != nil || err2 != nil || len(hh) != 2 {
					return nil, fmt.Errorf("bad repetition %q", tok.text)
				}
				tok.text, tok.bytes = strings.Repeat(string([]byte{byte(b)}), int(count)), true
			}
			toks = append(toks, tok)
			continue
		}
		var b []byte
		for i++; i < len(line) && line[i] != '"'; i++ {
			c := line[i]
			if c == '\\' {
				rest := line[i+1:]
				x, err := strconv.ParseUint(rest[min(1, len(rest)):min(3, len(rest))], 16, 8)
				switch {
				case rest != "" && (rest[0] == '\\' || rest[0] == '"'):
					c, i = rest[0], i+1
				case len(rest) >= 3 && rest[0] == 'x' && err == nil:
					c, i = byte(x), i+3
				default:
					return nil, fmt.Errorf("bad escape at column %d", i+1)
				}
			}
			b = append(b, c)
		}
		switch {
		case i >= len(line):
			return nil, errors.New("unterminated string")
		case i+1 < len(line) && line[i+1] != ' ':
			return nil, fmt.Errorf("no space after the string at column %d", tok.pos+1)
		}
		tok.text = string(b)
		toks = append(toks, tok)
	}
	return toks, nil
}
