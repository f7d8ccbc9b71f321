package probe

import (
	"context"
	"errors"
	"net"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/cicf/cicf-bot/tasks"
)

// listen opens n loopback listeners and returns their ports; closedPorts
// returns ports that were just released, so they answer RST.
func listen(t *testing.T, n int) []int { return loopback(t, n, true) }

func closedPorts(t *testing.T, n int) []int { return loopback(t, n, false) }

func loopback(t *testing.T, n int, keepOpen bool) []int {
	t.Helper()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
		if keepOpen {
			t.Cleanup(func() { l.Close() })
		} else {
			l.Close()
		}
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

// silentPorts opens n loopback listeners whose accept queue is full, so
// the kernel drops further SYNs: ports that never answer, as behind a
// firewall's DROP, without root or a namespace.
func silentPorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { syscall.Close(fd) })
		if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Listen(fd, 0); err != nil {
			t.Fatal(err)
		}
		sa, _ := syscall.Getsockname(fd)
		port := sa.(*syscall.SockaddrInet4).Port
		c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if c2, err := net.DialTimeout("tcp", c.RemoteAddr().String(), 50*time.Millisecond); err == nil {
			c2.Close()
			t.Fatalf("port %d still accepts: the test cannot make a silent port here", port)
		}
		ports = append(ports, port)
	}
	return ports
}

func TestScannerSilentPorts(t *testing.T) {
	silent := silentPorts(t, 6)
	openP := listen(t, 2)
	ms := time.Millisecond
	for _, retries := range []int{-1, 1} {
		s := &Scanner{MaxSockets: 3, MinTimeout: 30 * ms, InitialTimeout: 30 * ms, MaxTimeout: 30 * ms, Retries: retries}
		res, err := s.Scan(context.Background(), []string{"127.0.0.1"}, append(slices.Clone(silent), openP...), nil)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(openP)
		if r := res[0]; !slices.Equal(r.Open, openP) || r.Filtered != len(silent) || r.Closed != 0 {
			t.Errorf("retries %d: open %v filtered %d closed %d; want %v, %d, 0", retries, r.Open, r.Filtered, r.Closed, openP, len(silent))
		}
		if p := s.PeakSockets(); p < 1 || p > 3 {
			t.Errorf("retries %d: peak sockets %d, want 1..3 (MaxSockets)", retries, p)
		}
	}
}

// TestScannerCancelWhileWaiting cancels a scan whose probes wait on silent
// ports with a ten-minute timeout: it must end with the context's error
// long before (go test's own timeout would fail it otherwise).
func TestScannerCancelWhileWaiting(t *testing.T) {
	silent := silentPorts(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	s := &Scanner{MinTimeout: 10 * time.Minute, MaxTimeout: 10 * time.Minute}
	if _, err := s.Scan(ctx, []string{"127.0.0.1"}, silent, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	// Every slot came back: a full-size scan can still run.
	if _, err := s.Scan(context.Background(), []string{"127.0.0.1"}, closedPorts(t, 3), nil); err != nil {
		t.Fatal(err)
	}
	if n := s.inFlight.Load(); n != 0 {
		t.Errorf("%d sockets still counted in flight", n)
	}
}

func TestScannerIPv6Loopback(t *testing.T) {
	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Fatalf("%v: this test needs IPv6 on loopback", err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	got, err := (&Scanner{}).ScanPorts(context.Background(), []string{"::1"}, []int{port, closedPorts(t, 1)[0]})
	if err != nil || !slices.Equal(got["::1"], []int{port}) {
		t.Errorf("ScanPorts(::1) = %v, %v; want port %d open", got, err, port)
	}
}

// BenchmarkScanClosedLoopback measures the CPU cost of a probe: closed
// loopback ports answer RST at once, so no timeout is waited for.
func BenchmarkScanClosedLoopback(b *testing.B) {
	ports := make([]int, 0, 5000)
	for p := 40000; p < 45000; p++ {
		ports = append(ports, p)
	}
	s := &Scanner{}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.ScanPorts(context.Background(), []string{"127.0.0.1"}, ports); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ports)), "ns/probe")
}
