package memory_test

// Prefix work that runs out of memory changes nothing (docs/CONTRACT.md,
// "Prefix work beside writers"): a listing and a prefix deletion whose
// keys cannot be allocated return ErrOutOfMemory, and every block stays.
//
// Memory runs out for real: a child process (this test binary, running
// only TestPrefixWorkOutOfMemoryChild) stores more key bytes than it may
// then allocate, and lowers its own address-space limit (RLIMIT_AS) to
// just above what it uses. The child has a process of its own so that no
// other test runs under the limit.

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/blockmem/blockmem/bindings/go/store"
	"github.com/blockmem/blockmem/bindings/go/store/memory"
)

const oomChildEnv = "BLOCKMEM_OOM_CHILD"

func TestPrefixWorkOutOfMemoryChangesNothing(t *testing.T) {
	if os.Getenv(oomChildEnv) != "" {
		t.Skip("in the child")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestPrefixWorkOutOfMemoryChild$", "-test.v")
	cmd.Env = append(os.Environ(), oomChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child failed: %v\n%s", err, out)
	}
	if bytes.Contains(out, []byte("SKIPPED")) {
		t.Skipf("child skipped:\n%s", out)
	}
	if !bytes.Contains(out, []byte("prefix work out of memory: ok")) {
		t.Fatalf("child did not run its checks:\n%s", out)
	}
}

// vmSize is this process's address space in bytes, from /proc.
func vmSize(t *testing.T) uint64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmSize:" {
			kb, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb * 1024
		}
	}
	t.Fatal("no VmSize in /proc/self/status")
	return 0
}

func TestPrefixWorkOutOfMemoryChild(t *testing.T) {
	if os.Getenv(oomChildEnv) == "" {
		t.Skip("run by TestPrefixWorkOutOfMemoryChangesNothing in a process of its own")
	}
	const keys, keyLen = 1<<16 + 64, 4096 // 256 MiB of key bytes
	s, err := memory.NewWithOptions(memory.Options{MaxKeyLen: keyLen})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	key := bytes.Repeat([]byte{'k'}, keyLen)
	for i := range keys {
		binary.BigEndian.PutUint64(key[keyLen-8:], uint64(i))
		if err := s.WriteBlock(bg, string(key), key[:1]); err != nil {
			t.Fatal(err)
		}
	}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_AS, &old); err != nil {
		t.Skipf("SKIPPED: getrlimit: %v", err)
	}
	limit := old
	limit.Cur = vmSize(t) + 256<<20
	if limit.Cur > old.Max {
		t.Skip("SKIPPED: the hard address-space limit is too low")
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &limit); err != nil {
		t.Skipf("SKIPPED: setrlimit: %v", err)
	}
	_, listErr := s.ListByPrefix(bg, "kkkk")
	_, _, delErr := s.DeleteByPrefixStats(bg, "kkkk")
	count := s.BlockCount()
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &old); err != nil {
		t.Fatal(err)
	}
	if listErr != store.ErrOutOfMemory {
		t.Errorf("ListByPrefix: got %v, want ErrOutOfMemory", listErr)
	}
	if delErr != store.ErrOutOfMemory {
		t.Errorf("DeleteByPrefix: got %v, want ErrOutOfMemory", delErr)
	}
	if count != keys {
		t.Errorf("BlockCount after the failed deletion: %d, want %d", count, keys)
	}
	// Unlimited, the deletion goes through.
	blocks, _, err := s.DeleteByPrefixStats(bg, "kkkk")
	if err != nil || blocks != keys || s.BlockCount() != 0 {
		t.Errorf("DeleteByPrefixStats unlimited: %d blocks, %v; %d left", blocks, err, s.BlockCount())
	}
	if !t.Failed() {
		t.Log("prefix work out of memory: ok")
	}
}
