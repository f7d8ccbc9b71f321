package rootbench

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestNeedTools(t *testing.T) {
	if err := NeedTools("coreutils", "sh", "/bin/sh"); err != nil {
		t.Errorf("NeedTools(sh, /bin/sh) = %v, want nil", err)
	}
	err := NeedTools("iproute2 nmap", "sh", "cicf-no-such-tool", "ip")
	if err == nil || !strings.Contains(err.Error(), "cicf-no-such-tool is needed (apt-get install iproute2 nmap)") {
		t.Errorf("NeedTools(missing) = %v, want it named with what to install", err)
	}
}

// TestUndoOnSignal runs this test binary again as a child that arms
// UndoOnSignal and sends itself SIGTERM: the child must run undo (it
// writes a file) and exit 1.
func TestUndoOnSignal(t *testing.T) {
	if f := os.Getenv("ROOTBENCH_UNDO_FILE"); f != "" {
		UndoOnSignal(func() { os.WriteFile(f, []byte("undone"), 0o644) })
		syscall.Kill(os.Getpid(), syscall.SIGTERM)
		select {} // the handler exits
	}
	f := filepath.Join(t.TempDir(), "undo")
	cmd := exec.Command(os.Args[0], "-test.run=^TestUndoOnSignal$")
	cmd.Env = append(os.Environ(), "ROOTBENCH_UNDO_FILE="+f)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("child: %v, want exit status 1\n%s", err, out)
	}
	if b, err := os.ReadFile(f); err != nil || string(b) != "undone" {
		t.Errorf("undo file = %q, %v, want undone", b, err)
	}
}
