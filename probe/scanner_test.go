package probe

import (
	"context"
	"errors"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/tasks"
)

// listen opens n loopback listeners and returns their ports; closedPorts
// returns ports that were just released, so they answer RST.
func listen(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

func closedPorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
		l.Close()
	}
	return ports
}

func TestScannerLoopback(t *testing.T) {
	openP := listen(t, 3)
	shut := closedPorts(t, 5)
	all := append(slices.Clone(shut), openP...)
	s := &Scanner{MaxSockets: 4}
	res, err := s.Scan(context.Background(), []string{"127.0.0.1"}, all, nil)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(openP)
	if got := res[0].Open; !slices.Equal(got, openP) {
		t.Errorf("open = %v, want %v", got, openP)
	}
	if res[0].Closed != len(shut) || res[0].Filtered != 0 {
		t.Errorf("closed, filtered = %d, %d, want %d, 0", res[0].Closed, res[0].Filtered, len(shut))
	}
	if res[0].SRTT <= 0 {
		t.Errorf("srtt = %v, want measured", res[0].SRTT)
	}
	m, err := s.ScanPorts(context.Background(), []string{"127.0.0.1"}, shut)
	if err != nil || m["127.0.0.1"] == nil || len(m["127.0.0.1"]) != 0 {
		t.Errorf("ScanPorts on closed ports = %v, %v; want an empty slice", m, err)
	}
}

func TestScannerBadInput(t *testing.T) {
	s := &Scanner{}
	for _, tc := range []struct {
		name  string
		addrs []string
		ports []int
	}{
		{"port 0", []string{"127.0.0.1"}, []int{0}},
		{"port too big", []string{"127.0.0.1"}, []int{65536}},
		{"host name", []string{"example"}, []int{22}},
	} {
		if _, err := s.ScanPorts(context.Background(), tc.addrs, tc.ports); tasks.ErrorCode(err) != tasks.EINVALID {
			t.Errorf("%s: err = %v, want EINVALID", tc.name, err)
		}
	}
}

func TestScannerCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := (&Scanner{}).ScanPorts(ctx, []string{"127.0.0.1"}, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestRTO(t *testing.T) {
	h := &hostScan{}
	lo, hi := 10*time.Millisecond, time.Second
	if got := h.timeout(lo, hi); got != hi {
		t.Errorf("unmeasured timeout = %v, want %v", got, hi)
	}
	h.sample(40 * time.Millisecond) // srtt 40, rttvar 20 → 120
	if got := h.timeout(lo, hi); got != 120*time.Millisecond {
		t.Errorf("timeout = %v, want 120ms", got)
	}
	h.sample(40 * time.Millisecond) // rttvar 15, srtt 40 → 100
	if got := h.timeout(lo, hi); got != 100*time.Millisecond {
		t.Errorf("timeout = %v, want 100ms", got)
	}
	h2 := &hostScan{}
	h2.sample(time.Millisecond)
	if got := h2.timeout(lo, hi); got != lo {
		t.Errorf("floor: %v, want %v", got, lo)
	}
}
