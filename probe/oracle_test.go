package probe

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/cicf/cicf-bot/internal/nmapxml"
)

// nsHost is a bare network namespace at 198.18.N.2 (N in this package's
// testvm range, 70..99) with an nftables ruleset and python3 listeners.
func nsHost(t *testing.T, n int, ruleset string, listen []int) string {
	t.Helper()
	for _, tool := range []string{"ip", "nft", "python3", "nmap"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed (apt-get install iproute2 nftables python3 nmap), and root", tool)
		}
	}
	// The same per-index lock as internal/testvm, so no VM there uses N now.
	os.MkdirAll("/run/cicf-testvm", 0o755)
	f, err := os.OpenFile(filepath.Join("/run/cicf-testvm", strconv.Itoa(n)+".lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	ns, link := fmt.Sprintf("cicfscan%d", n), fmt.Sprintf("cscan%d", n)
	sh := func(args ...string) {
		t.Helper()
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%q: %v: %s", args, err, out)
		}
	}
	exec.Command("ip", "netns", "del", ns).Run() // a stale one from a killed run
	exec.Command("ip", "link", "del", link).Run()
	t.Cleanup(func() {
		exec.Command("ip", "netns", "del", ns).Run()
		exec.Command("ip", "link", "del", link).Run()
		f.Close()
	})
	sh("ip", "netns", "add", ns)
	sh("ip", "link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", ns)
	sh("ip", "addr", "add", fmt.Sprintf("198.18.%d.1/24", n), "dev", link)
	sh("ip", "link", "set", link, "up")
	sh("ip", "-n", ns, "addr", "add", fmt.Sprintf("198.18.%d.2/24", n), "dev", "eth0")
	sh("ip", "-n", ns, "link", "set", "eth0", "up")
	sh("ip", "-n", ns, "link", "set", "lo", "up")
	nft := exec.Command("ip", "netns", "exec", ns, "nft", "-f", "-")
	nft.Stdin = strings.NewReader(ruleset)
	if out, err := nft.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v: %s", err, out)
	}
	var ps []string
	for _, p := range listen {
		ps = append(ps, strconv.Itoa(p))
	}
	py := exec.Command("ip", "netns", "exec", ns, "python3", "-c", `
import socket, sys
ss = []
for p in sys.argv[1:]:
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(p))); s.listen(128); ss.append(s)
print("ready", flush=True)
sys.stdin.read()
`)
	py.Args = append(py.Args, ps...)
	stdin, _ := py.StdinPipe()
	stdout, _ := py.StdoutPipe()
	if err := py.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); py.Process.Kill(); py.Wait() })
	// One Read may return part of the line: read up to the newline.
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("listeners did not start: %q %v", line, err)
	}
	return fmt.Sprintf("198.18.%d.2", n)
}

// runNmap runs a TCP connect scan (nmap -sT -Pn -n) with args on hosts
// and returns its XML output.
func runNmap(t *testing.T, hosts []string, args ...string) []byte {
	t.Helper()
	args = append([]string{"-sT", "-Pn", "-n", "-oX", "-"}, args...)
	out, err := exec.Command("nmap", append(args, hosts...)...).Output()
	if err != nil {
		t.Fatalf("nmap: %v", err)
	}
	return out
}

// nmapXMLOpen runs nmap -sT -Pn -T4 on hosts and returns each host's open ports.
func nmapXMLOpen(t *testing.T, hosts []string, portArgs ...string) map[string][]int {
	t.Helper()
	got, err := nmapxml.OpenPorts(runNmap(t, hosts, append([]string{"-T4"}, portArgs...)...))
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestScannerMatchesNmap compares the scanner with real nmap on a DROP host
// and a REJECT host with stray listeners, some allowed, some not.
func TestScannerMatchesNmap(t *testing.T) {
	drop := nsHost(t, 70, `table inet f {
	chain in {
		type filter hook input priority 0; policy drop;
		ct state established,related accept
		iif lo accept
		tcp dport { 22, 80, 8080, 31337 } accept
	}
}
`,
		[]int{22, 8080, 9999, 31337, 5432})
	reject := nsHost(t, 71, `table inet f {
	chain in {
		type filter hook input priority 0; policy accept;
		ct state established,related accept
		iif lo accept
		tcp dport { 443, 8888, 40000 } accept
		tcp dport 3306 reject with tcp reset
		reject with icmpx type admin-prohibited
	}
}
`,
		[]int{443, 3306, 5000, 8888, 40000})
	hosts := []string{drop, reject}
	// The defaults' timeouts: what the bot and `cicf-bot scan` use.
	s := &Scanner{MaxSockets: 300}
	for _, tc := range []struct {
		name  string
		ports []int
		nmap  []string
	}{
		{"top1000", nil, []string{"--top-ports", "1000"}},
		{"custom", []int{21, 22, 80, 443, 3306, 5000, 5432, 8080, 8888, 9999, 31337, 40000}, []string{"-p", "21,22,80,443,3306,5000,5432,8080,8888,9999,31337,40000"}},
	} {
		got, err := s.ScanPorts(context.Background(), hosts, tc.ports)
		if err != nil {
			t.Fatal(err)
		}
		want := nmapXMLOpen(t, hosts, tc.nmap...)
		for _, h := range hosts {
			if !slices.Equal(got[h], want[h]) {
				t.Errorf("%s %s: scanner %v, nmap %v", tc.name, h, got[h], want[h])
			}
			if len(want[h]) == 0 {
				t.Errorf("%s %s: nmap found nothing open; the test setup is wrong", tc.name, h)
			}
		}
	}
	if p := s.PeakSockets(); p < 1 || p > 300 {
		t.Errorf("peak sockets in flight = %d, want 1..300 (MaxSockets)", p)
	}
	t.Logf("peak sockets in flight: %d", s.PeakSockets())
}
