// Command scan benchmarks `cicf-bot scan` (probe.Scanner, run as its own
// process so its RSS is its own) against nmap -sT -Pn -T4 --top-ports 1000
// on the same namespace hosts in the same run: N addresses (198.19.1.1..N)
// in one network namespace, nftables policy DROP, a few allowed listeners
// on some hosts. Each run checks the open ports are identical, or the
// benchmark exits 1. It deletes the namespace, link and listeners it made,
// also on failure and on SIGINT/SIGTERM. Root only.
//
//	go run ./bench/scan -hosts 100 -runs 5
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

const ns, link = "cicfscanbench", "cscanbench"

func main() {
	hosts := flag.Int("hosts", 100, "namespace hosts (1..250), 198.19.1.1..N")
	sockets := flag.Int("sockets", 4000, "cicf-bot scan --sockets")
	runs := flag.Int("runs", 1, "runs of both scanners on the same hosts")
	flag.Parse()
	// A signal still removes the namespace, its link and the listeners.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		killNamespacePids()
		cleanup()
		os.Exit(1)
	}()
	os.Exit(bench(*hosts, *sockets, *runs))
}

func bench(n, sockets, runs int) int {
	if n < 1 || n > 250 || runs < 1 {
		fmt.Fprintln(os.Stderr, "-hosts must be 1..250 and -runs at least 1")
		return 2
	}
	for _, tool := range []string{"ip", "nft", "python3", "nmap", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			fmt.Fprintf(os.Stderr, "%s is needed (apt-get install iproute2 nftables python3 nmap), and root\n", tool)
			return 1
		}
	}
	dir, err := os.MkdirTemp("", "scanbench")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "cicf-bot")
	if err := sh("go", "build", "-o", bin, "github.com/cicf/cicf-bot/cmd/bot"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cleanup()
	defer cleanup()
	addrs, stop, err := setup(n)
	if stop != nil {
		defer stop()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var ratios, ours, theirs []float64
	for r := 1; r <= runs; r++ {
		fmt.Fprintf(os.Stderr, "run %d: cicf-bot scan\n", r)
		a := measure(bin, "scan", "--json", "--sockets", strconv.Itoa(sockets), fmt.Sprintf("198.19.1.1-%d", n))
		if a.err != nil {
			fmt.Fprintln(os.Stderr, "cicf-bot scan:", a.err)
			return 1
		}
		got, err := parseJSONLines(a.stdout)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Fprintf(os.Stderr, "run %d: nmap\n", r)
		b := measure("nmap", append([]string{"-sT", "-Pn", "-n", "-T4", "--top-ports", "1000", "-oX", "-"}, addrs...)...)
		if b.err != nil {
			fmt.Fprintln(os.Stderr, "nmap:", b.err)
			return 1
		}
		want, err := parseNmap(b.stdout)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		mismatch, openCount := 0, 0
		if len(got) != n || len(want) != n {
			fmt.Fprintf(os.Stderr, "cicf-bot scan reported %d hosts, nmap %d; want %d\n", len(got), len(want), n)
			mismatch++
		}
		for _, a := range addrs {
			openCount += len(want[a])
			if !slices.Equal(got[a], want[a]) {
				mismatch++
				fmt.Fprintf(os.Stderr, "MISMATCH %s: cicf-bot scan %v, nmap %v\n", a, got[a], want[a])
			}
		}
		ratio := b.wall.Seconds() / a.wall.Seconds()
		fmt.Printf("run %d: hosts=%d ports=1000 open=%d | cicf-bot scan %.2fs (CPU %.2fs), peak sockets %d (own counter; fds sampled %d), peak RSS %d MiB | nmap %.2fs (CPU %.2fs), peak fds sampled %d, peak RSS %d MiB | ratio %.1fx | mismatches %d\n",
			r, n, openCount, a.wall.Seconds(), a.cpu.Seconds(), peakSockets(a.stderr), a.peakFDs, a.rssKiB/1024,
			b.wall.Seconds(), b.cpu.Seconds(), b.peakFDs, b.rssKiB/1024, ratio, mismatch)
		if mismatch > 0 || openCount == 0 {
			fmt.Fprintln(os.Stderr, "FAIL: the open ports differ (or nmap found none: the setup is wrong)")
			return 1
		}
		ratios, ours, theirs = append(ratios, ratio), append(ours, a.wall.Seconds()), append(theirs, b.wall.Seconds())
	}
	fmt.Printf("%d runs, all identical to nmap: cicf-bot scan median %.2fs worst %.2fs; nmap median %.2fs; ratio median %.1fx worst %.1fx\n",
		runs, median(ours), slices.Max(ours), median(theirs), median(ratios), slices.Min(ratios))
	return 0
}

// setup makes the namespace with n addresses, its DROP policy with a few
// allowed ports, and the listeners; stop ends the listeners.
func setup(n int) (addrs []string, stop func(), err error) {
	// Every 10th host allows 22, 80 and 443; every 7th allows 8080. All
	// hosts listen on 22, 80, 443, 8080 and 9999 (one namespace), so the
	// dropped listeners are strays the scan must not report.
	var allow []string
	for i := 1; i <= n; i++ {
		a := fmt.Sprintf("198.19.1.%d", i)
		addrs = append(addrs, a)
		if i%10 == 0 {
			allow = append(allow, fmt.Sprintf("ip daddr %s tcp dport { 22, 80, 443 } accept", a))
		}
		if i%7 == 0 {
			allow = append(allow, fmt.Sprintf("ip daddr %s tcp dport 8080 accept", a))
		}
	}
	steps := [][]string{
		{"ip", "netns", "add", ns},
		{"ip", "link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", ns},
		{"ip", "addr", "add", "198.19.0.1/17", "dev", link},
		{"ip", "link", "set", link, "up"},
		{"ip", "-n", ns, "link", "set", "eth0", "up"},
		{"ip", "-n", ns, "link", "set", "lo", "up"},
	}
	for _, a := range addrs {
		steps = append(steps, []string{"ip", "-n", ns, "addr", "add", a + "/17", "dev", "eth0"})
	}
	for _, s := range steps {
		if err := sh(s...); err != nil {
			return nil, nil, err
		}
	}
	rules := "table inet f {\n chain in {\n  type filter hook input priority 0; policy drop;\n  ct state established,related accept\n  iif lo accept\n  " +
		strings.Join(allow, "\n  ") + "\n }\n}\n"
	nft := exec.Command("ip", "netns", "exec", ns, "nft", "-f", "-")
	nft.Stdin = strings.NewReader(rules)
	if out, err := nft.CombinedOutput(); err != nil {
		return nil, nil, fmt.Errorf("nft: %v: %s", err, out)
	}
	// The listeners accept and close, so repeated runs never fill a queue.
	py := exec.Command("ip", "netns", "exec", ns, "python3", "-c", `
import socket, sys, threading
def serve(s):
    while True:
        c, _ = s.accept(); c.close()
for p in (22, 80, 443, 8080, 9999):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", p)); s.listen(1024)
    threading.Thread(target=serve, args=(s,), daemon=True).start()
print("ready", flush=True)
sys.stdin.read()
`)
	stdin, _ := py.StdinPipe()
	stdout, _ := py.StdoutPipe()
	if err := py.Start(); err != nil {
		return nil, nil, err
	}
	stop = func() { stdin.Close(); py.Process.Kill(); py.Wait() }
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "ready\n" {
		return nil, stop, fmt.Errorf("listeners did not start: %q %v", line, err)
	}
	return addrs, stop, nil
}

func sh(args ...string) error {
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		return fmt.Errorf("%q: %v: %s", args, err, out)
	}
	return nil
}

func killNamespacePids() {
	if out, err := exec.Command("ip", "netns", "pids", ns).Output(); err == nil {
		for _, f := range strings.Fields(string(out)) {
			if pid, err := strconv.Atoi(f); err == nil {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}

func cleanup() {
	exec.Command("ip", "netns", "del", ns).Run()
	exec.Command("ip", "link", "del", link).Run()
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
