package testvm

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestReserve checks Fleet.Reserve's locks: a reserved index is locked
// against other processes before any VM claims it, the VM that claims it
// takes the lock over (no wait on its own process), and an index no VM
// took is let go.
func TestReserve(t *testing.T) {
	checkMachine(t)
	// lockedElsewhere reports whether a second open of the lock file, as
	// another test process would make, finds index locked.
	lockedElsewhere := func(index int) bool {
		t.Helper()
		f, err := os.OpenFile(filepath.Join(lockDir, strconv.Itoa(index)+".lock"), os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			return true
		}
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return false
	}
	const taken, unused = 246, 247
	for _, i := range []int{taken, unused} {
		if err := reserve(i, t.Logf); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unreserve(i) })
		if !lockedElsewhere(i) {
			t.Fatalf("reserved index %d is not locked", i)
		}
	}

	claimed := make(chan *network, 1)
	go func() {
		n, err := claim(taken, t.Logf)
		if err != nil {
			t.Error(err)
		}
		claimed <- n
	}()
	var n *network
	select {
	case n = <-claimed:
	case <-time.After(10 * time.Second): // a safety net against a hang, not a measure
		t.Fatal("claiming a reserved index waits on this process's own lock")
	}
	if n == nil {
		t.FailNow()
	}
	if !lockedElsewhere(taken) {
		t.Error("the claimed index is not locked")
	}
	n.release()
	if lockedElsewhere(taken) {
		t.Error("the index stays locked after its VM let it go")
	}

	unreserve(unused)
	if lockedElsewhere(unused) {
		t.Error("an index no VM took stays locked after unreserve")
	}
}
