package main

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDemoPrintsChannelAlerts runs `cicf-bot demo` and reads its console
// until the simulated class channel's alerts show: jasmine's port 8888
// (a python3 her VM's state says listens on it) and dylan's HTTPS, which
// goes down in the VM's state after 10 s.
func TestDemoPrintsChannelAlerts(t *testing.T) {
	cmd := exec.Command(botBinary, "demo")
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"CICF_DB=" + filepath.Join(cmd.Dir, "d.db")}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("demo: %v", err)
		}
	})
	want := map[string]bool{
		"#class] :rotating_light: *jasmine.cicf.cloud* firewall failing: port 8888": false,
		"#class] :rotating_light: *dylan.cicf.cloud* HTTPS failing":                 false,
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	timeout := time.After(2 * time.Minute) // a safety net; the demo says 10 s
	for missing := len(want); missing > 0; {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("the demo ended before showing every alert: %v", want)
			}
			for w, seen := range want {
				if !seen && strings.Contains(line, w) {
					want[w] = true
					missing--
				}
			}
		case <-timeout:
			t.Fatalf("the demo's console did not show every alert: %v", want)
		}
	}
	go func() {
		for range lines {
		}
	}()
}
