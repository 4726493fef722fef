// Package payload builds blocks that carry their own proof, for the tests
// and the soak: a torn, mixed, truncated, extended or misdirected read
// fails to verify.
//
// Layout (little endian): seed (8 bytes), size (8), CRC-64 of the key (8),
// a body generated from the seed, then the CRC-64 of the key and every
// byte before it (8). Any prefix that holds the header can be checked on
// its own, so range reads from offset 0 verify too.
package payload

import (
	"encoding/binary"
	"hash/crc64"
)

const (
	// HeaderSize is the length of the header; VerifyPrefix needs at least
	// this many bytes.
	HeaderSize = 24
	// MinSize is the smallest block New makes: a header and a trailer.
	MinSize = HeaderSize + 8
	// maxSize bounds the size field VerifyPrefix believes.
	maxSize = 1 << 40
)

var table = crc64.MakeTable(crc64.ECMA)

func keySum(key string) uint64 { return crc64.Update(0, table, []byte(key)) }

// New returns a block of size bytes (at least MinSize) for key, its body
// derived from seed.
func New(key string, seed uint64, size int) []byte {
	size = max(size, MinSize)
	b := make([]byte, size)
	binary.LittleEndian.PutUint64(b, seed)
	binary.LittleEndian.PutUint64(b[8:], uint64(size))
	ks := keySum(key)
	binary.LittleEndian.PutUint64(b[16:], ks)
	body := b[HeaderSize : size-8]
	next := words(seed)
	for i := 0; i < len(body); i += 8 {
		w := next()
		for j := i; j < min(i+8, len(body)); j++ {
			body[j] = byte(w >> (8 * (j - i)))
		}
	}
	binary.LittleEndian.PutUint64(b[size-8:], crc64.Update(ks, table, b[:size-8]))
	return b
}

// words returns the body generator for seed: one 64-bit word per 8 bytes.
func words(seed uint64) func() uint64 {
	x := seed | 1
	return func() uint64 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		return x
	}
}

// Verify reports whether b is exactly a whole block New made for key.
func Verify(key string, b []byte) bool {
	return len(b) >= MinSize && binary.LittleEndian.Uint64(b[8:]) == uint64(len(b)) && VerifyPrefix(key, b)
}

// VerifyPrefix reports whether b is a prefix, at least HeaderSize bytes
// long, of a block New made for key. It allocates nothing.
func VerifyPrefix(key string, b []byte) bool {
	ks := keySum(key)
	if len(b) < HeaderSize || binary.LittleEndian.Uint64(b[16:]) != ks {
		return false
	}
	size := binary.LittleEndian.Uint64(b[8:])
	if size < MinSize || size > maxSize || uint64(len(b)) > size {
		return false
	}
	bodyEnd := min(len(b), int(size)-8)
	next := words(binary.LittleEndian.Uint64(b))
	for i := HeaderSize; i < bodyEnd; i += 8 {
		w := next()
		for j := i; j < min(i+8, bodyEnd); j++ {
			if b[j] != byte(w>>(8*(j-i))) {
				return false
			}
		}
	}
	if uint64(len(b)) < size {
		return true // the trailer is not in the prefix
	}
	return crc64.Update(ks, table, b[:size-8]) == binary.LittleEndian.Uint64(b[size-8:])
}
