package probe

import (
	"context"
	"errors"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// loopbackPorts opens n listeners and finds n ports that nobody listens on
// (bound, then released). The listeners close when the test ends.
func loopbackPorts(t *testing.T, n int) (open, closed []int) {
	t.Helper()
	open = listen(t, n)
	slices.Sort(open)
	return open, closedPorts(t, n)
}

func TestOpenPorts(t *testing.T) {
	open, closed := loopbackPorts(t, 5)
	tests := []struct {
		name        string
		ports       []int
		concurrency int
		want        []int
	}{
		{"mixed", append(slices.Clone(closed), open...), 0, open},
		{"duplicates, one at a time", append(append(slices.Clone(open), open...), closed[0]), 1, open},
		{"none open", closed, 0, nil},
		{"empty", nil, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Prober{Concurrency: tt.concurrency}
			got, err := p.OpenPorts(context.Background(), "127.0.0.1", tt.ports, time.Second)
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("OpenPorts(%v) = %v, %v, want %v", tt.ports, got, err, tt.want)
			}
		})
	}
}

func TestOpenPortsErrors(t *testing.T) {
	p := &Prober{}
	for _, ports := range [][]int{{0}, {22, 65536}, {-1}} {
		if _, err := p.OpenPorts(context.Background(), "127.0.0.1", ports, time.Second); err == nil {
			t.Errorf("OpenPorts(%v) succeeded, want an error", ports)
		}
	}
	if _, err := p.OpenPorts(context.Background(), "localhost", []int{22}, time.Second); err == nil {
		t.Error("OpenPorts(localhost) succeeded, want an error: not an IP")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.OpenPorts(ctx, "127.0.0.1", []int{22, 80}, time.Second); !errors.Is(err, context.Canceled) {
		t.Errorf("OpenPorts(cancelled ctx) = %v, want context.Canceled", err)
	}
}

// TestOpenPortsNmap uses nmap's TCP connect scan as the oracle on ports this
// test controls, so that other processes' listeners cannot make it flaky.
func TestOpenPortsNmap(t *testing.T) {
	if _, err := exec.LookPath("nmap"); err != nil {
		t.Fatalf("nmap: %v: install nmap", err)
	}
	open, closed := loopbackPorts(t, 20)
	ports := append(slices.Clone(open), closed...)

	p := &Prober{}
	got, err := p.OpenPorts(context.Background(), "127.0.0.1", ports, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	list := make([]string, len(ports))
	for i, port := range ports {
		list[i] = strconv.Itoa(port)
	}
	want, ok := nmapXMLOpen(t, []string{"127.0.0.1"}, "-p", strings.Join(list, ","))["127.0.0.1"]
	if !ok {
		t.Fatal("nmap has no result for 127.0.0.1")
	}
	if !slices.Equal(got, want) {
		t.Errorf("OpenPorts = %v, nmap says %v", got, want)
	}
	if !slices.Equal(got, open) {
		t.Errorf("OpenPorts = %v, want the listeners %v", got, open)
	}
}

// TestOpenPortsSilent: a port that never answers is not open after the
// timeout; with no timeout only ctx ends the wait, and that is an error,
// not a partial answer.
func TestOpenPortsSilent(t *testing.T) {
	silent := silentPorts(t, 2)
	open, _ := loopbackPorts(t, 1)
	p := &Prober{}
	got, err := p.OpenPorts(context.Background(), "127.0.0.1", append(slices.Clone(silent), open...), 50*time.Millisecond)
	if err != nil || !slices.Equal(got, open) {
		t.Errorf("OpenPorts = %v, %v; want %v", got, err, open)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if got, err := p.OpenPorts(ctx, "127.0.0.1", silent, 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("OpenPorts with no timeout = %v, %v; want context.DeadlineExceeded", got, err)
	}
}
