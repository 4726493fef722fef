package sim

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// IOTraceHeader is the header line of a block I/O trace file that
// LoadIOTrace reads: the trace format version, a timestamp, the SCSI
// opcode in hexadecimal (28 read, 2a write), the request's size in bytes
// and its logical block number (LBN, in 512-byte sectors). CloudPhysics'
// vSCSI trace sample cloudPhysicsIO.csv has this form.
const IOTraceHeader = "version,time,op,size,lbn"

// IOTraceKey returns the key of the object a block I/O request names: one
// object per (lbn, size) pair, so requests of different sizes at one LBN
// are different objects.
func IOTraceKey(lbn uint64, size int32) string {
	return "vscsi/lbn-" + strconv.FormatUint(lbn, 10) + "-" + strconv.Itoa(int(size))
}

// LoadIOTrace reads a block I/O trace in the CSV form IOTraceHeader
// describes and returns it as a trace called name. Every line after the
// header is one request, a read or a write alike: the object (lbn, size)
// of size bytes (IOTraceKey). The cache replay treats each as any other
// request: read the key; on a miss, write the block.
//
// All keys count as hot, so UniqueHotKeys and UniqueBytes cover every
// distinct object, HotRequests is every request, and there are no scans;
// Config has only Keys and Requests set, and FromFile is true.
//
// It fails on a missing or different header, a line with other than five
// fields, a field that is not a number of its kind (a non-negative decimal
// integer; the opcode a hexadecimal byte), a size outside [1, MaxBlockSize]
// or a file without requests. Errors name the line.
func LoadIOTrace(name string, r io.Reader) (*Trace, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked below, to say which line is wrong
	cr.ReuseRecord = true
	// readErr names the line of a CSV syntax error.
	readErr := func(err error) error {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return fmt.Errorf("trace %s: line %d: %w", name, pe.Line, pe.Err)
		}
		return fmt.Errorf("trace %s: %w", name, err)
	}
	header, err := cr.Read()
	switch {
	case err == io.EOF:
		return nil, fmt.Errorf("trace %s: empty file, want the header %q", name, IOTraceHeader)
	case err != nil:
		return nil, readErr(err)
	case !slices.Equal(header, ioTraceFields):
		line, _ := cr.FieldPos(0)
		return nil, fmt.Errorf("trace %s: line %d: header %q, want %q", name, line, strings.Join(header, ","), IOTraceHeader)
	}

	type object struct {
		lbn  uint64
		size int32
	}
	ids := map[object]int32{}
	t := &Trace{Name: name, FromFile: true}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, readErr(err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(ioTraceFields) {
			return nil, fmt.Errorf("trace %s: line %d: %d fields, want %d (%s)", name, line, len(rec), len(ioTraceFields), IOTraceHeader)
		}
		bad := func(i int, want string) error {
			return fmt.Errorf("trace %s: line %d: %s %q is not %s", name, line, ioTraceFields[i], rec[i], want)
		}
		if _, err := strconv.ParseUint(rec[0], 10, 32); err != nil {
			return nil, bad(0, "a non-negative integer")
		}
		if _, err := strconv.ParseUint(rec[1], 10, 64); err != nil {
			return nil, bad(1, "a non-negative integer")
		}
		if _, err := strconv.ParseUint(rec[2], 16, 8); err != nil {
			return nil, bad(2, "a hexadecimal byte (a SCSI opcode)")
		}
		size, err := strconv.ParseUint(rec[3], 10, 32)
		if err != nil || size < 1 || size > MaxBlockSize {
			return nil, bad(3, fmt.Sprintf("a size in bytes in [1, %d]", MaxBlockSize))
		}
		lbn, err := strconv.ParseUint(rec[4], 10, 64)
		if err != nil {
			return nil, bad(4, "a non-negative integer")
		}
		o := object{lbn, int32(size)}
		id, ok := ids[o]
		if !ok {
			if len(t.Keys) == maxIOTraceKeys {
				return nil, fmt.Errorf("trace %s: line %d: more than %d distinct objects", name, line, maxIOTraceKeys)
			}
			id = int32(len(t.Keys))
			ids[o] = id
			t.Keys = append(t.Keys, IOTraceKey(o.lbn, o.size))
			t.Sizes = append(t.Sizes, o.size)
			t.UniqueBytes += int64(o.size)
		}
		t.Requests = append(t.Requests, id)
		t.RequestedBytes += int64(o.size)
	}
	if len(t.Requests) == 0 {
		return nil, fmt.Errorf("trace %s: no requests after the header", name)
	}
	t.HotRequests = len(t.Requests)
	t.UniqueHotKeys = len(t.Keys)
	t.Config = TraceConfig{Keys: len(t.Keys), Requests: len(t.Requests)}
	return t, nil
}

// maxIOTraceKeys bounds the distinct objects of a file trace so that key
// ids fit in an int32.
const maxIOTraceKeys = math.MaxInt32

// ioTraceFields are IOTraceHeader's fields, in column order.
var ioTraceFields = strings.Split(IOTraceHeader, ",")
