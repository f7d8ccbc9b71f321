package probe

import (
	"context"
	"errors"
	"net"
	"runtime"
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

// TestScannerCancelMidway cancels a scan in flight: it returns the
// cancellation, not a partial result, and leaves no goroutine behind.
func TestScannerCancelMidway(t *testing.T) {
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ports := make([]int, 0, 3000)
	for p := 20000; p < 23000; p++ {
		ports = append(ports, p)
	}
	res, err := (&Scanner{MaxSockets: 8}).Scan(ctx, []string{"127.0.0.1", "127.0.0.2"}, ports, func(done, total int) {
		if done == 50 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || res != nil {
		t.Fatalf("Scan = %v, %v; want nil, context.Canceled", res, err)
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("goroutines: %d before, %d after the scan", before, after)
	}
}

func TestTimeouts(t *testing.T) {
	ms := time.Millisecond
	tt := timeouts{lo: 10 * ms, initial: 500 * ms, hi: time.Second}
	measured := func(rtts ...time.Duration) *rttEstimator {
		e := &rttEstimator{}
		for _, r := range rtts {
			e.sample(r)
		}
		return e
	}
	for _, tc := range []struct {
		name        string
		host, group *rttEstimator
		retry       int
		want        time.Duration
	}{
		{"nothing measured: initial", measured(), measured(), 0, 500 * ms},
		{"nothing measured, retry: doubled", measured(), measured(), 1, time.Second},
		{"silent host: the scan's other hosts", measured(), measured(40 * ms), 0, 120 * ms},
		{"host's own first", measured(40 * ms), measured(300 * ms), 0, 120 * ms},
		{"RFC 6298 update", measured(40*ms, 40*ms), measured(), 0, 100 * ms},
		{"floor", measured(ms), measured(), 0, 10 * ms},
		{"the floor is not doubled: the estimate is", measured(ms), measured(), 1, 10 * ms},
		{"silent host, retry: the scan's estimate doubled", measured(), measured(40 * ms), 1, 240 * ms},
		{"ceiling", measured(900 * ms), measured(), 0, time.Second},
		{"doubling stops at the ceiling", measured(40 * ms), measured(), 4, time.Second},
	} {
		if got := tt.pick(tc.host, tc.group, tc.retry); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
